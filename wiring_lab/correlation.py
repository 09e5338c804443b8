"""Correlate damage or accuracy with graph metrics: coefficients, bootstrap intervals, regression.

Input is one of two tidy tables:
- damage rows (``damage.csv``): node rows get the node metrics of the removed node (columns
  named as in :data:`wiring_lab.metrics.NODE_METRICS`; a column the table already has, such as
  ``in_degree``, is kept); edge rows get the metrics of both endpoints, prefixed ``source_`` and
  ``target_`` (NaN where the endpoint is the input or output node). ``intact`` rows are left out.
  Rows are grouped by ``kind`` (node / edge) and any ``--by`` columns.
- model rows (``models.csv``): each model gets the graph metrics of its stage graphs, averaged
  over stages, or one row per stage with ``by=("stage",)``.

The stage graphs come from the checkpoints: ``checkpoints`` (a directory of ``<model>.pt``), the
table's ``checkpoint`` column, the table's JSON sidecar (a ``checkpoint`` key), or
``<table dir>/../checkpoints`` (a run directory). Metric columns already in the table are used
as they are, with no checkpoint needed.

For every group, metric and method (Pearson, Spearman, Kendall): ``n`` complete pairs, the
coefficient ``r`` and its two-sided ``p`` from scipy (``pearsonr``, ``spearmanr``,
``kendalltau``), and a seeded percentile bootstrap 95% interval ``lo``..``hi`` (pairs resampled
with replacement; resamples where a side is constant are dropped). Fewer than 3 pairs, or a
constant side, gives NaN. Regression: the target on all metrics of the group (standardised,
``RidgeCV``), R^2 from K-fold cross-validation (shuffled, seeded), and permutation importance
(drop in held-out R^2 when one metric is shuffled), averaged over the folds.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from wiring_lab._io import UserError
from wiring_lab.graphs import GraphSpec

METHODS: tuple[str, ...] = ("pearson", "spearman", "kendall")
CORRELATION_COLUMNS = ["metric", "target", "group", "n", "method", "r", "lo", "hi", "p"]
REGRESSION_COLUMNS = ["group", "target", "n", "folds", "r2_mean", "r2_std", "metric", "importance_mean", "importance_std"]


@dataclass(frozen=True)
class CorrelateConfig:
    """What to correlate: target, metrics, grouping, bootstrap and cross-validation settings."""

    target: str | None = None  # default: delta_top1 for damage rows, top1 for model rows
    metrics: tuple[str, ...] | None = None  # default: every node (damage) or graph (models) metric
    by: tuple[str, ...] = ()  # extra grouping columns, e.g. ("stage",)
    n_boot: int = 1000  # bootstrap resamples for the 95% intervals
    folds: int = 5  # cross-validation folds of the regression
    seed: int = 0  # bootstrap and fold shuffling
    backend: str = "tensor"  # metrics backend for the joined metrics

    def __post_init__(self) -> None:
        if self.n_boot < 10:
            raise ValueError(f"n_boot must be at least 10 (got {self.n_boot}); 1000 is usual")
        if self.folds < 2:
            raise ValueError(f"folds must be at least 2 (got {self.folds})")
        if self.seed < 0:
            raise ValueError(f"seed must be non-negative (got {self.seed})")
        object.__setattr__(self, "by", tuple(self.by))
        if self.metrics is not None:
            object.__setattr__(self, "metrics", tuple(self.metrics))


@dataclass
class CorrelationResult:
    """Joined table, correlation rows, regression rows and the config that made them."""

    data: pd.DataFrame
    correlations: pd.DataFrame
    regression: pd.DataFrame
    config: CorrelateConfig
    kind: str  # "damage" or "models"
    notes: list[str] = field(default_factory=list)


# --- finding the graphs ----------------------------------------------------------------------
def table_kind(df: pd.DataFrame, path: str | Path = "table") -> str:
    """``damage`` for damage rows, ``models`` for per-model accuracy rows."""
    cols = set(df.columns)
    if {"model", "kind", "stage"} <= cols:
        return "damage"
    if "model" in cols and "kind" not in cols:
        return "models"
    missing = "model" if "model" not in cols else "stage"
    raise UserError(f"{path}: neither damage rows (model, kind, stage, ...) nor model rows (model, top1, ...): missing column {missing!r}")


def _sidecar_checkpoints(table_path: Path) -> list[str]:
    """Checkpoint paths named in the table's JSON sidecar (any ``checkpoint``/``checkpoints`` key)."""
    found: list[str] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            for key, value in obj.items():
                if key in ("checkpoint", "checkpoints") and isinstance(value, str):
                    found.append(value)
                elif key in ("checkpoint", "checkpoints") and isinstance(value, list):
                    found.extend(v for v in value if isinstance(v, str))
                else:
                    walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)

    for side in (table_path.with_suffix(".json"), table_path.with_name(table_path.name + ".json")):
        if side.is_file():
            try:
                walk(json.loads(side.read_text(encoding="utf-8")))
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise UserError(f"{side}: sidecar is not valid JSON") from None
    return found


