"""OCP Microscaling (MX v1.0): blocks of 32 elements sharing one E8M0 power-of-two scale.

Definition (``docs/numerics.md``, section *OCP MX*):

- shared exponent ``E = floor(log2(amax_b)) - emax_elem``, clamped to [-127, 127];
  an all-zero block takes ``E = -127`` (scale code 0).
- element ``e = round(x / 2**E)`` in the element format, saturating to its
  largest finite magnitude (values in ``[max, 2**(emax+1))`` saturate).
- value ``2**E * e``.

MX INT8 is a fixed-point element with value ``code / 64`` (emax 0), saturating
symmetrically to ±127/64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import formats
from ._blocks import as_finite_array, block_amax, from_blocks, to_blocks

__all__ = ["MX_ELEMENTS", "MXElement", "MXTensor", "mx_element", "quantize"]


@dataclass(frozen=True)
class MXElement:
    """An MX element type: its storage format, ``emax`` and bit width."""

    fmt: str
    emax: int
    bits: int


MX_ELEMENTS = {
    "fp4": MXElement("e2m1", 2, 4),
    "fp6e2m3": MXElement("e2m3", 2, 6),
    "fp6e3m2": MXElement("e3m2", 4, 6),
    "fp8e4m3": MXElement("e4m3", 8, 8),
    "fp8e5m2": MXElement("e5m2", 15, 8),
    "int8": MXElement("int8", 0, 8),
}

_INT8_FRACTION_BITS = 6


def mx_element(elem) -> str:
    """The :data:`MX_ELEMENTS` name of ``elem``: that name, or a format in any spelling
    :func:`golden.formats.canonical_format` takes (``"fp8_e4m3"``, ``ml_dtypes.float4_e2m1fn``, ``np.int8``).

    Raises
    ------
    ValueError
        Not an MX element type, naming it.
    """
    if isinstance(elem, str) and elem in MX_ELEMENTS:
        return elem
    try:
        fmt = formats.canonical_format(elem)
    except ValueError as error:
        raise ValueError(f"unknown MX element {elem!r}; expected one of {sorted(MX_ELEMENTS)} "
                         f"or a format name ({error})") from None
    for name, spec in MX_ELEMENTS.items():
        if spec.fmt == fmt:
            return name
    raise ValueError(f"{elem!r} ({fmt}) is not an MX element type; expected one of {sorted(MX_ELEMENTS)}")


@dataclass(frozen=True)
class MXTensor:
    """A tensor in an MX format: element codes, E8M0 scale codes (one per block)."""

    codes: np.ndarray
    scale_codes: np.ndarray
    elem: str
    block: int
    axis: int

    def element_values(self) -> np.ndarray:
        spec = MX_ELEMENTS[self.elem]
        values = formats.decode(self.codes, spec.fmt)
        if self.elem == "int8":
            values = values / 2 ** _INT8_FRACTION_BITS
        return values

    def dequantize(self, dtype=None) -> np.ndarray:
        """Values ``2**E * e``: float64 (exact), or rounded to ``dtype`` (:func:`golden.formats.as_dtype`)."""
        elems, _ = to_blocks(self.element_values(), self.block, self.axis)
        scales = np.moveaxis(formats.decode(self.scale_codes, "e8m0"), self.axis, -1)
        return formats.as_dtype(from_blocks(elems * scales[..., None], self.axis), dtype)

    @property
    def bits_per_element(self) -> float:
        return MX_ELEMENTS[self.elem].bits + 8 / self.block


def quantize(x, elem: str, *, block: int = 32, axis: int = -1, rounding: str = "rne") -> MXTensor:
    """Quantize ``x`` to the MX element type ``elem`` along ``axis``.

    Parameters
    ----------
    x : array_like of float
        Finite values; the length along ``axis`` must be a multiple of ``block``.
    elem : {"fp4", "fp6e2m3", "fp6e3m2", "fp8e4m3", "fp8e5m2", "int8"}
    block : int
        Elements per block (32 in OCP MX v1.0).
    rounding : {"rne", "rna", "rtz"}
        Element rounding (the microxcaling library's default is ``"rna"``).

    Raises
    ------
    ValueError
        Unknown ``elem`` or ``rounding``, non-finite data, bad length or axis.
    """
    elem = mx_element(elem)
    spec = MX_ELEMENTS[elem]
    x = as_finite_array(x)
    blocks, axis = to_blocks(x, block, axis)
    amax = block_amax(blocks)
    with np.errstate(divide="ignore"):
        exp = np.floor(np.log2(amax)) - spec.emax
    exp = np.where(amax == 0, -127, np.clip(exp, -127, 127)).astype(np.int64)
    scaled = blocks * np.exp2(-exp.astype(np.float64))[..., None]
    if elem == "int8":
        q = formats.encode(scaled * 2 ** _INT8_FRACTION_BITS, "int8", rounding=rounding)
        q = np.where(q == 0x80, 0x81, q).astype(np.uint8)   # symmetric: -128 -> -127
    else:
        q = formats.encode(scaled, spec.fmt, rounding=rounding)
    return MXTensor(
        codes=from_blocks(q, axis),
        scale_codes=np.moveaxis((exp + 127).astype(np.uint8), -1, axis),
        elem=elem, block=block, axis=axis,
    )
