"""Result tables -> the tidy frames the figures take: joins, per-network slopes and rank correlations, curves.

Every statistic comes from :mod:`wiring_lab.correlation` or :mod:`wiring_lab.metrics`; nothing
here draws (:mod:`wiring_lab.plots`) or reads files (:mod:`wiring_lab.figures` hands the tables in).
"""

from __future__ import annotations

import itertools
from typing import Sequence

import pandas as pd

from wiring_lab._io import UserError
from wiring_lab.columns import rename_legacy_columns
from wiring_lab.compare import t_interval
from wiring_lab.graphs import GraphSpec
from wiring_lab.metrics import relative_to_p0
from wiring_lab.network_inference import network_slopes, per_network_correlations, summarize_networks, t_summary
from wiring_lab.resampling import coefficient
from wiring_lab.sensitivity import DEFAULT_CHOICE, SLOPE_METRIC, choice_label, choices
from wiring_lab.summary import read_graph_records

GENERATOR_SETTINGS = ("er", "ba", "ws")  # models.csv rows that form random-generator populations
def stage_graph_sets(models: pd.DataFrame, graphs: pd.DataFrame) -> dict[str, list[GraphSpec]]:
    """Stage graphs (from the ``graphs`` table) of every network in ``models``, in ``models``' order."""
    by_model = read_graph_records(graphs)
    return {str(m): by_model[str(m)] for m in models["model"] if str(m) in by_model}


def models_with_cl(models: pd.DataFrame, stage_metrics: pd.DataFrame) -> pd.DataFrame:
    """Networks with their clustering C and path length L averaged over stages (You et al. 2020)."""
    per_model = stage_metrics.groupby("model")[["avg_clustering", "avg_path_length"]].mean().reset_index()
    return models.merge(per_model, on="model", how="inner")


def node_damage_table(damage: pd.DataFrame, node_metrics: pd.DataFrame) -> pd.DataFrame:
    """Node-removal rows of ``damage`` joined with the removed node's metrics (on model, stage, node)."""
    damage, node_metrics = rename_legacy_columns(damage), rename_legacy_columns(node_metrics)
    nodes = damage[damage["kind"] == "node"].copy()
    nodes["node"] = nodes["node"].astype(int)
    nodes["stage"] = nodes["stage"].astype(int)
    nm = node_metrics.copy()
    nm["node"] = nm["node"].astype(int)
    nm["stage"] = nm["stage"].astype(int)
    keep = [c for c in nm.columns if c not in nodes.columns or c in ("model", "stage", "node")]
    # the damage table already carries in/out degree; the node table's values win where both exist
    dup = [c for c in nm.columns if c in nodes.columns and c not in ("model", "stage", "node")]
    return nodes.drop(columns=dup).merge(nm[keep + dup], on=["model", "stage", "node"], how="inner")


def setting_summary(models: pd.DataFrame, value: str = "top1") -> pd.DataFrame:
    """Per (generator, setting): ``n``, ``mean`` and its 95% t interval over networks (``lo``,
    ``hi``; NaN under two networks): what Fig. 3 draws beside the networks themselves."""
    rows = []
    for (gen, setting), g in models.dropna(subset=[value]).groupby(["generator", "setting"], sort=False):
        mean, lo, hi = t_interval(g[value].to_numpy(float))
        rows.append({"generator": gen, "setting": setting, "n": len(g), "mean": mean, "lo": lo, "hi": hi})
    return pd.DataFrame(rows, columns=["generator", "setting", "n", "mean", "lo", "hi"])


