"""Untrusted values checked by type and range where they enter: CLI numbers, checkpoint metadata.

Every float is finite and every number lies in a stated range; a value out of range is a
:class:`~wiring_lab._io.UserError` that names the option or field and quotes the value in a
bounded form (:func:`wiring_lab._limits.short_repr`).

torch is imported only by the tensor checks: the graph modules use this one, and generating or
measuring a graph needs no torch (its import alone takes 0.95 s).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import yaml

from wiring_lab._io import UserError
from wiring_lab._limits import GRAPH_OVERHEAD_NODES, MAX_MODEL_NODES, check_work, population_work, short_repr

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
    "val_fraction": (0.0, 0.999, False),  # 0: no hold-out
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
    "sample": (1, 10**8, False),  # variants: a complete 4,096-node stage has 8.4M edges
    "chunk": (1, 1 << 16, False),
    "variant_batch": (1, 4096, False),
    "recalibrate_bn": (0, 100_000, False),
    "mean_images": (1, 1_000_000, False),
    "stages": (0, 3, False),  # damage: random stages are numbered 0..3 (the regular regime has 4)
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
    ("search", "val_fraction"): (0.0, 0.999, True),  # the reward is accuracy on the hold-out
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


def bounds_problem(name: str, value: Any, command: str | None = None) -> str | None:
    """What is wrong with ``value`` for the setting ``name`` ("must be an integer in [1, 65536]"), or None.

    The one check of each value: the CLI's options, study files (scales, networks, analyses) and
    search studies all use it, so a value one refuses is refused by all.
    """
    bounds = COMMAND_BOUNDS.get((command, name)) if command else None
    bounds = bounds or CLI_BOUNDS.get(name)
    if bounds is None or value is None:
        return None
    low, high, low_open = bounds
    integer = isinstance(low, int) and isinstance(high, int)
    typed = isinstance(value, int) and not isinstance(value, bool) if integer else is_finite_number(value)
    if typed and (value > low if low_open else value >= low) and value <= high:
        return None
    kind = "an integer" if integer else "a finite number"
    interval = f"{'(' if low_open else '['}{low}, {high}]" if integer else f"{'(' if low_open else '['}{low:g}, {high:g}]"
    return f"must be {kind} in {interval}"


def check_settings(values: Mapping[str, Any], where: str, skip: tuple[str, ...] = (), command: str | None = None) -> None:
    """Every bounded setting in ``values`` (a number, or a list of numbers) checked; errors start with ``where``."""
    for name, value in values.items():
        if name in skip or not isinstance(name, str):
            continue
        for v in value if isinstance(value, (list, tuple)) else (value,):
            problem = bounds_problem(name, v, command)
            if problem is not None:
                raise UserError(f"{where}{name} {problem} (got {short_repr(v, 60)})")


def check_cli_numbers(command: str, values: Mapping[str, Any]) -> None:
    """Check every numeric option of ``command`` against its bounds, then the cross-option work limits."""
    for name, value in values.items():
        bounds = COMMAND_BOUNDS.get((command, name)) or CLI_BOUNDS.get(name)
        if bounds is not None and (isinstance(value, (int, float)) and not isinstance(value, bool)):
            check_number(_option(name), value, *bounds)
    if command == "metrics" and values.get("file") is None and isinstance(values.get("samples"), int):
        n = values.get("nodes", 32)
        check_work(population_work(values["samples"], n), f"--samples {values['samples']:,} graphs of {n} nodes (each counted as at least {GRAPH_OVERHEAD_NODES})")


def check_float_list(name: str, values: list[float], low: float, high: float) -> list[float]:
    """Every entry of a comma-separated option finite and in [low, high]."""
    for v in values:
        check_number(name, v, low, high)
    return values


# --- checkpoint metadata ---------------------------------------------------------------------
# every record has these; the monitoring columns (val_* since the hold-out, test_* before it, none
# with --val-fraction 0) are checked wherever they are present
HISTORY_KEYS = ("train_loss", "train_top1", "seconds")


def _may_be_none(key: Any) -> bool:
    """A history value that may be missing (top-5 of a 2-class task, ...): not the losses and top-1s that are read."""
    return key not in HISTORY_KEYS and not str(key).endswith(("_loss", "_top1"))


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
            if key != "epoch" and not is_finite_number(v) and not (v is None and _may_be_none(key)):
                raise UserError(f"{path}: metadata 'history' record {i}: {str(key)[:40]!r} is {short_repr(v, 40)}, not a finite number")
    final = meta.get("final") or {}
    for key, v in final.items():
        if not is_finite_number(v) and not (v is None and key not in ("test_top1", "test_loss")):
            raise UserError(f"{path}: metadata 'final': {str(key)[:40]!r} is {short_repr(v, 40)}, not a finite number")


# --- checkpoints -------------------------------------------------------------------------------
MAX_WIDTH = 1 << 24  # channels, classes: far above any network, far below an overflowing shape
_SIZE_FIELDS = ("channels", "num_classes", "in_channels", "head_channels")


def _size(path: str | Path, name: str, value: Any, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise UserError(f"{path}: bad model_config ({name} must be an integer in [1, {high:,}]; got {short_repr(value, 60)})")


def check_model_config_dict(path: str | Path, mc: Any) -> None:
    """Sizes in a checkpoint's model_config: integers small enough that no shape overflows."""
    if not isinstance(mc, dict):
        return  # ModelConfig(**mc) reports it
    for name in (*_SIZE_FIELDS, "nodes"):  # other types: ModelConfig names them
        value = mc.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            _size(path, name, value, MAX_MODEL_NODES if name == "nodes" else MAX_WIDTH)
    layout = mc.get("layout")  # format 2 nests the importer fields; format 1 stored them flat
    for fields in (mc, layout) if isinstance(layout, dict) else (mc,):
        _check_layout_sizes(path, fields)


