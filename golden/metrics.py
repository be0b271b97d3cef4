"""Error and cost measures used by tests and reports. Inputs are compared in float64."""

from __future__ import annotations

import numpy as np

__all__ = ["mse", "sqnr_db", "max_abs_error", "cosine_similarity", "bits_per_element"]


def _pair(reference, approx) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(reference, dtype=np.float64)
    a = np.asarray(approx, dtype=np.float64)
    if r.shape != a.shape:
        raise ValueError(f"shapes differ: {r.shape} vs {a.shape}")
    return r, a


def mse(reference, approx) -> float:
    """Mean squared error."""
    r, a = _pair(reference, approx)
    return float(((r - a) ** 2).mean())


def sqnr_db(reference, approx) -> float:
    """Signal-to-quantization-noise ratio ``10 log10(sum r**2 / sum (r - a)**2)`` in dB (inf if exact)."""
    r, a = _pair(reference, approx)
    noise = float(((r - a) ** 2).sum())
    signal = float((r ** 2).sum())
    if noise == 0:
        return float("inf")
    return 10.0 * np.log10(signal / noise) if signal > 0 else float("-inf")


def max_abs_error(reference, approx) -> float:
    r, a = _pair(reference, approx)
    return float(np.abs(r - a).max()) if r.size else 0.0


def cosine_similarity(reference, approx, axis: int = -1) -> np.ndarray:
    """Cosine similarity along ``axis`` (1 where both vectors are zero, 0 where one is)."""
    r, a = _pair(reference, approx)
    dot = (r * a).sum(axis=axis)
    nr = np.sqrt((r * r).sum(axis=axis))
    na = np.sqrt((a * a).sum(axis=axis))
    both_zero = (nr == 0) & (na == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(both_zero, 1.0, dot / (nr * na))
    return np.where(np.isnan(cos), 0.0, cos)


def bits_per_element(total_bits: float, n_elements: int) -> float:
    """Storage cost per element, scales and metadata included in ``total_bits``."""
    if n_elements <= 0:
        raise ValueError(f"n_elements must be positive, got {n_elements!r}")
    return total_bits / n_elements
