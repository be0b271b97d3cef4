"""A wide unsigned multiplier for high clocks: 18 x 18 pieces, registered everywhere.

An ``a_width`` x ``b_width`` product is split into 18-bit chunks; each chunk
product is a registered 18 x 18 multiplier (a DSP block with its input and
output registers); the chunk products are summed along their diagonals, the
diagonals are laid side by side in three non-overlapping rows, and the rows are
added by adders of at most :data:`SEGMENT` bits per cycle (a wider sum passes its
carry to the next stage). No path holds more than one adder or one multiplier.

Why instantiate the DSP: Yosys maps ``*`` onto ECP5's MULT18X18D without its
internal registers, and nextpnr then times the block as combinational
(register -> DSP -> register measured 147 MHz, ``docs/measurements.md``). With
``dsp="ecp5"`` each chunk product is a MULT18X18D whose input and output
registers are enabled, which nextpnr times as clock-to-out. ``dsp="inferred"``
(the default, what the simulators run) describes the same two registers around
a ``*``; both have the same cycle behaviour.
"""

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .pipeline import delay

__all__ = ["DSP_TARGETS", "CHUNK", "SEGMENT", "PipelinedMultiplier", "multiplier_latency", "pipelined_add",
           "add_stages"]

DSP_TARGETS = ("inferred", "ecp5")
CHUNK = 18
"""Operand chunk width: one MULT18X18D in unsigned mode."""
SEGMENT = 64
"""Widest adder in one cycle (a registered 64-bit add routes at 213 MHz on the ECP5-85F)."""


