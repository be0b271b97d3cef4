"""The FGMP dot-product datapath's arithmetic: exact fixed-point accumulation, one FP32 rounding.

Definition (``docs/numerics.md``, section *FGMP dot product*):

- Every element becomes an integer in units of ``2**-10``: an FP8 element is
  ``2 * n8`` (E4M3 value ``n8 * 2**-9``); an NVFP4 element is ``nb * n4`` (block
  scale ``nb * 2**-9``, E2M1 value ``n4 * 2**-1``). Magnitudes stay below 2**22.
- A block pair contributes ``sum_i w_i * a_i`` in units of ``2**-20`` (each
  product below 2**44); a row's accumulator is the exact sum over its blocks,
  a signed integer that must fit in ``ACC_BITS`` bits.
- The row result is ``rne_fp32(acc * s_w * s_a * 2**-20)`` with the FP32
  tensor scales, rounded once (IEEE subnormals, overflow to ±inf, +0 for 0).
- A NaN element code or NaN block-scale code anywhere in the row, or a
  non-finite tensor scale, gives the quiet NaN ``0x7FC00000``.
"""

from __future__ import annotations

import numpy as np

from . import formats
from .facts import ACC_BITS, FP32_QNAN, UNIT_BITS

__all__ = ["ACC_BITS", "UNIT_BITS", "FP32_QNAN", "element_units", "block_products", "dot",
           "round_to_fp32", "fp32_parts"]



def element_units(codes, modes, scale_codes) -> tuple[np.ndarray, np.ndarray]:
    """Elements as integers in units of ``2**-10``, and a NaN flag per element.

    Parameters
    ----------
    codes : array (..., 16) of uint8
        E4M3 codes where the block is FP8, E2M1 codes (low 4 bits) where NVFP4.
    modes : array (...,) of bool
        True = FP8.
    scale_codes : array (...,) of uint8
        E4M3 block scale of NVFP4 blocks (ignored for FP8 blocks).
    """
    codes = np.asarray(codes, dtype=np.int64)
    modes = np.asarray(modes, dtype=bool)[..., None]
    fp8 = formats.decode(codes & 0xFF, "e4m3")
    fp4 = formats.decode(codes & 0xF, "e2m1")
    scale = formats.decode(np.asarray(scale_codes, dtype=np.int64), "e4m3")[..., None]
    nan = np.where(modes, np.isnan(fp8), np.isnan(scale) & np.ones(fp4.shape, bool))
    value = np.where(modes, fp8, fp4 * scale)
    units = np.where(nan, 0.0, value) * 2.0 ** UNIT_BITS
    return units.astype(np.int64), nan


def block_products(w_units: np.ndarray, a_units: np.ndarray) -> np.ndarray:
    """``sum_i w_i * a_i`` per block pair, in units of ``2**-20`` (int64, exact)."""
    return (w_units * a_units).sum(axis=-1)


def fp32_parts(value) -> tuple[int, int]:
    """An FP32 value as ``(m, e)`` with ``value = m * 2**e``, ``m`` a signed integer."""
    bits = int(np.float32(value).view(np.uint32))
    sign = -1 if bits >> 31 else 1
    exp_field, frac = (bits >> 23) & 0xFF, bits & 0x7FFFFF
    if exp_field == 0:
        return sign * frac, -149
    return sign * (frac | 0x800000), exp_field - 150


def round_to_fp32(n: int, e: int) -> int:
    """FP32 bit pattern of ``n * 2**e`` rounded to nearest, ties to even.

    Overflow gives ±inf; results below the smallest subnormal round to ±0
    (or the smallest subnormal) by the same rule; ``n = 0`` gives +0.
    """
    if n == 0:
        return 0
    sign = 0x80000000 if n < 0 else 0
    n = abs(n)
    # Choose the quantum: 2**(E - 23) for a normal result with exponent E, at least 2**-149.
    top = n.bit_length() - 1 + e                       # floor(log2(value))
    quantum_exp = max(top - 23, -149)
    shift = quantum_exp - e
    if shift > 0:
        q, rem = n >> shift, n & ((1 << shift) - 1)
        half = 1 << (shift - 1)
        if rem > half or (rem == half and q & 1):
            q += 1
    else:
        q = n << -shift
    # q * 2**quantum_exp; renormalise if rounding carried into a new binade.
    if q >= 1 << 24:
        q >>= 1
        quantum_exp += 1
    if q < 1 << 23:                                     # subnormal (quantum_exp == -149)
        return sign | q
    exp_field = quantum_exp + 150
    if exp_field >= 0xFF:
        return sign | 0x7F800000
    return sign | (exp_field << 23) | (q & 0x7FFFFF)


