"""Correlate damage or accuracy with graph metrics: coefficients, cluster-aware intervals, mixed model, regression.

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

Nodes of one network are not independent samples, so the resampling unit is a whole network
(``cluster="model"``, the default), a stage of one network (``"stage"``) or a row (``"none"``).
Damage rows are grouped by ``kind``, by any of ``ablation`` / ``cascade`` / ``recalibrate_bn`` that
varies (different experiments are never pooled) and by any ``--by`` columns. For every group,
metric and method (Pearson, Spearman, Kendall):

- pooled: ``n`` complete pairs, the coefficient ``r`` and a seeded 95% bootstrap interval
  ``lo``..``hi`` that resamples whole units (:mod:`wiring_lab.resampling`): percentile, widened
  about the estimate by sqrt(G/(G-1)) for G units. With a cluster unit and fewer than
  ``min_clusters`` (8) units in the group there is no interval and ``ci_note`` says so, with n;
- per network (damage rows): the same coefficient within each network (``per_network`` table) and,
  in the pooled row, their median and quartiles (``net_median``, ``net_q25``, ``net_q75``) over
  ``n_net`` networks. The row's ``p`` is the one-sample t test of those per-network coefficients
  over networks (``p_unit`` says so): scipy's p on the pooled rows would treat the nodes of one
  network as independent and is never reported. Model rows (one per network) get scipy's p;
- partial (``pearson_partial``, ``spearman_partial``): the coefficient after regressing both sides
  on the ``controls`` the table has (stage as a factor, depth as a number; ranks first for
  Spearman), with no interval, and no p for damage rows;
- ``p_holm`` and ``p_bh``: Holm and Benjamini-Hochberg adjustment over every finite ``p`` of the
  table (one family per run). ``notes`` warns when a generator has fewer than 8 networks.

Slopes (damage rows, the headline test of "damage grows with out-degree"):
:func:`wiring_lab.network_inference.mixed_slope`, statsmodels ``MixedLM`` with a random intercept
and a random slope per network (``random="slope"``, one fit per generator; ``"intercept"``: the
older pooled random-intercept model), 95% intervals on t(networks - 1), falling back to the
per-network two-stage estimate where the fit fails (``method`` says which). Regression
(:mod:`wiring_lab.regression`): the target on all metrics of the group (standardised,
``RidgeCV``), R^2 from group k-fold cross-validation over the resampling units (shuffled,
seeded; a network is never on both sides), and permutation importance only where the
cross-validated R^2 is positive (else ``note`` says why).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from wiring_lab._io import UserError, library_versions
from wiring_lab.columns import canonical_metric, rename_legacy_columns
from wiring_lab.graphs import GraphSpec
from wiring_lab.metrics import (
    EXTRA_GRAPH_METRICS,
    GRAPH_METRICS,
    NODE_METRICS,
    read_stage_graphs,
    stage_metrics,
    stage_node_metrics,
)
from wiring_lab.network_inference import (
    METHODS,
    MIN_NETWORKS,
    MIXED_COLUMNS,
    RANDOM_EFFECTS,
    mixed_slope,
    per_network_correlations,
    t_summary,
)
from wiring_lab.regression import REGRESSION_COLUMNS, regression_rows
from wiring_lab.resampling import (
    CLUSTER_UNITS,
    MIN_CLUSTERS,
    adjust_pvalues,
    cluster_bootstrap_ci,
    cluster_codes,
    cluster_columns,
    usable_pair,
)

CORRELATION_COLUMNS = [
    "metric", "target", "group", "n", "method", "r", "lo", "hi", "p", "p_unit", "p_holm", "p_bh",
    "cluster", "n_clusters", "ci_note", "net_median", "net_q25", "net_q75", "n_net", "controls",
]  # fmt: skip
SLOPE_METRIC_DEFAULTS = ("out_degree", "out_degree_graph")  # the headline slope: the first of these the table has
DAMAGE_SPLITS = ("ablation", "cascade", "recalibrate_bn")  # damage settings never pooled: rows are grouped by them when they vary


@dataclass(frozen=True)
class CorrelateConfig:
    """What to correlate: target, metrics, grouping, resampling unit, bootstrap, mixed model and cross-validation settings."""

    target: str | None = None  # default: delta_top1 for damage rows, top1 for model rows
    metrics: tuple[str, ...] | None = None  # default: every node (damage) or graph (models) metric
    by: tuple[str, ...] = ()  # extra grouping columns, e.g. ("stage",)
    n_boot: int = 1000  # bootstrap resamples for the 95% intervals
    folds: int = 5  # cross-validation folds of the regression (group k-fold by the cluster unit)
    seed: int = 0  # bootstrap and fold shuffling
    backend: str = "tensor"  # metrics backend for the joined metrics
    cluster: str = "model"  # resampling unit: model (a network), stage (model x stage) or none (rows)
    min_clusters: int = MIN_CLUSTERS  # units a group needs for a cluster-bootstrap interval
    slope_metrics: tuple[str, ...] | None = None  # mixed-model slopes (damage rows); default: out-degree
    generator: str = "generator"  # column whose levels get their own mixed-model slope
    controls: tuple[str, ...] = ("stage", "depth")  # partial correlations control for these (when present)
    random: str = "slope"  # mixed model's random effects per network: slope (intercept and slope) or intercept

    def __post_init__(self) -> None:
        if self.n_boot < 10:
            raise ValueError(f"n_boot must be at least 10 (got {self.n_boot}); 1000 is usual")
        if self.folds < 2:
            raise ValueError(f"folds must be at least 2 (got {self.folds})")
        if self.seed < 0:
            raise ValueError(f"seed must be non-negative (got {self.seed})")
        if self.cluster not in CLUSTER_UNITS:
            raise ValueError(f"unknown cluster unit {self.cluster!r}; choose {', '.join(CLUSTER_UNITS)}")
        if self.random not in RANDOM_EFFECTS:
            raise ValueError(f"unknown random effects {self.random!r}; choose {' or '.join(RANDOM_EFFECTS)}")
        if self.min_clusters < 2:
            raise ValueError(f"min_clusters must be at least 2 (got {self.min_clusters}); 8 is the default")
        object.__setattr__(self, "by", tuple(self.by))
        object.__setattr__(self, "controls", tuple(self.controls))
        if self.metrics is not None:
            object.__setattr__(self, "metrics", tuple(self.metrics))
        if self.slope_metrics is not None:
            object.__setattr__(self, "slope_metrics", tuple(self.slope_metrics))


@dataclass
class CorrelationResult:
    """Joined table, correlation rows, per-network rows, mixed-model slopes, regression rows and the config that made them."""

    data: pd.DataFrame
    correlations: pd.DataFrame
    regression: pd.DataFrame
    config: CorrelateConfig
    kind: str  # "damage" or "models"
    notes: list[str] = field(default_factory=list)
    per_network: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per group, network, metric and method
    mixed: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per group, slope metric and generator
    groups: dict[str, dict[str, int]] = field(default_factory=dict)  # rows, networks and resampling units per group


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
            except RecursionError:  # parsed, but nested too deep to walk
                raise UserError(f"{side}: sidecar nests too deeply to read") from None
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
def settle_rounding(values: np.ndarray, digits: int = 12) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits, so that metrics equal up to float
    rounding (a mean summed in another order, a backend's arithmetic) tie in the rank statistics
    instead of being ordered by noise."""
    a = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        exponent = np.floor(np.log10(np.abs(a)))
        scale = np.where(np.isfinite(exponent), 10.0 ** (digits - 1 - np.where(np.isfinite(exponent), exponent, 0)), 1.0)
        out = np.round(a * scale) / scale
    return np.where(np.isfinite(out), out, a)


