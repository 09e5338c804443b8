"""Refusals that write nothing, budgets that bind every command, a resume that cannot skip epochs.

One reproducer per case of issue 24, each through the real command (typer's ``CliRunner``):
exit code 2, exactly one output line (``error: ...``, no warning beside it), no file written.
Full disks are simulated by a writer that raises ENOSPC (never by pointing a command at /dev).
"""

from __future__ import annotations

import errno
import io
import shutil
from pathlib import Path

import pytest
import torch
from cli_checks import RUNNER, one_line_error
from wiring_lab.cli import app

FIX = Path(__file__).parent / "fixtures" / "foreign"
FOREIGN = {  # one real file of each convertible format (written by the project's own code)
    "seungwonpark": "seungwonpark/chkpt/tiny/chkpt_000.pt",
    "jiaminren": "jiaminren/small/checkpoint/tiny/model-best.pth",
    "hebo1221": "hebo1221/nx19-small/output/model/CIFAR10_000_00.cpt",
    "leaderj1001": "leaderj1001/CIFAR10/checkpoint/c_4_p_0.75_graph_mode_WS_dataset_CIFAR10ckpt.t7",
}


def _foreign_copy(tmp_path: Path, fmt: str) -> Path:
    """A copy of a foreign run directory (checkpoint and graph files); returns the checkpoint."""
    rel = FOREIGN[fmt]
    case = Path(*Path(rel).parts[: 2 if fmt in ("jiaminren", "hebo1221", "leaderj1001") else 1])
    shutil.copytree(FIX / case, tmp_path / case)
    return tmp_path / rel


def _state(obj):
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            return obj[key]
    return obj


# --- 2, 4: convert validates everything before it writes --------------------------------------------
@pytest.mark.parametrize("fmt", list(FOREIGN))
@pytest.mark.parametrize("how", ["negative running_var", "complex", "int64", "0-dim"])
def test_convert_refuses_bad_weights_and_writes_nothing(tmp_path, fmt, how):
    path = _foreign_copy(tmp_path, fmt)
    obj = torch.load(path, weights_only=True)
    sd = _state(obj)
    if how == "negative running_var":
        key = next(k for k in sd if k.endswith("running_var"))
        sd[key] = -sd[key].abs() - 1
    else:
        key = next(k for k in sd if k.endswith("weight") and sd[k].dim() > 1)
        sd[key] = {"complex": sd[key].to(torch.complex64), "int64": sd[key].to(torch.int64), "0-dim": torch.tensor(1.0)}[how]
    torch.save(obj, path)
    out = tmp_path / "native.pt"
    want = {"negative running_var": "negative batch-norm variances", "complex": "dtype complex", "int64": "dtype int64", "0-dim": "0-dim"}[how]
    one_line_error(["convert", str(path), "--out", str(out)], str(path), want, root=tmp_path)
    assert not out.exists()


# --- 5: a full disk is one line and leaves no partial file -------------------------------------------
class _FullDisk(io.RawIOBase):
    """A file that takes ``room`` bytes, then fails as a full disk does."""

    def __init__(self, f, room: int):
        self.f, self.room = f, room

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        if len(b) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(b)
        return self.f.write(b)


@pytest.fixture()
def full_disk(monkeypatch):
    """torch.save writes its first 4 KiB, then the disk is full (torch's zip writer sees the ENOSPC)."""
    real = torch.save

    def save(obj, f, *args, **kwargs):
        if hasattr(f, "write"):
            f = _FullDisk(f, 4096)
        return real(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)


def test_convert_on_a_full_disk_is_one_line_and_no_file(tmp_path, full_disk):
    path = _foreign_copy(tmp_path, "seungwonpark")
    out = tmp_path / "native.pt"
    one_line_error(["convert", str(path), "--out", str(out)], str(out), "No space left on device", root=tmp_path)
    assert not out.exists()


def test_train_on_a_full_disk_is_one_line_and_no_file(tmp_path, full_disk):
    out = tmp_path / "c.pt"
    args = ["train", "--out", str(out), "-c", "4", "-n", "6", "--head-channels", "16", "--epochs", "1"]
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 2, result.output
    errors = [ln for ln in result.output.splitlines() if not ln.startswith("epoch")]
    assert errors == [f"error: {out}: cannot write the file: No space left on device"], result.output
    assert list(tmp_path.iterdir()) == []  # no checkpoint, no temporary


