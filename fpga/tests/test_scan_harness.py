"""The scan harness drives every input of the wrapped component and observes every output."""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from fpga.scan_harness import ScanHarness, port_bits


class _Probe(wiring.Component):
    """``out`` = a ^ b one cycle later; ``echo`` = Cat(a, b) now."""

    a: In(3)
    b: In(2)
    out: Out(3)
    echo: Out(5)

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.out.eq(self.a ^ self.b)
        m.d.comb += self.echo.eq(self.a | self.b << 3)
        return m


def test_inputs_shift_in_and_outputs_shift_out():
    inner = _Probe()
    dut = ScanHarness(inner)
    read_back = []

    async def bench(ctx):
        for bit in (1, 0, 1, 1, 0):                   # the input chain is Cat(a, b): the first bit in ends in b[1]
            ctx.set(dut.scan_in, bit)
            await ctx.tick()
        assert (ctx.get(inner.a), ctx.get(inner.b)) == (0b110, 0b10)
        ctx.set(dut.scan_in, 0)
        await ctx.tick()                              # out <= 0b110 ^ 0b10; the chain shifts: a = 0b100, b = 0b01
        assert (ctx.get(inner.a), ctx.get(inner.b), ctx.get(inner.out)) == (0b100, 0b01, 0b100)
        ctx.set(dut.capture, 1)
        await ctx.tick()                              # shadow <= Cat(out, echo)
        ctx.set(dut.capture, 0)
        for _ in range(8):
            read_back.append(ctx.get(dut.scan_out))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    echo = 0b100 | 0b01 << 3
    assert sum(bit << i for i, bit in enumerate(read_back)) == 0b100 | echo << 3


def test_harness_cost_counts_port_bits():
    assert port_bits(_Probe()) == (5, 8)
