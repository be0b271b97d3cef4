"""The SmartQuant read buffer's bookkeeping: a ring of plane-slot entries and its tag table.

Implements the policy of :class:`golden.bitplane.PlanePool` (``docs/smartquant.md`` section
4): ``rows`` rows of 8 plane slots (slot ``s`` = row ``s div 8`` of plane memory ``s mod 8``),
entries of 1, 2, 4 or 8 aligned slots taken in allocation order, the oldest evicted first, a
tag table of ``T`` pointers indexed by ``group mod T``. The data lives in the plane store
(:mod:`.plane_store`); this component holds, per entry, the group, the latched cap, where it
sits, the planes fetched and the sequence number of the latest response that reads it, and
one *arrived* bit per slot.

The lookup is registered: the key chosen in one cycle (``load_group`` or ``hold_group``) is
looked up at its end, and the result (``group``, ``hit``, ``entry``) is what the sequencer
decides on in the next, as if looked up at its start: this cycle's allocation or update is
forwarded into the registered result. So the path from the tag table through the records ends
at a register, and the decision starts from one. Placement is combinational from the ring
state; updates take effect at the next clock edge.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.bitplane import PLANES

__all__ = ["SEQUENCE_BITS", "PoolGeometry", "PoolEntryLayout", "PlanePoolTable", "size_code"]

SEQUENCE_BITS = 16     # response sequence numbers (mod 2**16) that mark an entry in use


class PoolGeometry:
    """Sizes derived from ``rows``: ``slots`` = 8 rows, ``table_size`` = the smallest power of
    two >= ``slots`` (also the number of entry ids), and the index widths."""

    def __init__(self, rows: int):
        self.rows = rows
        self.slots = PLANES * rows
        self.id_bits = max(1, (self.slots - 1).bit_length())
        self.table_size = 1 << self.id_bits
        self.row_bits = max(1, (rows - 1).bit_length())
        self.slot_bits = 3 + self.row_bits            # a slot as Cat(memory, row): the DRAM read id


class PoolEntryLayout(data.StructLayout):
    """One entry: ``group``, latched ``cap``, ``row`` and ``col`` (its base slot), ``size`` (the
    slots it takes, as log2: 0..3), ``fetched`` (planes 0 .. fetched-1 requested or written) and
    ``last`` (sequence number of the latest response that reads it)."""

    def __init__(self, group_width: int, row_bits: int):
        super().__init__({"group": group_width, "cap": 4, "row": row_bits, "col": 3, "size": 2,
                          "fetched": 4, "last": SEQUENCE_BITS})


def size_code(planes):
    """log2 of ``slot_size(planes)`` for an Amaranth value ``planes`` in 1..8."""
    return Mux(planes <= 1, 0, Mux(planes <= 2, 1, Mux(planes <= 4, 2, 3)))


class PlanePoolTable(wiring.Component):
    """Entry ring, tag table and arrival bits of the plane pool.

    Parameters
    ----------
    group_width : int
        Width of a group index.
    rows : int
        Rows of 8 plane slots (1..16).

    Members
    -------
    load_group, hold_group : In(group_width), with ``load`` : In(1)
        The key of the next cycle's lookup: ``load_group`` when ``load``, else ``hold_group``.
    group : Out(group_width)
        The key of this cycle's lookup (the key chosen in the previous cycle); allocations are
        for it.
    hit : Out(1)
        ``group`` has an entry: the tag table's pointer names an entry in the ring holding it.
    entry : Out(PoolEntryLayout)
        That entry (meaningful with ``hit``); ``entry_busy`` when a queued response reads it.
    size : In(2)
        Size (log2 of slots) of the entry the sequencer would allocate.
    fits : Out(1)
        An entry of ``size`` fits now, before the oldest entry; ``new_row`` / ``new_col`` is
        where it goes.
    fits_evicting : Out(1)
        It fits once the oldest entry is evicted (``evict`` and ``allocate`` together in one
        cycle: a stream that evicts one entry per new one loses no cycle).
    fits_by_size, fits_evicting_by_size : Out(4)
        ``fits`` and ``fits_evicting`` for each size (bit ``z``: an entry of ``2**z`` slots),
        independent of ``size``.
    can_evict : Out(1)
        The ring holds an entry and the oldest is not read by any queued response.
    pushed, served : In(SEQUENCE_BITS)
        Responses queued so far and answered so far (mod 2**16): ``last`` in
        ``served .. pushed - 1`` marks an entry in use.
    evict : In(1)
        Drop the oldest entry (with ``allocate``: before placing the new one).
    allocate : In(1)
        Take a new entry for ``group`` at ``new_row`` / ``new_col`` of ``size`` with ``w_cap``,
        ``w_fetched``, ``w_last``; point the tag table at it and clear its slots' arrived bits.
    update : In(1)
        Write ``w_fetched`` and ``w_last`` into the hit entry.
    arrive : In(1), with ``arrive_slot`` : In(slot_bits)
        A plane has been written into that slot (``Cat(memory, row)``).
    fill_row : In(1), with ``fill_row_index`` : In(row_bits)
        Every slot of that row now holds its plane (the flush merge).
    arrived : Out(data.ArrayLayout(8, rows))
        Arrived bits, ``arrived[row][memory]``.
    empty : Out(1)
        The ring holds no entry.
    """

    def __init__(self, group_width: int, rows: int):
        self.geometry = g = PoolGeometry(rows)
        self.group_width = group_width
        self.entry_layout = PoolEntryLayout(group_width, g.row_bits)
        super().__init__({
            "load_group": In(group_width), "hold_group": In(group_width), "load": In(1),
            "group": Out(group_width), "hit": Out(1), "entry": Out(self.entry_layout), "entry_busy": Out(1),
            "size": In(2), "fits": Out(1), "fits_evicting": Out(1),
            "fits_by_size": Out(4), "fits_evicting_by_size": Out(4), "new_row": Out(g.row_bits), "new_col": Out(3),
            "can_evict": Out(1), "pushed": In(SEQUENCE_BITS), "served": In(SEQUENCE_BITS),
            "evict": In(1), "allocate": In(1), "update": In(1),
            "w_cap": In(4), "w_fetched": In(4), "w_last": In(SEQUENCE_BITS),
            "arrive": In(1), "arrive_slot": In(g.slot_bits),
            "fill_row": In(1), "fill_row_index": In(g.row_bits),
            "arrived": Out(data.ArrayLayout(PLANES, rows)), "empty": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geometry
        m.submodules.table = table = Memory(shape=g.id_bits, depth=g.table_size, init=[])
        m.submodules.records = records = Memory(shape=self.entry_layout, depth=g.table_size, init=[])
        table_write, record_write = table.write_port(), records.write_port()

        tail = Signal(g.id_bits)                      # id of the oldest entry
        tail_next = Signal(g.id_bits, init=1 % g.table_size)   # ... and of the next two
        tail_after = Signal(g.id_bits, init=2 % g.table_size)
        count = Signal(range(g.slots + 1))            # entries in the ring
        head = Signal(range(g.slots))                 # slot after the newest entry

        def in_use(last):
            return (last - self.served)[:SEQUENCE_BITS] < (self.pushed - self.served)[:SEQUENCE_BITS]

        # Lookup, registered: both candidate keys read the tag table's pointer and the entry it
        # names, this cycle's writes forwarded, each into its own registers; `load`, registered
        # too, picks between them in the next cycle (a multiplexer before the registers would let
        # synthesis fold the two reads into one whose address waits for `load`).
        # Everything the late signals (`allocate`, `update`, `evict`) select between is worked out
        # from registers beforehand — the pointer's place in the ring, whether it names the entry
        # being written, the group compares — so each select is one level before the registers.
        index_bits = min(g.id_bits, self.group_width)
        entry_id = Signal(g.id_bits)                  # this cycle's lookup: the pointer, the entry, a match
        record = Signal(self.entry_layout)
        match = Signal()
        alive = Signal()                              # ... and whether the pointer names an entry in the ring
        written = Signal(self.entry_layout)           # this cycle's record write (below)
        new_id = Signal(g.id_bits)
        candidates = []
        for name, key in (("load", self.load_group), ("hold", self.hold_group)):
            table_read = table.read_port(domain="comb")
            record_read = records.read_port(domain="comb")
            pointer = Signal(g.id_bits, name=f"{name}_pointer")
            m.d.comb += [table_read.addr.eq(key[:index_bits]), pointer.eq(table_read.data), record_read.addr.eq(pointer)]
            same_index, at_new, at_entry = (Signal(name=f"{name}_{what}") for what in ("same_index", "at_new", "at_entry"))
            place = Signal(g.id_bits, name=f"{name}_place")          # the pointer's place from the oldest entry
            m.d.comb += [same_index.eq(key[:index_bits] == self.group[:index_bits]),
                         at_new.eq(pointer == new_id), at_entry.eq(pointer == entry_id),
                         place.eq(pointer - tail)]
            allocated_here = Signal(name=f"{name}_allocated_here")   # this cycle's allocation takes the key's index
            rewritten = Signal(name=f"{name}_rewritten")            # ... or rewrites the entry the pointer names
            m.d.comb += [allocated_here.eq(self.allocate & same_index),
                         rewritten.eq((self.allocate & at_new) | (self.update & at_entry))]
            forwarded = allocated_here | rewritten
            looked_up = Signal(self.entry_layout, name=f"{name}_record")
            m.d.comb += looked_up.eq(Mux(forwarded, written, record_read.data))
            # The record written this cycle holds `group` when allocated, else the hit entry's group.
            written_match = Mux(self.allocate, self.group == key, record.group == key)
            read_match = record_read.data.group == key
            # In the ring after this cycle: the oldest may leave (`evict`), a new entry may join.
            in_ring = (((place < count) & ~(self.evict & (place == 0))) | (self.allocate & (place == count)))
            registered = (Signal(g.id_bits, name=f"{name}_id"), Signal(self.entry_layout, name=f"{name}_entry"),
                          Signal(name=f"{name}_match"), Signal(name=f"{name}_alive"),
                          Signal(self.group_width, name=f"{name}_group"))
            m.d.sync += [registered[0].eq(Mux(allocated_here, new_id, pointer)), registered[1].eq(looked_up),
                         registered[2].eq(Mux(forwarded, written_match, read_match)),
                         registered[3].eq(allocated_here | in_ring), registered[4].eq(key)]
            candidates.append(registered)
        loaded = Signal()
        m.d.sync += loaded.eq(self.load)
        for picked, (from_load, from_hold) in zip((entry_id, record, match, alive, self.group), zip(*candidates)):
            m.d.comb += picked.eq(Mux(loaded, from_load, from_hold))
        m.d.comb += [self.entry.eq(record),
                     self.hit.eq(alive & match),
                     self.entry_busy.eq(in_use(record.last)),
                     self.empty.eq(count == 0)]

        # Placement: the first multiple of the size at or after the head, before the oldest entry.
        # The free slots before the oldest entry (`room`) and before the second oldest
        # (`room_evicting`) are registered: each cycle works them out for every outcome of its
        # decision (allocate an entry of each size or not, evict or not) and the decision picks.
        # So the command's size (known late, after the lookup) only selects among the four sizes'
        # fit flags, each a compare of a register with a function of the head's low bits.
        # The oldest three entries' base slots (and the oldest's `last`) come from registers: each
        # cycle the records at the tail and the three after it are read, this cycle's write
        # forwarded, each into its own register, and the registered `evict` picks (the ring has
        # moved on by then).
        front = []
        for name, address in (("at_tail", tail), ("after_tail", tail_next), ("two_after_tail", tail_after),
                              ("three_after_tail", tail_after + 1)):
            port = records.read_port(domain="comb")
            base_reg, last_reg = Signal(g.id_bits, name=f"{name}_base"), Signal(SEQUENCE_BITS, name=f"{name}_last")
            rewritten = record_write.en & (record_write.addr == address)
            source = Signal(self.entry_layout, name=f"{name}_record")
            m.d.comb += [port.addr.eq(address), source.eq(Mux(rewritten, written, port.data))]
            m.d.sync += [base_reg.eq(Cat(source.col, source.row)), last_reg.eq(source.last)]
            front.append((base_reg, last_reg))
        evicted = Signal()
        m.d.sync += evicted.eq(self.evict)
        oldest_base = Signal(g.id_bits)
        second_base, third_base = Signal(g.id_bits), Signal(g.id_bits)
        m.d.comb += [oldest_base.eq(Mux(evicted, front[1][0], front[0][0])),
                     second_base.eq(Mux(evicted, front[2][0], front[1][0])),
                     third_base.eq(Mux(evicted, front[3][0], front[2][0]))]

        def room_before(entry_base, start):
            """Free slots from ``start`` to an entry's base slot (0 when ``start`` has reached it):
            ``(entry_base - start) mod slots``, a plain subtraction when ``slots`` is a power of two."""
            if g.slots & (g.slots - 1) == 0:
                return (entry_base - start)[:g.id_bits]
            return Mux(entry_base >= start, entry_base - start, entry_base + g.slots - start)

        room, room_evicting = Signal(range(g.slots + 1)), Signal(range(g.slots + 1))
        # ... and, registered beside them: whether each is 16 or more (every entry fits), the
        # ring holds none or one entry, and each size's need at the head.
        room_large, room_evicting_large = Signal(), Signal()
        no_entry, one_entry = Signal(init=1), Signal()
        base, end = Signal(range(g.slots)), Signal(range(g.slots))

        def need_at(start, z):
            """Slots an entry of 2**z slots takes at ``start``: alignment padding + the entry
            (a function of the low z bits alone)."""
            return ((-start) & ((1 << z) - 1)) + (1 << z)

        # Where an entry of each size would go at the head (its base and end slot), registered:
        # worked out from the next cycle's head (the new entry's end when this cycle allocates).
        def placed_at(start, z):
            aligned = (start + (1 << z) - 1) & ~((1 << z) - 1)
            return (Mux(aligned >= g.slots, 0, aligned),
                    Mux(aligned + (1 << z) >= g.slots, aligned + (1 << z) - g.slots, aligned + (1 << z)))

        ends = []
        for z in range(4):
            base_z = Signal(range(g.slots), name=f"base_{z}")                      # the head starts at 0
            end_z = Signal(range(g.slots), name=f"end_{z}", init=(1 << z) % g.slots)
            next_base, next_end = placed_at(end, z)
            with m.If(self.allocate):
                m.d.sync += [base_z.eq(next_base), end_z.eq(next_end)]
            ends.append(end_z)
            with m.If(self.size == z):
                m.d.comb += [base.eq(base_z), end.eq(end_z)]
        for z in range(4):
            need = Signal(4, name=f"need_{z}", init=need_at(0, z))    # at the head, registered
            m.d.sync += need.eq(need_at(Mux(self.allocate, end, head), z))
            fits_z, fits_evicting_z = Signal(name=f"fits_{z}"), Signal(name=f"fits_evicting_{z}")
            m.d.comb += [fits_z.eq(no_entry | room_large | (room[:4] >= need)),
                         fits_evicting_z.eq(one_entry | room_evicting_large | (room_evicting[:4] >= need)),
                         self.fits_by_size[z].eq(fits_z), self.fits_evicting_by_size[z].eq(fits_evicting_z)]
            with m.If(self.size == z):
                m.d.comb += [self.fits.eq(fits_z), self.fits_evicting.eq(fits_evicting_z)]
        # Next cycle's rooms. The oldest entry then is this cycle's second when it evicts, else
        # this cycle's oldest — or the new entry when it is the only one; likewise the second
        # oldest. The head moves to the new entry's end when it allocates.
        def next_room(name, kept_base, evicting_base, only_new):
            """Next cycle's free slots before an entry: ``kept_base`` when this cycle does not
            evict, ``evicting_base`` when it does, or the new entry itself when ``only_new``
            (then every slot but the entry's is free)."""
            rooms = {}
            for label, entry_base in (("kept", kept_base), ("evicting", evicting_base)):
                at_head = Signal(range(g.slots + 1), name=f"{name}_{label}_head")
                at_end = [Signal(range(g.slots + 1), name=f"{name}_{label}_end_{z}") for z in range(4)]
                m.d.comb += [at_head.eq(room_before(entry_base, head)),
                             *(at_end[z].eq(room_before(entry_base, ends[z])) for z in range(4))]
                rooms[label] = (at_head, at_end)
            after_allocate = Signal(range(g.slots + 1), name=f"{name}_after_allocate")
            with m.Switch(self.size):
                for z in range(4):
                    with m.Case(z):
                        m.d.comb += after_allocate.eq(Mux(only_new, g.slots - (1 << z),
                                                          Mux(self.evict, rooms["evicting"][1][z], rooms["kept"][1][z])))
            return Mux(self.allocate, after_allocate, Mux(self.evict, rooms["evicting"][0], rooms["kept"][0]))

        # `count - evict` entries stay: none (the new entry is the oldest) or one (it is the second).
        stays_none = Mux(self.evict, count == 1, count == 0)
        stays_one = Mux(self.evict, count == 2, count == 1)
        next_rooms = (Signal(range(g.slots + 1), name="room_next"), Signal(range(g.slots + 1), name="room_evicting_next"))
        m.d.comb += [next_rooms[0].eq(next_room("room", oldest_base, second_base, stays_none)),
                     next_rooms[1].eq(next_room("room_evicting", second_base, third_base, stays_one))]
        m.d.sync += [room.eq(next_rooms[0]), room_evicting.eq(next_rooms[1]),
                     room_large.eq(next_rooms[0] >= 16), room_evicting_large.eq(next_rooms[1] >= 16),
                     no_entry.eq(Mux(self.allocate, 0, stays_none)),
                     one_entry.eq(Mux(self.allocate, stays_none, stays_one))]
        m.d.comb += [self.new_row.eq(base >> 3), self.new_col.eq(base[:3]),
                     # Both candidates compared before the registered `evict` picks (not the pick first).
                     self.can_evict.eq((count != 0) & ~Mux(evicted, in_use(front[1][1]), in_use(front[0][1])))]

        # Ring updates.
        m.d.comb += new_id.eq(tail + count)
        with m.If(self.evict):
            m.d.sync += [tail.eq(tail_next), tail_next.eq(tail_after), tail_after.eq(tail_after + 1)]
        with m.If(self.allocate):
            m.d.sync += head.eq(end)
        m.d.sync += count.eq(count + self.allocate - self.evict)
        with m.If(self.allocate):
            m.d.comb += [written.group.eq(self.group), written.row.eq(self.new_row), written.col.eq(self.new_col),
                         written.size.eq(self.size), written.cap.eq(self.w_cap)]
        with m.Else():
            m.d.comb += written.eq(record)
        m.d.comb += [written.fetched.eq(self.w_fetched), written.last.eq(self.w_last),
                     record_write.addr.eq(Mux(self.allocate, new_id, entry_id)),
                     record_write.data.eq(written),
                     record_write.en.eq(self.allocate | self.update),
                     table_write.addr.eq(self.group[:index_bits]), table_write.data.eq(new_id),
                     table_write.en.eq(self.allocate)]

        # Arrived bits: set by the response writer and the flush merge, cleared on allocation.
        arrive_row, arrive_memory = self.arrive_slot[3:], self.arrive_slot[:3]
        for row in range(g.rows):
            for col in range(PLANES):
                bit = self.arrived[row][col]
                cleared = Signal(name=f"clear_{row}_{col}")
                with m.Switch(self.size):
                    for z in range(4):
                        with m.Case(z):
                            m.d.comb += cleared.eq(self.allocate & (self.new_row == row)
                                                   & ((self.new_col >> z) == (col >> z)))
                with m.If((self.arrive & (arrive_row == row) & (arrive_memory == col))
                          | (self.fill_row & (self.fill_row_index == row))):
                    m.d.sync += bit.eq(1)
                with m.Elif(cleared):
                    m.d.sync += bit.eq(0)
        return m
