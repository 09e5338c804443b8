"""Determinism on the CPU: the same command with the same seed gives the same bytes / tables; the seed is in every output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from wiring_lab.cli import app

RUNNER = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "args",
    [
        ["-g", "ws", "--k", "4", "--p", "0.75", "-n", "32"],
        ["-g", "er", "--p", "0.3", "-n", "24"],
        ["-g", "ba", "--m", "3", "-n", "20"],
        ["-g", "complete", "-n", "6"],
    ],
)
def test_generate_gives_byte_identical_files_with_the_seed_inside(tmp_path, args):
    a, b, other = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    for out, seed in ((a, "11"), (b, "11"), (other, "12")):
        res = RUNNER.invoke(app, ["generate", *args, "--seed", seed, "--out", str(out)])
        assert res.exit_code == 0, res.output
        assert f"seed {seed}" in res.output
    assert a.read_bytes() == b.read_bytes()
    assert json.loads(a.read_text())["seed"] == 11 and json.loads(other.read_text())["seed"] == 12
    if args[1] != "complete":
        assert a.read_bytes() != other.read_bytes()
    printed = RUNNER.invoke(app, ["generate", *args, "--seed", "11"]).output
    assert printed.encode() == a.read_bytes()  # stdout and file: the same bytes


def test_generate_is_identical_across_processes(tmp_path):
    """A fresh interpreter (other hash seed, other import order) writes the same bytes."""
    outs = []
    for i, hashseed in enumerate(("1", "987")):
        out = tmp_path / f"g{i}.json"
        env = {"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": hashseed, "PATH": "/usr/bin:/bin"}
        subprocess.run([sys.executable, "-m", "wiring_lab", "generate", "-g", "ws", "--seed", "5", "--out", str(out)],
                       env=env, check=True, capture_output=True, timeout=120)  # fmt: skip
        outs.append(out.read_bytes())
    local = tmp_path / "here.json"
    RUNNER.invoke(app, ["generate", "-g", "ws", "--seed", "5", "--out", str(local)])
    assert outs[0] == outs[1] == local.read_bytes()


def test_training_twice_gives_identical_weights_and_records_the_seed(digits, tmp_path):
    from wiring_lab.train import TrainConfig, model_config_for, train_network

    mc = model_config_for(digits, channels=4, nodes=5, head_channels=16, generator="ws", params={"k": 2}, seed=7)
    tc = TrainConfig(epochs=2, seed=7)
    a = train_network(mc, tc, tmp_path / "a.pt", device="cpu", data=digits, progress=False)
    b = train_network(mc, tc, tmp_path / "b.pt", device="cpu", data=digits, progress=False)
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert [h["test_loss"] for h in a.metadata["history"]] == [h["test_loss"] for h in b.metadata["history"]]
    raw = torch.load(tmp_path / "a.pt", weights_only=True)
    assert raw["model_config"]["seed"] == 7 and raw["metadata"]["train_config"]["seed"] == 7
    assert all(g["seed"] is not None for g in raw["graphs"])  # each stage's graph seed


DAMAGE_ARGS = ["--remove", "both", "--limit", "40", "--bootstrap", "100", "--sample", "12", "--seed", "4",
               "--device", "cpu", "--no-progress"]  # fmt: skip


def test_damage_twice_gives_equal_tables_with_the_seed_in_every_row(tiny_ckpt_path, tmp_path):
    tables = []
    for name in ("a.csv", "b.csv"):
        out = tmp_path / name
        res = RUNNER.invoke(app, ["damage", str(tiny_ckpt_path), *DAMAGE_ARGS, "--out", str(out)])
        assert res.exit_code == 0, res.output
        tables.append(pd.read_csv(out))
        side = json.loads(Path(str(out) + ".json").read_text())
        assert side["config"]["seed"] == 4
    a, b = tables
    assert len(a) == 13 and (a["seed"] == 4).all()
    cols = [c for c in a.columns if c != "wall_s"]  # wall-clock time is the one column allowed to differ
    pd.testing.assert_frame_equal(a[cols], b[cols])
    other = RUNNER.invoke(app, ["damage", str(tiny_ckpt_path), *DAMAGE_ARGS[:-5], "--seed", "5", "--device", "cpu",
                                "--no-progress", "--out", str(tmp_path / "c.csv")])  # fmt: skip
    assert other.exit_code == 0
    c = pd.read_csv(tmp_path / "c.csv")
    assert (c["seed"] == 5).all()
    key = ["kind", "stage", "node", "source", "target"]
    assert not a[key].fillna(-1).equals(c[key].fillna(-1))  # another seed samples other variants


def test_attack_twice_gives_equal_tables(tiny_ckpt_path, tmp_path):
    args = ["--order", "random", "--fractions", "0,0.2,0.5", "--repeats", "2", "--seed", "3", "--limit", "40",
            "--device", "cpu", "--no-progress"]  # fmt: skip
    tables = []
    for name in ("a.csv", "b.csv"):
        res = RUNNER.invoke(app, ["attack", str(tiny_ckpt_path), *args, "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        tables.append(pd.read_csv(tmp_path / name))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    assert (tables[0]["seed"] == 3).all()


def test_inspect_json_is_stable(tiny_ckpt_path):
    a = RUNNER.invoke(app, ["inspect", str(tiny_ckpt_path), "--json"]).output
    b = RUNNER.invoke(app, ["inspect", str(tiny_ckpt_path), "--json"]).output
    assert a == b and re.search(r'"seed": \d+', a)
