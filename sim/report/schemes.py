"""Quantization schemes applied to a real model's linear layers, built from golden functions only.

A scheme turns the model's linear layers into a :class:`QuantizedModel`:
dequantized weights with their storage cost, and an optional activation
quantizer applied to every layer input. Activation quantizers are dynamic
(per call, per tensor) except FGMP's, which is the hardware unit's rule with
an offline tensor scale and threshold.

Sensitivity: all-MiniLM has no training loss here, so no Fisher information.
The report uses a **layer-output-error proxy**, named as such everywhere:
for weights ``F_ij = E[x_j**2]`` (the expected squared output error a weight
error causes), for activations ``F_c = sum_i W_ic**2``. A real Fisher file
(``--fisher``) replaces the weight proxy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from golden import bitplane, fgmp, formats, hgq, imunpack, mx, nvfp4

__all__ = ["Calibration", "QuantizedModel", "calibrate", "build", "SCHEME_BUILDERS"]


@dataclass
class Calibration:
    """Per-layer statistics of the float model's layer inputs on calibration text."""

    inputs: dict[str, np.ndarray]          # sample of input rows [n, in]
    amax: dict[str, float]
    channel_power: dict[str, np.ndarray]   # E[x_j**2]


def calibrate(model, texts: list[str], rows: int = 512, seed: int = 0) -> Calibration:
    """Run the float model once, keeping a row sample and statistics of every layer input."""
    captured: dict[str, list] = {}

    def hook(name, x, weight, bias):
        captured.setdefault(name, []).append(x.reshape(-1, x.shape[-1]))
        return x @ weight.T.astype(np.float64) + bias

    model.encode(texts, hook)
    rng = np.random.default_rng(seed)
    inputs, amax, power = {}, {}, {}
    for name, parts in captured.items():
        x = np.concatenate(parts)
        amax[name] = float(np.abs(x).max())
        power[name] = (x ** 2).mean(0)
        inputs[name] = x[rng.choice(len(x), size=min(rows, len(x)), replace=False)]
    return Calibration(inputs, amax, power)


@dataclass
class QuantizedModel:
    """Dequantized weights, their storage bits, and the activation quantizer of one scheme."""

    weights: dict[str, np.ndarray]
    weight_bits: dict[str, float]
    act: Callable[[str, np.ndarray], np.ndarray] | None = None
    info: dict = field(default_factory=dict)

    def linear(self, name, x, weight, bias):
        if self.act is not None:
            x = self.act(name, x)
        return x @ self.weights[name].T + bias


def _fp8_values(x: np.ndarray) -> np.ndarray:
    """Per-tensor FP8 (E4M3) with a dynamic scale ``amax / 448``."""
    s = fgmp.tensor_scale_for(x)
    return formats.decode(formats.encode(x / np.float64(s), "e4m3"), "e4m3") * np.float64(s)


def _per_layer(layers, quantize) -> tuple[dict, dict]:
    weights, bits = {}, {}
    for name, (w, _) in layers.items():
        weights[name], bits[name] = quantize(name, w.astype(np.float64))
    return weights, bits


def fp8(layers, calib, **_):
    weights, bits = _per_layer(layers, lambda n, w: (_fp8_values(w), w.size * 8 + 32))
    return QuantizedModel(weights, bits, lambda n, x: _fp8_values(x))


def nvfp4_scheme(layers, calib, **_):
    def q(n, w):
        t = nvfp4.quantize(w)
        return t.dequantize(), t.bits_per_element * w.size
    weights, bits = _per_layer(layers, q)
    return QuantizedModel(weights, bits, lambda n, x: nvfp4.quantize(x).dequantize())


def mx_scheme(layers, calib, *, elem, **_):
    def q(n, w):
        t = mx.quantize(w, elem)
        return t.dequantize(), t.bits_per_element * w.size
    weights, bits = _per_layer(layers, q)
    return QuantizedModel(weights, bits, lambda n, x: mx.quantize(x, elem).dequantize())


def _weight_fisher(name, w, calib, fisher_file):
    if fisher_file is not None and name in fisher_file:
        return np.asarray(fisher_file[name], dtype=np.float64)
    return np.broadcast_to(calib.channel_power[name], w.shape)