# --- 1 (and issue 25, 5): resume reads the epoch counter; Ctrl-C and the re-run agree ------------------
TRAIN = ["train", "-c", "4", "-n", "6", "--head-channels", "16", "--epochs", "6"]


@pytest.fixture(scope="module")
def interrupted_once(tmp_path_factory):
    """``train --epochs 6`` stopped by Ctrl-C right after epoch 3 was saved: (checkpoint, the command's output)."""
    import wiring_lab.train as T

    real = T.save_checkpoint

    def save_then_interrupt(path, model, metadata, train_state=None):
        real(path, model, metadata, train_state)
        if metadata["epochs_done"] == 3:
            raise KeyboardInterrupt

    out = tmp_path_factory.mktemp("interrupted") / "c.pt"
    with pytest.MonkeyPatch.context() as m:
        m.setattr(T, "save_checkpoint", save_then_interrupt)
        result = RUNNER.invoke(app, TRAIN + ["--out", str(out)])
    assert result.exit_code == 130, result.output
    return out, result.output


@pytest.fixture()
def interrupted(interrupted_once, tmp_path):
    """A fresh copy of the interrupted checkpoint, and the interrupted command's output."""
    out, output = interrupted_once
    shutil.copy(out, tmp_path / "c.pt")
    return tmp_path / "c.pt", output.replace(str(out), str(tmp_path / "c.pt"))


def test_interrupt_message_and_rerun_agree(interrupted):
    out, output = interrupted
    hint = output.strip().splitlines()[-1]
    assert hint == f"error: interrupted; {out} keeps every finished epoch: re-run the same command with --resume to continue"
    # the same command without --resume says the same thing
    line = one_line_error(TRAIN + ["--out", str(out)], f"{out} exists (3 of 6 epochs done)", "pass --resume")
    assert "re-run" not in line
    result = RUNNER.invoke(app, TRAIN + ["--out", str(out), "--resume"])  # what both lines say to do
    assert result.exit_code == 0, result.output
    assert [ln.split(":")[0] for ln in result.output.splitlines() if ln.startswith("epoch")] == ["epoch   4", "epoch   5", "epoch   6"]


@pytest.mark.parametrize("how", ["50x history", "short history", "counter past the end", "counters disagree"])
def test_resume_refuses_a_history_that_disagrees_with_the_epoch_counter(interrupted, how):
    out, _ = interrupted
    obj = torch.load(out, weights_only=True)
    meta = obj["metadata"]
    if how == "50x history":  # before: exit 0 having trained nothing (resumed from len(history) = 150)
        meta["history"] = [dict(h, epoch=i + 1) for i, h in enumerate(meta["history"] * 50)]
        want = "history holds 150 epoch records for 3 finished epochs"
    elif how == "short history":
        meta["history"] = meta["history"][:1]
        want = "history holds 1 epoch records for 3 finished epochs"
    elif how == "counter past the end":
        meta["epochs_done"] = 7
        want = "epoch counter is 7"
    else:
        obj["train_state"]["epoch"] = 2
        want = "epoch counters disagree"
    torch.save(obj, out)
    one_line_error(TRAIN + ["--out", str(out), "--resume"], str(out), want, root=out.parent)


# --- 3: every command prices its network before allocating it ----------------------------------------
def test_inspect_is_priced_before_the_network_is_built(tmp_path):
    # before: reached 3.45 GiB and died with an allocator traceback under a 2 GiB budget
    one_line_error(["--max-memory", "2G", "inspect", "-n", "4096", "-c", "512", "--regime", "digits"],
                   "needs about 170.3 GiB", "memory budget of 2.0 GiB")
    # before: ran past 120 s (counting the multiply-adds of 12,288 nodes)
    one_line_error(["--max-work", "10000000", "inspect", "-n", "4096", "-c", "78", "--regime", "digits"],
                   "12,288 network nodes", "limit of 10,000,000")


def test_inspect_of_a_checkpoint_is_priced(tiny_ckpt_path):
    one_line_error(["--max-work", "1000", "inspect", str(tiny_ckpt_path)], str(tiny_ckpt_path), "graph nodes of work")


