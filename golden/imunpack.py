"""IM-Unpack: exact integer GEMM from b-bit GEMMs only, by unpacking heavy hitters.

Definitions (``docs/numerics.md``, section *IM-Unpack*), with ``s = 2**(b-1)``:

- an entry *fits* if ``|x| < s``;
- a heavy hitter splits as ``x = s * floor(x / s) + (x mod s)``: the low part
  (in ``[0, s-1]``) stays, the high part moves to a new row (or column) that
  carries an extra factor ``s``; splitting repeats until every entry fits.
- ``unpack_rows``: split whole rows of A that hold a heavy hitter.
- ``unpack_cols``: split whole inner-dimension columns of A; the matching row
  of B is duplicated and the new inner index carries the factor ``s``.
- ``unpack_both``: greedily split the row or column with the most heavy hitters
  (ties: the row) until everything fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["rtn", "Unpacked", "unpack_rows", "unpack_cols", "unpack_both", "matmul",
           "MatmulResult", "STRATEGIES"]

STRATEGIES = ("row", "col", "both")


def rtn(x, beta: float, p: float = 1.0) -> tuple[np.ndarray, float]:
    """Round-to-nearest integer quantization without clipping.

    ``alpha = quantile(|x|, p)`` (``p = 1``: max), ``scale = (beta / 2) / alpha``,
    ``q = round_half_even(x * scale)``. Entries beyond ``alpha`` become heavy
    hitters larger than ``beta / 2``.

    Returns
    -------
    q : ndarray of int64
    scale : float
        ``x ~= q / scale``.
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("rtn needs finite data")
    if not beta > 0:
        raise ValueError(f"beta must be positive, got {beta!r}")
    if not 0 < p <= 1:
        raise ValueError(f"p must lie in (0, 1], got {p!r}")
    alpha = float(np.quantile(np.abs(x), p)) if x.size else 0.0
    if alpha == 0:
        return np.zeros(x.shape, np.int64), 1.0
    scale = (beta / 2) / alpha
    return np.rint(x * scale).astype(np.int64), scale


def _check_bits(b) -> int:
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or not 2 <= b <= 32:
        raise ValueError(f"bit width b must be an integer in 2..32, got {b!r}")
    return int(b)


