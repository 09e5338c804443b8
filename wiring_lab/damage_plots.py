"""Damage figures: RandWire Fig. 5 with the spread between networks shown, the per-network slope
forest, node metrics against damage within networks.

One degree definition everywhere: the removed node's out-degree in the generated graph
(``out_degree_graph``), the degree the slopes of :mod:`wiring_lab.sensitivity` use. Axes are
linear unless asked (``yscale="symlog"``). Networks, not removals, are the independent unit: the
forest draws one slope per network and the generator's mean with its t interval over networks;
the metric panels draw one rank correlation per network. Like every plot function, these take
tidy tables, never change global matplotlib state, accept ``ax=`` and return the figure.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter

from wiring_lab._io import UserError, require
from wiring_lab._plotting import MIN_BOX, axes_grid, boxes, despine, gen_colors, gen_name, generators, grid, styled
from wiring_lab.analysis import damage_slopes, network_rank_correlations
from wiring_lab.columns import rename_legacy_columns
from wiring_lab.network_inference import interval_text, summarize_networks

NODE_METRIC_LABELS = {
    "in_degree_graph": "in-degree (graph)",
    "out_degree_graph": "out-degree (graph)",
    "in_degree_dag": "in-degree (DAG)",
    "out_degree_dag": "out-degree (DAG)",
    "degree_graph": "degree (undirected)",
    "clustering": "local clustering",
    "betweenness": "betweenness centrality",
    "closeness": "closeness centrality",
    "pagerank": "PageRank",
    "depth": "depth from input node",
    "height": "height to output node",
    "paths_through": "input-output paths through node",
}
DEGREE_LABELS = {
    "out_degree_graph": "out-degree of removed node (graph)",
    "out_degree_dag": "out-degree of removed node (DAG)",
    "in_degree_graph": "in-degree of removed node (graph)",
    "in_degree_dag": "in-degree of removed node (DAG)",
    "target_in_degree_dag": "in-degree of edge's target (DAG)",
}
MIN_LABEL_PT = 6.5  # points per forest row below which networks are not named (their 6-pt names would overlap)
SYMLOG_THRESHOLD = 5.0  # pp, with yscale="symlog": linear within +-5, logarithmic beyond
NUMERIC = ("delta_top1", "out_degree_graph", "out_degree_dag", "in_degree_graph", "in_degree_dag", "target_in_degree_dag", "stage", "node")


@styled
def plot_slope_forest(slopes: pd.DataFrame, summary: pd.DataFrame | None = None, ax: Any = None, palette: Any = None,
                      unit: str = "pp per out-edge", label_networks: bool | None = None):
    """Forest plot: one row per network (its slope, bar = the within-network 95% interval), and per
    generator a diamond at the mean slope with its 95% t interval over networks; n per generator.

    ``slopes``: :func:`wiring_lab.network_inference.network_slopes` rows; ``summary``: their
    :func:`~wiring_lab.network_inference.summarize_networks` (computed if None). ``label_networks``:
    name every network's row; None names them where the Axes gives each row at least
    ``MIN_LABEL_PT`` points (otherwise only the generator means are named, and the names are in the
    slopes table)."""
    require(slopes, ["generator", "model", "slope"], "slope forest", numeric=("slope",))
    summary = summarize_networks(slopes) if summary is None else summary
    gens = generators(slopes["generator"])
    colors = gen_colors(gens, palette)
    fig, axes = axes_grid(1, 1, ax, figsize=(3.8, 0.16 * (len(slopes) + 2 * len(gens)) + 1.2), what="slope forest")
    ax = axes[0][0]
    if label_networks is None:
        rows = len(slopes) + 2.5 * len(gens)
        label_networks = ax.get_position().height * ax.figure.get_figheight() * 72 / rows >= MIN_LABEL_PT
    y, ticks, labels = 0.0, [], []
    for g in gens:
        part = slopes[slopes["generator"] == g].sort_values("slope")
        for _, r in part.iterrows():
            if math.isfinite(r.get("slope_lo", math.nan)):
                ax.plot([r["slope_lo"], r["slope_hi"]], [y, y], color=colors[g], lw=0.9, alpha=0.7)
            ax.plot(r["slope"], y, "o", ms=3.5, color=colors[g])
            if label_networks:
                ticks.append(y)
                labels.append(str(r["model"]))
            y += 1
        s = summary[summary["generator"] == g]
        if len(s):
            s = s.iloc[0]
            if math.isfinite(s["lo"]):
                ax.plot([s["lo"], s["hi"]], [y, y], color="black", lw=1.6)
            ax.plot(s["mean"], y, "D", ms=6, mfc=colors[g], mec="black")
            ticks.append(y)
            mean = " ".join(filter(None, [f"{gen_name(g)} mean {s['mean']:+.2f}", interval_text(s["lo"], s["hi"], missing="")]))
            labels.append(f"{mean}, n={int(s['n_networks'])}")
        y += 1.5
    ax.axvline(0, color="0.5", lw=0.7, ls="--", zorder=0)
    ax.set_yticks(ticks, labels, fontsize=6)
    for label in ax.get_yticklabels():
        if " mean " in label.get_text():
            label.set_fontweight("bold")
    ax.set_ylim(y - 0.5, -1.0)  # room for the last diamond
    ax.set_xlabel(f"slope of Δ top-1 on out-degree ({unit})\ndot, thin bar: one network and its 95% interval;\n"
                  "diamond, thick bar: mean over networks, 95% t interval", fontsize=7.5)
    despine(ax)
    return fig


def _damage_axes(rows: int, cols: int, ax: Any) -> tuple[Any, np.ndarray, Any]:
    """(figure, (rows, cols) panels, the forest's Axes spanning every row at the right); or the
    caller's ``ax``: rows x cols panels then the forest's, in that order."""
    if ax is None:
        fig = Figure(figsize=(2.8 * cols + 3.9, 2.6 * rows + 0.8), layout="constrained")
        gs = fig.add_gridspec(rows, cols + 1, width_ratios=[1] * cols + [1.35])
        panels = np.array([[fig.add_subplot(gs[r, c]) for c in range(cols)] for r in range(rows)], dtype=object)
        return fig, panels, fig.add_subplot(gs[:, cols])
    given = list(np.ravel(ax)) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
    if len(given) != rows * cols + 1:
        raise UserError(f"damage: draws {rows * cols} panel(s) and a forest; pass ax= with exactly {rows * cols + 1} Axes (got {len(given)})")
    return given[0].figure, np.array(given[:-1], dtype=object).reshape(rows, cols), given[-1]


@styled
def plot_damage(damage: pd.DataFrame, slopes: pd.DataFrame | None = None, node_degree: str = "out_degree_graph",
                edge_degree: str = "target_in_degree_dag", note: str = "", yscale: str = "linear", ax: Any = None, palette: Any = None):
    """RandWire Fig. 5: Δ top-1 vs degree, one column per generator (top row node removal with one
    line per network through its mean at its own slope, bottom row edge removal) and the per-network
    slope forest beside them (:func:`plot_slope_forest`).

    ``slopes``: :func:`wiring_lab.analysis.damage_slopes` of the same rows (computed if None);
    ``yscale``: ``linear`` (default) or ``symlog`` (linear within ±5 pp, logarithmic beyond);
    ``note`` (e.g. the ablation choice shown) becomes the title; ``ax``: one Axes per panel
    (rows x generators, then one for the forest)."""
    if yscale not in ("linear", "symlog"):
        raise UserError(f"damage: yscale must be linear or symlog (got {str(yscale)[:20]!r})")
    damage = rename_legacy_columns(damage)  # tables from before the *_graph / *_dag names
    require(damage, ["generator", "kind", "delta_top1"], "damage", numeric=NUMERIC)
    df = damage[damage["kind"].isin(["node", "edge"])]
    if df.empty:
        raise UserError("damage: no node or edge removal rows")
    kinds = [k for k in ("node", "edge") if (df["kind"] == k).any()]
    gens = generators(df["generator"])
    colors = gen_colors(gens, palette)
    nodes = df[df["kind"] == "node"]
    if "node" in kinds:
        require(nodes, [node_degree, "model"], "damage (node rows)", numeric=NUMERIC)
    per, summary = damage_slopes(nodes, node_degree) if slopes is None and "node" in kinds else (slopes, None)
    fig, axes, forest = _damage_axes(len(kinds), len(gens), ax)
    xlabels = {"node": DEGREE_LABELS.get(node_degree, f"{node_degree} of the removed node"),
               "edge": DEGREE_LABELS.get(edge_degree, f"{edge_degree} of the edge's target")}
    panels = [axes[r][c] for r in range(len(kinds)) for c in range(len(gens))]
    for r, kind in enumerate(kinds):
        xcol = node_degree if kind == "node" else edge_degree
        require(df[df["kind"] == kind], [xcol], f"damage ({kind} rows)", numeric=NUMERIC)
        for c, g in enumerate(gens):
            ax = axes[r][c]
            sub = df[(df["kind"] == kind) & (df["generator"] == g)]
            staggered = False
            if sub.empty:
                ax.text(0.5, 0.5, f"no {kind} removals", ha="center", va="center", transform=ax.transAxes, color="0.4")
            else:
                staggered = boxes(ax, sub, xcol, "delta_top1", colors[g])
            if kind == "node" and per is not None and not sub.empty:
                xs = np.array([sub[xcol].min(), sub[xcol].max()], float)
                for _, net in per[per["generator"] == g].dropna(subset=["slope"]).iterrows():
                    ax.plot(xs, net["mean"] + net["slope"] * (xs - net["x_mean"]), color="0.15", lw=0.6, alpha=0.55, zorder=5, gid="network-slope")
            ax.axhline(0, color="0.6", linewidth=0.6, zorder=0)
            models = sub["model"].nunique() if "model" in sub else 1
            setting = str(sub["setting"].iloc[0]) if not sub.empty and "setting" in sub else gen_name(g)
            ax.set_title(f"{setting}, {models} net{'s' if models != 1 else ''}\n{len(sub)} {kind} removals", fontsize=8.5)
            ax.set_xlabel(xlabels[kind], labelpad=15 if staggered else 9, fontsize=8)  # room for one or two rows of counts
            despine(ax)
    for other in panels[1:]:
        other.sharey(panels[0])
    if yscale == "symlog":
        lo, hi = float(df["delta_top1"].min()), float(df["delta_top1"].max())
        ticks = [t for t in (-100, -50, -10, -5, -2, 0, 2, 5, 10, 50, 100) if lo - 1 <= t <= max(hi, 0) + 1]
        for a in panels:
            a.set_yscale("symlog", linthresh=SYMLOG_THRESHOLD, linscale=1.0)
            a.yaxis.set_major_locator(FixedLocator(ticks))
            a.yaxis.set_minor_locator(FixedLocator([]))
            a.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    for r in range(len(kinds)):
        axes[r][0].set_ylabel("Δ top-1 (pp)" + (f"; symlog, linear within ±{SYMLOG_THRESHOLD:g}" if yscale == "symlog" else ""))
    if "node" in kinds and per is not None:
        plot_slope_forest(per, summary, ax=forest, palette=colors)
        forest.set_title("per-network slopes of node removals", fontsize=8.5)
    else:
        forest.set_axis_off()
    fig.suptitle("; ".join(filter(None, [note, "n of every degree under the axis"])), fontsize=9)
    handles = [Patch(facecolor="0.85", edgecolor="black", label=f"IQR (n ≥ {MIN_BOX})"), Line2D([], [], color="black", label="median"),
               Line2D([], [], marker="o", ls="", mfc="none", mec="red", label="mean"),
               Line2D([], [], marker="o", ls="", ms=3, color="0.4", label="one removal"),
               Line2D([], [], color="0.15", lw=0.6, label="one network's slope")]
    fig.legend(handles=handles, loc="outside lower center", ncols=5)
    return fig


@styled
def plot_metric_vs_damage(node_damage: pd.DataFrame, metrics: Sequence[str], note: str = "", ax: Any = None, palette: Any = None,
                          correlations: tuple[pd.DataFrame, pd.DataFrame] | None = None):
    """Node metrics against the damage of removing the node, within networks: one panel per metric;
    per generator, one dot per network (its Spearman ρ between the metric and Δ top-1 over its node
    removals) and a diamond at the mean ρ with its 95% t interval over networks; n under each.

    ``correlations``: :func:`wiring_lab.analysis.network_rank_correlations` of the same rows
    (computed if None). Pooled coefficients are not drawn: pooling generators mixes their
    differences into ρ and counts nodes as independent."""
    require(node_damage, ["generator", "model", "delta_top1"], "metric vs damage", numeric=("delta_top1",))
    metrics = [m for m in metrics if m in node_damage.columns]
    if not metrics:
        raise UserError("metric vs damage: none of the metrics is a column of the table")
    per, summary = network_rank_correlations(node_damage, metrics) if correlations is None else correlations
    gens = generators(node_damage["generator"])
    colors = gen_colors(gens, palette)
    rows, cols = grid(len(metrics), 3)
    fig, axes = axes_grid(rows, cols, ax, figsize=(2.6 * cols + 0.4, 2.4 * rows + 0.6), what="metric vs damage")
    rng = np.random.default_rng(0)  # jitter only, fixed for reproducible renders
    for i, m in enumerate(metrics):
        ax = axes[i // cols][i % cols]
        counts = []
        for x, g in enumerate(gens):
            r = per.loc[(per["generator"] == g) & (per["metric"] == m), "r"].dropna().to_numpy(float)
            ax.scatter(x - 0.15 + rng.uniform(-0.05, 0.05, len(r)), r, s=10, color=colors[g], alpha=0.75, linewidths=0, zorder=3)
            s = summary[(summary["generator"] == g) & (summary["metric"] == m)]
            if len(s) and math.isfinite(s["mean"].iloc[0]):
                s = s.iloc[0]
                if math.isfinite(s["lo"]):
                    ax.errorbar(x + 0.12, s["mean"], yerr=[[s["mean"] - s["lo"]], [s["hi"] - s["mean"]]], fmt="D", ms=4.5, color="black",
                                mfc=colors[g], elinewidth=1.0, capsize=3, zorder=4)
                else:
                    ax.scatter(x + 0.12, s["mean"], marker="D", s=20, color=colors[g], edgecolors="black", zorder=4)
            counts.append(len(r))
        ax.axhline(0, color="0.6", lw=0.6, zorder=0)
        ax.set_xticks(range(len(gens)), [f"{gen_name(g)}\nn={n}" for g, n in zip(gens, counts)])
        ax.set_xlim(-0.6, len(gens) - 0.4)
        ax.set_ylim(-1.05, 1.05)
        ax.set_title(NODE_METRIC_LABELS.get(m, m), fontsize=8.5)
        despine(ax)
    for j in range(len(metrics), rows * cols):
        axes[j // cols][j % cols].set_axis_off()
    for r in range(rows):
        axes[r][0].set_ylabel("Spearman ρ with Δ top-1\nwithin one network")
    title = "dot = one network's ρ over its node removals; diamond, bar = mean over networks, 95% t interval"
    fig.suptitle(f"{title}\n{note}" if note else title, fontsize=8, color="0.3")
    return fig