def fgmp_scheme(layers, calib, *, fraction, policy, fisher_file=None, seed=0, **_):
    """FGMP with one global weight threshold and the activation unit's rule per layer."""
    rng = np.random.default_rng(seed)
    fisher, scores = {}, {}
    for name, (w, _) in layers.items():
        w = w.astype(np.float64)
        fisher[name] = _weight_fisher(name, w, calib, fisher_file)
        if policy == "fisher-proxy":
            scores[name] = fgmp.block_scores(w, fisher[name])
        elif policy == "magnitude":
            scores[name] = fgmp.block_scores(w, np.ones(w.shape))
        else:
            scores[name] = rng.random(w.shape[:-1] + (w.shape[-1] // fgmp.BLOCK,))
    threshold = fgmp.threshold_for_fraction(np.concatenate([s.ravel() for s in scores.values()]), fraction)
    weights, bits, act_cfg, modes = {}, {}, {}, []
    for name, (w, _) in layers.items():
        w = w.astype(np.float64)
        t = fgmp.quantize_weights(w, fisher[name], threshold=threshold, scores=scores[name])
        weights[name], bits[name] = t.dequantize(), t.bits_per_element * w.size
        modes.append(t.modes.ravel())
        if policy == "fisher-proxy":
            channel = (w ** 2).sum(0)
        elif policy == "magnitude":
            channel = np.ones(w.shape[1])
        else:
            channel = rng.random(w.shape[1])
        s_t = fgmp.activation_tensor_scale(calib.amax[name])
        act_t = fgmp.calibrate_activation_threshold(calib.inputs[name], channel, fraction, tensor_scale=s_t)
        act_cfg[name] = (channel, act_t, s_t)
    act_fraction = []

    def act(name, x):
        channel, t, s_t = act_cfg[name]
        q = fgmp.quantize_activations(x, channel, t, tensor_scale=s_t)
        act_fraction.append(q.fp8_fraction)
        return q.dequantize()

    info = {"weight_fp8_fraction": float(np.concatenate(modes).mean()), "act_fp8_fraction": act_fraction}
    return QuantizedModel(weights, bits, act, info)


def smartquant(layers, calib, *, k=8, caps=None, **_):
    """INT8 bit-planes read through view ``k``, or through view 8 with per-layer plane caps."""
    def q(name, w):
        codes, scales = bitplane.quantize_int8(w, group=128)
        planes = bitplane.to_planes(codes.reshape(-1))
        if caps is None:
            view, planes_read = bitplane.read_view(planes, k), k
        else:
            planes_read = caps(name)
            view = bitplane.read_view(planes, 8, caps=planes_read)
        deq = bitplane.dequantize_view(view, k if caps is None else 8, scales, scale_group=128)
        return deq.reshape(w.shape), w.size * planes_read + scales.size * 32
    weights, bits = _per_layer(layers, q)
    return QuantizedModel(weights, bits)


def hgq_scheme(layers, calib, *, beta, steps=40, **_):
    def q(name, w):
        fit = hgq.fit_fractional_bits(w.T, calib.inputs[name][:256], beta=beta, steps=steps)
        width = hgq.bit_width(1, fit.integer_bits, fit.f)
        return fit.weights.T, float(width.sum())
    weights, bits = _per_layer(layers, q)
    return QuantizedModel(weights, bits)


def rtn_unpacked(layers, calib, *, bits, p=0.999, **_):
    """RTN integers without clipping, exact through IM-Unpack: b-bit GEMMs reproduce the integer GEMM."""
    beta = 2 ** bits - 1
    ratios = {}

    def q(name, w):
        qi, s = imunpack.rtn(w, beta, p)
        ratios[name] = imunpack.unpack_rows(qi, bits).matrix.shape[0] / w.shape[0]
        return qi / s, w.size * bits * ratios[name]

    def act(name, x):
        qi, s = imunpack.rtn(x, beta, p)
        return qi / s

    weights, weight_bits = _per_layer(layers, q)
    return QuantizedModel(weights, weight_bits, act, {"weight_row_ratio": ratios})


SCHEME_BUILDERS = {"fp8": fp8, "nvfp4": nvfp4_scheme, "mx": mx_scheme, "fgmp": fgmp_scheme,
                   "smartquant": smartquant, "hgq": hgq_scheme, "rtn_unpacked": rtn_unpacked}


def build(family: str, layers, calib, **params) -> QuantizedModel:
    """Build the scheme ``family`` with ``params``; ``ValueError`` naming an unknown family."""
    if family not in SCHEME_BUILDERS:
        raise ValueError(f"unknown scheme family {family!r}; expected one of {sorted(SCHEME_BUILDERS)}")
    return SCHEME_BUILDERS[family](layers, calib, **params)
