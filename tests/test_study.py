"""Study files: validation with file:line errors, expansion, end-to-end runs (local, Ray), resumption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from wiring_lab._io import UserError
from wiring_lab.cli import app
from wiring_lab.executor import Task, run_tasks
from wiring_lab.study import expand_study, load_study, run_study

REPO = Path(__file__).resolve().parent.parent
SEARCH_STUDIES = {"search_vs_random"}  # run by `wiring-lab search --study` (tests/test_search.py), not ablate
ABLATIONS = sorted(p for p in (REPO / "ablations").glob("*.yaml") if p.stem not in SEARCH_STUDIES)
TIMING_COLUMNS = {"seconds", "wall_s"}
CPU_PAPER = {"mnist_baselines", "fashion_mnist_damage", "fashion_mnist_damage48"}  # paper scales sized to one CPU machine rather than a GPU cluster

TINY = """\
name: tiny
description: two WS settings and a plain CNN, C=4, N=6, one epoch on 200 digits
networks:
  - generator: ws
    k: 4
    p: [0.0, 0.75]
  - arch: plain
    nodes: 2
    node_op: conv3x3
scales:
  demo:
    channels: 4
    nodes: 6
    head_channels: 16
    epochs: {epochs}
    seeds: 1
    limit: 200
    device: cpu
"""


def write_study(tmp_path: Path, text: str, name: str = "study.yaml") -> Path:
    """Write a study file and return its path."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def tables(run_dir: Path) -> dict[str, pd.DataFrame]:
    """The run directory's tables without wall-clock columns (they differ between runs)."""
    out = {}
    for f in sorted((run_dir / "tables").glob("*.csv")):
        df = pd.read_csv(f)
        out[f.stem] = df.drop(columns=[c for c in df.columns if c in TIMING_COLUMNS])
    return out


# --- validation --------------------------------------------------------------------------------
BAD_FILES = [
    ("name: x\nfigures: [damage, heatmap]\nnetworks:\n  - generator: ws\nscales:\n  demo: {}\n", r":2: figures: unknown figure 'heatmap'; choose from"),
    ("name: x\nnetworks:\n  - generator: ws\nscales:\n  demo:\n    epochs: 1\n    epoch: 2\n", r":7: unknown key 'epoch' in scales\.demo"),
    ("name: x\ncolour: red\nnetworks:\n  - generator: ws\nscales:\n  demo: {}\n", r":2: unknown key 'colour'; valid keys"),
    ("name: x\nnetworks:\n  - generator: ws\n    q: 3\nscales:\n  demo: {}\n", r":4: unknown key 'q' in networks\[0\]"),
    ("name: x\nnetworks:\n  - generator: ws\nscales:\n  demo:\n    epochs: -1\n", r":6: scales\.demo\.epochs: must be a positive integer \(got -1\)"),
    ("name: x\nnetworks:\n  - generator: ws\nscales:\n  demo:\n    seeds: [0, zero]\n", r":6: scales\.demo\.seeds: must be an integer >= 0 \(got 'zero'\)"),
    ("name: x\nnetworks:\n  - generator: wx\nscales:\n  demo: {}\n", r":3: networks\[0\]\.generator: unknown generator"),
    ("name: x\nnetworks:\n  - generator: ws\n    p: [0.5, 1.5]\nscales:\n  demo: {}\n", r":3: network ws_p1\.5_s0: p must be in \[0, 1\]"),
    ("name: x\nnetworks:\n  - generator: ws\nscales:\n  demo:\n    dataset: imagenet\n", r":6: scales\.demo\.dataset: unknown data set"),
    ("name: x\nnetworks:\n  - generator: ws\n  - generator: ws\nscales:\n  demo: {}\n", r":4: network ws_k4_p0\.75_s0 is listed twice"),
    ("name: x\nnetworks:\n  - generator: ws\nscales:\n  demo:\n    epochs: 1\n    epochs: 2\n", r":7: duplicate key 'epochs' \(first on line 6\)"),
    ("name: x\nnetworks:\n  - generator: ws\n   k: 4\nscales: {}\n", r":4: invalid YAML"),
    ("name: x\nnetworks: []\nscales:\n  demo: {}\n", r":2: networks must be a non-empty list"),
    ("networks:\n  - generator: ws\nscales:\n  demo: {}\n", r":1: missing key 'name'"),
    ("name: x\nnetworks:\n  - generator: ws\nscales:\n  demo: !!python/object:os.system {}\n", r":5: invalid YAML"),
    # the keys the demo study needed: labels, a study's population and correlations, attack orders
    ("name: x\nnetworks:\n  - {generator: ws, label: ../up}\nscales:\n  demo: {}\n", r":3: networks\[0\]\.label: may hold only letters"),
    ("name: x\nnetworks:\n  - {generator: er, p: [0.2, 0.4], label: er}\nscales:\n  demo: {}\n", r":3: network er_s0 is listed twice"),
    ("name: x\nnetworks:\n  - generator: ws\npopulation: {grid: {p: [0.1]}}\nscales:\n  demo: {}\n", r":4: population \(scale demo\): population needs a generator"),
    ("name: x\nnetworks:\n  - generator: ws\npopulation: {generator: ws, nodes: 100000, samples: 100000}\nscales:\n  demo: {}\n",
     r":4: population \(scale demo\): a population of 1 setting\(s\) x 100,000 graphs of 100,000 nodes means 10,000,000,000 graph nodes of work, more than the limit"),
    ("name: x\nnetworks:\n  - generator: ws\ncorrelate: {n_boot: 3}\nscales:\n  demo: {}\n", r":4: correlate \(scale demo\): n_boot must be at least 10"),
    ("name: x\nnetworks:\n  - generator: ws\nattack: {orders: []}\nscales:\n  demo: {}\n", r":4: attack \(scale demo\): orders must name at least one removal order"),
]


