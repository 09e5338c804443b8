"""``wiring-lab search``: a strategy proposes children, the study executor trains them, round after round.

Every child is a normal RandWire network (same skeleton, recipe and data as the random
generators) saved as a normal checkpoint with its stage graphs under ``RUN_DIR/checkpoints/``,
so damage, metrics and figures apply to searched networks unchanged. A child is trained by the
study's train task (:func:`wiring_lab.tasks.train_task`) on the training split minus a
stratified validation hold-out (``val_fraction``, fixed split seed); the reward a strategy sees
is the top-1 accuracy on that hold-out after the last epoch, and every child is also evaluated on
the test split (the accuracy its checkpoint and ``models.csv`` report).

Resume: each child is one executor task whose result JSON is written atomically, and a task
whose result exists is skipped. The strategy's state is a deterministic function of its seed and
the finished children's rewards in order, so a re-run replays the finished rounds (proposing the
same children, reading their results) and trains only what is missing. The same seed gives the
same history on the CPU.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from scipy.stats import binomtest, bootstrap

from wiring_lab._io import (
    UserError,
    atomic_path,
    read_table,
    to_jsonable,
    write_json,
    write_table,
)
from wiring_lab.analysis import population_names
from wiring_lab.executor import Task, digest, run_tasks
from wiring_lab.figures import render_figures
from wiring_lab.graphs import GraphSpec, setting_label
from wiring_lab.model import ModelConfig, stage_graphs
from wiring_lab.rundir import table_path
from wiring_lab.search._base import Proposal, Strategy
from wiring_lab.recipe import train_record
from wiring_lab.search.config import SearchConfig
from wiring_lab.search.space import (
    SEARCH_GENERATOR,
    child_seed,
    wiring_from_specs,
)
from wiring_lab.search.strategies import make_strategy
from wiring_lab.tasks import task_data

log = logging.getLogger(__name__)  # the CLI decides what is shown (--verbose / --quiet)

TASK_FN = "wiring_lab.tasks:train_task"  # a child trains as every network of a study does


def child_row(result: dict[str, Any]) -> dict[str, Any]:
    """One child's history row from its training task's result (:func:`wiring_lab.tasks.train_task`):
    the proposal's fields, the reward (validation top-1 on the hold-out after the last epoch)
    and the test accuracy."""
    model = result["models"][0]
    history = result.get("history") or []
    val, info = result.get("val") or {}, result.get("info") or {}
    return {
        **result.get("record", {}),
        "model": model["model"],
        "val_top1": val.get("val_top1"),
        "val_loss": val.get("val_loss"),
        "test_top1": model.get("top1"),
        "test_top5": model.get("top5"),
        "test_loss": model.get("loss"),
        "n_val": info.get("n_val"),
        "n_test": info.get("n_test"),
        "seconds": sum(h.get("seconds") or 0.0 for h in history),  # training time
        "model_record": model,
        "history": history,
    }


# --- the search loop ---------------------------------------------------------------------------
def _child(config: SearchConfig, base: dict[str, Any], index: int, rnd: int, proposal: Proposal):
    """Model name, model config, stage graphs and the history fields of one proposed child."""
    name = f"{config.label}-{index:03d}"
    seed = child_seed(config.seed, index)
    if proposal.wiring is not None:
        mc = ModelConfig(**base, generator=SEARCH_GENERATOR, params={"strategy": config.strategy}, seed=seed)
        specs = proposal.wiring.to_specs({"strategy": config.strategy, "search_seed": config.seed, "child": index}, seed)
        wiring = proposal.wiring
    else:
        mc = ModelConfig(**base, generator=proposal.generator, params=proposal.params, seed=seed)
        specs = stage_graphs(mc)
        wiring = wiring_from_specs(specs)
    record = {
        "run": config.label,
        "strategy": config.strategy,
        "search_seed": config.seed,
        "child": index,
        "round": rnd,
        "child_seed": seed,
        "generator": mc.generator,
        "setting": setting_label(mc.generator, mc.params) if proposal.wiring is None else config.label.rsplit("-s", 1)[0],
        "parent": proposal.parent,
        "mutation": proposal.mutation,
        "n_edges": wiring.n_edges,
        "wiring": json.dumps(wiring.to_dict(), separators=(",", ":")),
    }
    return name, mc, specs, record


def _limit(config: SearchConfig) -> dict[str, int] | None:
    """The data limit of every child's training task: the first ``train_limit`` training images."""
    return {"train": config.train_limit} if config.train_limit else None


