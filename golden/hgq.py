"""HGQ: per-element fixed-point quantization, EBOPs, and learning per-weight fractional bits.

A fixed-point format is (k, i, f): sign bit ``k`` in {0, 1}, ``i`` integer bits
(sign excluded), ``f`` fractional bits; width ``k + i + f``. Definitions in
``docs/numerics.md``, section *HGQ*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ROUNDINGS", "OVERFLOWS", "quantize_fixed", "bit_width", "ebops_dense",
           "FitResult", "fit_fractional_bits"]

ROUNDINGS = ("TRN", "RND", "RND_CONV")
OVERFLOWS = ("WRAP", "SAT", "SAT_SYM")


def _round(v: np.ndarray, mode: str) -> np.ndarray:
    if mode == "TRN":
        return np.floor(v)
    if mode == "RND":
        return np.floor(v + 0.5)
    return np.rint(v)


def quantize_fixed(x, k, i, f, *, round: str = "RND", overflow: str = "SAT") -> np.ndarray:
    """Quantize to fixed point with per-element (broadcast) ``k``, ``i``, ``f``.

    Range ``[-k * 2**i, 2**i - 2**-f]``. Rounding on the grid ``2**-f``:
    ``TRN`` floor, ``RND`` floor(v + 1/2), ``RND_CONV`` ties to even.
    Overflow: ``SAT`` clips to the range and then rounds; ``SAT_SYM`` clips to
    ``[-(2**i - 2**-f), 2**i - 2**-f]`` (``[0, ...]`` when unsigned) then rounds;
    ``WRAP`` rounds, then wraps modulo ``2**(k + i)`` into the range.
    An element of width ``k + i + f <= 0`` quantizes to 0.

    Raises
    ------
    ValueError
        Unknown mode, ``k`` not 0/1, non-integer ``i``/``f``, NaN input.
    """
    if round not in ROUNDINGS:
        raise ValueError(f"unknown rounding {round!r}; expected one of {ROUNDINGS}")
    if overflow not in OVERFLOWS:
        raise ValueError(f"unknown overflow {overflow!r}; expected one of {OVERFLOWS}")
    x = np.asarray(x, dtype=np.float64)
    if np.isnan(x).any():
        raise ValueError("x holds NaN")
    k, i, f = (np.asarray(v) for v in (k, i, f))
    for name, v in (("k", k), ("i", i), ("f", f)):
        if not np.array_equal(v, np.rint(v)):
            raise ValueError(f"{name} must be integers")
    if not np.isin(k, (0, 1)).all():
        raise ValueError("k (sign bit) must be 0 or 1")
    k, i, f = (v.astype(np.float64) for v in (k, i, f))
    step = np.exp2(-f)
    hi = np.exp2(i) - step
    lo = -k * np.exp2(i)
    if overflow == "SAT":
        q = _round(np.clip(x, lo, hi) / step, round) * step
    elif overflow == "SAT_SYM":
        q = _round(np.clip(x, np.where(k > 0, -hi, 0.0), hi) / step, round) * step
    else:
        units = _round(np.where(np.isfinite(x), x, 0.0) / step, round)
        span = np.exp2(k + i + f)
        low_units = lo / step
        q = (np.mod(units - low_units, span) + low_units) * step
        q = np.where(np.isfinite(x), q, np.where(x > 0, hi, lo))
    return np.where(k + i + f <= 0, 0.0, q)


def bit_width(k, i, f) -> np.ndarray:
    """Width ``max(k + i + f, 0)`` of each element's format."""
    return np.maximum(np.asarray(k) + np.asarray(i) + np.asarray(f), 0)


def ebops_dense(weight_bits, input_bits) -> float:
    """EBOPs of ``y = x @ W`` for ``W[in, out]``: ``sum_ij bits(x_i) * bits(W_ij)``."""
    wb = np.asarray(weight_bits, dtype=np.float64)
    ab = np.asarray(input_bits, dtype=np.float64)
    if wb.ndim != 2 or ab.shape != (wb.shape[0],):
        raise ValueError(f"weight_bits must be [in, out] and input_bits [in]; got {wb.shape}, {ab.shape}")
    return float((ab[:, None] * wb).sum())


@dataclass(frozen=True)
class FitResult:
    """Learned per-weight fractional bits and the run's history."""

    f: np.ndarray
    integer_bits: int
    weights: np.ndarray
    loss: np.ndarray
    ebops: np.ndarray


def fit_fractional_bits(w, x, *, beta: float, input_bits: int = 8, steps: int = 200,
                        lr: float = 0.5, f_init: float = 6.0, f_range=(-8, 16)) -> FitResult:
    """Learn per-weight fractional bits of a linear layer by HGQ's surrogate gradient.

    Minimises ``mean((x @ W_q - x @ W)**2) + beta * EBOPs`` over a float ``f``
    per weight; the forward pass uses ``round(f)``, ``k = 1``, ``i`` = the
    integer bits of ``max |W|``, ``RND`` + ``SAT_SYM``. The gradient of the
    quantized weight with respect to ``f`` is ``ln 2 * (W - W_q)``, and
    ``d EBOPs / d f_ij = input_bits``. Sign-normalised gradient descent,
    deterministic; the bits of the step with the lowest loss are returned.

    Parameters
    ----------
    w : array [in, out]
    x : array [n, in]
        Calibration inputs.
    beta : float
        Weight of EBOPs in the loss (>= 0).
    """
    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if w.ndim != 2 or x.ndim != 2 or x.shape[1] != w.shape[0]:
        raise ValueError(f"need w [in, out] and x [n, in]; got {w.shape}, {x.shape}")
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got {beta!r}")
    amax = float(np.abs(w).max()) if w.size else 0.0
    i_bits = int(np.ceil(np.log2(amax))) if amax > 0 else 0
    f = np.full(w.shape, float(f_init))
    y_ref = x @ w
    losses, ebops = [], []
    best_f, best_loss = np.rint(f), np.inf
    for _ in range(steps):
        fi = np.clip(np.rint(f), *f_range)
        wq = quantize_fixed(w, 1, i_bits, fi, round="RND", overflow="SAT_SYM")
        err = x @ wq - y_ref
        bits = bit_width(1, i_bits, fi)
        e = ebops_dense(bits, np.full(w.shape[0], input_bits))
        losses.append(float((err ** 2).mean()) + beta * e)
        ebops.append(e)
        if losses[-1] < best_loss:
            best_f, best_loss = fi, losses[-1]
        grad_wq = 2.0 * x.T @ err / err.size
        grad_f = grad_wq * np.log(2.0) * (w - wq) + beta * input_bits
        f = np.clip(f - lr * grad_f / (np.abs(grad_f).max() + 1e-30), *f_range)
    fi = best_f
    wq = quantize_fixed(w, 1, i_bits, fi, round="RND", overflow="SAT_SYM")
    return FitResult(fi.astype(np.int64), i_bits, wq, np.array(losses), np.array(ebops))