@pytest.mark.parametrize("text, message", BAD_FILES)
def test_invalid_study_files_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=f"^{path}{message}"):
        load_study(path)


def test_cli_reports_invalid_file_with_exit_code_2(tmp_path):
    path = write_study(tmp_path, "name: x\nnetworks:\n  - generator: ws\nscales:\n  demo:\n    lr: fast\n")
    res = CliRunner().invoke(app, ["ablate", str(path)])
    assert res.exit_code == 2
    assert f"error: {path}:6: scales.demo.lr: must be a positive number (got 'fast')" in res.output
    res = CliRunner().invoke(app, ["ablate", str(path.with_name("missing.yaml"))])
    assert res.exit_code == 2 and "no such study file" in res.output


def test_dry_run_lists_the_tasks(tmp_path):
    path = write_study(tmp_path, TINY.format(epochs=1))
    res = CliRunner().invoke(app, ["ablate", str(path), "--out", str(tmp_path / "run"), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "train:ws_k4_p0_s0\t" in res.output and "3 trainings, 0 analyses" in res.output
    assert not (tmp_path / "run").exists()  # nothing run, nothing written


def test_run_dir_of_another_study_is_refused(local_run, tmp_path):
    _, run, _ = local_run
    other = write_study(tmp_path, TINY.format(epochs=1).replace("name: tiny", "name: other"))
    with pytest.raises(UserError, match="holds study 'tiny' at scale 'demo'; choose another --out"):
        run_study(other, "demo", run, progress=False, echo=lambda s: None)


def test_unknown_scale_lists_the_file_scales(tmp_path):
    path = write_study(tmp_path, TINY.format(epochs=1))
    with pytest.raises(UserError, match="no scale 'paper'; the file has: demo"):
        expand_study(load_study(path), "paper", tmp_path)


def test_scale_sets_the_validation_hold_out(tmp_path):
    """A scale's val_fraction / val_seed reach its TrainConfig; a bad fraction names the scale."""
    text = TINY.format(epochs=1).replace("    device: cpu\n", "    device: cpu\n    val_fraction: 0.2\n    val_seed: 3\n")
    train = load_study(write_study(tmp_path, text)).scales["demo"].train
    assert (train.val_fraction, train.val_seed) == (0.2, 3)
    assert load_study(write_study(tmp_path, TINY.format(epochs=1), "d.yaml")).scales["demo"].train.val_fraction == 0.1
    with pytest.raises(UserError, match="scales.demo: val_fraction"):
        load_study(write_study(tmp_path, text.replace("val_fraction: 0.2", "val_fraction: 1"), "b.yaml"))


# --- the shipped study files --------------------------------------------------------------------
def test_ablation_files_exist_for_every_paper_ablation():
    names = {p.stem for p in ABLATIONS}
    assert {"generator_sweep", "node_ops", "graph_damage", "small_world", "graph_structure", "baselines"} <= names


@pytest.mark.parametrize("path", ABLATIONS, ids=lambda p: p.stem)
def test_ablation_files_load_with_demo_and_paper_scales(path, tmp_path):
    study = load_study(path)
    assert {"demo", "paper"} <= set(study.scales)
    demo = expand_study(study, "demo", tmp_path)
    paper = expand_study(study, "paper", tmp_path)
    assert demo.train_tasks and paper.train_tasks
    for net in demo.networks:  # the demo scale is a laptop-CPU job
        cfg = net.model_config
        assert cfg["channels"] <= 16 and cfg["nodes"] <= 16 and net.train_config["dataset"] == "digits"
    if path.stem in CPU_PAPER:  # sized to this machine's CPU (see the file's comments)
        assert paper.scale.threads >= 1 and paper.scale.gpus == 0
        return
    assert all(n.train_config["epochs"] >= 30 for n in paper.networks)
    assert paper.scale.gpus >= 1


def test_generator_sweep_expands_the_paper_grid():
    study = load_study(REPO / "ablations" / "generator_sweep.yaml")
    plan = expand_study(study, "paper", "runs/x")
    settings = {(n.model_config["generator"], tuple(sorted(n.model_config["params"].items()))) for n in plan.networks}
    assert {("er", (("p", p),)) for p in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)} <= settings
    assert {("ba", (("m", m),)) for m in range(1, 8)} <= settings
    assert len(plan.networks) == 5 * len(settings)  # 5 seeds of each setting


# --- running -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The tiny study run once with the local executor: (study file, run directory, result)."""
    tmp = tmp_path_factory.mktemp("tiny")
    path = write_study(tmp, TINY.format(epochs=1))
    result = run_study(path, "demo", tmp / "run", progress=False, echo=lambda s: None)
    return path, tmp / "run", result


def test_tiny_study_runs_end_to_end_and_skips_finished_work(local_run):
    path, run, result = local_run
    assert [o.status for o in result.outcomes] == ["done"] * 3
    t = tables(run)
    models = pd.read_csv(run / "tables" / "models.csv")
    assert list(models.columns[:5]) == ["model", "generator", "setting", "p", "k"]
    assert list(models["model"]) == ["ws_k4_p0_s0", "ws_k4_p0.75_s0", "plain_conv3x3_n2_s0"]
    assert list(models["setting"]) == ["WS(4, 0)", "WS(4, 0.75)", "plain(2)"]
    assert models["top1"].between(0, 100).all() and (models["epochs"] == 1).all()
    assert len(t["history"]) == 3
    for name in models["model"]:
        assert (run / "checkpoints" / f"{name}.pt").exists()
    again = run_study(path, "demo", run, progress=False, echo=lambda s: None)
    assert [o.status for o in again.outcomes] == ["skipped"] * 3
    for name, df in tables(run).items():
        pd.testing.assert_frame_equal(df, t[name])


def test_failing_task_is_reported_and_the_others_complete(tmp_path):
    path = write_study(tmp_path, TINY.format(epochs=1))
    run = tmp_path / "run"
    bad = run / "checkpoints" / "ws_k4_p0.75_s0.pt"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a checkpoint")  # a corrupt checkpoint makes this network's training fail
    res = CliRunner().invoke(app, ["ablate", str(path), "--out", str(run)])
    assert res.exit_code == 1
    assert "failed train:ws_k4_p0.75_s0: UserError:" in res.output
    assert "3 tasks: 2 done, 0 skipped, 1 failed" in res.output
    models = pd.read_csv(run / "tables" / "models.csv")
    assert list(models["model"]) == ["ws_k4_p0_s0", "plain_conv3x3_n2_s0"]


def test_killed_study_rerun_does_every_task_once(tmp_path):
    path = write_study(tmp_path, TINY.format(epochs=3))
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wiring_lab", "ablate", str(path), "--out", str(run)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    results = run / "results" / "train"
    deadline = time.monotonic() + 120
    while not (results.exists() and any(results.glob("*.json"))):
        assert proc.poll() is None, "the study ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in results.glob("*.json")}
    assert 1 <= len(finished) < 3
    result = run_study(path, "demo", run, progress=False, echo=lambda s: None)
    statuses = sorted(o.status for o in result.outcomes)
    assert statuses.count("skipped") == len(finished) and statuses.count("done") == 3 - len(finished)
    assert {p.name: p.stat().st_mtime_ns for p in results.glob("*.json") if p.name in finished} == finished
    history = pd.read_csv(run / "tables" / "history.csv")
    assert sorted(history.groupby("model")["epoch"].apply(list).tolist()) == [[1, 2, 3]] * 3  # each epoch once
    assert len(pd.read_csv(run / "tables" / "models.csv")) == 3


@pytest.mark.ray
def test_ray_and_local_executors_give_identical_tables(tmp_path, local_run):
    ray = pytest.importorskip("ray")
    path, local_dir, _ = local_run
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
    try:
        result = run_study(path, "demo", tmp_path / "ray", executor="ray", progress=False, echo=lambda s: None)
        fns = ["square", "explode", "square"]  # on Ray too, a raising task is reported and the rest complete
        tasks = [Task(f"t{i}", f"tests.test_executor:{fn}", {"x": i}, str(tmp_path / f"t{i}.json")) for i, fn in enumerate(fns)]
        outcomes = run_tasks(tasks, executor="ray", progress=False)
    finally:
        ray.shutdown()
    assert [o.status for o in result.outcomes] == ["done"] * 3
    assert [o.status for o in outcomes] == ["done", "failed", "done"]
    assert outcomes[1].error == "RuntimeError: unit 1 broke" and outcomes[2].result == {"x": 2, "square": 4}
    local, remote = tables(local_dir), tables(tmp_path / "ray")
    assert set(local) == set(remote) == {"models", "history", "graphs", "comparison"}
    for name in local:
        pd.testing.assert_frame_equal(local[name], remote[name])


# --- the plain CNN baseline --------------------------------------------------------------------
def test_plain_cnn_checkpoint_round_trip(tmp_path, digits):
    from wiring_lab.loading import load_checkpoint
    from wiring_lab.model import ModelConfig, PlainCNN
    from wiring_lab.train import TrainConfig, model_config_for, train_network

    cfg = model_config_for(digits, channels=4, nodes=2, head_channels=16, generator="chain", arch="plain", node_op="conv3x3")
    from dataclasses import replace

    from torch.utils.data import TensorDataset

    small = replace(digits, train=TensorDataset(*(t[:128] for t in digits.train.tensors)))
    ckpt = train_network(cfg, TrainConfig(epochs=1), tmp_path / "plain.pt", device="cpu", data=small, progress=False)
    loaded = load_checkpoint(tmp_path / "plain.pt")
    assert isinstance(loaded.model, PlainCNN) and loaded.config.arch == "plain"
    x = torch.randn(3, 1, 8, 8)
    torch.testing.assert_close(loaded.model(x), ckpt.model.cpu().eval()(x))
    assert [g.edges for g in loaded.graphs] == [((0, 1),)] * 3  # each stage: two layers in a row
    with pytest.raises(ValueError, match="generator 'chain'"):
        ModelConfig(arch="plain", generator="ws")


# --- analyses of the trained networks ----------------------------------------------------------
ANALYSED = """\
name: analysed
networks:
  - generator: ws
    k: 4
    p: 0.75
damage: {remove: node, bootstrap: 20}
attack: {orders: [random, degree], repeats: 1, fractions: [0.0, 0.5]}
metrics: {backend: networkx, nodes: true}
scales:
  demo:
    channels: 4
    nodes: 6
    head_channels: 16
    epochs: 1
    seeds: 1
    limit: 100
    device: cpu
  quick:
    channels: 4
    nodes: 6
    damage: null
    attack: {repeats: 2}
"""


def test_study_damages_and_attacks_every_trained_network(tmp_path):
    pytest.importorskip("wiring_lab.damage")
    path = write_study(tmp_path, ANALYSED)
    result = run_study(path, "demo", tmp_path / "run", progress=False, echo=lambda s: None)
    kinds = ["train", "damage", "attack", "metrics"]
    assert [o.key for o in result.outcomes] == [f"{k}:ws_k4_p0.75_s0" for k in kinds]
    assert all(o.status == "done" for o in result.outcomes), [o.error for o in result.outcomes]
    damage = pd.read_csv(tmp_path / "run" / "tables" / "damage.csv")
    assert list(damage["kind"]).count("intact") == 1 and (damage["kind"] == "node").sum() == 3 * 6
    assert (damage["model"] == "ws_k4_p0.75_s0").all() and damage["n_images"].eq(100).all()
    attack = pd.read_csv(tmp_path / "run" / "tables" / "attack.csv")
    assert set(attack["order"]) == {"random", "degree"} and set(attack["fraction"]) == {0.0, 0.5}
    stage = pd.read_csv(tmp_path / "run" / "tables" / "stage_metrics.csv")
    nodes = pd.read_csv(tmp_path / "run" / "tables" / "node_metrics.csv")
    assert list(stage["stage"]) == [0, 1, 2] and stage["avg_degree"].eq(4.0).all()  # WS(4, p) keeps 2N edges
    assert len(nodes) == 3 * 6 and list(nodes.columns[:3]) == ["model", "stage", "node"]
    # a scale can turn an analysis off and override another's settings
    quick = expand_study(load_study(path), "quick", tmp_path / "q")
    assert [t.key.split(":")[0] for t in quick.analysis_tasks] == ["attack", "metrics"]
    assert quick.analysis_tasks[0].kwargs["settings"]["repeats"] == 2


def test_ablate_points_a_search_study_to_wiring_lab_search():
    from typer.testing import CliRunner

    from wiring_lab.cli import app

    r = CliRunner().invoke(app, ["ablate", str(Path(__file__).parent.parent / "ablations" / "search_vs_random.yaml"), "--dry-run"])
    assert r.exit_code == 2
    assert "wiring-lab search --study" in r.output