def _as_int_matrix(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {a.dtype}")
    if a.size and (a.min() < -(2 ** 62) or a.max() >= 2 ** 62):
        raise ValueError(f"{name} entries must lie in [-2**62, 2**62)")
    return a.astype(np.int64)


@dataclass
class Unpacked:
    """An unpacked matrix ``M`` (every entry fits in b bits) and how to fold it back.

    ``rows[i]`` / ``cols[j]`` is the original row / column each line came from,
    ``row_scale[i]`` / ``col_scale[j]`` its factor (a power of ``2**(b-1)``):
    ``original[r, c] = sum over i, j with rows[i] = r, cols[j] = c of
    row_scale[i] * col_scale[j] * M[i, j]``.
    """

    matrix: np.ndarray
    rows: np.ndarray
    row_scale: np.ndarray
    cols: np.ndarray
    col_scale: np.ndarray
    bits: int = field(default=8)

    def fold(self) -> np.ndarray:
        """The original matrix (exact, int64)."""
        m, n = int(self.rows.max()) + 1, int(self.cols.max()) + 1
        scaled = (self.matrix.astype(object) * self.row_scale.astype(object)[:, None]
                  * self.col_scale.astype(object)[None, :])
        out = np.zeros((m, n), dtype=object)
        np.add.at(out, (self.rows[:, None], self.cols[None, :]), scaled)
        return out.astype(np.int64)


def _split(values: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    high = np.floor_divide(values, s)
    return values - high * s, high


def _start(a: np.ndarray, b: int) -> Unpacked:
    m, n = a.shape
    return Unpacked(a.copy(), np.arange(m), np.ones(m, np.int64), np.arange(n), np.ones(n, np.int64), b)


def _split_rows(u: Unpacked, idx: np.ndarray, s: int) -> None:
    low, high = _split(u.matrix[idx], s)
    u.matrix[idx] = low
    u.matrix = np.vstack([u.matrix, high])
    u.rows = np.concatenate([u.rows, u.rows[idx]])
    u.row_scale = np.concatenate([u.row_scale, u.row_scale[idx] * s])


def _split_cols(u: Unpacked, idx: np.ndarray, s: int) -> None:
    low, high = _split(u.matrix[:, idx], s)
    u.matrix[:, idx] = low
    u.matrix = np.hstack([u.matrix, high])
    u.cols = np.concatenate([u.cols, u.cols[idx]])
    u.col_scale = np.concatenate([u.col_scale, u.col_scale[idx] * s])


def _unpack_lines(a, b: int, axis: int) -> Unpacked:
    b = _check_bits(b)
    s = 1 << (b - 1)
    u = _start(_as_int_matrix(a, "a"), b)
    split = _split_rows if axis == 0 else _split_cols
    while True:
        bad = np.flatnonzero((np.abs(u.matrix) >= s).any(axis=1 - axis))
        if not bad.size:
            return u
        split(u, bad, s)


def unpack_rows(a, b: int) -> Unpacked:
    """Split rows of ``a`` until every entry fits in ``b`` bits (``|x| < 2**(b-1)``)."""
    return _unpack_lines(a, b, axis=0)


def unpack_cols(a, b: int) -> Unpacked:
    """Split columns of ``a`` until every entry fits in ``b`` bits."""
    return _unpack_lines(a, b, axis=1)


def unpack_both(a, b: int) -> Unpacked:
    """Greedy: split the row or column with most out-of-range entries (ties: row) until all fit."""
    b = _check_bits(b)
    s = 1 << (b - 1)
    u = _start(_as_int_matrix(a, "a"), b)
    while True:
        bad = np.abs(u.matrix) >= s
        per_row, per_col = bad.sum(axis=1), bad.sum(axis=0)
        if not per_row.any():
            return u
        r, c = int(per_row.argmax()), int(per_col.argmax())
        if per_row[r] >= per_col[c]:
            _split_rows(u, np.array([r]), s)
        else:
            _split_cols(u, np.array([c]), s)


@dataclass(frozen=True)
class MatmulResult:
    """``product`` = A @ B exactly (int64 where it fits, else Python ints), and the unpack ratio."""

    product: np.ndarray
    ratio: float
    gemm_shape: tuple[int, int, int]


_UNPACKERS = {"row": unpack_rows, "col": unpack_cols, "both": unpack_both}


def _low_bit_gemm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Product of two b-bit operand matrices; exact in float64 while |sum| < 2**53."""
    bound = int(np.abs(a).max(initial=0)) * int(np.abs(b).max(initial=0)) * a.shape[1]
    if bound < 2 ** 53:
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a @ b


def matmul(a, b_mat, bits: int, strategy: str = "both") -> MatmulResult:
    """Exact ``A @ B`` computed only from GEMMs whose operands fit in ``bits`` bits.

    A is unpacked with ``strategy`` (its rows and/or inner columns), then B
    (duplicated inner rows included) is unpacked the same way from its own
    side: its output columns and/or inner rows. Each distinct inner-index
    factor gives one low-bit GEMM; partial products are folded back with the
    row, column and inner factors.

    Returns
    -------
    MatmulResult
        ``ratio`` = (M' * K' * N') / (M * K * N) of the unpacked GEMM.
    """
    if strategy not in _UNPACKERS:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {STRATEGIES}")
    bits = _check_bits(bits)
    a = _as_int_matrix(a, "a")
    bm = _as_int_matrix(b_mat, "b")
    if a.shape[1] != bm.shape[0]:
        raise ValueError(f"inner dimensions differ: a is {a.shape}, b is {bm.shape}")
    ua = _UNPACKERS[strategy](a, bits)
    # A's inner splits duplicate B's rows (inner factor col_scale of A).
    b_dup = bm[ua.cols]
    ub = _UNPACKERS[strategy](b_dup.T, bits)          # B^T: rows = B's output columns
    # B's inner splits (columns of B^T) duplicate A's columns.
    a_final = ua.matrix[:, ub.cols]
    inner_scale = ua.col_scale[ub.cols] * ub.col_scale
    b_final = ub.matrix.T
    m, n = a.shape[0], bm.shape[1]
    s = 1 << (bits - 1)
    bound = s * s * int(np.abs(a).max(initial=0)) * int(np.abs(bm).max(initial=0)) * max(a.shape[1], 1)
    use_object = bound >= 2 ** 62          # partial terms could leave int64: fold in Python ints
    out = np.zeros((m, n), dtype=object if use_object else np.int64)
    partial_sum = np.zeros((a_final.shape[0], b_final.shape[1]), dtype=out.dtype)
    for factor in np.unique(inner_scale):
        sel = inner_scale == factor
        part = _low_bit_gemm(a_final[:, sel], b_final[sel, :])
        partial_sum = partial_sum + (part.astype(object) * int(factor) if use_object else part * factor)
    rs = ua.row_scale.astype(object) if use_object else ua.row_scale
    cs = ub.row_scale.astype(object) if use_object else ub.row_scale
    weighted = partial_sum * rs[:, None] * cs[None, :]
    rows_folded = np.zeros((m, weighted.shape[1]), dtype=out.dtype)
    np.add.at(rows_folded, ua.rows, weighted)
    np.add.at(out.T, ub.rows, rows_folded.T)
    k = a.shape[1]
    ratio = (a_final.shape[0] * a_final.shape[1] * b_final.shape[1]) / max(m * k * n, 1)
    return MatmulResult(out, ratio, (a_final.shape[0], a_final.shape[1], b_final.shape[1]))
