"""Facts the executable spec and the hardware share: block size, accumulator, FP32, formats.

Pure Python, no NumPy: ``hdl/`` imports these instead of the golden model, so
an elaborated design depends on this module and nothing heavier. Each value is
defined in ``docs/numerics.md`` (the section is named beside it).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BLOCK", "ACC_BITS", "UNIT_BITS", "FP32_QNAN", "E4M3_MAX", "STATUS_NAN", "STATUS_INF",
           "STATUS_OVERFLOW", "STATUS_WRITE_REFUSED", "SCALE_EXP_MIN", "SCALE_EXP_MAX", "ScoreWidths", "SCORE_WIDTHS_TRIED",
           "SENS_EXP_BITS", "SENS_MANT_BITS", "SENS_EXP_MAX", "SQUARE_BITS", "SCORE_WINDOW_BITS",
           "SCORE_SIGNIFICANT_BITS", "THRESHOLD_BITS", "THRESHOLD_REGISTER",
           "FloatFormat", "FLOAT_FORMATS", "max_magnitude_code"]

BLOCK = 16
"""Elements per FGMP / NVFP4 block (*FGMP dot product*)."""
ACC_BITS = 64
"""Signed width of a row accumulator, in units of ``2**-20`` (*FGMP dot product*)."""
UNIT_BITS = 10
"""Elements are integers in units of ``2**-UNIT_BITS`` (*FGMP dot product*)."""
FP32_QNAN = 0x7FC00000
"""The quiet NaN every FP32 result that is NaN becomes."""
E4M3_MAX = 448.0
"""Largest finite E4M3 value: FP8 saturation, the FGMP tensor scale ``amax / 448`` (*Element formats*)."""

# Activation-unit status bits, per block and in the unit's sticky register (*FGMP activations*).
STATUS_NAN = 1               # a NaN input element
STATUS_INF = 2               # an infinite input element
STATUS_OVERFLOW = 4          # a finite |x / s_t| above E4M3_MAX (FP8 saturates)
STATUS_WRITE_REFUSED = 8     # hardware only: a refused write (active bank while busy, scale exponent out of range)

SCALE_EXP_MIN, SCALE_EXP_MAX = -100, 127
"""Range of the activation tensor scale's exponent ``t`` (``s_t = 2**t``), held in a signed 8-bit
register (*FGMP activations*). From -100 up, BF16 and FP32 subnormal inputs (below ``2**-126``)
give ``|y| < 2**-26`` and quantize as signed zeros."""


@dataclass(frozen=True)
class ScoreWidths:
    """How narrow the activation unit's block score is (*FGMP activations*, step 5).

    Parameters
    ----------
    fraction_bits : int, 0 ... 3
        ``F``: element differences are counted in units of ``u_b = ulp(s_b) / 2**(1 + F)``,
        where ``ulp(s_b)`` is the E4M3 spacing at the block scale (an NVFP4 value is a whole
        number of ``ulp(s_b) / 2``, so ``F`` is the number of bits below that grid).
    significant_bits : int, 1 ... 6 + fraction_bits
        ``p``: each difference, saturated at :attr:`diff_max`, is truncated to its ``p``
        leading bits before it is squared. ``p = 6 + F`` keeps every bit.

    Raises
    ------
    ValueError
        A width outside its range (the exception names it).
    """

    fraction_bits: int = 1
    significant_bits: int = 4

    def __post_init__(self):
        for name, value, low, high in (("fraction_bits", self.fraction_bits, 0, 3),
                                       ("significant_bits", self.significant_bits, 1, 6 + self.fraction_bits)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"ScoreWidths.{name} must be an integer in [{low}, {high}], got {value!r}")

    @property
    def diff_bits(self) -> int:
        """Width of a saturated difference magnitude: ``6 + F``."""
        return 6 + self.fraction_bits

    @property
    def diff_max(self) -> int:
        """Saturation of a difference magnitude, ``2**(6 + F) - 1`` (reached only by blocks
        with an overflowing or infinite element)."""
        return (1 << self.diff_bits) - 1

    @property
    def unit_exponent(self) -> int:
        """The score counts units of ``2**unit_exponent`` (tensor-scale units squared):
        ``-2 * (10 + F)``, the square of the finest ``u_b``."""
        return -2 * (10 + self.fraction_bits)

    @property
    def score_bits(self) -> int:
        """The score is an unsigned integer below ``2**score_bits``: a 16-bit window sum times
        ``2**(E - 11)`` (a term is below ``2**12`` (weight) ``* 2**(2 * diff_bits)``) and the block
        factor ``4**14`` at most."""
        return 16 + 12 + 2 * self.diff_bits - 11 + 28


SENS_EXP_BITS, SENS_MANT_BITS, SENS_EXP_MAX = 4, 4, 8
"""A channel sensitivity code ``e << 4 | m`` is a small float: exponent field ``e`` (0 = weight 0,
fields above 8 count as 8) and mantissa ``m``; weight ``(16 + m) * 2**(min(e, 8) - 1)``
(*FGMP activations*, step 6)."""
SQUARE_BITS = 5
"""A squared difference is rounded (RNE) to this many significant bits (*FGMP activations*, step 5)."""
SCORE_WINDOW_BITS = 10
"""Each term keeps its bits down to ``2**(E - 9)``, ``E`` the block's largest term exponent."""

