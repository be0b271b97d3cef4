"""Unit tests of :class:`hdl.smartquant.registers.ControlRegisters`: event counters (Amaranth simulator)."""

from hdl.smartquant.register_map import REGISTERS, field_of
from hdl.smartquant.registers import ControlRegisters

from .sim_support import simulate

CLEAR = 1 << field_of("CONTROL", "CLEAR").lsb


async def read(ctx, dut, name):
    """The register ``name`` over the bus (one cycle of read latency)."""
    ctx.set(dut.bus.addr, REGISTERS[name])
    await ctx.tick()
    await ctx.tick()
    return ctx.get(dut.bus.r_data)


async def settle(ctx, cycles=4):
    for _ in range(cycles):
        await ctx.tick()


def test_counters_add_the_strobes_of_each_cycle_by_view():
    dut = ControlRegisters(n_groups=16, pool_rows=8, n_regions=2)
    seen = {}

    async def bench(ctx):
        for count, view in ((3, 2), (5, 2), (8, 7)):
            ctx.set(dut.dram_read, count)
            ctx.set(dut.read_view, view)
            await ctx.tick()
        ctx.set(dut.dram_read, 0)
        ctx.set(dut.line_served, 1)
        ctx.set(dut.line_view, 4)
        await ctx.tick()
        ctx.set(dut.line_served, 0)
        await settle(ctx)
        for name in ("DRAM_READS_2", "DRAM_READS_7", "DRAM_READS_1", "LINES_SERVED_4", "LINES_SERVED_2"):
            seen[name] = await read(ctx, dut, name)

    simulate(dut, bench)
    assert seen == {"DRAM_READS_2": 8, "DRAM_READS_7": 8, "DRAM_READS_1": 0, "LINES_SERVED_4": 1, "LINES_SERVED_2": 0}


def test_a_clear_drops_its_own_cycles_events_and_counts_the_next():
    dut = ControlRegisters(n_groups=16, pool_rows=8, n_regions=2)
    seen = []

    async def bench(ctx):
        for _ in range(3):                         # counted, then cleared
            ctx.set(dut.host_write, 1)
            await ctx.tick()
        ctx.set(dut.bus.addr, REGISTERS["CONTROL"])
        ctx.set(dut.bus.w_en, 1)
        ctx.set(dut.bus.w_data, CLEAR)             # same cycle as a fourth event: dropped
        await ctx.tick()
        ctx.set(dut.bus.w_en, 0)
        await ctx.tick()                           # the cycle after the clear: counted
        ctx.set(dut.host_write, 0)
        await settle(ctx)
        seen.append(await read(ctx, dut, "HOST_WRITES"))

    simulate(dut, bench)
    assert seen == [1]
