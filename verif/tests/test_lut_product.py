"""hdl.lut_product: products from adders equal the integer products, for every operand pair."""

import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from hdl.lut_product import lut_product, times_constant


def _evaluate(inputs, outputs, cases):
    """Drive ``inputs`` with each case of ``cases`` and read ``outputs`` (pairs of a signal and the
    expression it takes): one tuple per case."""
    m = Module()
    got = []

    async def bench(ctx):
        for case in cases:
            for s, v in zip(inputs, case):
                ctx.set(s, v)
            got.append(tuple(ctx.get(o) for o, _ in outputs))
    m.d.comb += [o.eq(e) for o, e in outputs]
    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    return got


@pytest.mark.parametrize("a_width, b_width", [(5, 5), (4, 6), (1, 3), (7, 2)])
def test_lut_product_is_the_product_of_every_pair(a_width, b_width):
    a, b = Signal(a_width), Signal(b_width)
    out = Signal(a_width + b_width)
    cases = [(x, y) for x in range(1 << a_width) for y in range(1 << b_width)]
    got = _evaluate([a, b], [(out, lut_product(a, b))], cases)
    assert [g[0] for g in got] == [x * y for x, y in cases]


def test_times_constant_is_the_product_for_constants_0_to_21():
    x = Signal(6)
    outs = [(Signal(11, name=f"x{k}"), times_constant(x, k)) for k in range(22)]
    got = _evaluate([x], outs, [(v,) for v in range(64)])
    assert got == [tuple(v * k for k in range(22)) for v in range(64)]


@pytest.mark.parametrize("k", [-1, 2.0, True])
def test_times_constant_refuses_a_constant_that_is_not_a_non_negative_int(k):
    with pytest.raises(ValueError, match="k must be"):
        times_constant(Signal(4), k)
