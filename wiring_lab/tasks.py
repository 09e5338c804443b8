"""Units of work of a run directory: train, damage, attack or measure one network; sample a graph
population; correlate the damage of every network with its metrics.

Each function runs where its task runs (this process, a pool worker, a Ray worker), reads and
writes only under ``run_dir`` and returns its table rows as plain JSON-able data: the executor
stores them in the task's result file and :func:`wiring_lab.study.collect_tables` gathers them.
:func:`task_data` is the one data cache (one data set per process). A study's networks, the
demo's (a built-in study) and a search's children are all trained by :func:`train_task`.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Subset, TensorDataset

from wiring_lab._io import as_read_back, atomic_path, to_jsonable, torch_threads
from wiring_lab.checkpoint import read_graphs
from wiring_lab.correlation import CorrelateConfig, correlate
from wiring_lab.attack import AttackConfig, attack_curve
from wiring_lab.damage import damage_sweep, damage_sweep_configs
from wiring_lab.data import load_dataset
from wiring_lab.executor import read_result
from wiring_lab.graphs import GraphSpec
from wiring_lab.metrics import (
    PopulationConfig,
    check_population,
    population_metrics,
    stage_metrics,
    stage_node_metrics,
)
from wiring_lab.model import ModelConfig
from wiring_lab.rundir import checkpoint_path, table_path
from wiring_lab.summary import graph_records, history_records, model_record
from wiring_lab.train import TrainConfig, train_network, train_with_lr_fallback

_DATA_CACHE: dict[tuple, Any] = {}


def _first(dataset: Any, limit: int) -> Any:
    """The first ``limit`` items of a split (tensor sets sliced, others wrapped in a Subset)."""
    if isinstance(dataset, TensorDataset):
        return TensorDataset(*(t[:limit] for t in dataset.tensors))
    return Subset(dataset, range(min(limit, len(dataset))))


def _seeded(dataset: Any, limit: int, seed: int, split: int) -> Any:
    """``limit`` items of a split drawn without replacement (seeded, one stream per split), in index order."""
    n = len(dataset)
    if limit >= n:
        return dataset
    rows = np.sort(np.random.default_rng([seed, split]).choice(n, size=limit, replace=False))
    if isinstance(dataset, TensorDataset):
        t = torch.from_numpy(rows)
        return TensorDataset(*(x[t] for x in dataset.tensors))
    return Subset(dataset, rows.tolist())


def task_data(dataset: str, data_root: str | None, image_size: int | None, limit: int | dict[str, int] | None):
    """The data set of a task (cached per process), cut by ``limit``: the first N images of each
    split, or ``{"train": N, "test": M, "seed": S}`` (either size may be absent; with a seed, a
    seeded random subset of each split instead of its first images)."""
    key = (dataset, data_root, image_size, tuple(sorted(limit.items())) if isinstance(limit, dict) else limit)
    if key not in _DATA_CACHE:
        data = load_dataset(dataset, data_root, image_size)
        if isinstance(limit, dict):
            seed = limit.get("seed")
            cut = {s: limit.get(s) for s in ("train", "test")}
            data = replace(data, **{
                s: (getattr(data, s) if n is None else _first(getattr(data, s), n) if seed is None else _seeded(getattr(data, s), n, seed, i))
                for i, (s, n) in enumerate(cut.items())
            })
        elif limit is not None:
            data = replace(data, train=_first(data.train, limit), test=_first(data.test, limit))
        _DATA_CACHE.clear()  # one data set per process is enough and bounds memory
        _DATA_CACHE[key] = data
    return _DATA_CACHE[key]


def train_task(
    run_dir: str,
    name: str,
    model_config: dict[str, Any],
    train_config: dict[str, Any],
    device: str = "auto",
    threads: int = 1,
    limit: int | dict[str, int] | None = None,
    image_size: int | None = None,
    graphs: list[dict[str, Any]] | None = None,
    lr_fallback: Sequence[float] | None = None,
    reuse: Sequence[Sequence[str]] = (),
    record: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train (or resume) one network into ``RUN_DIR/checkpoints/NAME.pt``; its models/history rows.

    ``graphs``: the stage graphs (a graph-set network), else generated from ``model_config``.
    With ``lr_fallback``, a run that diverges is retried at the next smaller lr
    (:func:`~wiring_lab.train.train_with_lr_fallback`); the row records the lr used and those
    that diverged. ``reuse`` lists (checkpoint, result file) pairs of the identical training in
    other run directories: the first finished one is copied here instead of training again.
    ``record`` (JSON-able fields of the caller, e.g. a search child's proposal) comes back as is.
    The result holds the rows, the data sizes (``info``: images trained on, held out, tested) and
    the final hold-out evaluation (``val``: the last epoch's ``val_top1``, ``val_loss``; empty
    without a hold-out).
    """
    mc, tc = ModelConfig(**model_config), TrainConfig(**train_config)
    data = task_data(tc.dataset, tc.data_root, image_size, limit)
    out = checkpoint_path(run_dir, name)
    reused = _reuse_checkpoint(out, reuse)
    diverged = ""
    with torch_threads(threads):
        specs = [GraphSpec.from_dict(g) for g in graphs] if graphs else None
        if lr_fallback is None:
            ckpt = train_network(mc, tc, out, device=device, resume=True, data=data, progress=False, graphs=specs)
        else:
            ckpt, tried = train_with_lr_fallback(
                mc, tc, out, lr_fallback, device=device, data=data, progress=False, graphs=specs
            )
            diverged = ",".join(f"{t['lr']:g}" for t in tried if t["status"] == "diverged")
    rel = str(out.relative_to(run_dir)) if out.is_relative_to(run_dir) else str(out)
    models = [model_record(name, ckpt.model, ckpt.metadata, checkpoint=rel)]
    if lr_fallback is not None:
        models[0]["lr_diverged"] = diverged  # the larger lrs tried first, comma-separated ("" if none)
    if reused:
        models[0]["reused_from"] = reused
    history = history_records(name, ckpt.metadata)
    graphs = graph_records(name, ckpt.graphs)
    last = (ckpt.metadata.get("history") or [{}])[-1]
    val = {k: last[k] for k in ("val_top1", "val_top5", "val_loss") if k in last}
    info = {k: v for k, v in (ckpt.metadata.get("info") or {}).items() if k in ("n_train", "n_val", "n_test")}
    return {"models": models, "history": history, "graphs": graphs, "columns": _columns(models=models, history=history, graphs=graphs),
            "limit": limit, "info": info, "val": val, "record": record or {}}


