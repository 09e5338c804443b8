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
from wiring_lab.graphs import GraphSpec, load_graph
from wiring_lab.model import ModelConfig, RandWire, build_model

FORMAT = "wiring-lab-checkpoint"
FORMAT_VERSION = 1


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
        torch.save(checkpoint_dict(model, metadata, train_state), tmp)
    return path


def _refusal(path: Path, err: BaseException) -> UserError:
    text = str(err)
    if "Unsupported global" in text or "Unsupported operand" in text or isinstance(err, pickle.UnpicklingError):
        first = next((ln.strip() for ln in text.splitlines() if "Unsupported" in ln), text.splitlines()[0] if text else "")
        return UserError(
            f"{path}: refused: the file asks to build Python objects ({first[:160]}); "
            "checkpoints are loaded with weights_only=True and nothing in them is run"
        )
    if isinstance(err, (EOFError, zipfile.BadZipFile)) or "failed finding central directory" in text or "truncated" in text.lower():
        return UserError(f"{path}: truncated or corrupt checkpoint file")
    first = text.splitlines()[0] if text else err.__class__.__name__
    return UserError(f"{path}: not a loadable checkpoint ({first[:200]})")


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` with every failure turned into a one-line error."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such checkpoint file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a checkpoint file")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: empty file, not a checkpoint")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for bad files; all are user errors here
        raise _refusal(path, e) from None
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
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not valid JSON ({e})") from None
    items = data.get("graphs") if isinstance(data, dict) and "graphs" in data else data
    items = items if isinstance(items, list) else [items]
    try:
        return [GraphSpec.from_dict(d) for d in items]
    except ValueError as e:
        raise UserError(f"{path}: {e}") from None


def _check_state(path: Path, model: RandWire, state: Any) -> None:
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
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
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise UserError(f"{path}: tensor {bad[0]} holds NaN or inf values ({len(bad)} tensor(s) affected)")


def load_checkpoint(
    path: str | Path,
    device: str | torch.device = "cpu",
    graphs: str | Path | Sequence[GraphSpec] | Sequence[str | Path] | None = None,
    format: str = "native",
) -> Checkpoint:
    """Load a checkpoint: the model in eval mode on ``device``, its stage graphs and metadata.

    ``graphs`` (a file, a directory, or ``GraphSpec`` objects) replaces or supplies the stage
    graphs, for a checkpoint saved without them. ``format`` other than ``native`` (a foreign
    layout's name, or ``auto``) loads a checkpoint of another implementation through
    :mod:`wiring_lab.importers`; there ``graphs`` are that implementation's graph files.
    """
    if format != "native":
        from wiring_lab.importers import load_any

        return load_any(path, format, graphs, device)  # type: ignore[arg-type]
    path = Path(path)
    if graphs is not None and not isinstance(graphs, (str, Path)):
        graphs = list(graphs)
        if graphs and all(isinstance(g, (str, Path)) for g in graphs):  # the CLI's repeatable --graphs
            if len(graphs) != 1:
                raise UserError(f"{path}: a native checkpoint takes one --graphs file or directory, not {len(graphs)}")
            graphs = graphs[0]
    obj = read_checkpoint(path)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise UserError(f"{path}: not a wiring-lab checkpoint (no 'format': '{FORMAT}'); foreign files need --format")
    if obj.get("version") != FORMAT_VERSION:
        raise UserError(f"{path}: checkpoint format version {obj.get('version')!r} is not supported (expected {FORMAT_VERSION})")
    for key in ("model_config", "state_dict"):
        if key not in obj:
            raise UserError(f"{path}: checkpoint has no {key!r}")
    try:
        config = ModelConfig(**obj["model_config"])
    except (TypeError, ValueError) as e:
        raise UserError(f"{path}: bad model_config ({e})") from None
    if graphs is not None:
        specs = load_graphs(graphs) if isinstance(graphs, (str, Path)) else list(graphs)
    elif obj.get("graphs"):
        try:
            specs = [GraphSpec.from_dict(d) for d in obj["graphs"]]
        except (ValueError, TypeError) as e:
            raise UserError(f"{path}: bad stage graph ({e})") from None
    else:
        raise UserError(f"{path}: checkpoint holds no stage graphs; pass them with --graphs FILE_OR_DIR")
    n_stages = len(config.stage_shapes())
    if len(specs) != n_stages:
        raise UserError(f"{path}: regime {config.regime!r} has {n_stages} random stages but {len(specs)} graphs were given")
    model = build_model(config, specs)
    _check_state(path, model, obj["state_dict"])
    model.load_state_dict(obj["state_dict"])
    model.to(device).eval()
    meta = obj.get("metadata") or {}
    return Checkpoint(model, specs, config, meta if isinstance(meta, dict) else {}, obj.get("train_state"), path)
