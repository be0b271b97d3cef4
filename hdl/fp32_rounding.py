"""Round ``(-1)**sign * magnitude * 2**exp`` to FP32, nearest-even, as a free-running pipeline.

Numerics: ``round_to_fp32`` of :mod:`golden.fgmp_dot` (``docs/numerics.md``,
section *FGMP dot product*): IEEE subnormals, overflow to ±inf, +0 for a zero
magnitude, the quiet NaN ``0x7FC00000`` when ``nan`` is set.

Stages (one register each, no stall; :attr:`FP32Rounder.latency` = 9):

1. leading one per 16-bit chunk of the magnitude; bounds derived from ``exp``;
2. the highest chunk holding a one;
3. position ``top`` of the leading one;
4. ``shift = max(top - 23, -149 - exp)``: where the result's last bit falls;
5. right shift amount (0 .. width + 1), left shift amount (0 .. 23), biased exponent;
6. right shift by a multiple of 16, with the sticky OR of the chunks shifted out (or the
   left shift of a short magnitude);
7. right shift by 0 .. 15: kept bits, guard, sticky (both candidate exponents and their overflow
   flags are formed a stage earlier);
8. round to nearest even (the increment);
9. renormalise after a carry into a new binade; pack (zero, subnormal, infinity, NaN).
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.facts import FP32_QNAN

from .bit_search import highest_set_bit

__all__ = ["FP32_QNAN", "rounder_input_layout", "FP32Rounder"]

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

    latency = 9

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

        top_bits = (chunks * _CHUNK - 1).bit_length()   # width of the leading one's position

        # 1: per-chunk leading one; the exponent's derived bounds.
        mag = self.i.magnitude
        padded = Cat(mag, Const(0, chunks * _CHUNK - width))
        any1, idx1 = [], []
        for c in range(chunks):
            part = padded[c * _CHUNK:(c + 1) * _CHUNK]
            any1.append(stage(f"r1_any{c}", 1, part != 0))
            idx1.append(stage(f"r1_idx{c}", 4, highest_set_bit(m, part, f"r1_top{c}")))
        s1 = carry("r1", valid=self.i.valid, sign=self.i.sign, nan=self.i.nan, magnitude=mag, exp=self.i.exp,
                   low_bound=Signal(signed(EXP_BITS)), top_bound=Signal(signed(EXP_BITS)),
                   exp_bias=Signal(signed(EXP_BITS)))
        m.d.sync += [s1["low_bound"].eq(-149 - self.i.exp), s1["top_bound"].eq(-149 + 23 - self.i.exp),
                     s1["exp_bias"].eq(self.i.exp + 150)]

        # 2: which chunk holds the leading one (a balanced search over the chunks' flags); the
        # bounds' comparisons, as comparisons of the (registered) exp with constants.
        exp = s1.pop("exp")
        s2 = carry("r2", **s1,
                   low_over=exp < -150 - width,                       # -149 - exp > width + 1
                   low_positive=exp < -149, low_negative=exp > -149,  # -149 - exp > 0, < 0
                   bound_above=exp <= -126 - (1 << top_bits),         # -126 - exp >= 2**top_bits
                   bound_positive=exp < -126)                         # -126 - exp > 0
        chunk2 = stage("r2_chunk", range(max(chunks, 2)), highest_set_bit(m, Cat(*any1), "r2_search"))
        idx2 = [stage(f"r2_idx{c}", 4, idx1[c]) for c in range(chunks)]
        zero2 = stage("r2_zero", 1, ~Cat(*any1).any())

        # 3: position of the leading one (0 when the magnitude is 0).
        s3 = carry("r3", **s2, bound_inside=~s2["bound_above"] & s2["bound_positive"])
        idx_of = Array(idx2)
        top3 = stage("r3_top", top_bits, Cat(idx_of[chunk2], chunk2))
        zero3 = stage("r3_zero", 1, zero2)

        # 4: shift = max(top - 23, -149 - exp): the exponent of the result's last kept bit, less exp;
        # its sign and overflow, from flags of each candidate (top - 23 is at most width - 24).
        s4 = carry("r4", **s3)
        # the bound wins (a subnormal result): top < top_bound, on top's own few bits
        floor = s3["bound_above"] | (s3["bound_inside"] & (top3 < s3["top_bound"][:top_bits]))
        shift4 = stage("r4_shift", signed(EXP_BITS), Mux(floor, s3["low_bound"], top3 - 23))
        over4 = stage("r4_over", 1, floor & s3["low_over"])
        positive4 = stage("r4_positive", 1, Mux(floor, s3["low_positive"], top3 > 23))
        negative4 = stage("r4_negative", 1, Mux(floor, s3["low_negative"], top3 < 23))
        zero4 = stage("r4_zero", 1, zero3)

        # 5: shift amounts; the biased exponent field of a normal result (last kept bit's exponent + 150).
        s5 = carry("r5", valid=s4["valid"], sign=s4["sign"], nan=s4["nan"], magnitude=s4["magnitude"])
        right5 = stage("r5_right", range(width + 2), Mux(over4, width + 1, Mux(positive4, shift4, 0)))
        left5 = stage("r5_left", range(24), Mux(negative4, -shift4, 0))
        biased5 = stage("r5_biased", signed(EXP_BITS), shift4 + s4["exp_bias"])
        zero5 = stage("r5_zero", 1, zero4)
        # The value with two bits below its LSB, in 16-bit chunks: prefix[c] = any one in chunks < c.
        wide_chunks = -(-(width + 2) // _CHUNK)

        def widened(magnitude):
            return Cat(Const(0, 2), magnitude, Const(0, wide_chunks * _CHUNK - (width + 2)))
        wide4 = widened(s4["magnitude"])
        ors = [wide4[c * _CHUNK:(c + 1) * _CHUNK] != 0 for c in range(wide_chunks)]
        prefix5 = stage("r5_prefix", wide_chunks + 1, Cat(Const(0, 1), *(Cat(*ors[:c]).any()
                                                                          for c in range(1, wide_chunks + 1))))

        # 6: right shift by 16 * (right // 16), with the sticky OR of the whole chunks shifted out;
        # a short magnitude (left > 0) is shifted left instead.
        wide = widened(s5["magnitude"])
        coarse = right5 >> 4
        keep = 2 * _CHUNK + _KEPT                          # enough for the fine shift and the kept bits
        choices = [Cat(wide[c * _CHUNK:], Const(0, keep))[:keep] for c in range(wide_chunks + 1)]
        shifted = Signal(keep)
        sticky_coarse = Signal()
        with m.Switch(coarse):
            for c, choice in enumerate(choices):
                with m.Case(c):
                    m.d.comb += [shifted.eq(choice), sticky_coarse.eq(prefix5[c])]
        s6 = carry("r6", valid=s5["valid"], sign=s5["sign"], nan=s5["nan"])
        shifted6 = stage("r6_shifted", keep, shifted)
        sticky6 = stage("r6_sticky", 1, sticky_coarse)
        fine6 = stage("r6_fine", 4, right5[:4])
        below6 = stage("r6_below", _CHUNK, Cat(*(right5[:4] > j for j in range(_CHUNK))))   # bits the fine shift drops
        short6 = stage("r6_short", 1, left5 != 0)
        left_q6 = stage("r6_left_q", _KEPT, (Cat(s5["magnitude"][:24], Const(0, _KEPT)) << left5)[:_KEPT])
        biased6 = stage("r6_biased", signed(EXP_BITS), biased5)
        biased6_up = stage("r6_biased_up", signed(EXP_BITS), biased5 + 1)
        inf6 = stage("r6_inf", 1, biased5 >= 0xFF)
        inf6_up = stage("r6_inf_up", 1, biased5 >= 0xFF - 1)
        zero6 = stage("r6_zero", 1, zero5)

        # 7: right shift by 0 .. 15; guard = bit right - 1 of the magnitude, sticky = all below it.
        fine = Signal(keep)
        m.d.comb += fine.eq(shifted6 >> fine6)
        dropped = (shifted6[:_CHUNK] & below6) != 0
        s7 = carry("r7", valid=s6["valid"], sign=s6["sign"], nan=s6["nan"])
        q7 = stage("r7_q", _KEPT, Mux(short6, left_q6, fine[2:2 + _KEPT]))
        guard7 = stage("r7_guard", 1, ~short6 & fine[1])
        sticky7 = stage("r7_sticky", 1, ~short6 & (sticky6 | dropped | fine[0]))
        biased7 = stage("r7_biased", signed(EXP_BITS), biased6)
        biased7_up = stage("r7_biased_up", signed(EXP_BITS), biased6_up)
        inf7 = stage("r7_inf", 1, inf6)
        inf7_up = stage("r7_inf_up", 1, inf6_up)
        zero7 = stage("r7_zero", 1, zero6)

        # 8: round to nearest even.
        s8 = carry("r8", valid=s7["valid"], sign=s7["sign"], nan=s7["nan"])
        rounded = stage("r8_rounded", _KEPT, q7 + (guard7 & (sticky7 | q7[0])))
        biased7, biased7_up, inf7, inf7_up, zero7 = (stage(f"r8_{k}", v.shape(), v) for k, v in (
            ("biased", biased7), ("biased_up", biased7_up), ("inf", inf7), ("inf_up", inf7_up), ("zero", zero7)))
        s7 = s8

        # 9: renormalise on a carry into bit 24; pack.
        final_q = Signal(25)
        biased = Signal(signed(EXP_BITS))
        overflow = Signal()
        with m.If(rounded[24]):
            m.d.comb += [final_q.eq(rounded >> 1), biased.eq(biased7_up), overflow.eq(inf7_up)]
        with m.Else():
            m.d.comb += [final_q.eq(rounded), biased.eq(biased7), overflow.eq(inf7)]
        result = Signal(32)
        with m.If(s7["nan"]):
            m.d.comb += result.eq(FP32_QNAN)
        with m.Elif(zero7):
            m.d.comb += result.eq(0)
        with m.Elif(~final_q[23]):                                  # subnormal (or rounded to 0)
            m.d.comb += result.eq(Cat(final_q[:23], Const(0, 8), s7["sign"]))
        with m.Elif(overflow):
            m.d.comb += result.eq(Cat(Const(0, 23), Const(0xFF, 8), s7["sign"]))
        with m.Else():
            m.d.comb += result.eq(Cat(final_q[:23], biased[:8], s7["sign"]))
        m.d.sync += [self.o.eq(result), self.o_valid.eq(s7["valid"])]
        return m
