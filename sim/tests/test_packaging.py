"""The wheel a user installs: the packages, the licence, and no tests or build products."""

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("cxlquant", "golden", "hdl", "sim", "verif", "fpga")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """A wheel built from a copy of the tree that also holds a `sim_build/` and caches, as a working tree does."""
    tree = tmp_path_factory.mktemp("tree")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, tree / name)
    for package in PACKAGES:
        shutil.copytree(REPO / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
    (tree / "sim_build" / "codecs-e4m3-0123").mkdir(parents=True)
    (tree / "sim_build" / "codecs-e4m3-0123" / "top.py").write_text("")
    out = tmp_path_factory.mktemp("dist")
    name = subprocess.run([sys.executable, "-c", f"from setuptools import build_meta; print(build_meta.build_wheel({str(out)!r}))"],
                          cwd=tree, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return zipfile.ZipFile(out / name)


def test_build_backend_accepts_the_licence_string():
    """setuptools before 77 refuses `license = "Apache-2.0"`; the build requirement says so."""
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "Apache-2.0"
    assert meta["build-system"]["requires"] == ["setuptools>=77"]
    assert (REPO / "LICENSE").read_text().lstrip().startswith("Apache License\n                           Version 2.0")


def test_wheel_holds_the_packages_and_the_licence(wheel):
    names = wheel.namelist()
    assert {n.split("/")[0] for n in names if not n.startswith("cxlquant-")} == set(PACKAGES)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: Apache-2.0" in wheel.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "verif/benches/fgmp_vmac.py" in names and "golden/fgmp.py" in names


def test_wheel_declares_the_cxlquant_command(wheel):
    entry_points = wheel.read(next(n for n in wheel.namelist() if n.endswith("entry_points.txt"))).decode()
    assert "[console_scripts]\ncxlquant = cxlquant.cli:main" in entry_points


def test_wheel_ships_no_tests_and_no_build_products(wheel):
    names = wheel.namelist()
    assert not [n for n in names if "/tests/" in n or Path(n).name.startswith(("test_", "conftest"))]
    assert not [n for n in names if n.startswith("sim_build")]