def join_damage_metrics(df: pd.DataFrame, graphs: dict[str, list[GraphSpec]], backend: str = "tensor") -> pd.DataFrame:
    """Damage rows (intact rows dropped) with the node metrics of the removed node / edge endpoints."""
    nodes = pd.concat([stage_node_metrics(g, m, backend=backend) for m, g in graphs.items()], ignore_index=True)
    nodes[list(NODE_METRICS)] = settle_rounding(nodes[list(NODE_METRICS)].to_numpy(float))
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
    stages = pd.concat([stage_metrics(g, m, backend=backend) for m, g in graphs.items()], ignore_index=True)
    names = [c for c in GRAPH_METRICS + EXTRA_GRAPH_METRICS if c not in df.columns]
    stages["model"] = stages["model"].astype(str)
    data = df.copy()
    data["model"] = data["model"].astype(str)
    if by_stage:
        return data.merge(stages[["model", "stage", *names]], on="model", how="left")
    means = stages.groupby("model", sort=False)[names].mean().reset_index()
    means[names] = settle_rounding(means[names].to_numpy(float))
    return data.merge(means, on="model", how="left")


def _design(d: pd.DataFrame, controls: Sequence[str], categorical: Sequence[str], rank: bool) -> np.ndarray:
    """Intercept plus control columns: dummies for categorical ones, (ranked) values for the rest."""
    cols = [np.ones(len(d))]
    for c in controls:
        if c in categorical:
            cols += [(d[c] == v).to_numpy(float) for v in sorted(d[c].unique())[1:]]
        else:
            v = d[c].to_numpy(float)
            cols.append(stats.rankdata(v) if rank else v)
    return np.column_stack(cols)