def _check_layout_sizes(path: str | Path, mc: dict[str, Any]) -> None:
    """Explicit stages and stem layers of a (flat or nested) importer layout."""
    stages = mc.get("stages", ())
    if not isinstance(stages, (list, tuple)) or len(stages) > 16:
        raise UserError(f"{path}: bad model_config (stages must be a list of at most 16 [nodes, channels] pairs)")
    for s in stages:
        if not isinstance(s, (list, tuple)) or len(s) != 2:
            raise UserError(f"{path}: bad model_config (stages must be [nodes, channels] pairs; got {short_repr(s, 60)})")
        _size(path, "a stage's nodes", s[0], MAX_MODEL_NODES)
        _size(path, "a stage's channels", s[1], MAX_WIDTH)
    stem = mc.get("stem", ())
    if isinstance(stem, (list, tuple)):
        for layer in stem:
            if isinstance(layer, dict) and "out" in layer:
                _size(path, "a stem layer's out", layer["out"], MAX_WIDTH)


def check_tensors(path: str | Path, tensors: Mapping[Any, Any], what: str = "state_dict") -> None:
    """Plain dense CPU tensors whose storage holds every element they declare, values within float32."""
    import torch

    for key, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            continue
        name = short_repr(key, 80)
        if t.is_nested or t.layout != torch.strided or t.is_meta or t.device.type != "cpu" or t.is_quantized:
            kind = "nested" if t.is_nested else "meta" if t.is_meta else str(t.layout).replace("torch.", "")
            raise UserError(f"{path}: {what} tensor {name} is a {kind} tensor; checkpoints hold plain dense tensors")
        need = t.numel() * t.element_size()
        have = t.untyped_storage().nbytes()
        span = t.storage_offset() + sum((s - 1) * st for s, st in zip(t.shape, t.stride()) if s > 0) + 1 if t.numel() else 0
        if need > have or span * t.element_size() > have or min(t.stride(), default=1) < 0:
            raise UserError(
                f"{path}: {what} tensor {name} declares {t.numel():,} elements ({need:,} bytes) over {have:,} stored bytes "
                "(an expanded or overlapping tensor; checkpoints hold dense tensors)"
            )
        if t.is_floating_point() and t.dtype == torch.float64 and t.numel():
            big = torch.finfo(torch.float32).max
            if bool((t.abs() > big).any()):
                raise UserError(f"{path}: {what} tensor {name} holds values beyond float32's range (they would become inf)")


