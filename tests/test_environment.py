"""environment.yml (conda) and pyproject.toml (pip) ask for the same packages with the same bounds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = Path(__file__).resolve().parents[1]
# PyPI name -> conda-forge name, where they differ
CONDA_NAMES = {"torch": "pytorch", "ray": "ray-core"}
# conda-only entries: graph-tool is not on PyPI; pip installs the package; mkdocstrings' [python] extra is a package there
CONDA_ONLY = {"python", "graph-tool", "pip", "mkdocstrings-python"}
REQ = re.compile(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*([<>=!~][^;#]*)?")


def _split(req: str) -> tuple[str, str]:
    """``"numpy>=1.24"`` -> ``("numpy", ">=1.24")``: the name (lower case, no extras) and its bounds, spaces removed."""
    m = REQ.match(req)
    assert m, req
    return m.group(1).lower(), (m.group(3) or "").replace(" ", "")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    return dict(_split(r) for r in reqs)


def _environment() -> tuple[dict[str, str], list]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    return dict(_split(d) for d in conda), pip


def test_environment_matches_pyproject():
    """Every dependency of pyproject (base and every extra) is in environment.yml with the same
    bounds, and environment.yml asks for nothing pyproject does not (but the conda-only few)."""
    pip_side, (conda_side, pip_section) = _pyproject(), _environment()
    expected = {CONDA_NAMES.get(name, name): bound for name, bound in pip_side.items()}
    got = {name: bound for name, bound in conda_side.items() if name not in CONDA_ONLY}
    assert got == expected
    assert conda_side["python"] == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert pip_section == [["-e ."]]  # the package itself, its dependencies already installed by conda


def test_dev_extra_runs_the_notebook():
    """The dev extra holds what opens and runs examples/quickstart.ipynb (and tests it)."""
    dev = {_split(r)[0] for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]}
    assert {"jupyterlab", "nbconvert", "nbclient", "nbformat", "ipykernel"} <= dev
