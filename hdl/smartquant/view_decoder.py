"""Host line address -> (view k, group, line), region cap and error cause; two register stages.

Implements :meth:`golden.bitplane.ViewMap.decode` for line addresses: the view is
the address bits above ``log2(stride)``, the index below them; ``group = index // k``
is computed as ``(index * m_k) >> s_k`` with a reciprocal that is exact for every
index (Granlund and Montgomery), ``line = index - group * k``. The constant products are
sums of shifted copies (:func:`hdl.lut_product.times_constant`), no multiplier. The first stage
registers the group and a copy of the region table as it is when the command is taken (the cap
is the one in force at acceptance); the second the line, the cap and the error cause.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.bitplane import GROUP, LINE_BYTES, PLANES

from ..lut_product import times_constant
from .cxl_mem import ADDRESS_BITS, LINE_BITS, TAG_BITS, ReqOpcode, RwDOpcode

__all__ = ["ErrorCause", "HostCommandLayout", "RegionLayout", "DecodedCommandLayout", "ViewDecoder",
           "reciprocal", "view_geometry"]


class ErrorCause(enum.Enum, shape=2):
    """Why a host request is answered without touching the weights."""
    NONE = 0
    RANGE = 1        # read outside every view: poisoned data
    OPCODE = 2       # opcode the device does not serve
    REFUSED = 3      # write outside view 8, outside every view, or with poisoned data


class HostCommandLayout(data.Struct):
    """A Req or RwD message after arbitration (``write`` tells which channel)."""
    write: 1
    opcode: 4
    tag: TAG_BITS
    address: ADDRESS_BITS
    poison: 1
    data: LINE_BITS


class RegionLayout(data.Struct):
    """One region-table entry: groups ``base <= g < limit`` fetch at most ``cap`` planes."""
    base: 32
    limit: 32
    cap: 4


def view_geometry(n_groups: int) -> tuple[int, int]:
    """``(log2 of the view stride in lines, group index width)`` for a region of ``n_groups``."""
    stride_bytes = 1 << (n_groups * GROUP - 1).bit_length()
    return (stride_bytes // LINE_BYTES).bit_length() - 1, max(1, (n_groups - 1).bit_length())


def reciprocal(divisor: int, width: int) -> tuple[int, int]:
    """``(m, s)`` with ``n // divisor == (n * m) >> s`` for every ``0 <= n < 2**width``."""
    ell = (divisor - 1).bit_length()
    return -(-(1 << (width + ell)) // divisor), width + ell


class DecodedCommandLayout(data.StructLayout):
    def __init__(self, group_width: int):
        super().__init__({
            "write": 1, "cause": ErrorCause, "tag": TAG_BITS, "k": 4, "group": group_width, "line": 3,
            "cap": 4, "address": ADDRESS_BITS})


class _DividedLayout(data.StructLayout):
    """The first stage's register: the command (without its data), its group, whether the index lies
    in its view, and the region table as it was when the command was taken (the cap is the one of
    that moment)."""

    def __init__(self, index_width: int, n_regions: int):
        super().__init__({"write": 1, "opcode": 4, "tag": TAG_BITS, "address": ADDRESS_BITS, "poison": 1,
                          "group": index_width, "in_view": 1,
                          "regions": data.ArrayLayout(RegionLayout, n_regions)})


class ViewDecoder(wiring.Component):
    """Decode one host command per cycle (two register stages; ready while the first is free or moves).

    Parameters
    ----------
    n_groups : int
        Weight-region size in groups of 512 weights.
    n_regions : int
        Region-table entries; the first entry containing the group gives the cap, 8 if none.

    Members
    -------
    i : In(stream.Signature(HostCommandLayout))
    o : Out(stream.Signature(DecodedCommandLayout))
        ``cause`` NONE for a served request; ``k``, ``group``, ``line``, ``cap`` are
        meaningful only then. A write's data do not travel here (the controller queues them
        beside the pipeline, from the arbiter).
    regions : In(data.ArrayLayout(RegionLayout, n_regions))
        The committed region table.
    """

    def __init__(self, n_groups: int, n_regions: int):
        self.n_groups, self.n_regions = n_groups, n_regions
        self.index_width, self.group_width = view_geometry(n_groups)
        super().__init__({
            "i": In(stream.Signature(HostCommandLayout)),
            "o": Out(stream.Signature(DecodedCommandLayout(self.group_width))),
            "regions": In(data.ArrayLayout(RegionLayout, n_regions)),
        })

    def elaborate(self, platform):
        m = Module()
        # --- stage 1: the group ----------------------------------------------------------------
        first = Signal(_DividedLayout(self.index_width, self.n_regions), reset_less=True)
        first_valid = Signal()
        first_moves = Signal()                   # the second stage takes the first's command
        arriving = self.i.payload.address[:self.index_width]
        group_in, in_view_in = Signal(self.index_width), Signal()
        with m.Switch(self.i.payload.address[self.index_width:][:3]):
            for d in range(1, PLANES + 1):
                with m.Case(d - 1):
                    mult, shift = reciprocal(d, self.index_width)
                    m.d.comb += [group_in.eq(times_constant(arriving, mult) >> shift),
                                 in_view_in.eq(arriving < self.n_groups * d)]
        m.d.comb += self.i.ready.eq(~first_valid | first_moves)
        with m.If(self.i.ready):
            incoming = self.i.payload
            m.d.sync += [first_valid.eq(self.i.valid), first.write.eq(incoming.write), first.opcode.eq(incoming.opcode),
                         first.tag.eq(incoming.tag), first.address.eq(incoming.address),
                         first.poison.eq(incoming.poison), first.group.eq(group_in),
                         first.in_view.eq(in_view_in), first.regions.eq(self.regions)]

        # --- stage 2: line, cap, cause -----------------------------------------------------------
        cmd, group, in_view = first, first.group, first.in_view
        view = cmd.address[self.index_width:]
        index = cmd.address[:self.index_width]
        view_bits = view[:3]
        k = Signal(4)
        m.d.comb += k.eq(view_bits + 1)
        line = Signal(3)
        with m.Switch(view_bits):
            for d in range(1, PLANES + 1):
                with m.Case(d - 1):
                    m.d.comb += line.eq(index - times_constant(group, d))
        inside = Signal()
        m.d.comb += inside.eq((view < PLANES) & in_view)

        cap = Signal(4, init=PLANES)
        for region in reversed(range(self.n_regions)):          # the lowest matching entry wins
            entry = first.regions[region]
            with m.If((entry.base <= group) & (group < entry.limit)):
                m.d.comb += cap.eq(entry.cap)

        cause = Signal(ErrorCause)
        with m.If(cmd.write):
            with m.If(cmd.opcode != RwDOpcode.MEM_WR):
                m.d.comb += cause.eq(ErrorCause.OPCODE)
            with m.Elif(~inside | (k != PLANES) | cmd.poison):
                m.d.comb += cause.eq(ErrorCause.REFUSED)
        with m.Else():
            with m.If((cmd.opcode != ReqOpcode.MEM_RD) & (cmd.opcode != ReqOpcode.MEM_RD_DATA)):
                m.d.comb += cause.eq(ErrorCause.OPCODE)
            with m.Elif(~inside):
                m.d.comb += cause.eq(ErrorCause.RANGE)

        out = Signal(self.o.payload.shape(), reset_less=True)      # only `valid` needs a reset
        m.d.comb += [self.o.payload.eq(out), first_moves.eq(~self.o.valid | self.o.ready)]
        with m.If(first_moves):
            m.d.sync += self.o.valid.eq(first_valid)
            with m.If(first_valid):
                m.d.sync += [out.write.eq(cmd.write), out.cause.eq(cause), out.tag.eq(cmd.tag),
                             out.k.eq(k), out.group.eq(group), out.line.eq(line), out.cap.eq(cap),
                             out.address.eq(cmd.address)]
        return m
