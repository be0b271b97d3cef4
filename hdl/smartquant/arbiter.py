"""Host arbiter: the two CXL.mem request channels into one command stream.

Req (reads) and RwD (writes) are taken one per cycle, alternating when both wait (round
robin, so neither starves); ``write`` in the command tells which channel it came from.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .cxl_mem import ReqLayout, RwDLayout
from .view_decoder import HostCommandLayout

__all__ = ["HostArbiter"]


class HostArbiter(wiring.Component):
    """Members
    -------
    req : In(stream.Signature(ReqLayout)), rwd : In(stream.Signature(RwDLayout))
    o : Out(stream.Signature(HostCommandLayout))
    """

    req: In(stream.Signature(ReqLayout))
    rwd: In(stream.Signature(RwDLayout))
    o: Out(stream.Signature(HostCommandLayout))

    def elaborate(self, platform):
        m = Module()
        req, rwd, out = self.req, self.rwd, self.o.payload
        prefer_write = Signal()
        take_write = Signal()
        # An offer not taken stays the same offer (the stream rule): the choice is kept while `o`
        # waits, even when the other input becomes valid meanwhile, as long as the chosen input is
        # still offered (it is, by the same rule, except across a reset).
        waiting, kept_write = Signal(), Signal()
        m.d.sync += [waiting.eq(self.o.valid & ~self.o.ready), kept_write.eq(take_write)]
        keep = waiting & Mux(kept_write, rwd.valid, req.valid)
        m.d.comb += take_write.eq(Mux(keep, kept_write, rwd.valid & (prefer_write | ~req.valid)))
        with m.If(take_write):
            m.d.comb += [out.write.eq(1), out.opcode.eq(rwd.payload.opcode), out.tag.eq(rwd.payload.tag),
                         out.address.eq(rwd.payload.address), out.poison.eq(rwd.payload.poison),
                         out.data.eq(rwd.payload.data)]
        with m.Else():
            m.d.comb += [out.opcode.eq(req.payload.opcode), out.tag.eq(req.payload.tag),
                         out.address.eq(req.payload.address)]
        m.d.comb += [self.o.valid.eq(req.valid | rwd.valid),
                     rwd.ready.eq(self.o.ready & take_write),
                     req.ready.eq(self.o.ready & ~take_write)]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += prefer_write.eq(~take_write)
        return m
