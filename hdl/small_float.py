"""Hardware view of the small float formats: field widths, bias and special codes.

Derived from :mod:`golden.formats` so the golden model and the hardware share
one table of formats.
"""

from dataclasses import dataclass

from golden import formats

__all__ = ["HW_FORMATS", "SmallFloat", "small_float"]

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
    info = formats.format_info(fmt)
    max_code = int(formats.encode([formats.max_value(fmt)], fmt)[0])
    return SmallFloat(fmt, info.ebits, info.mbits, info.bias, max_code, info.inf_code, info.nan_code)
