"""FP32Rounder in Amaranth's simulator against golden.fgmp_dot.round_to_fp32, one value per cycle."""

import random

import pytest
from amaranth.sim import Simulator

from golden.fgmp_dot import FP32_QNAN, round_to_fp32
from hdl.fp32_rounding import FP32Rounder

SEED = random.randrange(1 << 32)


def _values(rng, width, n):
    """(magnitude, exp, sign, nan): ties, carries into a new binade, subnormals, overflow, random."""
    out = [(0, 0, 0, 0), (0, -500, 1, 0), (1, -149, 0, 0), (1, -150, 0, 0), (3, -151, 1, 0), (1, -151, 0, 0),
           ((1 << 24) - 1, 104, 0, 0), ((1 << 24) - 1, 105, 0, 0), ((1 << 25) - 1, -24, 0, 0),
           ((1 << 24) + 1, -1, 0, 0), ((1 << 24) + 3, -1, 0, 0), (5, 0, 1, 1), (1, 127, 0, 0), (1, 128, 1, 0),
           ((1 << width) - 1, -1024, 0, 0), ((1 << width) - 1, 1023, 1, 0), ((1 << width) - 1, -width - 126, 0, 0)]
    out = [v for v in out if v[0] < 1 << width]
    for _ in range(n):
        bits = rng.randrange(1, width + 1)
        magnitude = rng.getrandbits(bits)
        if rng.random() < 0.3:                          # a tie or a near-tie below the kept bits
            cut = rng.randrange(1, max(2, bits - 20))
            magnitude = (magnitude >> cut << cut) | (1 << (cut - 1)) | rng.choice([0, 0, 1])
        top = max(magnitude.bit_length() - 1, 0)
        exp = rng.choice([rng.randrange(-1024, 1024), rng.randrange(-160 - top, -120 - top),
                          rng.randrange(-20 - top, 20 - top), rng.randrange(120 - top, 132 - top)])
        out.append((magnitude, exp, rng.getrandbits(1), int(rng.random() < 0.02)))
    return out


def _want(magnitude, exp, sign, nan):
    return FP32_QNAN if nan else round_to_fp32(-magnitude if sign else magnitude, exp)


@pytest.mark.parametrize("width", [112, 48, 24, 9])
def test_rounding_matches_golden_every_cycle(width):
    print(f"SEED={SEED}")
    rng = random.Random(SEED)
    values = _values(rng, width, 1500)
    dut = FP32Rounder(width)
    got = []

    async def bench(ctx):
        for k in range(len(values) + dut.latency):
            valid = k < len(values) and k % 7 != 3              # a gap now and then: valid travels along
            if k < len(values):
                magnitude, exp, sign, nan = values[k]
                ctx.set(dut.i, {"valid": valid, "magnitude": magnitude, "exp": exp, "sign": sign, "nan": nan})
            else:
                ctx.set(dut.i.valid, 0)
            await ctx.tick()
            if k + 1 >= dut.latency and ctx.get(dut.o_valid):
                got.append((k + 1 - dut.latency, ctx.get(dut.o)))
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    sent = [k for k in range(len(values)) if k % 7 != 3]
    assert [k for k, _ in got] == sent
    bad = [(hex(values[k][0]), values[k][1:], hex(bits), hex(_want(*values[k]))) for k, bits in got
           if bits != _want(*values[k])]
    assert not bad, bad[:5]


@pytest.mark.parametrize("width", [0, 513, True])
def test_invalid_width_is_refused(width):
    with pytest.raises(ValueError, match="width"):
        FP32Rounder(width)
