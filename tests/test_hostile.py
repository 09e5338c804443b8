"""Hostile files for every command that reads one: one ``error:`` line naming the file, exit 2, nothing run or written.

Each case writes a bad file into ``tmp_path`` and runs the real command through typer's
``CliRunner``; a file whose pickle would run code is also opened by a separate ``python -m
wiring_lab`` process, and a marker file that its payload would create must never appear.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_checks import RUNNER, one_line_error
from wiring_lab.cli import app
from wiring_lab.graphs import MAX_NODES, load_graph


class _Evil:
    """Pickles as a call to ``os.system`` that would create ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _EvilOpen:
    """Pickles as ``builtins.open(marker, "w")``: creating the file is the payload."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import builtins

        return (builtins.open, (str(self.marker), "w"))


@pytest.fixture(scope="module")
def base(tiny_ckpt_path) -> dict:
    """The tiny trained checkpoint as plain containers, to corrupt copy by copy."""
    return torch.load(tiny_ckpt_path, weights_only=True)


def _save(obj, path: Path) -> Path:
    torch.save(obj, path)
    return path


# --- pickles that would run code ----------------------------------------------------------------
@pytest.mark.parametrize("how", ["zip", "legacy", "raw-pickle-2", "raw-pickle-5", "open"])
def test_checkpoint_pickle_payload_never_runs(tmp_path, how):
    marker = tmp_path / "MARKER"
    path = tmp_path / f"evil-{how}.pt"
    if how == "zip":
        torch.save({"format": "wiring-lab-checkpoint", "x": _Evil(marker)}, path)
    elif how == "legacy":
        torch.save({"x": _Evil(marker)}, path, _use_new_zipfile_serialization=False)
    elif how == "open":
        torch.save({"format": "wiring-lab-checkpoint", "x": _EvilOpen(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(_Evil(marker), protocol=int(how[-1])))
    one_line_error(["inspect", str(path)], str(path), root=tmp_path)
    assert not marker.exists()


def test_hostile_pickle_in_a_real_process(tmp_path):
    """The installed entry point, in its own process: exit 2, one stderr line, the marker never made."""
    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.pt"
    torch.save({"format": "wiring-lab-checkpoint", "version": 1, "state_dict": _Evil(marker)}, path)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run(
        [sys.executable, "-m", "wiring_lab", "train", "--out", str(path), "--resume", "--epochs", "1", "--device", "cpu"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0] and "refused" in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not marker.exists()


# --- broken files -------------------------------------------------------------------------------
@pytest.mark.parametrize("fraction", [0.0, 0.02, 0.5, 0.97])
def test_truncated_checkpoint(tiny_ckpt_path, tmp_path, fraction):
    raw = tiny_ckpt_path.read_bytes()
    path = tmp_path / "cut.pt"
    path.write_bytes(raw[: int(len(raw) * fraction)])
    one_line_error(["inspect", str(path)], str(path), "empty" if fraction == 0 else "truncated", root=tmp_path)


def test_random_bytes_and_text_are_not_checkpoints(tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    one_line_error(["inspect", str(path)], str(path), "not a PyTorch checkpoint", root=tmp_path)
    path.write_text("model: resnet\n")
    one_line_error(["inspect", str(path)], str(path), "not a PyTorch checkpoint", root=tmp_path)


def test_zip_bomb_checkpoint_is_refused_before_allocating(tmp_path):
    """A compressed record declaring 64 MiB in a ~70 KiB file: refused from the zip directory alone."""
    src = tmp_path / "src.pt"
    torch.save({"w": torch.zeros(16 << 20)}, src)  # 64 MiB of float32 zeros
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    src.unlink()
    assert bomb.stat().st_size < 1 << 20
    one_line_error(["inspect", str(bomb)], str(bomb), "refused", "declare", root=tmp_path)


def _patched_storage(tmp_path: Path, numel: int) -> Path:
    """A torch zip whose tensor declares ``numel`` elements over a 200-element record."""
    src = tmp_path / "small.pt"
    torch.save({"w": torch.zeros(200)}, src)
    with zipfile.ZipFile(src) as z:
        names = z.namelist()
        pkl_name = next(n for n in names if n.endswith("/data.pkl"))
        pkl = z.read(pkl_name)
        old = b"K\xc8t"  # BININT1 200 closing the storage's persistent id
        assert pkl.count(old) == 1, "torch's pickle layout changed; update this test"
        pkl = pkl.replace(old, b"J" + struct.pack("<i", numel) + b"t")
        writer = torch._C.PyTorchFileWriter(str(tmp_path / "huge.pt"))
        for name in names:
            short = name.split("/", 1)[1]
            if short == ".data/serialization_id":
                continue
            data = pkl if name == pkl_name else z.read(name)
            writer.write_record(short, data, len(data))
        writer.write_end_of_file()
    src.unlink()
    return tmp_path / "huge.pt"


def test_huge_declared_tensor_size_allocates_nothing(tmp_path):
    path = _patched_storage(tmp_path, 2**31 - 1)  # 8 GiB of float32 declared, 800 bytes stored
    one_line_error(["inspect", str(path)], str(path), "declared size", root=tmp_path)


# --- wrong types, shapes and values inside a well-formed file ------------------------------------
def _set(*keys_value):
    *keys, value = keys_value

    def apply(d):
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return apply


CORRUPTIONS = {
    "top-level list": (lambda d: None, "not a wiring-lab checkpoint"),
    "no format": (lambda d: d.pop("format"), "not a wiring-lab checkpoint"),
    "version 3": (_set("version", 3), "version 3 is not supported"),
    "model_config list": (_set("model_config", [1, 2]), "bad model_config"),
    "channels str": (_set("model_config", "channels", "8"), "channels must be a positive integer"),
    "unknown config key": (_set("model_config", "depth", 3), "bad model_config"),
    "params list": (_set("model_config", "params", [4]), "params must be a dict"),
    "p nan": (_set("model_config", "params", "p", float("nan")), "p must be a number in [0, 1]"),
    "k float": (_set("model_config", "params", "k", 4.5), "k must be an integer"),
    "seed negative": (_set("model_config", "seed", -3), "seed must be a non-negative integer"),
    "regime list": (_set("model_config", "regime", ["small"]), "must be strings"),
    "huge channels": (_set("model_config", "channels", 10**7), "state_dict does not match its graphs"),
    "huge classes": (_set("model_config", "num_classes", 10**10), "num_classes must be an integer in [1, 16,777,216]"),
    "graphs str": (_set("graphs", "ws"), "bad stage graph"),
    "self loop": (lambda d: d["graphs"][0]["edges"].append([2, 2]), "self loop"),
    "duplicate edge": (lambda d: d["graphs"][0]["edges"].append(list(d["graphs"][0]["edges"][0])), "duplicate edge"),
    "node id out of range": (lambda d: d["graphs"][1]["edges"].append([0, 99]), "outside 0..7"),
    "negative node id": (lambda d: d["graphs"][1]["edges"].append([-1, 3]), "outside 0..7"),
    "edge not a pair": (lambda d: d["graphs"][0]["edges"].append(7), "must be a pair"),
    "huge n": (_set("graphs", 0, "n", 10**12), f"more than the limit of {MAX_NODES}"),
    "float n": (_set("graphs", 0, "n", 8.0), "at least one node"),
    "one node more": (_set("graphs", 2, "n", 9), "stage 2 has 9 nodes in its graph but 8 in the state_dict"),
    "too few graphs": (lambda d: d["graphs"].pop(), "3 random stages but 2 graphs"),
    "NaN weight": (lambda d: d["state_dict"]["fc.weight"].view(-1)[3].fill_(float("nan")), "NaN or inf"),
    "inf weight": (lambda d: d["state_dict"]["stem.0.0.weight"].view(-1)[0].fill_(float("inf")), "NaN or inf"),
    "negative BN variance": (lambda d: d["state_dict"]["head.2.running_var"].fill_(-1.0), "negative batch-norm"),
    "tensor shape": (_set("state_dict", "fc.weight", torch.zeros(3, 3)), "of another shape (e.g. fc.weight"),
    "integer tensor": (lambda d: d["state_dict"].__setitem__("fc.bias", d["state_dict"]["fc.bias"].long()), "dtype torch.int64"),
    "missing tensor": (lambda d: d["state_dict"].pop("fc.bias"), "1 missing (e.g. fc.bias)"),
    "extra tensor": (_set("state_dict", "stages.9.extra", torch.zeros(1)), "1 unexpected"),
    "state_dict list": (_set("state_dict", [1]), "'state_dict' must map parameter names to tensors"),
    "state_dict value int": (_set("state_dict", "fc.bias", 3), "'state_dict' must map parameter names to tensors"),
    "metadata list": (_set("metadata", [1]), "'metadata' must be a dict"),
    "history str": (_set("metadata", "history", "abc"), "'history' must be a list"),
    "history text value": (lambda d: d["metadata"]["history"][0].__setitem__("test_top1", "high"), "non-numeric"),
    "final str": (_set("metadata", "final", "good"), "'final' must be a dict"),
    "epochs_done str": (_set("metadata", "epochs_done", "4"), "'epochs_done' must be an integer"),
    "train_state str": (_set("train_state", "sgd"), "'train_state' must be a dict"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corrupted_checkpoint_contents(base, tmp_path, name):
    corrupt, message = CORRUPTIONS[name]
    obj = [1, 2] if name == "top-level list" else copy.deepcopy(base)
    corrupt(obj)
    path = _save(obj, tmp_path / "bad.pt")
    one_line_error(["inspect", str(path)], str(path), message, root=tmp_path)


def test_rewired_graph_that_keeps_every_shape_still_loads(base, tmp_path):
    """Documented limit: a state_dict cannot tell two graphs apart when every tensor shape agrees."""
    from wiring_lab.loading import load_checkpoint

    obj = copy.deepcopy(base)
    assert load_checkpoint(_save(obj, tmp_path / "ok.pt")).graphs[0].to_dict() == obj["graphs"][0]


def test_resume_from_hostile_checkpoint_writes_nothing(base, tmp_path):
    obj = copy.deepcopy(base)
    obj["train_state"]["optimizer"]["state"] = {0: {"momentum_buffer": torch.zeros(5, 5, 5)}}
    out = _save(obj, tmp_path / "run.pt")
    args = ["train", "--out", str(out), "--resume", "-c", "8", "-n", "8", "--head-channels", "64", "--seed", "1", "--epochs", "6", "--device", "cpu"]
    # the saved run used epochs=4, so the configs differ: the refusal comes first and names the file
    one_line_error(args, str(out), "another training config", root=tmp_path)
    args[args.index("6")] = "5"
    obj["metadata"]["train_config"]["epochs"] = 5
    _save(obj, out)  # 4 of 5 epochs done: the resume restores the optimizer state, which does not fit
    one_line_error(args, str(out), "optimizer state does not fit the model", root=tmp_path)


# --- graph files (JSON) -------------------------------------------------------------------------
def _graph_dir(base, tmp_path: Path, edit=None, raw: str | None = None, stage: int = 1) -> Path:
    gdir = tmp_path / "graphs"
    gdir.mkdir()
    for i, g in enumerate(base["graphs"]):
        d = copy.deepcopy(g)
        if i == stage and edit is not None:
            edit(d)
        text = raw if (i == stage and raw is not None) else json.dumps(d)
        (gdir / f"stage{i}.json").write_text(text)
    return gdir


GRAPH_FILES = {
    "invalid JSON": (None, '{"n": 8, "edges": [[0, 1]', "not valid JSON"),
    "zero-length": (None, "", "not valid JSON"),
    "deep nesting": (None, "[" * 100_000 + "]" * 100_000, "not valid JSON"),
    "giant integer": (None, '{"n": ' + "9" * 5000 + ', "edges": []}', "not valid JSON"),
    "not UTF-8": (None, None, "cannot read graph file"),
    "wrong type": (None, '"ws"', "a graph must be a JSON object"),
    "n missing": (lambda d: d.pop("n"), None, "missing key(s): n"),
    "edges dict": (_set("edges", {"0": 1}), None, "'edges' must be a list"),
    "self loop": (lambda d: d["edges"].append([3, 3]), None, "self loop on node 3"),
    "duplicate edge": (lambda d: d["edges"].append(d["edges"][0][::-1]), None, "duplicate edge"),
    "out of range": (lambda d: d["edges"].append([1, 8]), None, "outside 0..7"),
    "string id": (lambda d: d["edges"].append(["0", "5"]), None, "must be integers"),
    "huge n": (_set("n", 10**15), None, "more than the limit"),
    "nodes mismatch state": (_set("n", 9), None, "stage 1 has 9 nodes in its graph but 8 in the state_dict"),
    "seed float": (_set("seed", 1.5), None, "'seed' must be an integer or null"),
    "other format": (_set("format", "gml"), None, "not a wiring-lab-graph file"),
}


@pytest.mark.parametrize("name", list(GRAPH_FILES))
def test_hostile_graph_files(base, tmp_path, name):
    edit, raw, message = GRAPH_FILES[name]
    bare = dict(copy.deepcopy(base))
    bare.pop("graphs")
    ckpt = _save(bare, tmp_path / "bare.pt")
    gdir = _graph_dir(base, tmp_path, edit, raw)
    if name == "not UTF-8":
        (gdir / "stage1.json").write_bytes(b"\xff\xfe\x00garbage")
    bad = gdir / "stage1.json"
    line = one_line_error(["inspect", str(ckpt), "--graphs", str(gdir)], message, root=tmp_path)
    if name != "nodes mismatch state":  # that one is the checkpoint's fault, named by it
        assert str(bad) in line


def test_graph_list_file_with_a_bad_entry(base, tmp_path):
    bare = dict(copy.deepcopy(base))
    bare.pop("graphs")
    ckpt = _save(bare, tmp_path / "bare.pt")
    graphs = copy.deepcopy(base["graphs"])
    graphs[2]["edges"].append([0, 0])
    gfile = tmp_path / "graphs.json"
    gfile.write_text(json.dumps({"graphs": graphs}))
    one_line_error(["inspect", str(ckpt), "--graphs", str(gfile)], str(gfile), "self loop", root=tmp_path)
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    one_line_error(["inspect", str(ckpt), "--graphs", str(empty)], str(empty), "no *.json graph files")


def test_disconnected_graph_is_valid_and_every_part_is_wired(tmp_path):
    """Choice: disconnected parts and isolated nodes are legal (ER(P) makes them); each part gets input and output."""
    from wiring_lab.graphs import GraphSpec

    spec = GraphSpec("custom", {}, None, 6, ((0, 1), (1, 2), (3, 4)))
    path = tmp_path / "parts.json"
    path.write_text(spec.to_json())
    dag = load_graph(path).to_dag()
    import networkx as nx

    assert nx.is_directed_acyclic_graph(dag)
    assert set(dag.successors(6)) == {0, 3, 5} and set(dag.predecessors(7)) == {2, 4, 5}
    assert all(nx.has_path(dag, 6, v) and nx.has_path(dag, v, 7) for v in range(6))


def test_generated_triangle_is_oriented_acyclic(tmp_path):
    """An undirected cycle in a graph file is legal: edges point low -> high, so the DAG has no cycle."""
    import networkx as nx

    from wiring_lab.graphs import GraphSpec

    dag = GraphSpec("custom", {}, None, 3, ((0, 1), (1, 2), (0, 2))).to_dag()
    assert nx.is_directed_acyclic_graph(dag) and list(nx.topological_sort(dag))[1:4] == [0, 1, 2]
    with pytest.raises(ValueError, match="points from a higher to a lower index"):
        GraphSpec.from_networkx(nx.DiGraph([(0, 1), (1, 2), (2, 0)]))


# --- data sets ----------------------------------------------------------------------------------
def _idx_bytes(shape, body: bytes) -> bytes:
    return bytes([0, 0, 0x08, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + body


def _mnist_dir(root: Path, images: bytes) -> Path:
    root.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 6), ("t10k", 4)):
        (root / f"{prefix}-images-idx3-ubyte").write_bytes(_idx_bytes((n, 28, 28), rng.integers(0, 256, n * 784, dtype=np.uint8).tobytes()))
        (root / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx_bytes((n,), bytes(range(n))))
    (root / "train-images-idx3-ubyte").unlink()
    (root / "train-images-idx3-ubyte.gz").write_bytes(images)
    return root


IDX_FILES = {
    "zero-length": (b"", "not an IDX file"),
    "truncated header": (gzip.compress(bytes([0, 0, 8, 3, 0, 0])), "truncated IDX header"),
    "body shorter than declared": (gzip.compress(_idx_bytes((6, 28, 28), b"\x00" * 100)), "declares shape (6, 28, 28)"),
    "gzip bomb": (gzip.compress(_idx_bytes((6, 28, 28), b"\x00" * (64 << 20))), "but the file has 4705"),
    "huge declared shape": (gzip.compress(_idx_bytes((2**20, 2**12, 2**10), b"")), "more than"),
    "corrupt gzip": (b"\x1f\x8b" + b"\x00" * 40, "corrupt gzip data"),
}


@pytest.mark.parametrize("name", list(IDX_FILES))
def test_hostile_idx_files(tmp_path, name):
    images, message = IDX_FILES[name]
    root = _mnist_dir(tmp_path / "mnist", images)
    out = tmp_path / "net.pt"
    bad = root / "train-images-idx3-ubyte.gz"
    args = ["train", "--dataset", "mnist", "--data-root", str(root), "--out", str(out), "--epochs", "1", "--device", "cpu"]
    one_line_error(args, str(bad), message, root=tmp_path)


def _cifar_dir(root: Path, bad: bytes) -> Path:
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        d = {b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), b"labels": [1, 2]}
        (root / f"data_batch_{i}").write_bytes(pickle.dumps(d, protocol=2))
    (root / "test_batch").write_bytes(bad)
    return root


def _cifar_cases(marker: Path) -> dict[str, tuple[bytes, str]]:
    ok = np.zeros((2, 3072), dtype=np.uint8)
    return {
        "os.system payload": (pickle.dumps({b"data": _Evil(marker)}, protocol=2), "refusing to load"),
        "open payload": (pickle.dumps({b"data": _EvilOpen(marker)}, protocol=2), "refusing to load"),
        "zero-length": (b"", "not a CIFAR-10 batch"),
        "truncated": (pickle.dumps({b"data": ok, b"labels": [0, 1]}, protocol=2)[:200], "not a CIFAR-10 batch"),
        "float images": (pickle.dumps({b"data": ok.astype(np.float64), b"labels": [0, 1]}, protocol=2), "uint8"),
        "text labels": (pickle.dumps({b"data": ok, b"labels": ["cat", "dog"]}, protocol=2), "'labels' must be integers"),
        "label out of range": (pickle.dumps({b"data": ok, b"labels": [0, 10]}, protocol=2), "outside 0..9"),
        "wrong shape": (pickle.dumps({b"data": ok.reshape(4, 1536), b"labels": [0, 1, 2, 3]}, protocol=2), "(N, 3072)"),
        "a list": (pickle.dumps([1, 2], protocol=2), "expected a dict"),
    }


@pytest.mark.parametrize("name", list(_cifar_cases(Path("x"))))
def test_hostile_cifar_batches(tmp_path, name):
    marker = tmp_path / "MARKER"
    bad, message = _cifar_cases(marker)[name]
    root = _cifar_dir(tmp_path / "cifar", bad)
    out = tmp_path / "net.pt"
    args = ["train", "--dataset", "cifar10", "--data-root", str(root), "--out", str(out), "--epochs", "1", "--device", "cpu"]
    one_line_error(args, str(root / "test_batch"), message, root=tmp_path)
    assert not marker.exists()


def test_unreadable_image_in_a_folder(tmp_path):
    from PIL import Image

    for split in ("train", "val"):
        for c in ("cat", "dog"):
            (tmp_path / "imgs" / split / c).mkdir(parents=True)
            Image.new("RGB", (20, 20), (9, 9, 9)).save(tmp_path / "imgs" / split / c / "a.png")
    bad = tmp_path / "imgs" / "train" / "dog" / "b.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out = tmp_path / "net.pt"
    args = ["train", "--dataset", "imagefolder", "--data-root", str(tmp_path / "imgs"), "--image-size", "16",
            "-c", "4", "-n", "5", "--k", "2", "--head-channels", "8", "--epochs", "1", "--out", str(out), "--device", "cpu"]
    one_line_error(args, str(bad), "not a readable image", root=tmp_path)


# --- damage sweeps ------------------------------------------------------------------------------
DAMAGE_BAD = {
    "pickle payload": (lambda d, m: {"format": "wiring-lab-checkpoint", "version": 1, "state_dict": _Evil(m)}, "refused"),
    "NaN weight": (lambda d, m: (d["state_dict"]["fc.weight"].view(-1)[0].fill_(float("nan")), d)[1], "NaN or inf"),
    "graph of another net": (lambda d, m: (d["graphs"][0].__setitem__("n", 9), d)[1], "does not match its graphs"),
    "self loop": (lambda d, m: (d["graphs"][2]["edges"].append([4, 4]), d)[1], "self loop"),
}


@pytest.mark.parametrize("name", list(DAMAGE_BAD))
def test_damage_on_hostile_checkpoint_writes_nothing(base, tmp_path, name):
    make, message = DAMAGE_BAD[name]
    marker = tmp_path / "MARKER"
    path = _save(make(copy.deepcopy(base), marker), tmp_path / "bad.pt")
    out = tmp_path / "tables" / "damage.csv"
    args = ["damage", str(path), "--out", str(out), "--limit", "20", "--device", "cpu", "--no-progress"]
    one_line_error(args, str(path), message, root=tmp_path)
    assert not out.parent.exists() and not marker.exists()


def test_damage_resume_file_with_foreign_rows(tiny_ckpt_path, tmp_path):
    """A progress file whose rows are not rows (edited, or another program's) is re-run, not trusted."""
    out = tmp_path / "d.csv"
    args = ["damage", str(tiny_ckpt_path), "--out", str(out), "--limit", "20", "--stage", "0", "--bootstrap", "20",
            "--chunk", "2", "--device", "cpu", "--no-progress"]  # fmt: skip
    assert RUNNER.invoke(app, args).exit_code == 0
    reference = out.read_bytes()
    partial = Path(str(out) + ".partial.jsonl")
    out.unlink()
    import wiring_lab.damage as dmg

    real_append = dmg._append
    calls = []

    def append_then_stop(f, records):
        real_append(f, records)
        calls.append(len(records))
        if len(calls) == 2:  # the header and the first chunk are on disk
            raise KeyboardInterrupt

    dmg._append = append_then_stop
    try:
        res = RUNNER.invoke(app, args)
    finally:
        dmg._append = real_append
    assert res.exit_code == 130 and partial.exists() and not out.exists()
    with open(partial, "a") as f:
        f.write("[1, 2, 3]\n" + '"text"\n')
    assert RUNNER.invoke(app, args).exit_code == 0
    import pandas as pd

    a, b = pd.read_csv(out), pd.read_csv(io.BytesIO(reference))
    cols = [c for c in a.columns if c != "wall_s"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert not partial.exists()


# --- study files (YAML) -------------------------------------------------------------------------
def _alias_bomb(levels: int = 8) -> str:
    """A YAML 'billion laughs': each level lists the previous one ten times (10**levels leaves)."""
    lines = ["name: bomb", "l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels + 1)]
    return "\n".join(lines + ["networks:", "  - generator: ws", "scales:", "  demo: {}", ""])


STUDY_FILES = {
    "zero-length": (b"", "empty"),
    "not UTF-8": (b"\xff\xfe\x00name: x\n", "cannot read"),
    "python tag on a scalar": (b"name: x\nnetworks:\n  - generator: !!python/name:os.system ws\nscales:\n  demo: {}\n", "invalid YAML"),
    "python object": (b"name: x\nnetworks:\n  - !!python/object/apply:os.system [touch MARKER]\nscales:\n  demo: {}\n", "invalid YAML"),
    "alias bomb": (_alias_bomb().encode(), "too many"),
    "a list, not a mapping": (b"- name: x\n", "study"),
    "truncated": (b"name: x\nnetworks:\n  - generator: ws\n    p: [0.1, 0.", "invalid YAML"),
}


@pytest.mark.parametrize("name", list(STUDY_FILES))
def test_hostile_study_files(tmp_path, name, monkeypatch):
    pytest.importorskip("wiring_lab.study")
    monkeypatch.chdir(tmp_path)  # a payload's relative MARKER would land here
    text, message = STUDY_FILES[name]
    path = tmp_path / "study.yaml"
    path.write_bytes(text)
    line = one_line_error(["ablate", str(path), "--out", str(tmp_path / "run")], str(path), root=tmp_path)
    assert message in line.lower() or message in line
    assert not (tmp_path / "MARKER").exists() and not (tmp_path / "run").exists()


# --- foreign checkpoints and graph files (importers) ---------------------------------------------
@pytest.fixture()
def foreign(tmp_path):
    """A seungwonpark checkpoint with its three text graph files (the importers' test builder)."""
    pytest.importorskip("wiring_lab.importers")
    from tests.test_importers import _seungwonpark

    path, _ = _seungwonpark(tmp_path)
    return path


GRAPH_TEXT = {
    "cycle": ("5\n3\n0 1\n1 2\n2 0\n", "does not point from a lower to a higher id"),
    "self loop": ("5\n1\n2 2\n", "does not point from a lower to a higher id"),
    "duplicate edge": ("5\n2\n0 1\n0 1\n", "listed twice"),
    "out of range": ("5\n1\n0 9\n", "outside 0..4"),
    "negative id": ("5\n1\n-1 2\n", "outside 0..4"),
    "huge n": (f"{10**12}\n0\n", "more than the limit"),
    "zero-length": ("", "expected the node count"),
    "giant integer": ("9" * 5000 + "\n0\n", "expected the node count"),
    "edge count lies": ("5\n4\n0 1\n", "header says 4 edges"),
    "one node more than the weights": ("6\n4\n0 1\n1 2\n2 3\n3 4\n", "chkpt_003.pt"),
}


@pytest.mark.parametrize("name", list(GRAPH_TEXT))
def test_hostile_foreign_graph_text(foreign, name):
    text, message = GRAPH_TEXT[name]
    graph = foreign.parent / "ws-2-06-0.txt"
    graph.write_text(text)
    line = one_line_error(["inspect", str(foreign), "--format", "seungwonpark"], message, root=foreign.parent)
    assert str(graph) in line or str(foreign) in line


YAML_GRAPHS = {
    "deep nesting": ("[" * 20000, "nested too deeply"),
    "python object": ("!!python/object/apply:os.system ['touch MARKER']\n", "not a networkx graph dump"),
    "self loop": ("_adj: {0: {0: {}}, 1: {}}\n_node: {0: {}, 1: {}}\n", "self loop"),
    "cycle": ("_succ: {0: {1: {}}, 1: {0: {}}}\n_node: {0: {}, 1: {}}\n", "higher to a lower"),
    "node ids not 0..n-1": ("_adj: {0: {5: {}}, 5: {0: {}}}\n_node: {0: {}, 5: {}}\n", "integers 0..n-1"),
    "zero-length": ("", "not a networkx graph dump"),
}


@pytest.mark.parametrize("name", list(YAML_GRAPHS))
def test_hostile_networkx_yaml_graphs(tmp_path, name, monkeypatch):
    pytest.importorskip("wiring_lab.importers")
    monkeypatch.chdir(tmp_path)
    text, message = YAML_GRAPHS[name]
    path = tmp_path / "g.yaml"
    path.write_text(text)
    one_line_error(["metrics", str(path), "--backend", "networkx"], str(path), message, root=tmp_path)
    assert not (tmp_path / "MARKER").exists()


def test_hostile_foreign_checkpoints(foreign, tmp_path):
    marker = tmp_path / "MARKER"
    obj = torch.load(foreign, weights_only=True)
    cases = {
        "evil.pt": ({**obj, "x": _Evil(marker)}, "refused"),
        "nan.pt": ({**obj, "model": {**obj["model"], "fc.weight": torch.full_like(obj["model"]["fc.weight"], float("nan"))}}, "NaN or inf"),
        "shape.pt": ({**obj, "model": {**obj["model"], "fc.weight": torch.zeros(3, 3)}}, "has shape (3, 3)"),
        "deep.pt": ({**obj, "hp_str": "[" * 20000}, "nested too deeply"),
        "hp.pt": ({**obj, "hp_str": 5}, "'hp_str' is not text"),
    }
    for name, (content, message) in cases.items():
        path = _save(content, tmp_path / name)
        for fmt in ("auto", "seungwonpark"):
            one_line_error(["inspect", str(path), "--format", fmt], str(path), message)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(foreign.read_bytes()[:3000])
    one_line_error(["inspect", str(cut), "--format", "auto"], str(cut), "truncated")
    out = tmp_path / "converted.pt"
    one_line_error(["convert", str(tmp_path / "evil.pt"), "--out", str(out)], "refused")
    assert not out.exists() and not marker.exists()


# --- result tables given to correlate ------------------------------------------------------------
@pytest.fixture(scope="module")
def damage_run(tiny_ckpt_path, tmp_path_factory):
    """A run directory with the tiny checkpoint and a real damage table."""
    pytest.importorskip("wiring_lab.correlation")
    import shutil

    run = tmp_path_factory.mktemp("run")
    (run / "checkpoints").mkdir()
    shutil.copy(tiny_ckpt_path, run / "checkpoints" / "tiny_ws.pt")
    res = RUNNER.invoke(app, ["damage", str(run / "checkpoints" / "tiny_ws.pt"), "--out", str(run / "tables" / "damage.csv"),
                              "--limit", "40", "--bootstrap", "20", "--device", "cpu", "--no-progress"])  # fmt: skip
    assert res.exit_code == 0, res.output
    return run


def _edit(col, value):
    def apply(df):
        df[col] = value
        return df

    return apply


TABLES = {
    "zero-length": (None, b"", "not a readable table"),
    "binary noise": (None, bytes(range(256)) * 8, "not a readable table"),
    "header only": (lambda df: df.iloc[:0], None, "has no rows"),
    "no target column": (lambda df: df.drop(columns=["delta_top1"]), None, "no target column 'delta_top1'"),
    "no model column": (lambda df: df.drop(columns=["model"]), None, "missing column 'model'"),
    "no stage column": (lambda df: df.drop(columns=["stage"]), None, "missing column 'stage'"),
    "text target": (_edit("delta_top1", "lots"), None, "must be numeric"),
    "no finite target": (_edit("delta_top1", float("inf")), None, "no finite value"),
    "unknown kind": (_edit("kind", "zap"), None, "column 'kind' holds 'zap'"),
    "text stage": (_edit("stage", "first"), None, "column 'stage' must hold node / stage ids"),
    "stage out of range": (_edit("stage", 7), None, "has 3 stages, no stage 7"),
    "node out of range": (lambda df: df.assign(node=df["node"].where(df["node"].isna(), 99)), None, "node 99 is not in stage"),
    "unknown model": (_edit("model", "ghost"), None, "no checkpoint found for model 'ghost'"),
}


@pytest.mark.parametrize("name", list(TABLES))
def test_hostile_tables_for_correlate(damage_run, tmp_path, name):
    import shutil

    import pandas as pd

    edit, raw, message = TABLES[name]
    run = tmp_path / "run"
    shutil.copytree(damage_run, run)
    bad = run / "tables" / "bad.csv"
    if raw is not None:
        bad.write_bytes(raw)
    else:
        edit(pd.read_csv(run / "tables" / "damage.csv")).to_csv(bad, index=False)
    out = run / "tables" / "correlations.csv"
    one_line_error(["correlate", str(bad), "--n-boot", "20", "--out", str(out)], str(bad), message, root=run)


# --- result tables given to figures ---------------------------------------------------------------
FIGURE_TABLES = {
    "zero-length": ("damage", "damage.csv", None, b"", "not a readable table"),
    "header only": ("damage", "damage.csv", lambda df: df.iloc[:0], None, "has no rows"),
    "missing column": ("damage", "damage.csv", lambda df: df.drop(columns=["delta_top1"]), None, "lacks column(s) delta_top1"),
    "text where numbers belong": ("damage", "damage.csv", _edit("delta_top1", "big"), None, "'big' is not a number"),
    "unknown kinds only": ("damage", "damage.csv", _edit("kind", "zap"), None, "unknown kind 'zap'"),
    "attack table of another shape": ("attack", "attack.csv", lambda df: df[["model"]], None, "lacks column(s)"),
    "binary models table": ("generator_sweep", "models.csv", None, bytes(range(256)) * 4, "not a readable table"),
}


@pytest.mark.parametrize("name", list(FIGURE_TABLES))
def test_hostile_tables_for_figures(damage_run, tmp_path, name):
    import shutil

    import pandas as pd

    pytest.importorskip("wiring_lab.figures")
    figure, table, edit, raw, message = FIGURE_TABLES[name]
    run = tmp_path / "run"
    shutil.copytree(damage_run, run)
    path = run / "tables" / table
    if raw is not None:
        path.write_bytes(raw)
    else:
        edit(pd.read_csv(run / "tables" / "damage.csv")).to_csv(path, index=False)
    one_line_error(["figures", figure, "--from", str(run)], str(path), message, root=run)
    assert not (run / "figures").exists()


# --- search study files and run folders ------------------------------------------------------------
SEARCH_STUDIES = {
    # read by study.py like every study file: the messages name the line
    "zero-length": (b"", ":1: the file is empty"),
    "not UTF-8": (b"\xff\xfe\x00scales: {}\n", "cannot read study file"),
    "deep nesting": (b"[" * 20000, "invalid YAML (nested too deeply)"),
    "python tag": (b"scales: !!python/object/apply:os.system ['touch MARKER']\n", ":1: invalid YAML (tag"),
    "scale not a mapping": (b"scales:\n  demo: [1, 2]\n", ":2: scales.demo must be a mapping"),
    "runs of numbers": (b"scales:\n  demo:\n    common: {}\n    runs: [1, 2]\n", ":4: scales.demo.runs[0] must be a mapping"),
    "unknown key": (b"scales:\n  demo:\n    common: {}\n    runs: [{budjet: 3}]\n", "unknown key 'budjet'"),
}


@pytest.mark.parametrize("name", list(SEARCH_STUDIES))
def test_hostile_search_study_files(tmp_path, name, monkeypatch):
    pytest.importorskip("wiring_lab.search")
    monkeypatch.chdir(tmp_path)
    text, message = SEARCH_STUDIES[name]
    path = tmp_path / "search.yaml"
    path.write_bytes(text)
    one_line_error(["search", "--study", str(path), "--out", str(tmp_path / "run")], str(path), message, root=tmp_path)
    assert not (tmp_path / "MARKER").exists() and not (tmp_path / "run").exists()


@pytest.mark.parametrize("content", ["", "[" * 100_000, "[1, 2]"])
def test_search_folder_with_a_hostile_child_result(tmp_path, content):
    search = pytest.importorskip("wiring_lab.search.runner")
    bad = tmp_path / "search" / "x" / "results" / "child.json"
    bad.parent.mkdir(parents=True)
    bad.write_text(content)
    with pytest.raises(ValueError, match="unreadable child result") as err:
        search.collect_results(tmp_path)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)
