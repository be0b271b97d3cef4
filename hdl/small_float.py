"""Hardware view of the small float formats: field widths, bias and special codes.

Derived from :mod:`golden.facts`, the table of formats the golden model and the
hardware share (pure Python: no NumPy in an elaborated design).
"""

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Mux

from golden.facts import FLOAT_FORMATS, max_magnitude_code

__all__ = ["HW_FORMATS", "SmallFloat", "small_float", "e4m3_mantissa_shift", "e2m1_mantissa_shift"]

HW_FORMATS = ("e2m1", "e4m3", "e5m2")
"""The element formats the datapath handles in hardware."""


@dataclass(frozen=True)
class SmallFloat:
    """Parameters of a signed small float format as the RTL needs them."""

    name: str
    ebits: int
    mbits: int
    bias: int
    max_magnitude_code: int
    inf_code: int | None
    nan_code: int | None

    @property
    def width(self) -> int:
        return 1 + self.ebits + self.mbits

    @property
    def magnitude_bits(self) -> int:
        return self.ebits + self.mbits


def small_float(fmt: str) -> SmallFloat:
    """Describe ``fmt`` (one of :data:`HW_FORMATS`); ``ValueError`` naming it otherwise."""
    if fmt not in HW_FORMATS:
        raise ValueError(f"format {fmt!r} has no hardware codec; expected one of {HW_FORMATS}")
    info = FLOAT_FORMATS[fmt]
    return SmallFloat(fmt, info.ebits, info.mbits, info.bias, max_magnitude_code(info), info.inf_code, info.nan_code)


def e4m3_mantissa_shift(code):
    """E4M3 magnitude ``n * 2**-9`` as ``m << sh`` (``m`` 4 bits, ``sh`` 0..14); sign and NaN not handled."""
    exp_field, mant = code[3:7], code[:3]
    m = Mux(exp_field == 0, mant, Cat(mant, Const(1, 1)))
    sh = Mux(exp_field == 0, 0, exp_field - 1).as_unsigned()
    return m, sh


def e2m1_mantissa_shift(code):
    """E2M1 magnitude ``n * 2**-1`` as ``m << sh`` (``m`` 2 bits, ``sh`` 0..2); sign not handled."""
    exp_field, mant = code[1:3], code[0]
    m = Mux(exp_field == 0, mant, Cat(mant, Const(1, 1)))
    sh = Mux(exp_field == 0, 0, exp_field - 1).as_unsigned()
    return m, sh
