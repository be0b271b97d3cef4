"""The NumPy all-MiniLM-L6-v2 forward pass: known properties of the FP32 model."""

import numpy as np
import pytest

from golden import minilm

PAIRS = [("A man is playing a guitar.", "Someone plays the guitar."),
         ("The stock market fell sharply today.", "Share prices dropped steeply this afternoon."),
         ("A cat is sleeping on the windowsill.", "The kitten dozes in the sunny window.")]


@pytest.fixture(scope="module")
def model():
    return minilm.load()


def test_embeddings_are_unit_norm_and_384_wide(model):
    emb = model.encode([t for pair in PAIRS for t in pair])
    assert emb.shape == (6, 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-12)


def test_paraphrases_are_closer_than_unrelated_sentences(model):
    emb = model.encode([t for pair in PAIRS for t in pair]).reshape(3, 2, 384)
    for i in range(3):
        para = emb[i, 0] @ emb[i, 1]
        others = [emb[i, 0] @ emb[j, k] for j in range(3) if j != i for k in range(2)]
        assert para > 0.5 and para > max(others) + 0.3


def test_padding_does_not_change_an_embedding(model):
    alone = model.encode(["Short."])
    padded = model.encode(["Short.", "A much longer sentence that forces padding of the short one."])
    np.testing.assert_allclose(alone[0], padded[0], atol=1e-9)


def test_the_linear_hook_sees_all_36_layers(model):
    seen = []

    def hook(name, x, w, b):
        seen.append((name, x.shape[-1], w.shape))
        return minilm.float_linear(name, x, w, b)

    model.encode(["One sentence."], hook)
    assert len(seen) == 36 and seen[0][0] == "layer0.query" and seen[-1][0] == "layer5.ffn_out"
    assert all(shape[1] == width for _, width, shape in seen)


def test_one_string_is_refused(model):
    with pytest.raises(ValueError, match="list of strings"):
        model.encode("not a list")
