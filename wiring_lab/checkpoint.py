"""Self-describing checkpoints: one file rebuilds, evaluates and resumes a network.

A checkpoint is a dict of plain containers and tensors only, so it loads with
``torch.load(weights_only=True)``: a file that asks to build any other object is refused, never
run. Keys: ``format``, ``version``, ``model_config`` (``ModelConfig`` fields), ``graphs`` (one
``GraphSpec.to_dict()`` per stage), ``state_dict``, ``metadata`` (dataset, epochs, per-epoch
history, final accuracy, library versions, training config) and, while training,
``train_state`` (optimizer state and epoch) for ``--resume``. Writes are atomic.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch

from wiring_lab._io import UserError, atomic_path, library_versions
from wiring_lab._limits import check_memory, check_values
from wiring_lab._validate import (
    check_metadata_values,
    check_model_config_dict,
    check_tensors,
    model_bytes,
    tensors_in,
    unique_object,
)
from wiring_lab.graphs import GraphSpec, load_graph
from wiring_lab.model import ModelConfig, RandWire, build_model

FORMAT = "wiring-lab-checkpoint"
FORMAT_VERSION = 2
# 1: importer-only layout fields stored flat in model_config; 2: nested under model_config["layout"]
READABLE_VERSIONS = (1, 2)


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode), its stage graphs and metadata."""

    model: RandWire
    graphs: list[GraphSpec]
    config: ModelConfig
    metadata: dict[str, Any] = field(default_factory=dict)
    train_state: dict[str, Any] | None = None
    path: Path | None = None


def checkpoint_dict(model: RandWire, metadata: dict[str, Any], train_state: dict[str, Any] | None = None) -> dict[str, Any]:
    """The plain-container form of a checkpoint."""
    meta = dict(metadata)
    meta.setdefault("versions", library_versions())
    out = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "model_config": model.config.to_dict(),
        "graphs": [g.to_dict() for g in model.graphs],
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metadata": meta,
    }
    if train_state is not None:
        out["train_state"] = train_state
    return out