def _reuse_checkpoint(out: Path, reuse: Sequence[Sequence[str]]) -> str:
    """Copy the first finished identical training of ``reuse`` to ``out`` (if ``out`` is absent); its run directory."""
    if out.exists():
        return ""
    for ckpt, result in reuse:
        src = Path(ckpt)
        if src.is_file() and Path(result).is_file():  # the result file names the exact settings (digest)
            for s, d in ((src, out), (src.with_name(src.name + ".lr.json"), out.with_name(out.name + ".lr.json"))):
                if s.is_file():
                    with atomic_path(d) as tmp:
                        shutil.copyfile(s, tmp)
            return str(src.parent.parent)
    return ""


def _rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as JSON-able dicts, floats exact (``to_json`` would keep 10 digits), NaN as None."""
    return to_jsonable(df.astype(object).where(df.notna(), None).to_dict(orient="records"))


def results_frame(results: Sequence[dict[str, Any]], table: str, int_columns: Sequence[str] = ()) -> pd.DataFrame | None:
    """The rows of ``table`` in task ``results`` (task order) as one DataFrame, the inverse of
    the rows a task returns: columns in the tasks' order, whole-number columns (the tasks' and
    ``int_columns``) back to integers, with gaps as pandas' nullable Int64. None if no rows."""
    rows: list[dict[str, Any]] = []
    columns: list[str] = []
    ints = set(int_columns)
    for result in results:
        if result.get(table):
            rows.extend(result[table])
            columns += [c for c in (result.get("columns") or {}).get(table, []) if c not in columns]
            ints.update((result.get("int_columns") or {}).get(table, []))
    if not rows:
        return None
    df = pd.DataFrame(rows)
    order = [c for c in columns if c in df.columns]
    df = df[order + [c for c in df.columns if c not in order]]
    for c in ints:  # integers stay integers ("" where missing), not 4.0
        if c in df.columns:
            df[c] = _as_int(df[c])
    return df


def _as_int(col: pd.Series) -> pd.Series:
    """A column of whole numbers (or booleans) with gaps as pandas' nullable Int64 / boolean."""
    values = col.dropna()
    if len(values) and all(isinstance(v, bool) for v in values):
        return col.astype("boolean")
    try:
        return col.astype("Int64")
    except (TypeError, ValueError):  # not whole numbers after all: leave it
        return col


def _columns(**tables: Any) -> dict[str, list[str]]:
    """Column order of each table (result files store rows as key-sorted JSON objects)."""
    out = {}
    for name, rows in tables.items():
        if hasattr(rows, "columns"):
            out[name] = [str(c) for c in rows.columns]
        elif rows:
            out[name] = list(rows[0])
    return out


def _tables(**frames: pd.DataFrame) -> dict[str, Any]:
    """A task's result holding ``frames`` (table name -> DataFrame): rows, column order, integer columns."""
    return {**{table: _rows(df) for table, df in frames.items()}, "columns": _columns(**frames), "int_columns": _int_columns(**frames)}


def _int_columns(**frames: Any) -> dict[str, list[str]]:
    """Integer and boolean columns of each DataFrame: JSON turns an int column with gaps into floats."""
    return {
        name: [str(c) for c, t in df.dtypes.items() if str(t) in ("int64", "Int64", "int32", "Int32", "bool", "boolean")]
        for name, df in frames.items()
    }


