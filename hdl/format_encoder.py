"""Pipelined encoder: IEEE binary32 values to small-float codes, round to nearest even.

Rounding works on the binary32 significand: the kept bits ``q``, a guard bit
and a sticky bit. The magnitude code is ``((field - 1) << mbits) + q + round_up``
where ``q`` still carries the hidden bit (``field`` is 1 for target
subnormals), so a round-up that fills the mantissa carries into the exponent
field exactly as the value does. Bit-exact with :func:`golden.formats.encode`
(``rounding="rne"``); see ``docs/numerics.md``, *Hardware codecs*.

Four registered stages, free-running (:attr:`FormatEncoder.latency`): exponent
arithmetic and specials; the shifted significand, guard and sticky; the magnitude
code; overflow and specials.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .fp32 import FP32
from .small_float import small_float

__all__ = ["FormatEncoder"]

_F32_MANT = 23
_F32_BIAS = 127
_MAX_SHIFT = 25          # a right shift of 25 or more leaves q = guard = 0: the value rounds to 0


class FormatEncoder(wiring.Component):
    """Encode ``lanes`` binary32 values per cycle, each :attr:`latency` cycles after it enters.

    Parameters
    ----------
    fmt : {"e2m1", "e4m3", "e5m2"}
    lanes : int
    saturate : bool
        Overflow and ±inf become ±max when true; otherwise ±Inf (E5M2) or NaN
        (E4M3). E2M1 has neither, so it must saturate.

    Members
    -------
    fp32 : In(ArrayLayout(unsigned(32), lanes))
        binary32 bit patterns. binary32 subnormals (< 2**-126) round to a signed zero.
    codes : Out(ArrayLayout(unsigned(width), lanes))
    invalid : Out(ArrayLayout(unsigned(1), lanes))
        NaN into a format without NaN (E2M1); the code is then a zero with the NaN's sign.

    Attributes
    ----------
    latency : int
        Cycles from ``fp32`` to ``codes`` and ``invalid`` (4).

    Raises
    ------
    ValueError
        Unknown format, ``lanes`` < 1, or ``saturate=False`` for E2M1.
    """

    latency = 4

    def __init__(self, fmt: str, lanes: int = 1, saturate: bool = True):
        self.spec = small_float(fmt)
        if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"lanes must be a positive integer, got {lanes!r}")
        if not saturate and self.spec.inf_code is None and self.spec.nan_code is None:
            raise ValueError(f"{fmt} has no Inf or NaN to overflow to: saturate=False is impossible")
        self.lanes = lanes
        self.saturate = bool(saturate)
        super().__init__({
            "fp32": In(data.ArrayLayout(unsigned(32), lanes)),
            "codes": Out(data.ArrayLayout(unsigned(self.spec.width), lanes)),
            "invalid": Out(data.ArrayLayout(unsigned(1), lanes)),
        })

    def elaborate(self, platform):
        m = Module()
        for lane in range(self.lanes):
            self._encode_lane(m, lane)
        return m

    def _encode_lane(self, m, lane):
        spec, mb = self.spec, self.spec.mbits
        bits = FP32(self.fp32[lane])

        def reg(name, shape, value):
            s = Signal(shape, name=f"{name}_{lane}", reset_less=True)
            m.d.sync += s.eq(value)
            return s

        # Stage 1: exponent arithmetic, each a comparison or subtraction of the binary32 exponent
        # field with a constant. deficit = (1 - bias) - (field32 - 127) > 0 means a target subnormal.
        exp32 = bits.exp
        normal_shift = _F32_MANT - mb
        top_field = (spec.max_magnitude_code >> mb) + 1          # a field above this always overflows
        field_bits = top_field.bit_length()
        sub_from = _F32_BIAS + 1 - spec.bias                     # exp32 below this: target subnormal
        # The right shift that leaves the guard bit at bit 0 (one less than the kept bits' shift).
        guard_shift = Mux(exp32 >= sub_from, normal_shift - 1,
                          Mux(exp32 <= sub_from - (_MAX_SHIFT - normal_shift), _MAX_SHIFT - 1,
                              normal_shift - 1 + sub_from - exp32))
        sig1 = reg("sig", 24, Cat(bits.frac, Const(1, 1)))                 # hidden bit set
        shift1 = reg("guard_shift", unsigned(5), guard_shift)
        # Significand bits below the guard (j < guard_shift), each a comparison of exp32 with a constant.
        below1 = reg("below", 24, Cat(*(Const(1, 1) if j < normal_shift - 1 else exp32 < normal_shift - 1 + sub_from - j
                                        for j in range(24))))
        field1 = reg("field", field_bits, Mux(exp32 < sub_from, 1, exp32 - (_F32_BIAS - spec.bias)))
        huge1 = reg("huge", 1, exp32 > top_field + _F32_BIAS - spec.bias)
        sign1 = reg("sign1", 1, bits.sign)
        nan1 = reg("nan1", 1, bits.is_nan())
        inf1 = reg("inf1", 1, bits.is_inf())
        zero1 = reg("zero1", 1, exp32 == 0)

        # Stage 2: one shifter gives the guard bit (bit 0) and above it the kept bits q (hidden bit
        # included); sticky = any bit below the guard (a mask of the positions below it).
        shifted = sig1 >> shift1
        q, guard = shifted[1:mb + 2], shifted[0]
        below = below1
        q2 = reg("q2", unsigned(mb + 1), q)
        guard2 = reg("guard2", 1, guard)
        sticky2 = reg("sticky2", 1, (sig1 & below) != 0)
        field2, huge2, sign2, nan2, inf2, zero2 = (reg(f"{n}2", v.shape(), v) for n, v in (
            ("field", field1), ("huge", huge1), ("sign", sign1), ("nan", nan1), ("inf", inf1), ("zero", zero1)))

        # Stage 3: the magnitude code ((field - 1) << mbits) + q + round_up: a round-up that fills
        # the mantissa carries into the exponent field exactly as the value does.
        up = guard2 & (sticky2 | q2[0])
        mag3 = reg("mag3", field_bits + mb + 1, Cat(q2[:mb], field2 - 1 + q2[mb]) + up)
        huge3, sign3, nan3, inf3, zero3 = (reg(f"{n}3", 1, v) for n, v in (
            ("huge", huge2), ("sign", sign2), ("nan", nan2), ("inf", inf2), ("zero", zero2)))

        # Stage 4: overflow, specials; the output register.
        if self.saturate:
            over_code = spec.max_magnitude_code
        else:
            over_code = spec.inf_code if spec.inf_code is not None else spec.nan_code
        mag_out = Signal(unsigned(spec.magnitude_bits), name=f"mag_out_{lane}")
        invalid = Signal(name=f"invalid_{lane}")
        with m.If(nan3):
            if spec.nan_code is not None:
                m.d.comb += mag_out.eq(spec.nan_code)
            else:
                m.d.comb += invalid.eq(1)
        with m.Elif(inf3 | huge3 | (mag3 > spec.max_magnitude_code)):    # ±inf, or past max
            m.d.comb += mag_out.eq(over_code)
        with m.Elif(zero3):                                               # zero, binary32 subnormal
            m.d.comb += mag_out.eq(0)
        with m.Else():
            m.d.comb += mag_out.eq(mag3)
        m.d.sync += [self.codes[lane].eq(Cat(mag_out, sign3)), self.invalid[lane].eq(invalid)]
