"""Library code logs (logger "wiring_lab"), never prints; the CLI decides what is shown."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

from typer.testing import CliRunner

from wiring_lab.cli import app
from wiring_lab.study import run_study

PACKAGE = Path(__file__).resolve().parents[1] / "wiring_lab"
STUDY = """\
name: one
networks:
  - generator: ws
    k: 4
    p: 0.75
scales:
  demo:
    channels: 4
    nodes: 5
    head_channels: 8
    epochs: 1
    seeds: 1
    limit: 100
    device: cpu
"""


def test_no_print_in_library_code():
    """Every print() outside the CLI would bypass the caller's choice of what to show."""
    calls = []
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("cli.py", "export_pickled.py") or path.parent.name == "cli":  # the two command lines (the second runs alone, in a foreign environment)
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Name) and node.id == "print":  # called, or passed as a default echo
                calls.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert calls == []


def test_cli_verbose_and_quiet_choose_what_is_shown(tmp_path, caplog):
    study = tmp_path / "one.yaml"
    study.write_text(STUDY)
    run = tmp_path / "run"
    runner = CliRunner()
    verbose = runner.invoke(app, ["--verbose", "ablate", str(study), "--out", str(run)])
    assert verbose.exit_code == 0, verbose.output
    assert "study one (demo): 1 networks" in verbose.output  # INFO: the study's progress line
    assert "train:ws_k4_p0.75_s0 done" in verbose.output  # DEBUG: each task's outcome
    default = runner.invoke(app, ["ablate", str(study), "--out", str(run)])
    assert default.exit_code == 0 and "study one (demo)" in default.output and " skipped (" not in default.output
    quiet = runner.invoke(app, ["--quiet", "ablate", str(study), "--out", str(run)])
    assert quiet.exit_code == 0 and "study one (demo)" not in quiet.output
    assert "wrote " in quiet.output  # the command's own result is still printed
    both = runner.invoke(app, ["--verbose", "--quiet", "ablate", str(study), "--out", str(run)])
    assert both.exit_code == 2 and "choose one of --verbose and --quiet" in both.output

    # In a library the same lines are log records of "wiring_lab.study", shown only if the caller asks.
    logging.getLogger("wiring_lab").handlers.clear()
    logging.getLogger("wiring_lab").setLevel(logging.NOTSET)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="wiring_lab"):
        run_study(study, "demo", run, progress=False)
    assert [r.name for r in caplog.records if r.getMessage().startswith("study one (demo)")] == ["wiring_lab.study"]
