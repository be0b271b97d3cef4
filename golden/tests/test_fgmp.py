"""FGMP policy, clipping and the activation unit's integer arithmetic."""

import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from golden import fgmp, formats, nvfp4
from golden.facts import SCORE_SIGNIFICANT_BITS, SCORE_WIDTHS_TRIED, SCORE_WINDOW_BITS, THRESHOLD_REGISTER


def fp8_reference(w, s_t):
    return np.asarray(w / np.float64(s_t)).astype(ml_dtypes.float8_e4m3fn).astype(np.float64) * np.float64(s_t)


def weights(rng, shape=(32, 128)):
    return rng.standard_normal(shape) * np.exp(rng.standard_normal(shape[-1]))


def test_all_fp8_equals_per_tensor_fp8(rng):
    w = weights(rng)
    q = fgmp.quantize_weights(w, rng.random(w.shape), 1.0)
    assert q.modes.all()
    np.testing.assert_array_equal(q.dequantize(), fp8_reference(w, q.tensor_scale))
    assert q.tensor_scale == np.float32(np.abs(w).max() / 448)


def test_all_nvfp4_without_clipping_equals_nvfp4_with_the_shared_scale(rng):
    w = weights(rng)
    q = fgmp.quantize_weights(w, rng.random(w.shape), 0.0, clip=False)
    assert not q.modes.any()
    np.testing.assert_array_equal(q.dequantize(),
                                  nvfp4.quantize(w, tensor_scale=q.tensor_scale).dequantize())


def test_block_scores_are_fisher_weighted_squared_differences(rng):
    w = weights(rng, (4, 64))
    f = rng.random(w.shape)
    s_t = fgmp.tensor_scale_for(w)
    diff = nvfp4.quantize(w, tensor_scale=s_t).dequantize() - fp8_reference(w, s_t)
    expected = (f * diff ** 2).reshape(4, 4, 16).sum(-1)
    np.testing.assert_allclose(fgmp.block_scores(w, f), expected, rtol=1e-12)


def test_a_block_with_large_fisher_is_kept_in_fp8(rng):
    w = weights(rng, (8, 64))
    f = np.full(w.shape, 1e-6)
    f[5, 32:48] = 1e6
    q = fgmp.quantize_weights(w, f, 1 / q_blocks(w))
    assert q.modes.sum() == 1 and q.modes[5, 2]


def q_blocks(w):
    return w.size // 16


@given(n_blocks=st.integers(1, 300), fraction=st.floats(0, 1), seed=st.integers(0, 2**32 - 1))
def test_threshold_hits_the_fraction_within_one_block(n_blocks, fraction, seed):
    scores = np.random.default_rng(seed).permutation(n_blocks).astype(float) + 0.5   # distinct
    t = fgmp.threshold_for_fraction(scores, fraction)
    assert abs((scores > t).sum() - fraction * n_blocks) <= 1


def test_tied_scores_never_exceed_the_fraction():
    assert (np.zeros(10) > fgmp.threshold_for_fraction(np.zeros(10), 0.5)).sum() == 0


def test_clipping_never_increases_the_weighted_error(rng):
    w = weights(rng, (16, 256))
    f = rng.random(w.shape) ** 4
    plain = fgmp.quantize_weights(w, f, 0.0, clip=False)
    clipped = fgmp.quantize_weights(w, f, 0.0, clip=True)
    err = lambda q: (f * (q.dequantize() - w) ** 2).reshape(16, 16, 16).sum(-1)
    assert (err(clipped) <= err(plain) + 1e-15).all()
    assert (err(clipped) < err(plain)).any()             # and it does change something


def test_global_threshold_and_bits_per_element(rng):
    w = weights(rng, (16, 64))
    q = fgmp.quantize_weights(w, np.ones(w.shape), threshold=np.inf)
    assert not q.modes.any()
    n8 = 3
    q = fgmp.quantize_weights(w, np.ones(w.shape), n8 / 64)
    expected = (n8 * 16 * 8 + (64 - n8) * (16 * 4 + 8) + 64 + 32) / w.size
    assert q.bits_per_element == expected


