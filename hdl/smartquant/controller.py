"""SmartQuant CXL-side memory controller: bit-plane weight store with precision views.

Behaviour is :class:`golden.bitplane.PlaneStoreModel` (data, DRAM traffic and
errors, bit for bit and burst for burst); interfaces and the register map are
``docs/smartquant.md``. Structure, one request per cycle at each step::

    req, rwd -> round-robin arbiter -> ViewDecoder (register) -> sequencer -> serve FIFO -> span read -> corner turn -> DRS
                                                                    |  \\-> NDR FIFO -> NDR
                                                                    \\-> DRAM requests; responses -> holding register -> plane memories

The sequencer handles commands in order. Reads allocate a group buffer (least
recently used; it waits until no queued response still needs the victim), latch
the region cap, issue the missing plane bursts and queue a response entry. The
serve stage answers entries in order once their planes have arrived, one chunk of
``lane_bits`` bits per cycle: it reads the chunk's two consecutive spans (``lane_bits``
weights each) of every plane from the plane memories (row = buffer and span; two read
ports), then corner-turns them through a multiplexer of at most 36 inputs per bit into
the DRS register. Writes to view 8 collect in the
write-combining buffer (``NDR Cmp`` as soon as they are in it: later reads see
them); a flush merges the lines into the group's buffer (fetching the missing
planes first when the group is partial) and writes all 8 planes to DRAM.
"""

from amaranth.hdl import C, Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.bitplane import PLANES, ViewMap

from .corner_turn import (ViewChunkAssembler, check_lane_bits, chunk_phase, first_span,
                          planes_from_int8_line)
from .cxl_mem import LINE_BITS, TAG_BITS, HostSignature, NDROpcode, DRSOpcode
from .dram_port import DramSignature
from .registers import MAX_REGIONS, ControlRegisters, RegisterBusSignature
from .view_decoder import ErrorCause, ViewDecoder

__all__ = ["SmartQuantController"]

_FULL = (1 << PLANES) - 1