SCORE_SIGNIFICANT_BITS = SCORE_WINDOW_BITS + 4
"""A block score is a sum of 16 window terms, each below ``2**SCORE_WINDOW_BITS``, times a power
of two: it has at most this many significant bits."""
THRESHOLD_BITS = 64
"""The threshold is a signed integer of this width (*FGMP activations*, step 7)."""
THRESHOLD_REGISTER = {"lead": (0, SCORE_SIGNIFICANT_BITS), "length": (SCORE_SIGNIFICANT_BITS, 6),
                      "negative": (SCORE_SIGNIFICANT_BITS + 6, 1)}
"""The unit's threshold register, field -> (lowest bit, width): a threshold ``θ >= 0`` as its bit
length ``L`` and its ``SCORE_SIGNIFICANT_BITS`` leading bits ``lead`` (zero-filled below when
``L`` is smaller), or the ``negative`` flag (*FGMP activations*, step 7)."""

SCORE_WIDTHS_TRIED = ((1, 4), (2, 3), (2, 4), (2, 8), (3, 4))
"""``(F, p)`` of the score widths the report and the flow compare (*FGMP activations*); the
unit's default ``ScoreWidths()`` is among them."""


@dataclass(frozen=True)
class FloatFormat:
    """A small binary floating-point format (*Element formats*).

    Parameters
    ----------
    name : str
    ebits, mbits : int
        Exponent and explicit mantissa field widths.
    bias : int
        Exponent bias.
    signed : bool
        Whether a sign bit precedes the exponent field.
    subnormals : bool
        Whether exponent field 0 encodes subnormals (``False`` only for E8M0).
    inf_code : int or None
        Magnitude code of infinity, if the format has one.
    nan_code : int or None
        Magnitude code produced for NaN (the format may have other NaN codes).
    """

    name: str
    ebits: int
    mbits: int
    bias: int
    signed: bool = True
    subnormals: bool = True
    inf_code: int | None = None
    nan_code: int | None = None

    @property
    def width(self) -> int:
        return int(self.signed) + self.ebits + self.mbits

    def is_nan_magnitude(self, mag: int) -> bool:
        """True if magnitude code ``mag`` (sign stripped) is a NaN."""
        if self.name == "e4m3":
            return mag == 0x7F
        if self.name == "e5m2":
            return mag > 0x7C
        if self.name == "e8m0":
            return mag == 0xFF
        return False

    def magnitude_value(self, mag: int) -> float:
        """Value of a non-negative magnitude code, NaN or inf where defined."""
        if self.is_nan_magnitude(mag):
            return float("nan")
        if self.inf_code is not None and mag == self.inf_code:
            return float("inf")
        exp_field = mag >> self.mbits
        mant = mag & ((1 << self.mbits) - 1)
        if exp_field == 0 and self.subnormals:
            return mant * 2.0 ** (1 - self.bias - self.mbits)
        return (1 + mant / 2 ** self.mbits) * 2.0 ** (exp_field - self.bias)


FLOAT_FORMATS: dict[str, FloatFormat] = {
    "e2m1": FloatFormat("e2m1", 2, 1, 1),
    "e2m3": FloatFormat("e2m3", 2, 3, 1),
    "e3m2": FloatFormat("e3m2", 3, 2, 3),
    "e4m3": FloatFormat("e4m3", 4, 3, 7, nan_code=0x7F),
    "e5m2": FloatFormat("e5m2", 5, 2, 15, inf_code=0x7C, nan_code=0x7E),
    "e8m0": FloatFormat("e8m0", 8, 0, 127, signed=False, subnormals=False, nan_code=0xFF),
}


def max_magnitude_code(fmt: FloatFormat) -> int:
    """Magnitude code of the largest finite value (codes grow with the value)."""
    values = [(fmt.magnitude_value(mag), mag) for mag in range(1 << (fmt.ebits + fmt.mbits))]
    return max((v, mag) for v, mag in values if v == v and v != float("inf"))[1]