@pytest.mark.parametrize("limit", [["--max-memory", "1M"], ["--max-work", "1000000"]])
def test_train_is_priced_before_anything_is_built(tmp_path, limit):
    out = tmp_path / "c.pt"
    one_line_error(limit + ["train", "--out", str(out), "--epochs", "2"], str(out), "training this network", root=tmp_path)


STUDY = """name: s
networks: [{generator: ws, k: 4, p: 0.75}]
damage: {remove: node}
scales:
  demo: {dataset: digits, epochs: 1, channels: 8, nodes: 8, seeds: 2}
"""


@pytest.mark.parametrize("dry_run", [True, False])
def test_ablate_prices_every_training_before_the_first_task(tmp_path, dry_run):
    study = tmp_path / "s.yaml"
    study.write_text(STUDY)
    args = ["--max-memory", "1B", "ablate", str(study), "--out", str(tmp_path / "run"), "--device", "cpu"]
    # before: trained every network and failed only at the damage sweep
    one_line_error(args + (["--dry-run"] if dry_run else []), "network ws_k4_p0.75_s0: training", "1 bytes", root=tmp_path)
    assert not (tmp_path / "run").exists()
    line = one_line_error(["--max-memory", "6M"] + args[2:] + ["--dry-run"], root=tmp_path)
    assert "damage sweep" in line  # the sweeps are priced too


def test_weight_estimate_is_close_to_the_built_network():
    from wiring_lab._pricing import network_sizes
    from wiring_lab.model import ModelConfig, build_model

    for kw in [dict(regime="digits", channels=16, nodes=16, num_classes=10, in_channels=1, head_channels=256),
               dict(regime="small", channels=78, nodes=32, num_classes=1000),
               dict(regime="regular", channels=109, nodes=32, num_classes=1000),
               dict(regime="cifar", channels=32, nodes=32, num_classes=10, node_op="conv3x3", head_channels=512)]:
        config = ModelConfig(**kw)
        with torch.device("meta"):
            built = sum(t.numel() for t in build_model(config).state_dict().values())
        estimate = network_sizes(config)[0]
        assert built <= estimate <= 1.2 * built, (kw, built, estimate)  # never under: the budget is an upper bound


# --- 9: --samples counts graphs; IDX images of 0x0 -------------------------------------------------
def test_metrics_samples_count_graphs_against_the_work_limit():
    # before: 2e8 graphs x 4 nodes = 8e8 < 1e9 passed, and ran past 90 s
    one_line_error(["metrics", "-g", "er", "-n", "4", "--samples", "200000000"], "--samples 200,000,000", "6,400,000,000")
    one_line_error(["metrics", "-g", "er", "-n", "4", "--p", "0.1,0.2,0.3", "--samples", "20000000"], "3 setting(s)")


def _idx(path: Path, arr) -> None:
    import struct

    path.write_bytes(bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes())


@pytest.mark.parametrize("shape", [(4, 0, 0), (4, 2, 2), (4, 28, 0)])
def test_idx_images_too_small_are_one_line(tmp_path, shape):
    import numpy as np

    root = tmp_path / "mnist"
    root.mkdir()
    _idx(root / "train-images-idx3-ubyte", np.zeros(shape, np.uint8))
    _idx(root / "t10k-images-idx3-ubyte", np.zeros((2, *shape[1:]), np.uint8))
    _idx(root / "train-labels-idx1-ubyte", np.arange(4, dtype=np.uint8))
    _idx(root / "t10k-labels-idx1-ubyte", np.arange(2, dtype=np.uint8))
    out = tmp_path / "c.pt"
    one_line_error(["train", "--dataset", "mnist", "--data-root", str(root), "--out", str(out), "--epochs", "1", "-n", "6"],
                   f"are {shape[1]}x{shape[2]}", root=tmp_path)


# --- 8: one validator per value, shared by the CLI and the study readers ------------------------------
STUDY8 = {"name": "s", "networks": [{"generator": "ws", "k": 4, "p": 0.75}],
          "scales": {"demo": {"dataset": "digits", "epochs": 1, "channels": 8, "nodes": 8}}}