def child_task(config: SearchConfig, run_dir: Path, name: str, mc: ModelConfig, specs: list[GraphSpec],
               record: dict[str, Any], device: str, threads: int | None) -> Task:
    """The training task of one child: the study's train task, with the search's hold-out (the
    reward's data) and its proposal's fields in the record; the result file's name carries the
    digest of all of it, so another child (or config) never reuses it."""
    kwargs = {
        "name": name,
        "model_config": to_jsonable(mc.to_dict()),
        "train_config": to_jsonable(train_record(config.train_config(mc.seed))),
        "graphs": [s.to_dict() for s in specs],
        "limit": _limit(config),
        "record": record,
        "threads": threads,
    }
    return Task(key=name, fn=TASK_FN, kwargs={**kwargs, "run_dir": str(run_dir), "device": device},
                result_path=str(search_dir(run_dir, config) / "results" / f"{name}-{digest(kwargs)}.json"),
                gpus=1 if device.startswith("cuda") else 0)


def search_dir(run_dir: str | Path, config: SearchConfig) -> Path:
    """Folder of one search run's config, child results and strategy state."""
    return Path(run_dir) / "search" / config.label


def _dotted(config: dict[str, Any]) -> dict[str, Any]:
    """A config dict with its nested recipe spelled out: ``{"train": {"epochs": 5}}`` -> ``{"train.epochs": 5}``."""
    train = config.get("train")
    flat = {k: v for k, v in config.items() if k != "train"}
    if isinstance(train, dict):
        flat.update({f"train.{k}": v for k, v in train.items()})
    elif train is not None:
        flat["train"] = train
    return flat


def _check_config(folder: Path, config: SearchConfig) -> None:
    """A run folder belongs to one config; only the budget may grow on a re-run."""
    path = folder / "config.json"
    if path.is_file():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            saved = None
        if not isinstance(saved, dict):
            raise UserError(f"{path}: not a search config (unreadable or not a JSON object); delete it, or choose another --out")
        saved, mine = _dotted(saved), _dotted(to_jsonable(_config_record(config)))
        diff = sorted(k for k in set(saved) | set(mine) if k != "budget" and saved.get(k) != mine.get(k))
        if diff:
            raise UserError(f"{path}: this search was run with another {diff[0]} ({saved.get(diff[0])!r}); choose another --out or --seed")
    write_json(path, _config_record(config))


def _config_record(config: SearchConfig) -> dict[str, Any]:
    """``asdict(config)`` with its recipe as :func:`train_record` writes it (later fields at defaults left out)."""
    return asdict(config) | {"train": train_record(config.train)}


