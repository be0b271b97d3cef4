"""FGMP: fine-grained mixed precision, each block of 16 either NVFP4 or FP8 (E4M3).

Blocks run along the last axis (the reduction dimension of ``W[out, in]`` and
of activations ``x[..., in]``). One FP32 tensor scale ``s_t = amax / 448`` is
shared by both block kinds, so a block's value is ``s_t * e4m3(code)`` (FP8)
or ``s_t * s_b * e2m1(code)`` (NVFP4, ``s_b`` an E4M3 block scale). See
``docs/numerics.md``, section *FGMP*, for every rule and the reasons.

Weights (offline, float64 policy):
    score_b = sum_i F_i * (Q4(w_i) - Q8(w_i))**2, FP8 iff score_b > threshold.
Activations (run time, the hardware unit's integer arithmetic, power-of-two ``s_t``):
    score_b = 4**(e_b - 1) * sum_c code_c * D_c**2, with ``D_c`` the difference
    ``|deq4_c| - |deq8_c|`` in units of the block scale's E4M3 spacing / 8, saturated and
    truncated to 4 significant bits, and ``code_c`` the 8-bit channel sensitivity;
    FP8 iff score_b > threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ml_dtypes
import numpy as np

from . import formats
from ._blocks import as_finite_array, block_amax, to_blocks
from . import nvfp4
from . import fgmp_dot
from .facts import (E4M3_MAX, SCALE_EXP_MAX, SCALE_EXP_MIN, SCORE_SIGNIFICANT_BITS, SCORE_WINDOW_BITS, SENS_EXP_BITS,
                    SENS_EXP_MAX, SENS_MANT_BITS, SQUARE_BITS, STATUS_INF, STATUS_NAN, STATUS_OVERFLOW,
                    THRESHOLD_BITS, THRESHOLD_REGISTER, ScoreWidths)
from .nvfp4 import block_scale_codes

__all__ = [
    "BLOCK", "FP8_MAX", "CLIP_CANDIDATES", "ScoreWidths",
    "STATUS_NAN", "STATUS_INF", "STATUS_OVERFLOW", "INPUT_FORMATS",
    "FGMPTensor", "tensor_scale_for", "block_scores", "threshold_for_fraction",
    "quantize_weights", "sensitivity_codes", "sensitivity_weights", "round_to_input_format", "activation_tensor_scale",
    "scale_exponent", "narrow_scores", "activation_scores",
    "calibrate_activation_threshold", "threshold_register", "score_above_register", "quantize_activations", "quantize_activations_by_codes", "dot",
]

BLOCK = 16
FP8_MAX = E4M3_MAX
FP4_MAX = 6.0
CLIP_CANDIDATES = (0, -1, 1, -2, -3, -4, -5, -6, -7, -8)
"""Block-scale code offsets tried by sensitivity-weighted clipping, in order of preference."""
INPUT_FORMATS = {"bf16": ml_dtypes.bfloat16, "fp16": np.float16, "fp32": np.float32}


@dataclass(frozen=True)
class FGMPTensor:
    """A tensor in FGMP form.

    Attributes
    ----------
    modes : ndarray of bool, shape ``x.shape[:-1] + (n_blocks,)``
        True where the block is FP8.
    codes : ndarray of uint8, shape of ``x``
        E4M3 codes in FP8 blocks, E2M1 codes in NVFP4 blocks.
    scale_codes : ndarray of uint8, shape of ``modes``
        E4M3 block-scale codes of NVFP4 blocks; 0 in FP8 blocks (not stored).
    tensor_scale : numpy.float32
    threshold : float or int
        The threshold the modes were selected with (FP8 iff score > threshold).
    scores : ndarray, shape of ``modes``
        Block scores (float64 for weights, int64 for activations).
    status : ndarray of uint8, shape of ``modes``, optional
        Activations only: ``STATUS_NAN | STATUS_INF | STATUS_OVERFLOW`` bits.
    """

    modes: np.ndarray
    codes: np.ndarray
    scale_codes: np.ndarray
    tensor_scale: np.float32
    threshold: float
    scores: np.ndarray
    status: np.ndarray | None = None

    def block_values(self) -> np.ndarray:
        """Values in tensor-scale units, shape ``(..., n_blocks, 16)``."""
        codes, _ = to_blocks(self.codes, BLOCK, -1)
        fp8 = formats.decode(codes, "e4m3")
        fp4 = formats.decode(codes & 0xF, "e2m1") * formats.decode(self.scale_codes, "e4m3")[..., None]
        return np.where(self.modes[..., None], fp8, fp4)

    def dequantize(self, dtype=None) -> np.ndarray:
        """Values, shape of the input: float64, exact products of the stored parts; or rounded
        to ``dtype`` (``np.float32``, ``ml_dtypes.bfloat16``, ...: :func:`golden.formats.as_dtype`)."""
        values = self.block_values() * np.float64(self.tensor_scale)
        return formats.as_dtype(values.reshape(self.codes.shape), dtype)

    @property
    def fp8_fraction(self) -> float:
        return float(self.modes.mean()) if self.modes.size else 0.0

    @property
    def bits_per_element(self) -> float:
        """Storage bits per element: 8 (FP8 block) or 4 + 8/16 (NVFP4 block), + 1/16 mode bit + 32/N."""
        n_fp8 = int(self.modes.sum())
        n_fp4 = self.modes.size - n_fp8
        bits = n_fp8 * BLOCK * 8 + n_fp4 * (BLOCK * 4 + 8) + self.modes.size + 32
        return bits / self.codes.size


def tensor_scale_for(x) -> np.float32:
    """FP32 scale shared by FP8 and NVFP4 blocks: ``amax / 448``, 1.0 for an all-zero tensor."""
    amax = float(np.abs(as_finite_array(x, allow_empty=True)).max()) if np.size(x) else 0.0
    return nvfp4.tensor_scale_for(amax, elem_max=1.0)            # amax / 448; ValueError outside FP32


def _weight_parts(w: np.ndarray, s_t: np.float32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blocked FP8 codes, NVFP4 codes and NVFP4 scale codes of ``w`` under the shared scale."""
    fp8, _ = to_blocks(formats.encode(w / np.float64(s_t), "e4m3"), BLOCK, -1)
    q4 = nvfp4.quantize(w, block=BLOCK, axis=-1, tensor_scale=s_t)
    fp4, _ = to_blocks(q4.codes, BLOCK, -1)
    return fp8, fp4, q4.scale_codes


