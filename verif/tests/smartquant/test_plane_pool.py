"""hdl.smartquant.plane_pool.PlanePoolTable against golden.bitplane.PlanePool, in Amaranth's simulator.

Random commands (a group and the planes it needs) drive both: every lookup, placement and
eviction must agree, and the arrival bits of a new entry start clear. The lookup is registered:
a key set in one cycle is answered in the next, with that cycle's own writes forwarded.
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.bitplane import PlanePool, slot_size
from hdl.smartquant.plane_pool import PlanePoolTable

GROUP_WIDTH = 6


def code(planes: int) -> int:
    return slot_size(planes).bit_length() - 1


def golden_fit_flags(pool: PlanePool, planes: int, evicted: int) -> tuple[bool, bool]:
    """The golden pool's ``fits`` / ``fits_evicting`` for a new entry of ``planes``, once its
    ``evicted`` oldest entries are gone: no entry remains, or the free slots from the head to
    the oldest remaining entry's base hold the alignment padding and the entry (as
    ``PlanePool.allocate`` evicts); ``fits_evicting`` is false with no entry left to evict."""
    size = slot_size(planes)
    base = -(-pool.head // size) * size % pool.slots
    need = (base - pool.head) % pool.slots + size

    def fits_before(oldest):
        return oldest >= len(pool.entries) or (pool.entries[oldest].base - pool.head) % pool.slots >= need
    return fits_before(evicted), evicted < len(pool.entries) and fits_before(evicted + 1)


def run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("rows, seed", [(1, 1), (2, 2), (3, 3), (7, 4), (16, 5)])
def test_lookup_placement_and_eviction_follow_the_golden_pool(rows, seed):
    gen = np.random.default_rng(seed)
    print(f"seed {seed}")
    dut, golden = PlanePoolTable(GROUP_WIDTH, rows), PlanePool(rows)
    commands = [(int(gen.integers(0, 1 << GROUP_WIDTH)) if gen.random() < 0.3 else i % (1 << GROUP_WIDTH),
                 int(gen.integers(1, 9))) for i in range(400)]
    checked, evictions = [], [0]

    async def bench(ctx):
        for group, planes in commands:
            ctx.set(dut.hold_group, group)
            await ctx.tick()                                        # looked up
            assert ctx.get(dut.group) == group
            ctx.set(dut.size, code(planes))
            want = golden.find(group)
            assert ctx.get(dut.hit) == (want is not None), (group, planes)
            if want is not None and slot_size(planes) <= want.size:
                assert (ctx.get(dut.entry.row) * 8 + ctx.get(dut.entry.col), ctx.get(dut.entry.cap)) == \
                    (want.base, want.cap)
                continue
            gone = 0                                                # the pool's fit flags at every step
            while True:
                flags = (ctx.get(dut.fits), ctx.get(dut.fits_evicting))
                assert flags == golden_fit_flags(golden, planes, gone), (group, planes, gone)
                if any(flags):                                      # evict until one more will do
                    break
                assert ctx.get(dut.can_evict)                       # no response queued: never in use
                ctx.set(dut.evict, 1)
                await ctx.tick()
                ctx.set(dut.evict, 0)
                evictions[0] += 1
                gone += 1
            entry = golden.allocate(group, planes, planes)          # the cap: anything the test can see
            assert ctx.get(dut.new_row) * 8 + ctx.get(dut.new_col) == entry.base
            evict = 0 if ctx.get(dut.fits) else 1                   # evict and allocate in one cycle
            evictions[0] += evict
            ctx.set(dut.evict, evict)
            ctx.set(dut.allocate, 1)
            ctx.set(dut.w_cap, planes)
            ctx.set(dut.w_fetched, planes)
            await ctx.tick()
            ctx.set(dut.allocate, 0)
            ctx.set(dut.evict, 0)
            assert evictions[0] == golden.evicted
            row = ctx.get(dut.arrived[entry.base // 8])
            assert row >> (entry.base % 8) & ((1 << entry.size) - 1) == 0       # new slots not arrived
            checked.append(group)
        assert ctx.get(dut.empty) == (not golden.entries)

    run(dut, bench)
    assert golden.evicted > 0 and len(checked) > 100


def test_an_entry_read_by_a_queued_response_is_not_evicted():
    dut = PlanePoolTable(GROUP_WIDTH, 1)

    async def bench(ctx):
        ctx.set(dut.hold_group, 5)
        await ctx.tick()
        ctx.set(dut.size, 3)                                         # a whole row
        ctx.set(dut.allocate, 1)
        ctx.set(dut.w_last, 0)                                       # read by response 0
        await ctx.tick()
        ctx.set(dut.allocate, 0)
        ctx.set(dut.pushed, 1)                                       # response 0 queued, none served
        assert ctx.get(dut.hit) and ctx.get(dut.entry_busy)
        assert not ctx.get(dut.fits) and not ctx.get(dut.can_evict)
        ctx.set(dut.served, 1)                                       # answered: free again
        assert not ctx.get(dut.entry_busy) and ctx.get(dut.can_evict) and ctx.get(dut.fits_evicting)
        ctx.set(dut.hold_group, 5 + 8)                               # same tag-table index, other group
        await ctx.tick()
        assert not ctx.get(dut.hit)

    run(dut, bench)


def test_the_registered_lookup_sees_the_allocation_of_its_own_cycle():
    """A key loaded while the entry for it (or for its tag-table index) is being allocated."""
    dut = PlanePoolTable(GROUP_WIDTH, 2)

    async def bench(ctx):
        ctx.set(dut.hold_group, 3)
        await ctx.tick()
        ctx.set(dut.size, 0)
        ctx.set(dut.allocate, 1)                                     # group 3 at slot 0 ...
        ctx.set(dut.w_cap, 5)
        ctx.set(dut.load, 1)
        ctx.set(dut.load_group, 3)                                   # ... while group 3 is looked up again
        await ctx.tick()
        ctx.set(dut.allocate, 0)
        assert ctx.get(dut.hit) and ctx.get(dut.entry.cap) == 5
        ctx.set(dut.w_fetched, 1)
        ctx.set(dut.w_last, 7)
        ctx.set(dut.update, 1)                                       # an update forwarded likewise
        ctx.set(dut.load_group, 3 + 16)                              # same index: the key of another group
        await ctx.tick()
        ctx.set(dut.update, 0)
        assert not ctx.get(dut.hit)
        ctx.set(dut.load_group, 3)
        await ctx.tick()
        assert ctx.get(dut.hit) and ctx.get(dut.entry.last) == 7 and ctx.get(dut.entry.fetched) == 1

    run(dut, bench)


def test_arrival_bits_are_set_per_slot_and_per_row():
    dut = PlanePoolTable(GROUP_WIDTH, 2)

    async def bench(ctx):
        ctx.set(dut.arrive, 1)
        ctx.set(dut.arrive_slot, 3 | 1 << 3)                         # memory 3 of row 1
        await ctx.tick()
        ctx.set(dut.arrive, 0)
        assert (ctx.get(dut.arrived[0]), ctx.get(dut.arrived[1])) == (0, 0b1000)
        ctx.set(dut.fill_row, 1)
        ctx.set(dut.fill_row_index, 0)
        await ctx.tick()
        ctx.set(dut.fill_row, 0)
        assert (ctx.get(dut.arrived[0]), ctx.get(dut.arrived[1])) == (0xFF, 0b1000)
        ctx.set(dut.size, 1)                                         # two slots at slot 0: clears 0-1
        ctx.set(dut.allocate, 1)
        await ctx.tick()
        ctx.set(dut.allocate, 0)
        assert (ctx.get(dut.arrived[0]), ctx.get(dut.arrived[1])) == (0xFC, 0b1000)

    run(dut, bench)
