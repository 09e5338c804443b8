"""Fail closed: writes that never clobber, numbers checked where they enter, budgets before allocation.

Every case runs the real command (typer's ``CliRunner``) and asserts one ``error:`` line naming
the file or option, exit code 2 and, where a file is involved, that nothing was written. Device
nodes are stood in for by FIFOs made inside ``tmp_path``; nothing here touches ``/dev``.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path

import pytest
from cli_checks import RUNNER, one_line_error, tree
from wiring_lab.cli import app

# --- 8, 11: writes --------------------------------------------------------------------------------
def test_out_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "data" / "g.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    result = RUNNER.invoke(app, ["generate", "-n", "6", "--seed", "3", "--out", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["n"] == 6
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["data", "g.json", "link.json"]  # no temporaries left


def test_chained_relative_symlinks_are_followed(tmp_path):
    (tmp_path / "real.csv").write_text("x\n1\n")
    (tmp_path / "mid.csv").symlink_to("real.csv")
    (tmp_path / "top.csv").symlink_to("mid.csv")
    result = RUNNER.invoke(app, ["metrics", "-g", "chain", "-n", "4", "--samples", "2", "--out", str(tmp_path / "top.csv")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "top.csv").is_symlink() and (tmp_path / "mid.csv").is_symlink()
    assert (tmp_path / "real.csv").read_text().startswith("generator")


@pytest.mark.parametrize("via_link", [False, True])
def test_fifo_standing_in_for_a_device_node_is_never_replaced(tmp_path, via_link):
    fifo = tmp_path / "node"
    os.mkfifo(fifo)
    out = fifo
    if via_link:
        out = tmp_path / "null.json"
        out.symlink_to(fifo)
    one_line_error(["generate", "-n", "6", "--out", str(out)], str(out), "not a regular file", root=tmp_path)
    assert fifo.exists() and not fifo.is_file()


def test_directory_as_out_is_refused(tmp_path):
    (tmp_path / "d.csv").mkdir()
    one_line_error(["metrics", "-g", "chain", "-n", "4", "--samples", "2", "--out", str(tmp_path / "d.csv")], "a directory", root=tmp_path)


def test_out_below_a_regular_file(tmp_path):
    (tmp_path / "file").write_text("x")
    one_line_error(["generate", "--out", str(tmp_path / "file" / "g.json")], str(tmp_path / "file" / "g.json"), "cannot write", root=tmp_path)


def test_read_only_file_system(tmp_path, monkeypatch):
    def read_only(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)  # root ignores chmod 555, so simulate EROFS
    line = one_line_error(["generate", "--out", str(tmp_path / "g.json")], str(tmp_path / "g.json"), root=tmp_path)
    assert "Read-only file system" in line


def test_full_disk_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    out = tmp_path / "g.json"
    out.write_text("previous")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    line = one_line_error(["generate", "--out", str(out)], str(out), root=tmp_path)
    assert "No space left on device" in line
    assert out.read_text() == "previous"


def test_generate_refuses_a_bad_drawing_name_before_writing(tmp_path):
    one_line_error(["generate", "--out", str(tmp_path / "g.json"), "--draw", str(tmp_path / "g.bogus")], "g.bogus", root=tmp_path)


def test_table_and_sidecar_are_written_together_or_not_at_all(tmp_path):
    os.mkfifo(tmp_path / "t.csv.json")  # the sidecar cannot be written: the table must not appear either
    one_line_error(["metrics", "-g", "chain", "-n", "4", "--samples", "2", "--out", str(tmp_path / "t.csv")], "t.csv.json", root=tmp_path)


def test_export_graphs_all_or_none(tiny_ckpt_path, tmp_path):
    out = tmp_path / "g"
    out.mkdir()
    os.mkfifo(out / "stage2.json")
    one_line_error(["export-graphs", str(tiny_ckpt_path), "--out", str(out)], "stage2.json", root=tmp_path)


def test_a_fifo_given_as_input_is_refused_not_read(tmp_path):
    os.mkfifo(tmp_path / "study.yaml")
    one_line_error(["ablate", str(tmp_path / "study.yaml"), "--dry-run"], "study.yaml", "not a regular file", root=tmp_path)


# --- numbers where they enter -------------------------------------------------------------------
CLI_NUMBERS = {
    "lr 1e300": (["train", "--out", "{t}/x.pt", "--lr", "1e300"], "--lr"),
    "lr nan": (["train", "--out", "{t}/x.pt", "--lr", "nan"], "--lr"),
    "weight decay nan": (["train", "--out", "{t}/x.pt", "--weight-decay", "nan"], "--weight-decay"),
    "weight decay inf": (["train", "--out", "{t}/x.pt", "--weight-decay", "inf"], "--weight-decay"),
    "label smoothing -inf": (["train", "--out", "{t}/x.pt", "--label-smoothing", "-inf"], "--label-smoothing"),
    "image size -5": (["train", "--out", "{t}/x.pt", "--image-size", "-5"], "--image-size"),
    "image size 0": (["train", "--out", "{t}/x.pt", "--image-size", "0"], "--image-size"),
    "head channels 0": (["train", "--out", "{t}/x.pt", "--head-channels", "0"], "--head-channels"),
    "channels 0": (["train", "--out", "{t}/x.pt", "--channels", "0"], "--channels"),
    "train nodes 0": (["train", "--out", "{t}/x.pt", "--nodes", "0"], "--nodes"),
    "bootstrap 1e8": (["damage", "{t}/x.pt", "--out", "{t}/d.csv", "--bootstrap", "100000000"], "--bootstrap"),
    "attack repeats 1e7": (["attack", "{t}/x.pt", "--out", "{t}/a.csv", "--repeats", "10000000"], "--repeats"),
    "attack fraction inf": (["attack", "{t}/x.pt", "--out", "{t}/a.csv", "--fractions", "0,inf"], "--fractions"),
    "metrics samples 1e9": (["metrics", "-g", "ws", "--samples", "1000000000"], "--max-work"),
    "metrics p nan": (["metrics", "-g", "ws", "--p", "0.1,nan"], "--p"),
    "inspect nodes 100000": (["inspect", "--nodes", "100000"], "--nodes"),
    "inspect channels 1e9": (["inspect", "-c", "1000000000"], "--channels"),
    "negative seed": (["generate", "--seed", "-1"], "--seed"),
    "seed past int64": (["generate", "--seed", str(2**70)], "--seed"),
    "correlate n_boot": (["correlate", "{t}/x.csv", "--n-boot", "100000000"], "--n-boot"),
    "search lr inf": (["search", "--lr", "inf", "--out", "{t}/s"], "--lr"),
    "search density nan": (["search", "--density", "nan", "--out", "{t}/s"], "--density"),
    "demo seeds 1e9": (["demo", "--seeds", "1000000000", "--out", "{t}/r"], "--seeds"),
    "max-memory junk": (["--max-memory", "12Q", "inspect"], "--max-memory"),
}


@pytest.mark.parametrize("name", list(CLI_NUMBERS))
def test_cli_numbers_are_checked_before_any_work(tmp_path, name):
    args, fragment = CLI_NUMBERS[name]
    one_line_error([a.replace("{t}", str(tmp_path)) for a in args], fragment, root=tmp_path)


def test_work_limit_is_stated_and_overridable(tmp_path):
    """10**7 graphs of 32 nodes fit the default limit; a lowered limit refuses a small population (a graph counts as >= 32 nodes)."""
    from wiring_lab._validate import check_cli_numbers

    check_cli_numbers("metrics", {"file": None, "samples": 10**7, "nodes": 32})
    one_line_error(["--max-work", "100", "metrics", "-g", "chain", "-n", "8", "--samples", "20"], "limit of 100")
    ok = RUNNER.invoke(app, ["--max-work", "640", "metrics", "-g", "chain", "-n", "8", "--samples", "20"])
    assert ok.exit_code == 0, ok.output
    RUNNER.invoke(app, ["--max-work", "100", "--max-memory", "1K", "metrics", "-g", "chain", "-n", "8", "--samples", "20"])
    after = RUNNER.invoke(app, ["metrics", "-g", "chain", "-n", "8", "--samples", "20"])  # limits never leak into the next command
    assert after.exit_code == 0, after.output


def test_train_config_refuses_non_finite_values():
    from wiring_lab.train import TrainConfig

    for bad in ({"weight_decay": float("nan")}, {"weight_decay": float("inf")}, {"lr": 1e300}, {"momentum": float("nan")}):
        with pytest.raises(ValueError):
            TrainConfig(**bad)


# --- 10: training refuses non-finite inputs and stops when it diverges --------------------------
def _float_idx(shape, values) -> bytes:
    import struct

    import numpy as np

    return bytes([0, 0, 0x0D, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + np.asarray(values, dtype=">f4").tobytes()


def test_idx_images_holding_nan_are_refused_naming_the_file(tmp_path):
    import struct

    import numpy as np

    root = tmp_path / "mnist"
    root.mkdir()
    for prefix, n in (("train", 4), ("t10k", 2)):
        pixels = np.full(n * 28 * 28, 0.5, dtype=np.float32)
        if prefix == "train":
            pixels[7] = np.nan
        (root / f"{prefix}-images-idx3-ubyte").write_bytes(_float_idx((n, 28, 28), pixels))
        (root / f"{prefix}-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", n) + bytes(range(n)))
    args = ["train", "--dataset", "mnist", "--data-root", str(root), "--out", str(tmp_path / "n.pt"), "--epochs", "1", "--device", "cpu"]
    one_line_error(args, str(root / "train-images-idx3-ubyte"), "NaN or inf", root=tmp_path)


def test_idx_header_whose_size_product_overflows_int64_names_the_file(tmp_path):
    from wiring_lab._io import UserError
    from wiring_lab.data import read_idx

    path = tmp_path / "x-idx"
    import struct

    path.write_bytes(bytes([0, 0, 8, 4]) + struct.pack(">4I", 2**16, 2**16, 2**16, 2**16))  # 2**64 wraps to 0 in int64
    with pytest.raises(UserError, match=str(path)):
        read_idx(path)


def test_non_finite_in_memory_data_is_refused_before_the_first_step(digits, tmp_path):
    import copy

    from wiring_lab._io import UserError
    from wiring_lab.train import TrainConfig, model_config_for
    from wiring_lab.train import train_network as train

    bad = copy.copy(digits)
    x, y = digits.train.tensors
    x = x.clone()
    x[3, 0, 2, 2] = float("inf")
    bad.train = type(digits.train)(x, y)
    mc = model_config_for(digits, channels=4, nodes=6, head_channels=16)
    with pytest.raises(UserError, match="NaN or inf"):
        train(mc, TrainConfig(epochs=1), tmp_path / "x.pt", device="cpu", data=bad, progress=False)
    assert not (tmp_path / "x.pt").exists()


def test_diverging_training_stops_and_keeps_the_last_good_checkpoint(digits, tmp_path, monkeypatch):
    import torch

    from wiring_lab._io import UserError
    from wiring_lab.loading import load_checkpoint
    from wiring_lab.train import TrainConfig, model_config_for
    from wiring_lab.train import train_network as train

    steps_per_epoch = -(-len(digits.train) // 256)
    calls = {"n": 0}
    forward = torch.nn.CrossEntropyLoss.forward

    def poisoned(self, logits, target):  # the loss turns NaN in the middle of epoch 2
        calls["n"] += 1
        loss = forward(self, logits, target)
        return loss * float("nan") if calls["n"] > steps_per_epoch + 2 else loss

    monkeypatch.setattr(torch.nn.CrossEntropyLoss, "forward", poisoned)
    out = tmp_path / "run.pt"
    mc = model_config_for(digits, channels=4, nodes=6, head_channels=16)
    with pytest.raises(UserError, match="diverged in epoch 2.*checkpoint of epoch 1 is kept"):
        train(mc, TrainConfig(epochs=3, batch_size=256), out, device="cpu", data=digits, progress=False)
    ckpt = load_checkpoint(out)  # loads: every weight finite
    assert ckpt.metadata["epochs_done"] == 1 and len(ckpt.metadata["history"]) == 1


@pytest.fixture(scope="module")
def _trained_run(digits, tmp_path_factory):
    from wiring_lab.train import TrainConfig, model_config_for
    from wiring_lab.train import train_network as train

    out = tmp_path_factory.mktemp("resume") / "run.pt"
    mc = model_config_for(digits, channels=4, nodes=6, head_channels=16)
    tc = TrainConfig(epochs=2, batch_size=256)
    train(mc, tc, out, device="cpu", data=digits, progress=False)
    return out.read_bytes(), mc, tc


@pytest.fixture()
def resumable(_trained_run, tmp_path):
    """A 2-epoch training cut back to its first epoch, ready to resume."""
    import io

    import torch

    raw, mc, tc = _trained_run
    obj = torch.load(io.BytesIO(raw), weights_only=True)
    obj["metadata"]["history"] = obj["metadata"]["history"][:1]
    obj["metadata"]["epochs_done"] = 1
    obj["train_state"]["epoch"] = 1  # both epoch counters: a resume starts from them
    return tmp_path / "run.pt", obj, mc, tc


OPTIMIZER_GROUPS = {
    "weight decay nan": (lambda g: g.__setitem__("weight_decay", float("nan")), "weight_decay=nan"),
    "weight decay 10x": (lambda g: g.__setitem__("weight_decay", 5e-4), "weight_decay=0.0005"),
    "maximize": (lambda g: g.__setitem__("maximize", True), "maximize=True"),
    "lr inf": (lambda g: g.__setitem__("lr", float("inf")), "lr inf"),
    "lr 1e300": (lambda g: g.__setitem__("lr", 1e300), "lr 1e+300"),
    "momentum tensor": (lambda g: g.__setitem__("momentum", __import__("torch").tensor(0.9)), "momentum="),
    "nesterov": (lambda g: g.__setitem__("nesterov", True), "nesterov=True"),
    "extra key": (lambda g: g.__setitem__("betas", (0.9, 0.99)), "param_groups keys"),
    "params missing one": (lambda g: g["params"].pop(), "param_groups params"),
}


@pytest.mark.parametrize("name", list(OPTIMIZER_GROUPS))
def test_resume_validates_the_optimizer_param_groups(resumable, digits, name):
    import torch

    from wiring_lab._io import UserError
    from wiring_lab.train import train_network as train

    out, obj, mc, tc = resumable
    edit, message = OPTIMIZER_GROUPS[name]
    edit(obj["train_state"]["optimizer"]["param_groups"][0])
    torch.save(obj, out)
    before = out.read_bytes()
    with pytest.raises(UserError, match=str(out)) as e:
        train(mc, tc, out, device="cpu", resume=True, progress=False, data=digits)
    assert message in str(e.value)
    assert out.read_bytes() == before


def test_resume_with_a_second_param_group_is_refused(resumable, digits):
    import copy

    import torch

    from wiring_lab._io import UserError
    from wiring_lab.train import train_network as train

    out, obj, mc, tc = resumable
    groups = obj["train_state"]["optimizer"]["param_groups"]
    groups.append(copy.deepcopy(groups[0]))
    torch.save(obj, out)
    with pytest.raises(UserError, match="not 1 group"):
        train(mc, tc, out, device="cpu", resume=True, progress=False, data=digits)


# --- 1, 2, 3: checkpoints whose declared sizes would exhaust memory ------------------------------
@pytest.fixture(scope="module")
def base(tiny_ckpt_path) -> dict:
    import torch

    return torch.load(tiny_ckpt_path, weights_only=True)


def _save(obj, path: Path) -> Path:
    import torch

    torch.save(obj, path)
    return path


def test_zip_directory_the_checker_cannot_parse_is_refused(tmp_path):
    """A malformed extra field (torch's reader ignores it) hides a deflated record declaring 64 MiB."""
    import zipfile

    import torch

    src = tmp_path / "src.pt"
    torch.save({"w": torch.zeros(16 << 20)}, src)
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            new = zipfile.ZipInfo(info.filename)
            new.compress_type = zipfile.ZIP_DEFLATED
            new.extra = b"\x99\x99\xff\x00"  # header 0x9999 claiming 255 bytes it does not have
            zout.writestr(new, zin.read(info.filename))
    src.unlink()
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(bomb)
    one_line_error(["inspect", str(bomb)], str(bomb), "zip directory cannot be read", root=tmp_path)


def test_stride_zero_tensor_is_refused_before_the_real_build(base, tmp_path):
    import copy

    import torch

    obj = copy.deepcopy(base)
    width = obj["state_dict"]["fc.weight"].shape[1]
    obj["model_config"]["num_classes"] = 3_000_000
    obj["state_dict"]["fc.weight"] = torch.zeros(1).expand(3_000_000, width)  # 1 stored float, 3e6 x C declared
    obj["state_dict"]["fc.bias"] = torch.zeros(1).expand(3_000_000)
    path = _save(obj, tmp_path / "expanded.pt")
    assert path.stat().st_size < 1 << 20
    one_line_error(["inspect", str(path)], str(path), "fc.", "expanded or overlapping", root=tmp_path)


def test_network_larger_than_the_memory_budget_is_refused(tiny_ckpt_path, tmp_path):
    line = one_line_error(["--max-memory", "64K", "inspect", str(tiny_ckpt_path)], str(tiny_ckpt_path), "memory budget")
    assert "--max-memory" in line
    assert RUNNER.invoke(app, ["--max-memory", "1G", "inspect", str(tiny_ckpt_path)]).exit_code == 0


def _laughs(levels: int = 40):
    x: object = []
    for _ in range(levels):
        x = (x, x)  # 2**40 leaves when expanded, 40 objects in memory
    return x


def _edit(*keys_value):
    *keys, value = keys_value

    def apply(d):
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return apply


CHECKPOINT_VALUES = {
    "channels 10**9": (_edit("model_config", "channels", 10**9), "channels must be an integer"),
    "head_channels 2**62": (_edit("model_config", "head_channels", 2**62), "head_channels must be an integer"),
    "stages with inf": (_edit("model_config", "stages", [[float("inf"), 16]] * 3), "a stage's nodes"),
    "meta tensor": (lambda d: d["state_dict"].__setitem__("fc.bias", __import__("torch").zeros(10, device="meta")), "meta tensor"),
    "sparse tensor": (lambda d: d["state_dict"].__setitem__("fc.bias", __import__("torch").zeros(10).to_sparse()), "sparse_coo tensor"),
    "float64 1e300": (
        lambda d: d["state_dict"].__setitem__("fc.bias", __import__("torch").full((10,), 1e300, dtype=__import__("torch").float64)),
        "beyond float32",
    ),
    "history key missing": (lambda d: d["metadata"]["history"][0].pop("train_loss"), "has no 'train_loss'"),
    "history None": (lambda d: d["metadata"]["history"][0].__setitem__("test_top1", None), "'test_top1' is None"),
    "history 10**400": (lambda d: d["metadata"]["history"][0].__setitem__("test_loss", 10**400), "not a finite number"),
    "final None": (_edit("metadata", "final", "test_top1", None), "'test_top1' is None"),
    "final 10**400": (_edit("metadata", "final", "test_top1", 10**400), "not a finite number"),
    "laughs in model_config": (_edit("model_config", "stem", _laughs()), "more than 1,000,000 values"),
    "laughs in metadata": (_edit("metadata", "notes", _laughs()), "more than 1,000,000 values"),
    "laughs as n": (_edit("graphs", 0, "n", _laughs()), "more than 1,000,000 values"),
    "laughs as edges": (_edit("graphs", 0, "edges", _laughs()), "more than 1,000,000 values"),
    "params tensor": (_edit("graphs", 0, "params", "p", __import__("torch").zeros(3)), "'params' 'p'"),
    "params bytes": (_edit("graphs", 0, "params", "x", b"ab"), "'params' 'x'"),
    "params complex": (_edit("graphs", 0, "params", "x", 1j), "'params' 'x'"),
    "params mixed keys": (_edit("graphs", 0, "params", 3, 1), "keys must be short strings"),
}


# metrics reads only the stage graphs of a checkpoint (and every tensor's layout, as all readers do)
_READS_GRAPHS_ONLY = ("meta", "sparse", "float64", "laughs", "params")


@pytest.mark.parametrize("command", ["inspect", "inspect --json", "export-graphs", "metrics"])
@pytest.mark.parametrize("name", list(CHECKPOINT_VALUES))
def test_untrusted_checkpoint_values_give_one_line(base, tmp_path, name, command):
    import copy

    if command == "metrics" and not name.startswith(_READS_GRAPHS_ONLY):
        pytest.skip("metrics does not read the model config or metadata")

    edit, message = CHECKPOINT_VALUES[name]
    obj = copy.deepcopy(base)
    edit(obj)
    path = _save(obj, tmp_path / "bad.pt")
    args = command.split() + [str(path)]
    if command == "export-graphs":
        args += ["--out", str(tmp_path / "g")]
    elif command == "metrics":
        args += ["--out", str(tmp_path / "m.csv")]
    line = one_line_error(args, str(path), message, root=tmp_path)
    assert len(line) < 500


# --- 4, 5, 6, 7: declared sizes of graphs, studies and images -------------------------------------
def test_graph_within_max_nodes_whose_metrics_exceed_the_budget(tmp_path):
    path = tmp_path / "big.json"
    path.write_text('{"n": 100000, "edges": []}')
    one_line_error(["metrics", str(path), "--out", str(tmp_path / "m.csv")], str(path), "memory budget", root=tmp_path)
    one_line_error(["metrics", "-g", "ws", "-n", "60000", "--samples", "1"], "memory budget")


def test_metrics_budget_admits_what_fits(tmp_path):
    from wiring_lab._limits import graph_metrics_bytes

    assert graph_metrics_bytes(32, 10**7) < 11 << 30  # a 10**7-graph population of N=32 fits a 24 GB machine's default
    path = tmp_path / "g.json"
    path.write_text('{"n": 300, "edges": [[0, 1]]}')
    assert RUNNER.invoke(app, ["--max-memory", "1G", "metrics", str(path)]).exit_code == 0
    one_line_error(["--max-memory", "1M", "metrics", str(path)], str(path), "memory budget of 1.0 MiB")


@pytest.mark.parametrize(
    "name, text",
    [("g.json", '{"n": 8, "n": 9, "edges": []}'), ("g.json", '{"n": 9, "edges": [], "edges": [[0, 1]]}'), ("g.yaml", "n: 3\nn: 4\n")],
)
def test_duplicate_keys_in_graph_files_are_refused(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    one_line_error(["metrics", str(path)], str(path), "duplicate key", root=tmp_path)


def test_study_yaml_nested_20000_deep(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("study: " + "[" * 20000 + "]" * 20000 + "\n")
    one_line_error(["ablate", str(path), "--dry-run"], str(path), "nested too deeply", root=tmp_path)


def test_correlate_sidecar_nested_990_deep(damage_table, tmp_path):
    table = tmp_path / "damage.csv"
    table.write_bytes(damage_table.read_bytes())
    side = tmp_path / "damage.csv.json"
    side.write_text('{"a": ' + "[" * 990 + "]" * 990 + "}")
    one_line_error(["correlate", str(table)], str(side), root=tmp_path)


@pytest.fixture(scope="module")
def damage_table(tiny_ckpt_path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dmg") / "damage.csv"
    result = RUNNER.invoke(app, ["damage", str(tiny_ckpt_path), "--out", str(out), "--limit", "64", "--bootstrap", "10", "--device", "cpu", "--no-progress"])
    assert result.exit_code == 0, result.output
    return out


def _image_folder(root: Path, bad_name: str, bad: bytes | None = None, size: tuple[int, int] | None = None) -> Path:
    from PIL import Image

    for split in ("train", "val"):
        for c in ("cat", "dog"):
            (root / split / c).mkdir(parents=True)
            Image.new("RGB", (20, 20), (9, 9, 9)).save(root / split / c / "a.png")
    path = root / "train" / "dog" / bad_name
    if size is not None:
        Image.new("RGB", size, (200, 9, 9)).save(path)
    else:
        path.write_bytes(bad)
    return path


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width x height (valid CRC) and one tiny IDAT."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "case, message",
    [("strip", "would be resized"), ("50000^2 header", "2500000000 pixels"), ("0x0 header", "image")],
)
def test_hostile_images_are_refused_from_their_header(tmp_path, case, message):
    if case == "strip":
        bad = _image_folder(tmp_path / "imgs", "strip.png", size=(1, 20000))
        assert bad.stat().st_size < 2000
    else:
        side = 50000 if "50000" in case else 0
        bad = _image_folder(tmp_path / "imgs", "big.png", _png_header(side, side))
    args = ["train", "--dataset", "imagefolder", "--data-root", str(tmp_path / "imgs"), "--image-size", "16",
            "-c", "4", "-n", "5", "--k", "2", "--head-channels", "8", "--epochs", "1", "--out", str(tmp_path / "n.pt"), "--device", "cpu"]  # fmt: skip
    one_line_error(args, str(bad), message, root=tmp_path)


def test_failed_image_loader_worker_names_the_file(tmp_path):
    bad = _image_folder(tmp_path / "imgs", "b.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    args = ["train", "--dataset", "imagefolder", "--data-root", str(tmp_path / "imgs"), "--image-size", "16", "--workers", "1",
            "-c", "4", "-n", "5", "--k", "2", "--head-channels", "8", "--epochs", "1", "--out", str(tmp_path / "n.pt"), "--device", "cpu"]  # fmt: skip
    one_line_error(args, str(bad), "not a readable image", root=tmp_path)


STUDY = """name: s
networks:
  - generator: er
    p: [{ps}]
scales:
  demo:
    dataset: digits
    channels: 8
    nodes: {nodes}
    head_channels: 16
    epochs: 1
    seeds: {seeds}
"""


@pytest.mark.parametrize(
    "nodes, seeds, message",
    [(8, 1_000_000_000, "seeds"), (100_000, 1, "nodes"), (8, 101, "101,000 trainings")],
)
@pytest.mark.parametrize("dry_run", [True, False])
def test_study_plan_size_is_checked_before_expanding(tmp_path, nodes, seeds, message, dry_run):
    path = tmp_path / "s.yaml"
    ps = ", ".join(f"{i / 1000:.3f}" for i in range(1, 1001)) if seeds == 101 else "0.5"
    path.write_text(STUDY.format(nodes=nodes, seeds=seeds, ps=ps))
    args = ["ablate", str(path), "--out", str(tmp_path / "run")] + (["--dry-run"] if dry_run else [])
    one_line_error(args, str(path), message, root=tmp_path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda df: df.assign(kind=df["kind"].where(df.index != 3, "zap")), "unknown kind 'zap'"),
        (lambda df: df.assign(stage=df["stage"].where(df["kind"] == "intact", 7)), "column 'stage' row 1: 7 is not an integer in [0, 3]"),
        (lambda df: df.assign(stage=df["stage"].where(df.index != 2, -1)), "column 'stage' row 2: -1 is not an integer in [0, 3]"),
    ],
)
def test_figures_damage_refuses_rows_of_unknown_kind_or_stage(damage_table, tmp_path, edit, message):
    import pandas as pd

    from wiring_lab.rundir import table_path

    path = table_path(tmp_path / "run", "damage")
    path.parent.mkdir(parents=True)
    df = pd.read_csv(damage_table)
    assert (df["kind"] == "intact").sum() < len(df) - 3
    edit(df).to_csv(path, index=False)
    one_line_error(["figures", "damage", "--from", str(tmp_path / "run")], str(path), message, root=tmp_path)


def test_text_graph_with_a_5000_digit_id_names_the_file(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("4\n1\n0 " + "9" * 5000 + "\n")
    line = one_line_error(["metrics", str(path)], str(path), "line 3", root=tmp_path)
    assert len(line) < 300


def test_cifar_batch_with_a_non_utf8_key_names_the_file(tmp_path):
    import pickle

    import numpy as np

    root = tmp_path / "cifar"
    root.mkdir()
    good = {b"data": np.zeros((2, 3072), dtype=np.uint8), b"labels": [1, 2]}
    for i in range(1, 6):
        (root / f"data_batch_{i}").write_bytes(pickle.dumps(good, protocol=2))
    (root / "test_batch").write_bytes(pickle.dumps({**good, b"\xff\xfe": 1}, protocol=2))
    args = ["train", "--dataset", "cifar10", "--data-root", str(root), "--out", str(tmp_path / "n.pt"), "--epochs", "1", "--device", "cpu"]
    one_line_error(args, str(root / "test_batch"), "not UTF-8", root=tmp_path)


def test_empty_training_split_is_one_line(digits, tmp_path):
    import copy

    import torch

    from wiring_lab._io import UserError
    from wiring_lab.train import TrainConfig, model_config_for
    from wiring_lab.train import train_network as train

    empty = copy.copy(digits)
    empty.train = torch.utils.data.TensorDataset(torch.zeros(0, 1, 8, 8), torch.zeros(0, dtype=torch.long))
    mc = model_config_for(digits, channels=4, nodes=6, head_channels=16)
    with pytest.raises(UserError, match="train split holds no images"):
        train(mc, TrainConfig(epochs=1), tmp_path / "x.pt", device="cpu", data=empty, progress=False)
    assert not (tmp_path / "x.pt").exists()


def test_bounded_repr_does_not_walk_shared_references():
    import time

    from wiring_lab._limits import count_values, short_repr

    x = _laughs(200)  # 2**200 leaves if expanded
    t0 = time.perf_counter()
    assert count_values(x) is None
    assert len(short_repr(x)) <= 200
    assert time.perf_counter() - t0 < 5
    assert count_values({"a": [1, 2, (3, 4)]}) == 8  # the dict, its key "a", the list, 1, 2, the tuple, 3, 4


@pytest.mark.parametrize("format", ["seungwonpark", "auto"])
def test_expanded_tensor_in_a_foreign_checkpoint_is_refused_before_any_build(tmp_path, format):
    import torch

    path = tmp_path / "foreign.pt"
    torch.save({"model": {"conv2.weight": torch.zeros(1).expand(60000, 2, 3, 3)}, "hp_str": "x"}, path)
    one_line_error(["inspect", str(path), "--format", format], str(path), "conv2.weight", "expanded or overlapping", root=tmp_path)
