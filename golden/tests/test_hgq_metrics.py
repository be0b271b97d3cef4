"""HGQ fixed-point quantization, EBOPs, the bit-width optimizer, and metrics."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from golden import hgq, metrics


@pytest.mark.parametrize("rnd, overflow, x, expected", [
    ("TRN", "SAT", [0.3, -0.3, 1.99], [0.25, -0.5, 1.75]),
    ("RND", "SAT", [0.375, -0.375, 9.0, -9.0], [0.5, -0.25, 1.75, -2.0]),
    ("RND_CONV", "SAT", [0.375, 0.625, -0.375], [0.5, 0.5, -0.5]),
    ("RND", "SAT_SYM", [-9.0, 9.0], [-1.75, 1.75]),
    ("RND", "WRAP", [2.0, -2.25, 2.5], [-2.0, 1.75, -1.5]),
])
def test_fixed_point_modes_k1_i1_f2(rnd, overflow, x, expected):
    assert hgq.quantize_fixed(x, 1, 1, 2, round=rnd, overflow=overflow).tolist() == expected


def test_per_element_formats_broadcast_and_zero_width():
    x = np.array([0.7, 0.7, 0.7])
    assert hgq.quantize_fixed(x, 0, 0, np.array([1, 2, -1])).tolist() == [0.5, 0.75, 0.0]
    assert hgq.quantize_fixed([3.3], 0, 2, 0, overflow="SAT").tolist() == [3.0]


@given(x=st.floats(-1e6, 1e6), k=st.integers(0, 1), i=st.integers(-2, 6), f=st.integers(-2, 8),
       rnd=st.sampled_from(hgq.ROUNDINGS), ovf=st.sampled_from(hgq.OVERFLOWS))
def test_results_lie_on_the_grid_and_in_range(x, k, i, f, rnd, ovf):
    q = float(hgq.quantize_fixed([x], k, i, f, round=rnd, overflow=ovf)[0])
    if k + i + f <= 0:
        assert q == 0.0
        return
    assert q * 2.0 ** f == round(q * 2.0 ** f)
    assert -k * 2.0 ** i <= q <= 2.0 ** i - 2.0 ** -f


def test_ebops_and_optimizer_trade_bits_for_error(rng):
    assert hgq.ebops_dense(np.full((3, 2), 4), np.array([8, 8, 2])) == 4 * 2 * 18
    w = rng.standard_normal((32, 16)) * 0.3
    x = rng.standard_normal((256, 32))
    free = hgq.fit_fractional_bits(w, x, beta=0.0, steps=100)
    tight = hgq.fit_fractional_bits(w, x, beta=1e-4, steps=100)
    assert tight.ebops.min() < free.ebops.min()
    err = lambda r: ((x @ r.weights - x @ w) ** 2).mean()
    assert err(free) < err(tight)


def test_bad_fixed_point_arguments():
    with pytest.raises(ValueError, match="'ROUND'"):
        hgq.quantize_fixed([1.0], 1, 1, 1, round="ROUND")
    with pytest.raises(ValueError, match="sign bit"):
        hgq.quantize_fixed([1.0], 2, 1, 1)
    with pytest.raises(ValueError, match="integers"):
        hgq.quantize_fixed([1.0], 1, 1, 1.5)


def test_metrics_known_values():
    r = np.array([3.0, 4.0])
    assert metrics.mse(r, r + 1) == 1.0
    assert metrics.sqnr_db(r, r * 1.1) == pytest.approx(20.0)
    assert metrics.sqnr_db(r, r) == float("inf")
    assert metrics.max_abs_error(r, [3.0, 2.5]) == 1.5
    assert metrics.cosine_similarity([[1.0, 0.0], [0.0, 0.0]], [[2.0, 0.0], [0.0, 0.0]]).tolist() == [1.0, 1.0]
    assert metrics.bits_per_element(4.5 * 32, 32) == 4.5
    with pytest.raises(ValueError, match="shapes"):
        metrics.mse([1.0], [1.0, 2.0])