def test_another_policys_scores_choose_the_modes(rng):
    w = weights(rng, (4, 64))
    scores = np.zeros((4, 4))
    scores[2, 1] = 1.0
    q = fgmp.quantize_weights(w, np.ones(w.shape), 1 / 16, scores=scores)
    assert q.modes.sum() == 1 and q.modes[2, 1]
    with pytest.raises(ValueError, match="do not match"):
        fgmp.quantize_weights(w, np.ones(w.shape), 0.5, scores=np.zeros(3))


@pytest.mark.parametrize("kwargs, match", [
    (dict(fp8_fraction=0.5, threshold=1.0), "exactly one"),
    (dict(fp8_fraction=1.5), "fp8_fraction"),
    (dict(fp8_fraction=0.5, fisher=-np.ones((2, 32))), "non-negative"),
    (dict(fp8_fraction=0.5, fisher=np.ones(5)), "broadcast"),
])
def test_weight_bad_input(kwargs, match):
    fisher = kwargs.pop("fisher", np.ones((2, 32)))
    with pytest.raises(ValueError, match=match):
        fgmp.quantize_weights(np.ones((2, 32)), fisher, **kwargs)


# ---- activations -------------------------------------------------------------------

def reference_weight(f, fmax):
    """The integer weight of a channel: ``F / max F`` rounded half to even to 5 significant bits
    (at least ``2**-7``), times ``2**11``."""
    if f == 0:
        return 0
    r = Fraction(f) / Fraction(fmax)
    if r < Fraction(1, 128):
        return 16
    e = r.numerator.bit_length() - r.denominator.bit_length()
    if Fraction(2) ** e > r:
        e -= 1                                                      # 2**e <= r < 2**(e + 1)
    q = round(r / Fraction(2) ** e * 16)
    if q == 32:
        q, e = 16, e + 1
    return int(q * Fraction(2) ** (e + 7))


def round_significant(v, bits):
    """A non-negative int rounded half to even to ``bits`` significant bits."""
    drop = max(v.bit_length() - bits, 0)
    return round(Fraction(v, 2 ** drop)) * 2 ** drop


def activation_reference(x, channel_fisher, threshold, s_t, widths=fgmp.ScoreWidths()):
    """The unit's arithmetic written out from values: ml_dtypes casts, Fractions, Python big ints.

    Also returns the largest unsaturated difference ``|A - B|`` of each block, to check the
    bound the spec states.
    """
    f, p = widths.fraction_bits, widths.significant_bits
    x = np.asarray(x, np.float64).astype(ml_dtypes.bfloat16).astype(np.float64)
    y = (x / np.float64(s_t)).reshape(x.shape[0], -1, 16)
    top = 448.0
    e8 = np.clip(y, -top, top).astype(ml_dtypes.float8_e4m3fn).astype(np.float64)
    s_b = (np.abs(y).max(-1) / 6).clip(0, top).astype(ml_dtypes.float8_e4m3fn).astype(np.float64)
    s_b = np.maximum(s_b, 2.0 ** -9)
    e4 = (y / s_b[..., None]).astype(ml_dtypes.float4_e2m1fn).astype(np.float64) * s_b[..., None]
    weights = np.array([reference_weight(v, channel_fisher.max()) for v in channel_fisher]).reshape(-1, 16)
    scores = np.zeros(y.shape[:2], dtype=object)
    widest = np.zeros(y.shape[:2], dtype=np.int64)
    unit = Fraction(2) ** (-10 - f)                                  # the finest u_b
    for r in range(y.shape[0]):
        for b in range(y.shape[1]):
            ulp = Fraction(2) ** max(math.floor(math.log2(s_b[r, b])) - 3, -9)   # E4M3 spacing at s_b
            u = ulp / 2 ** (1 + f)
            terms = []
            for w, q4, q8 in zip(weights[b], e4[r, b], e8[r, b]):
                a = abs(Fraction(q4)) / u
                assert a.denominator == 1
                wide = abs(int(a) - math.floor(abs(Fraction(q8)) / u + Fraction(1, 2)))
                widest[r, b] = max(widest[r, b], wide)
                diff = min(wide, widths.diff_max)
                drop = max(diff.bit_length() - p, 0)
                diff = diff >> drop << drop
                terms.append(int(w) * round_significant(int(diff) * int(diff), 5))
            low = SCORE_WINDOW_BITS - 1
            top = max([t.bit_length() - 1 for t in terms if t] + [low])
            kept = sum(t >> (top - low) for t in terms)
            scores[r, b] = int(kept * 2 ** (top - low) * (u / unit) ** 2)
    modes = scores > threshold
    values = np.where(modes[..., None], e8, e4) * np.float64(s_t)
    return scores.astype(np.int64), modes, values.reshape(x.shape), widest