def partial_correlation(
    df: pd.DataFrame,
    x: str,
    y: str,
    controls: Sequence[str] = ("stage", "depth"),
    method: str = "spearman",
    categorical: Sequence[str] = ("stage",),
) -> dict[str, Any]:
    """Correlation of ``x`` and ``y`` after regressing both on ``controls`` (dict: r, p, n, controls); Spearman ranks first."""
    if method not in ("pearson", "spearman"):
        raise ValueError(f"partial correlations are pearson or spearman, not {method!r}")
    controls = [c for c in controls if c in df.columns and c not in (x, y)]
    d = df[[x, y, *controls]].apply(pd.to_numeric, errors="coerce").dropna()
    controls = [c for c in controls if d[c].nunique() > 1]  # a constant control removes nothing
    out = {"r": math.nan, "p": math.nan, "n": len(d), "controls": ",".join(controls)}
    xs, ys = d[x].to_numpy(float), d[y].to_numpy(float)
    if not controls or not usable_pair(xs, ys):
        return out
    if method == "spearman":
        xs, ys = stats.rankdata(xs), stats.rankdata(ys)
    z = _design(d, controls, categorical, rank=method == "spearman")
    dof = len(d) - z.shape[1] - 1  # n - 2 - (number of control columns)
    if dof < 1 or np.linalg.matrix_rank(z) < z.shape[1]:
        return out
    rx = xs - z @ np.linalg.lstsq(z, xs, rcond=None)[0]
    ry = ys - z @ np.linalg.lstsq(z, ys, rcond=None)[0]
    den = math.sqrt(float(rx @ rx) * float(ry @ ry))
    if den <= 1e-12 * max(1.0, float(xs @ xs) * float(ys @ ys)) ** 0.5:
        return out
    r = float(np.clip(rx @ ry / den, -1.0, 1.0))
    t = r * math.sqrt(dof / max(1e-300, 1 - r * r))
    out.update(r=r, p=float(2 * stats.t.sf(abs(t), dof)))
    return out


