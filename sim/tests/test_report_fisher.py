"""The report's Fisher file: checked against the layers, unknown keys refused, coverage reported per layer."""

import numpy as np
import pytest

from golden import minilm
from sim.report import __main__ as report
from sim.report.fisher import load_fisher

LAYERS = {name: (np.zeros((4, 32)), np.zeros(4)) for name in ("layer0.query", "layer0.key", "layer1.ffn_in")}
CHECKPOINT = {"encoder.layer.0.attention.self.query.weight": "layer0.query"}


def npz(tmp_path, **arrays):
    path = tmp_path / "fisher.npz"
    np.savez(path, **arrays)
    return path


def test_layer_and_checkpoint_names_are_read_and_broadcast(tmp_path):
    path = npz(tmp_path, **{"encoder.layer.0.attention.self.query.weight": np.full((4, 32), 2.0),
                            "layer1.ffn_in": np.arange(32.0)})                       # one value per input channel
    fisher = load_fisher(path, LAYERS, CHECKPOINT)
    assert fisher.coverage == {"layer0.query": True, "layer0.key": False, "layer1.ffn_in": True}
    assert fisher.uncovered == ["layer0.key"]
    assert fisher.tensors["layer1.ffn_in"].shape == (4, 32)
    assert np.array_equal(fisher.tensors["layer1.ffn_in"][3], np.arange(32.0))


@pytest.mark.parametrize("arrays, match", [
    ({"encoder.layer.0.attention.self.query.bias": np.ones(4)},
     r"1 key\(s\) name no layer.*'encoder.layer.0.attention.self.query.bias'.*expected layer names \(3\): "
     r"layer0.query, layer0.key, layer1.ffn_in"),
    ({}, "holds no arrays; expected layer names"),
    ({"layer0.query": np.ones((4, 32)), "encoder.layer.0.attention.self.query.weight": np.ones((4, 32))},
     "both name layer 'layer0.query'"),
    ({"layer0.key": np.ones((32, 4))}, r"shape \(32, 4\).*does not broadcast.*\(4, 32\)"),
    ({"layer0.key": -np.ones((4, 32))}, "finite and non-negative"),
    ({"layer0.key": np.full((4, 32), np.nan)}, "finite and non-negative"),
    ({"layer0.key": np.full((4, 32), "x")}, "real numbers"),
])
def test_bad_files_are_refused_with_what_was_expected(tmp_path, arrays, match):
    with pytest.raises(ValueError, match=match):
        load_fisher(npz(tmp_path, **arrays), LAYERS, CHECKPOINT)


def test_a_file_that_is_not_an_npz_is_refused(tmp_path):
    path = tmp_path / "fisher.npz"
    path.write_text("not a zip")
    with pytest.raises(ValueError, match="cannot be read as an .npz"):
        load_fisher(path, LAYERS)
    with pytest.raises(ValueError, match="cannot be read"):
        load_fisher(tmp_path / "missing.npz", LAYERS)


def test_partial_coverage_is_reported_per_layer(tmp_path):
    fisher = load_fisher(npz(tmp_path, **{"layer0.key": np.ones((4, 32))}), LAYERS)
    line, rows = report.sensitivity(fisher)
    assert "weights of 1 of 3 layers" in line and "the other 2 use the" in line
    assert rows == [["layer0.query", "proxy (not in the file)"], ["layer0.key", "Fisher file"],
                    ["layer1.ffn_in", "proxy (not in the file)"]]
    full = load_fisher(npz(tmp_path, **{n: np.ones((4, 32)) for n in LAYERS}), LAYERS)
    assert report.sensitivity(full)[1] == [] and "3 of 3 layers." in report.sensitivity(full)[0]
    assert "no Fisher information" in report.sensitivity(None)[0]


def test_the_command_refuses_keys_of_another_naming(tmp_path, capsys):
    """The reported case: checkpoint-style keys of a tensor that is not a linear weight."""
    path = npz(tmp_path, **{"encoder.layer.0.attention.self.query.bias": np.ones(384)})
    with pytest.raises(SystemExit) as exit_:
        report.main(["--fisher", str(path)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--fisher" in err and "name no layer" in err and "layer0.query" in err and "layer5.ffn_out" in err


def test_model_checkpoint_names_map_to_layer_names():
    names = minilm.load().checkpoint_names()
    assert names["encoder.layer.0.attention.self.query.weight"] == "layer0.query"
    assert names["encoder.layer.5.output.dense.weight"] == "layer5.ffn_out"
    assert len(names) == 36 and len(set(names.values())) == 36


def test_a_single_array_is_refused(tmp_path):
    np.save(tmp_path / "fisher.npy", np.ones((4, 32)))
    with pytest.raises(ValueError, match="single array, not an .npz"):
        load_fisher(tmp_path / "fisher.npy", LAYERS)