def damage_task(
    run_dir: str,
    name: str,
    settings: dict[str, Any],
    dataset: str = "digits",
    data_root: str | None = None,
    device: str = "auto",
    threads: int = 1,
    limit: int | dict[str, int] | None = None,
    image_size: int | None = None,
    train_digest: str = "",
) -> dict[str, Any]:
    """Single-node / single-edge damage sweep of one trained network: its damage.csv rows.

    ``train_digest`` ties the result to the training it analyses (a new training, a new sweep).
    """
    data = task_data(dataset, data_root, image_size, limit)
    with torch_threads(threads):
        frames = [damage_sweep(checkpoint_path(run_dir, name), c, data=data, device=device, progress=False) for c in damage_sweep_configs(settings)]
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return _tables(damage=df)


def attack_task(
    run_dir: str,
    name: str,
    settings: dict[str, Any],
    dataset: str = "digits",
    data_root: str | None = None,
    device: str = "auto",
    threads: int = 1,
    limit: int | dict[str, int] | None = None,
    image_size: int | None = None,
    train_digest: str = "",
) -> dict[str, Any]:
    """Attack-tolerance curves of one trained network, one per removal order: its attack.csv rows."""
    data = task_data(dataset, data_root, image_size, limit)
    ckpt = checkpoint_path(run_dir, name)
    with torch_threads(threads):
        frames = [attack_curve(ckpt, c, data=data, device=device, progress=False) for c in attack_configs(settings)]
    df = pd.concat(frames, ignore_index=True)
    return _tables(attack=df)


def metrics_task(run_dir: str, name: str, settings: dict[str, Any], threads: int = 1, **_: Any) -> dict[str, Any]:
    """Graph metrics of every stage of one trained network (stage_metrics.csv rows; node_metrics.csv with ``nodes``)."""
    specs = read_graphs(checkpoint_path(run_dir, name))
    backend = settings.get("backend", "networkx")
    with torch_threads(threads):
        frames = {"stage_metrics": stage_metrics(specs, model=name, backend=backend, device="cpu")}
        if settings.get("nodes"):
            frames["node_metrics"] = stage_node_metrics(specs, model=name, backend=backend, device="cpu")
    return _tables(**frames)


def _tuples(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings read from YAML or JSON (lists) as the frozen configs take them (tuples)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}


# The configs of a study's analyses, built from its settings: here, where the tasks run them, and
# by the study when it loads the file (a bad setting fails there, with the file and line).
def attack_configs(settings: dict[str, Any]) -> list[AttackConfig]:
    """One :class:`AttackConfig` per removal order of ``orders`` (or the one ``order``, default random)."""
    kw = _tuples(settings)
    order = kw.pop("order", "random")
    orders = kw.pop("orders", (order,))
    if not orders:
        raise ValueError("orders must name at least one removal order (random, degree, betweenness)")
    return [AttackConfig(order=o, **kw) for o in orders]


def population_config(settings: dict[str, Any], device: str = "auto") -> PopulationConfig:
    """The :class:`PopulationConfig` of a study's ``population:`` settings, within the work and memory limits."""
    if "generator" not in settings:
        raise ValueError("population needs a generator (er, ba, ws, ...)")
    config = PopulationConfig(**settings, device=device)
    check_population(config)
    return config


def correlate_config(settings: dict[str, Any]) -> CorrelateConfig:
    """The :class:`CorrelateConfig` of a study's ``correlate:`` settings."""
    return CorrelateConfig(**_tuples(settings))


def population_task(run_dir: str, settings: dict[str, Any], device: str = "auto", threads: int = 1, **_: Any) -> dict[str, Any]:
    """Graph metrics of a sampled generator population (:class:`~wiring_lab.metrics.PopulationConfig`
    fields): its population_metrics.csv rows."""
    with torch_threads(threads):
        df = population_metrics(population_config(settings, device))
    return _tables(population_metrics=df)


def correlate_task(run_dir: str, settings: dict[str, Any], damage_results: Sequence[str], threads: int = 1, **_: Any) -> dict[str, Any]:
    """Correlations of node and edge metrics with the damage of every network
    (:class:`~wiring_lab.correlation.CorrelateConfig` fields): its correlations.csv rows.

    ``damage_results``: the result files of the study's damage tasks (their names carry the
    digests of the sweeps, so a new sweep makes a new correlation task); the metrics are joined
    from the networks' checkpoints.
    """
    damage = results_frame([read_result(p) or {} for p in damage_results], "damage")
    if damage is None:
        raise ValueError("no damage rows to correlate (every damage task failed?)")
    damage = as_read_back(damage)  # as damage.csv reads: the numbers `wiring-lab correlate` gives on it
    with torch_threads(threads):
        df = correlate(damage, correlate_config(settings), table_path=table_path(run_dir, "damage"), checkpoints=Path(run_dir) / "checkpoints").correlations
    return _tables(correlations=df)
