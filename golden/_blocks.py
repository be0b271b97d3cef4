"""Shared helpers: argument checks and the block view of a tensor along one axis."""

from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import normalize_axis_index


def as_real_array(x, what: str = "x") -> np.ndarray:
    """``x`` as float64; ``ValueError`` naming ``what`` unless it holds real numbers.

    Complex input is refused rather than losing its imaginary part (pass ``x.real``
    to mean that); so are strings and objects that are not numbers. NaN, ±inf and
    empty arrays pass (callers that refuse them say so).
    """
    raw = x if isinstance(x, np.ndarray) else np.asarray(x)
    kind = raw.dtype.kind
    if kind == "c":
        raise ValueError(f"{what} is complex ({raw.dtype}); quantizers take real values "
                         f"(pass {what}.real to drop the imaginary part)")
    if kind not in "biufO":
        raise ValueError(f"{what} must hold real numbers, got an array of dtype {raw.dtype}")
    try:
        return raw.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must hold real numbers; its elements do not convert to float") from None


def as_finite_array(x, what: str = "x", *, allow_empty: bool = False) -> np.ndarray:
    """``x`` as float64; ``ValueError`` if it is not real, is empty (unless ``allow_empty``)
    or holds NaN or ±inf (counted, not just flagged)."""
    x = as_real_array(x, what)
    if x.size == 0 and not allow_empty:
        raise ValueError(f"{what} is empty (shape {x.shape}); there is nothing to quantize")
    bad = ~np.isfinite(x)
    if bad.any():
        raise ValueError(f"{what} holds {int(bad.sum())} non-finite value(s) (NaN or ±inf); "
                         f"quantizers take finite data")
    return x


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def to_blocks(x: np.ndarray, block: int, axis: int) -> tuple[np.ndarray, int]:
    """View ``x`` as ``(..., n_blocks, block)`` with ``axis`` moved last.

    Returns the blocked array and the normalised axis. The length along
    ``axis`` must be a multiple of ``block``: quantizers do not pad silently
    (pad explicitly with zeros, which every scheme here quantizes exactly).
    """
    block = check_positive_int(block, "block")
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"axis must be an integer, got {axis!r}")
    try:
        axis = normalize_axis_index(axis, x.ndim)
    except (np.exceptions.AxisError, TypeError):
        raise ValueError(f"axis {axis!r} is out of range for an array of {x.ndim} dimension(s)") from None
    n = x.shape[axis]
    if n % block:
        raise ValueError(f"length {n} along axis {axis} is not a multiple of the block size {block}; "
                         f"pad with zeros to {-(-n // block) * block}")
    moved = np.moveaxis(x, axis, -1)
    return moved.reshape(moved.shape[:-1] + (n // block, block)), axis


def from_blocks(blocks: np.ndarray, axis: int) -> np.ndarray:
    """Inverse of :func:`to_blocks`."""
    flat = blocks.reshape(blocks.shape[:-2] + (-1,))
    return np.moveaxis(flat, -1, axis)


def block_amax(blocks: np.ndarray) -> np.ndarray:
    """``max(|x|)`` over the last axis (pairwise halving: NumPy's reduce is slow on short axes)."""
    a = np.abs(blocks)
    while a.shape[-1] > 1 and a.shape[-1] % 2 == 0:
        half = a.shape[-1] // 2
        a = np.maximum(a[..., :half], a[..., half:])
    return a.max(axis=-1)