def find_checkpoints(df: pd.DataFrame, table_path: str | Path, checkpoints: str | Path | None = None) -> dict[str, Path]:
    """Checkpoint path of every model of the table (see the module docstring for the search order)."""
    table_path = Path(table_path)
    models = sorted(str(m) for m in df["model"].dropna().unique())
    if checkpoints is not None:
        root = Path(checkpoints)
        if not root.is_dir():
            raise UserError(f"{root}: --checkpoints must be a directory of <model>.pt files")
        candidates = {m: [root / f"{m}.pt"] for m in models}
    else:
        run_dir = table_path.parent.parent
        candidates = {m: [] for m in models}
        if "checkpoint" in df.columns:
            for m, c in df.groupby("model")["checkpoint"].first().items():
                if isinstance(c, str) and c:
                    candidates[str(m)] += [Path(c), run_dir / c, table_path.parent / c]
        for c in _sidecar_checkpoints(table_path):
            p = Path(c)
            if p.stem in candidates:
                candidates[p.stem] += [p, table_path.parent / p]
        for m in models:
            candidates[m].append(run_dir / "checkpoints" / f"{m}.pt")
    out = {}
    for m, paths in candidates.items():
        hit = next((p for p in paths if p.is_file()), None)
        if hit is None:
            raise UserError(f"{table_path}: no checkpoint found for model {m!r} (looked at {paths[-1]}); pass --checkpoints DIR")
        out[m] = hit
    return out


def _stage_graphs(paths: dict[str, Path]) -> dict[str, list[GraphSpec]]:
    """Stage graphs of every model's checkpoint."""
    from wiring_lab.metrics import read_stage_graphs

    return {m: read_stage_graphs(p)[1] for m, p in paths.items()}


# --- checking a table ------------------------------------------------------------------------
DAMAGE_KINDS = ("intact", "node", "edge")


def check_table(df: pd.DataFrame, kind: str, target: str, path: str | Path = "table") -> None:
    """Column types a correlation relies on: a numeric target with finite values, known row kinds, integer ids."""
    values = df[target]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        bad = next((v for v in values if not isinstance(v, (int, float, np.number))), values.iloc[0])
        raise UserError(f"{path}: column {target!r} must be numeric (found {bad!r})")
    if not np.isfinite(values.to_numpy(dtype=float)).any():
        raise UserError(f"{path}: column {target!r} holds no finite value")
    if kind != "damage":
        return
    kinds = set(df["kind"].astype(str))
    if not kinds <= set(DAMAGE_KINDS):
        raise UserError(f"{path}: column 'kind' holds {sorted(kinds - set(DAMAGE_KINDS))[0]!r}; expected intact, node or edge")
    for col in ("stage", "node", "source", "target"):
        if col not in df.columns:
            continue
        ids = pd.to_numeric(df[col], errors="coerce")
        given = df[col].notna()
        if col == "stage":
            given &= df["kind"].astype(str) != "intact"
        bad = given & ~(ids.notna() & (ids >= 0) & (ids == ids.round()))
        if bad.any():
            raise UserError(f"{path}: row {int(np.flatnonzero(bad.to_numpy())[0]) + 2}: column {col!r} must hold node / stage ids (found {df[col][bad].iloc[0]!r})")


def _check_ids(df: pd.DataFrame, graphs: dict[str, list[GraphSpec]], path: str | Path = "table") -> None:
    """Every damaged stage, node and edge end must exist in its model's stage graphs."""
    rows = df[df["kind"].astype(str) != "intact"]
    for i, r in rows.iterrows():
        specs = graphs.get(str(r["model"]))
        if specs is None:
            continue
        stage = int(r["stage"])
        if stage >= len(specs):
            raise UserError(f"{path}: row {i + 2}: model {r['model']!r} has {len(specs)} stages, no stage {stage}")
        n = specs[stage].n
        for col, limit in (("node", n), ("source", n + 1), ("target", n + 2)):
            v = r.get(col)
            if v is not None and not pd.isna(v) and int(v) >= limit:
                raise UserError(f"{path}: row {i + 2}: {col} {int(v)} is not in stage {stage} of model {r['model']!r} (ids 0..{limit - 1})")


