"""hdl.smartquant.corner_turn.ViewChunkAssembler: every chunk of every view line, against the golden model.

Each chunk's description goes in a cycle before its spans (the assembler decodes it into
registers); the chunk that comes out must equal its slice of ``golden.bitplane.read_view``
with the cap ``used`` (planes ``used .. k-1`` read as the fill), or zeros when ``zero``.
"""

import numpy as np
import pytest

from golden.bitplane import PLANES, read_view
from hdl.smartquant.corner_turn import LANE_WIDTHS, ViewChunkAssembler, chunk_phase, first_span

from .sim_support import simulate


def _spans_of(planes, lane_bits):
    """``spans[plane][span]`` as integers of ``lane_bits`` bits (plane bit j = weight j)."""
    values = [int.from_bytes(planes[0, p].tobytes(), "little") for p in range(PLANES)]
    mask = (1 << lane_bits) - 1
    return [[v >> (lane_bits * s) & mask for s in range(512 // lane_bits)] for v in values]


def _chunk_of(line_bytes, chunk, lane_bits):
    return int.from_bytes(line_bytes.tobytes(), "little") >> (lane_bits * chunk) & ((1 << lane_bits) - 1)


@pytest.mark.parametrize("lane_bits", [pytest.param(w, marks=() if w in (64, 512) else pytest.mark.regress)
                                       for w in LANE_WIDTHS])
def test_every_chunk_of_every_view_and_cap_equals_the_golden_line(lane_bits):
    seed = 100 + lane_bits
    print(f"seed {seed}")
    gen = np.random.default_rng(seed)
    planes = gen.integers(0, 256, (1, PLANES, 64)).astype(np.uint8)
    spans = _spans_of(planes, lane_bits)
    chunks = 512 // lane_bits
    dut = ViewChunkAssembler(lane_bits)
    # Every (k, used, line, chunk), and a poisoned chunk after each line.
    cases = []
    for k in range(1, PLANES + 1):
        for used in range(1, k + 1):
            want = read_view(planes, k, caps=used)
            for line in range(k):
                for chunk in range(chunks):
                    cases.append((k, used, line, chunk, False, _chunk_of(want[line], chunk, lane_bits)))
                cases.append((k, used, line, 0, True, 0))

    def drive_spans(ctx, k, line, chunk):
        first = first_span(k, line, chunk, lane_bits)
        for p in range(PLANES):
            for offset in range(2):
                span = first + offset
                ctx.set(dut.spans[p][offset], spans[p][span] if span < chunks else 0)

    async def bench(ctx):
        previous = None
        for case in cases + [None]:
            if case is not None:                                   # this chunk's description
                k, used, line, chunk, zero, _ = case
                ctx.set(dut.k, k)
                ctx.set(dut.phase, chunk_phase(k, line, chunk, lane_bits))
                ctx.set(dut.used, used)
                ctx.set(dut.zero, zero)
            if previous is not None:                               # the previous chunk's spans
                k, used, line, chunk, zero, want = previous
                drive_spans(ctx, k, line, chunk)
                got = ctx.get(dut.o)
                assert got == want, f"k={k} used={used} line={line} chunk={chunk} zero={zero}: {got:#x} != {want:#x}"
            await ctx.tick()
            previous = case

    simulate(dut, bench)
