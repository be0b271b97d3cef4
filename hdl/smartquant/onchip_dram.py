"""On-chip memory standing in for DRAM, so the controller builds for an FPGA."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from .cxl_mem import LINE_BITS
from .dram_port import DramSignature

__all__ = ["OnChipDram"]


class OnChipDram(wiring.Component):
    """``depth`` 64-byte bursts of block RAM behind the controller's DRAM port.

    One request per cycle; a read answers the next cycle (in order, so a read
    after a write to the same burst returns the written data). Addresses at or
    beyond ``depth`` wrap (the controller never issues them). Contents are not
    cleared by reset.

    Parameters
    ----------
    depth : int
        Bursts (a positive integer).
    address_width, id_width : int
        Widths of the controller's DRAM port.

    Members
    -------
    port : In(DramSignature(address_width, id_width))
    """

    def __init__(self, depth: int, address_width: int, id_width: int):
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"depth must be a positive integer, got {depth!r}")
        self.depth = depth
        super().__init__({"port": In(DramSignature(address_width, id_width))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.memory = memory = Memory(shape=LINE_BITS, depth=self.depth, init=[])
        read = memory.read_port()
        write = memory.write_port()
        req, resp = self.port.req, self.port.resp
        m.d.comb += req.ready.eq(~resp.valid | resp.ready)
        accept = Signal()
        m.d.comb += accept.eq(req.valid & req.ready)
        m.d.comb += [write.addr.eq(req.payload.address), write.data.eq(req.payload.data),
                     write.en.eq(accept & req.payload.write),
                     read.addr.eq(req.payload.address), read.en.eq(accept & ~req.payload.write),
                     resp.payload.data.eq(read.data)]
        with m.If(accept):
            m.d.sync += [resp.valid.eq(~req.payload.write), resp.payload.id.eq(req.payload.id)]
        with m.Elif(resp.ready):
            m.d.sync += resp.valid.eq(0)
        return m
