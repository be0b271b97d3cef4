"""A scan-chain harness that puts any component on five pins, for place and route with real I/O.

Why not out of context: nextpnr-ecp5's ``--out-of-context`` mode also disables global
clock promotion (its ``--help`` says so), so the clock of a design is routed through the
general fabric; at ~11,000 flip-flops that alone congests the router past any useful time
limit (``docs/measurements.md``). With this harness the design is placed as a normal top: the
clock enters a pin and nextpnr puts it on the global network, as a real system would.

Structure: every input port bit of ``inner`` is a stage of one shift register fed from the
``scan_in`` pin; every output port bit is captured into a second register (``capture``
high) that otherwise shifts out on ``scan_out``. Both are reset-less. So every path of
``inner`` starts and ends at a flip-flop, no input is constant and every output is
observable: synthesis can optimize nothing away. The harness costs one flip-flop per port
bit on each side (like registering the ports) and one LUT per output bit (the capture
multiplexer). It is for synthesis measurements only; it does not preserve the protocol.
"""

from amaranth.hdl import Cat, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import Flow, In, Out

__all__ = ["ScanHarness", "port_bits"]


class ScanHarness(wiring.Component):
    """``inner`` behind a scan-in shift register and a capture/scan-out register.

    Parameters
    ----------
    inner : wiring.Component
        The component under measurement; its ports are driven and observed only here.

    Members
    -------
    scan_in : In(1)
        Shifted into the input register every cycle.
    capture : In(1)
        High: the output register loads every output of ``inner``; low: it shifts right.
    scan_out : Out(1)
        Bit 0 of the output register.
    """

    scan_in: In(1)
    capture: In(1)
    scan_out: Out(1)

    def __init__(self, inner: wiring.Component):
        self._inner = inner
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self._inner
        inputs, outputs = [], []
        for path, member, port in inner.signature.flatten(inner):
            (inputs if member.flow == Flow.In else outputs).append(port)
        if inputs:
            chain = Signal(sum(len(Value.cast(p)) for p in inputs), reset_less=True)
            m.d.sync += chain.eq(Cat(self.scan_in, chain[:-1]) if len(chain) > 1 else self.scan_in)
            m.d.comb += Cat(*(Value.cast(p) for p in inputs)).eq(chain)
        if outputs:
            observed = Cat(*(Value.cast(p) for p in outputs))
            shadow = Signal(len(observed), reset_less=True)
            with m.If(self.capture):
                m.d.sync += shadow.eq(observed)
            with m.Else():
                m.d.sync += shadow.eq(shadow >> 1)
            m.d.comb += self.scan_out.eq(shadow[0])
        return m


def port_bits(component: wiring.Component) -> tuple[int, int]:
    """Input and output port bits of ``component``.

    :class:`ScanHarness` around it adds ``inputs + outputs`` flip-flops and at most ``outputs``
    LUTs (the capture multiplexer), which the flow reports beside the figures that include them.
    """
    widths = {Flow.In: 0, Flow.Out: 0}
    for path, member, port in component.signature.flatten(component):
        widths[member.flow] += len(Value.cast(port))
    return widths[Flow.In], widths[Flow.Out]
