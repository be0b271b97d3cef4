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

__all__ = ["RoundingKey", "key_from_product", "key_from_small_int", "E4M3_PARTS", "e4m3_parts",
           "e4m3_from_parts", "key_div3_table", "key_div6"]

EXP_WIDTH = 12


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


def key_from_small_int(m: Module, value, exp_lsb, name: str):
    """Key of a small exact integer (<= 8 significant bits) times ``2**exp_lsb``."""
    padded = Cat(Const(0, 8), value)
    return key_from_product(m, padded, exp_lsb - 8, name)


E4M3_PARTS = data.StructLayout({"mag": 7, "up": 1, "nan": 1, "zero": 1, "saturate": 1, "sign": 1})
"""An E4M3 rounding decided but not applied: the truncated magnitude code, the round-up bit, flags."""


def e4m3_parts(m: Module, key, name: str):
    """E4M3 rounding of a key, first half: the truncated code and the rounding decision (RNE;
    :func:`e4m3_from_parts` applies it, a register between the two halves).

    The exponent is only compared with constants (LUT logic, :func:`hdl.const_compare.below`):
    above 8 saturates; -6 ... 8 is a normal code ``{exp + 7, m8[4:7]}`` rounded at ``m8[3]``;
    below -6 the significand moves right by the deficit (beyond 5 nothing is left).
    """
    exp, m8 = key.exp, key.m8
    normal = ~below(exp, -6)
    deficit = Signal(3, name=f"{name}_deficit")                    # 1 ... 5 below the normal range
    m.d.comb += deficit.eq(Mux(below(exp, -10), 5, (-6 - exp)[:3]))
    q = Signal(3, name=f"{name}_q")
    guard = Signal(name=f"{name}_guard")
    low = Signal(name=f"{name}_low")                                # any bit below the guard
    with m.If(normal):
        m.d.comb += [q.eq(m8[4:7]), guard.eq(m8[3]), low.eq(m8[:3] != 0)]
    with m.Else():
        with m.Switch(deficit):
            for d in range(1, 6):
                with m.Case(d):
                    kept = 4 + d                                   # bits of m8 shifted out
                    if kept <= 8:
                        m.d.comb += [q.eq(m8[kept:] if kept < 8 else 0), guard.eq(m8[kept - 1]),
                                     low.eq(m8[:kept - 1] != 0)]
                    # kept = 9: below half the smallest subnormal, q = guard = 0
    field = Mux(normal, (exp + 7)[:4], 0)
    parts = Signal(E4M3_PARTS, name=f"{name}_parts")
    m.d.comb += [parts.mag.eq(Cat(q, field)), parts.up.eq(guard & (low | key.sticky | q[0])),
                 parts.nan.eq(key.nan), parts.zero.eq(key.zero), parts.saturate.eq(key.inf | ~below(exp, 9)),
                 parts.sign.eq(key.sign)]
    return parts


def e4m3_from_parts(m: Module, parts, name: str):
    """E4M3 rounding, second half: the increment (the only carry chain, 7 bits,
    which carries into the next binade by itself) and the saturation."""
    rounded = Signal(8, name=f"{name}_rounded")
    m.d.comb += rounded.eq(parts.mag + parts.up)
    mag = Signal(7, name=f"{name}_m")
    with m.If(parts.nan):
        m.d.comb += mag.eq(0x7F)
    with m.Elif(parts.zero):                                        # a zero's exponent field is arbitrary
        m.d.comb += mag.eq(0)
    with m.Elif(parts.saturate | ~below(rounded, 0x7F)):
        m.d.comb += mag.eq(0x7E)
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
    scaled = key_from_product(m, Cat(Const(0, 1), q3), key.exp - 8 - 1, f"{name}_k")
    out = Signal(RoundingKey, name=f"{name}_key")
    m.d.comb += [out.eq(scaled), out.sticky.eq(scaled.sticky | (r3 != 0) | key.sticky),
                 out.zero.eq(key.zero), out.inf.eq(key.inf), out.nan.eq(0), out.sign.eq(0)]
    return out