def run_search(
    config: SearchConfig,
    out: str | Path,
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    device: str = "auto",
    progress: bool = True,
    echo: Callable[[str], None] | None = None,
    threads: int | None = 1,
) -> pd.DataFrame:
    """Run (or resume) a search into ``out``; returns its history, one row per trained child.

    ``threads`` caps torch's CPU threads per child (None: torch's default); run children side by
    side with ``workers`` instead.
    """
    run_dir = Path(out).resolve()  # executors may run tasks in another working directory
    folder = search_dir(run_dir, config)
    _check_config(folder, config)
    # the children's data, cut as their task cuts it: an in-process child finds it in the same cache
    fit = task_data(config.train.dataset, config.train.data_root, None, _limit(config))
    if fit.regime == "regular":
        raise UserError("search needs stages of equal size; the 'regular' regime's first stage has N/2 nodes")
    base = {
        "regime": fit.regime,
        "channels": config.channels,
        "nodes": config.nodes,
        "node_op": config.node_op,
        "num_classes": fit.num_classes,
        "in_channels": fit.in_channels,
        "head_channels": config.head_channels,
    }
    stages = len(ModelConfig(**base).stage_shapes())
    strategy = make_strategy(config, config.space(stages))
    rows: list[dict[str, Any]] = []
    index, rnd = 0, 0
    while index < config.budget:
        proposals = strategy.propose(min(config.batch, config.budget - index))
        children = [_child(config, base, index + i, rnd, p) for i, p in enumerate(proposals)]
        tasks = [child_task(config, run_dir, name, mc, specs, record, device, threads) for name, mc, specs, record in children]
        outcomes = run_tasks(tasks, executor=executor, workers=workers, address=address, progress=progress)
        failed = [o for o in outcomes if o.status != "skipped" and o.status != "done"]
        if failed:
            raise UserError(f"{len(failed)} child(ren) failed, e.g. {failed[0].key}: {failed[0].error}; fix it and re-run to continue")
        results = [child_row(o.result or {}) for o in outcomes]
        strategy.observe(proposals, [r["val_top1"] / 100.0 for r in results])
        rows.extend(results)
        best = max(r["val_top1"] for r in rows)  # progress: echo, else the wiring_lab.search.runner logger (INFO)
        (echo or log.info)(f"{config.label}: round {rnd}, {len(rows)}/{config.budget} children, best validation top-1 {best:.2f}%")
        _save_state(folder, strategy)
        write_search_tables(run_dir)
        index += len(proposals)
        rnd += 1
    return search_history(rows)


def _save_state(folder: Path, strategy: Strategy) -> None:
    """The strategy's state after a round: tensors in ``state.pt`` (controller), plain values in ``state.json``.

    For inspection: a re-run rebuilds the state by replaying the finished children instead.
    """
    state = strategy.state_dict()
    if strategy.name == "reinforce":
        with atomic_path(folder / "state.pt") as tmp:
            torch.save(state, tmp)
    else:
        write_json(folder / "state.json", state)


# --- tables ------------------------------------------------------------------------------------
HISTORY_COLUMNS = [
    "run", "strategy", "search_seed", "child", "round", "model", "generator", "setting", "parent", "mutation",
    "n_edges", "val_top1", "val_loss", "test_top1", "test_top5", "test_loss", "best_val_so_far",
    "best_test_so_far", "n_val", "n_test", "child_seed", "seconds", "checkpoint", "wiring",
]  # fmt: skip


def search_history(results: list[dict[str, Any]]) -> pd.DataFrame:
    """Tidy history: one row per child, in child order per run, with best-so-far columns.

    ``best_val_so_far`` is the best validation top-1 among the children trained so far;
    ``best_test_so_far`` the test top-1 of that child (the one the search would pick).
    """
    df = pd.DataFrame([{k: v for k, v in r.items() if k not in ("model_record", "history")} for r in results])
    if df.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    df["checkpoint"] = [r.get("model_record", {}).get("checkpoint") for r in results]
    df = df.sort_values(["run", "child"], kind="stable").reset_index(drop=True)
    best_val, best_test = [], []
    for _, g in df.groupby("run", sort=False):
        bv, bt = -1.0, None
        for v, t in zip(g["val_top1"], g["test_top1"]):
            if v > bv:
                bv, bt = v, t
            best_val.append(bv)
            best_test.append(bt)
    df["best_val_so_far"] = best_val
    df["best_test_so_far"] = best_test
    return df[[c for c in HISTORY_COLUMNS if c in df.columns]]