def default_choice(damage: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The rows of one ablation choice, and a note naming it, when ``damage``'s removals hold
    several (a figure never pools them): the default (drop, no cascade) where present, else the
    first; one intact row per network is kept. One choice: ``damage`` unchanged and no note."""
    key = choices(damage)
    intact = damage["kind"].astype(str) == "intact" if "kind" in damage.columns else pd.Series(False, index=damage.index)
    found = list(dict.fromkeys(key[~intact]))
    if len(found) <= 1:
        return damage, ""
    chosen = DEFAULT_CHOICE if DEFAULT_CHOICE in found else found[0]
    rows = damage[(key == chosen) | (intact & ~damage.duplicated(subset=["model", "kind"]))]
    return rows, f"ablation {choice_label(*chosen)}, one of {len(found)} choices in the table (tables/sensitivity.csv compares them)"


def damage_slopes(damage: pd.DataFrame, metric: str = SLOPE_METRIC) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Node removals of one ablation choice -> (one row per network: slope of Δ top-1 on ``metric``
    with stage as a factor, Spearman ρ, the network's mean ``metric`` and Δ top-1; one row per
    generator: the mean slope with its t interval over networks). What Fig. 5's forest panel draws."""
    nodes = rename_legacy_columns(damage)
    nodes = nodes[nodes["kind"].astype(str) == "node"]
    per = network_slopes(nodes, metric)
    centre = nodes.groupby("model")[metric].mean()
    per["x_mean"] = per["model"].map(centre).astype(float)
    return per, summarize_networks(per)


NETWORK_RHO_COLUMNS = ["generator", "metric", "n_networks", "mean", "lo", "hi", "median", "n_negative", "p"]


def network_rank_correlations(node_damage: pd.DataFrame, metrics: Sequence[str], y: str = "delta_top1") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Within-network Spearman ρ of ``y`` with each metric: (one row per network and metric; one row
    per generator and metric with the mean ρ, its t interval over networks and the t test's p).
    Pooling the networks of several generators mixes between-generator differences into ρ."""
    rows, per = [], []
    for gen, part in node_damage.groupby(node_damage["generator"].astype(str), sort=True):
        r = per_network_correlations(part, y, list(metrics))
        r = r[r["method"] == "spearman"].assign(generator=gen)
        per.append(r)
        for m, g in r.groupby("metric", sort=False):
            s = t_summary(g["r"])
            rows.append({"generator": gen, "metric": m, **{k: s[k] for k in ("n_networks", "mean", "lo", "hi", "median", "n_negative", "p")}})
    per_net = pd.concat(per, ignore_index=True) if per else pd.DataFrame(columns=["generator", "model", "metric", "r"])
    return per_net, pd.DataFrame(rows, columns=NETWORK_RHO_COLUMNS)


def node_op_correlations(models: pd.DataFrame) -> pd.DataFrame:
    """Pearson r between two node operations' mean top-1 across generator settings, for every pair (RandWire Fig. 6)."""
    means = models.groupby(["setting", "node_op"])["top1"].mean().unstack("node_op")
    rows = []
    for a, b in itertools.combinations(op_order(means.columns), 2):
        pair = means[[a, b]].dropna()
        rows.append({"op_a": a, "op_b": b, "pearson_r": float(coefficient("pearson", pair[a], pair[b])), "n_settings": len(pair)})
    return pd.DataFrame(rows, columns=["op_a", "op_b", "pearson_r", "n_settings"])


def op_order(ops) -> list[str]:
    """Node ops with the paper's default (sepconv3x3) first, the others by name."""
    return sorted(ops, key=lambda o: (o != "sepconv3x3", o))


def ws_curves(population: pd.DataFrame) -> pd.DataFrame:
    """Watts-Strogatz curves of the WS rows of a population table: one row per (K, N, P > 0) with
    ``C/C(0)``, ``L/L(0)`` (:func:`wiring_lab.metrics.relative_to_p0`) and ``samples`` (graphs per P, the fewest)."""
    ws = population[population["generator"] == "ws"]
    if ws.empty:
        raise UserError("WS curves: population table has no WS rows")
    out = []
    for (k, n), sub in ws.groupby(["k", "n"]):
        rel = relative_to_p0(sub[["generator", "k", "n", "p", "avg_clustering", "avg_path_length"]])
        if rel.empty:
            raise UserError(f"WS curves: K={k}, N={n} has no P=0 rows (the lattice C(0), L(0) normalise the curves)")
        out.append(rel[rel["p"] > 0].assign(samples=int(sub.groupby("p").size().min())))
    return pd.concat(out, ignore_index=True)


# --- search runs ---------------------------------------------------------------------------
def population_names(history: pd.DataFrame) -> pd.Series:
    """Population of each history row: the run name without its seed, or the setting (``WS(4, 0.75)``) of a generator run."""
    names = history["run"].astype(str).str.replace(r"-s\d+$", "", regex=True)
    if "strategy" in history.columns and "setting" in history.columns:
        names = names.where(history["strategy"] != "generator", history["setting"].astype(str))
    return names


def search_progress(history: pd.DataFrame) -> pd.DataFrame:
    """``search_history`` rows with ``trained`` (children trained so far) and ``population`` (:func:`population_names`)."""
    if not {"run", "child"} <= set(history.columns):
        raise UserError("search progress: search_history needs the columns run and child")
    return history.assign(trained=history["child"] + 1, population=population_names(history))


def search_populations(history: pd.DataFrame, models: pd.DataFrame | None = None) -> pd.DataFrame:
    """Tidy ``population, kind, model, top1`` rows: searched populations and random-generator populations.

    A search run's population is named after the run (seed dropped), a ``generator`` run's after
    its setting (``WS(4, 0.75)``); both use the search's split and recipe. Networks of ``models``
    (e.g. ``models.csv``) from ER/BA/WS that are not children of a search form one population per
    setting, marked ``(models.csv)`` as they may have been trained with another recipe.
    ``kind`` is ``search`` or ``generator``.
    """
    if not {"run", "model", "test_top1"} <= set(history.columns) or history.empty:
        raise UserError("search populations: search_history needs rows with run, model and test_top1")
    is_gen = history["strategy"] == "generator" if "strategy" in history.columns else pd.Series(False, index=history.index)
    parts = [pd.DataFrame({
        "population": population_names(history),
        "kind": is_gen.map({True: "generator", False: "search"}),
        "model": history["model"],
        "top1": history["test_top1"],
    })]  # fmt: skip
    if models is not None and not models.empty:
        others = models[models["generator"].isin(GENERATOR_SETTINGS) & ~models["model"].isin(set(history["model"]))]
        parts.append(pd.DataFrame({
            "population": others["setting"].astype(str) + " (models.csv)", "kind": "generator",
            "model": others["model"], "top1": others["top1"],
        }))  # fmt: skip
    return pd.concat(parts, ignore_index=True).dropna(subset=["top1"])
