"""SmartQuant CXL-side memory controller: bit-plane weight store with precision views.

Behaviour is :class:`golden.bitplane.PlaneStoreModel` with a plane pool (data, DRAM traffic
and errors, bit for bit and burst for burst); interfaces and the register map are
``docs/smartquant.md``. Structure, one request per cycle at each step::

    req, rwd -> HostArbiter -> ViewDecoder (2 stages) -> command queue -> sequencer -> serve queue -> ServeStage -> DRS
                                                                           |   |  \\-> NDR queue -> NDR
                                                   PlanePoolTable <-------/    \\-> fetch jobs -> FetchIssuer -> DRAM reads
                                                   WriteCombiner                   DRAM responses -> ResponseWriter -> PlaneStore

The sequencer (this module's FSM) handles commands in order. A read looks its group up in the
plane pool, takes a new entry when the group is not found or needs more slots (evicting the
oldest entries once no queued response reads them), queues a fetch job for the planes the entry
lacks and a response for the serve stage. Writes to view 8 collect in the write combiner
(``NDR Cmp`` as soon as they are in it); a flush takes an 8-slot entry for the group, fetches the
planes it lacks when the group is partial, merges the lines into the plane store and writes all
8 planes to DRAM.
"""

from amaranth.hdl import C, Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.fifo import SyncFIFO, SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from golden.bitplane import PLANES, ViewMap

from .arbiter import HostArbiter
from .corner_turn import check_lane_bits, line_start
from .cxl_mem import LINE_BITS, TAG_BITS, HostSignature, NDROpcode
from .dram_port import DramSignature
from .fetch_issuer import FetchIssuer, FetchJobLayout
from .plane_pool import SEQUENCE_BITS, PlanePoolTable, PoolGeometry, size_code
from ..block_ram import BLOCK_RAM_TARGETS
from .plane_store import READ_LATENCY, PlaneStore
from .register_map import MAX_REGIONS
from .registers import ControlRegisters, RegisterBusSignature
from .response_writer import ResponseWriter
from .serve_stage import ServeLayout, ServeStage, plane_mask
from .view_decoder import ErrorCause, ViewDecoder, view_geometry
from .write_combiner import WriteCombiner

__all__ = ["SmartQuantController", "MAX_POOL_ROWS"]