def correlation_rows(
    data: pd.DataFrame,
    target: str,
    metrics: Sequence[str],
    group: str,
    n_boot: int,
    seed: int,
    cluster: str | Sequence[str] | None = "model",
    min_clusters: int = MIN_CLUSTERS,
    controls: Sequence[str] = ("stage", "depth"),
    per_network: pd.DataFrame | None = None,
) -> list[dict]:
    """Pooled Pearson, Spearman and Kendall rows (cluster-bootstrap intervals, per-network summary) and partial rows."""
    rows = []
    unit = ",".join(cluster_columns(cluster)) or "none"
    for i, metric in enumerate(metrics):
        for j, method in enumerate(METHODS):
            rng = np.random.default_rng(np.random.SeedSequence([seed, i, j]))
            ci = cluster_bootstrap_ci(data, metric, target, cluster, method, n_boot, rng, min_clusters)
            # p is never the rows' (they are not independent): with several rows per network it is the t test
            # of the per-network coefficients over networks; a table of one row per network has networks as rows
            row = {"metric": metric, "target": target, "group": group, "n": ci["n"], "method": method, "r": ci["estimate"], "lo": ci["lo"],
                   "hi": ci["hi"], "p": ci["p"] if per_network is None else math.nan, "p_unit": "networks" if per_network is None else "",
                   "cluster": unit, "n_clusters": ci["n_clusters"], "ci_note": ci["note"], "controls": ""}
            if per_network is not None and len(per_network):
                r_net = per_network.loc[(per_network["metric"] == metric) & (per_network["method"] == method), "r"].dropna()
                if len(r_net):
                    row.update(net_median=float(r_net.median()), net_q25=float(r_net.quantile(0.25)), net_q75=float(r_net.quantile(0.75)))
                    row.update(p=t_summary(r_net)["p"], p_unit=f"t test over {len(r_net)} networks")
                row["n_net"] = len(r_net)
            rows.append(row)
        for method in ("pearson", "spearman"):
            part = partial_correlation(data, metric, target, controls, method)
            if part["controls"]:
                rows.append({"metric": metric, "target": target, "group": group, "n": part["n"], "method": f"{method}_partial", "r": part["r"],
                             "lo": math.nan, "hi": math.nan, "p": part["p"] if per_network is None else math.nan, "p_unit": "networks" if per_network is None else "",
                             "cluster": unit, "n_clusters": ci["n_clusters"], "controls": part["controls"],
                             "ci_note": "no interval for partial coefficients" + ("" if per_network is None else "; no p: its rows are not independent")})
    return rows


# --- the whole job ---------------------------------------------------------------------------
def _default_metrics(kind: str, data: pd.DataFrame) -> list[str]:
    """Every metric column of the joined table."""
    if kind == "models":
        return [c for c in GRAPH_METRICS if c in data.columns]
    names = list(NODE_METRICS) + [f"{end}_{c}" for end in ("source", "target") for c in NODE_METRICS]
    return [c for c in names if c in data.columns]


def _all_metric_names(kind: str) -> list[str]:
    """Metric names a table of this kind can be joined with."""
    if kind == "models":
        return list(GRAPH_METRICS + EXTRA_GRAPH_METRICS)
    return list(NODE_METRICS) + [f"{end}_{c}" for end in ("source", "target") for c in NODE_METRICS]


