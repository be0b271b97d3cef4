"""hdl.block_ram.BlockRam: two cycles from address to data; the ECP5 form uses DP16KD output registers."""

import pytest
from amaranth.back import rtlil
from amaranth.sim import Simulator

from hdl.block_ram import BlockRam


def test_inferred_reads_two_cycles_after_the_address_and_sees_a_write_one_cycle_later():
    dut = BlockRam(20, 32)
    seen = []

    async def bench(ctx):
        for addr in range(32):                                    # fill: word = addr * 977
            ctx.set(dut.w_addr, addr)
            ctx.set(dut.w_data, addr * 977 % (1 << 20))
            ctx.set(dut.w_en, 1)
            await ctx.tick()
        ctx.set(dut.w_en, 0)
        for addr in (5, 17, 31, 0):                               # a read every cycle, pipelined
            ctx.set(dut.r_addr, addr)
            await ctx.tick()
            seen.append(ctx.get(dut.r_data))
        await ctx.tick()
        seen.append(ctx.get(dut.r_data))
        # A write and a read of the same word in one cycle read the old word; a cycle later, the new one.
        ctx.set(dut.r_addr, 9)
        ctx.set(dut.w_addr, 9)
        ctx.set(dut.w_data, 12345)
        ctx.set(dut.w_en, 1)
        await ctx.tick()
        ctx.set(dut.w_en, 0)
        await ctx.tick()
        seen.append(ctx.get(dut.r_data))
        await ctx.tick()
        seen.append(ctx.get(dut.r_data))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    # After the first read's tick r_data still holds the word of the cycle before (nothing read yet).
    assert seen[1:5] == [5 * 977, 17 * 977, 31 * 977, 0]
    assert seen[5:] == [9 * 977, 12345]


def test_ecp5_form_is_dp16kd_blocks_with_their_output_registers():
    """128 bits x 512 words: four DP16KD in 512 x 36 mode, both output registers enabled."""
    text = rtlil.convert(BlockRam(128, 512, "ecp5"), name="top")
    assert text.count("cell \\DP16KD") == 4
    assert text.count('parameter \\REGMODE_B "OUTREG"') == 4
    assert text.count('parameter \\REGMODE_A "OUTREG"') == 4
    assert text.count("parameter \\DATA_WIDTH_B 36") == 4
    assert "DP16KD" not in rtlil.convert(BlockRam(128, 512), name="top")


@pytest.mark.parametrize("kwargs, match", [
    ({"width": 0, "depth": 8}, "width"), ({"width": 8, "depth": True}, "depth"),
    ({"width": 8, "depth": 8, "target": "xilinx"}, "target"), ({"width": 8, "depth": 1024, "target": "ecp5"}, "depth")])
def test_bad_parameters_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BlockRam(**kwargs)