def _fp4_values(fp4: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return formats.decode(fp4, "e2m1") * formats.decode(scale, "e4m3")[..., None]


def _check_fisher(fisher, shape: tuple[int, ...], what: str) -> np.ndarray:
    f = as_finite_array(fisher, what)
    try:
        f = np.broadcast_to(f, shape)
    except ValueError:
        raise ValueError(f"{what} of shape {np.shape(fisher)} does not broadcast to {shape}") from None
    if (f < 0).any():
        raise ValueError(f"{what} must be non-negative (it weights squared errors)")
    return f


def _check_fraction(fp8_fraction) -> float:
    f = float(fp8_fraction)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"fp8_fraction must lie in [0, 1], got {fp8_fraction!r}")
    return f


def block_scores(x, fisher, *, tensor_scale=None) -> np.ndarray:
    """Sensitivity of each block to NVFP4: ``sum_i F_i * (Q4(x_i) - Q8(x_i))**2``.

    Parameters
    ----------
    x : array_like, last axis a multiple of 16
    fisher : array_like
        Non-negative weights broadcastable to ``x``: a full Fisher tensor for
        weights, a per-channel vector (length ``x.shape[-1]``) for activations.
    tensor_scale : float, optional
        Shared FP32 scale; ``amax / 448`` by default.

    Returns
    -------
    ndarray of float64, shape ``x.shape[:-1] + (n_blocks,)``, in the units of ``x**2 * F``.
    """
    x = as_finite_array(x)
    f = _check_fisher(fisher, x.shape, "fisher")
    s_t = tensor_scale_for(x) if tensor_scale is None else nvfp4.check_tensor_scale(tensor_scale)
    fp8, fp4, scale = _weight_parts(x, s_t)
    diff = (_fp4_values(fp4, scale) - formats.decode(fp8, "e4m3")) * np.float64(s_t)
    fb, _ = to_blocks(f, BLOCK, -1)
    return (fb * diff ** 2).sum(axis=-1)