def _needs_join(kind: str, df: pd.DataFrame, requested: Sequence[str] | None) -> bool:
    """Whether some requested (or default) metric is not already a column of the table."""
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

    df = rename_legacy_columns(df)  # tables and metric names from before the *_graph / *_dag scheme
    if config.metrics is not None:
        config = replace(config, metrics=tuple(canonical_metric(m) for m in config.metrics))
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
    splits = [c for c in DAMAGE_SPLITS if kind == "damage" and c in data.columns and c not in config.by and data[c].nunique(dropna=False) > 1]
    group_cols = (["kind"] if kind == "damage" else []) + splits + list(config.by)
    try:
        cluster_codes(data, config.cluster)  # a missing unit column is a one-line error before any work
    except UserError as e:
        raise UserError(f"{table_path}: {e}") from None
    slope_metrics = config.slope_metrics if config.slope_metrics is not None else [m for m in SLOPE_METRIC_DEFAULTS if m in data.columns][:1]
    if config.slope_metrics is not None and kind == "damage":
        unknown = [m for m in slope_metrics if m not in data.columns]
        if unknown:
            raise UserError(f"{table_path}: no column {unknown[0]!r} for a mixed-model slope; columns are {', '.join(map(str, data.columns))}")
    corr, reg, nets, mixed, notes, groups_info = [], [], [], [], [], {}
    groups = data.groupby(group_cols, sort=True, dropna=False) if group_cols else [((), data)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{c}={v}" for c, v in zip(group_cols, key)) or "all"
        usable = [m for m in metrics if part[m].notna().any()]
        per_net = per_network_correlations(part, target, usable, label) if kind == "damage" else None
        if per_net is not None:
            nets.append(per_net)
        corr += correlation_rows(part, target, usable, label, config.n_boot, config.seed, config.cluster, config.min_clusters, config.controls, per_net)
        reg += regression_rows(part, target, usable, label, config.folds, config.seed, config.cluster)
        groups_info[label] = {"n_rows": len(part), "n_networks": int(part["model"].nunique()), "n_clusters": len(np.unique(cluster_codes(part, config.cluster)))}
        if kind == "damage":
            covariates = [c for c in ("stage",) if c not in config.by]
            for metric in slope_metrics:
                if part[metric].notna().any():
                    mixed.append(mixed_slope(part, metric, target, config.generator, covariates, "model", label, config.random))
    if config.generator in data.columns:  # warnings count networks per generator, not over the pooled table
        per_gen = data.groupby(data[config.generator].astype(str))["model"].nunique()
        few = per_gen[per_gen < MIN_NETWORKS]
        if len(few):
            notes.append("few networks per generator: " + ", ".join(f"{g} {n}" for g, n in few.items()) +
                         f" (< {MIN_NETWORKS}): every interval over networks is wide, and a pooled one mixes generators")
    if kind == "models":
        notes.append("model rows: one row per network, so no per-network coefficients and no mixed model (they need several rows per network)")
    correlations = pd.DataFrame(corr, columns=CORRELATION_COLUMNS)
    correlations["p_holm"], correlations["p_bh"] = adjust_pvalues(correlations["p"])
    correlations = correlations.astype({"n_clusters": "Int64", "n_net": "Int64"})
    mixed_df = pd.concat(mixed, ignore_index=True) if mixed else pd.DataFrame(columns=MIXED_COLUMNS)
    mixed_df["p_holm"], mixed_df["p_bh"] = adjust_pvalues(mixed_df["p"]) if len(mixed_df) else ([], [])
    return CorrelationResult(
        data=data,
        correlations=correlations,
        regression=pd.DataFrame(reg, columns=REGRESSION_COLUMNS),
        config=config,
        kind=kind,
        notes=notes,
        per_network=pd.concat(nets, ignore_index=True) if nets else pd.DataFrame(),
        mixed=mixed_df[MIXED_COLUMNS],
        groups=groups_info,
    )


def _interval(lo: float, hi: float, note: str) -> str:
    """``95% CI [lo, hi]``, or the reason there is none."""
    return f"95% CI [{lo:+.3f}, {hi:+.3f}]" if np.isfinite(lo) and np.isfinite(hi) else f"no CI: {note}" if note else "no CI"


def format_summary(result: CorrelationResult, top: int = 5) -> str:
    """A short printed summary: per group, the strongest Spearman correlations, the mixed-model slopes and the regression."""
    lines = []
    corr, reg, mixed = result.correlations, result.regression, result.mixed
    for group, part in corr.groupby("group", sort=False):
        sp = part[part["method"] == "spearman"].dropna(subset=["r"])
        sp = sp.reindex(sp["r"].abs().sort_values(ascending=False).index).head(top)
        n = int(part["n"].max()) if len(part) else 0
        info = result.groups.get(group, {})
        lines.append(f"[{group}] target {part['target'].iloc[0]}, up to {n} rows from {info.get('n_networks', '?')} networks; "
                     f"resampling unit {part['cluster'].iloc[0]} ({info.get('n_clusters', '?')} units); strongest Spearman correlations:")
        for _, r in sp.iterrows():
            net = f"; per network median {r['net_median']:+.3f} (IQR {r['net_q25']:+.3f}..{r['net_q75']:+.3f}, {int(r['n_net'])} networks)" if np.isfinite(r["net_median"]) else ""
            p = f"p {r['p']:.2g} ({r['p_unit']}; Holm {r['p_holm']:.2g}, BH {r['p_bh']:.2g})" if np.isfinite(r["p"]) else "no network-level p"
            lines.append(f"  {r['metric']:<24} rho {r['r']:+.3f}  {_interval(r['lo'], r['hi'], r['ci_note'])}  {p}  (n={r['n']}){net}")
        if sp.empty:
            lines.append("  (no metric with at least 3 complete, non-constant pairs)")
        for _, m in mixed[mixed["group"] == group].iterrows():
            if np.isfinite(m["slope"]) and np.isfinite(m["lo"]):
                lines.append(f"  slope of {m['target']} on {m['metric']}, {m['generator']} ({m['method']}): {m['slope']:+.3f} "
                             f"95% CI [{m['lo']:+.3f}, {m['hi']:+.3f}] on t({m['n_networks'] - 1}), p {m['p']:.2g} "
                             f"(Holm {m['p_holm']:.2g}; {m['n_networks']} networks, {m['n']} rows)" + (f"; {m['note']}" if m["note"] else ""))
            else:
                lines.append(f"  mixed model slope of {m['target']} on {m['metric']}, {m['generator']}: none ({m['note']})")
        rg = reg[reg["group"] == group]
        if len(rg) and np.isfinite(rg["importance_mean"]).any():
            best = rg.sort_values("importance_mean", ascending=False).head(3)
            imp = ", ".join(f"{m} {v:.3f}" for m, v in zip(best["metric"], best["importance_mean"]))
            lines.append(f"  ridge regression on {len(rg)} metrics: R^2 {rg['r2_mean'].iloc[0]:.3f} +- {rg['r2_std'].iloc[0]:.3f} "
                         f"({rg['folds'].iloc[0]}-fold, grouped by {rg['cv_unit'].iloc[0]}); permutation importance: {imp}")
        elif len(rg):
            lines.append(f"  ridge regression ({rg['folds'].iloc[0]}-fold, grouped by {rg['cv_unit'].iloc[0]}): {rg['note'].iloc[0]}")
    lines += result.notes
    return "\n".join(lines)


def config_record(result: CorrelationResult, table_path: str | Path) -> dict[str, Any]:
    """JSON sidecar contents for a correlations table: config, cluster unit, counts, the multiplicity families."""
    data = result.data
    return {
        "config": asdict(result.config),
        "table": str(table_path),
        "kind": result.kind,
        "cluster": {"unit": result.config.cluster, "columns": list(cluster_columns(result.config.cluster)), "min_clusters": result.config.min_clusters},
        "n_rows": len(data),
        "n_networks": int(data["model"].nunique()) if "model" in data.columns else None,
        "groups": result.groups,
        "multiplicity": {
            "correlations": f"Holm and Benjamini-Hochberg over the {int(result.correlations['p'].notna().sum())} finite p-values of the correlations table",
            "mixed": f"Holm and Benjamini-Hochberg over the {int(result.mixed['p'].notna().sum()) if len(result.mixed) else 0} mixed-model slopes, a family of their own",
        },
        "cross_validation": f"GroupKFold by {','.join(cluster_columns(result.config.cluster)) or 'row'}, shuffled with the seed",
        "notes": result.notes,
        "versions": library_versions(),
    }
