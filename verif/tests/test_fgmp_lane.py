"""FP8ProductLane (the VMAC's lane for E4M3 x E4M3) in Amaranth's simulator: exact products."""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden import formats
from hdl.fgmp_lane import FP8ProductLane

SEED = random.randrange(1 << 32)


def _run(pairs):
    dut = FP8ProductLane()
    got = []

    async def bench(ctx):
        for k in range(len(pairs) + dut.latency):
            if k < len(pairs):
                ctx.set(dut.w, pairs[k][0])
                ctx.set(dut.a, pairs[k][1])
            await ctx.tick()
            if k + 1 >= dut.latency:
                got.append(ctx.get(dut.o))
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return got[:len(pairs)]


def _check(pairs):
    w = formats.decode(np.array([p[0] for p in pairs]), "e4m3")
    a = formats.decode(np.array([p[1] for p in pairs]), "e4m3")
    bad = []
    for (cw, ca), x, y, o in zip(pairs, w, a, _run(pairs)):
        if np.isnan(x) or np.isnan(y):
            ok = o.nan == 1
        else:
            value = (-1) ** o.sign * o.magnitude * 2.0 ** (o.shift - 20)
            ok = o.nan == 0 and value == x * y and o.sign == (cw >> 7) ^ (ca >> 7)
        if not ok:
            bad.append((hex(cw), hex(ca)))
    return bad


def test_products_are_exact_for_specials_subnormals_and_random_codes():
    print(f"SEED={SEED}")
    rng = random.Random(SEED)
    special = [0x00, 0x80, 0x01, 0x81, 0x07, 0x08, 0x7E, 0xFE, 0x7F, 0xFF, 0x38, 0xB8]
    pairs = [(w, a) for w in special for a in special] + [(rng.randrange(256), rng.randrange(256))
                                                            for _ in range(3000)]
    assert _check(pairs) == []


@pytest.mark.regress
def test_products_are_exact_for_every_pair_of_codes():
    assert _check([(w, a) for w in range(256) for a in range(256)]) == []