def threshold_for_fraction(scores, fp8_fraction: float):
    """Threshold ``t`` such that the blocks with ``score > t`` are the requested fraction.

    With ``n = round(fp8_fraction * N)`` (ties to even), ``t`` is the ``(n+1)``-th largest
    score, or ``-inf`` when ``n == N``. Distinct scores give exactly ``n`` FP8
    blocks; blocks tied with ``t`` all stay NVFP4, so ties can only lower the fraction.
    """
    fp8_fraction = _check_fraction(fp8_fraction)
    s = np.sort(np.asarray(scores).ravel())[::-1]
    if s.size == 0:
        raise ValueError("no scores to choose a threshold from")
    n = int(np.rint(fp8_fraction * s.size))
    if n >= s.size:
        return -np.inf
    return s[n]


def _fp4_with_scales(blocks: np.ndarray, s_t: np.float32, scale: np.ndarray) -> np.ndarray:
    """E2M1 codes of ``blocks / (s_t * s_b)`` (one exact division, rounded once)."""
    s = formats.decode(scale, "e4m3")[..., None] * np.float64(s_t)
    return formats.encode(blocks / s, "e2m1")


def _clip_scales(blocks: np.ndarray, f_blocks: np.ndarray, s_t: np.float32,
                 scale: np.ndarray) -> np.ndarray:
    """Per block, the candidate scale code minimising ``sum F (x - Q(x))**2`` (first of equals)."""
    cands = np.clip(scale[..., None].astype(np.int64) + np.array(CLIP_CANDIDATES), 1, 0x7E)
    errors = np.empty(cands.shape)
    for j in range(cands.shape[-1]):
        q = _fp4_values(_fp4_with_scales(blocks, s_t, cands[..., j]), cands[..., j]) * np.float64(s_t)
        errors[..., j] = (f_blocks * (blocks - q) ** 2).sum(axis=-1)
    best = np.argmin(errors, axis=-1)
    return np.take_along_axis(cands, best[..., None], axis=-1)[..., 0].astype(np.uint8)


