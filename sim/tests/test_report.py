"""The report's scheme evaluation on a small sentence set: measures are consistent and ordered."""

import pytest

from golden import minilm
from sim.report import __main__ as report
from sim.report import schemes
from sim.report.sentences import sentences


@pytest.fixture(scope="module")
def setup():
    model = minilm.load()
    texts = sentences()[:24]
    ref = model.encode(texts)
    calib = schemes.calibrate(model, texts, rows=128)
    return model, texts, ref, report._nn(ref), model.linear_layers(), calib


def run(setup, family, **params):
    model, texts, ref, ref_nn, layers, calib = setup
    return report.evaluate(model, texts, ref, ref_nn, layers, calib, family, params, None)


def test_sentence_set_is_fixed_and_large_enough():
    s = sentences()
    assert len(s) >= 200 and len(set(s)) == len(s) and s == sentences()


def test_more_bits_give_higher_fidelity(setup):
    fp8, nv = run(setup, "fp8"), run(setup, "nvfp4")
    n = sum(w.size for w, _ in setup[4].values())
    assert fp8["bits_per_element"] == pytest.approx(8 + 32 * 36 / n)       # one FP32 scale per layer
    assert nv["bits_per_element"] == pytest.approx(4.5, abs=1e-3)
    assert 1.0 >= fp8["cosine_mean"] > nv["cosine_mean"] > 0.9
    assert fp8["sqnr_db_mean"] > nv["sqnr_db_mean"]


def test_smartquant_traffic_is_proportional_to_planes(setup):
    k8, k4 = run(setup, "smartquant", k=8), run(setup, "smartquant", k=4)
    n = sum(w.size for w, _ in setup[4].values())
    scale_bytes = n / 128 * 4
    assert k8["weight_bytes_per_token"] - scale_bytes == pytest.approx(n)
    assert k4["weight_bytes_per_token"] - scale_bytes == pytest.approx(n / 2)


def test_fgmp_hits_its_weight_fraction(setup):
    r = run(setup, "fgmp", fraction=0.25, policy="fisher-proxy")
    assert r["info"]["weight_fp8_fraction"] == pytest.approx(0.25, abs=1e-3)
    assert 0.1 < r["info"]["act_fp8_fraction"] < 0.4


def test_activation_decisions_cover_every_score_width(setup):
    layers, calib = setup[4], setup[5]
    few = dict(list(layers.items())[:3])
    d = report.activation_decisions(few, calib)
    assert [(r["fraction_bits"], r["significant_bits"]) for r in d["widths"]] == list(report.SCORE_WIDTHS)
    assert sum(r["unit"] for r in d["widths"]) == 1 and d["rate"] == next(r for r in d["widths"] if r["unit"])["rate"]
    assert all(0 <= r["rate"] < 0.05 for r in d["widths"])
    assert d["blocks"] == sum(calib.inputs[n].shape[0] * calib.inputs[n].shape[1] // 16 for n in few)
    assert report.score_width_plot(d, {}) and report.score_width_plot(d, {(2, 4): 1000})


def test_score_width_area_reads_the_flow_results(tmp_path, monkeypatch):
    build = tmp_path / "fpga" / "build"
    build.mkdir(parents=True)
    (build / "results.json").write_text(
        '{"results": [{"config": "actquant-bf16-f1-p4", "lut4_nodsp": 5000}, {"config": "actquant-bf16", '
        '"lut4_nodsp": 6000}, {"config": "vmac-mixed-x1", "lut4_nodsp": 1}]}')
    monkeypatch.setattr(report, "REPO", tmp_path)
    assert report.score_width_area() == {(1, 4): 5000}       # the named width first, then the default


def _regress_summary(missed):
    items = {"vmac.pairing_x_case": {"bins": 3, "hit": 3 - len(missed), "missed": missed}}
    return {"wall_s": 32.9, "workers": 2, "blocks": {
        "vmac-mixed-x1": {"unit": "rows", "vectors": 20764, "mismatches": 0, "shards": 4, "failed": [],
                          "run_wall_s": 32.9, "run_workers": 2, "commit": "abc1234", "date": "2026-12-04", "coverage": {"bins": 3, "hit": 3 - len(missed), "items": items}}}}


def test_coverage_section_names_every_missed_bin(tmp_path):
    from sim.report import coverage
    path = tmp_path / "summary.json"
    path.write_text(__import__("json").dumps(_regress_summary(["(FP4, FP8) x NaN scale"])))
    md, h = coverage.section(path, report._table)
    text = "\n".join(md)
    assert "| vmac-mixed-x1 | 20,764 rows | 0 | 0 of 4 | 2 of 3 | 66.7 % | 32.9 s on 2 | abc1234 (2026-12-04) |" in text
    assert "- vmac-mixed-x1: vmac.pairing_x_case: (FP4, FP8) x NaN scale" in text


def test_coverage_section_says_when_every_bin_was_hit_or_nothing_ran(tmp_path):
    from sim.report import coverage
    path = tmp_path / "summary.json"
    path.write_text(__import__("json").dumps(_regress_summary([])))
    assert "Every defined bin was hit." in coverage.section(path, report._table)[0]
    assert "run `make regress`" in "\n".join(coverage.section(tmp_path / "none.json", report._table)[0])