def tensors_in(obj: Any) -> dict[str, Any]:
    """Every tensor inside plain containers, by its path of keys (the walk is bounded by the caller)."""
    import torch

    found: dict[str, Any] = {}
    stack: list[tuple[str, Any]] = [("", obj)]
    while stack:
        where, x = stack.pop()
        if isinstance(x, torch.Tensor):
            found[where or "(top level)"] = x
        elif isinstance(x, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in x.items())
        elif isinstance(x, (list, tuple)):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(x))
    return found


def model_bytes(model: Any) -> int:
    """Bytes of a (meta) model's parameters and buffers."""
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


# --- graph parameters --------------------------------------------------------------------------
def _plain_scalar(v: Any) -> bool:
    if v is None or isinstance(v, bool):
        return True
    if isinstance(v, int):
        return -(2**63) <= v < 2**63
    if isinstance(v, float):
        return math.isfinite(v)
    return isinstance(v, str) and len(v) <= 1000


def check_graph_params(params: Any) -> None:
    """Generator parameters: string keys; numbers, strings, None or flat lists of them (JSON-safe)."""
    if not isinstance(params, dict):
        raise ValueError("'params' must be an object")
    if len(params) > 1000:
        raise ValueError(f"'params' holds {len(params):,} entries; a generator has a few")
    for key, v in params.items():
        if not isinstance(key, str) or len(key) > 100:
            raise ValueError(f"'params' keys must be short strings (got {short_repr(key, 60)})")
        ok = _plain_scalar(v) or (isinstance(v, (list, tuple)) and len(v) <= 100_000 and all(_plain_scalar(x) for x in v))
        if not ok:
            raise ValueError(f"'params' {key!r} is {short_repr(v, 60)}; parameters are numbers, strings or lists of them")


# --- duplicate keys ----------------------------------------------------------------------------
def unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads`` object hook: a key given twice is an error (not "the last one wins")."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {short_repr(key, 60)} in a JSON object")
        out[key] = value
    return out


def construct_unique_mapping(loader: Any, node: Any, deep: bool = False) -> dict[Any, Any]:
    """A YAML loader's ``construct_mapping`` that refuses a key given twice (naming its line)."""
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key: the base constructor reports it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {short_repr(key, 60)}", key_node.start_mark)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


# --- tables ------------------------------------------------------------------------------------
DAMAGE_KINDS = ("intact", "node", "edge")
MAX_STAGES = 4  # the regular regime has the most random stages


def check_damage_rows(df: Any, path: str | Path) -> None:
    """Rows of a damage table: a known ``kind``; removal rows name a stage that exists (0..3)."""
    if "kind" in df.columns:
        unknown = sorted({str(k)[:40] for k in df["kind"].dropna().unique()} - set(DAMAGE_KINDS))
        if unknown or df["kind"].isna().any():
            raise UserError(f"{path}: unknown kind {unknown[0] if unknown else 'NaN'!r}; damage rows are {', '.join(DAMAGE_KINDS)}")
    if "stage" in df.columns and "kind" in df.columns:
        stage = df.loc[df["kind"].isin(["node", "edge"]), "stage"]
        values = np.asarray(stage, dtype=object)
        ok = [is_finite_number(v) and float(v).is_integer() and 0 <= v < MAX_STAGES for v in values]
        if not all(ok):
            bad = values[ok.index(False)]
            bad = int(bad) if is_finite_number(bad) and float(bad).is_integer() else bad
            raise UserError(f"{path}: stage {short_repr(bad, 40)} does not exist (stages are numbered 0..{MAX_STAGES - 1})")