def activations(rng, rows=16, channels=128):
    return rng.standard_normal((rows, channels)) * np.exp(1.5 * rng.standard_normal(channels))


@pytest.mark.parametrize("widths", [fgmp.ScoreWidths(), fgmp.ScoreWidths(0, 1), fgmp.ScoreWidths(1, 3),
                                    fgmp.ScoreWidths(3, 9)], ids=lambda w: f"F{w.fraction_bits}-p{w.significant_bits}")
def test_activation_unit_matches_written_out_reference(rng, widths):
    x = activations(rng)
    cf = rng.random(128) ** 3
    s_t = fgmp.activation_tensor_scale(np.abs(x).max())
    t = fgmp.calibrate_activation_threshold(x, cf, 0.3, tensor_scale=s_t, widths=widths)
    q = fgmp.quantize_activations(x, cf, t, tensor_scale=s_t, widths=widths)
    scores, modes, values, widest = activation_reference(x, cf, t, s_t, widths)
    np.testing.assert_array_equal(q.scores, scores)
    np.testing.assert_array_equal(q.modes, modes)
    np.testing.assert_array_equal(q.dequantize(), values)
    # The requested count n of FP8 blocks, less those tied with the threshold among the n largest
    # (ties stay NVFP4; coarse widths tie often).
    ranked = np.sort(q.scores.ravel())[::-1]
    n = int(np.rint(0.3 * ranked.size))
    assert int(q.modes.sum()) == n - int((ranked[:n] == t).sum())
    assert (q.scores < 2 ** widths.score_bits).all()
    assert (q.status & (fgmp.STATUS_NAN | fgmp.STATUS_INF) == 0).all()   # BF16 rounding may overflow 448
    assert (widest[q.status == 0] <= 42 * 2 ** widths.fraction_bits).all()   # the spec's bound: no saturation


@given(st.lists(st.floats(-1e4, 1e4, allow_nan=False, width=32), min_size=16, max_size=16),
       st.integers(-4, 4), st.integers(0, 3))
def test_differences_saturate_only_in_overflowing_blocks(values, exp, f):
    widths = fgmp.ScoreWidths(f, 6 + f)
    x = np.array([values]) * 2.0 ** (exp * 10)
    s_t = fgmp.activation_tensor_scale(np.abs(x).max()) * 2 ** abs(exp)    # some blocks far below amax
    cf = np.ones(16)
    q = fgmp.quantize_activations(x, cf, 0, tensor_scale=s_t, widths=widths)
    scores, _, _, widest = activation_reference(x, cf, 0, s_t, widths)
    np.testing.assert_array_equal(q.scores, scores)
    assert widest.max() <= 42 * 2 ** f + 0.5


def test_tensor_scale_is_the_least_power_of_two_that_fits():
    for amax in (448.0, 448.0 * 2 ** -40, 1.0, 3e5, np.nextafter(448.0, 1e9)):
        s = fgmp.activation_tensor_scale(amax)
        assert math.frexp(float(s))[0] == 0.5 and 224 < amax / s <= 448
    assert fgmp.activation_tensor_scale(0.0) == 1.0
    assert fgmp.activation_tensor_scale(1e-300) == 2.0 ** fgmp.SCALE_EXP_MIN
    assert fgmp.scale_exponent(fgmp.activation_tensor_scale(448.0 * 2 ** 5)) == 5


def test_activation_threshold_extremes(rng):
    x = activations(rng, 4, 64)
    s_t = fgmp.activation_tensor_scale(np.abs(x).max())
    assert fgmp.quantize_activations(x, np.ones(64), -1, tensor_scale=s_t).modes.all()
    assert not fgmp.quantize_activations(x, np.ones(64), 2 ** 62, tensor_scale=s_t).modes.any()