def _scale(key, value):
    return lambda d: d["scales"]["demo"].__setitem__(key, value)


def _top(key, value):
    return lambda d: d.__setitem__(key, value)


STUDY_CASES = {  # each was accepted by ablate --dry-run before (exit 0)
    "channels 1e9": (_scale("channels", 10**9), "scales.demo.channels: must be an integer in [1, 65536]"),
    "num_classes 2^40": (_scale("num_classes", 2**40), "num_classes: must be an integer in [1, 1048576]"),
    "threads 1e6": (_scale("threads", 10**6), "threads: must be an integer in [0, 1024]"),
    "workers 1e6": (_scale("workers", 10**6), "workers: must be an integer in [0, 256]"),
    "network channels": (lambda d: d["networks"][0].__setitem__("channels", 10**9), "networks[0].channels: must be"),
    "metrics backend": (_top("metrics", {"backend": "bogus"}), "metrics.backend 'bogus' is not one of"),
    "attack repeats": (_top("attack", {"repeats": 10**9}), "attack.repeats must be an integer in [1, 10000]"),
    "attack repeats '1e9'": (_top("attack", {"repeats": "1e9"}), "attack.repeats must be an integer"),
    "correlate n_boot": (lambda d: d.update(damage={"remove": "node"}, correlate={"n_boot": 10**9}), "correlate.n_boot must be"),
    "damage sample": (_top("damage", {"sample": 10**12}), "damage.sample must be an integer in [1, 100000000]"),
    "damage sample '1e12'": (_top("damage", {"sample": "1e12"}), "damage.sample must be an integer"),
    "damage stages": (_top("damage", {"stages": [99]}), "damage.stages must be an integer in [0, 3]"),
}


@pytest.mark.parametrize("case", list(STUDY_CASES))
def test_study_values_are_held_to_the_cli_bounds_at_dry_run(tmp_path, case):
    import copy
    import json

    import yaml

    doc = copy.deepcopy(STUDY8)
    change, want = STUDY_CASES[case]
    change(doc)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(doc))))
    one_line_error(["ablate", str(path), "--dry-run", "--out", str(tmp_path / "run")], str(path), want, root=tmp_path)


def test_cli_and_study_refuse_the_same_channels(tmp_path):
    cli = one_line_error(["inspect", "-c", "70000"])
    assert "--channels must be an integer in [1, 65536]" in cli
    from wiring_lab._validate import bounds_problem

    assert bounds_problem("channels", 70000) == "must be an integer in [1, 65536]" and bounds_problem("channels", 78) is None


def test_study_graph_set_of_20000_nodes_is_refused(tmp_path):
    import json

    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "big.json").write_text(json.dumps({"n": 20000, "edges": [[0, 1]], "generator": "er", "params": {"p": 0.0}, "seed": 0}))
    (tmp_path / "s.yaml").write_text("name: s\nnetworks: [{graphs: g}]\nscales:\n  demo: {dataset: digits, epochs: 1, regime: cifar}\n")
    one_line_error(["ablate", str(tmp_path / "s.yaml"), "--dry-run", "--out", str(tmp_path / "run")], "nodes must be an integer in [1, 4096]")


@pytest.mark.parametrize("key,value,want", [("nodes", 10**6, "nodes must be an integer in [1, 4096]"),
                                            ("budget", 10**12, "budget must be an integer in [1, 1000000]")])
def test_search_study_values_are_bounded(tmp_path, key, value, want):
    path = tmp_path / "search.yaml"
    path.write_text(f"name: s\nscales:\n  demo:\n    common: {{dataset: digits, channels: 8, nodes: 8, epochs: 1, budget: 2}}\n"
                    f"    runs:\n      - {{strategy: random, {key}: {value}}}\n")
    # before: ran until killed
    one_line_error(["search", "--study", str(path), "--out", str(tmp_path / "run"), "--no-figures"], str(path), want, root=tmp_path)


