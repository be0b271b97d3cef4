"""Element formats: exact encode (value -> code) and decode (code -> value).

Every format is at most 8 bits wide, so each one is described by the sorted
table of its non-negative finite values. Encoding is a table search, which
makes the rounding rule explicit and independent of the bit-level arithmetic
the hardware uses; the hardware is checked against this module.

Codes are returned as ``uint8`` bit patterns. Integer formats ``int2``..``int8``
use two's complement patterns (``int8`` value -1 is code ``0xFF``).

The exact definitions are in ``docs/numerics.md``, section *Element formats*.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ._blocks import as_real_array
from .facts import FLOAT_FORMATS, FloatFormat

__all__ = [
    "FloatFormat", "IntFormat", "FORMATS", "FORMAT_ALIASES", "ROUNDING_MODES",
    "canonical_format", "format_info", "encode", "decode", "max_value", "pack_fp4", "unpack_fp4", "as_dtype",
]

ROUNDING_MODES = ("rne", "rna", "rtz")
"""Round to nearest, ties to even code; nearest, ties away from zero; toward zero."""


@dataclass(frozen=True)
class IntFormat:
    """A two's complement integer format of ``bits`` bits."""

    name: str
    bits: int

    @property
    def width(self) -> int:
        return self.bits


FORMATS: dict[str, FloatFormat | IntFormat] = {
    **FLOAT_FORMATS,
    **{f"int{b}": IntFormat(f"int{b}", b) for b in range(2, 9)},
}
"""Every format: the float formats of :mod:`golden.facts` (shared with the hardware) and the integers."""


FORMAT_ALIASES: dict[str, str] = {
    # ml_dtypes and PyTorch dtype names (`fn`: finite, no infinities; `fnu`: also unsigned)
    "float4_e2m1fn": "e2m1", "float6_e2m3fn": "e2m3", "float6_e3m2fn": "e3m2", "float8_e4m3fn": "e4m3",
    "float8_e5m2": "e5m2", "float8_e8m0fnu": "e8m0",
    "e2m1fn": "e2m1", "e2m3fn": "e2m3", "e3m2fn": "e3m2", "e4m3fn": "e4m3", "e8m0fnu": "e8m0",
    # microxcaling's element formats (mx.ElemFormat)
    "fp4": "e2m1", "fp4_e2m1": "e2m1", "fp6_e2m3": "e2m3", "fp6_e3m2": "e3m2", "fp8_e4m3": "e4m3", "fp8_e5m2": "e5m2",
}
"""Other spellings of the same formats (``docs/numerics.md``, *Element formats*): bit for bit the
same encodings. :func:`canonical_format` also takes dtype objects with these names."""

_NOT_THE_SAME = {
    "float8_e4m3": "IEEE-style E4M3 with infinities (largest finite 240); cxlquant's e4m3 is OCP E4M3FN, "
                   "float8_e4m3fn",
    "float8_e4m3fnuz": "exponent bias 8, NaN only at 0x80, no negative zero",
    "float8_e5m2fnuz": "exponent bias 16, NaN only at 0x80, no negative zero",
    "float8_e4m3b11fnuz": "exponent bias 11, NaN only at 0x80",
}


def canonical_format(fmt) -> str:
    """The name in :data:`FORMATS` of ``fmt``: a name, an alias (:data:`FORMAT_ALIASES`), or a dtype.

    Dtypes are taken by name: ``ml_dtypes.float8_e4m3fn`` (the type or ``np.dtype`` of it),
    ``np.int8``, PyTorch's ``torch.float8_e5m2`` (as ``str`` gives it), without importing them.

    Raises
    ------
    ValueError
        A format cxlquant does not have, naming it; for a look-alike (``float8_e4m3``,
        the ``fnuz`` variants) saying how it differs.
    """
    name = fmt
    if not isinstance(fmt, str):
        try:
            name = np.dtype(fmt).name
        except TypeError:
            name = str(fmt)
    name = name.lower().removeprefix("torch.")
    if name in FORMATS:
        return name
    if name in FORMAT_ALIASES:
        return FORMAT_ALIASES[name]
    if name in _NOT_THE_SAME:
        raise ValueError(f"format {fmt!r} is not one of cxlquant's: {_NOT_THE_SAME[name]}")
    raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(FORMATS)} or an alias "
                     f"({', '.join(sorted(FORMAT_ALIASES))})")


