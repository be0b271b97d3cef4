"""The activation unit's narrow block score, from the codes of one block (``docs/numerics.md`` 4.2 step 5).

Bit-exact with :func:`golden.fgmp.narrow_scores`. A free-running pipeline: the
inputs of a block are taken every cycle and its score appears :attr:`ActScore.latency`
cycles later (the caller carries a valid bit beside it). Per element:

1. ``A = |Q4| / u_b`` is ``M_s`` or ``3 M_s`` shifted (the E2M1 magnitude is 1 or 3
   times a power of two); ``B = |Q8| / u_b`` is the E4M3 significand shifted, with a
   round-half-up when the shift is to the right.
2. ``Δ = min(|A - B|, 2**(6+F) - 1)``; its ``p`` leading bits ``lead`` and the count ``k``
   of bits dropped.
3. ``lead**2`` rounded to 5 significant bits (a table: mantissa and exponent), times the
   weight's 5-bit mantissa: the term as a 10-bit product and an exponent.
4. Per block, the largest term exponent ``E``; each term kept down to ``2**(E - W + 1)``
   (a right shift of at most 13); the sum of the 16 (a registered adder tree); times
   ``2**(E - W + 1) * 4**(e_b - 1)`` (``W = SCORE_WINDOW_BITS``), kept in floating form:
   the sum's leading bits and the score's bit length, which is all the threshold comparison
   needs (``docs/numerics.md`` 4.2 step 7).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.facts import (BLOCK, SCORE_SIGNIFICANT_BITS, SCORE_WINDOW_BITS, SENS_EXP_MAX, SENS_MANT_BITS,
                          SQUARE_BITS, ScoreWidths)

from .bit_search import highest_set_bit
from .const_compare import below
from .lut_product import product_rows, times_constant, tree_sum
from .pipeline import delay, reg

__all__ = ["ActScore", "SCORE_FLOAT"]

SCORE_FLOAT = data.StructLayout({"lead": SCORE_SIGNIFICANT_BITS, "length": 7})
"""A score in floating form: its leading bits (the top one set unless the score is 0) and its bit
length (at most ``SCORE_SIGNIFICANT_BITS`` + 63)."""

# E2M1 magnitude code -> twice its value as (odd part, shift): 0, 1, 2, 3, 4, 6, 8, 12.
_E2M1_HALF_STEPS = ((0, 0), (1, 0), (1, 1), (3, 0), (1, 2), (3, 1), (1, 3), (3, 2))
_B_GUARD = 5                    # right shifts of the 4-bit E4M3 significand beyond 4 leave 0


class ActScore(wiring.Component):
    """Score of one block per cycle: ``4**(e_b - 1) * 2**(E - W + 1) * sum_c floor(w_c * sq_c / 2**(E - W + 1))``.

    Parameters
    ----------
    widths : golden.facts.ScoreWidths
        ``F`` and ``p`` of the score.

    Members
    -------
    codes8 : In(16 x 8)
        E4M3 codes (sign ignored). A NaN element must come as 0.
    codes4 : In(16 x 4)
        E2M1 codes (sign ignored).
    scale : In(8)
        E4M3 block-scale code.
    sens : In(16 x 8)
        Channel sensitivity codes (small floats, :func:`golden.fgmp.sensitivity_codes`).
    score : Out(SCORE_FLOAT)
        The score of the block presented :attr:`latency` cycles earlier, in units of
        ``2**widths.unit_exponent``, in floating form (``docs/numerics.md`` 4.2 step 7): its bit
        length and its ``SCORE_SIGNIFICANT_BITS`` leading bits (zero-filled below);
        ``score = lead * 2**(length - SCORE_SIGNIFICANT_BITS)``.

    Attributes
    ----------
    latency : int
        Cycles from the inputs to ``score``.
    """

    def __init__(self, widths: ScoreWidths = ScoreWidths()):
        if not isinstance(widths, ScoreWidths):
            raise ValueError(f"widths must be a golden.facts.ScoreWidths, got {widths!r}")
        self.widths = widths
        self._levels = (BLOCK - 1).bit_length()
        self.latency = 16 + 2 * self._levels + 2
        super().__init__({
            "codes8": In(data.ArrayLayout(unsigned(8), BLOCK)),
            "codes4": In(data.ArrayLayout(unsigned(4), BLOCK)),
            "scale": In(unsigned(8)),
            "sens": In(data.ArrayLayout(unsigned(8), BLOCK)),
            "score": Out(SCORE_FLOAT),
        })

    def elaborate(self, platform):
        m = Module()
        f, p = self.widths.fraction_bits, self.widths.significant_bits
        ab_bits = 8 + f                       # A, B < 2**(8+F) (B's largest shift is 4 + F)
        diff_bits = self.widths.diff_bits

        # Block scale: significand M_s and e_b = max(field, 1), once per block.
        field = self.scale[3:7]
        m_s = Cat(self.scale[:3], field != 0)
        e_b = Mux(field == 0, 1, field)
        m_s1 = delay(m, m_s, 2, "m_s")
        m3_s1 = delay(m, times_constant(m_s, 3), 2, "m3_s")
        e_b1 = reg(m, "e_b", 4, e_b)

        k_b1 = reg(m, "k_b", signed(6), 1 + f + _B_GUARD - e_b)      # B's shift + guard = e8 + k_b

        # Stage 1: the E2M1 magnitude as (odd part, shift); B's significand and exponent field.
        # Stage 2: B's shift. Stages 3, 4: A and B (B rounded half up). Stage 5: A - B.
        # Stage 6: |A - B| saturated.
        diffs = []
        for c in range(BLOCK):
            code4, code8 = self.codes4[c], self.codes8[c]
            odd = Signal(2, name=f"odd{c}")
            sh4 = Signal(2, name=f"sh4_{c}")
            with m.Switch(code4[:3]):
                for idx, (o, s) in enumerate(_E2M1_HALF_STEPS):
                    with m.Case(idx):
                        m.d.comb += [odd.eq(o), sh4.eq(s)]
            odd1, sh4_1 = delay(m, odd, 2, f"odd_r{c}"), delay(m, sh4, 2, f"sh4_r{c}")
            e8_field = code8[3:7]
            m8 = delay(m, Cat(code8[:3], e8_field != 0), 2, f"m8_r{c}")
            e8 = reg(m, f"e8_r{c}", 4, Mux(e8_field == 0, 1, e8_field))
            shift = reg(m, f"bshift{c}", signed(7), e8 + k_b1)        # B = m8 * 2**(shift - guard)

            # Stage 3: where B's significand goes (flags and place decoded, registered); A.
            big = ~below(shift, 5 + f + _B_GUARD)                        # B >= 2**(8+F): saturates
            gone = below(shift, 0)                                       # B rounds to 0
            # (A saturating B's place is never used, nor a vanished one's: its significand is cleared.)
            place_bits = (ab_bits + _B_GUARD - 1).bit_length()
            place = reg(m, f"bplace{c}", place_bits, shift[:place_bits])
            m8_kept = reg(m, f"m8_k{c}", 4, Mux(gone, 0, m8))
            base = Mux(odd1 == 3, m3_s1, Mux(odd1 == 1, m_s1, 0))
            a2 = reg(m, f"a2_r{c}", ab_bits, (base << sh4_1) << f)
            big1 = reg(m, f"big1_r{c}", 1, big)
            # Stage 4: B shifted into place: B = (wide >> guard) + g, the round-half-up bit g
            # added in the next stage's subtraction.
            wide = Signal(ab_bits + _B_GUARD, name=f"bwide{c}")
            m.d.comb += wide.eq(m8_kept << place)
            b = reg(m, f"b_r{c}", ab_bits, wide[_B_GUARD:])
            g = reg(m, f"g_r{c}", 1, wide[_B_GUARD - 1])
            a = reg(m, f"a_r{c}", ab_bits, a2)
            big2 = reg(m, f"big_r{c}", 1, big1)

            # A - B = A - b - g = A + ~b + (1 - g) = A + ~b + ~g: one adder, ~g its carry in (the low bit).
            a_minus_b = Signal(ab_bits + 2, name=f"amb{c}")
            m.d.comb += a_minus_b.eq(Cat(~g, a, Const(0, 1)) + Cat(Const(1, 1), ~b, Const(1, 1)))
            signed_d = reg(m, f"sdiff{c}", signed(ab_bits + 1), a_minus_b[1:])
            big3 = reg(m, f"big3_r{c}", 1, big2)
            d = Signal(unsigned(ab_bits), name=f"absdiff{c}")
            m.d.comb += d.eq(Mux(signed_d[-1], -signed_d, signed_d))
            sat = big3 | (d[diff_bits:] != 0)
            diffs.append(reg(m, f"diff_r{c}", diff_bits, Mux(sat, (1 << diff_bits) - 1, d)))
        e_b2 = delay(m, e_b1, 5, "e_b_d")                             # stage 6

        # Stage 7: the count k of bits dropped, one-hot (bit k: the leading one at k + p - 1; bit 0:
        # below 2**p). Stage 8: the p leading bits d[k : k + p] it selects, and k.
        drop_max = diff_bits - p
        leads, drops = [], []
        for c, d in enumerate(diffs):
            hot = Cat(d[p:] == 0, *[d[k + p - 1] & (d[k + p:] == 0) if k + p < diff_bits else d[k + p - 1]
                                    for k in range(1, drop_max + 1)])
            hot = reg(m, f"drop_q{c}", drop_max + 1, hot)
            d = reg(m, f"diff_q{c}", diff_bits, d)
            lead = 0
            for k in range(drop_max + 1):
                lead = lead | Mux(hot[k], d[k:k + p], 0)
            drop = 0
            for k in range(1, drop_max + 1):
                drop = drop | Mux(hot[k], k, 0)
            leads.append(reg(m, f"lead_r{c}", p, lead))
            drops.append(reg(m, f"drop_r{c}", range(drop_max + 1), drop))
        e_b3 = delay(m, e_b2, 2, "e_b3")
        sens3 = delay(m, self.sens, 8, "sens")

        # Stage 9: lead**2 rounded to SQUARE_BITS significant bits, as (mantissa, exponent) from a
        # table; the weight's mantissa; the term's exponent (offset by 4 so it is never negative).
        exp_bits = (2 * diff_bits + 7).bit_length()
        mants, exps, zeros = [], [], []
        for c, (lead, drop) in enumerate(zip(leads, drops)):
            sq_m = Signal(SQUARE_BITS, name=f"sq_m{c}")
            sq_e = Signal(4, name=f"sq_e{c}")                       # exponent + 4
            with m.Switch(lead):
                for v in range(1, 1 << p):
                    mant, exp = _square_mantissa(v)
                    with m.Case(v):
                        m.d.comb += [sq_m.eq(mant), sq_e.eq(exp + 4)]
            code = sens3[c]
            field = code[SENS_MANT_BITS:]
            w_e = Mux(field > SENS_EXP_MAX, SENS_EXP_MAX, field) - 1                # weight = w_m * 2**w_e
            # Both mantissas are normalised (top bit 1); a zero weight or a zero difference is a flag.
            mants.append((reg(m, f"w_m{c}", SENS_MANT_BITS, code[:SENS_MANT_BITS]),
                          reg(m, f"sq_m_r{c}", SQUARE_BITS - 1, sq_m[:-1])))
            zeros.append(reg(m, f"t_zero{c}", 1, (field == 0) | (lead == 0)))
            # The exponent's two parts registered apart (the table output is not followed by an
            # adder in its cycle); their sum is formed in stage 10.
            exps.append((reg(m, f"t_eb{c}", exp_bits, (w_e + drop * 2)[:exp_bits]), reg(m, f"sq_e_r{c}", 4, sq_e)))
        e_b4 = reg(m, "e_b4", 4, e_b3)

        # Stages 10, 11: the mantissa product (5 x 5 bits) in LUTs (an unregistered DSP block is slower):
        # two partial sums of its rows, then their sum. Stage 12: the term's exponent + 4, L_c + 4; the
        # zero flag applies.
        prod_bits = SENS_MANT_BITS + 1 + SQUARE_BITS
        products = []
        for c, (w_m, sq_m) in enumerate(mants):
            rows = product_rows(Cat(w_m, Const(1, 1)), Cat(sq_m, Const(1, 1)))
            low, high = (reg(m, f"prod_{half}{c}", prod_bits, tree_sum(part))
                         for half, part in (("lo", rows[:2]), ("hi", rows[2:])))
            products.append(reg(m, f"prod_r{c}", prod_bits, low + high))
        exps10 = [reg(m, f"t_e{c}", exp_bits, (base + sq_e)[:exp_bits]) for c, (base, sq_e) in enumerate(exps)]
        exps5 = [delay(m, e, 1, f"t_e5_{c}") for c, e in enumerate(exps10)]
        zeros5 = [delay(m, z, 2, f"t_zero5_{c}") for c, z in enumerate(zeros)]
        top_bits = exp_bits + 1
        tops = [reg(m, f"l6_{c}", top_bits, Mux(z, 0, e + (prod_bits - 2) + prod[-1]))
                for c, (prod, e, z) in enumerate(zip(products, exps5, zeros5))]
        products6 = [reg(m, f"prod6_{c}", prod_bits, Mux(z, 0, q)) for c, (q, z) in enumerate(zip(products, zeros5))]
        exps6 = [reg(m, f"t_e6_{c}", exp_bits, e) for c, e in enumerate(exps5)]

        # E + 4, the largest term exponent (a tree, one level per stage), at least W - 1 + 4.
        level = tops
        depth = 0
        while len(level) > 1:
            level = [Mux(level[j + 1] > level[j], level[j + 1], level[j]) for j in range(0, len(level), 2)]
            depth += 1
            level = [reg(m, f"emax{depth}_{j}", top_bits, x) for j, x in enumerate(level)]
        window = SCORE_WINDOW_BITS - 1
        # E + 4 is registered before it fans out to the 16 window shifts.
        e_top = reg(m, "e_top", top_bits, Mux(level[0] > window + 4, level[0], window + 4))
        wait = self._levels + 1
        products8 = [delay(m, q, wait, f"prod8_{c}") for c, q in enumerate(products6)]
        exps8 = [delay(m, e, wait, f"t_e8_{c}") for c, e in enumerate(exps6)]
        e_b8 = delay(m, e_b4, 3 + wait, "e_b8")

        # Two stages: each term kept down to 2**(E - W + 1): (product << (W - 9)) >> (E - 8 - exponent).
        aligned_bits = prod_bits + SCORE_WINDOW_BITS - 9            # the largest term: 2**(W-1) ... 2**W
        terms = []
        for c, (prod, e) in enumerate(zip(products8, exps8)):
            right = reg(m, f"right{c}", top_bits + 1, e_top - 8 - e)          # the shift
            prod9 = reg(m, f"prod9_{c}", prod_bits, prod)
            terms.append(reg(m, f"term_r{c}", SCORE_WINDOW_BITS,        # the term kept
                             Mux(~below(right, aligned_bits), 0, (prod9 << (SCORE_WINDOW_BITS - 9)) >> right[:(aligned_bits - 1).bit_length()])))
        e_top9 = delay(m, e_top, 2, "e_top9")
        e_b9 = delay(m, e_b8, 2, "e_b9")

        # Adder tree, one level per stage.
        level = 0
        while len(terms) > 1:
            sums = []
            for j in range(0, len(terms), 2):
                s = Signal(len(terms[j]) + 1, name=f"sum{level}_{j // 2}")
                m.d.comb += s.eq(terms[j] + terms[j + 1])
                sums.append(s)
            level += 1
            sums = [reg(m, f"sum_r{level}_{j}", len(s), s) for j, s in enumerate(sums)]
            e_b9 = reg(m, f"e_b_sum{level}", 4, e_b9)
            e_top9 = reg(m, f"e_top_sum{level}", top_bits, e_top9)
            terms = sums
        total = terms[0]

        # The score in floating form: the sum times 2**amount, the factor 2**(E - W + 1) * 4**(e_b - 1).
        # Then the sum's leading one (one stage); the leading bits and the bit length (the next).
        assert len(total) == SCORE_SIGNIFICANT_BITS
        amount = reg(m, "score_shift", range(64), e_top9 - (window + 4) + (e_b9 - 1) * 2)
        total = reg(m, "score_sum", len(total), total)
        top = reg(m, "score_top", range(SCORE_SIGNIFICANT_BITS), highest_set_bit(m, total, "score_top_c"))
        nonzero = reg(m, "score_nonzero", 1, total != 0)
        total = reg(m, "score_sum2", len(total), total)
        amount = reg(m, "score_shift2", range(64), amount)
        shift = Signal(range(SCORE_SIGNIFICANT_BITS), name="score_lead_shift")
        m.d.comb += shift.eq(SCORE_SIGNIFICANT_BITS - 1 - top)
        m.d.sync += [self.score.lead.eq(total << shift),
                     self.score.length.eq(Mux(nonzero, top + 1 + amount, 0))]
        return m


def _square_mantissa(lead: int) -> tuple[int, int]:
    """``lead**2`` rounded half to even to SQUARE_BITS significant bits, as ``(mantissa, exponent)``
    with ``2**(SQUARE_BITS - 1) <= mantissa < 2**SQUARE_BITS``."""
    v = lead * lead
    drop = max(v.bit_length() - SQUARE_BITS, 0)
    kept, low = v >> drop, v & ((1 << drop) - 1)
    half = 1 << (drop - 1) if drop else 0
    if drop and (low > half or (low == half and kept & 1)):
        kept += 1
    v = kept << drop
    exp = v.bit_length() - SQUARE_BITS
    return (v >> exp if exp >= 0 else v << -exp), exp
