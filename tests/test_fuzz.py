"""Fuzzing: hypothesis builds hostile checkpoints, graph files, study files and tables; every reading
command runs on them in a forked child under an address-space cap.

Each command must either accept the file (a mutation that left it valid: exit 0) or refuse it
with exit 2 and one ``error:`` line naming the file, no traceback, nothing written. The child is
forked from this (already imported) process, so a case costs milliseconds, and the cap
(``RLIMIT_AS``: the child's current size plus ``FUZZ_HEADROOM``) turns a runaway allocation into
a failure of that case instead of a machine out of memory. CI runs a fixed, derandomised set of
examples in under two minutes; ``WIRING_LAB_FUZZ_EXAMPLES=500`` runs more.
"""

from __future__ import annotations

import copy
import io
import json
import os
import resource
import select
import shutil
import signal
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from wiring_lab.cli import app

EXAMPLES = int(os.environ.get("WIRING_LAB_FUZZ_EXAMPLES", "6"))
FUZZ_HEADROOM = 3 << 30  # bytes of address space a child may add to what it inherited
TIMEOUT = 120.0  # seconds per command: generous, a hang is a failure all the same
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # a fixed sequence of examples: CI is reproducible
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
TRIED = {"cases": 0, "accepted": 0, "refused": 0}


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def run_forked(args: list[str]) -> tuple[int, str]:
    """Run the CLI in a forked child under an address-space cap; (exit code, output). A hang is killed."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code, out = 3, ""
        try:
            os.close(r)
            cap = _vm_size() + FUZZ_HEADROOM
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
            result = CliRunner().invoke(app, args)
            code, out = result.exit_code, result.output
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                import traceback

                out += "".join(traceback.format_exception(result.exception))
        except BaseException as e:  # noqa: BLE001 -- reported to the parent as a failure
            code, out = 4, f"child crashed: {e!r}"
        finally:
            try:
                os.write(w, json.dumps({"code": code, "out": out[-20000:]}).encode())
            finally:
                os._exit(0)
    os.close(w)
    chunks, deadline = [], time.monotonic() + TIMEOUT
    while True:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([r], [], [], max(0.0, left))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
            return -1, f"timed out after {TIMEOUT:.0f} s"
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    try:
        msg = json.loads(b"".join(chunks))
    except ValueError:
        return -2, "the child died without a report (killed by the address-space cap?)"
    return msg["code"], msg["out"]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def check_command(args: list[str], bad: Path, root: Path) -> None:
    """Exit 0 (still valid), or exit 2 with one line naming ``bad``, no traceback, nothing written."""
    before = _tree(root)
    code, out = run_forked(args)
    TRIED["cases"] += 1
    assert "Traceback" not in out, (args, out[-3000:])
    if code == 0:
        TRIED["accepted"] += 1
        return
    TRIED["refused"] += 1
    lines = out.strip().splitlines()
    assert code == 2, (args, code, out[-3000:])
    # exactly one line: the error, no warning or progress line beside it
    assert len(lines) == 1 and lines[0].startswith("error: "), (args, out[-3000:])
    assert str(bad) in lines[0] or bad.name in lines[0], (args, lines[0])
    assert len(lines[0]) <= 420, lines[0]
    assert _tree(root) == before, (args, "a refused input left files behind")


@pytest.fixture(scope="module")
def base(tiny_ckpt_path) -> dict:
    return torch.load(tiny_ckpt_path, weights_only=True)


@pytest.fixture()
def workdir():
    d = Path(tempfile.mkdtemp(prefix="fuzz-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


# --- strategies -----------------------------------------------------------------------------------
def _laughs(levels: int):
    x: object = [1]
    for _ in range(levels):
        x = (x, x)
    return x


def _odd_tensor(kind: str, n: int) -> torch.Tensor:
    return {
        "expanded": lambda: torch.zeros(1).expand(n, 64),
        "float64 big": lambda: torch.full((3,), 1e300, dtype=torch.float64),
        "sparse": lambda: torch.zeros(4).to_sparse(),
        "meta": lambda: torch.zeros(4, device="meta"),
        "int": lambda: torch.arange(4),
        "nan": lambda: torch.full((4,), float("nan")),
        "empty": lambda: torch.zeros(0),
        "complex": lambda: torch.zeros(2, dtype=torch.complex64),
        "bool": lambda: torch.ones(3, dtype=torch.bool),
        "transposed": lambda: torch.zeros(3, 5).t(),
    }[kind]()


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([10**400, -(10**400), 2**62, 10**9, 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.binary(max_size=10),
    st.complex_numbers(allow_nan=True),
)
hostile_values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=5), st.integers(-3, 3)), scalars, max_size=3),
    st.builds(_laughs, st.integers(1, 60)),
    st.builds(
        _odd_tensor,
        st.sampled_from(["expanded", "float64 big", "sparse", "meta", "int", "nan", "empty", "complex", "bool", "transposed"]),
        st.sampled_from([10, 3_000_000]),
    ),
)


def _paths(obj, prefix=()):
    """Every key path into nested dicts/lists of a checkpoint (tensors are leaves)."""
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list) and len(obj) < 50:
        for i, v in enumerate(obj):
            out += _paths(v, prefix + (i,))
    return out


def _mutate(obj, path, value, action):
    d = obj
    for k in path[:-1]:
        d = d[k]
    if action == "delete" and isinstance(d, dict):
        del d[path[-1]]
    elif action == "add key" and isinstance(d, dict):
        d[value if isinstance(value, (str, int)) and not isinstance(value, bool) else "extra"] = value
    else:
        d[path[-1]] = value


# --- checkpoints ------------------------------------------------------------------------------------
CHECKPOINT_COMMANDS = [["inspect", "--json"], ["inspect"], ["metrics"], ["export-graphs", "--out", "{w}/graphs"]]


@FUZZ
@given(data=st.data())
def test_fuzz_checkpoint_contents(base, workdir, data):
    workdir = Path(tempfile.mkdtemp(dir=workdir))  # one folder per example
    obj = copy.deepcopy(base)
    paths = _paths(obj)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        path = data.draw(st.sampled_from(paths), label="path")
        try:
            _mutate(obj, path, data.draw(hostile_values, label="value"), data.draw(st.sampled_from(["set", "delete", "add key"]), label="action"))
        except (KeyError, IndexError, TypeError):
            pass  # the path went away under an earlier mutation
        paths = _paths(obj)
    bad = workdir / "ckpt.pt"
    torch.save(obj, bad)
    command = data.draw(st.sampled_from(CHECKPOINT_COMMANDS), label="command")
    check_command([a.replace("{w}", str(workdir)) for a in command] + [str(bad)], bad, workdir)


@FUZZ
@given(data=st.data())
def test_fuzz_checkpoint_bytes_and_zip_records(tiny_ckpt_path, workdir, data):
    workdir = Path(tempfile.mkdtemp(dir=workdir))  # one folder per example
    raw = bytearray(tiny_ckpt_path.read_bytes())
    how = data.draw(st.sampled_from(["flip bytes", "truncate", "deflate a record", "bad extra field", "swap record"]), label="how")
    bad = workdir / "ckpt.pt"
    if how == "flip bytes":
        for _ in range(data.draw(st.integers(1, 16))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        bad.write_bytes(bytes(raw))
    elif how == "truncate":
        bad.write_bytes(bytes(raw[: data.draw(st.integers(1, len(raw) - 1))]))
    else:
        with zipfile.ZipFile(io.BytesIO(bytes(raw))) as zin, zipfile.ZipFile(bad, "w") as zout:
            infos = zin.infolist()
            target = data.draw(st.integers(0, len(infos) - 1), label="record")
            for i, info in enumerate(infos):
                new = zipfile.ZipInfo(info.filename)
                body = zin.read(info.filename)
                if i == target and how == "deflate a record":
                    new.compress_type = zipfile.ZIP_DEFLATED
                elif i == target and how == "bad extra field":
                    new.extra = data.draw(st.binary(min_size=1, max_size=8), label="extra")
                elif i == target and how == "swap record":
                    body = zin.read(infos[(i + 1) % len(infos)].filename)
                zout.writestr(new, body)
    command = data.draw(st.sampled_from(CHECKPOINT_COMMANDS[:3]), label="command")
    check_command(command + [str(bad)], bad, workdir)


# --- graph files --------------------------------------------------------------------------------------
graph_dicts = st.fixed_dictionaries(
    {},
    optional={
        "format": st.sampled_from(["wiring-lab-graph", "gml", 3]),
        "generator": st.one_of(st.text(max_size=5), scalars),
        "params": st.one_of(st.dictionaries(st.text(max_size=3), scalars, max_size=3), scalars),
        "seed": scalars,
        "n": st.one_of(st.integers(-5, 200_000), scalars),
        "edges": st.one_of(st.lists(st.lists(st.integers(-2, 12), max_size=3), max_size=20), scalars),
    },
)


def _json_text(d, dup: bool) -> str:
    text = json.dumps(d, default=repr, allow_nan=True)
    return text[:-1] + ', "n": 5}' if dup and text.endswith("}") and len(text) > 2 else text


@FUZZ
@given(d=graph_dicts, dup=st.booleans(), kind=st.sampled_from(["json", "yaml", "txt", "deep"]), junk=st.binary(max_size=40))
def test_fuzz_graph_files(workdir, d, dup, kind, junk):
    workdir = Path(tempfile.mkdtemp(dir=workdir))  # one folder per example
    if kind == "json":
        bad = workdir / "g.json"
        bad.write_text(_json_text(d, dup))
    elif kind == "yaml":
        bad = workdir / "g.yaml"
        bad.write_bytes(("\n".join(f"{k}: {json.dumps(v, default=repr)}" for k, v in d.items()) + ("\nn: 3" if dup else "")).encode() + junk)
    elif kind == "txt":
        bad = workdir / "g.txt"
        edges = d.get("edges")
        bad.write_bytes(f"{d.get('n', 4)}\n{len(edges) if isinstance(edges, list) else 1}\n".encode() + junk)
    else:
        bad = workdir / "g.json"
        bad.write_text("[" * 5000 + "]" * 5000 if dup else '{"n": ' + "9" * 5000 + ', "edges": []}')
    check_command(["metrics", str(bad), "--out", str(workdir / "m.csv")], bad, workdir)


# --- study files ---------------------------------------------------------------------------------------
study_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_leaves=8)
STUDY_KEYS = ["name", "networks", "scales", "figures", "damage", "attack", "metrics", "description"]
SCALE_KEYS = ["dataset", "channels", "nodes", "head_channels", "epochs", "seeds", "lr", "weight_decay", "networks", "regime"]


@FUZZ
@given(
    top=st.dictionaries(st.sampled_from(STUDY_KEYS), study_values, max_size=4),
    scale=st.dictionaries(st.sampled_from(SCALE_KEYS), study_values, max_size=5),
    command=st.sampled_from(["ablate", "search"]),
)
def test_fuzz_study_files(workdir, top, scale, command):
    workdir = Path(tempfile.mkdtemp(dir=workdir))  # one folder per example
    import yaml

    doc = dict(top)
    doc["scales"] = {"demo": {"dataset": "digits", "epochs": 1, **scale}}
    bad = workdir / "study.yaml"
    bad.write_text(yaml.safe_dump(json.loads(json.dumps(doc, default=repr)), allow_unicode=True))
    args = ["ablate", str(bad), "--dry-run"] if command == "ablate" else ["search", "--study", str(bad), "--no-figures"]
    check_command(args + ["--out", str(workdir / "run")], bad, workdir)


# --- tables ----------------------------------------------------------------------------------------------
TABLE_COLUMNS = ["model", "kind", "stage", "node", "delta_top1", "top1", "generator", "in_degree", "out_degree_io", "seed"]


@FUZZ
@given(
    columns=st.lists(st.sampled_from(TABLE_COLUMNS), min_size=1, max_size=8, unique=True),
    rows=st.lists(st.lists(scalars, min_size=8, max_size=8), max_size=6),
    command=st.sampled_from(["correlate", "figures"]),
)
def test_fuzz_tables(workdir, columns, rows, command):
    workdir = Path(tempfile.mkdtemp(dir=workdir))  # one folder per example
    import csv

    run = workdir / "run"
    (run / "tables").mkdir(parents=True)
    bad = run / "tables" / "damage.csv"
    with open(bad, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in rows:
            w.writerow([repr(v) if isinstance(v, (bytes, complex)) else v for v in r[: len(columns)]])
    args = ["correlate", str(bad)] if command == "correlate" else ["figures", "damage", "--from", str(run)]
    check_command(args, bad, workdir)


# --- convert: foreign checkpoints of the four convertible formats ------------------------------------------
FIX = Path(__file__).parent / "fixtures" / "foreign"
FOREIGN = {
    "seungwonpark": ("seungwonpark", "chkpt/tiny/chkpt_000.pt"),
    "jiaminren": ("jiaminren/small", "checkpoint/tiny/model-best.pth"),
    "hebo1221": ("hebo1221/nx19-small", "output/model/CIFAR10_000_00.cpt"),
    "leaderj1001": ("leaderj1001/CIFAR10", "checkpoint/c_4_p_0.75_graph_mode_WS_dataset_CIFAR10ckpt.t7"),
}


@FUZZ
@given(data=st.data(), fmt=st.sampled_from(list(FOREIGN)))
def test_fuzz_convert(workdir, data, fmt):
    workdir = Path(tempfile.mkdtemp(dir=workdir))  # one folder per example
    case, rel = FOREIGN[fmt]
    shutil.copytree(FIX / case, workdir / "src")
    bad = workdir / "src" / rel
    obj = torch.load(bad, weights_only=True)
    paths = [p for p in _paths(obj) if len(p) <= 3]
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        path = data.draw(st.sampled_from(paths), label="path")
        try:
            _mutate(obj, path, data.draw(hostile_values, label="value"), data.draw(st.sampled_from(["set", "delete", "add key"]), label="action"))
        except (KeyError, IndexError, TypeError):
            pass
        paths = [p for p in _paths(obj) if len(p) <= 3]
    torch.save(obj, bad)
    out = workdir / "native.pt"
    before = _tree(workdir)
    check_command(["convert", str(bad), "--out", str(out)], bad, workdir)
    if _tree(workdir) != before:  # accepted: the file written is a whole native checkpoint
        assert out.is_file() and torch.load(out, weights_only=True)["format"] == "wiring-lab-checkpoint"


# --- figure tables: every table a figure reads, with its schema's columns and repeated names -----------------
FIGURE_TABLES = {
    "damage": (["model", "kind", "stage", "node", "delta_top1", "top1", "out_degree_graph", "ablation", "seed"], "damage"),
    "history": (["model", "epoch", "train_loss", "val_loss", "val_top1", "train_top1"], "learning_curves"),
    "models": (["model", "generator", "setting", "seed", "top1", "macs", "params", "node_op"], "generator_sweep"),
    "attack": (["model", "order", "fraction", "top1", "repeat", "seed"], "attack"),
}
cells = st.one_of(scalars, st.sampled_from(["1", "2.5", "inf", "-inf", "nan", "1e12", "ws", "node", "intact", "drop", "m0"]),
                  st.integers(-3, 40), st.floats(-200, 200))


@FUZZ
@given(data=st.data(), table=st.sampled_from(list(FIGURE_TABLES)))
def test_fuzz_figure_tables(workdir, data, table):
    workdir = Path(tempfile.mkdtemp(dir=workdir))  # one folder per example
    import csv

    names, figure = FIGURE_TABLES[table]
    columns = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names) + 1), label="columns")  # repeats allowed
    rows = data.draw(st.lists(st.lists(cells, min_size=len(columns), max_size=len(columns)), min_size=1, max_size=8), label="rows")
    run = workdir / "run"
    (run / "tables").mkdir(parents=True)
    bad = run / "tables" / f"{table}.csv"
    with open(bad, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in rows:
            w.writerow([repr(v) if isinstance(v, (bytes, complex)) else v for v in r])
    check_command(["figures", figure, "--from", str(run)], bad, workdir)


# --- study files: the analyses' settings, with the keys they take -------------------------------------------
ANALYSIS_KEYS = {
    "damage": ["remove", "sample", "stages", "seed", "limit", "batch_size", "bootstrap", "chunk", "variant_batch", "mean_images", "ablation"],
    "attack": ["repeats", "orders", "fractions", "seed", "limit", "batch_size", "mean_images"],
    "correlate": ["n_boot", "folds", "seed", "backend", "cluster"],
    "metrics": ["backend", "nodes"],
    "population": ["generator", "nodes", "samples", "seed", "backend"],
}
setting_values = st.one_of(scalars, st.sampled_from(["1e9", "1e12", 10**9, 10**12, 2**40, [99], [0, 1], "bogus", "node", -1, 0]))


@FUZZ
@given(data=st.data(), key=st.sampled_from(list(ANALYSIS_KEYS)))
def test_fuzz_study_analyses(workdir, data, key):
    workdir = Path(tempfile.mkdtemp(dir=workdir))  # one folder per example
    import yaml

    settings = data.draw(st.dictionaries(st.sampled_from(ANALYSIS_KEYS[key]), setting_values, min_size=1, max_size=3), label="settings")
    scale = data.draw(st.dictionaries(st.sampled_from(["channels", "nodes", "threads", "workers", "num_classes", "batch_size"]),
                                      st.sampled_from([1, 8, 10**6, 10**9, 2**40, "1e9", 0]), max_size=2), label="scale")
    doc = {"name": "s", "networks": [{"generator": "ws", "k": 4, "p": 0.75}], key: settings,
           "scales": {"demo": {"dataset": "digits", "epochs": 1, "channels": 8, "nodes": 8, **scale}}}
    if key == "correlate":
        doc["damage"] = {"remove": "node"}
    bad = workdir / "study.yaml"
    bad.write_text(yaml.safe_dump(json.loads(json.dumps(doc, default=repr)), allow_unicode=True))
    check_command(["ablate", str(bad), "--dry-run", "--out", str(workdir / "run")], bad, workdir)


# --- resume: the epoch counters and history of a checkpoint a training continues --------------------------------
RESUME_ARGS = ["train", "-c", "4", "-n", "6", "--head-channels", "16", "--epochs", "2", "--resume"]


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("resume") / "c.pt"
    result = CliRunner().invoke(app, RESUME_ARGS + ["--out", str(out)])
    assert result.exit_code == 0, result.output
    return torch.load(out, weights_only=True)


counters = st.one_of(st.integers(-2, 5), st.sampled_from([None, True, 2.0, "2", 10**12]))


@FUZZ
@given(data=st.data())
def test_fuzz_resume(two_epochs, workdir, data):
    workdir = Path(tempfile.mkdtemp(dir=workdir))  # one folder per example
    obj = copy.deepcopy(two_epochs)
    meta = obj["metadata"]
    how = data.draw(st.sampled_from(["history length", "epoch numbers", "epochs_done", "train_state epoch", "all"]), label="how")
    if how in ("history length", "all"):
        meta["history"] = (meta["history"] * 60)[: data.draw(st.integers(0, 120), label="records")]
    if how in ("epoch numbers", "all") and meta["history"]:
        i = data.draw(st.integers(0, len(meta["history"]) - 1), label="record")
        meta["history"][i] = dict(meta["history"][i], epoch=data.draw(counters, label="epoch"))
    if how in ("epochs_done", "all"):
        meta["epochs_done"] = data.draw(counters, label="epochs_done")
    if how in ("train_state epoch", "all"):
        obj["train_state"]["epoch"] = data.draw(counters, label="train_state epoch")
    bad = workdir / "c.pt"
    torch.save(obj, bad)
    check_command(RESUME_ARGS + ["--out", str(bad)], bad, workdir)