def save_checkpoint(path: str | Path, model: RandWire, metadata: dict[str, Any], train_state: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically (temporary file, then rename)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        write_torch(checkpoint_dict(model, metadata, train_state), tmp, path)
    return path


def write_torch(obj: Any, tmp: Path, path: Path) -> None:
    """``torch.save`` through a Python file, so a full disk is one line naming ``path`` (not torch's C++ error)."""
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
    except RuntimeError as e:  # torch's zip writer wraps the OSError of the failed write
        cause = e.__context__ if isinstance(e.__context__, OSError) else None
        why = (cause.strerror or str(cause)) if cause is not None else str(e).splitlines()[0][:120]
        raise UserError(f"{path}: cannot write the file: {why}") from None


def check_parts(path: Path, shapes: RandWire, state: Any, metadata: Any) -> dict[str, Any]:
    """What :func:`load_native` checks of a checkpoint's weights and metadata (for importers, before writing)."""
    meta = _check_metadata(path, metadata)
    _check_state(path, shapes, state)
    return meta


def _refusal(path: Path, err: BaseException) -> UserError:
    """One line saying why ``torch.load(weights_only=True)`` refused or failed on ``path``."""
    text = str(err)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if "nsupported" in text or isinstance(err, pickle.UnpicklingError):
        why = next((ln for ln in lines if "nsupported" in ln and "Weights only" not in ln), None)
        why = why or (lines[0] if lines else err.__class__.__name__)
        return UserError(
            f"{path}: refused: the file asks to build Python objects ({why.rstrip('.')[:160]}); "
            "checkpoints are loaded with weights_only=True and nothing in them is run"
        )
    truncated = (
        isinstance(err, (EOFError, zipfile.BadZipFile))
        or "failed finding central directory" in text
        or "truncated" in text.lower()
        or "Invalid argument" in text  # torch's zip reader on a file cut short
    )
    if truncated:
        return UserError(f"{path}: truncated or corrupt checkpoint file")
    if "size" in text and ("does not match" in text or "wrong byte size" in text or "not resizable" in text):
        return UserError(f"{path}: corrupt checkpoint: a tensor's declared size does not match its stored data")
    if isinstance(err, (IndexError, KeyError, ValueError, OverflowError)) or "pickle" in text.lower():
        return UserError(f"{path}: not a PyTorch checkpoint (neither a torch zip archive nor a tensor pickle)")
    first = lines[0] if lines else err.__class__.__name__
    return UserError(f"{path}: not a loadable checkpoint ({first[:200]})")


# A torch zip archive stores its records uncompressed; a compressed record may declare any
# size, so a small file could make torch.load allocate gigabytes (a zip bomb).
MAX_INFLATION = 4


def _check_zip_sizes(path: Path) -> None:
    """Refuse a zip archive whose records declare far more bytes than the file holds."""
    try:
        with zipfile.ZipFile(path) as zf:
            declared = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
        # fail closed: torch's own reader skips what zipfile refuses (e.g. a malformed extra
        # field), so an archive this check cannot read is never handed to torch.load
        raise UserError(f"{path}: truncated or corrupt checkpoint file (its zip directory cannot be read: {str(e)[:80]})") from None
    on_disk = path.stat().st_size
    if declared > MAX_INFLATION * on_disk + (1 << 20):
        raise UserError(
            f"{path}: refused: its records declare {declared:,} bytes in a {on_disk:,}-byte file "
            "(compressed records; torch never writes them, and loading would allocate the declared size)"
        )


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` with every failure turned into a one-line error."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such checkpoint file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a checkpoint file")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: empty file, not a checkpoint")
    if zipfile.is_zipfile(path):
        _check_zip_sizes(path)
    else:
        with open(path, "rb") as f:
            head = f.read(4)
        if head == b"PK\x03\x04":
            raise UserError(f"{path}: truncated or corrupt checkpoint file (a zip archive without its directory)")
        if head[:1] != b"\x80":  # torch's legacy (non-zip) format starts with a protocol-2 pickle
            raise UserError(f"{path}: not a PyTorch checkpoint (neither a torch zip archive nor a tensor pickle)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for bad files; all are user errors here
        raise _refusal(path, e) from None
    _check_untrusted(path, obj)
    return obj


def load_graphs(path: str | Path) -> list[GraphSpec]:
    """Stage graphs from a JSON file (one graph or a list) or a directory of ``*.json`` files."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise UserError(f"{path}: no *.json graph files in this directory")
        return [load_graph(f) for f in files]
    if not path.is_file():
        raise UserError(f"{path}: no such graph file or directory")
    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=unique_object)  # duplicate keys refused
    except (ValueError, RecursionError) as e:  # bad JSON, bad UTF-8, absurd nesting or numbers
        raise UserError(f"{path}: not valid JSON ({str(e).splitlines()[0][:120] if str(e) else e.__class__.__name__})") from None
    items = data.get("graphs") if isinstance(data, dict) and "graphs" in data else data
    items = items if isinstance(items, list) else [items]
    try:
        return [GraphSpec.from_dict(d) for d in items]
    except ValueError as e:
        raise UserError(f"{path}: {e}") from None


def _stage_node_counts(state: dict[str, Any]) -> dict[int, int]:
    """Number of node modules of each stage named in a state_dict (``stages.<i>.nodes.<v>.``)."""
    nodes: dict[int, set[int]] = {}
    for key in state:
        parts = str(key).split(".")
        if len(parts) > 3 and parts[0] == "stages" and parts[2] == "nodes" and parts[1].isdigit() and parts[3].isdigit():
            nodes.setdefault(int(parts[1]), set()).add(int(parts[3]))
    return {i: len(vs) for i, vs in nodes.items()}


def _check_state(path: Path, model: RandWire, state: Any) -> None:
    """``state`` must hold exactly ``model``'s tensors, with their shapes and finite values."""
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise UserError(f"{path}: 'state_dict' must map parameter names to tensors")
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        if shapes:
            k = shapes[0]
            parts.append(f"{len(shapes)} of another shape (e.g. {k}: {tuple(state[k].shape)} vs {tuple(expected[k].shape)})")
        raise UserError(f"{path}: state_dict does not match its graphs: {'; '.join(parts)}")
    kinds = [k for k in expected if state[k].is_floating_point() != expected[k].is_floating_point() or state[k].is_complex()]
    if kinds:
        k = kinds[0]
        raise UserError(f"{path}: tensor {k} has dtype {state[k].dtype}, expected {expected[k].dtype}")
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise UserError(f"{path}: tensor {bad[0]} holds NaN or inf values ({len(bad)} tensor(s) affected)")
    negative = [k for k, v in state.items() if k.endswith("running_var") and bool((v < 0).any())]
    if negative:
        raise UserError(f"{path}: tensor {negative[0]} holds negative batch-norm variances")


def _check_graph_sizes(path: Path, specs: Sequence[GraphSpec], state: Any) -> None:
    """Each stage graph's node count must match the state_dict, checked before anything is built."""
    if not isinstance(state, dict):
        raise UserError(f"{path}: 'state_dict' must map parameter names to tensors")
    counts = _stage_node_counts(state)
    for i, spec in enumerate(specs):
        if counts.get(i, 0) != spec.n:
            raise UserError(
                f"{path}: state_dict does not match its graphs: stage {i} has {spec.n} nodes in its graph "
                f"but {counts.get(i, 0)} in the state_dict"
            )


_NUMBER = (int, float)


def _is_number(x: Any) -> bool:
    """A real number (bool excluded)."""
    return isinstance(x, _NUMBER) and not isinstance(x, bool)


def _check_metadata(path: Path, meta: Any) -> dict[str, Any]:
    """The metadata keys wiring-lab reads must have the types it reads them as."""
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise UserError(f"{path}: 'metadata' must be a dict (got {type(meta).__name__})")
    history = meta.get("history", [])
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        raise UserError(f"{path}: metadata 'history' must be a list of per-epoch records")
    for h in history:
        bad = [k for k, v in h.items() if k != "epoch" and v is not None and not _is_number(v)]
        if bad or not isinstance(h.get("epoch", 0), int):
            raise UserError(f"{path}: metadata 'history' holds a non-numeric value ({bad[0] if bad else 'epoch'})")
    for key in ("final", "info", "train_config", "versions"):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            raise UserError(f"{path}: metadata {key!r} must be a dict (got {type(meta[key]).__name__})")
    final = meta.get("final") or {}
    bad = [k for k, v in final.items() if v is not None and not _is_number(v)]
    if bad:
        raise UserError(f"{path}: metadata 'final' holds a non-numeric {bad[0]!r}")
    for key in ("epochs", "epochs_done"):
        if meta.get(key) is not None and (not isinstance(meta[key], int) or isinstance(meta[key], bool)):
            raise UserError(f"{path}: metadata {key!r} must be an integer (got {meta[key]!r:.40})")
    if meta.get("dataset") is not None and not isinstance(meta["dataset"], str):
        raise UserError(f"{path}: metadata 'dataset' must be a string")
    check_metadata_values(path, meta)
    return meta


def _check_train_state(path: Path, train_state: Any) -> dict[str, Any] | None:
    """``train_state`` is absent or ``{"optimizer": dict, "epoch": int}``."""
    if train_state is None:
        return None
    if not isinstance(train_state, dict) or not isinstance(train_state.get("optimizer"), dict):
        raise UserError(f"{path}: 'train_state' must be a dict holding the optimizer state")
    return train_state


def _check_untrusted(path: Path, obj: Any) -> None:
    """Bounded size, plain dense tensors and overflow-free model sizes, before anything reads further."""
    check_values(obj, "the checkpoint", path)
    check_tensors(path, tensors_in(obj), "the checkpoint's")
    if isinstance(obj, dict):
        check_model_config_dict(path, obj.get("model_config"))


def _native_dict(path: Path) -> dict[str, Any]:
    """The checkpoint dict of a native file, its format name and version checked."""
    obj = read_checkpoint(path)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise UserError(f"{path}: not a wiring-lab checkpoint (no 'format': '{FORMAT}'); foreign files need --layout")
    if obj.get("version") not in READABLE_VERSIONS:
        raise UserError(
            f"{path}: checkpoint format version {obj.get('version')!r} is not supported "
            f"(this wiring-lab reads {', '.join(map(str, READABLE_VERSIONS))})"
        )
    return obj


def _graphs_of(path: Path, obj: dict[str, Any]) -> list[GraphSpec]:
    """The stage graphs stored in a native checkpoint dict."""
    if not obj.get("graphs"):
        raise UserError(f"{path}: checkpoint holds no stage graphs; pass them with --graphs FILE_OR_DIR")
    if not isinstance(obj["graphs"], list):
        raise UserError(f"{path}: bad stage graphs ('graphs' must be a list)")
    try:
        return [GraphSpec.from_dict(d) for d in obj["graphs"]]
    except (ValueError, TypeError, AttributeError) as e:
        raise UserError(f"{path}: bad stage graph ({e})") from None


def read_graphs(path: str | Path) -> list[GraphSpec]:
    """The stage graphs of a native checkpoint, without building its network."""
    path = Path(path)
    return _graphs_of(path, _native_dict(path))


def load_native(
    path: str | Path,
    device: str | torch.device = "cpu",
    graphs: str | Path | Sequence[GraphSpec] | Sequence[str | Path] | None = None,
) -> Checkpoint:
    """Load a native checkpoint: the model in eval mode on ``device``, its stage graphs and metadata.

    ``graphs`` (a file, a directory, or ``GraphSpec`` objects) replaces or supplies the stage
    graphs, for a checkpoint saved without them. Foreign layouts load through
    :func:`wiring_lab.loading.load_checkpoint`.
    """
    path = Path(path)
    if graphs is not None and not isinstance(graphs, (str, Path)):
        graphs = list(graphs)
        if graphs and all(isinstance(g, (str, Path)) for g in graphs):  # the CLI's repeatable --graphs
            if len(graphs) != 1:
                raise UserError(f"{path}: a native checkpoint takes one --graphs file or directory, not {len(graphs)}")
            graphs = graphs[0]
    obj = _native_dict(path)
    for key in ("model_config", "state_dict"):
        if key not in obj:
            raise UserError(f"{path}: checkpoint has no {key!r}")
    try:
        config = ModelConfig.from_dict(obj["model_config"])
    except (TypeError, ValueError, AttributeError) as e:
        raise UserError(f"{path}: bad model_config ({e})") from None
    if graphs is not None:
        specs = load_graphs(graphs) if isinstance(graphs, (str, Path)) else list(graphs)
    elif not obj.get("graphs") and not config.stage_shapes():  # a hand-designed CNN (wiring_lab.cnns) has no stage graphs
        specs = []
    else:
        specs = _graphs_of(path, obj)
    n_stages = len(config.stage_shapes())
    if len(specs) != n_stages:
        raise UserError(f"{path}: regime {config.regime!r} has {n_stages} random stages but {len(specs)} graphs were given")
    meta = _check_metadata(path, obj.get("metadata"))
    train_state = _check_train_state(path, obj.get("train_state"))
    if config.arch == "randwire":  # node modules named stages.<i>.nodes.<v>
        _check_graph_sizes(path, specs, obj["state_dict"])
    try:
        with torch.device("meta"):  # shapes only: a config declaring huge layers allocates nothing
            shapes = build_model(config, specs)
    except (ValueError, TypeError, RuntimeError, OverflowError) as e:  # e.g. node-op lists of another length
        raise UserError(f"{path}: the network cannot be built from its model_config and graphs ({str(e)[:200]})") from None
    _check_state(path, shapes, obj["state_dict"])
    check_memory(2 * model_bytes(shapes), "building this network (weights and the loaded copy)", path)
    model = build_model(config, specs)
    model.load_state_dict(obj["state_dict"])
    model.to(device).eval()
    return Checkpoint(model, specs, config, meta, train_state, path)
