"""Load checkpoints written by the public RandWire implementations, together with their graphs.

Each foreign layout is a registered :class:`ForeignFormat`: ``detect`` recognises the loaded
(weights-only) checkpoint object, ``load`` maps it and its graph files onto wiring-lab's
network (:class:`~wiring_lab.model.ModelConfig` layout fields model where the foreign code
differs from the paper), so the imported network computes the same function as the original.

>>> sorted(list_formats())
['hebo1221', 'ironjr', 'jiaminren', 'leaderj1001', 'seungwonpark']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from wiring_lab._io import UserError, atomic_path
from wiring_lab._limits import check_memory
from wiring_lab._validate import model_bytes
from wiring_lab.checkpoint import FORMAT, Checkpoint, check_parts, checkpoint_dict, load_native, write_torch
from wiring_lab.importers._common import ForeignNetwork, pickle_globals, read_foreign
from wiring_lab.model import build_model


@dataclass(frozen=True)
class ForeignFormat:
    """One foreign checkpoint layout: how to recognise it and how to load it."""

    name: str
    description: str  # one line: the project and its files
    detect: Callable[[Any], bool]  # on the weights-only-loaded object
    load: Callable[[Path, Any, Sequence[Path] | None], ForeignNetwork]
    detect_globals: Callable[[set[str]], bool] | None = None  # for files weights_only refuses


_FORMATS: dict[str, ForeignFormat] = {}


def register_format(fmt: ForeignFormat) -> None:
    """Register a foreign format under ``fmt.name``."""
    _FORMATS[fmt.name] = fmt


def get_format(name: str) -> ForeignFormat:
    """Look up a foreign format; an unknown name lists the valid ones."""
    try:
        return _FORMATS[name]
    except KeyError:
        raise UserError(f"unknown checkpoint format {name!r}; choose native, auto or one of {', '.join(list_formats())}") from None


def list_formats() -> list[str]:
    """Names of the registered foreign formats."""
    return list(_FORMATS)


def _detect_obj(obj: Any) -> str | None:
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        return "native"
    hits = [f.name for f in _FORMATS.values() if f.detect(obj)]
    return hits[0] if hits else None


def detect_format(path: str | Path) -> str:
    """Name of the format of ``path`` (``native`` or a registered foreign one), read safely."""
    path = Path(path)
    try:
        obj = read_foreign(path)
    except UserError:
        names = pickle_globals(path) if path.is_file() else set()
        hits = [f.name for f in _FORMATS.values() if f.detect_globals and f.detect_globals(names)]
        if hits:
            return hits[0]
        raise
    name = _detect_obj(obj)
    if name is None:
        raise UserError(f"{path}: not a checkpoint layout wiring-lab knows; name it with --layout ({', '.join(list_formats())})")
    return name


def _as_paths(graphs: str | Path | Sequence[str | Path] | None) -> list[Path] | None:
    if graphs is None:
        return None
    if isinstance(graphs, (str, Path)):
        return [Path(graphs)]
    return [Path(g) for g in graphs] or None


def import_network(path: str | Path, format: str = "auto", graphs: str | Path | Sequence[str | Path] | None = None) -> ForeignNetwork:
    """Read a foreign checkpoint and its graphs into wiring-lab's config, graphs and state dict."""
    path = Path(path)
    fmt = None if format == "auto" else get_format(format)
    try:
        obj = read_foreign(path)  # read once: detection and loading share it
    except UserError:
        names = pickle_globals(path) if path.is_file() else set()
        if fmt is None:
            fmt = next((f for f in _FORMATS.values() if f.detect_globals and f.detect_globals(names)), None)
        if fmt is not None and fmt.detect_globals is not None and names:
            fmt.load(path, None, None)  # a format that is refused: its load says why
        raise
    if fmt is None:
        name = _detect_obj(obj)
        if name == "native":
            raise UserError(f"{path}: is a native wiring-lab checkpoint; load it with --layout native")
        if name is None:
            raise UserError(f"{path}: not a checkpoint layout wiring-lab knows; name it with --layout ({', '.join(list_formats())})")
        fmt = _FORMATS[name]
    return fmt.load(path, obj, _as_paths(graphs))


def load_foreign(
    path: str | Path,
    format: str = "auto",
    graphs: str | Path | Sequence[str | Path] | None = None,
    device: str | torch.device = "cpu",
) -> Checkpoint:
    """Load a foreign checkpoint as a :class:`~wiring_lab.checkpoint.Checkpoint` (model in eval mode)."""
    path = Path(path)
    net = import_network(path, format, graphs)
    with torch.device("meta"):  # shapes only: the memory check comes before any allocation
        shapes = build_model(net.config, net.graphs)
    check_parts(path, shapes, net.state_dict, net.metadata)  # what a native load refuses, refused here
    check_memory(2 * model_bytes(shapes), "building this network (weights and the loaded copy)", path)
    model = build_model(net.config, net.graphs)
    model.load_state_dict(net.state_dict)
    model.to(device).eval()
    return Checkpoint(model, net.graphs, net.config, net.metadata, None, path)


def convert_checkpoint(
    path: str | Path,
    out: str | Path,
    format: str = "auto",
    graphs: str | Path | Sequence[str | Path] | None = None,
) -> Path:
    """Write a foreign checkpoint as a native one (config, graphs, weights, import metadata).

    All or none: the foreign file is checked as a native load would check it before anything is
    written, and the written file is read back before it is renamed into place.
    """
    ckpt = load_foreign(path, format, graphs)
    out = Path(out)
    with atomic_path(out) as tmp:
        write_torch(checkpoint_dict(ckpt.model, ckpt.metadata), tmp, out)
        try:
            load_native(tmp)
        except UserError as e:
            raise UserError(str(e).replace(str(tmp), str(out))) from None
    return out


# Importing the format modules registers them (order = detection order).
from wiring_lab.importers import hebo1221, ironjr, jiaminren, leaderj1001, seungwonpark  # noqa: E402,F401
