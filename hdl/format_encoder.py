"""Combinational encoder: IEEE binary32 values to small-float codes, round to nearest even.

Rounding works on the binary32 significand: the kept bits ``q``, a guard bit
and a sticky bit. The magnitude code is ``((field - 1) << mbits) + q + round_up``
where ``q`` still carries the hidden bit (``field`` is 1 for target
subnormals), so a round-up that fills the mantissa carries into the exponent
field exactly as the value does. Bit-exact with :func:`golden.formats.encode`
(``rounding="rne"``); see ``docs/numerics.md``, *Hardware codecs*.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .small_float import small_float

__all__ = ["FormatEncoder"]

_F32_MANT = 23
_F32_BIAS = 127
_MAX_SHIFT = 25          # a right shift of 25 or more leaves q = guard = 0: the value rounds to 0


class FormatEncoder(wiring.Component):
    """Encode ``lanes`` binary32 values per cycle (no state, no latency).

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

    Raises
    ------
    ValueError
        Unknown format, ``lanes`` < 1, or ``saturate=False`` for E2M1.
    """

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
        bits, code, invalid = self.fp32[lane], self.codes[lane], self.invalid[lane]

        def wire(name, shape, value):
            s = Signal(shape, name=f"{name}_{lane}")
            m.d.comb += s.eq(value)
            return s

        sign = bits[31]
        exp_field = bits[_F32_MANT:31]
        mant = bits[:_F32_MANT]
        sig = Cat(mant, Const(1, 1))                                     # hidden bit set
        unbiased = wire("unbiased", signed(10), exp_field - _F32_BIAS)
        deficit = wire("deficit", signed(10), (1 - spec.bias) - unbiased)    # > 0: target subnormal
        shift = Signal(unsigned(5), name=f"shift_{lane}")
        normal_shift = _F32_MANT - mb
        with m.If(deficit <= 0):
            m.d.comb += shift.eq(normal_shift)
        with m.Elif(deficit >= _MAX_SHIFT - normal_shift):
            m.d.comb += shift.eq(_MAX_SHIFT)
        with m.Else():
            m.d.comb += shift.eq(normal_shift + deficit)
        guard_at = wire("guard_at", unsigned(5), shift - 1)
        q = wire("q", unsigned(mb + 1), sig >> shift)
        guard = wire("guard", unsigned(1), (sig >> guard_at)[0])
        sticky = wire("sticky", unsigned(1), (sig & ((Const(1, 25) << guard_at) - 1)[:24]) != 0)
        round_up = guard & (sticky | q[0])
        field = wire("field", signed(10), Mux(deficit > 0, 1, unbiased + spec.bias))
        magnitude = wire("magnitude", signed(16), ((field - 1) << mb) + q + round_up)

        if self.saturate:
            over_code = spec.max_magnitude_code
        else:
            over_code = spec.inf_code if spec.inf_code is not None else spec.nan_code
        mag_out = Signal(unsigned(spec.magnitude_bits), name=f"mag_out_{lane}")
        special = exp_field == 0xFF
        with m.If(special & (mant != 0)):                                 # NaN
            if spec.nan_code is not None:
                m.d.comb += mag_out.eq(spec.nan_code)
            else:
                m.d.comb += invalid.eq(1)
        with m.Elif(special | (magnitude > spec.max_magnitude_code)):     # ±inf, or past max
            m.d.comb += mag_out.eq(over_code)
        with m.Elif(exp_field == 0):                                      # zero, binary32 subnormal
            m.d.comb += mag_out.eq(0)
        with m.Else():
            m.d.comb += mag_out.eq(magnitude)
        m.d.comb += code.eq(Cat(mag_out, sign))