# --- 6: figures check their tables against a schema; a run that makes nothing exits non-zero ------------
@pytest.fixture(scope="module")
def figure_run(tmp_path_factory):
    """A run directory with hand-written damage and history tables that draw (figures damage / learning_curves)."""
    import pandas as pd

    run = tmp_path_factory.mktemp("figrun")
    (run / "tables").mkdir()
    rows = [{"model": f"m{i % 3}", "kind": "node", "stage": i % 3, "node": i % 8, "delta_top1": -float(i % 5), "top1": 90.0 - i % 5,
             "out_degree_graph": i % 4, "in_degree_graph": 1, "out_degree_dag": i % 4 + 1, "in_degree_dag": 1, "seed": 0,
             "ablation": "drop", "cascade": False, "generator": "ws"} for i in range(30)]
    pd.DataFrame(rows).to_csv(run / "tables" / "damage.csv", index=False)
    hist = [{"model": "m0", "epoch": e, "train_loss": 1.0 / e, "val_loss": 1.1 / e, "val_top1": 50.0 + e, "train_top1": 50.0 + e} for e in (1, 2, 3)]
    pd.DataFrame(hist).to_csv(run / "tables" / "history.csv", index=False)
    return run


def _edited(run: Path, tmp_path: Path, table: str, edit) -> Path:
    import pandas as pd

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    path = copy / "tables" / f"{table}.csv"
    text = edit(pd.read_csv(path))
    if isinstance(text, str):
        path.write_text(text)
    else:
        text.to_csv(path, index=False)
    return copy


def _set(column, value, row=0):
    def edit(df):
        df[column] = df[column].astype(object)
        df.at[row, column] = value
        return df
    return edit


FIGURE_CASES = {  # each drew a figure (exit 0) or raised a KeyError traceback before
    "node 1e12": ("damage", "damage", _set("node", 1e12), "column 'node' row 0: 1e+12 is not an integer in [0, 4095]"),
    "inf target": ("damage", "damage", _set("delta_top1", float("inf")), "column 'delta_top1' row 0: inf is not a finite number"),
    "non-numeric epoch": ("learning_curves", "history", _set("epoch", "three", 2), "column 'epoch' row 2: 'three' is not a number"),
    "fractional epoch": ("learning_curves", "history", _set("epoch", 1.5, 1), "column 'epoch' row 1: 1.5 is not an integer"),
    "accuracy 1000": ("learning_curves", "history", _set("val_top1", 1000.0), "'val_top1' row 0: 1000 is not a finite number in [-100, 100]"),
    "duplicate column": ("damage", "damage", lambda df: df.rename(columns={"top1": "X"}).to_csv(index=False).replace(",X,", ",node,", 1),
                         "column 'node' appears twice"),
}


@pytest.mark.parametrize("case", list(FIGURE_CASES))
def test_figures_refuse_tables_that_break_their_schema(figure_run, tmp_path, case):
    figure, table, edit, want = FIGURE_CASES[case]
    run = _edited(figure_run, tmp_path, table, edit)
    one_line_error(["figures", figure, "--from", str(run)], str(run / "tables" / f"{table}.csv"), want, root=tmp_path)


def test_figures_draw_valid_tables_and_exit_nonzero_when_nothing_is_made(figure_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(figure_run, run)
    result = RUNNER.invoke(app, ["figures", "learning_curves", "--from", str(run)])
    assert result.exit_code == 0 and (run / "figures" / "learning_curves.png").is_file(), result.output
    (run / "figures" / "learning_curves.png").unlink()
    # before: exit 0 having made nothing
    line = one_line_error(["figures", "attack", "--from", str(run)], "no figure made", "attack: needs tables/attack.csv", root=run)
    assert line.startswith(f"error: no figure made from {run}")


# --- 7: graph params with mixed int and str keys ------------------------------------------------------
@pytest.mark.parametrize("where", ["model_config", "graph"])
@pytest.mark.parametrize("command", ["damage", "attack"])
def test_params_with_mixed_keys_are_one_line(tiny_ckpt_path, tmp_path, where, command):
    obj = torch.load(tiny_ckpt_path, weights_only=True)
    params = obj["model_config"]["params"] if where == "model_config" else obj["graphs"][0]["params"]
    params[1] = 2  # beside the str keys k, p: sorting or JSON-dumping them raised TypeError
    bad = tmp_path / "mixed.pt"
    torch.save(obj, bad)
    one_line_error([command, str(bad), "--out", str(tmp_path / "t.csv"), "--no-progress"], str(bad), root=tmp_path)