# --- joining metrics -------------------------------------------------------------------------
def join_damage_metrics(df: pd.DataFrame, graphs: dict[str, list[GraphSpec]], backend: str = "tensor") -> pd.DataFrame:
    """Damage rows (intact rows dropped) with the node metrics of the removed node / edge endpoints."""
    from wiring_lab.metrics import NODE_METRICS, stage_node_metrics

    nodes = pd.concat([stage_node_metrics(g, m, backend=backend) for m, g in graphs.items()], ignore_index=True)
    data = df[df["kind"].astype(str) != "intact"].copy()
    data["_row"] = np.arange(len(data))
    for col in ("stage", "node", "source", "target"):
        if col in data.columns:
            data[col] = pd.to_numeric(data[col], errors="coerce")
    keys = ["model", "stage"]
    nodes["model"] = nodes["model"].astype(str)
    data["model"] = data["model"].astype(str)
    plain = [c for c in NODE_METRICS if c not in data.columns]
    if "node" in data.columns and plain:
        data = data.merge(nodes[[*keys, "node", *plain]], on=[*keys, "node"], how="left")
    for end in ("source", "target"):
        if end in data.columns:
            renamed = nodes.rename(columns={"node": end, **{c: f"{end}_{c}" for c in NODE_METRICS}})
            new = [f"{end}_{c}" for c in NODE_METRICS if f"{end}_{c}" not in data.columns]
            data = data.merge(renamed[[*keys, end, *new]], on=[*keys, end], how="left")
    return data.sort_values("_row").drop(columns="_row").reset_index(drop=True)


def join_model_metrics(df: pd.DataFrame, graphs: dict[str, list[GraphSpec]], by_stage: bool, backend: str = "tensor") -> pd.DataFrame:
    """Model rows with their stages' graph metrics: the mean over stages, or one row per stage."""
    from wiring_lab.metrics import EXTRA_GRAPH_METRICS, GRAPH_METRICS, stage_metrics

    stages = pd.concat([stage_metrics(g, m, backend=backend) for m, g in graphs.items()], ignore_index=True)
    names = [c for c in GRAPH_METRICS + EXTRA_GRAPH_METRICS if c not in df.columns]
    stages["model"] = stages["model"].astype(str)
    data = df.copy()
    data["model"] = data["model"].astype(str)
    if by_stage:
        return data.merge(stages[["model", "stage", *names]], on="model", how="left")
    means = stages.groupby("model", sort=False)[names].mean().reset_index()
    return data.merge(means, on="model", how="left")


# --- statistics ------------------------------------------------------------------------------
def _rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair of (R, n) arrays; NaN where a row is constant."""
    xc = x - x.mean(1, keepdims=True)
    yc = y - y.mean(1, keepdims=True)
    den = np.sqrt((xc * xc).sum(1) * (yc * yc).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (xc * yc).sum(1) / np.where(den > 0, den, 1.0), np.nan)


def _statistic(method: str, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Coefficient and two-sided p-value from scipy."""
    from scipy import stats

    fn = {"pearson": stats.pearsonr, "spearman": stats.spearmanr, "kendall": stats.kendalltau}[method]
    res = fn(x, y)
    return float(res[0]), float(res[1])