def quantize_weights(w, fisher, fp8_fraction=None, clip: bool = True, *, threshold=None,
                     scores=None) -> FGMPTensor:
    """FGMP-quantize a weight tensor with the Fisher-weighted block policy.

    Parameters
    ----------
    w : array_like, last axis (reduction) a multiple of 16
    fisher : array_like
        Non-negative diagonal Fisher information (or a named proxy),
        broadcastable to ``w``.
    fp8_fraction : float in [0, 1], optional
        Fraction of blocks kept FP8, via :func:`threshold_for_fraction`.
    clip : bool
        Sensitivity-weighted clipping of NVFP4 block scales: try the codes
        ``CLIP_CANDIDATES`` away from the default scale and keep the one with
        the least Fisher-weighted squared error.
    threshold : float, optional
        A global threshold (e.g. one for the whole model) instead of ``fp8_fraction``.
    scores : array_like, optional
        Block scores of another policy (shape ``w.shape[:-1] + (n_blocks,)``) to
        select modes with instead of the Fisher-weighted scores; ``fisher``
        still weights the clipping search.

    Raises
    ------
    ValueError
        Neither or both of ``fp8_fraction`` and ``threshold``; bad shapes,
        non-finite data, negative Fisher values.
    """
    if (fp8_fraction is None) == (threshold is None):
        raise ValueError("give exactly one of fp8_fraction and threshold")
    w = as_finite_array(w, "w")
    f = _check_fisher(fisher, w.shape, "fisher")
    s_t = tensor_scale_for(w)
    if scores is None:
        scores = block_scores(w, f, tensor_scale=s_t)
    else:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != w.shape[:-1] + (w.shape[-1] // BLOCK,):
            raise ValueError(f"scores of shape {scores.shape} do not match the blocks of w {w.shape}")
    t = threshold_for_fraction(scores, fp8_fraction) if threshold is None else float(threshold)
    modes = scores > t
    fp8, fp4, scale = _weight_parts(w, s_t)
    if clip:
        blocks, _ = to_blocks(w, BLOCK, -1)
        fb, _ = to_blocks(f, BLOCK, -1)
        scale = _clip_scales(blocks, fb, s_t, scale)
        fp4 = _fp4_with_scales(blocks, s_t, scale)
    codes = np.where(modes[..., None], fp8, fp4).reshape(w.shape)
    return FGMPTensor(modes, codes, np.where(modes, 0, scale).astype(np.uint8), s_t, t, scores)


# --------------------------------------------------------------------------------------
# Activations: the arithmetic of the hardware activation quantization unit.

def sensitivity_codes(channel_fisher) -> tuple[np.ndarray, float]:
    """Channel sensitivities as the unit's on-chip memory holds them: small floats.

    ``r = F_c / max F`` is rounded (RNE) to 5 significant bits, ``r ~ (1 + m/16) * 2**(e - 8)``;
    the code is ``e << 4 | m`` with ``e`` in 1 ... 8, and 0 where ``F_c = 0``. Channels with
    ``0 < r < 2**-7`` get the smallest code ``e = 1, m = 0`` (a sensitive channel is never
    ignored). :func:`sensitivity_weights` gives the integer weight of a code.

    Returns
    -------
    codes : ndarray of uint8
    unit : float
        ``max F / 2048``: ``F_c ~= weight(code_c) * unit``; 1.0 if all F are zero.
    """
    f = as_finite_array(channel_fisher, "channel_fisher")
    if f.ndim != 1:
        raise ValueError(f"channel_fisher must be a vector, got shape {f.shape}")
    if (f < 0).any():
        raise ValueError("channel_fisher must be non-negative")
    fmax = float(f.max()) if f.size else 0.0
    if fmax == 0:
        return np.zeros(f.shape, np.uint8), 1.0
    r = f / fmax
    mant, exp = np.frexp(np.where(r > 0, r, 1.0))              # r = mant * 2**exp, mant in [0.5, 1)
    q = np.rint(mant * 32).astype(np.int64)                    # 16 ... 32: five significant bits, RNE
    exp = np.where(q == 32, exp + 1, exp)
    q = np.where(q == 32, 16, q)
    e = exp - 1 + SENS_EXP_MAX                                 # r ~ (q / 16) * 2**(e - 8)
    small = e < 1
    codes = np.where(small, 1 << SENS_MANT_BITS, (e << SENS_MANT_BITS) | (q - 16))
    return np.where(f > 0, codes, 0).astype(np.uint8), fmax / 2048


def sensitivity_weights(codes) -> np.ndarray:
    """Integer weight ``(16 + m) * 2**(min(e, 8) - 1)`` of each sensitivity code (0 for ``e = 0``), int64."""
    c = np.asarray(codes).astype(np.int64)
    e = np.minimum((c >> SENS_MANT_BITS) & ((1 << SENS_EXP_BITS) - 1), SENS_EXP_MAX)
    m = c & ((1 << SENS_MANT_BITS) - 1)
    return np.where(e > 0, ((1 << SENS_MANT_BITS) + m) << np.maximum(e - 1, 0), 0)


def round_to_input_format(x, input_format: str = "bf16") -> np.ndarray:
    """``x`` rounded (RNE, IEEE overflow to ±inf) to the unit's input format, as float64."""
    if input_format not in INPUT_FORMATS:
        raise ValueError(f"unknown input_format {input_format!r}; expected one of {sorted(INPUT_FORMATS)}")
    with np.errstate(over="ignore"):
        return np.asarray(x, dtype=np.float64).astype(INPUT_FORMATS[input_format]).astype(np.float64)


def activation_tensor_scale(amax) -> np.float32:
    """Power-of-two activation tensor scale for calibration amax: ``2**t``, ``t`` the least integer
    with ``amax <= 448 * 2**t`` (so ``amax / s_t`` lies in ``(224, 448]``), clamped below at
    ``2**SCALE_EXP_MIN``; 1.0 for ``amax = 0``.

    Raises
    ------
    ValueError
        ``amax`` negative, not finite, or above ``448 * 2**SCALE_EXP_MAX``.
    """
    a = float(amax)
    if not np.isfinite(a) or a < 0:
        raise ValueError(f"amax must be finite and non-negative, got {amax!r}")
    if a == 0:
        return np.float32(1.0)
    _, e = math.frexp(a / FP8_MAX)                  # a / 448 < 2**e; the division may round, so adjust
    t = e
    while t > SCALE_EXP_MIN and a <= FP8_MAX * 2.0 ** (t - 1):
        t -= 1
    while a > FP8_MAX * 2.0 ** t:
        t += 1
    if t > SCALE_EXP_MAX:
        raise ValueError(f"amax {amax!r} needs a tensor scale above 2**{SCALE_EXP_MAX}")
    return np.float32(2.0 ** max(t, SCALE_EXP_MIN))


def scale_exponent(tensor_scale) -> int:
    """``t`` of an activation tensor scale ``s_t = 2**t`` (the unit's ``scale_exp`` register).

    Raises
    ------
    ValueError
        ``tensor_scale`` is not a power of two ``2**t`` with ``SCALE_EXP_MIN <= t <= SCALE_EXP_MAX``.
    """
    s = float(nvfp4.check_tensor_scale(tensor_scale))
    m, e = math.frexp(s)
    if m != 0.5 or not SCALE_EXP_MIN <= e - 1 <= SCALE_EXP_MAX:
        raise ValueError(f"the activation tensor_scale must be a power of two 2**t with {SCALE_EXP_MIN} <= t "
                         f"<= {SCALE_EXP_MAX} (see activation_tensor_scale), got {tensor_scale!r}")
    return e - 1


_E2M1_HALF_STEPS = np.array([0, 1, 2, 3, 4, 6, 8, 12], dtype=np.int64)
"""Twice the E2M1 magnitude of each magnitude code."""


def _magnitude_fields(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Significand (integer, hidden bit included) and ``max(exponent field, 1)`` of E4M3 codes."""
    c = codes.astype(np.int64) & 0x7F
    field = c >> 3
    return np.where(field > 0, 8 + (c & 7), c & 7), np.maximum(field, 1)


def _round_significant(v: np.ndarray, bits: int) -> np.ndarray:
    """Non-negative integers rounded (RNE) to ``bits`` significant bits."""
    drop = np.maximum(_bit_length(v) - bits, 0)
    half = np.where(drop > 0, 1 << np.maximum(drop - 1, 0), 0)
    low = v & ((1 << drop) - 1)
    kept = v >> drop
    up = (low > half) | ((low == half) & (drop > 0) & ((kept & 1) == 1))
    return (kept + up) << drop


def narrow_scores(fp8: np.ndarray, fp4: np.ndarray, scale: np.ndarray, sens: np.ndarray,
                  widths: ScoreWidths = ScoreWidths()) -> np.ndarray:
    """Block scores of ``docs/numerics.md`` 4.2 step 5 from the unit's codes, in integers only.

    Parameters
    ----------
    fp8, fp4 : ndarray of uint8, shape ``(..., n_blocks, 16)``
        E4M3 and E2M1 codes of each element (NaN elements: E4M3 code 0).
    scale : ndarray of uint8, shape ``(..., n_blocks)``
        E4M3 block-scale codes.
    sens : ndarray, shape of ``fp8``
        Channel sensitivity codes (:func:`sensitivity_codes`).
    widths : ScoreWidths

    Returns
    -------
    ndarray of int64, shape of ``scale``: the score in units of ``2**widths.unit_exponent``.
    """
    f, p = widths.fraction_bits, widths.significant_bits
    m_s, e_s = _magnitude_fields(scale)
    a = m_s[..., None] * _E2M1_HALF_STEPS[fp4.astype(np.int64) & 7] << f          # |Q4| / u_b
    m8, e8 = _magnitude_fields(fp8)
    shift = e8 - e_s[..., None] + 1 + f                                          # |Q8| / u_b = m8 * 2**shift
    right = np.clip(-shift, 0, 8)
    b = np.where(shift >= 0, m8 << np.maximum(shift, 0), (m8 + (1 << right >> 1)) >> right)   # half up
    diff = np.minimum(np.abs(a - b), widths.diff_max)
    drop = np.maximum(_bit_length(diff) - p, 0)
    diff = diff >> drop << drop                                                  # p leading bits
    terms = sensitivity_weights(sens) * _round_significant(diff * diff, SQUARE_BITS)
    top = np.where(terms > 0, _bit_length(terms) - 1, -1).max(axis=-1)           # E: the largest exponent
    top = np.maximum(top, SCORE_WINDOW_BITS - 1)[..., None]                      # E < W - 1 keeps every bit
    kept = (terms >> (top - (SCORE_WINDOW_BITS - 1))).sum(axis=-1)               # each term down to 2**(E-W+1)
    return kept << (top[..., 0] - (SCORE_WINDOW_BITS - 1) + 2 * (e_s - 1))


def _bit_length(v: np.ndarray) -> np.ndarray:
    out = np.zeros(np.shape(v), np.int64)
    for k in range(1, 40):
        out += v >= (1 << k - 1)
    return out


@dataclass(frozen=True)
class _ActivationBlocks:
    fp8: np.ndarray
    fp4: np.ndarray
    scale: np.ndarray
    scores: np.ndarray
    status: np.ndarray


def _activation_blocks(x, codes: np.ndarray, tensor_scale, input_format: str,
                       widths: ScoreWidths) -> _ActivationBlocks:
    if not isinstance(widths, ScoreWidths):
        raise ValueError(f"widths must be a ScoreWidths, got {widths!r}")
    t = scale_exponent(tensor_scale)
    x = round_to_input_format(x, input_format)
    if x.ndim == 0 or x.shape[-1] != codes.shape[0]:
        raise ValueError(f"x has {x.shape[-1] if x.ndim else 0} channels but there are "
                         f"{codes.shape[0]} channel sensitivities")
    y, _ = to_blocks(np.ldexp(x, -t), BLOCK, -1)                     # exact: a power of two
    nan = np.isnan(y)
    finite_y = np.where(nan, 0.0, y)
    fp8 = formats.encode(y, "e4m3")
    scale = block_scale_codes(block_amax(finite_y), 1.0, FP4_MAX)
    fp4 = formats.encode(finite_y / formats.decode(scale, "e4m3")[..., None], "e2m1")
    cb, _ = to_blocks(np.broadcast_to(codes, x.shape), BLOCK, -1)
    scores = narrow_scores(np.where(nan, 0, fp8), fp4, scale, cb, widths)
    status = (nan.any(-1) * STATUS_NAN | np.isinf(y).any(-1) * STATUS_INF
              | (np.isfinite(y) & (np.abs(y) > FP8_MAX)).any(-1) * STATUS_OVERFLOW)
    return _ActivationBlocks(fp8, fp4, scale, scores, status.astype(np.uint8))


def activation_scores(x, channel_fisher, *, tensor_scale, input_format: str = "bf16",
                      widths: ScoreWidths = ScoreWidths()) -> np.ndarray:
    """The unit's integer block scores (int64, below ``2**widths.score_bits``) for activations ``x``."""
    codes, _ = sensitivity_codes(channel_fisher)
    return _activation_blocks(x, codes, tensor_scale, input_format, widths).scores


def calibrate_activation_threshold(x, channel_fisher, fp8_fraction: float, *, tensor_scale,
                                   input_format: str = "bf16", widths: ScoreWidths = ScoreWidths()) -> int:
    """Integer threshold register value giving ``fp8_fraction`` on calibration activations."""
    scores = activation_scores(x, channel_fisher, tensor_scale=tensor_scale, input_format=input_format,
                               widths=widths)
    t = threshold_for_fraction(scores, fp8_fraction)
    return -1 if t == -np.inf else int(t)


def threshold_register(threshold: int) -> int:
    """The activation unit's threshold register for an integer ``threshold`` (*FGMP activations*, step 7).

    A threshold ``θ >= 0`` is held as its bit length ``L`` and its ``SCORE_SIGNIFICANT_BITS``
    leading bits (``θ >> (L - 14)``, or ``θ << (14 - L)`` when ``L < 14``); a negative one as a
    flag. The bits of ``θ`` below its leading 14 never decide ``score > θ`` (a score has at most
    14 significant bits), so :func:`score_above_register` on this register is ``score > θ``.
    Fields and positions: ``golden.facts.THRESHOLD_REGISTER``.

    Raises
    ------
    ValueError
        ``threshold`` not an integer, or outside the signed ``THRESHOLD_BITS``-bit range.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)):
        raise ValueError(f"threshold must be an integer, got {threshold!r}")
    t = int(threshold)
    if not -(1 << (THRESHOLD_BITS - 1)) <= t < 1 << (THRESHOLD_BITS - 1):
        raise ValueError(f"threshold must be a signed {THRESHOLD_BITS}-bit integer, got {threshold!r}")
    if t < 0:
        return 1 << THRESHOLD_REGISTER["negative"][0]
    length, bits = t.bit_length(), SCORE_SIGNIFICANT_BITS
    lead = t >> (length - bits) if length >= bits else t << (bits - length)
    return lead << THRESHOLD_REGISTER["lead"][0] | length << THRESHOLD_REGISTER["length"][0]


def score_above_register(score: int, register: int) -> bool:
    """``score > θ`` as the unit decides it from the score in floating form and the register of ``θ``.

    The score (an integer ``>= 0`` with at most ``SCORE_SIGNIFICANT_BITS`` significant bits) is
    its bit length ``E`` and its leading bits ``N`` (zero-filled to 14); the register gives ``L``
    and ``T`` the same way. ``score > θ`` iff ``θ < 0``, or ``E > L``, or ``E = L`` and ``N > T``:
    with equal lengths, ``score = N * 2**(L - 14)`` and ``θ = T * 2**(L - 14) + r``,
    ``0 <= r < 2**(L - 14)`` (``r = 0`` if ``L <= 14``).

    Raises
    ------
    ValueError
        A negative score, or one with more significant bits than a score has.
    """
    score = int(score)
    bits = SCORE_SIGNIFICANT_BITS
    if score < 0 or (score and (score >> ((score & -score).bit_length() - 1)).bit_length() > bits):
        raise ValueError(f"a score is an integer >= 0 with at most {bits} significant bits, got {score!r}")

    def field(name):
        low, width = THRESHOLD_REGISTER[name]
        return register >> low & ((1 << width) - 1)

    length = score.bit_length()
    lead = score >> (length - bits) if length >= bits else score << (bits - length)
    return bool(field("negative") or length > field("length")
                or length == field("length") and lead > field("lead"))


def quantize_activations(x, channel_fisher, threshold: int, *, tensor_scale,
                         input_format: str = "bf16", widths: ScoreWidths = ScoreWidths()) -> FGMPTensor:
    """Quantize activations exactly as the activation quantization unit does.

    Per block of 16 channels, in tensor-scale units ``y = x / s_t`` (exact, ``s_t`` a power
    of two): FP8 codes ``e4m3(y)``; NVFP4 scale ``max(e4m3(amax / 6), 2**-9)`` and codes
    ``e2m1(y / s_b)`` (all RNE, saturating); the integer score of :func:`narrow_scores`; FP8
    iff ``score > threshold`` or the block holds a NaN (NaN elements become the E4M3 NaN code).

    Parameters
    ----------
    x : array_like, last axis = channels (a multiple of 16)
        Rounded to ``input_format`` first; NaN and ±inf allowed (see status).
    channel_fisher : array_like, one non-negative value per channel
    threshold : int
        The threshold register (score units); -1 makes every block FP8.
    tensor_scale : float
        The power-of-two tensor scale fixed offline (:func:`activation_tensor_scale`); the unit
        holds its exponent.
    input_format : {"bf16", "fp16", "fp32"}
    widths : ScoreWidths
        The score's narrowing; the default is the hardware unit's.

    Raises
    ------
    ValueError
        A threshold that is not an integer, a tensor scale that is not a power of two in range,
        channel count mismatch, unknown input format.
    """
    codes, _ = sensitivity_codes(channel_fisher)
    return quantize_activations_by_codes(x, codes, threshold, tensor_scale=tensor_scale, input_format=input_format,
                                         widths=widths)


def quantize_activations_by_codes(x, channel_codes, threshold: int, *, tensor_scale, input_format: str = "bf16",
                                  widths: ScoreWidths = ScoreWidths()) -> FGMPTensor:
    """:func:`quantize_activations` with the 8-bit channel sensitivity codes the unit's memory holds.

    Raises
    ------
    ValueError
        ``channel_codes`` not a vector of integers in 0 ... 255, and the errors of
        :func:`quantize_activations`.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)):
        raise ValueError(f"threshold is the unit's integer register, got {threshold!r}")
    codes = np.asarray(channel_codes)
    if codes.ndim != 1 or codes.dtype.kind not in "iu" or (codes.size and (codes.min() < 0 or codes.max() > 255)):
        raise ValueError(f"channel_codes must be a vector of 8-bit sensitivity codes, got {channel_codes!r}")
    b = _activation_blocks(x, codes, tensor_scale, input_format, widths)
    modes = (b.scores > threshold) | ((b.status & STATUS_NAN) != 0)
    out_codes = np.where(modes[..., None], b.fp8, b.fp4).reshape(np.shape(x))
    return FGMPTensor(modes, out_codes, np.where(modes, 0, b.scale).astype(np.uint8),
                      nvfp4.check_tensor_scale(tensor_scale), int(threshold), b.scores, b.status)


