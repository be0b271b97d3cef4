"""PipelinedMultiplier and pipelined_add in Amaranth's simulator: exact products, one per cycle, stated latency."""

import random

import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from hdl.pipelined_multiplier import PipelinedMultiplier, add_stages, pipelined_add

SEED = random.randrange(1 << 32)


def _stream(dut, a_of, b_of, p_of, pairs, latency):
    """Drive one operand pair per cycle; return what ``p_of`` shows ``latency`` cycles later."""
    got = []

    async def bench(ctx):
        for k in range(len(pairs) + latency):
            if k < len(pairs):
                ctx.set(a_of, pairs[k][0])
                ctx.set(b_of, pairs[k][1])
            await ctx.tick()
            if k + 1 >= latency:
                got.append(ctx.get(p_of))
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return got[:len(pairs)]


def _operands(rng, a_width, b_width, n):
    extremes = [(0, 0), ((1 << a_width) - 1, (1 << b_width) - 1), ((1 << a_width) - 1, 1), (1, (1 << b_width) - 1)]
    return extremes + [(rng.getrandbits(a_width), rng.getrandbits(b_width)) for _ in range(n)]


@pytest.mark.parametrize("a_width, b_width", [(64, 48), (24, 24), (18, 18), (7, 40), (100, 19)])
def test_product_is_exact_every_cycle_after_its_latency(a_width, b_width):
    print(f"SEED={SEED}")
    rng = random.Random(SEED)
    dut = PipelinedMultiplier(a_width, b_width)
    pairs = _operands(rng, a_width, b_width, 200)
    got = _stream(dut, dut.a, dut.b, dut.p, pairs, dut.latency)
    assert got == [a * b for a, b in pairs]


@pytest.mark.parametrize("width", [30, 64, 65, 130])
def test_pipelined_add_is_exact(width):
    print(f"SEED={SEED}")
    rng = random.Random(SEED)
    m = Module()
    a, b = Signal(width), Signal(width)
    total = Signal(width + 1)
    m.d.comb += total.eq(pipelined_add(m, a, b, width, "t"))
    top = (1 << width) - 1
    pairs = [(top, top), (top, 1), (0, 0)] + [(rng.getrandbits(width), rng.getrandbits(width)) for _ in range(100)]
    assert _stream(m, a, b, total, pairs, add_stages(width)) == [x + y for x, y in pairs]


@pytest.mark.parametrize("kwargs, match", [({"a_width": 0, "b_width": 4}, "a_width"),
                                           ({"a_width": 4, "b_width": True}, "b_width"),
                                           ({"a_width": 4, "b_width": 4, "dsp": "xilinx"}, "'xilinx'")])
def test_invalid_parameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PipelinedMultiplier(**kwargs)
