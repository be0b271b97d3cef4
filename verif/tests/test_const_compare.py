"""hdl.const_compare.below: x < c for every value of small signed and unsigned widths."""

import pytest
from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.sim import Simulator

from hdl.const_compare import below


@pytest.mark.parametrize("shape", [unsigned(5), signed(6), unsigned(9), signed(12)])
def test_below_is_less_than_across_the_range(shape):
    m = Module()
    x = Signal(shape)
    constants = [-5000, -2048, -150, -1, 0, 1, 7, 16, 23, 255, 300, 2047, 5000]
    outs = [Signal(name=f"lt{i}") for i in range(len(constants))]
    m.d.comb += [o.eq(below(x, c)) for o, c in zip(outs, constants)]
    lo, hi = (-(1 << (len(x) - 1)), 1 << (len(x) - 1)) if shape.signed else (0, 1 << len(x))
    step = max(1, (hi - lo) // 600)
    bad = []

    async def bench(ctx):
        for v in list(range(lo, hi, step)) + [hi - 1]:
            ctx.set(x, v)
            for o, c in zip(outs, constants):
                if ctx.get(o) != int(v < c):
                    bad.append((v, c))
    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert not bad, bad[:5]
