"""A wrapper that puts a register on every port of a component, for timing analysis.

Out-of-context place and route only reports a meaningful Fmax when every path
starts and ends at a flip-flop; this wrapper provides that. It adds one cycle
on each side of every port (handshakes included), so it is for synthesis
measurements only, never for simulation of the protocol.
"""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Flow

__all__ = ["Registered"]


class Registered(wiring.Component):
    """``inner`` with every input and output port registered; same signature as ``inner``."""

    def __init__(self, inner: wiring.Component):
        self._inner = inner
        super().__init__(inner.signature)

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self._inner
        for path, member, outer_port in self.signature.flatten(self):
            inner_port = _lookup(inner, path)
            if member.flow == Flow.In:
                m.d.sync += inner_port.eq(outer_port)
            else:
                m.d.sync += outer_port.eq(inner_port)
        return m


def _lookup(obj, path):
    for part in path:
        obj = obj[part] if isinstance(part, int) else getattr(obj, part)
    return obj