def collect_results(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every finished child's row, from the results under ``RUN_DIR/search/*/results/``."""
    rows = []
    for path in sorted(Path(run_dir).glob("search/*/results/*.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
            row = child_row(result) if isinstance(result, dict) and isinstance(result.get("record"), dict) else None
        except (OSError, ValueError, RecursionError, KeyError, IndexError, TypeError, AttributeError):
            row = None
        if row is None or not row.get("wiring"):
            raise UserError(f"{path}: unreadable child result (not JSON, or not written by this version); delete it to retrain that child")
        rows.append(row)
    return rows


def _merge(path: Path, new: pd.DataFrame, models: set[str]) -> None:
    """Replace the rows of ``models`` in the table at ``path`` by ``new`` (other rows are kept)."""
    if path.is_file():
        old = read_table(path)
        new = pd.concat([old[~old["model"].astype(str).isin(models)], new], ignore_index=True)
    write_table(new, path)


def write_search_tables(run_dir: str | Path) -> pd.DataFrame:
    """Write ``search_history.csv`` and the children's rows of ``models.csv`` / ``history.csv``."""
    results = collect_results(run_dir)
    history = search_history(results)
    write_table(history, table_path(run_dir, "search_history"))
    write_table(search_summary(history), table_path(run_dir, "search_summary"))
    models = {r["model"] for r in results}
    _merge(table_path(run_dir, "models"), pd.DataFrame([r["model_record"] for r in results]), models)
    _merge(table_path(run_dir, "history"), pd.DataFrame([h for r in results for h in r["history"]]), models)
    return history


# --- summary: best and median per run, with intervals ------------------------------------------
def search_summary(history: pd.DataFrame, resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per population (run name without its seed; a generator run's setting): best and median test top-1, 95% intervals.

    ``best_top1`` is the test top-1 of the child with the best validation top-1 (what a search
    picks), with the Wilson score interval over the ``n_test`` test images; ``max_top1`` the best
    test top-1 of any child; ``median_top1`` the median over children, with a percentile
    bootstrap interval over children (``resamples`` resamples, ``seed``).
    """
    rows = []
    df = history.assign(population=population_names(history))
    for pop, g in df.groupby("population", sort=True):
        g = g.dropna(subset=["test_top1"])
        top = g.sort_values(["val_top1", "child"], ascending=[False, True]).iloc[0]
        n_test = int(top["n_test"]) if "n_test" in g.columns and pd.notna(top["n_test"]) else None
        lo = hi = float("nan")
        if n_test:
            ci = binomtest(round(top["test_top1"] / 100 * n_test), n_test).proportion_ci(method="wilson")
            lo, hi = 100 * ci.low, 100 * ci.high
        acc = g["test_top1"].to_numpy(dtype=float)
        mlo = mhi = float("nan")
        if len(acc) > 1 and np.ptp(acc) > 0:
            res = bootstrap((acc,), np.median, n_resamples=resamples, method="percentile", random_state=seed)
            mlo, mhi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        elif len(acc):
            mlo = mhi = float(acc[0])
        rows.append({
            "population": pop, "strategy": g["strategy"].iloc[0], "n": len(g), "seeds": g["search_seed"].nunique(),
            "best_model": top["model"], "best_val_top1": float(top["val_top1"]), "best_top1": float(top["test_top1"]),
            "best_top1_lo": lo, "best_top1_hi": hi, "max_top1": float(acc.max()), "median_top1": float(np.median(acc)),
            "median_top1_lo": mlo, "median_top1_hi": mhi, "mean_top1": float(acc.mean()),
        })  # fmt: skip
    return pd.DataFrame(rows)


def write_search_figures(run_dir: str | Path) -> list[Path]:
    """Render the ``search_progress`` and ``search_edf`` figures into ``RUN_DIR/figures/`` from the run's tables."""
    return [o.path for o in render_figures(run_dir, ["search_progress", "search_edf"]) if o.path is not None]