def format_info(fmt) -> FloatFormat | IntFormat:
    """Return the description of ``fmt`` (any spelling :func:`canonical_format` takes); raise
    ``ValueError`` naming it if unknown."""
    return FORMATS[canonical_format(fmt)]


def pack_fp4(codes, axis: int = -1) -> np.ndarray:
    """Two 4-bit codes per byte along ``axis``, in the order of torchao and PyTorch's
    ``float4_e2m1fn_x2``: element ``2i`` in bits 3..0 of byte ``i``, element ``2i + 1`` in bits 7..4.

    Raises
    ------
    ValueError
        Codes that are not integers 0..15, or an odd length along ``axis``.
    """
    codes = np.asarray(codes)
    if not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"codes must be integers, got dtype {codes.dtype}")
    if codes.size and (codes.min() < 0 or codes.max() > 0xF):
        raise ValueError(f"codes must be 4-bit (0..15): min {codes.min()}, max {codes.max()}")
    codes = np.moveaxis(codes.astype(np.uint8), axis, -1)
    if codes.shape[-1] % 2:
        raise ValueError(f"an even number of codes is needed along axis {axis}, got {codes.shape[-1]}")
    return np.moveaxis(codes[..., 0::2] | (codes[..., 1::2] << 4), -1, axis)


def unpack_fp4(packed, axis: int = -1) -> np.ndarray:
    """The 4-bit codes of :func:`pack_fp4`'s bytes, twice as many along ``axis``."""
    packed = np.asarray(packed)
    if packed.dtype != np.uint8:
        raise ValueError(f"packed codes must be uint8, got dtype {packed.dtype}")
    packed = np.moveaxis(packed, axis, -1)
    codes = np.stack([packed & 0xF, packed >> 4], axis=-1).reshape(*packed.shape[:-1], 2 * packed.shape[-1])
    return np.moveaxis(codes, -1, axis)


def as_dtype(values: np.ndarray, dtype) -> np.ndarray:
    """``values`` (float64, exact) as ``dtype``: ``None`` keeps float64; any NumPy or ml_dtypes
    float type rounds to nearest, ties to even (NumPy's and ml_dtypes' cast)."""
    if dtype is None:
        return values
    dtype = np.dtype(dtype)
    if dtype.kind in "biucOSUMm" or dtype.name.startswith(("int", "uint")):
        raise ValueError(f"dtype must be a real floating-point type, got {dtype}")
    return values.astype(dtype)


@dataclass(frozen=True)
class _Table:
    values: np.ndarray        # non-negative finite values, ascending
    codes: np.ndarray         # magnitude code of each value
    midpoints: np.ndarray     # between consecutive entries incl. the virtual overflow entry
    tie_up: np.ndarray        # at midpoint i, does RNE choose entry i+1?
    decode: np.ndarray        # value of every code 0 .. 2**width - 1


@lru_cache(maxsize=None)
def _table(fmt: str) -> _Table:
    info = format_info(fmt)
    if isinstance(info, IntFormat):
        raise TypeError("integer formats have no table")
    n_mag = 1 << (info.ebits + info.mbits)
    mags = np.arange(n_mag)
    mag_values = np.array([info.magnitude_value(int(m)) for m in mags])
    finite = np.isfinite(mag_values)
    codes, values = mags[finite], mag_values[finite]
    order = np.argsort(values, kind="stable")
    codes, values = codes[order], values[order]
    # The value one step beyond the largest: the overflow target of rounding.
    top = values[-1]
    top_exp = np.floor(np.log2(top))
    beyond = top + 2.0 ** (top_exp - info.mbits)
    ext_values = np.append(values, beyond)
    ext_codes = np.append(codes, codes[-1] + 1)
    midpoints = (ext_values[:-1] + ext_values[1:]) / 2
    # Ties go to the even code; a format with no mantissa bits (E8M0) has no
    # even/odd significand, and its ties go up (1.5 * 2**e -> 2**(e+1)).
    tie_up = ((ext_codes[1:] % 2) == 0) | (info.mbits == 0)
    if info.signed:
        decode = np.concatenate([mag_values, -mag_values])
    else:
        decode = mag_values
    return _Table(values, codes, midpoints, tie_up, decode)


