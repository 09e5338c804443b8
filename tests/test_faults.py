"""Faults: commands killed with SIGKILL at random points, then restarted.

Finished work is all there exactly once, a checkpoint on disk is never half-written, and a
resumed training ends at the same weights as an uninterrupted run on the CPU.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from wiring_lab.loading import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
# one thread everywhere, so an interrupted and an uninterrupted run do the same arithmetic
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
TINY = ["-c", "4", "-n", "5", "--k", "2", "--head-channels", "16", "--seed", "3", "--epochs", "3", "--device", "cpu"]


def cli(*args: str) -> list[str]:
    """The command line of ``wiring-lab ARGS`` run from this checkout."""
    return [sys.executable, "-m", "wiring_lab", *args]


def run_killed(cmd: list[str], after_line: str | None, delay: float) -> int | None:
    """Run ``cmd``; SIGKILL it ``delay`` s after it prints a line starting with ``after_line`` (or after start).

    Returns its exit code if it ended by itself, None if it was killed.
    """
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if after_line is not None:
        for line in proc.stdout:
            if line.startswith(after_line):
                break
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return None
    rc = proc.wait()
    assert rc == 0, proc.stderr.read()
    return rc


def state(path: Path) -> dict[str, torch.Tensor]:
    """The saved weights of a checkpoint."""
    return torch.load(path, weights_only=True)["state_dict"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted run of the tiny training, in its own process."""
    out = tmp_path_factory.mktemp("ref") / "ref.pt"
    subprocess.run(cli("train", "--out", str(out), *TINY), env=ENV, check=True, capture_output=True, timeout=300)
    return out


def test_training_killed_at_random_points_resumes_to_identical_weights(reference, tmp_path):
    out = tmp_path / "run.pt"
    rng = random.Random(20261122)
    kills = 0
    cmd = cli("train", "--out", str(out), "--resume", *TINY)
    epoch_s = min(h["seconds"] for h in load_checkpoint(reference).metadata["history"])
    # first kill: during start-up, before any checkpoint exists; then each run is killed at a
    # random moment after it finished an epoch (inside the next epoch or its checkpoint write)
    assert run_killed(cmd, None, rng.uniform(0.1, 1.5)) is None
    kills += 1
    for attempt in range(8):
        rc = run_killed(cmd, "epoch", rng.uniform(0.0, 0.8 * epoch_s))  # inside the next epoch
        if out.exists():  # whatever moment the kill came, the file on disk is a whole checkpoint
            ckpt = load_checkpoint(out)
            done = ckpt.metadata["epochs_done"]
            assert [h["epoch"] for h in ckpt.metadata["history"]] == list(range(1, done + 1))
        if rc == 0:
            break
        kills += 1
    else:
        pytest.fail("training never finished")
    assert kills >= 2, "the run was never interrupted after a checkpoint; the test proved little"
    final = load_checkpoint(out)
    assert [h["epoch"] for h in final.metadata["history"]] == [1, 2, 3]  # each epoch exactly once
    ref, got = state(reference), state(out)
    assert ref.keys() == got.keys()
    assert all(torch.equal(ref[k], got[k]) for k in ref), "resumed weights differ from the uninterrupted run"


WRITER = textwrap.dedent(
    """
    import sys, torch
    from wiring_lab.checkpoint import save_checkpoint
    from wiring_lab.model import ModelConfig, build_model
    model = build_model(ModelConfig(regime="digits", channels=8, nodes=8, num_classes=10, in_channels=1, head_channels=64))
    i = 0
    print("ready", flush=True)
    while True:  # rewrite the same checkpoint as fast as possible, each time with other weights
        i += 1
        with torch.no_grad():
            model.fc.bias.fill_(float(i))
        save_checkpoint(sys.argv[1], model, {"writes": i})
    """
)


def test_checkpoint_is_never_half_written(tmp_path):
    """SIGKILL a process that rewrites a checkpoint in a loop: the file always loads, whole and consistent."""
    out = tmp_path / "ckpt.pt"
    rng = random.Random(7)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], env=ENV, stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if out.exists():
            ckpt = load_checkpoint(out)
            assert float(ckpt.model.fc.bias[0].detach()) == ckpt.metadata["writes"]  # weights and metadata from one write
    assert out.exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "ckpt.pt"]
    assert all(name.startswith(".ckpt.pt.") and name.endswith(".tmp") for name in leftovers)  # only hidden temporaries


DAMAGE = ["--remove", "both", "--limit", "40", "--chunk", "2", "--bootstrap", "50", "--seed", "2", "--device", "cpu", "--no-progress"]