def add_stages(width: int) -> int:
    """Cycles :func:`pipelined_add` takes for a ``width``-bit sum."""
    return -(-width // SEGMENT)


def pipelined_add(m: Module, a, b, width: int, name: str):
    """Registered ``a + b`` (unsigned, ``width`` bits each, ``width + 1`` out) after :func:`add_stages` cycles.

    Stage ``k`` adds bits ``[k * SEGMENT, (k + 1) * SEGMENT)`` of the operands
    (delayed ``k`` cycles) and the carry out of stage ``k - 1``; the low
    segments wait for the high ones, so every bit of the sum appears together.
    """
    n = add_stages(width)
    a, b = Cat(a, Const(0, width))[:width], Cat(b, Const(0, width))[:width]
    pieces, carry = [], Const(0, 1)
    for k in range(n):
        lo, hi = k * SEGMENT, min((k + 1) * SEGMENT, width)
        seg = Signal(hi - lo + 1, name=f"{name}_s{k}", reset_less=True)
        m.d.sync += seg.eq(delay(m, a[lo:hi], k, f"{name}_a{k}") + delay(m, b[lo:hi], k, f"{name}_b{k}") + carry)
        carry = seg[-1]
        pieces.append(delay(m, seg[:-1], n - 1 - k, f"{name}_p{k}"))
    return Cat(*pieces, carry)


def _plan(a_width: int, b_width: int):
    """Chunks of each operand, levels of the diagonal sums, cycles of each row addition."""
    na, nb = -(-a_width // CHUNK), -(-b_width // CHUNK)
    terms = max(min(d + 1, na, nb, na + nb - 1 - d) for d in range(na + nb - 1))
    rows = min(3, na + nb - 1)
    return na, nb, (terms - 1).bit_length(), [add_stages(a_width + b_width)] * (rows - 1)


def multiplier_latency(a_width: int, b_width: int) -> int:
    """:attr:`PipelinedMultiplier.latency` of an ``a_width`` x ``b_width`` multiplier."""
    _, _, diag_levels, row_adds = _plan(a_width, b_width)
    return 2 + diag_levels + sum(row_adds)


class PipelinedMultiplier(wiring.Component):
    """Unsigned ``p = a * b``, one product per cycle, :attr:`latency` cycles after ``a`` and ``b``.

    Parameters
    ----------
    a_width, b_width : int
        Operand widths in bits (each at least 1).
    dsp : {"inferred", "ecp5"}
        How a chunk product is built: a registered ``*`` for any tool, or an
        ECP5 MULT18X18D instance with its input and output registers.

    Members
    -------
    a : In(unsigned(a_width))
    b : In(unsigned(b_width))
    p : Out(unsigned(a_width + b_width))
        The product of the ``a`` and ``b`` presented :attr:`latency` cycles earlier.

    Attributes
    ----------
    latency : int
        Cycles from operands to product: 2 (the chunk multipliers' registers), one
        per level of the diagonal sums, and the row additions.

    Raises
    ------
    ValueError
        A width below 1, or an unknown ``dsp``.
    """

    def __init__(self, a_width: int, b_width: int, dsp: str = "inferred"):
        for name, width in (("a_width", a_width), ("b_width", b_width)):
            if isinstance(width, bool) or not isinstance(width, int) or width < 1:
                raise ValueError(f"{name} must be a positive integer, got {width!r}")
        if dsp not in DSP_TARGETS:
            raise ValueError(f"dsp must be one of {DSP_TARGETS}, got {dsp!r}")
        self.a_width, self.b_width, self.dsp = a_width, b_width, dsp
        self._na, self._nb, self._diag_levels, self._row_adds = _plan(a_width, b_width)
        self.latency = multiplier_latency(a_width, b_width)
        super().__init__({"a": In(a_width), "b": In(b_width), "p": Out(a_width + b_width)})

    def _chunk_product(self, m: Module, a, b, name: str) -> Signal:
        """A registered 18 x 18 unsigned product: inputs registered, output registered (2 cycles)."""
        p = Signal(2 * CHUNK, name=f"{name}_p")
        a, b = Cat(a, Const(0, CHUNK))[:CHUNK], Cat(b, Const(0, CHUNK))[:CHUNK]
        if self.dsp == "inferred":
            ar = Signal(CHUNK, name=f"{name}_a", reset_less=True)
            br = Signal(CHUNK, name=f"{name}_b", reset_less=True)
            pr = Signal(2 * CHUNK, name=f"{name}_pr", reset_less=True)
            m.d.sync += [ar.eq(a), br.eq(b), pr.eq(ar * br)]
            m.d.comb += p.eq(pr)
            return p
        ports = {f"i_A{k}": a[k] for k in range(CHUNK)}
        ports.update({f"i_B{k}": b[k] for k in range(CHUNK)})
        ports.update({f"i_C{k}": Const(0, 1) for k in range(CHUNK)})
        ports.update({f"o_P{k}": p[k] for k in range(2 * CHUNK)})
        for k in range(4):
            ports.update({f"i_CLK{k}": ClockSignal() if k == 0 else Const(0, 1),
                          f"i_CE{k}": Const(1 if k == 0 else 0, 1), f"i_RST{k}": Const(0, 1)})
        m.submodules[name] = Instance(
            "MULT18X18D",
            p_REG_INPUTA_CLK="CLK0", p_REG_INPUTB_CLK="CLK0", p_REG_OUTPUT_CLK="CLK0",
            p_REG_INPUTA_CE="CE0", p_REG_INPUTB_CE="CE0", p_REG_OUTPUT_CE="CE0",
            p_REG_INPUTA_RST="RST0", p_REG_INPUTB_RST="RST0", p_REG_OUTPUT_RST="RST0",
            p_REG_PIPELINE_CLK="NONE", p_REG_INPUTC_CLK="NONE", p_GSR="DISABLED", p_RESETMODE="SYNC",
            i_SIGNEDA=Const(0, 1), i_SIGNEDB=Const(0, 1), i_SOURCEA=Const(0, 1), i_SOURCEB=Const(0, 1),
            **ports)
        return p

    def elaborate(self, platform):
        m = Module()
        a_chunks = [self.a[k * CHUNK:(k + 1) * CHUNK] for k in range(self._na)]
        b_chunks = [self.b[k * CHUNK:(k + 1) * CHUNK] for k in range(self._nb)]
        diagonals = [[] for _ in range(self._na + self._nb - 1)]
        for i, ai in enumerate(a_chunks):
            for j, bj in enumerate(b_chunks):
                diagonals[i + j].append(self._chunk_product(m, ai, bj, f"pp{i}_{j}"))
        # Each diagonal's chunk products summed by a tree, one level per cycle (<= 38 bits).
        sums = []
        for d, terms in enumerate(diagonals):
            for level in range(self._diag_levels):
                nxt = []
                for k in range(0, len(terms), 2):
                    s = Signal(len(terms[k]) + 1, name=f"diag{d}_l{level}_{k // 2}", reset_less=True)
                    m.d.sync += s.eq(terms[k] + terms[k + 1] if k + 1 < len(terms) else terms[k])
                    nxt.append(s)
                terms = nxt
            sums.append(terms[0])
        # Diagonal d sits at bit 18 d and is under 54 bits wide, so diagonals d, d + 3, d + 6 ...
        # do not overlap: three rows of concatenations, then two additions.
        width = self.a_width + self.b_width
        rows = []
        for g in range(min(3, len(sums))):
            parts, position = [], 0
            for d in range(g, len(sums), 3):
                parts += [Const(0, d * CHUNK - position), sums[d]]
                position = d * CHUNK + len(sums[d])
            rows.append(Cat(*parts, Const(0, max(width - position, 0)))[:width])
        total = rows[0]
        for k, row in enumerate(rows[1:]):
            waited = delay(m, row, sum(self._row_adds[:k]), f"row{k + 1}_wait")
            total = pipelined_add(m, total, waited, width, f"rowsum{k}")[:width]
        m.d.comb += self.p.eq(total)
        return m
