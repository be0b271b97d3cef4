"""cxlquant.cli: the subcommands, the Verilog export and its datasheet, and errors that name the bad argument."""

import json
import re
import subprocess
import sys

import pytest

from cxlquant.cli import SUBCOMMANDS, export, main, parse_assignments
from cxlquant.components import COMPONENTS, resolve


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert all(re.search(rf"^  {name}\s", out, re.M) for name in SUBCOMMANDS)


def test_an_unknown_subcommand_is_named(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["frobnicate"])
    assert stop.value.code == 2
    assert "unknown subcommand 'frobnicate'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["report", "synth", "regress", "formal", "mutants", "bitstream"])
def test_a_delegated_subcommand_shows_its_own_options_under_its_name(name, capsys):
    with pytest.raises(SystemExit) as stop:
        main([name, "--help"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: cxlquant {name}")


def test_bench_names_its_two_halves(capsys):
    assert main(["bench", "--help"]) == 0
    assert "`golden`" in capsys.readouterr().out
    assert main(["bench", "gpu"]) == 2
    assert "unknown bench 'gpu'" in capsys.readouterr().err


def test_the_installed_command_runs():
    out = subprocess.run([sys.executable, "-m", "cxlquant", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("cxlquant ")


def test_assignments_are_python_literals_or_strings():
    assert parse_assignments(["blocks=2", "variant=fp8", "widths=(1, 4)", "saturate=False"]) == \
        {"blocks": 2, "variant": "fp8", "widths": (1, 4), "saturate": False}
    with pytest.raises(ValueError, match="'blocks' is not NAME=VALUE"):
        parse_assignments(["blocks"])
    with pytest.raises(ValueError, match="'lanes' given twice"):
        parse_assignments(["lanes=1", "lanes=2"])


def test_every_named_component_imports():
    for name in COMPONENTS:
        assert callable(resolve(name).factory())


@pytest.mark.parametrize("component, params, message", [
    ("gpu", {}, "unknown component 'gpu'"),
    ("hdl.nothing:Thing", {}, "cannot import component 'hdl.nothing:Thing'"),
    ("vmac", {"lanes": 4}, r"vmac: unknown parameter\(s\) \['lanes'\]; accepted: \['blocks', 'variant', 'dsp'\]"),
    ("vmac", {"blocks": 0}, "vmac: blocks must be a positive integer, got 0"),
    ("actquant", {"widths": 3}, r"widths must be a pair \(fraction_bits, significant_bits\), got 3"),
    ("decoder", {}, "decoder: .*fmt"),
])
def test_a_bad_export_names_what_is_wrong(component, params, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        export(component, params, tmp_path)
    assert not list(tmp_path.iterdir())


def test_an_exported_component_has_verilog_and_a_datasheet_that_agree(tmp_path, capsys):
    assert main(["verilog", "vmac", "blocks=2", "variant=mixed", "--top", "fgmp_vmac_x2", "--out", str(tmp_path)]) == 0
    assert [line.split()[-1] for line in capsys.readouterr().out.splitlines()] == \
        [str(tmp_path / f"fgmp_vmac_x2{suffix}") for suffix in (".v", ".md", ".json")]
    verilog = (tmp_path / "fgmp_vmac_x2.v").read_text()
    sheet = json.loads((tmp_path / "fgmp_vmac_x2.json").read_text())
    assert re.search(r"^module fgmp_vmac_x2\(", verilog, re.M)
    assert sheet["component"] == "hdl.fgmp_vmac.FGMPVmac"
    assert {p["name"]: p["value"] for p in sheet["parameters"]} == {"blocks": "2", "variant": "'mixed'",
                                                                     "dsp": "'inferred'"}
    payload = next(p for p in sheet["ports"] if p["port"] == "i__payload")
    assert re.search(rf"^\s*input \[{payload['width'] - 1}:0\] i__payload;", verilog, re.M)
    assert [f["field"] for f in payload["fields"]][:3] == ["w[0].fp8", "w[0].codes[0..15]", "w[0].scale"]
    assert "one beat (2 block pair(s)" in sheet["timing"]["throughput"]
    page = (tmp_path / "fgmp_vmac_x2.md").read_text()
    assert page.startswith("# `fgmp_vmac_x2`: hdl.fgmp_vmac.FGMPVmac") and "### Bit fields of `i__payload`" in page


def test_a_combinational_codec_has_no_clock_in_its_datasheet(tmp_path):
    paths = export("decoder", {"fmt": "e2m1", "lanes": 2}, tmp_path)
    sheet = json.loads(paths[".json"].read_text())
    assert [p["port"] for p in sheet["ports"]] == ["codes", "values"]
    assert sheet["timing"]["latency"] == "0 cycles (combinational)"


def test_the_smartquant_datasheet_carries_the_register_map(tmp_path):
    paths = export("smartquant-controller", {"n_groups": 4, "lane_bits": 64, "pool_rows": 2}, tmp_path, "sq")
    page = paths[".md"].read_text()
    assert "## Register map" in page and "`REGION_CAP[r]`" in page
    assert "every 8 cycle(s) (64-bit lanes)" in page


def test_parameters_are_listed_without_writing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["verilog", "encoder", "--params"]) == 0
    assert capsys.readouterr().out.splitlines() == ["fmt (required)", "lanes (default 1)", "saturate (default True)"]
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("component, params", [
    ("actquant", {"input_format": "fp16", "max_channels": 64, "widths": (1, 4)}),
    ("lane", {}),
    ("encoder", {"fmt": "e4m3", "lanes": 2, "saturate": False}),
    ("smartquant", {"n_groups": 4, "lane_bits": 64, "pool_rows": 2}),
], ids=["actquant", "lane", "encoder", "smartquant"])
def test_every_named_component_exports(component, params, tmp_path):
    """The rest of the named components (vmac, decoder and the controller above): the datasheet's
    ports are checked against the Verilog as it is written, so an export that passes agrees."""
    paths = export(component, params, tmp_path)
    sheet = json.loads(paths[".json"].read_text())
    assert sheet["timing"]["throughput"]
    assert {p["name"] for p in sheet["parameters"] if p["given"]} == set(params)