def _check_int(value, name: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")
    return value


class SmartQuantController(wiring.Component):
    """Device side of a CXL Type-3 weight store serving bit-plane weights at views k = 1..8.

    Parameters
    ----------
    n_groups : int
        Weight region in groups of 512 INT8 weights (``ViewMap(n_groups, dram_base)``).
    dram_base : int
        Byte address of the region in DRAM, a multiple of 64.
    n_buffers : int
        Group buffers (1..8). Two or more let the fetch of the next group overlap the
        answers for the current one.
    n_regions : int
        Region-table entries (1..12).
    dram_outstanding : int
        Most DRAM reads in flight (1..64).
    response_depth : int
        Entries of the read-response and write-completion queues (2..256); they bound the
        reads in flight, so they must cover the DRAM latency for full throughput.
    lane_bits : int
        Corner-turn width in bits per cycle (64, 128, 256 or 512): a host line takes
        ``512 / lane_bits`` cycles. Narrower lanes trade peak host bandwidth for area.

    Members
    -------
    host : In(HostSignature())
        CXL.mem ``req``, ``rwd`` in; ``ndr``, ``drs`` out.
    dram : Out(DramSignature(...))
        Burst requests out, read responses in (``id`` = buffer * 8 + plane).
    regs : In(RegisterBusSignature())

    Raises
    ------
    ValueError
        A parameter outside its range (the message names it).
    """

    def __init__(self, n_groups: int = 64, *, dram_base: int = 0, n_buffers: int = 2, n_regions: int = 4,
                 dram_outstanding: int = 16, response_depth: int = 64, lane_bits: int = 512):
        _check_int(n_groups, "n_groups", 1, 1 << 28)
        self.view_map = ViewMap(n_groups, dram_base)
        self.n_groups = n_groups
        self.dram_base_burst = dram_base // 64
        self.n_buffers = _check_int(n_buffers, "n_buffers", 1, 8)
        self.n_regions = _check_int(n_regions, "n_regions", 1, MAX_REGIONS)
        self.dram_outstanding = _check_int(dram_outstanding, "dram_outstanding", 1, 64)
        self.response_depth = _check_int(response_depth, "response_depth", 2, 256)
        self.lane_bits = check_lane_bits(lane_bits)
        self.spans = LINE_BITS // lane_bits
        self.buffer_bits = max(1, (n_buffers - 1).bit_length())
        self.id_width = self.buffer_bits + 3
        self.dram_address_width = max(1, (self.dram_base_burst + n_groups * PLANES - 1).bit_length())
        super().__init__({
            "host": In(HostSignature()),
            "dram": Out(DramSignature(self.dram_address_width, self.id_width)),
            "regs": In(RegisterBusSignature()),
        })

    def elaborate(self, platform):
        m = Module()
        n_buf = self.n_buffers
        m.submodules.decoder = decoder = ViewDecoder(self.n_groups, self.n_regions)
        m.submodules.registers = registers = ControlRegisters(self.n_groups, n_buf, self.n_regions)
        m.submodules.assembler = assembler = ViewChunkAssembler(self.lane_bits)
        lane, spans = self.lane_bits, self.spans
        wiring.connect(m, wiring.flipped(self.regs), registers.bus)
        m.d.comb += decoder.regions.eq(registers.regions)
        host, dram = self.host, self.dram

        # --- round-robin arbiter: Req / RwD -> decoder -------------------------------------
        prefer_write = Signal()
        take_write = Signal()
        m.d.comb += take_write.eq(host.rwd.valid & (prefer_write | ~host.req.valid))
        incoming = decoder.i.payload
        with m.If(take_write):
            m.d.comb += [incoming.write.eq(1), incoming.opcode.eq(host.rwd.payload.opcode),
                         incoming.tag.eq(host.rwd.payload.tag), incoming.address.eq(host.rwd.payload.address),
                         incoming.poison.eq(host.rwd.payload.poison), incoming.data.eq(host.rwd.payload.data)]
        with m.Else():
            m.d.comb += [incoming.opcode.eq(host.req.payload.opcode), incoming.tag.eq(host.req.payload.tag),
                         incoming.address.eq(host.req.payload.address)]
        m.d.comb += [decoder.i.valid.eq(host.req.valid | host.rwd.valid),
                     host.rwd.ready.eq(decoder.i.ready & take_write),
                     host.req.ready.eq(decoder.i.ready & ~take_write)]
        with m.If(decoder.i.valid & decoder.i.ready):
            m.d.sync += prefer_write.eq(~take_write)

        # --- group buffers ------------------------------------------------------------------
        # Data: a plane is cut into spans of `lane` weights; plane memory p holds span s of buffer
        # b at row `b * spans + s`. Two read ports give the two consecutive spans a chunk needs
        # (in order, so the corner turn needs no swap); one write port, written by the response
        # writer (a DRAM burst, one span per cycle) and the flush merge (all planes, a span per
        # cycle, 64-bit pieces under the combine mask). The flush write-back reads the two ports
        # as a span pair.
        # State per buffer: the group, the latched cap, planes wanted (`target`), planes
        # requested from DRAM, planes arrived, queued responses that read it (`pending`), LRU rank.
        group_width = decoder.group_width
        span_bits = (spans - 1).bit_length()
        n_reads = min(2, spans)
        pairs = max(1, spans // 2)

        def row(buffer, span):
            return Cat(span[:span_bits], buffer) if span_bits else buffer

        memories = [Memory(shape=lane, depth=n_buf * spans, init=[]) for _ in range(PLANES)]
        for p in range(PLANES):
            m.submodules[f"plane{p}"] = memories[p]
        plane_writes = [memory.write_port(granularity=64) for memory in memories]
        plane_reads = [[memory.read_port() for _ in range(n_reads)] for memory in memories]
        valid = [Signal(name=f"buffer{b}_valid") for b in range(n_buf)]
        group = [Signal(group_width, name=f"buffer{b}_group") for b in range(n_buf)]
        cap = [Signal(4, name=f"buffer{b}_cap") for b in range(n_buf)]
        target = [Signal(4, name=f"buffer{b}_target") for b in range(n_buf)]
        requested = [Signal(4, name=f"buffer{b}_requested") for b in range(n_buf)]
        arrived = [Signal(PLANES, name=f"buffer{b}_arrived") for b in range(n_buf)]
        pending = [Signal(range(self.response_depth + 2), name=f"buffer{b}_pending") for b in range(n_buf)]
        rank = [Signal(range(n_buf), init=b, name=f"buffer{b}_rank") for b in range(n_buf)]   # 0 = most recent

        def select(signals, index):
            out = Signal.like(signals[0], name=None)
            with m.Switch(index):
                for b, s in enumerate(signals):
                    with m.Case(b):
                        m.d.comb += out.eq(s)
            return out

        # DRAM read responses: taken into `hold`, then written one span per cycle (the plane's
        # arrival is marked with its last span). The flush merge owns the write ports while it
        # runs; it starts only with `hold` empty and no response is taken meanwhile.
        merge_claim = Signal()                   # the sequencer is in FLUSH_MERGE
        merging = Signal()                       # ... and writes a span this cycle
        merge_span = Signal(range(spans))
        hold = Signal(LINE_BITS, reset_less=True)    # data registers carry no reset: their valid bits do
        hold_valid = Signal()
        hold_buffer = Signal(self.buffer_bits)
        hold_plane = Signal(3)
        hold_span = Signal(range(spans))
        hold_last = Signal()
        response = Signal()
        m.d.comb += [hold_last.eq(hold_span == spans - 1),
                     dram.resp.ready.eq(~merge_claim & (~hold_valid | hold_last)),
                     response.eq(dram.resp.valid & dram.resp.ready)]
        with m.If(response):
            m.d.sync += [hold.eq(dram.resp.payload.data), hold_valid.eq(1), hold_span.eq(0),
                         hold_buffer.eq(dram.resp.payload.id[3:]), hold_plane.eq(dram.resp.payload.id[:3])]
        with m.Elif(hold_valid):
            m.d.sync += [hold.eq(hold >> lane), hold_span.eq(hold_span + 1), hold_valid.eq(~hold_last)]
        with m.If(hold_valid & hold_last):
            for b in range(n_buf):
                with m.If(hold_buffer == b):
                    m.d.sync += arrived[b].eq(arrived[b] | (1 << hold_plane))

        # --- fetch issuer: one plane read per cycle, for the least recently used buffer short of
        # its target (the oldest group: responses leave in order, so it is needed first) ---------
        outstanding = Signal(range(self.dram_outstanding + 1))
        issue_read = Signal()
        m.d.sync += outstanding.eq(outstanding + issue_read - response)
        writing = Signal()                       # the flush owns the DRAM request port
        fetch_any = Signal()
        fetch_buffer = Signal(range(n_buf))
        for r in range(n_buf):                   # later (higher rank = older) matches win
            for b in range(n_buf):
                with m.If((requested[b] < target[b]) & (rank[b] == r)):
                    m.d.comb += [fetch_any.eq(1), fetch_buffer.eq(b)]
        fetch_plane = select(requested, fetch_buffer)[:3]
        fetch_group = select(group, fetch_buffer)
        with m.If(~writing & fetch_any & (outstanding < self.dram_outstanding)):
            m.d.comb += [dram.req.valid.eq(1), dram.req.payload.id.eq(Cat(fetch_plane, fetch_buffer)),
                         dram.req.payload.address.eq(self.dram_base_burst + Cat(fetch_plane, fetch_group))]
            with m.If(dram.req.ready):
                m.d.comb += issue_read.eq(1)
                for b in range(n_buf):
                    with m.If(fetch_buffer == b):
                        m.d.sync += requested[b].eq(requested[b] + 1)

        # --- write-combining buffer -------------------------------------------------------------
        # The lines are stored as planes: combine memory p holds plane p of the group's lines, span
        # s at row s, written one INT8 line (a 64-bit piece of every plane) per cycle and read
        # combinationally, a span per cycle, by the flush merge.
        combine_memories = [Memory(shape=lane, depth=spans, init=[]) for _ in range(PLANES)]
        for p in range(PLANES):
            m.submodules[f"combine{p}"] = combine_memories[p]
        combine_writes = [memory.write_port(granularity=64) for memory in combine_memories]
        combine_reads = [memory.read_port(domain="comb") for memory in combine_memories]
        words_per_span = lane // 64
        line_word = Signal(range(words_per_span))
        line_span = Signal(range(spans))
        line_write = Signal()
        combine_mask = Signal(PLANES)
        combine_group = Signal(group_width)
        combine_cap = Signal(4)
        flush_requested = Signal()
        with m.If(registers.flush):
            m.d.sync += flush_requested.eq(1)

        # --- response queues --------------------------------------------------------------------
        serve_layout = data.StructLayout({"tag": TAG_BITS, "poison": 1, "buffer": self.buffer_bits,
                                          "k": 4, "line": 3, "used": 4})
        m.submodules.serve_fifo = serve_fifo = SyncFIFOBuffered(
            width=serve_layout.size, depth=self.response_depth)
        m.submodules.ndr_fifo = ndr_fifo = SyncFIFOBuffered(width=TAG_BITS, depth=self.response_depth)
        serve_in = data.View(serve_layout, serve_fifo.w_data)

        # --- sequencer ----------------------------------------------------------------------------
        cmd = decoder.o.payload
        flushing = Signal()
        lookup_group = Signal(group_width)
        m.d.comb += lookup_group.eq(Mux(flushing, combine_group, cmd.group))
        hit = Signal(n_buf)
        for b in range(n_buf):
            m.d.comb += hit[b].eq(valid[b] & (group[b] == lookup_group))
        hit_index = Signal(range(n_buf))
        victim = Signal(range(n_buf))
        for b in reversed(range(n_buf)):
            with m.If(hit[b]):
                m.d.comb += hit_index.eq(b)
            with m.If(rank[b] == n_buf - 1):
                m.d.comb += victim.eq(b)
        victim_pending = select(pending, victim)

        # A hit uses the latched cap; a miss latches the cap of the command's region.
        read_buffer = Signal(range(n_buf))
        read_cap = Signal(4)
        read_target = Signal(4)
        used = Signal(4)
        m.d.comb += [read_buffer.eq(Mux(hit != 0, hit_index, victim)),
                     read_cap.eq(Mux(hit != 0, select(cap, hit_index), cmd.cap)),
                     read_target.eq(Mux(hit != 0, select(target, hit_index), 0)),
                     used.eq(Mux(cmd.k < read_cap, cmd.k, read_cap))]

        touch = Signal()
        touch_index = Signal(range(n_buf))
        with m.If(touch):
            touched_rank = select(rank, touch_index)
            for b in range(n_buf):
                with m.If(touch_index == b):
                    m.d.sync += rank[b].eq(0)
                with m.Elif(rank[b] < touched_rank):
                    m.d.sync += rank[b].eq(rank[b] + 1)

        def allocate(index, new_group, new_cap):
            for b in range(n_buf):
                with m.If(index == b):
                    m.d.sync += [valid[b].eq(1), group[b].eq(new_group), cap[b].eq(new_cap),
                                 target[b].eq(0), requested[b].eq(0), arrived[b].eq(0)]

        def raise_target(index, old, new, view):
            """Want planes ``0 .. new-1`` in buffer ``index`` (``new > old``); count the reads for ``view``."""
            m.d.comb += [registers.dram_read.eq(new - old), registers.read_view.eq(view)]
            for b in range(n_buf):
                with m.If(index == b):
                    m.d.sync += target[b].eq(new)

        push_serve = Signal()
        pop_serve = Signal()
        pop_buffer = Signal(range(n_buf))
        for b in range(n_buf):
            m.d.sync += pending[b].eq(pending[b] + (push_serve & (read_buffer == b))
                                      - (pop_serve & (pop_buffer == b)))

        error_event = Signal(ErrorCause)
        m.d.comb += [registers.error.eq(error_event), registers.error_tag.eq(cmd.tag),
                     registers.error_address.eq(cmd.address)]

        flush_target = Signal(range(n_buf))
        write_plane = Signal(range(PLANES + 1))
        target_arrived = select(arrived, flush_target)
        write_pair = Signal(range(pairs))
        write_back = Signal(LINE_BITS, reset_less=True)
        port_claimed = Signal()                  # the flush owns the memories' read address
        serve_held = Signal()
        flush_read = Signal()
        line_bit = Signal(PLANES)
        m.d.comb += line_bit.eq(1 << cmd.line)

        m.d.comb += Cat(line_word, line_span).eq(cmd.line)
        line_planes = planes_from_int8_line(cmd.data)
        for p in range(PLANES):
            write = combine_writes[p]
            m.d.comb += [write.addr.eq(line_span), write.data.eq(line_planes[p].replicate(words_per_span)),
                         write.en.eq(Mux(line_write, 1 << line_word, 0)),
                         combine_reads[p].addr.eq(merge_span)]
        merge_mask = data.View(data.ArrayLayout(lane // 64, spans), combine_mask)
        for p, port in enumerate(plane_writes):
            with m.If(merging):
                m.d.comb += [port.addr.eq(row(flush_target, merge_span)), port.data.eq(combine_reads[p].data),
                             port.en.eq(merge_mask[merge_span])]
            with m.Else():
                m.d.comb += [port.addr.eq(row(hold_buffer, hold_span)), port.data.eq(hold[:lane]),
                             port.en.eq(Mux(hold_valid & (hold_plane == p), -1, 0))]

        with m.FSM(name="sequencer"):
            with m.State("COMMAND"):
                # A requested flush waits for a gap between commands.
                with m.If(flush_requested & ~decoder.o.valid):
                    m.d.sync += flush_requested.eq(0)
                    with m.If(combine_mask != 0):
                        m.next = "FLUSH_ALLOCATE"
                with m.Elif(decoder.o.valid & (cmd.cause != ErrorCause.NONE)):
                    with m.If(cmd.write & ndr_fifo.w_rdy):
                        m.d.comb += [ndr_fifo.w_en.eq(1), decoder.o.ready.eq(1), error_event.eq(cmd.cause)]
                    with m.If(~cmd.write & serve_fifo.w_rdy):
                        m.d.comb += [serve_fifo.w_en.eq(1), serve_in.poison.eq(1), decoder.o.ready.eq(1),
                                     error_event.eq(cmd.cause)]
                with m.Elif(decoder.o.valid & cmd.write):
                    with m.If((combine_mask != 0) & (combine_group != cmd.group)):
                        m.next = "FLUSH_ALLOCATE"
                    with m.Elif(ndr_fifo.w_rdy):
                        m.d.comb += [ndr_fifo.w_en.eq(1), decoder.o.ready.eq(1), registers.host_write.eq(1)]
                        m.d.comb += line_write.eq(1)
                        m.d.sync += [combine_mask.eq(combine_mask | line_bit),
                                     combine_group.eq(cmd.group)]
                        with m.If(combine_mask == 0):
                            m.d.sync += combine_cap.eq(cmd.cap)
                        with m.If((combine_mask | line_bit) == _FULL):
                            m.next = "FLUSH_ALLOCATE"
                with m.Elif(decoder.o.valid):
                    with m.If((combine_mask != 0) & (combine_group == cmd.group)):
                        m.next = "FLUSH_ALLOCATE"
                    # One read per cycle: take the buffer (a miss needs a victim no response still
                    # reads), raise its plane target, queue the response; the fetch issuer and the
                    # serve stage do the rest.
                    with m.Elif(serve_fifo.w_rdy & ((hit != 0) | (victim_pending == 0))):
                        with m.If(hit == 0):
                            allocate(victim, cmd.group, cmd.cap)
                        with m.If(read_target < used):
                            raise_target(read_buffer, read_target, used, cmd.k)
                        m.d.comb += [serve_fifo.w_en.eq(1), serve_in.buffer.eq(read_buffer),
                                     serve_in.k.eq(cmd.k), serve_in.line.eq(cmd.line), serve_in.used.eq(used),
                                     push_serve.eq(1), touch.eq(1), touch_index.eq(read_buffer),
                                     decoder.o.ready.eq(1)]

            with m.State("FLUSH_ALLOCATE"):
                m.d.comb += flushing.eq(1)
                with m.If(hit != 0):
                    with m.If(select(pending, hit_index) == 0):
                        m.d.sync += flush_target.eq(hit_index)
                        with m.If(combine_mask != _FULL):
                            raise_target(hit_index, select(target, hit_index), PLANES, PLANES)
                        m.next = "FLUSH_FETCH"
                with m.Elif(victim_pending == 0):
                    allocate(victim, combine_group, combine_cap)
                    m.d.sync += flush_target.eq(victim)
                    with m.If(combine_mask != _FULL):
                        raise_target(victim, 0, PLANES, PLANES)
                    m.next = "FLUSH_FETCH"

            with m.State("FLUSH_FETCH"):
                m.d.comb += flushing.eq(1)
                with m.If((combine_mask == _FULL) | (target_arrived == _FULL)):
                    m.next = "FLUSH_MERGE"
            with m.State("FLUSH_MERGE"):
                # Write the collected lines over the buffer's planes, a span per cycle once the
                # response writer is idle: INT8 line l is weights 64 l .. 64 l + 63 of every plane.
                m.d.comb += [flushing.eq(1), merge_claim.eq(1)]
                with m.If(~hold_valid):
                    m.d.comb += merging.eq(1)
                    m.d.sync += merge_span.eq(merge_span + 1)
                    with m.If(merge_span == spans - 1):
                        m.d.comb += [touch.eq(1), touch_index.eq(flush_target)]
                        for b in range(n_buf):
                            with m.If(flush_target == b):
                                m.d.sync += [target[b].eq(PLANES), requested[b].eq(PLANES), arrived[b].eq(_FULL)]
                        m.d.sync += [merge_span.eq(0), write_plane.eq(0), write_pair.eq(0)]
                        m.next = "FLUSH_READ"

            # Write-back, plane by plane: read its span pairs (once the serve stage holds no read
            # data), collect them in `write_back`, write the burst.
            with m.State("FLUSH_READ"):
                m.d.comb += [flushing.eq(1), port_claimed.eq(1)]
                with m.If(~serve_held):
                    m.d.comb += flush_read.eq(1)
                    m.next = "FLUSH_COLLECT"
            with m.State("FLUSH_COLLECT"):
                m.d.comb += [flushing.eq(1), port_claimed.eq(1)]
                pair_data = Signal(n_reads * lane)
                with m.Switch(write_plane[:3]):
                    for p in range(PLANES):
                        with m.Case(p):
                            m.d.comb += pair_data.eq(Cat(*(port.data for port in plane_reads[p])))
                if spans > 2:
                    m.d.sync += write_back.eq(Cat(write_back[2 * lane:], pair_data))
                else:
                    m.d.sync += write_back.eq(pair_data)
                m.d.sync += write_pair.eq(write_pair + 1)
                with m.If(write_pair == pairs - 1):
                    m.d.sync += write_pair.eq(0)
                    m.next = "FLUSH_WRITE"
                with m.Else():
                    m.next = "FLUSH_READ"
            with m.State("FLUSH_WRITE"):
                m.d.comb += [flushing.eq(1), writing.eq(1), port_claimed.eq(1), dram.req.valid.eq(1),
                             dram.req.payload.write.eq(1),
                             dram.req.payload.address.eq(self.dram_base_burst + Cat(write_plane[:3], combine_group)),
                             dram.req.payload.data.eq(write_back)]
                with m.If(dram.req.ready):
                    m.d.comb += registers.dram_write.eq(1)
                    m.d.sync += write_plane.eq(write_plane + 1)
                    with m.If(write_plane == PLANES - 1):
                        m.d.sync += combine_mask.eq(0)
                        m.next = "COMMAND"
                    with m.Else():
                        m.next = "FLUSH_READ"

        m.d.comb += [serve_in.tag.eq(cmd.tag), ndr_fifo.w_data.eq(cmd.tag),
                     registers.write_pending.eq(combine_mask != 0)]

        # --- write completions -------------------------------------------------------------
        m.d.comb += [host.ndr.valid.eq(ndr_fifo.r_rdy), host.ndr.payload.tag.eq(ndr_fifo.r_data),
                     host.ndr.payload.opcode.eq(NDROpcode.CMP), ndr_fifo.r_en.eq(host.ndr.ready)]

        # --- serve stage: for each chunk, read its two spans of every plane (the read ports' registers), then
        # corner-turn them into the DRS register; `serve_held` marks read data not yet in DRS.
        head = data.View(serve_layout, serve_fifo.r_data)
        head_arrived = select(arrived, head.buffer)
        need = Signal(PLANES)
        m.d.comb += need.eq((1 << head.used) - 1)
        read_chunk = Signal(range(spans))         # next chunk of the head entry to read
        held = Signal(serve_layout)
        held_chunk = Signal(range(spans))
        held_phase = Signal(3)
        held_last = Signal()
        m.d.comb += held_last.eq(held_chunk == spans - 1)
        drs = host.drs
        drs_data = Signal(LINE_BITS, reset_less=True)
        m.d.comb += drs.payload.data.eq(drs_data)
        step = Signal()                          # the held chunk goes into the DRS register
        take_chunk = Signal()
        m.d.comb += [step.eq(serve_held & (~drs.valid | drs.ready)),
                     take_chunk.eq(serve_fifo.r_rdy & ~port_claimed & (~serve_held | step)
                                   & (head.poison | ((head_arrived & need) == need)))]

        first = Signal(range(spans))             # the chunk's first span
        phase = Signal(3)                        # its phase (the corner turn's wiring)
        with m.Switch(Cat(read_chunk, head.line, head.k)):
            for k in range(1, PLANES + 1):
                for line in range(k):
                    for c in range(spans):
                        with m.Case(c | line << len(read_chunk) | k << (len(read_chunk) + 3)):
                            m.d.comb += [first.eq(first_span(k, line, c, lane)), phase.eq(chunk_phase(k, line, c, lane))]
        for p in range(PLANES):
            for offset, port in enumerate(plane_reads[p]):
                flush_span = Cat(C(offset, 1), write_pair) if spans > 1 else C(0, 1)
                m.d.comb += [port.addr.eq(Mux(port_claimed, row(flush_target, flush_span), row(head.buffer, first + offset))),
                             port.en.eq(take_chunk | flush_read),
                             assembler.spans[p][offset].eq(port.data)]
        with m.If(take_chunk):
            m.d.sync += [serve_held.eq(1), held.eq(head), held_chunk.eq(read_chunk), held_phase.eq(phase),
                         read_chunk.eq(Mux(read_chunk == spans - 1, 0, read_chunk + 1))]
            with m.If(read_chunk == spans - 1):
                m.d.comb += serve_fifo.r_en.eq(1)
                with m.If(~head.poison):
                    m.d.comb += [pop_serve.eq(1), pop_buffer.eq(head.buffer)]
        with m.Elif(step):
            m.d.sync += serve_held.eq(0)

        m.d.comb += [assembler.k.eq(held.k), assembler.phase.eq(held_phase), assembler.used.eq(held.used)]
        with m.If(step):
            m.d.sync += [drs.valid.eq(held_last), drs.payload.opcode.eq(DRSOpcode.MEM_DATA),
                         drs.payload.tag.eq(held.tag), drs.payload.poison.eq(held.poison)]
            with m.Switch(held_chunk):
                for c in range(spans):
                    with m.Case(c):
                        m.d.sync += drs_data[c * lane:(c + 1) * lane].eq(Mux(held.poison, 0, assembler.o))
            with m.If(held_last & ~held.poison):
                m.d.comb += [registers.line_served.eq(1), registers.line_view.eq(held.k)]
        with m.Elif(drs.ready):
            m.d.sync += drs.valid.eq(0)

        idle = Signal()
        m.d.comb += idle.eq(~decoder.o.valid & ~serve_fifo.r_rdy & ~serve_held & ~drs.valid & ~ndr_fifo.r_rdy & ~hold_valid
                            & (outstanding == 0) & ~flushing & ~flush_requested)
        m.d.comb += registers.idle.eq(idle)
        return m
