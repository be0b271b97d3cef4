"""hdl.smartquant.write_combiner.WriteCombiner: lines stored as plane pieces, merged a span at a time."""

import numpy as np
import pytest

from golden.bitplane import PLANES, to_planes
from hdl.smartquant.write_combiner import WriteCombiner

from .sim_support import simulate


@pytest.mark.parametrize("lane_bits", [64, 256])
def test_the_merge_reads_back_the_planes_of_the_lines_written(lane_bits):
    gen = np.random.default_rng(lane_bits)
    print(f"seed {lane_bits}")
    q = gen.integers(-127, 128, 512).astype(np.int8)
    planes = to_planes(q)[0]                                       # (8, 64) bytes
    lines = q.view(np.uint8).reshape(PLANES, 64)
    written = (0, 3, 5)
    dut, spans = WriteCombiner(group_width=4, lane_bits=lane_bits), 512 // lane_bits

    async def bench(ctx):
        for n, line in enumerate(written):
            ctx.set(dut.write, 1)
            ctx.set(dut.line, line)
            ctx.set(dut.data, int.from_bytes(lines[line].tobytes(), "little"))
            ctx.set(dut.w_group, 7)
            ctx.set(dut.w_cap, 3 + n)                              # only the first write's cap is kept
            await ctx.tick()
        ctx.set(dut.write, 0)
        assert (ctx.get(dut.mask), ctx.get(dut.group), ctx.get(dut.cap)) == (0b101001, 7, 3)
        words = lane_bits // 64
        for span in range(spans):
            ctx.set(dut.merge_span, span)
            enables = ctx.get(dut.merge_en)
            for w in range(words):
                line = span * words + w
                assert (enables >> w & 1) == (line in written)
                if line not in written:
                    continue
                for p in range(PLANES):
                    piece = ctx.get(dut.merge_data[p]) >> (64 * w) & ((1 << 64) - 1)
                    assert piece == int.from_bytes(planes[p, 8 * line:8 * line + 8].tobytes(), "little"), (p, line)
        ctx.set(dut.clear, 1)
        await ctx.tick()
        assert ctx.get(dut.mask) == 0

    simulate(dut, bench)
