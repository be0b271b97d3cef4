"""Rounding keys: enough of a wide value to round it exactly to any format of <= 7 significant bits.

A key holds a value ``v = m8 * 2**(exp - 7)`` plus ``sticky`` (set when the
true value lies strictly above that, by less than one unit of ``m8``'s LSB),
with ``m8`` normalised (MSB set) unless the value is zero. Every rounding
boundary of E4M3 and E2M1, and every threshold ``s_b * midpoint`` used by the
activation quantization unit, has at most 7 significant bits, so comparisons
and round-to-nearest-even decisions made on the key equal those made on the
exact value. Keys are the activation unit's working form; ``docs/numerics.md``
(section 4.2) gives the arithmetic they implement.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data

from .bit_search import highest_set_bit
from .const_compare import below

__all__ = ["RoundingKey", "key_from_product", "E4M3_EXPONENT", "E4M3_PARTS",
           "e4m3_exponent", "e4m3_parts",
           "e4m3_from_parts", "key_div3_table", "key_div6"]

EXP_WIDTH = 10
"""Key exponents: y = x * 2**-t lies within 2**-256 ... 2**228 for every input format and allowed t
(BF16 and FP32 subnormals, which quantize as zeros, included), so signed 10 bits hold every
exponent the unit forms from a key, the block scale and its thresholds included."""


class RoundingKey(data.Struct):
    m8: unsigned(8)
    exp: signed(EXP_WIDTH)
    sticky: unsigned(1)
    zero: unsigned(1)
    inf: unsigned(1)
    nan: unsigned(1)
    sign: unsigned(1)


def key_from_product(m: Module, product, exp_lsb, name: str):
    """Key of ``product * 2**exp_lsb`` (``product`` unsigned, any width >= 8)."""
    width = len(product)
    key = Signal(RoundingKey, name=name)
    top = highest_set_bit(m, product, f"{name}_top")
    norm = Signal(width, name=f"{name}_norm")
    lead = Signal(range(width), name=f"{name}_lead")                 # leading zeros above top
    m.d.comb += [
        lead.eq(width - 1 - top),
        norm.eq(product << lead),
        key.m8.eq(norm[width - 8:]),
        key.sticky.eq(norm[:width - 8] != 0),
        key.exp.eq(top + exp_lsb),
        key.zero.eq(product == 0),
    ]
    return key


E4M3_EXPONENT = data.StructLayout({"case": 5, "field": 4, "saturate": 1, "low": 5})
"""Where a key's exponent puts it in E4M3, one-hot in ``case``: bit 0 normal (with its exponent
field), bit ``d`` (1 ... 4) ``d`` binades below the normal range; no bit set: 5 or more below,
nothing left. ``saturate``: above the range, or Inf. ``low``: per case, whether anything lies
below its guard bit (the key's bits there, or its sticky bit)."""

E4M3_PARTS = data.StructLayout({"mag": 7, "up": 1, "nan": 1, "zero": 1, "saturate": 1, "sign": 1})
"""An E4M3 rounding decided but not applied: the truncated magnitude code, the round-up bit, flags."""


def e4m3_exponent(m: Module, key, name: str):
    """E4M3 rounding of a key, first third: the exponent's class (:data:`E4M3_EXPONENT`).

    The exponent is only compared with constants (LUT logic, :func:`hdl.const_compare.below`):
    above 8 saturates; -6 ... 8 is a normal code with field ``exp + 7``; below -6 the
    significand will move right by the deficit.
    """
    exp = key.exp
    out = Signal(E4M3_EXPONENT, name=f"{name}_exp")
    normal = ~below(exp, -6)
    deficit = ~normal & ~below(exp, -10)                           # -10 ... -7: the low 2 bits tell which
    m.d.comb += [out.case.eq(Cat(normal, *[deficit & (exp[:2] == (-6 - d) & 3) for d in range(1, 5)])),
                 out.field.eq(Mux(normal, (exp + 7)[:4], 0)),
                 out.saturate.eq(key.inf | ~below(exp, 9)),
                 out.low.eq(Cat(*[(key.m8[:3 + d] != 0) | key.sticky for d in range(5)]))]
    return out


def e4m3_parts(m: Module, key, exponent, name: str):
    """E4M3 rounding of a key, second third: the truncated code and the rounding decision (RNE)
    from the key and its :func:`e4m3_exponent` (a register between the two);
    :func:`e4m3_from_parts` applies it.

    A normal code is ``{field, m8[4:7]}`` rounded at ``m8[3]``; ``d`` binades below the normal
    range the significand moves right by ``d`` first. Each case's bits and round-up decision
    are formed side by side and the one-hot case selects them.
    """
    m8 = key.m8
    q = Signal(3, name=f"{name}_q")
    up = Signal(name=f"{name}_up")
    q_terms, up_terms = [], []
    for d in range(5):
        kept = 4 + d                                   # bits of m8 below the code's last bit
        q_d = m8[kept:7] if d == 0 else (m8[kept:] if kept < 8 else Const(0, 1))
        guard = m8[kept - 1]
        sel = exponent.case[d]
        q_terms.append(Mux(sel, q_d, 0))
        up_terms.append(sel & guard & (exponent.low[d] | q_d[0]))
    m.d.comb += [q.eq(q_terms[0] | q_terms[1] | q_terms[2] | q_terms[3] | q_terms[4]),
                 up.eq(Cat(*up_terms).any())]
    parts = Signal(E4M3_PARTS, name=f"{name}_parts")
    m.d.comb += [parts.mag.eq(Cat(q, exponent.field)), parts.up.eq(up),
                 parts.nan.eq(key.nan), parts.zero.eq(key.zero), parts.saturate.eq(exponent.saturate),
                 parts.sign.eq(key.sign)]
    return parts


def e4m3_from_parts(m: Module, parts, name: str, least: int = 0):
    """E4M3 rounding, last third: the increment (a 7-bit carry chain, which carries into the next
    binade by itself) and, beside it from the same bits, the saturation and the zero result.

    ``least`` is the smallest magnitude code given out (1 for the block scale's floor ``2**-9``);
    a zero, or a value rounding to zero, gives it.
    """
    rounded = Signal(7, name=f"{name}_rounded")
    m.d.comb += rounded.eq(parts.mag + parts.up)
    over = parts.saturate | (parts.mag == 0x7F) | (parts.mag == 0x7E) & parts.up      # rounds to >= 0x7F
    mag = Signal(7, name=f"{name}_m")
    with m.If(parts.nan):
        m.d.comb += mag.eq(0x7F)
    with m.Elif(parts.zero):                                        # a zero's exponent field is arbitrary
        m.d.comb += mag.eq(least)
    with m.Elif(over):
        m.d.comb += mag.eq(0x7E)
    with m.Elif((parts.mag == 0) & ~parts.up):
        m.d.comb += mag.eq(least)
    with m.Else():
        m.d.comb += mag.eq(rounded)
    return Cat(mag, parts.sign)


def key_div3_table(m: Module, key, name: str):
    """``(m8 // 3, m8 % 3)`` of a key: the table half of ``|value| / 6``, :func:`key_div6` the rest."""
    q3 = Signal(7, name=f"{name}_q3")
    r3 = Signal(2, name=f"{name}_r3")
    with m.Switch(key.m8):
        for v in range(256):
            with m.Case(v):
                m.d.comb += [q3.eq(v // 3), r3.eq(v % 3)]
    return q3, r3


def key_div6(m: Module, key, q3, r3, name: str):
    """Key of ``|keyed value| / 6`` from the table's ``q3, r3`` of the same key (sign 0, not NaN).

    ``v / 6 = (m8 / 3) * 2**(exp - 8)``: with ``q = m8 // 3`` (42 .. 85, at least 6
    significant bits) and a sticky bit for ``m8 % 3`` or the key's own sticky,
    ``q`` carries the 4 significant bits and the guard bit exactly.
    """
    # q < 2**7 has its leading one at bit 6 or 5 (a zero key's q is irrelevant: its flag travels).
    hi = q3[6]
    out = Signal(RoundingKey, name=f"{name}_key")
    m.d.comb += [out.m8.eq(Mux(hi, Cat(Const(0, 1), q3), Cat(Const(0, 2), q3[:6]))),
                 out.exp.eq(key.exp - 3 + hi),
                 out.sticky.eq((r3 != 0) | key.sticky),
                 out.zero.eq(key.zero), out.inf.eq(key.inf), out.nan.eq(0), out.sign.eq(0)]
    return out
