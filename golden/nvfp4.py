"""NVFP4: E2M1 elements in blocks of 16, an E4M3 scale per block, an FP32 scale per tensor.

Definition (``docs/numerics.md``, section *NVFP4*), all divisions exact then
rounded once, round-to-nearest-even, saturating:

- tensor scale ``s_t = fp32(amax(|x|) / (6 * 448))``; ``s_t = 1`` if ``x`` is all zero.
- block scale ``s_b = max(e4m3(amax_b / (6 * s_t)), 2**-9)``: never zero, so a
  block whose scale underflows keeps the smallest scale instead of losing its data.
- element ``e = e2m1(x / (s_t * s_b))``; value ``s_t * s_b * e``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import formats
from ._blocks import as_finite_array, block_amax, from_blocks, to_blocks

__all__ = ["NVFP4Tensor", "quantize", "tensor_scale_for", "block_scale_codes", "E4M3_MIN_CODE", "check_tensor_scale"]

E4M3_MIN_CODE = 0x01
"""Smallest block-scale code: 2**-9, the least positive E4M3 value."""


@dataclass(frozen=True)
class NVFP4Tensor:
    """A tensor quantized to NVFP4.

    Attributes
    ----------
    codes : ndarray of uint8
        E2M1 codes, same shape as the input.
    scale_codes : ndarray of uint8
        E4M3 block-scale codes; the quantized axis is divided by ``block``.
    tensor_scale : numpy.float32
    block, axis : int
    """

    codes: np.ndarray
    scale_codes: np.ndarray
    tensor_scale: np.float32
    block: int
    axis: int

    def dequantize(self, dtype=None) -> np.ndarray:
        """Values ``s_t * s_b * e``: float64 (exact: at most 28 significant bits), or rounded to
        ``dtype`` (``np.float32``, ``ml_dtypes.bfloat16``, ...: :func:`golden.formats.as_dtype`)."""
        elems, _ = to_blocks(formats.decode(self.codes, "e2m1"), self.block, self.axis)
        scales = np.moveaxis(formats.decode(self.scale_codes, "e4m3"), self.axis, -1)
        return formats.as_dtype(from_blocks(elems * scales[..., None] * np.float64(self.tensor_scale), self.axis), dtype)

    @property
    def bits_per_element(self) -> float:
        """Storage bits per element: 4 + 8 / block + 32 / size."""
        return 4 + 8 / self.block + 32 / self.codes.size

    def packed_codes(self) -> np.ndarray:
        """The E2M1 codes two per byte along the last axis (:func:`golden.formats.pack_fp4`,
        torchao's order), as a ``float4_e2m1fn_x2`` tensor holds them."""
        return formats.pack_fp4(self.codes, -1)


def tensor_scale_for(amax: float, elem_max: float = 6.0) -> np.float32:
    """FP32 tensor scale ``amax / (elem_max * 448)``; 1.0 when ``amax`` is 0.

    Raises
    ------
    ValueError
        The scale leaves FP32's range: it would round to infinity (``amax`` above
        about ``3.4e38 * elem_max * 448``) or to zero (``amax`` below about
        ``7e-46 * elem_max * 448``). Finite float64 data can do both; rescale it.
    """
    if amax == 0:
        return np.float32(1.0)
    exact = amax / (elem_max * 448.0)
    with np.errstate(over="ignore", under="ignore"):
        scale = np.float32(exact)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"amax {amax!r} needs the tensor scale amax / {elem_max * 448.0:g} = {exact:.4g}, "
                         f"which FP32 cannot hold (it rounds to {float(scale)}); rescale the data")
    return scale


def block_scale_codes(amax: np.ndarray, tensor_scale, elem_max: float = 6.0) -> np.ndarray:
    """E4M3 codes of ``amax / (elem_max * s_t)``, never below code 0x01 (2**-9)."""
    codes = formats.encode(amax / (elem_max * np.float64(tensor_scale)), "e4m3")
    return np.maximum(codes, E4M3_MIN_CODE).astype(np.uint8)


def check_tensor_scale(tensor_scale) -> np.float32:
    """``tensor_scale`` as FP32; ``ValueError`` unless positive and finite."""
    with np.errstate(over="ignore"):
        s = np.float32(tensor_scale)
    if not (np.isfinite(s) and s > 0):
        raise ValueError(f"tensor_scale must be a positive finite FP32 value, got {tensor_scale!r}")
    return s


def quantize(x, *, block: int = 16, axis: int = -1, tensor_scale=None) -> NVFP4Tensor:
    """Quantize ``x`` to NVFP4 along ``axis``.

    Parameters
    ----------
    x : array_like of float
        Finite values; the length along ``axis`` must be a multiple of ``block``.
    block : int
        Elements per block (16 in NVFP4).
    axis : int
        The blocked (reduction) axis.
    tensor_scale : float, optional
        FP32 tensor scale to use instead of ``amax / (6 * 448)``; the FGMP
        quantizer passes its shared scale here.

    Raises
    ------
    ValueError
        Non-finite data, a length that is not a multiple of ``block``, a bad
        ``axis`` or a non-positive ``tensor_scale``.
    """
    x = as_finite_array(x)
    blocks, axis = to_blocks(x, block, axis)
    if tensor_scale is None:
        s_t = tensor_scale_for(float(np.abs(x).max()) if x.size else 0.0)
    else:
        s_t = check_tensor_scale(tensor_scale)
    scale_codes = block_scale_codes(block_amax(blocks), s_t)
    s_b = formats.decode(scale_codes, "e4m3")
    codes = formats.encode(blocks / (s_b[..., None] * np.float64(s_t)), "e2m1")
    return NVFP4Tensor(
        codes=from_blocks(codes, axis),
        scale_codes=np.moveaxis(scale_codes, -1, axis),
        tensor_scale=s_t, block=block, axis=axis,
    )
