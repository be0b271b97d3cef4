"""The VMAC's arithmetic: exact accumulation and one FP32 rounding."""

from fractions import Fraction

import numpy as np
import pytest

from golden import fgmp, fgmp_dot


def rows(rng, n_rows=6, n_blocks=4, fp8=None):
    modes = rng.random((n_rows, n_blocks)) < 0.5 if fp8 is None else np.full((n_rows, n_blocks), fp8)
    codes = rng.integers(0, 256, (n_rows, n_blocks, 16))
    codes = np.where((codes & 0x7F) == 0x7F, 0, codes)
    codes = np.where(modes[..., None], codes, codes & 0xF).astype(np.uint8)
    return modes, codes, rng.integers(1, 0x7F, (n_rows, n_blocks)).astype(np.uint8)


def exact_value(modes, codes, scales):
    """Element values as exact fractions, from the formats' decode tables."""
    e4m3 = fgmp.formats.decode(codes, "e4m3")
    e2m1 = fgmp.formats.decode(codes & 0xF, "e2m1") * fgmp.formats.decode(scales, "e4m3")[..., None]
    return np.where(modes[..., None], e4m3, e2m1)


@pytest.mark.parametrize("fp8_w, fp8_a", [(False, False), (False, True), (True, False), (True, True), (None, None)])
def test_dot_is_the_exact_sum_rounded_once(fp8_w, fp8_a, rng):
    w, a = rows(rng, fp8=fp8_w), rows(rng, fp8=fp8_a)
    sw, sa = np.float32(0.037), np.float32(-1.5e-3)
    bits, accs = fgmp_dot.dot(*w, *a, sw, sa)
    wv, av = exact_value(*w), exact_value(*a)
    for r in range(len(bits)):
        exact = sum(Fraction(float(x)) * Fraction(float(y)) for x, y in zip(wv[r].ravel(), av[r].ravel()))
        assert Fraction(accs[r], 2 ** 20) == exact
        scaled = exact * Fraction(float(sw)) * Fraction(float(sa))
        assert is_nearest_even_fp32(bits[r], scaled)
        assert not is_nearest_even_fp32(bits[r] + 1, scaled)           # the checker can fail


def is_nearest_even_fp32(bits, exact: Fraction) -> bool:
    """``bits`` is the FP32 nearest to ``exact``, ties to an even mantissa (checked in rationals)."""
    r = np.uint32(bits).view(np.float32)
    neighbours = [np.nextafter(r, np.float32(-np.inf)), np.nextafter(r, np.float32(np.inf))]
    d = abs(exact - Fraction(float(r)))
    for n in neighbours:
        dn = abs(exact - Fraction(float(n)))
        if dn < d or (dn == d and int(bits) & 1):
            return False
    return True


def test_result_is_independent_of_block_order(rng):
    w, a = rows(rng), rows(rng)
    perm = rng.permutation(w[0].shape[1])
    shuffled = [(m[:, perm], c[:, perm], s[:, perm]) for m, c, s in (w, a)]
    assert np.array_equal(fgmp_dot.dot(*w, *a, 1.0, 1.0)[0], fgmp_dot.dot(*shuffled[0], *shuffled[1], 1.0, 1.0)[0])


@pytest.mark.parametrize("n, e, expected", [
    (0, 0, 0x00000000), (1, -149, 0x00000001), (1, -150, 0x00000000), (3, -151, 0x00000001),
    (1, 128, 0x7F800000), (-1, 128, 0xFF800000), ((1 << 24) - 1, 104, 0x7F7FFFFF),
    ((1 << 25) - 1, 103, 0x7F800000), (5, -2, 0x3FA00000), (-3, 0, 0xC0400000),
])
def test_fp32_rounding_edges(n, e, expected):
    assert fgmp_dot.round_to_fp32(n, e) == expected