def _blocked_operand(modes, codes, scale_codes, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One operand as ``(rows, blocks)`` modes and scales and ``(rows, blocks, 16)`` codes.

    Accepts the codes blocked, ``(rows, blocks, 16)``, or as an FGMP tensor holds them,
    ``(rows, blocks * 16)``; a 1-D operand (one row: an activation vector) gets a row axis.
    Anything else is refused with the shapes that were expected.
    """
    modes = np.asarray(modes)
    codes = np.asarray(codes)
    scale_codes = np.asarray(scale_codes)
    if modes.dtype != bool:
        raise ValueError(f"{name}_modes must be booleans (True = FP8), got dtype {modes.dtype}")
    if codes.dtype.kind not in "iu" or scale_codes.dtype.kind not in "iu":
        raise ValueError(f"{name}_codes and {name}_scale_codes must be integer codes, "
                         f"got dtypes {codes.dtype} and {scale_codes.dtype}")
    if modes.ndim == 1:                                   # one row
        if scale_codes.ndim == 1:
            scale_codes = scale_codes[None]
        if codes.ndim == 1 or codes.shape == (modes.shape[0], 16):
            codes = codes[None]
        modes = modes[None]
    if modes.ndim != 2:
        raise ValueError(f"{name}_modes must have shape (rows, blocks) or (blocks,), got {modes.shape}")
    rows, blocks = modes.shape
    if codes.shape == (rows, blocks * 16):
        codes = codes.reshape(rows, blocks, 16)
    if codes.shape != (rows, blocks, 16):
        raise ValueError(f"{name}_codes has shape {codes.shape}; for {name}_modes of shape {modes.shape} "
                         f"expected ({rows}, {blocks * 16}) (as quantized) or ({rows}, {blocks}, 16) (blocked)")
    if scale_codes.shape != modes.shape:
        raise ValueError(f"{name}_scale_codes has shape {scale_codes.shape}; expected {modes.shape}, "
                         f"one per block like {name}_modes")
    return modes, codes, scale_codes


def dot(w_modes, w_codes, w_scale_codes, a_modes, a_codes, a_scale_codes,
        w_tensor_scale, a_tensor_scale) -> tuple[np.ndarray, list[int]]:
    """Row dot products exactly as the datapath computes them.

    Parameters
    ----------
    w_modes : array (rows, blocks) of bool
        True = FP8.
    w_codes : array (rows, blocks * 16) or (rows, blocks, 16) of uint8
        As :func:`golden.fgmp.quantize_weights` returns them, or blocked.
    w_scale_codes : array (rows, blocks) of uint8
    a_modes, a_codes, a_scale_codes : the activations, shaped like the weights'
        with 1 row (a GEMV: the vector meets every weight row) or ``rows`` rows;
        a 1-D activation (``(blocks,)`` modes, ``(blocks * 16,)`` codes) is one row.
    w_tensor_scale, a_tensor_scale : float
        FP32 tensor scales.

    Returns
    -------
    bits : ndarray of uint32, shape (rows,)
        FP32 results as bit patterns (NaN is ``0x7FC00000``).
    accumulators : list of int
        The exact row accumulators (units of ``2**-20``).

    Raises
    ------
    ValueError
        Shapes that do not pair up (the message gives the expected ones).
    OverflowError
        An accumulator leaves the signed ``ACC_BITS``-bit range.
    """
    w_modes, w_codes, w_scale_codes = _blocked_operand(w_modes, w_codes, w_scale_codes, "w")
    a_modes, a_codes, a_scale_codes = _blocked_operand(a_modes, a_codes, a_scale_codes, "a")
    if a_modes.shape[1] != w_modes.shape[1]:
        raise ValueError(f"the weights have {w_modes.shape[1]} blocks per row but the activations "
                         f"{a_modes.shape[1]}")
    if a_modes.shape[0] not in (1, w_modes.shape[0]):
        raise ValueError(f"the activations have {a_modes.shape[0]} rows; expected 1 (a GEMV) or "
                         f"{w_modes.shape[0]}, one per weight row")
    wu, wn = element_units(w_codes, w_modes, w_scale_codes)
    au, an = element_units(a_codes, a_modes, a_scale_codes)
    wu, au = np.broadcast_arrays(wu, au)
    nan_rows = (np.broadcast_to(wn, wu.shape) | np.broadcast_to(an, au.shape)).any(axis=(-1, -2))
    per_block = block_products(wu, au)
    accs = [int(sum(int(v) for v in row)) for row in per_block.reshape(per_block.shape[0], -1)]
    ws, as_ = np.float32(w_tensor_scale), np.float32(a_tensor_scale)
    scales_ok = bool(np.isfinite(ws) and np.isfinite(as_))
    mw, ew = fp32_parts(ws) if scales_ok else (0, 0)
    ma, ea = fp32_parts(as_) if scales_ok else (0, 0)
    out = []
    for acc, nan in zip(accs, nan_rows):
        if not -(1 << (ACC_BITS - 1)) <= acc < 1 << (ACC_BITS - 1):
            raise OverflowError(f"row accumulator {acc} exceeds {ACC_BITS} signed bits")
        if nan or not scales_ok:
            out.append(FP32_QNAN)
        else:
            out.append(round_to_fp32(acc * mw * ma, ew + ea - 2 * UNIT_BITS))
    return np.array(out, dtype=np.uint32), accs
