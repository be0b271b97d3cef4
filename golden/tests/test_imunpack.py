"""IM-Unpack: exactness against Python big-int products, and the unpack rules."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from golden import imunpack as im

INT32_EDGES = [-(2 ** 31), 2 ** 31 - 1, -1, 0, 1]


def exact(a, b):
    return np.array(a, dtype=object) @ np.array(b, dtype=object)


@st.composite
def gemm(draw):
    m, k, n = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    bits = draw(st.integers(2, 8))
    lim = draw(st.sampled_from([2 ** (bits - 1), 1000, 2 ** 31]))
    elems = st.one_of(st.integers(-lim, lim - 1), st.sampled_from(INT32_EDGES + [-(2 ** (bits - 1))]))
    a = draw(arrays(np.int64, (m, k), elements=elems))
    b = draw(arrays(np.int64, (k, n), elements=elems))
    return a, b, bits


@given(case=gemm(), strategy=st.sampled_from(im.STRATEGIES))
def test_matmul_is_exact(case, strategy):
    a, b, bits = case
    result = im.matmul(a, b, bits, strategy)
    assert (np.array(result.product, dtype=object) == exact(a, b)).all()
    assert result.ratio >= 1


@given(a=arrays(np.int64, (5, 7), elements=st.integers(-(2 ** 31), 2 ** 31 - 1)),
       bits=st.integers(2, 8), unpack=st.sampled_from([im.unpack_rows, im.unpack_cols, im.unpack_both]))
def test_unpacked_entries_fit_and_fold_back(a, bits, unpack):
    u = unpack(a, bits)
    assert (np.abs(u.matrix) < 2 ** (bits - 1)).all()
    assert np.array_equal(u.fold(), a)


def test_rows_only_split_rows_and_cols_only_split_cols():
    a = np.array([[1, 200], [2, 3]])
    assert im.unpack_rows(a, 8).matrix.shape == (3, 2)
    assert im.unpack_cols(a, 8).matrix.shape == (2, 3)


def test_heavy_hitter_split_uses_floor_semantics():
    u = im.unpack_rows(np.array([[-200]]), 8)        # -200 = 128 * (-2) + 56
    assert u.matrix.ravel().tolist() == [56, -2] and u.row_scale.tolist() == [1, 128]


def test_greedy_prefers_the_line_with_most_heavy_hitters():
    a = np.zeros((4, 4), np.int64)
    a[:, 1] = 50_000                                 # one column holds all heavy hitters
    # 50000 = 128 * 390 + 80 and 390 = 128 * 3 + 6: two column splits, no row split
    assert im.unpack_both(a, 8).matrix.shape == (4, 6)


def test_no_unpacking_when_everything_fits(rng):
    a = rng.integers(-127, 128, (8, 8))
    b = rng.integers(-127, 128, (8, 8))
    r = im.matmul(a, b, 8, "both")
    assert r.ratio == 1.0 and np.array_equal(r.product, a @ b)


def test_rtn_does_not_clip_heavy_hitters():
    x = np.array([0.1, -0.2, 0.3, 10.0])
    q, s = im.rtn(x, beta=15, p=2 / 3)               # alpha = 0.3 (NumPy's linear quantile)
    assert s == pytest.approx(25.0)
    assert q.tolist() == [2, -5, 8, 250]             # 2.5 -> 2 and 7.5 -> 8: ties to even
    assert np.array_equal(im.rtn(np.zeros(3), beta=15)[0], np.zeros(3))


@pytest.mark.parametrize("call, match", [
    (lambda: im.matmul(np.ones((2, 3), int), np.ones((2, 3), int), 4), "inner dimensions"),
    (lambda: im.matmul(np.ones((2, 2)), np.ones((2, 2), int), 4), "integers"),
    (lambda: im.matmul(np.ones((2, 2), int), np.ones((2, 2), int), 1), "bit width"),
    (lambda: im.matmul(np.ones((2, 2), int), np.ones((2, 2), int), 4, "diag"), "'diag'"),
    (lambda: im.rtn([np.nan], 15), "finite"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