def test_nan_codes_and_scales_give_quiet_nan(rng):
    w, a = rows(rng, 3, 2, fp8=True), rows(rng, 3, 2, fp8=False)
    w[1][0, 1, 5] = 0xFF                        # E4M3 NaN element in row 0
    a[2][2, 0] = 0x7F                           # NaN block scale in row 2
    bits, _ = fgmp_dot.dot(*w, *a, 1.0, 1.0)
    assert bits[0] == fgmp_dot.FP32_QNAN and bits[2] == fgmp_dot.FP32_QNAN and bits[1] != fgmp_dot.FP32_QNAN
    assert (fgmp_dot.dot(*w, *a, np.inf, 1.0)[0] == fgmp_dot.FP32_QNAN).all()


def quantized_pair(rng, rows_w, rows_a, channels=64):
    """Weights and activations as the FGMP quantizers return them (codes unblocked)."""
    w = rng.standard_normal((rows_w, channels))
    x = rng.standard_normal((rows_a, channels)) * 3 if rows_a else rng.standard_normal(channels) * 3
    wq = fgmp.quantize_weights(w, np.ones_like(w), 0.5)
    fisher = np.ones(channels)
    s_t = fgmp.activation_tensor_scale(np.abs(x).max())
    threshold = fgmp.calibrate_activation_threshold(x, fisher, 0.5, tensor_scale=s_t)
    return wq, fgmp.quantize_activations(x, fisher, threshold, tensor_scale=s_t)


@pytest.mark.parametrize("rows_w, rows_a", [(1, 1), (8, 1), (8, 8), (8, 0)])     # 0: a 1-D activation vector
def test_dot_of_quantized_tensors_is_their_dequantized_product_rounded_once(rows_w, rows_a, rng):
    wq, aq = quantized_pair(rng, rows_w, rows_a)
    bits, _ = fgmp.dot(wq, aq)
    assert bits.shape == (rows_w,)
    wv, av = wq.dequantize(), np.broadcast_to(aq.dequantize(), wq.codes.shape)
    for r in range(rows_w):
        exact = sum(Fraction(float(x)) * Fraction(float(y)) for x, y in zip(wv[r], av[r]))
        assert is_nearest_even_fp32(bits[r], exact), (r, np.uint32(bits[r]).view(np.float32), float(exact))
    # The eight-array form with the same (unblocked) codes gives the same bits.
    arrays = (wq.modes, wq.codes, wq.scale_codes, aq.modes, aq.codes, aq.scale_codes, wq.tensor_scale, aq.tensor_scale)
    assert np.array_equal(fgmp.dot(*arrays)[0], bits)


@pytest.mark.parametrize("change, match", [
    (lambda w, a: (w[0], w[1][:, :48], *w[2:], *a), r"w_codes has shape \(8, 48\).*expected \(8, 64\).*\(8, 4, 16\)"),
    (lambda w, a: (*w[:2], w[2][:, :3], *a), r"w_scale_codes has shape \(8, 3\); expected \(8, 4\)"),
    (lambda w, a: (*w, a[0][:3], a[1][:3], a[2][:3]), "activations have 3 rows; expected 1 .* or 8"),
    (lambda w, a: (*w, a[0][:, :2], a[1][:, :32], a[2][:, :2]), "4 blocks per row but the activations 2"),
    (lambda w, a: (w[0].astype(np.uint8), *w[1:], *a), "w_modes must be booleans"),
])
def test_dot_refuses_shapes_that_do_not_pair_up(change, match, rng):
    wq, aq = quantized_pair(rng, 8, 8)
    w, a = (wq.modes, wq.codes, wq.scale_codes), (aq.modes, aq.codes, aq.scale_codes)
    with pytest.raises(ValueError, match=match):
        fgmp.dot(*change(w, a), wq.tensor_scale, aq.tensor_scale)


def test_dot_refuses_other_arguments(rng):
    wq, _ = quantized_pair(rng, 2, 1)
    with pytest.raises(ValueError, match="two FGMPTensor"):
        fgmp.dot(wq, wq.codes)
