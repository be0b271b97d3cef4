"""hdl.smartquant.plane_store.PlaneStore: spans written per memory, read in pairs, planes chosen by
column, READ_LATENCY cycles after the address."""

import numpy as np
import pytest

from golden.bitplane import PLANES
from hdl.smartquant.plane_store import READ_LATENCY, PlaneStore, plane_sources

from .sim_support import simulate


def test_each_plane_can_start_only_where_an_aligned_entry_puts_it():
    assert [plane_sources(p) for p in range(PLANES)] == [
        list(range(8)), [1, 3, 5, 7], [2, 6], [3, 7], [4], [5], [6], [7]]


@pytest.mark.parametrize("lane_bits", [64, 512])
def test_an_entry_reads_back_its_planes_in_order_at_every_size_and_column(lane_bits):
    rows, spans = 2, 512 // lane_bits
    gen = np.random.default_rng(lane_bits)
    print(f"seed {lane_bits}")
    content = gen.integers(0, 1 << 62, (rows, PLANES, spans)).tolist()     # (row, memory, span)
    dut = PlaneStore(rows, lane_bits)

    async def bench(ctx):
        for row in range(rows):
            for memory in range(PLANES):
                for span in range(spans):
                    ctx.set(dut.w_row, row)
                    ctx.set(dut.w_span, span)
                    ctx.set(dut.w_data[memory], content[row][memory][span])
                    ctx.set(dut.w_en[memory], -1)
                    await ctx.tick()
                    ctx.set(dut.w_en[memory], 0)
        for row in range(rows):
            for size in (1, 2, 4, 8):
                for col in range(0, PLANES, size):
                    for first in range(max(1, spans - 1)):
                        ctx.set(dut.r_row, row)
                        ctx.set(dut.r_col, col)
                        ctx.set(dut.r_first, first)
                        await ctx.tick()
                        ctx.set(dut.r_col, (col + 1) % PLANES)       # a later address does not disturb it
                        ctx.set(dut.r_first, 0)
                        await ctx.tick().repeat(READ_LATENCY - 1)
                        for plane in range(size):
                            for offset in range(min(2, spans)):
                                assert ctx.get(dut.r_spans[plane][offset]) == \
                                    content[row][col + plane][first + offset], (row, size, col, plane)

    simulate(dut, bench)


def test_a_write_enables_only_its_64_bit_pieces():
    dut = PlaneStore(1, 128)

    async def bench(ctx):
        ctx.set(dut.w_data[3], (1 << 128) - 1)
        ctx.set(dut.w_en[3], 0b10)
        await ctx.tick()
        ctx.set(dut.w_en[3], 0)
        ctx.set(dut.r_col, 0)
        await ctx.tick().repeat(READ_LATENCY)
        assert ctx.get(dut.r_spans[3][0]) == ((1 << 64) - 1) << 64

    simulate(dut, bench)