def max_value(fmt: str) -> float:
    """Largest finite value of ``fmt``."""
    info = format_info(fmt)
    if isinstance(info, IntFormat):
        return float(2 ** (info.bits - 1) - 1)
    return float(_table(info.name).values[-1])


def _check_rounding(rounding: str) -> None:
    if rounding not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding {rounding!r}; expected one of {ROUNDING_MODES}")


def _round_half(q: np.ndarray, rounding: str) -> np.ndarray:
    if rounding == "rne":
        return np.rint(q)
    if rounding == "rna":
        return np.sign(q) * np.floor(np.abs(q) + 0.5)
    return np.trunc(q)


def _encode_int(x: np.ndarray, info: IntFormat, rounding: str, saturate: bool) -> np.ndarray:
    if np.isnan(x).any():
        raise ValueError(f"{info.name} has no NaN encoding; input holds NaN")
    lo, hi = -(2 ** (info.bits - 1)), 2 ** (info.bits - 1) - 1
    with np.errstate(invalid="ignore"):
        q = _round_half(x, rounding)
    over = (q < lo) | (q > hi)
    if over.any() and not saturate:
        raise ValueError(f"{int(over.sum())} value(s) overflow {info.name} range [{lo}, {hi}]")
    q = np.clip(q, lo, hi).astype(np.int64)
    return (q & ((1 << info.bits) - 1)).astype(np.uint8)


_UNREPRESENTABLE = -1


def _encode_magnitude_by_table(a: np.ndarray, info: FloatFormat, rounding: str,
                               saturate: bool) -> np.ndarray:
    """Magnitude codes of non-negative ``a`` (NaN allowed) by search in the value table.

    This is the definition of rounding. Returns int64 codes, ``_UNREPRESENTABLE``
    where the format has no code for the result.
    """
    tab = _table(info.name)
    nan = np.isnan(a)
    a = np.where(nan, 0.0, a)
    n_vals = len(tab.values)
    if rounding == "rtz":
        idx = np.maximum(np.searchsorted(tab.values, a, side="right") - 1, 0)
        idx = np.where(np.isinf(a), n_vals, idx)        # infinity stays out of range
    else:
        idx = np.searchsorted(tab.midpoints, a, side="left")
        mids = np.append(tab.midpoints, np.inf)
        tie_up = np.append(tab.tie_up, False) if rounding == "rne" else np.ones(len(mids), bool)
        idx = idx + ((a == mids[idx]) & tie_up[idx])
    overflow = idx >= n_vals
    mag = tab.codes[np.minimum(idx, n_vals - 1)].astype(np.int64)
    if not saturate:
        over_code = info.inf_code if info.inf_code is not None else info.nan_code
        mag[overflow] = _UNREPRESENTABLE if over_code is None else over_code
    mag[nan] = _UNREPRESENTABLE if info.nan_code is None else info.nan_code
    if not info.signed and not saturate:
        mag[a == 0] = _UNREPRESENTABLE
    return mag


_F64_MANT = 52


