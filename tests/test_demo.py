"""The one-command demo, end to end at its tiny size, and its reuse of finished work."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from wiring_lab._io import UserError, read_table
from wiring_lab.cli import app
from wiring_lab.demo import demo_study, run_demo
from wiring_lab.rundir import table_path
from wiring_lab.sensitivity import findings
from wiring_lab.study import builtin_study, expand_study, load_study


@pytest.fixture(scope="module")
def demo_run(tiny_demo):
    """The tiny demo, run once per session (conftest; the browser test opens its report too)."""
    return tiny_demo


def test_demo_end_to_end(demo_run):
    out, result, lines = demo_run
    assert sorted(p.name for p in (out / "checkpoints").glob("*.pt")) == ["ba_s0.pt", "er_s0.pt", "ws_s0.pt"]
    for name in ("models", "history", "graphs", "stage_metrics", "node_metrics", "population_metrics"):
        assert table_path(out, name).is_file()
    made = {o.name for o in result["figures"] if o.status == "made"}
    # the tiny size has one network per setting: no std bars, no EDF; too few for the C-L map; one node op
    assert made == {"generator_sweep", "stage_graphs", "learning_curves", "damage", "attack", "ws_curves", "metric_vs_damage"}
    corr = pd.read_csv(table_path(out, "correlations"))
    assert {"spearman", "pearson", "kendall"} <= set(corr["method"]) and (corr["target"] == "delta_top1").all()
    damage = pd.read_csv(table_path(out, "damage"))
    assert set(damage["kind"]) == {"intact", "node", "edge"} and set(damage["model"]) == {"er_s0", "ba_s0", "ws_s0"}
    assert set(pd.read_csv(table_path(out, "attack"))["order"]) == {"random", "degree", "betweenness"}
    # nodes under every ablation with and without cascade, edges under the default only
    nodes = damage[damage["kind"] == "node"]
    assert set(zip(nodes["ablation"], nodes["cascade"])) == {(a, c) for a in ("drop", "zero", "mean") for c in (False, True)}
    assert set(zip(damage.loc[damage["kind"] == "edge", "ablation"], damage.loc[damage["kind"] == "edge", "cascade"])) == {("drop", False)}
    sens = pd.read_csv(table_path(out, "sensitivity"))
    assert len(sens) == 6 * 3 and set(sens["trend"]) <= {"holds", "reversed", "not shown", "no estimate"}
    assert (sens["n_networks"] == 1).all() and (sens["n_rows"] == 3 * 6).all()  # 1 network x 3 stages x 6 nodes per choice
    for o in result["figures"]:
        if o.status == "made":
            assert o.path.parent == out / "figures" and o.path.stat().st_size > 5_000
        else:
            assert any(line == f"skipped {o.name}: {o.reason}" for line in lines)
    html = (out / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == len(made)
    assert "tables/models.csv" in html and "Configuration" in html and "Timings" in html
    assert html.index("<h2>Findings</h2>") < html.index("<h2>Figures</h2>")  # the report opens with its findings
    assert "sensitivity of the node-damage findings" in html
    assert "<img" in html and 'src="http' not in html and "<script" not in html  # self-contained
    study = json.loads((out / "study.json").read_text())  # the configuration of everything in the run directory
    assert study["scale"] == "tiny" and study["study"]["scales"]["tiny"]["channels"] == 4
    assert all(t["status"] == "done" for t in study["tasks"])
    steps = [t["step"] for t in json.loads((out / "timings.json").read_text())]
    assert steps[:3] == ["train er_s0", "train ba_s0", "train ws_s0"] and steps[-2:] == ["figures", "total"]
    assert {"population", "correlate", "damage er_s0", "attack ws_s0", "metrics ba_s0"} <= set(steps)


def test_demo_rerun_reuses_work(demo_run):
    out, first, _ = demo_run
    stamps = {p: p.stat().st_mtime_ns for p in (out / "checkpoints").glob("*.pt")}
    tables = {p: p.read_bytes() for p in (out / "tables").glob("*.csv")}
    lines: list[str] = []
    run_demo(out, "tiny", device="cpu", echo=lines.append)
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())  # no checkpoint rewritten
    assert {p: p.read_bytes() for p in (out / "tables").glob("*.csv")} == tables
    trained = [line for line in lines if line.startswith("train ")]
    assert len(trained) == 3 and all(": reused" in line for line in trained)
    assert [line for line in lines if ": computed" in line or ": trained" in line] == []


def test_demo_progress_bar_then_findings(demo_run, capsys):
    """With ``progress`` (the CLI's way): one bar over the tasks and figures instead of a line per
    task, and the run ends with the sensitivity findings (slopes with intervals) and the report's path."""
    out, _, _ = demo_run
    lines: list[str] = []
    result = run_demo(out, "tiny", device="cpu", echo=lines.append, progress=True)
    bar = capsys.readouterr().err
    steps = 14 + 11  # 3 trainings + 11 analyses, 11 figures
    assert f"{steps}/{steps}" in bar and "100%" in bar and bar.count(f"{steps}/{steps}") <= 2  # one bar, closed once
    assert not [line for line in lines if line.startswith(("train ", "damage ", "attack "))]  # no line per task
    said = findings(read_table(table_path(out, "sensitivity")))
    assert len(said) == 3 and all("slope" in f or "no slope" in f for f in said)
    assert lines[-5:] == [lines[-5], *[f"  {f}" for f in said], lines[-1]]
    assert lines[-5].startswith("findings") and lines[-1].startswith(f"report: {result['report'].resolve()} (")


def test_demo_changed_setting_redoes_only_its_step(demo_run, tmp_path):
    from dataclasses import replace

    out, _, _ = demo_run
    study = demo_study("tiny")
    tiny = study.scales["tiny"]
    study = replace(study, scales={"tiny": replace(tiny, attack={**tiny.attack, "fractions": (0.0, 0.5)})})
    lines: list[str] = []
    run_demo(out, "tiny", device="cpu", echo=lines.append, study=study)
    status = {line.split(":")[0]: line.split(": ")[1].split(" ")[0] for line in lines if ": " in line and not line.startswith(("wrote", "skipped", "study"))}
    assert status["damage er_s0"] == "reused" and status["attack er_s0"] == "computed" and status["train er_s0"] == "reused"
    assert status["correlate"] == "reused"  # the damage it reads did not change
    assert sorted(pd.read_csv(table_path(out, "attack"))["fraction"].unique()) == [0.0, 0.5]


def test_demo_is_a_builtin_study(tmp_path):
    """`wiring-lab ablate demo` runs the same study file; both sizes expand to the same tasks."""
    study = load_study("demo")
    assert study.path == str(builtin_study("demo")) and set(study.scales) == {"demo", "tiny"}
    plan = expand_study(study, "demo", tmp_path)
    assert [n.name for n in plan.networks] == [f"{g}_s{s}" for g in ("er", "ba", "ws") for s in range(3)]
    assert {n.model_config["nodes"] for n in plan.networks} == {32}
    keys = [t.key for t in plan.tasks]
    assert keys[:9] == [f"train:{n.name}" for n in plan.networks] and keys[-2:] == ["population", "correlate"]
    res = CliRunner().invoke(app, ["ablate", "demo", "--scale", "tiny", "--out", str(tmp_path / "r"), "--dry-run"])
    assert res.exit_code == 0 and "3 trainings, 11 analyses" in res.output


def test_demo_help_quotes_a_command_that_works(tmp_path, monkeypatch):
    """`demo --help` says `wiring-lab ablate demo` runs the demo too: as quoted (the default
    scale), it expands to the demo's own tasks, with the same digests (so they share results)."""
    res = CliRunner().invoke(app, ["demo", "--help"], terminal_width=200)
    assert res.exit_code == 0 and "`wiring-lab ablate demo` runs it too" in " ".join(res.output.split())
    monkeypatch.chdir(tmp_path)  # the default run directory, runs/demo-demo, lands here
    res = CliRunner().invoke(app, ["ablate", "demo", "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "9 trainings, 29 analyses" in res.output and "runs/demo-demo/results/train/er_s0-" in res.output
    ablate = sorted(line.split("\t")[1].rsplit("/", 1)[1] for line in res.output.splitlines() if "\t" in line)
    demo = sorted(Path(t.result_path).name for t in expand_study(demo_study(), "demo", tmp_path / "report").tasks)
    assert ablate == demo and len(demo) == 38
    assert not (tmp_path / "runs").exists()  # a dry run writes nothing


def test_demo_cli_and_config_errors(tmp_path):
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--size", "huge"])
    assert res.exit_code == 2 and "unknown demo size 'huge'" in res.output
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--epochs", "0"])
    assert res.exit_code == 2 and "--epochs must be an integer" in res.output
    with pytest.raises(UserError, match="no built-in study 'nope'"):
        builtin_study("nope")
    assert demo_study("tiny", seeds=2).scales["tiny"].seeds == (0, 1)
    assert demo_study().scales["demo"].train.epochs == 6 and demo_study().scales["demo"].nodes == 32
    assert demo_study("tiny", epochs=3).scales["tiny"].train.epochs == 3