def _bootstrap(method: str, x: np.ndarray, y: np.ndarray, n_boot: int, rng: np.random.Generator) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the coefficient (paired resampling)."""
    from scipy import stats

    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    xs, ys = x[idx], y[idx]
    if method == "pearson":
        r = _rowwise_pearson(xs, ys)
    elif method == "spearman":
        r = _rowwise_pearson(stats.rankdata(xs, axis=1), stats.rankdata(ys, axis=1))
    else:
        r = np.array([stats.kendalltau(a, b)[0] if np.ptp(a) > 0 and np.ptp(b) > 0 else np.nan for a, b in zip(xs, ys)])
    r = r[np.isfinite(r)]
    if r.size < n_boot / 2:  # most resamples degenerate: no honest interval
        return math.nan, math.nan
    lo, hi = np.percentile(r, [2.5, 97.5])
    return float(lo), float(hi)


def correlation_rows(data: pd.DataFrame, target: str, metrics: Sequence[str], group: str, n_boot: int, seed: int) -> list[dict]:
    """Pearson, Spearman and Kendall rows (with bootstrap intervals) of ``target`` on each metric."""
    rows = []
    y_all = pd.to_numeric(data[target], errors="coerce").to_numpy(float)
    for i, metric in enumerate(metrics):
        x_all = pd.to_numeric(data[metric], errors="coerce").to_numpy(float)
        ok = np.isfinite(x_all) & np.isfinite(y_all)
        x, y = x_all[ok], y_all[ok]
        for j, method in enumerate(METHODS):
            row = {"metric": metric, "target": target, "group": group, "n": int(ok.sum()), "method": method, "r": math.nan, "lo": math.nan, "hi": math.nan, "p": math.nan}
            if len(x) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
                row["r"], row["p"] = _statistic(method, x, y)
                rng = np.random.default_rng(np.random.SeedSequence([seed, i, j]))
                row["lo"], row["hi"] = _bootstrap(method, x, y, n_boot, rng)
            rows.append(row)
    return rows


def regression_rows(data: pd.DataFrame, target: str, metrics: Sequence[str], group: str, folds: int, seed: int) -> list[dict]:
    """Cross-validated ridge regression of ``target`` on ``metrics``: R^2 and permutation importance."""
    from sklearn.inspection import permutation_importance
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = data[[*metrics, target]].apply(pd.to_numeric, errors="coerce")
    usable = [m for m in metrics if frame[m].notna().any() and frame[m].nunique(dropna=True) > 1]
    frame = frame[[*usable, target]].dropna()
    n = len(frame)
    base = {"group": group, "target": target, "n": n, "folds": min(folds, n), "r2_mean": math.nan, "r2_std": math.nan}
    if not usable or n < 2 * folds or frame[target].nunique() < 2:
        return [{**base, "metric": m, "importance_mean": math.nan, "importance_std": math.nan} for m in usable or metrics]
    X, y = frame[usable].to_numpy(float), frame[target].to_numpy(float)
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
    scores, importances = [], []
    for k, (train, test) in enumerate(KFold(n_splits=folds, shuffle=True, random_state=seed).split(X)):
        fitted = model.fit(X[train], y[train])
        scores.append(fitted.score(X[test], y[test]))
        imp = permutation_importance(fitted, X[test], y[test], n_repeats=10, random_state=seed + k, scoring="r2")
        importances.append(imp.importances_mean)
    imp = np.array(importances)  # (folds, metrics)
    base.update(r2_mean=float(np.mean(scores)), r2_std=float(np.std(scores)))
    return [{**base, "metric": m, "importance_mean": float(imp[:, i].mean()), "importance_std": float(imp[:, i].std())} for i, m in enumerate(usable)]


# --- the whole job ---------------------------------------------------------------------------
def _default_metrics(kind: str, data: pd.DataFrame) -> list[str]:
    """Every metric column of the joined table."""
    from wiring_lab.metrics import GRAPH_METRICS, NODE_METRICS

    if kind == "models":
        return [c for c in GRAPH_METRICS if c in data.columns]
    names = list(NODE_METRICS) + [f"{end}_{c}" for end in ("source", "target") for c in NODE_METRICS]
    return [c for c in names if c in data.columns]


def _all_metric_names(kind: str) -> list[str]:
    """Metric names a table of this kind can be joined with."""
    from wiring_lab.metrics import EXTRA_GRAPH_METRICS, GRAPH_METRICS, NODE_METRICS

    if kind == "models":
        return list(GRAPH_METRICS + EXTRA_GRAPH_METRICS)
    return list(NODE_METRICS) + [f"{end}_{c}" for end in ("source", "target") for c in NODE_METRICS]


def _needs_join(kind: str, df: pd.DataFrame, requested: Sequence[str] | None) -> bool:
    """Whether some requested (or default) metric is not already a column of the table."""
    from wiring_lab.metrics import GRAPH_METRICS, NODE_METRICS

    if requested is not None:
        return any(m not in df.columns for m in requested)
    wanted = GRAPH_METRICS if kind == "models" else NODE_METRICS
    return any(m not in df.columns for m in wanted)


def correlate(
    df: pd.DataFrame,
    config: CorrelateConfig = CorrelateConfig(),
    table_path: str | Path = "table",
    checkpoints: str | Path | None = None,
) -> CorrelationResult:
    """Join metrics to damage or model rows, then correlation and regression rows per group."""
    if df is None or len(df) == 0:
        raise UserError(f"{table_path}: the table has no rows")
    kind = table_kind(df, table_path)
    target = config.target or ("delta_top1" if kind == "damage" else "top1")
    if target not in df.columns:
        raise UserError(f"{table_path}: no target column {target!r}; columns are {', '.join(map(str, df.columns))}")
    check_table(df, kind, target, table_path)
    for col in config.by:
        if col not in df.columns and not (col == "stage" and kind == "models"):
            raise UserError(f"{table_path}: no column {col!r} to group by")
    if config.metrics is not None:
        known = set(df.columns) | set(_all_metric_names(kind))
        unknown = [m for m in config.metrics if m not in known]
        if unknown:
            raise UserError(f"{table_path}: unknown metric {unknown[0]!r}; choose from {', '.join(_all_metric_names(kind))}")
    data = df
    if _needs_join(kind, df, config.metrics):
        graphs = _stage_graphs(find_checkpoints(df, table_path, checkpoints))
        if kind == "damage":
            _check_ids(df, graphs, table_path)
            data = join_damage_metrics(df, graphs, config.backend)
        else:
            data = join_model_metrics(df, graphs, "stage" in config.by, config.backend)
    elif kind == "damage":
        data = df[df["kind"].astype(str) != "intact"].reset_index(drop=True)
    metrics = list(config.metrics) if config.metrics is not None else _default_metrics(kind, data)
    missing = [m for m in metrics if m not in data.columns]
    if missing:
        available = ", ".join(_default_metrics(kind, data)) or "none"
        raise UserError(f"{table_path}: unknown metric {missing[0]!r}; choose from {available}")
    if not metrics:
        raise UserError(f"{table_path}: no metric to correlate; pass --metrics a,b,...")
    if len(data) == 0:
        raise UserError(f"{table_path}: no damaged variants (only intact rows) to correlate")
    group_cols = (["kind"] if kind == "damage" else []) + list(config.by)
    corr, reg = [], []
    groups = data.groupby(group_cols, sort=True, dropna=False) if group_cols else [((), data)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{c}={v}" for c, v in zip(group_cols, key)) or "all"
        usable = [m for m in metrics if part[m].notna().any()]
        corr += correlation_rows(part, target, usable, label, config.n_boot, config.seed)
        reg += regression_rows(part, target, usable, label, config.folds, config.seed)
    return CorrelationResult(
        data=data,
        correlations=pd.DataFrame(corr, columns=CORRELATION_COLUMNS),
        regression=pd.DataFrame(reg, columns=REGRESSION_COLUMNS),
        config=config,
        kind=kind,
    )


def format_summary(result: CorrelationResult, top: int = 5) -> str:
    """A short printed summary: per group, the strongest Spearman correlations and the regression."""
    lines = []
    corr, reg = result.correlations, result.regression
    for group, part in corr.groupby("group", sort=False):
        sp = part[part["method"] == "spearman"].dropna(subset=["r"])
        sp = sp.reindex(sp["r"].abs().sort_values(ascending=False).index).head(top)
        n = int(part["n"].max()) if len(part) else 0
        lines.append(f"[{group}] target {part['target'].iloc[0]}, up to {n} rows; strongest Spearman correlations:")
        for _, r in sp.iterrows():
            lines.append(f"  {r['metric']:<24} rho {r['r']:+.3f}  95% CI [{r['lo']:+.3f}, {r['hi']:+.3f}]  p {r['p']:.2g}  (n={r['n']})")
        if sp.empty:
            lines.append("  (no metric with at least 3 complete, non-constant pairs)")
        rg = reg[reg["group"] == group]
        if len(rg) and np.isfinite(rg["r2_mean"].iloc[0]):
            best = rg.sort_values("importance_mean", ascending=False).head(3)
            imp = ", ".join(f"{m} {v:.3f}" for m, v in zip(best["metric"], best["importance_mean"]))
            lines.append(f"  ridge regression on {len(rg)} metrics: cross-validated R^2 {rg['r2_mean'].iloc[0]:.3f} +- {rg['r2_std'].iloc[0]:.3f} ({rg['folds'].iloc[0]} folds); permutation importance: {imp}")
        elif len(rg):
            lines.append(f"  regression skipped: {rg['n'].iloc[0]} complete rows (needs at least 2 x folds)")
    return "\n".join(lines)


def config_record(result: CorrelationResult, table_path: str | Path) -> dict[str, Any]:
    """JSON sidecar contents for a correlations table."""
    from wiring_lab._io import library_versions

    return {"config": asdict(result.config), "table": str(table_path), "kind": result.kind, "versions": library_versions()}


def coefficient(method: str, x: Sequence[float], y: Sequence[float]) -> float:
    """The ``method`` (pearson, spearman or kendall) coefficient of two samples; NaN under three pairs or a constant."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return _statistic(method, x, y)[0]
