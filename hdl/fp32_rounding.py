"""Round ``(-1)**sign * magnitude * 2**exp`` to FP32, nearest-even, as a free-running pipeline.

Numerics: ``round_to_fp32`` of :mod:`golden.fgmp_dot` (``docs/numerics.md``,
section *FGMP dot product*): IEEE subnormals, overflow to ±inf, +0 for a zero
magnitude, the quiet NaN ``0x7FC00000`` when ``nan`` is set.

Stages (one register each, no stall; :attr:`FP32Rounder.latency` = 7):

1. leading one per 16-bit chunk of the magnitude; ``-149 - exp`` and ``exp + 150``;
2. position ``top`` of the leading one (a priority choice among the chunks);
3. ``shift = max(top - 23, -149 - exp)``: where the result's last bit falls;
4. right shift amount (0 .. width + 1), left shift amount (0 .. 23), biased exponent;
5. right shift by a multiple of 16, with the sticky OR of the chunks shifted out;
6. right shift by 0 .. 15 (or the left shift of a short magnitude): kept bits, guard, sticky;
7. round to nearest even, renormalise, pack (zero, subnormal, infinity, NaN).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .bit_search import highest_set_bit

__all__ = ["FP32_QNAN", "rounder_input_layout", "FP32Rounder"]

FP32_QNAN = 0x7FC00000
EXP_BITS = 12                      # signed exponents and shift amounts (|values| < 2**11)
_CHUNK = 16
_KEPT = 26                         # 24 significand bits, the carry of rounding, one spare


def rounder_input_layout(width: int) -> data.StructLayout:
    """What enters :class:`FP32Rounder`: a valid flag and ``magnitude * 2**exp`` with sign and NaN."""
    return data.StructLayout({"valid": 1, "magnitude": unsigned(width), "exp": signed(EXP_BITS),
                              "sign": 1, "nan": 1})


class FP32Rounder(wiring.Component):
    """FP32 bit pattern of ``(-1)**sign * magnitude * 2**exp``, one value per cycle.

    Parameters
    ----------
    width : int
        Magnitude width in bits (1 .. 512).

    Members
    -------
    i : In(rounder_input_layout(width))
        A value each cycle ``i.valid`` is high; ``exp`` in -1024 .. 1023.
    o_valid : Out(1)
    o : Out(unsigned(32))
        The rounded value of the ``i`` presented :attr:`latency` cycles earlier.

    Raises
    ------
    ValueError
        ``width`` outside 1 .. 1000.
    """

    latency = 7

    def __init__(self, width: int):
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 512:
            raise ValueError(f"width must be an integer in 1 .. 512, got {width!r}")
        self.width = width
        super().__init__({"i": In(rounder_input_layout(width)), "o_valid": Out(1), "o": Out(32)})

    def elaborate(self, platform):
        m = Module()
        width = self.width
        chunks = -(-width // _CHUNK)

        def stage(name, shape, value, reset_less=True):
            reg = Signal(shape, name=name, reset_less=reset_less)
            m.d.sync += reg.eq(value)
            return reg

        def carry(prefix, **values):                     # sign, nan, valid and friends, one stage on
            out = {}
            for key, value in values.items():
                out[key] = stage(f"{prefix}_{key}", value.shape(), value, reset_less=key != "valid")
            return out

        # 1: per-chunk leading one; the exponent's two derived bounds.
        mag = self.i.magnitude
        padded = Cat(mag, Const(0, chunks * _CHUNK - width))
        any1, idx1 = [], []
        for c in range(chunks):
            part = padded[c * _CHUNK:(c + 1) * _CHUNK]
            any1.append(stage(f"r1_any{c}", 1, part != 0))
            idx1.append(stage(f"r1_idx{c}", 4, highest_set_bit(m, part, f"r1_top{c}")))
        s1 = carry("r1", valid=self.i.valid, sign=self.i.sign, nan=self.i.nan, magnitude=mag,
                   low_bound=Signal(signed(EXP_BITS)), exp_bias=Signal(signed(EXP_BITS)))
        m.d.sync += [s1["low_bound"].eq(-149 - self.i.exp), s1["exp_bias"].eq(self.i.exp + 150)]

        # 2: position of the leading one (0 when the magnitude is 0).
        top = Const(0, 11)
        for c in range(chunks):                          # the highest chunk with a one wins
            top = Mux(any1[c], Cat(idx1[c], Const(c, 7)), top)
        s2 = carry("r2", **s1)
        top2 = stage("r2_top", signed(EXP_BITS), top)
        zero2 = stage("r2_zero", 1, ~Cat(*any1).any())

        # 3: shift = max(top - 23, -149 - exp): the exponent of the result's last kept bit, less exp.
        s3 = carry("r3", **s2)
        normal = Signal(signed(EXP_BITS))
        m.d.comb += normal.eq(top2 - 23)
        shift3 = stage("r3_shift", signed(EXP_BITS), Mux(normal < s2["low_bound"], s2["low_bound"], normal))
        zero3 = stage("r3_zero", 1, zero2)

        # 4: shift amounts; the biased exponent field of a normal result (last kept bit's exponent + 23 + 127).
        s4 = carry("r4", valid=s3["valid"], sign=s3["sign"], nan=s3["nan"], magnitude=s3["magnitude"])
        right4 = stage("r4_right", range(width + 2),
                       Mux(shift3 > width + 1, width + 1, Mux(shift3 > 0, shift3, 0)))
        left4 = stage("r4_left", range(24), Mux(shift3 < 0, -shift3, 0))
        biased4 = stage("r4_biased", signed(EXP_BITS), shift3 + s3["exp_bias"])
        zero4 = stage("r4_zero", 1, zero3)

        # 5: right shift by 16 * (right // 16); sticky = OR of the whole chunks shifted out.
        wide = Cat(Const(0, 2), s4["magnitude"])            # two bits below the magnitude's LSB
        wide_chunks = -(-(width + 2) // _CHUNK)
        wide = Cat(wide, Const(0, wide_chunks * _CHUNK - (width + 2)))
        coarse = right4 >> 4
        keep5 = 2 * _CHUNK + _KEPT                         # enough for the fine shift and the kept bits
        choices = [Cat(wide[c * _CHUNK:], Const(0, keep5))[:keep5] for c in range(wide_chunks + 1)]
        ors = [wide[c * _CHUNK:(c + 1) * _CHUNK] != 0 for c in range(wide_chunks)]
        shifted5 = Signal(keep5)
        sticky5c = Signal()
        with m.Switch(coarse):
            for c, choice in enumerate(choices):
                with m.Case(c):
                    m.d.comb += [shifted5.eq(choice), sticky5c.eq(Cat(*ors[:c]).any() if c else 0)]
        s5 = carry("r5", valid=s4["valid"], sign=s4["sign"], nan=s4["nan"])
        shifted5r = stage("r5_shifted", keep5, shifted5)
        sticky5 = stage("r5_sticky", 1, sticky5c)
        fine5 = stage("r5_fine", 4, right4[:4])
        left5 = stage("r5_left", range(24), left4)
        short5 = stage("r5_short", 24, s4["magnitude"][:24])   # the whole magnitude when left > 0
        biased5 = stage("r5_biased", signed(EXP_BITS), biased4)
        zero5 = stage("r5_zero", 1, zero4)

        # 6: right shift by 0 .. 15; guard = bit right - 1 of the magnitude, sticky = all below it.
        shifted6 = Signal(keep5)
        m.d.comb += shifted6.eq(shifted5r >> fine5)
        out_mask = ((Const(1, _CHUNK + 1) << fine5) - 1)[:_CHUNK]
        dropped = (shifted5r[:_CHUNK] & out_mask) != 0
        s6 = carry("r6", valid=s5["valid"], sign=s5["sign"], nan=s5["nan"])
        left_q = (Cat(short5, Const(0, _KEPT)) << left5)[:_KEPT]
        q6 = stage("r6_q", _KEPT, Mux(left5 != 0, left_q, shifted6[2:2 + _KEPT]))
        guard6 = stage("r6_guard", 1, Mux(left5 != 0, 0, shifted6[1]))
        sticky6 = stage("r6_sticky", 1, Mux(left5 != 0, 0, sticky5 | dropped | shifted6[0]))
        biased6 = stage("r6_biased", signed(EXP_BITS), biased5)
        inf6 = stage("r6_inf", 1, biased5 >= 0xFF)
        inf_after_carry6 = stage("r6_inf_carry", 1, biased5 >= 0xFF - 1)
        zero6 = stage("r6_zero", 1, zero5)

        # 7: round, renormalise on a carry into bit 24, pack.
        rounded = Signal(_KEPT)
        m.d.comb += rounded.eq(q6 + (guard6 & (sticky6 | q6[0])))
        final_q = Signal(25)
        biased = Signal(signed(EXP_BITS))
        overflow = Signal()
        with m.If(rounded[24]):
            m.d.comb += [final_q.eq(rounded >> 1), biased.eq(biased6 + 1), overflow.eq(inf_after_carry6)]
        with m.Else():
            m.d.comb += [final_q.eq(rounded), biased.eq(biased6), overflow.eq(inf6)]
        result = Signal(32)
        with m.If(s6["nan"]):
            m.d.comb += result.eq(FP32_QNAN)
        with m.Elif(zero6):
            m.d.comb += result.eq(0)
        with m.Elif(~final_q[23]):                                  # subnormal (or rounded to 0)
            m.d.comb += result.eq(Cat(final_q[:23], Const(0, 8), s6["sign"]))
        with m.Elif(overflow):
            m.d.comb += result.eq(Cat(Const(0, 23), Const(0xFF, 8), s6["sign"]))
        with m.Else():
            m.d.comb += result.eq(Cat(final_q[:23], biased[:8], s6["sign"]))
        m.d.sync += [self.o.eq(result), self.o_valid.eq(s6["valid"])]
        return m