def test_activation_nan_inf_and_overflow_are_flagged_and_saturate(rng):
    x = activations(rng, 3, 32)
    s_t = 2 * fgmp.activation_tensor_scale(np.abs(x).max())   # headroom: only the injected value overflows
    x[0, 3], x[1, 5], x[2, 20] = np.nan, -np.inf, 1e3 * np.abs(x).max()
    q = fgmp.quantize_activations(x, np.ones(32), 2 ** 62, tensor_scale=s_t)
    assert q.status[:, 0].tolist() == [fgmp.STATUS_NAN, fgmp.STATUS_INF, 0]
    assert q.status[:, 1].tolist() == [0, 0, fgmp.STATUS_OVERFLOW]
    assert q.modes[0, 0] and q.codes[0, 3] == 0x7F             # NaN block forced to FP8, NaN code
    assert not q.modes[1, 0] and q.codes[1, 5] == 0xF          # -inf saturates to -6 in NVFP4
    assert q.scale_codes[1, 0] == 0x7E                          # and its block scale to 448
    assert formats.decode(q.codes[2, 20:21] & 0xF, "e2m1")[0] == 6.0


def test_sensitivity_codes_are_small_floats_that_keep_small_channels():
    f = np.array([0.0, 1e-9, 2.0 ** -7, 0.5, 1.0, 0.5 + 2.0 ** -6, 0.5 + 3 * 2.0 ** -6, 31.5 / 32])
    codes, unit = fgmp.sensitivity_codes(f)
    assert codes.tolist() == [0, 0x10, 0x10, 0x70, 0x80, 0x70, 0x72, 0x80] and unit == 1 / 2048
    #  zero; floored to the smallest; 2**-7; 0.5; 1.0; a tie rounds to even (down, up); carry into 1.0
    weights = fgmp.sensitivity_weights(codes)
    assert weights.tolist() == [0, 16, 16, 1024, 2048, 1024, 1152, 2048]
    assert [reference_weight(v, 1.0) for v in f] == weights.tolist()
    assert fgmp.sensitivity_weights(np.array([0x9F, 0xFF])).tolist() == [31 * 128] * 2   # fields above 8 as 8


@pytest.mark.parametrize("call, match", [
    (lambda: fgmp.quantize_activations(np.ones((1, 32)), np.ones(16), 0, tensor_scale=1.0), "channels"),
    (lambda: fgmp.quantize_activations(np.ones((1, 32)), np.ones(32), 0.5, tensor_scale=1.0), "integer"),
    (lambda: fgmp.quantize_activations(np.ones((1, 32)), np.ones(32), 0, tensor_scale=-1), "tensor_scale"),
    (lambda: fgmp.quantize_activations(np.ones((1, 32)), np.ones(32), 0, tensor_scale=0.3), "power of two"),
    (lambda: fgmp.quantize_activations(np.ones((1, 32)), np.ones(32), 0, tensor_scale=2.0 ** -140), "power of two"),
    (lambda: fgmp.quantize_activations(np.ones((1, 32)), np.ones(32), 0, tensor_scale=1.0, widths=(2, 4)), "widths"),
    (lambda: fgmp.ScoreWidths(4, 4), "fraction_bits"),
    (lambda: fgmp.ScoreWidths(2, 9), "significant_bits"),
    (lambda: fgmp.activation_tensor_scale(-1.0), "amax"),
    (lambda: fgmp.activation_tensor_scale(np.inf), "amax"),
    (lambda: fgmp.activation_tensor_scale(1e300), "2\\*\\*127"),
    (lambda: fgmp.round_to_input_format(np.ones(2), "fp12"), "fp12"),
    (lambda: fgmp.sensitivity_codes(np.ones((2, 2))), "vector"),
])
def test_activation_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("fmt", ["bf16", "fp16", "fp32"])
def test_input_formats_round_to_nearest_even(fmt):
    x = np.array([1 + 2.0 ** -9, 1 + 3 * 2.0 ** -12, 1 + 2.0 ** -30])
    ref = {"bf16": ml_dtypes.bfloat16, "fp16": np.float16, "fp32": np.float32}[fmt]
    np.testing.assert_array_equal(fgmp.round_to_input_format(x, fmt), x.astype(ref).astype(np.float64))


