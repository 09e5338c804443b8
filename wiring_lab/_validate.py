"""Untrusted values checked by type and range where they enter: CLI numbers, checkpoint metadata.

Every float is finite and every number lies in a stated range; a value out of range is a
:class:`~wiring_lab._io.UserError` that names the option or field and quotes the value in a
bounded form (:func:`wiring_lab._limits.short_repr`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

from wiring_lab._io import UserError
from wiring_lab._limits import MAX_MODEL_NODES, check_work, short_repr

_BIG = 2**63 - 1  # seeds and counts beyond this fit no numpy / torch integer

# option name -> (low, high, low excluded): every command's options of that name. Floats must
# also be finite. A value that means "default" is given by omitting the option, never by 0.
CLI_BOUNDS: dict[str, tuple[float, float, bool]] = {
    "lr": (0.0, 10.0, True),
    "controller_lr": (0.0, 10.0, True),
    "weight_decay": (0.0, 1.0, False),
    "label_smoothing": (0.0, 0.999, False),
    "edge_drop": (0.0, 0.999, False),
    "p": (0.0, 1.0, False),
    "density": (0.0, 1.0, False),
    "val_fraction": (0.0, 0.999, True),
    "baseline_decay": (0.0, 1.0, False),
    "seed": (0, _BIG, False),
    "channels": (1, 1 << 16, False),
    "head_channels": (1, 1 << 16, False),
    "nodes": (1, MAX_MODEL_NODES, False),
    "k": (0, 100_000, False),
    "m": (0, 100_000, False),
    "num_classes": (1, 1 << 20, False),
    "in_channels": (1, 64, False),
    "image_size": (8, 4096, False),
    "epochs": (1, 1_000_000, False),
    "batch_size": (1, 1 << 20, False),
    "workers": (0, 256, False),
    "threads": (0, 1024, False),
    "samples": (1, _BIG, False),  # bounded by the work limit below
    "bootstrap": (0, 100_000, False),
    "n_boot": (0, 100_000, False),
    "repeats": (1, 10_000, False),
    "folds": (2, 1000, False),
    "limit": (1, _BIG, False),
    "sample": (1, _BIG, False),
    "chunk": (1, 1 << 16, False),
    "variant_batch": (1, 4096, False),
    "recalibrate_bn": (0, 100_000, False),
    "budget": (1, 1_000_000, False),
    "batch": (1, 100_000, False),
    "population": (1, 100_000, False),
    "tournament": (1, 100_000, False),
    "motif_nodes": (1, MAX_MODEL_NODES, False),
    "motifs": (1, 100_000, False),
    "train_limit": (1, _BIG, False),
    "seeds": (1, 100_000, False),
}
# (command, option) -> bounds where a command differs: graph-only commands take larger graphs
COMMAND_BOUNDS: dict[tuple[str, str], tuple[float, float, bool]] = {
    ("generate", "nodes"): (1, 100_000, False),
    ("metrics", "nodes"): (1, 100_000, False),
}


def is_finite_number(x: Any) -> bool:
    """A real, finite number (bool excluded); an int too large for a float is not."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    try:
        return math.isfinite(float(x))
    except OverflowError:
        return False


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_number(name: str, value: Any, low: float, high: float, low_open: bool = False) -> None:
    """``value`` finite and in [low, high] (or (low, high]); else a UserError naming ``name``."""
    if value is None:
        return
    ok = is_finite_number(value) and (value > low if low_open else value >= low) and value <= high
    if not ok:
        integer = isinstance(low, int) and isinstance(high, int)
        kind = "an integer" if integer else "a finite number"
        interval = f"{'(' if low_open else '['}{low}, {high}]" if integer else f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise UserError(f"{name} must be {kind} in {interval} (got {short_repr(value, 60)})")


def check_cli_numbers(command: str, values: Mapping[str, Any]) -> None:
    """Check every numeric option of ``command`` against its bounds, then the cross-option work limits."""
    for name, value in values.items():
        bounds = COMMAND_BOUNDS.get((command, name)) or CLI_BOUNDS.get(name)
        if bounds is not None and (isinstance(value, (int, float)) and not isinstance(value, bool)):
            check_number(_option(name), value, *bounds)
    if command == "metrics" and values.get("file") is None and isinstance(values.get("samples"), int):
        check_work(values["samples"] * values.get("nodes", 32), f"--samples {values['samples']:,} of {values.get('nodes', 32)} nodes")


def check_float_list(name: str, values: list[float], low: float, high: float) -> list[float]:
    """Every entry of a comma-separated option finite and in [low, high]."""
    for v in values:
        check_number(name, v, low, high)
    return values


# --- checkpoint metadata ---------------------------------------------------------------------
HISTORY_KEYS = ("train_loss", "train_top1", "test_loss", "test_top1", "seconds")
FINAL_KEYS = ("test_top1", "test_top5", "test_loss")


def check_metadata_values(path: str | Path, meta: Mapping[str, Any]) -> None:
    """The per-epoch history and final accuracy hold finite numbers under the keys that are read."""
    for i, h in enumerate(meta.get("history") or []):
        epoch = h.get("epoch")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= 10**9:
            raise UserError(f"{path}: metadata 'history' record {i} has epoch {short_repr(epoch, 40)}, not an epoch number")
        for key in HISTORY_KEYS:
            if key not in h:
                raise UserError(f"{path}: metadata 'history' record {i} has no {key!r}")
        for key, v in h.items():
            if key != "epoch" and not is_finite_number(v) and not (v is None and key not in HISTORY_KEYS):
                raise UserError(f"{path}: metadata 'history' record {i}: {str(key)[:40]!r} is {short_repr(v, 40)}, not a finite number")
    final = meta.get("final") or {}
    for key, v in final.items():
        if not is_finite_number(v) and not (v is None and key not in ("test_top1", "test_loss")):
            raise UserError(f"{path}: metadata 'final': {str(key)[:40]!r} is {short_repr(v, 40)}, not a finite number")