def dot(*operands) -> tuple[np.ndarray, list[int]]:
    """Row dot products exactly as the FGMP datapath computes them (:func:`golden.fgmp_dot.dot`).

    Call it with the two quantized tensors, ``dot(w, a)``: ``w`` from
    :func:`quantize_weights` (rows = output channels), ``a`` from
    :func:`quantize_activations` with one row (a GEMV) or one row per weight
    row. The eight-array form of :func:`golden.fgmp_dot.dot` (modes, codes and
    scale codes of each, then both tensor scales) is accepted too.

    Returns
    -------
    bits : ndarray of uint32, shape (rows,)
        FP32 results as bit patterns: ``dequantize()`` of the two tensors, multiplied
        and summed exactly, rounded once to FP32 (NaN is ``0x7FC00000``).
    accumulators : list of int
        The exact row accumulators (units of ``2**-20``).
    """
    if len(operands) == 2 and all(isinstance(t, FGMPTensor) for t in operands):
        w, a = operands
        return fgmp_dot.dot(w.modes, w.codes, w.scale_codes, a.modes, a.codes, a.scale_codes,
                            w.tensor_scale, a.tensor_scale)
    if len(operands) == 8:
        return fgmp_dot.dot(*operands)
    raise ValueError(f"dot takes two FGMPTensor (weights, activations) or the eight arrays of "
                     f"golden.fgmp_dot.dot; got {len(operands)} argument(s) of types "
                     f"{[type(o).__name__ for o in operands]}")