def test_damage_sweep_killed_repeatedly_ends_with_every_row_exactly_once(tiny_ckpt_path, tmp_path):
    import pandas as pd

    ref = tmp_path / "ref.csv"
    subprocess.run(cli("damage", str(tiny_ckpt_path), *DAMAGE, "--out", str(ref)), env=ENV, check=True, capture_output=True, timeout=300)
    out = tmp_path / "run.csv"
    partial = tmp_path / "run.csv.partial.jsonl"
    rng = random.Random(11)
    kills, seen = 0, 0
    for _ in range(4):
        want = seen + rng.randint(3, 10)  # kill once this many more rows reached the disk
        proc = subprocess.Popen(cli("damage", str(tiny_ckpt_path), *DAMAGE, "--out", str(out)), env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
        while proc.poll() is None:
            if partial.exists() and partial.read_text().count("\n") - 1 >= want:
                time.sleep(rng.uniform(0.0, 0.05))  # inside the next chunk, or writing it
                break
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            if out.exists():  # killed after writing the table (and maybe removing the progress file)
                assert len(pd.read_csv(out)) == len(pd.read_csv(ref))  # then the table is whole
            if not partial.exists():  # the kill came after the run had finished its work
                break
            kills += 1
            lines = partial.read_text().split("\n")
            seen = len([ln for ln in lines[1:-1] if ln])
            continue
        assert proc.wait() == 0, proc.stderr.read()
        break
    else:
        subprocess.run(cli("damage", str(tiny_ckpt_path), *DAMAGE, "--out", str(out)), env=ENV, check=True, capture_output=True, timeout=300)
    assert kills >= 2
    a, b = pd.read_csv(out), pd.read_csv(ref)
    key = ["kind", "stage", "node", "source", "target"]
    assert not a.duplicated(subset=key).any() and len(a) == len(b)
    cols = [c for c in a.columns if c != "wall_s"]
    pd.testing.assert_frame_equal(a[cols], b[cols])  # same rows, same order, same numbers as one clean run
    assert not partial.exists()


@pytest.mark.slow
def test_damage_sweep_on_the_small_regime_stays_under_4_gib(tmp_path):
    """bench/memory.py: small regime C=78 N=32, random weights, 32 images 224x224, a sampled node+edge sweep."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "memory.py"), "--images", "32", "--sample", "8", "--bound-gib", "4"],
        env=ENV, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    peak = float(proc.stdout.split("peak RSS ")[1].split(" GiB")[0])
    assert 0.3 < peak < 4.0


STUDY = """\
name: killed
networks:
  - generator: ws
    k: 2
    p: [0.0, 0.5, 1.0]
damage:
  remove: node
  bootstrap: 20
scales:
  demo:
    channels: 4
    nodes: 5
    head_channels: 16
    epochs: 1
    seeds: 1
    limit: 150
    device: cpu
"""


def test_study_killed_at_random_points_keeps_every_result_exactly_once(tmp_path):
    """``ablate`` killed during its trainings and analyses, then re-run: each network and variant once."""
    pytest.importorskip("wiring_lab.study")
    import pandas as pd

    study = tmp_path / "study.yaml"
    study.write_text(STUDY)
    run = tmp_path / "run"
    cmd = cli("ablate", str(study), "--out", str(run))
    rng = random.Random(5)
    kills = 0
    for _ in range(6):
        proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        done = len(list(run.glob("results/*/*.json")))
        while proc.poll() is None and len(list(run.glob("results/*/*.json"))) <= done:
            time.sleep(0.02)  # wait until this run finishes one more task, then kill it at a random moment
        time.sleep(rng.uniform(0.0, 0.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            for ckpt in run.glob("checkpoints/*.pt"):
                load_checkpoint(ckpt)  # any checkpoint on disk is whole
            for result in run.glob("results/*/*.json"):
                json.loads(result.read_text())  # any result on disk is whole
            continue
        assert proc.wait() == 0, proc.stderr.read()
        break
    else:
        subprocess.run(cmd, env=ENV, check=True, capture_output=True, timeout=600)
    assert kills >= 1
    models = pd.read_csv(run / "tables" / "models.csv")
    assert sorted(models["model"]) == sorted(set(models["model"])) and len(models) == 3
    damage = pd.read_csv(run / "tables" / "damage.csv")
    assert not damage.duplicated(subset=["model", "kind", "stage", "node", "source", "target"]).any()
    assert (damage["kind"] == "intact").sum() == 3 and (damage["kind"] == "node").sum() == 3 * 15
    # result files that are not results (cut short, absurdly nested, not a dict) are re-run, not trusted
    results = sorted(run.glob("results/*/*.json"))
    for path, text in zip(results, ["", "[" * 100_000, "[1, 2]"]):
        path.write_text(text)
    subprocess.run(cmd, env=ENV, check=True, capture_output=True, timeout=600)
    again = pd.read_csv(run / "tables" / "damage.csv")
    cols = [c for c in damage.columns if c not in ("wall_s", "seconds")]
    pd.testing.assert_frame_equal(again[cols], damage[cols])
    assert all(isinstance(json.loads(p.read_text()), dict) for p in results)
