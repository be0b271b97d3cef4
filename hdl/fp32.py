"""IEEE binary32 fields as the hardware reads them: one view for every FP32 input port."""

from amaranth.hdl import Cat, Const, Mux, unsigned
from amaranth.lib import data

__all__ = ["FP32"]


class FP32(data.Struct):
    """A binary32 bit pattern: ``FP32(value)`` views a 32-bit value.

    A finite value is ``(-1)**sign * significand() * 2**lsb_exponent()``.
    """

    frac: unsigned(23)
    exp: unsigned(8)
    sign: unsigned(1)

    def significand(self):
        """24-bit integer significand: the hidden bit set unless subnormal (or zero)."""
        return Mux(self.exp == 0, self.frac, Cat(self.frac, Const(1, 1)))

    def lsb_exponent(self):
        """Exponent of the significand's LSB: ``exp - 150``, or -149 for subnormals."""
        return Mux(self.exp == 0, -149, self.exp - 150)

    def is_special(self):
        """Infinity or NaN (exponent field all ones)."""
        return self.exp == 0xFF

    def is_nan(self):
        return (self.exp == 0xFF) & (self.frac != 0)

    def is_inf(self):
        return (self.exp == 0xFF) & (self.frac == 0)