@lru_cache(maxsize=None)
def _magnitude_lut(fmt: str, rounding: str, saturate: bool) -> tuple[np.ndarray, int]:
    """Magnitude code for every class of float64 magnitudes, by their top bits.

    A float64 magnitude is classed by its exponent and top ``mbits + 1``
    mantissa bits (the key) and whether any lower bit is set (sticky). Every
    value and every rounding midpoint of the format has at most ``mbits + 1``
    significant bits, so all members of a class round alike; one representative
    per class, rounded by :func:`_encode_magnitude_by_table`, fills the entry.
    """
    info = format_info(fmt)
    shift = _F64_MANT - info.mbits - 1
    keys = np.arange(1 << (11 + info.mbits + 1), dtype=np.uint64)
    reps = np.stack([keys << np.uint64(shift), (keys << np.uint64(shift)) | np.uint64(1)], axis=-1)
    lut = _encode_magnitude_by_table(reps.view(np.float64).ravel(), info, rounding, saturate)
    return lut, shift


def _encode_float(x: np.ndarray, info: FloatFormat, rounding: str, saturate: bool) -> np.ndarray:
    lut, shift = _magnitude_lut(info.name, rounding, saturate)
    bits = np.ascontiguousarray(x).view(np.uint64)
    sign = bits >> np.uint64(63)
    mag_bits = bits & np.uint64(0x7FFF_FFFF_FFFF_FFFF)
    index = ((mag_bits >> np.uint64(shift)) << np.uint64(1)) | \
            ((mag_bits & np.uint64((1 << shift) - 1)) != 0).astype(np.uint64)
    mag = lut[index]
    if not info.signed and (sign & (mag_bits != 0)).any():
        raise ValueError(f"{info.name} encodes only positive values; got {x[(sign == 1) & (mag_bits != 0)][:4]}")
    bad = mag == _UNREPRESENTABLE
    if bad.any():
        raise ValueError(f"{int(bad.sum())} value(s) have no {info.name} code "
                         f"(NaN, or overflow / zero without saturation); first: {x[bad][:4]}")
    if info.signed:
        mag = mag | (sign.astype(np.int64) << (info.ebits + info.mbits))
    return mag.astype(np.uint8)


def encode(x, fmt: str, *, rounding: str = "rne", saturate: bool = True) -> np.ndarray:
    """Round values to the nearest code of ``fmt``.

    Parameters
    ----------
    x : array_like of float
        Values; converted to float64 (float32 and narrower are exact).
    fmt : str
        One of ``FORMATS``.
    rounding : {"rne", "rna", "rtz"}
        ``"rne"`` rounds to the nearest value and breaks ties toward the even
        code (mantissa LSB 0); ``"rna"`` breaks ties away from zero; ``"rtz"``
        truncates toward zero.
    saturate : bool
        If true, values beyond the largest finite magnitude (including ±inf)
        become ±max. If false they become ±Inf (E5M2), NaN (E4M3), or raise
        ``ValueError`` (formats with neither).

    Returns
    -------
    numpy.ndarray of uint8
        Bit patterns, same shape as ``x``. The sign of zero and of NaN is kept.

    Raises
    ------
    ValueError
        Unknown ``fmt`` or ``rounding``; NaN for a format without NaN; a
        non-positive value for E8M0 (zero saturates to the smallest code when
        ``saturate`` is true); overflow that the format cannot represent.
    """
    info = format_info(fmt)
    _check_rounding(rounding)
    x = as_real_array(x)
    if isinstance(info, IntFormat):
        return _encode_int(x, info, rounding, saturate)
    return _encode_float(x, info, rounding, saturate)


def decode(codes, fmt: str) -> np.ndarray:
    """Value of every code, as float64 (NaN and ±inf where the format defines them).

    Raises
    ------
    ValueError
        Unknown ``fmt``, or a code that does not fit in the format's width.
    """
    info = format_info(fmt)
    codes = np.asarray(codes)
    if not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"codes must be integers, got dtype {codes.dtype}")
    if codes.size and (codes.min() < 0 or codes.max() >= (1 << info.width)):
        raise ValueError(f"code out of range for {fmt} ({info.width} bits): "
                         f"min {codes.min()}, max {codes.max()}")
    codes = codes.astype(np.int64)
    if isinstance(info, IntFormat):
        half = 1 << (info.bits - 1)
        return np.where(codes >= half, codes - 2 * half, codes).astype(np.float64)
    return _table(info.name).decode[codes]
