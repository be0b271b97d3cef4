"""The unpacked floating-point form every small-format decoder produces.

A finite non-zero value is ``(-1)**sign * sig * 2**(exp - (SIG_WIDTH - 1))``
with ``sig`` normalised (its MSB set): subnormal inputs are normalised too.
Zero, infinity and NaN are flags; their ``exp`` and ``sig`` are 0.
Wide enough for E2M1, E4M3 and E5M2 (exponents -16 .. 15).
"""

from amaranth.hdl import signed, unsigned
from amaranth.lib import data

__all__ = ["SIG_WIDTH", "EXP_WIDTH", "UnpackedFloat", "unpacked_value"]

SIG_WIDTH = 4
EXP_WIDTH = 6


class UnpackedFloat(data.Struct):
    """Sign, special-value flags, exponent and normalised significand of one value."""

    sig: unsigned(SIG_WIDTH)
    exp: signed(EXP_WIDTH)
    zero: unsigned(1)
    inf: unsigned(1)
    nan: unsigned(1)
    sign: unsigned(1)


def unpacked_value(fields: dict) -> float:
    """The value an :class:`UnpackedFloat` (given as a dict of field integers) stands for."""
    sign = -1.0 if fields["sign"] else 1.0
    if fields["nan"]:
        return float("nan")
    if fields["inf"]:
        return sign * float("inf")
    if fields["zero"]:
        return sign * 0.0
    return sign * fields["sig"] * 2.0 ** (fields["exp"] - (SIG_WIDTH - 1))