def test_quantizing_by_codes_is_quantizing_by_fisher(rng):
    x = activations(rng, 4, 64)
    cf = rng.random(64)
    s_t = fgmp.activation_tensor_scale(np.abs(x).max())
    by_fisher = fgmp.quantize_activations(x, cf, 10 ** 12, tensor_scale=s_t)
    by_codes = fgmp.quantize_activations_by_codes(x, fgmp.sensitivity_codes(cf)[0], 10 ** 12, tensor_scale=s_t)
    for field in ("modes", "codes", "scale_codes", "scores", "status"):
        np.testing.assert_array_equal(getattr(by_codes, field), getattr(by_fisher, field))
    for bad in (np.full(64, 256), np.full(64, 1.5), np.ones((2, 32), int), np.full(64, -1)):
        with pytest.raises(ValueError, match="channel_codes"):
            fgmp.quantize_activations_by_codes(x, bad, 0, tensor_scale=s_t)


def _significant_bits(v: int) -> int:
    return (v >> ((v & -v).bit_length() - 1)).bit_length() if v else 0


@pytest.mark.parametrize("widths", [fgmp.ScoreWidths(*w) for w in SCORE_WIDTHS_TRIED])
def test_scores_have_at_most_the_registers_significant_bits(rng, widths):
    """The threshold register keeps 14 leading bits because no score has more (large weights,
    overflowing and infinite elements included)."""
    x = activations(rng, 64, 256)
    x[0, 3], x[1, 17], x[2, 40] = np.inf, 1e30, -np.inf
    s_t = fgmp.activation_tensor_scale(np.abs(x[3:]).max())
    scores = fgmp.activation_scores(x, rng.random(256) ** 4, tensor_scale=s_t, widths=widths)
    assert max(_significant_bits(int(s)) for s in scores.ravel()) <= SCORE_SIGNIFICANT_BITS
    assert max(_significant_bits(int(s)) for s in scores.ravel()) >= SCORE_SIGNIFICANT_BITS - 4


_scores = st.builds(lambda lead, shift: lead << shift, st.integers(0, 2 ** SCORE_SIGNIFICANT_BITS - 1),
                    st.integers(0, 63))


@given(score=_scores, threshold=st.integers(-2 ** 63, 2 ** 63 - 1))
def test_the_register_comparison_is_the_integer_comparison(score, threshold):
    assert fgmp.score_above_register(score, fgmp.threshold_register(threshold)) == (score > threshold)


@given(score=_scores, offset=st.integers(-2, 2))
def test_the_register_comparison_at_thresholds_beside_the_score(score, offset):
    """Thresholds equal to the score and one or two either side, where the leading bits decide."""
    threshold = max(-1, min(score + offset, 2 ** 63 - 1))
    assert fgmp.score_above_register(score, fgmp.threshold_register(threshold)) == (score > threshold)


def test_threshold_register_fields():
    length_at, lead_at = THRESHOLD_REGISTER["length"][0], THRESHOLD_REGISTER["lead"][0]
    assert fgmp.threshold_register(-1) == fgmp.threshold_register(-2 ** 63) == 1 << THRESHOLD_REGISTER["negative"][0]
    assert fgmp.threshold_register(0) == 0
    assert fgmp.threshold_register(5) == (5 << 11) << lead_at | 3 << length_at            # 0b101, zero-filled
    big = (0b10110011100011 << 40) | 12345                                              # low bits dropped
    assert fgmp.threshold_register(big) == 0b10110011100011 << lead_at | 54 << length_at


@pytest.mark.parametrize("bad", [2 ** 63, -2 ** 63 - 1, 1.5, True, "3"])
def test_threshold_register_refuses_what_the_register_cannot_hold(bad):
    with pytest.raises(ValueError, match="threshold"):
        fgmp.threshold_register(bad)


@pytest.mark.parametrize("bad", [-1, (1 << SCORE_SIGNIFICANT_BITS) + 1])
def test_score_above_register_refuses_what_is_not_a_score(bad):
    with pytest.raises(ValueError, match="score"):
        fgmp.score_above_register(bad, 0)