_FULL = (1 << PLANES) - 1
MAX_POOL_ROWS = 16
_COMMAND_QUEUE_DEPTH = 4           # decoded commands between the decoder and the command stage
# Commands between the arbiter and the sequencer's finish: two decoder stages, the command
# queue, the command stage; the write-data queue holds that many (a power of two at least).
_WRITES_IN_FLIGHT = 1 << (2 + _COMMAND_QUEUE_DEPTH + 1 - 1).bit_length()


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
    pool_rows : int
        Rows of 8 plane slots in the read buffer (1..16): ``8 * pool_rows`` planes of 64 bytes.
        A stream at view ``k`` needs about ``slot_size(k) * (latency + k + 8) / k`` slots for a
        line per cycle (``docs/smartquant.md`` section 4).
    n_regions : int
        Region-table entries (1..12).
    dram_outstanding : int
        Most DRAM reads in flight (1..128).
    response_depth : int
        Entries of the read-response and write-completion queues (2..256); they bound the
        reads in flight, so they must cover the DRAM latency for full throughput.
    lane_bits : int
        Corner-turn width in bits per cycle (64, 128, 256 or 512): a host line takes
        ``512 / lane_bits`` cycles. Narrower lanes trade peak host bandwidth for area.
    memory : {"inferred", "ecp5"}
        How the plane store's block RAMs are built (:class:`hdl.block_ram.BlockRam`): inferred
        memories (simulation, other devices) or ECP5 DP16KD blocks with their output registers.
        The same cycles either way.
    decision_cycles : {None, 1, 2}
        Cycles the sequencer takes per command: 1 decides on the lookup in the cycle it
        arrives; 2 prepares the decision's inputs in one cycle and decides on them registered
        in the next, halving the decision's logic depth. A host line takes ``512 / lane_bits``
        cycles in the serve stage, so 2 costs no read bandwidth below 512-bit lanes. ``None``
        (default): 1 at 512-bit lanes, else 2.

    Members
    -------
    host : In(HostSignature())
        CXL.mem ``req``, ``rwd`` in; ``ndr``, ``drs`` out.
    dram : Out(DramSignature(...))
        Burst requests out, read responses in (``id`` = the pool slot, ``Cat(memory, row)``).
    regs : In(RegisterBusSignature())

    Raises
    ------
    ValueError
        A parameter outside its range (the message names it).
    """

    def __init__(self, n_groups: int = 64, *, dram_base: int = 0, pool_rows: int = 8, n_regions: int = 4,
                 dram_outstanding: int = 64, response_depth: int = 64, lane_bits: int = 512,
                 memory: str = "inferred", decision_cycles: int | None = None):
        _check_int(n_groups, "n_groups", 1, 1 << 28)
        self.view_map = ViewMap(n_groups, dram_base)
        self.n_groups = n_groups
        self.dram_base_burst = dram_base // 64
        self.pool_rows = _check_int(pool_rows, "pool_rows", 1, MAX_POOL_ROWS)
        self.n_regions = _check_int(n_regions, "n_regions", 1, MAX_REGIONS)
        self.dram_outstanding = _check_int(dram_outstanding, "dram_outstanding", 1, 128)
        self.response_depth = _check_int(response_depth, "response_depth", 2, 256)
        self.lane_bits = check_lane_bits(lane_bits)
        if memory not in BLOCK_RAM_TARGETS:
            raise ValueError(f"memory must be one of {BLOCK_RAM_TARGETS}, got {memory!r}")
        self.memory = memory
        self.spans = LINE_BITS // lane_bits
        if decision_cycles is None:
            decision_cycles = 1 if self.spans == 1 else 2
        self.decision_cycles = _check_int(decision_cycles, "decision_cycles", 1, 2)
        self._group_width = view_geometry(n_groups)[1]
        self.geometry = PoolGeometry(pool_rows)
        self.id_width = self.geometry.slot_bits
        self.dram_address_width = max(1, (self.dram_base_burst + n_groups * PLANES - 1).bit_length())
        super().__init__({
            "host": In(HostSignature()),
            "dram": Out(DramSignature(self.dram_address_width, self.id_width)),
            "regs": In(RegisterBusSignature()),
        })

    def elaborate(self, platform):
        m = Module()
        rows, lane, spans = self.pool_rows, self.lane_bits, self.spans
        geometry = self.geometry
        group_width = self._group_width
        m.submodules.arbiter = arbiter = HostArbiter()
        m.submodules.decoder = decoder = ViewDecoder(self.n_groups, self.n_regions)
        m.submodules.registers = registers = ControlRegisters(self.n_groups, rows, self.n_regions)
        m.submodules.pool = pool = PlanePoolTable(group_width, rows)
        m.submodules.store = store = PlaneStore(rows, lane, self.memory)
        m.submodules.responses = responses = ResponseWriter(rows, geometry.slot_bits, lane)
        m.submodules.issuer = issuer = FetchIssuer(group_width, geometry.row_bits, self.dram_address_width,
                                                   self.dram_base_burst, self.dram_outstanding)
        m.submodules.combiner = combiner = WriteCombiner(group_width, lane)
        m.submodules.serve = serve = ServeStage(rows, geometry.row_bits, lane, READ_LATENCY)
        host, dram = self.host, self.dram
        wiring.connect(m, wiring.flipped(self.regs), registers.bus)
        wiring.connect(m, wiring.flipped(host.req), arbiter.req)
        wiring.connect(m, wiring.flipped(host.rwd), arbiter.rwd)
        wiring.connect(m, arbiter.o, decoder.i)
        wiring.connect(m, serve.drs, wiring.flipped(host.drs))
        m.d.comb += decoder.regions.eq(registers.regions)

        # --- queues: read responses to the serve stage, write completions, fetch jobs ----------
        # In distributed RAM (their outputs feed logic and pins; a block RAM's output is slow).
        serve_layout = ServeLayout(geometry.row_bits, spans)
        m.submodules.serve_fifo = serve_fifo = SyncFIFO(width=serve_layout.size, depth=self.response_depth)
        m.submodules.ndr_fifo = ndr_fifo = SyncFIFO(width=TAG_BITS, depth=self.response_depth)
        # Decoded commands wait in a short queue for the command stage, so the sequencer's decision
        # (late in its cycle) reaches the queue's read side only, not the decoder and the host.
        # (Unbuffered: taking a command is the read pointer's step, one level after the decision.)
        m.submodules.commands = commands = SyncFIFO(width=len(decoder.o.payload.as_value()),
                                                    depth=_COMMAND_QUEUE_DEPTH)
        m.d.comb += [commands.w_data.eq(decoder.o.payload), commands.w_en.eq(decoder.o.valid),
                     decoder.o.ready.eq(commands.w_rdy)]
        next_cmd = data.View(decoder.o.payload.shape(), commands.r_data)
        # A write's 512 data bits skip the decoder, the command queue and the command stage: queued
        # in order as the arbiter takes the write, taken when the sequencer finishes it. At most
        # `_WRITES_IN_FLIGHT` commands are between the two, so the queue never fills. The
        # pipeline's registers and their enables stay narrow.
        m.submodules.write_data = write_data = SyncFIFO(width=LINE_BITS, depth=_WRITES_IN_FLIGHT)
        m.d.comb += [write_data.w_data.eq(arbiter.o.payload.data),
                     write_data.w_en.eq(arbiter.o.valid & arbiter.o.ready & arbiter.o.payload.write)]
        job_layout = FetchJobLayout(group_width, geometry.row_bits)
        m.submodules.job_fifo = job_fifo = SyncFIFOBuffered(width=job_layout.size, depth=4)
        serve_in = data.View(serve_layout, serve_fifo.w_data)
        job_in = data.View(job_layout, job_fifo.w_data)
        m.d.comb += [serve.queue.payload.eq(serve_fifo.r_data), serve.queue.valid.eq(serve_fifo.r_rdy),
                     serve_fifo.r_en.eq(serve.queue.ready),
                     issuer.jobs.payload.eq(job_fifo.r_data), issuer.jobs.valid.eq(job_fifo.r_rdy),
                     job_fifo.r_en.eq(issuer.jobs.ready),
                     host.ndr.valid.eq(ndr_fifo.r_rdy), host.ndr.payload.tag.eq(ndr_fifo.r_data),
                     host.ndr.payload.opcode.eq(NDROpcode.CMP), ndr_fifo.r_en.eq(host.ndr.ready)]

        # Response sequence numbers: the pool marks an entry in use while a queued response reads it.
        pushed, served = Signal(SEQUENCE_BITS), Signal(SEQUENCE_BITS)
        m.d.sync += [pushed.eq(pushed + serve_fifo.w_en), served.eq(served + serve.served)]
        m.d.comb += [pool.pushed.eq(pushed), pool.served.eq(served)]

        # --- DRAM side: fetch reads, flush writes; responses into the plane store ---------------
        writing = Signal()                      # the flush write-back owns the DRAM request port
        merge_claim = Signal()                  # the flush merge owns the plane store's write port
        merging = Signal()                      # ... and writes a span this cycle
        merge_span = Signal(range(spans))
        flush_row = Signal(geometry.row_bits)
        write_plane = Signal(range(PLANES + 1))
        write_back = Signal(LINE_BITS, reset_less=True)
        m.d.comb += [issuer.pause.eq(writing), issuer.ready.eq(dram.req.ready),
                     issuer.response.eq(dram.resp.valid & dram.resp.ready),
                     dram.req.valid.eq(Mux(writing, 1, issuer.valid)),
                     dram.req.payload.write.eq(writing),
                     dram.req.payload.address.eq(Mux(writing, self.dram_base_burst + Cat(write_plane[:3], combiner.group),
                                                     issuer.address)),
                     dram.req.payload.id.eq(Mux(writing, 0, issuer.id)), dram.req.payload.data.eq(write_back)]
        wiring.connect(m, wiring.flipped(dram.resp), responses.resp)
        m.d.comb += [responses.pause.eq(merge_claim),
                     pool.arrive.eq(responses.arrived), pool.arrive_slot.eq(responses.slot)]
        for i in range(PLANES):
            with m.If(merging):
                m.d.comb += [store.w_data[i].eq(combiner.merge_data[i]), store.w_en[i].eq(combiner.merge_en)]
            with m.Else():
                m.d.comb += [store.w_data[i].eq(responses.data),
                             store.w_en[i].eq(Mux(responses.busy & (responses.memory == i), -1, 0))]
        m.d.comb += [store.w_row.eq(Mux(merging, flush_row, responses.row)),
                     store.w_span.eq(Mux(merging, merge_span, responses.span)),
                     combiner.merge_span.eq(merge_span)]

        # --- plane store reads: the serve stage, or the flush write-back (span pairs) ----------
        port_claimed = Signal()
        write_pair = Signal(range(max(1, spans // 2)))
        flush_first = Cat(C(0, 1), write_pair) if spans > 1 else C(0, 1)
        m.d.comb += [serve.claimed.eq(port_claimed), serve.arrived.eq(pool.arrived), serve.r_spans.eq(store.r_spans),
                     store.r_row.eq(Mux(port_claimed, flush_row, serve.r_row)),
                     store.r_first.eq(Mux(port_claimed, flush_first, serve.r_first)),
                     store.r_col.eq(Mux(port_claimed, write_plane[:3], serve.r_col)),
                     registers.line_served.eq(serve.line_served), registers.line_view.eq(serve.line_view)]

        # --- sequencer ------------------------------------------------------------------------
        # The command stage: the decoded command waits here while the plane pool looks its group up
        # (registered); the sequencer decides on both in the next cycle.
        cmd = Signal(decoder.o.payload.shape(), reset_less=True)
        cmd_valid = Signal()
        consumed = Signal()                      # the sequencer finished the command
        in_command = Signal()                    # the FSM is in COMMAND
        flush_lookup = Signal()                  # ... in a state that looks the flush group up (registered:
                                                 # set on entering FLUSH_LOOKUP, cleared on leaving FLUSH_ALLOCATE)
        load = Signal()
        m.d.comb += [load.eq(in_command & (~cmd_valid | consumed)), commands.r_en.eq(load),
                     pool.load.eq(load), pool.load_group.eq(next_cmd.group),
                     pool.hold_group.eq(Mux(flush_lookup, combiner.group, cmd.group))]
        with m.If(load):
            m.d.sync += [cmd_valid.eq(commands.r_rdy), cmd.eq(next_cmd)]
        m.d.comb += write_data.r_en.eq(consumed & cmd.write)
        flushing = Signal()
        flush_requested = Signal()
        with m.If(registers.flush):
            m.d.sync += flush_requested.eq(1)
        entry = pool.entry

        # A hit keeps the latched cap; a new entry latches the command's (or first write's) cap.
        # A group that grows keeps its cap even when its old entry is evicted while it waits.
        cap = Signal(4)
        keeping = Signal()
        kept_cap = Signal(4)
        with m.If(pool.evict & pool.hit):
            m.d.sync += [keeping.eq(1), kept_cap.eq(entry.cap)]
        with m.If(pool.allocate):
            m.d.sync += keeping.eq(0)
        m.d.comb += cap.eq(Mux(keeping, kept_cap, Mux(pool.hit, entry.cap, Mux(flushing, combiner.cap, cmd.cap))))
        # A read's planes used = min(k, cap), its size and whether the entry must grow: worked out
        # for each source of the cap from registers, the lookup's hit choosing last.
        options = {}
        for name, source in (("kept", kept_cap), ("hit", entry.cap), ("new", cmd.cap)):
            planes, code = Signal(4, name=f"used_{name}"), Signal(2, name=f"size_{name}")
            m.d.comb += [planes.eq(Mux(cmd.k < source, cmd.k, source)), code.eq(size_code(planes))]
            options[name] = (planes, code, code > entry.size, planes > entry.fetched)
        read_used, read_size = Signal(4), Signal(2)
        read_grow = Signal()                     # a new entry: not found, or too small
        read_more = Signal()                     # the hit entry lacks planes: used > entry.fetched
        picked = Mux(keeping, Cat(*options["kept"]), Mux(pool.hit, Cat(*options["hit"]), Cat(*options["new"])))
        m.d.comb += [Cat(read_used, read_size).eq(picked[:6]), read_grow.eq(~pool.hit | picked[6]),
                     read_more.eq(picked[7])]

        # What a command's decision reads. With `decision_cycles` 2 the sequencer prepares a command
        # in one cycle and decides in the next, on these values registered (`early`); nothing they
        # depend on changes between the two cycles but the queues' read sides and the arrivals,
        # which only free room, so a registered "full" or "in use" is at worst a cycle late.
        two_cycles = self.decision_cycles == 2
        prepared = Signal()                      # decision_cycles 2: the command was prepared last cycle
        decide = Signal()
        m.d.sync += prepared.eq(two_cycles & in_command & cmd_valid & ~prepared)
        m.d.comb += decide.eq(prepared if two_cycles else 1)

        def early(name, value):
            if not two_cycles:
                return value
            registered = Signal.like(value, name=f"{name}_early")
            m.d.sync += registered.eq(value)
            return registered

        pending = Signal()
        m.d.comb += pending.eq(combiner.mask != 0)
        line_bit = Signal(PLANES)
        m.d.comb += line_bit.eq(1 << cmd.line)
        used, size, grow, more = early("used", read_used), early("size", read_size), early("grow", read_grow), \
            early("more", read_more)
        read_cap, missing = early("cap", cap), early("missing", (read_used - entry.fetched)[:4])
        fits = early("fits", pool.fits_by_size.bit_select(read_size, 1) if two_cycles else pool.fits)
        fits_evicting = early("fits_evicting", pool.fits_evicting_by_size.bit_select(read_size, 1) if two_cycles
                              else pool.fits_evicting)
        can_evict = early("can_evict", pool.can_evict)
        serve_ready, job_ready, ndr_ready = (early("serve_ready", serve_fifo.w_rdy), early("job_ready", job_fifo.w_rdy),
                                             early("ndr_ready", ndr_fifo.w_rdy))
        pending_here = early("pending_here", pending & (combiner.group == cmd.group))
        pending_elsewhere = early("pending_elsewhere", pending & (combiner.group != cmd.group))
        completes = early("completes", (combiner.mask | line_bit) == _FULL)
        flush_grow = Signal()                    # the flush needs a new 8-slot entry
        m.d.comb += flush_grow.eq(~pool.hit | (entry.size != 3))
        with m.If(flushing):
            m.d.comb += pool.size.eq(3)
        with m.Else():
            m.d.comb += pool.size.eq(size)
        partial = Signal()
        m.d.comb += partial.eq(combiner.mask != _FULL)

        def fetch(row, col, first, count, group, view):
            """Queue a job for planes ``first .. first + count - 1`` and count the reads for ``view``."""
            m.d.comb += [job_fifo.w_en.eq(count != 0), job_in.group.eq(group), job_in.row.eq(row), job_in.col.eq(col),
                         job_in.first.eq(first), job_in.count.eq(count),
                         registers.dram_read.eq(count), registers.read_view.eq(view)]

        error_event = Signal(ErrorCause)
        m.d.comb += [registers.error.eq(error_event), registers.error_tag.eq(cmd.tag),
                     registers.error_address.eq(cmd.address)]
        m.d.comb += [combiner.line.eq(cmd.line), combiner.data.eq(write_data.r_data),
                     combiner.w_group.eq(cmd.group), combiner.w_cap.eq(cmd.cap),
                     serve_in.tag.eq(cmd.tag), ndr_fifo.w_data.eq(cmd.tag),
                     serve_in.k.eq(cmd.k), serve_in.line.eq(cmd.line), serve_in.used.eq(used),
                     Cat(serve_in.first, serve_in.phase).eq(Cat(*line_start(m, cmd.k, cmd.line, lane))),
                     registers.write_pending.eq(pending)]

        # The flush evicts on the pool's `can_evict` registered (a cycle late, and not the cycle after
        # an eviction, whose value spoke of the entry just evicted): off the decision's paths.
        flush_can_evict = Signal()
        m.d.sync += flush_can_evict.eq(pool.can_evict & ~pool.evict)

        # The planes a queued response reads, decoded for either entry before the decision picks.
        need_new, need_hit = plane_mask(m, used, pool.new_col), plane_mask(m, used, entry.col)

        def to_flush():
            """Leave COMMAND for the flush: the pool looks the combiner's group up from the next cycle."""
            m.next = "FLUSH_LOOKUP"
            m.d.sync += flush_lookup.eq(1)

        def to_fetch():
            m.next = "FLUSH_FETCH"
            m.d.sync += flush_lookup.eq(0)

        with m.FSM(name="sequencer"):
            with m.State("COMMAND"):
                m.d.comb += in_command.eq(1)
                # A requested flush waits for a gap between commands.
                with m.If(flush_requested & ~cmd_valid):
                    m.d.sync += flush_requested.eq(0)
                    with m.If(pending):
                        to_flush()
                with m.Elif(~decide):
                    pass                                   # the command is being prepared
                with m.Elif(cmd_valid & (cmd.cause != ErrorCause.NONE)):
                    with m.If(cmd.write & ndr_ready):
                        m.d.comb += [ndr_fifo.w_en.eq(1), consumed.eq(1), error_event.eq(cmd.cause)]
                    with m.If(~cmd.write & serve_ready):
                        m.d.comb += [serve_fifo.w_en.eq(1), serve_in.poison.eq(1), consumed.eq(1),
                                     error_event.eq(cmd.cause)]
                with m.Elif(cmd_valid & cmd.write):
                    with m.If(pending_elsewhere):
                        to_flush()
                    with m.Elif(ndr_ready):
                        m.d.comb += [ndr_fifo.w_en.eq(1), consumed.eq(1), registers.host_write.eq(1),
                                     combiner.write.eq(1)]
                        with m.If(completes):
                            to_flush()
                with m.Elif(cmd_valid):
                    with m.If(pending_here):
                        to_flush()
                    # One read per decision: find or take the entry, queue the fetch and the response.
                    with m.Elif(grow):
                        with m.If(fits | (can_evict & fits_evicting)):
                            with m.If(serve_ready & job_ready):
                                fetch(pool.new_row, pool.new_col, 0, used, cmd.group, cmd.k)
                                m.d.comb += [pool.allocate.eq(1), pool.evict.eq(~fits),
                                             pool.w_cap.eq(read_cap), pool.w_fetched.eq(used),
                                             pool.w_last.eq(pushed), serve_fifo.w_en.eq(1),
                                             serve_in.row.eq(pool.new_row), serve_in.col.eq(pool.new_col),
                                             serve_in.need.eq(need_new), consumed.eq(1)]
                        with m.Elif(can_evict):
                            m.d.comb += pool.evict.eq(1)
                    with m.Elif(serve_ready & (job_ready | ~more)):
                        with m.If(more):
                            fetch(entry.row, entry.col, entry.fetched, missing, cmd.group, cmd.k)
                        m.d.comb += [pool.update.eq(1), pool.w_last.eq(pushed),
                                     pool.w_fetched.eq(Mux(more, used, entry.fetched)),
                                     serve_fifo.w_en.eq(1), serve_in.row.eq(entry.row), serve_in.col.eq(entry.col),
                                     serve_in.need.eq(need_hit), consumed.eq(1)]

            with m.State("FLUSH_LOOKUP"):
                # The pool looks the flush group up (the result is there in the next cycle).
                m.d.comb += flushing.eq(1)
                m.next = "FLUSH_ALLOCATE"

            with m.State("FLUSH_ALLOCATE"):
                # An 8-slot entry for the group: a hit on one once no queued response reads it,
                # else a new one; a partial group fetches the planes the entry lacks.
                m.d.comb += flushing.eq(1)
                with m.If(~flush_grow):
                    with m.If(~pool.entry_busy & job_fifo.w_rdy):
                        with m.If(partial):
                            fetch(entry.row, entry.col, entry.fetched, PLANES - entry.fetched, combiner.group, PLANES)
                        m.d.comb += [pool.update.eq(1), pool.w_fetched.eq(PLANES), pool.w_last.eq(entry.last)]
                        m.d.sync += flush_row.eq(entry.row)
                        to_fetch()
                with m.Elif(pool.fits):
                    with m.If(job_fifo.w_rdy):
                        with m.If(partial):
                            fetch(pool.new_row, pool.new_col, 0, PLANES, combiner.group, PLANES)
                        m.d.comb += [pool.allocate.eq(1), pool.w_cap.eq(cap), pool.w_fetched.eq(PLANES),
                                     pool.w_last.eq(served - 1)]       # no queued response reads it
                        m.d.sync += flush_row.eq(pool.new_row)
                        to_fetch()
                with m.Elif(flush_can_evict):
                    m.d.comb += pool.evict.eq(1)

            with m.State("FLUSH_FETCH"):
                m.d.comb += flushing.eq(1)
                with m.If(~partial | (pool.arrived[flush_row] == _FULL)):
                    m.next = "FLUSH_MERGE"
            with m.State("FLUSH_MERGE"):
                # Write the collected lines over the entry's planes, a span per cycle once the
                # response writer is idle: INT8 line l is weights 64 l .. 64 l + 63 of every plane.
                m.d.comb += [flushing.eq(1), merge_claim.eq(1)]
                with m.If(~responses.busy):
                    m.d.comb += merging.eq(1)
                    m.d.sync += merge_span.eq(merge_span + 1)
                    with m.If(merge_span == spans - 1):
                        m.d.comb += [pool.fill_row.eq(1), pool.fill_row_index.eq(flush_row)]
                        m.d.sync += [merge_span.eq(0), write_plane.eq(0), write_pair.eq(0)]
                        m.next = "FLUSH_READ"

            # Write-back, plane by plane: read its span pairs (the plane store's read port taken
            # from the serve stage for a cycle), collect them in `write_back` as they leave the
            # store, write the burst.
            read_wait = Signal(range(READ_LATENCY))
            with m.State("FLUSH_READ"):
                m.d.comb += [flushing.eq(1), port_claimed.eq(1)]
                m.d.sync += read_wait.eq(READ_LATENCY - 1)
                m.next = "FLUSH_WAIT"
            with m.State("FLUSH_WAIT"):
                m.d.comb += flushing.eq(1)
                m.d.sync += read_wait.eq(read_wait - 1)
                with m.If(read_wait == 1):
                    m.next = "FLUSH_COLLECT"
            with m.State("FLUSH_COLLECT"):
                m.d.comb += flushing.eq(1)
                n_reads = min(2, spans)
                # the read went out at column `write_plane` of the whole-row entry: plane 0's
                # output, which any column can start, is memory `write_plane` (no plane mux here)
                pair_data = Signal(n_reads * lane)
                m.d.comb += pair_data.eq(Cat(*(store.r_spans[0][o] for o in range(n_reads))))
                if spans > 2:
                    m.d.sync += write_back.eq(Cat(write_back[2 * lane:], pair_data))
                else:
                    m.d.sync += write_back.eq(pair_data)
                m.d.sync += write_pair.eq(write_pair + 1)
                with m.If(write_pair == max(1, spans // 2) - 1):
                    m.d.sync += write_pair.eq(0)
                    m.next = "FLUSH_WRITE"
                with m.Else():
                    m.next = "FLUSH_READ"
            with m.State("FLUSH_WRITE"):
                m.d.comb += [flushing.eq(1), writing.eq(1)]
                with m.If(dram.req.ready):
                    m.d.comb += registers.dram_write.eq(1)
                    m.d.sync += write_plane.eq(write_plane + 1)
                    with m.If(write_plane == PLANES - 1):
                        m.d.comb += combiner.clear.eq(1)
                        m.next = "COMMAND"
                    with m.Else():
                        m.next = "FLUSH_READ"

        idle = Signal()
        m.d.comb += idle.eq(~decoder.o.valid & ~commands.r_rdy & ~cmd_valid & ~serve_fifo.r_rdy & ~serve.busy & ~ndr_fifo.r_rdy
                            & ~responses.busy & ~job_fifo.r_rdy & (issuer.in_flight == 0) & ~flushing
                            & ~flush_requested)
        m.d.comb += registers.idle.eq(idle)
        return m
