"""Paper-style figures: each function takes tidy tables and returns a matplotlib Figure.

Style is set once (:func:`set_style`). No function here loads a checkpoint, touches a GPU or
writes a file except :func:`save_figure`. Accuracy is always in percent, accuracy changes in
percentage points (pp); ``delta_top1`` keeps the damage table's sign (negative = accuracy lost),
as in RandWire Fig. 5.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from wiring_lab._io import UserError, atomic_path
from wiring_lab.analysis import op_order, setting_summary
from wiring_lab.columns import rename_legacy_columns
from wiring_lab.drawing import draw_stage
from wiring_lab.generators import registered
from wiring_lab.graphs import setting_label

_STYLE_SET = False
FORMATS = ("png", "pdf", "svg")

# Panel order and colours of the registered generators (the paper's first); others follow in name order.
GENERATOR_ORDER = tuple(g.name for g in registered())
GENERATOR_NAMES = {g.name: g.title for g in registered()}
ATTACK_ORDER = ("random", "degree", "betweenness")
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


# x-axis labels of Fig. 5's degree columns (damage.csv)
DEGREE_LABELS = {
    "out_degree_dag": "out-degree of the removed node (DAG)",
    "out_degree_graph": "out-degree of the removed node (graph)",
    "in_degree_dag": "in-degree of the removed node (DAG)",
    "in_degree_graph": "in-degree of the removed node (graph)",
    "target_in_degree_dag": "in-degree of the edge's target (DAG)",
}


def set_style() -> None:
    """Paper style: seaborn ticks, colour-blind palette, 9-pt text, Agg when headless."""
    global _STYLE_SET
    if _STYLE_SET:
        return

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg") and not _has_display():
        matplotlib.use("Agg")

    sns.set_theme(context="paper", style="ticks", palette="colorblind", font_scale=1.1)
    matplotlib.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 200,
            "savefig.bbox": "tight",
            "axes.titlesize": 10,
            "legend.fontsize": 8,
            "legend.title_fontsize": 8,
            "legend.frameon": False,
            "pdf.fonttype": 42,  # editable text in PDF/SVG for journals
            "svg.fonttype": "none",
        }
    )
    _STYLE_SET = True


def _has_display() -> bool:
    """Whether a display is available (else matplotlib renders with Agg)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def save_figure(fig, path: str | Path) -> Path:
    """Save ``fig`` (format from the extension: png, pdf, svg) atomically and close it."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UserError(f"{path}: figure files must end in .png, .pdf or .svg")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt)
        tmp.chmod(0o644)  # a figure is for sharing (the temporary file was private)
    plt.close(fig)
    return path


# --- helpers ---------------------------------------------------------------------------------
def _require(df, columns: Sequence[str], what: str) -> None:
    """Raise a UserError naming the figure when ``df`` lacks a column or rows."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UserError(f"{what}: table lacks column(s) {', '.join(missing)}")
    if len(df) == 0:
        raise UserError(f"{what}: table has no rows")
    for c in columns:
        if c in NUMERIC_COLUMNS and not pd.api.types.is_numeric_dtype(df[c]):
            bad = next((v for v in df[c] if pd.notna(v) and not isinstance(v, (int, float))), df[c].iloc[0])
            raise UserError(f"{what}: column {c!r} must be numeric (found {bad!r})")


# Columns that hold numbers in every table that has them; a table holding text there is malformed.
NUMERIC_COLUMNS = frozenset(
    "stage node source target in_degree_graph out_degree_graph in_degree_dag out_degree_dag target_in_degree_dag degree_graph "
    "in_degree out_degree in_degree_io out_degree_io target_in_degree top1 top5 loss "
    "delta_top1 delta_top1_lo delta_top1_hi seed p k m n fraction removed repeat epoch train_loss train_top1 "
    "test_loss test_top1 test_top5 val_loss val_top1 val_top5 lr_end seconds channels nodes epochs n_params macs".split()
    + ["avg_degree", "avg_clustering", "avg_path_length", "n_components", "diameter", "transitivity", "global_efficiency",
       "assortativity", "depth", "mean_io_path_length", "n_io_paths", "n_input_fed", "n_output_fed"]
)


def _generators(values: Sequence[str]) -> list[str]:
    """Generators present, in the paper's order (ER, BA, WS), others after by name."""
    present = list(dict.fromkeys(str(v) for v in values))
    return [g for g in GENERATOR_ORDER if g in present] + sorted(g for g in present if g not in GENERATOR_ORDER)


def _gen_name(g: str) -> str:
    """Display name of a generator: ER, BA, WS, WS-flex (its record's title)."""
    return GENERATOR_NAMES.get(g) or next((r.title for r in registered() if r.name == g), g)


def _gen_colors(gens: Sequence[str]) -> dict[str, Any]:
    """Fixed colour of each generator, the same in every figure."""
    pal = sns.color_palette("colorblind", 10)
    fixed = {g: pal[i] for i, g in enumerate(GENERATOR_ORDER)}
    extra = iter(pal[len(GENERATOR_ORDER) :])
    return {g: fixed[g] if g in fixed else next(extra, "0.4") for g in gens}


def _setting_key(row) -> tuple:
    """Sort key of a generator setting: by K, then P, then M (NaN last)."""
    def num(x: Any) -> float:
        """A parameter as a float; missing values sort last."""
        try:
            x = float(x)
        except (TypeError, ValueError):
            return math.inf
        return math.inf if math.isnan(x) else x

    return (num(row.get("k")), num(row.get("p")), num(row.get("m")), str(row.get("setting")))


def _ordered_settings(df) -> list[str]:
    """Settings of ``df`` ordered by their parameters."""
    cols = [c for c in ("setting", "k", "p", "m") if c in df.columns]
    first = df[cols].drop_duplicates("setting")
    return [r["setting"] for r in sorted(first.to_dict("records"), key=_setting_key)]


def _grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    """(rows, cols) of a panel grid for ``n`` panels."""
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


# --- RandWire Fig. 3: generator sweep ---------------------------------------------------------
def plot_generator_sweep(models, node_op: str | None = "sepconv3x3", summary=None):
    """RandWire Fig. 3 as points: every network a dot, the mean a diamond with its 95% t interval
    over networks, n under each setting; one panel per generator (no bars: a bar's length means
    something only from 0, and an axis that starts at 0 hides the differences).

    ``summary``: :func:`wiring_lab.analysis.setting_summary` of the same rows (computed if None)."""
    set_style()
    _require(models, ["generator", "setting", "top1"], "generator sweep")
    df = models.dropna(subset=["top1"])
    if node_op is not None and "node_op" in df.columns and (df["node_op"] == node_op).any():
        df = df[df["node_op"] == node_op]
    gens = _generators(df["generator"])
    colors = _gen_colors(gens)
    summary = setting_summary(df) if summary is None else summary

    def summary_of(sub):
        """The summary rows of the settings in ``sub``."""
        return summary[summary["setting"].isin(sub["setting"].unique()) & summary["generator"].isin(sub["generator"].unique())]

    widths = [max(1, df.loc[df["generator"] == g, "setting"].nunique()) for g in gens]
    fig, axes = plt.subplots(
        1, len(gens), figsize=(1.2 + 0.6 * sum(widths) + 0.9 * len(gens), 3.2), sharey=True,
        gridspec_kw={"width_ratios": widths}, layout="constrained", squeeze=False,
    )
    rng = np.random.default_rng(0)  # jitter only, fixed for reproducible renders
    counts = []
    for ax, g in zip(axes[0], gens):
        sub = df[df["generator"] == g]
        settings = _ordered_settings(sub)
        stats = summary_of(sub).set_index("setting").reindex(settings).rename(columns={"n": "count"})
        x = np.arange(len(settings))
        for xi, setting in zip(x, settings):
            v = sub.loc[sub["setting"] == setting, "top1"].to_numpy(float)
            ax.scatter(xi - 0.22 + rng.uniform(-0.06, 0.06, len(v)), v, s=9, color=colors[g], alpha=0.7, linewidths=0, zorder=3)
        half = (stats["hi"] - stats["mean"]).to_numpy(float)
        ok = np.isfinite(half)
        ax.errorbar(x[ok] + 0.08, stats["mean"].to_numpy()[ok], yerr=half[ok], fmt="D", ms=4.5, color="black", mfc=colors[g],
                    elinewidth=1.0, capsize=3, zorder=4)
        ax.scatter(x[~ok] + 0.08, stats["mean"].to_numpy()[~ok], marker="D", s=20, color=colors[g], edgecolors="black", zorder=4)
        labels = [f"{st}\nn={int(c)}" for st, c in zip(settings, stats["count"])]
        if len(settings) > 2:
            ax.set_xticks(x, labels, rotation=45, ha="right", rotation_mode="anchor", fontsize=7.5)
        else:
            ax.set_xticks(x, labels, fontsize=7.5)
        counts += list(stats["count"])
        ax.set_title(_gen_name(g))
        ax.set_xlim(-0.6, len(settings) - 0.4)
        _despine(ax)
    axes[0][0].set_ylabel("top-1 accuracy (%)")
    lo_n, hi_n = int(min(counts)), int(max(counts))
    n = f"{lo_n}" if lo_n == hi_n else f"{lo_n}-{hi_n}"
    note = "dot = network, diamond = mean, bar = 95% t interval over networks" if hi_n > 1 else "one network per setting, no interval"
    fig.supxlabel(f"generator setting ({note}; n = {n} network{'s' if hi_n != 1 else ''} per setting)", fontsize=9)
    return fig


def _despine(ax) -> None:
    """Remove the top and right spines (paper look)."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)


# --- RandWire Fig. 4: stage DAG drawings ------------------------------------------------------
def plot_stage_graphs(graphs: Mapping[str, Sequence[Any]], max_models: int = 6):
    """RandWire Fig. 4: one row per network, one drawing per stage, layered left to right by depth."""
    set_style()
    items = [(name, list(specs)) for name, specs in graphs.items() if len(specs)][:max_models]
    if not items:
        raise UserError("stage graphs: no graphs to draw")
    cols = max(len(specs) for _, specs in items)
    n = max(s.n for _, specs in items for s in specs)
    node_size = 60.0 if n <= 16 else 30.0 if n <= 32 else 12.0
    fig, axes = plt.subplots(len(items), cols, figsize=(3.6 * cols, 2.7 * len(items)), layout="constrained", squeeze=False)
    for row, (name, specs) in enumerate(items):
        for col in range(cols):
            ax = axes[row][col]
            if col >= len(specs):
                ax.set_axis_off()
                continue
            s = specs[col]
            draw_stage(s, ax=ax, node_size=node_size, title=f"{name}: stage {col}, {setting_label(s.generator, s.params)}, N={s.n}")
    return fig


# --- RandWire Fig. 5: damage ------------------------------------------------------------------
MIN_BOX = 5  # fewer points than this in a category: dots only, no box
SYMLOG_THRESHOLD = 5.0  # pp: linear within +-5 (the typical single-removal loss), logarithmic beyond


def _boxes(ax, sub, x: str, y: str, color) -> None:
    """Box = IQR (only where a category has >= MIN_BOX points), bar = median, red circle = mean,
    dots = variants, n under every category, at integer x positions."""
    positions = sorted(int(v) for v in sub[x].dropna().unique())
    data = [sub.loc[sub[x] == p, y].dropna().to_numpy() for p in positions]
    boxed = [(p, d) for p, d in zip(positions, data) if len(d) >= MIN_BOX]
    if boxed:
        ax.boxplot(
            [d for _, d in boxed], positions=[p for p, _ in boxed], widths=0.6, whis=0, showcaps=False, showfliers=False, patch_artist=True,
            boxprops={"facecolor": (*color[:3], 0.25) if isinstance(color, tuple) else color, "edgecolor": "black", "linewidth": 0.7},
            medianprops={"color": "black", "linewidth": 1.2}, whiskerprops={"linewidth": 0}, manage_ticks=False,
        )
    rng = np.random.default_rng(0)  # jitter only, fixed for reproducible renders
    for p, d in zip(positions, data):
        ax.scatter(p + rng.uniform(-0.18, 0.18, len(d)), d, s=6, color=color, alpha=0.6, linewidths=0, zorder=3)
    means = [d.mean() for d in data]
    ax.scatter(positions, means, s=22, facecolors="none", edgecolors="red", linewidths=1.1, zorder=4)
    for p, d in zip(positions, data):  # n of every category, just under the axis
        ax.annotate(str(len(d)), xy=(p, 0), xycoords=("data", "axes fraction"), xytext=(0, -19), textcoords="offset points",
                    ha="center", va="top", fontsize=5.5, color="0.35")
    if positions:
        ax.set_xlim(min(positions) - 0.8, max(positions) + 0.8)
        step = max(1, math.ceil((max(positions) - min(positions) + 1) / 10))
        ax.set_xticks(range(min(positions), max(positions) + 1, step))


def plot_damage(damage, node_degree: str = "out_degree_dag", edge_degree: str = "target_in_degree_dag", note: str = ""):
    """RandWire Fig. 5: Δ top-1 vs degree; top row node removal, bottom row edge removal, one column per generator.

    ``note`` (e.g. the ablation choice shown) becomes the figure's title."""
    set_style()
    damage = rename_legacy_columns(damage)  # tables from before the *_graph / *_dag names
    _require(damage, ["generator", "kind", "delta_top1"], "damage")
    df = damage[damage["kind"].isin(["node", "edge"])]
    if df.empty:
        raise UserError("damage: no node or edge removal rows")
    kinds = [k for k in ("node", "edge") if (df["kind"] == k).any()]
    gens = _generators(df["generator"])
    colors = _gen_colors(gens)
    fig, axes = plt.subplots(len(kinds), len(gens), figsize=(2.9 * len(gens) + 0.6, 2.5 * len(kinds) + 0.3),
                             sharey=True, layout="constrained", squeeze=False)
    xlabels = {"node": DEGREE_LABELS.get(node_degree, f"{node_degree} of the removed node"),
               "edge": DEGREE_LABELS.get(edge_degree, f"{edge_degree} of the edge's target")}
    for r, kind in enumerate(kinds):
        xcol = node_degree if kind == "node" else edge_degree
        _require(df, [xcol], f"damage ({kind} rows)")
        for c, g in enumerate(gens):
            ax = axes[r][c]
            sub = df[(df["kind"] == kind) & (df["generator"] == g)]
            if sub.empty:
                ax.text(0.5, 0.5, f"no {kind} removals", ha="center", va="center", transform=ax.transAxes, color="0.4")
            else:
                _boxes(ax, sub, xcol, "delta_top1", colors[g])
            ax.axhline(0, color="0.6", linewidth=0.6, zorder=0)
            settings = ", ".join(_ordered_settings(sub)) if not sub.empty and "setting" in sub else _gen_name(g)
            models = sub["model"].nunique() if "model" in sub else 1
            ax.set_title(f"{settings}, {models} net{'s' if models != 1 else ''}\n{len(sub)} {kind} removals", fontsize=8.5)
            ax.set_xlabel(xlabels[kind] + "\n(n per category under the axis)", labelpad=9)
            _despine(ax)
    ylabel = "Δ top-1 (pp)"
    worst = float(df["delta_top1"].abs().max()) if df["delta_top1"].notna().any() else 0.0
    if worst > 3 * SYMLOG_THRESHOLD:  # both the typical 0..-5 pp and the outliers readable

        lo, hi = float(df["delta_top1"].min()), float(df["delta_top1"].max())
        ticks = [t for t in (-100, -50, -10, -5, -2, 0, 2, 5, 10, 50, 100) if lo - 1 <= t <= max(hi, 0) + 1]
        for ax in axes.flat:
            ax.set_yscale("symlog", linthresh=SYMLOG_THRESHOLD, linscale=1.0)
            ax.yaxis.set_major_locator(FixedLocator(ticks))
            ax.yaxis.set_minor_locator(FixedLocator([]))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ylabel += f"; linear within ±{SYMLOG_THRESHOLD:g}, logarithmic beyond"
    fig.supylabel(ylabel, fontsize=10)
    if note:
        fig.suptitle(note, fontsize=9)
    handles = [Patch(facecolor="0.85", edgecolor="black", label=f"IQR (n ≥ {MIN_BOX})"), Line2D([], [], color="black", label="median"),
               Line2D([], [], marker="o", ls="", mfc="none", mec="red", label="mean"),
               Line2D([], [], marker="o", ls="", ms=3, color="0.4", label="one removal")]
    fig.legend(handles=handles, loc="outside lower center", ncols=4)
    return fig


# --- RandWire Fig. 6: node operations ---------------------------------------------------------
def plot_node_ops(models, correlations):
    """RandWire Fig. 6: mean top-1 per generator setting, one line per node op; ``correlations``
    (:func:`wiring_lab.analysis.node_op_correlations`) lists the pairwise Pearson r."""
    set_style()
    _require(models, ["generator", "setting", "node_op", "top1"], "node ops")
    df = models.dropna(subset=["top1"])
    order = [s for g in _generators(df["generator"]) for s in _ordered_settings(df[df["generator"] == g])]
    ops = op_order(df["node_op"].unique())
    fig, ax = plt.subplots(figsize=(max(4.5, 0.45 * len(order) + 2.5), 3.2), layout="constrained")
    markers = "osD^v<>"
    for i, op in enumerate(ops):
        m = df[df["node_op"] == op].groupby("setting")["top1"].mean().reindex(order)
        ax.plot(np.arange(len(order)), m.to_numpy(), marker=markers[i % len(markers)], ms=4, lw=1.2, label=op)
    ax.set_xticks(np.arange(len(order)), order, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_xlabel("generator setting")
    ax.set_ylabel("top-1 accuracy (%)")
    text = "\n".join(f"r({a}, {b}) = {r:.2f}" for a, b, r in correlations[["op_a", "op_b", "pearson_r"]].itertuples(index=False))
    ax.legend(title="node operation", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if text:
        ax.text(1.02, 0.0, "Pearson r across settings\n" + text, transform=ax.transAxes, fontsize=7, va="bottom")
    _despine(ax)
    return fig


# --- Watts-Strogatz C(P)/C(0), L(P)/L(0) ------------------------------------------------------
def plot_ws_curves(curves):
    """Watts-Strogatz 1998 Fig. 2: C(P)/C(0) and L(P)/L(0) vs rewiring probability P (log axis),
    with the spread over graphs (25-75% of each graph's ratio to the lattice mean) where the table has it.

    ``curves`` is :func:`wiring_lab.analysis.ws_curves` of a population table.
    """
    set_style()
    _require(curves, ["k", "n", "p", "C/C(0)", "L/L(0)", "samples"], "WS curves")
    groups = list(curves.groupby(["k", "n"]).groups)
    fig, axes = plt.subplots(1, len(groups), figsize=(3.6 * len(groups) + 0.4, 3.0), sharey=True, layout="constrained", squeeze=False)
    for ax, (k, n) in zip(axes[0], groups):
        curve = curves[(curves["k"] == k) & (curves["n"] == n)].sort_values("p")
        samples = int(curve["samples"].min())
        spread = {"C/C(0) q25", "C/C(0) q75", "L/L(0) q25", "L/L(0) q75"} <= set(curve.columns)
        for col, marker, label, mfc in (("C/C(0)", "s", "C(P) / C(0)", "white"), ("L/L(0)", "o", "L(P) / L(0)", None)):
            yerr = None
            if spread:  # the middle half of the graphs: where one sampled network falls
                yerr = np.vstack([(curve[col] - curve[f"{col} q25"]).clip(lower=0), (curve[f"{col} q75"] - curve[col]).clip(lower=0)])
            ax.errorbar(curve["p"], curve[col], yerr=yerr, fmt=marker, ms=4, mfc=mfc, elinewidth=0.8, capsize=2, label=label)
        ax.set_xscale("log")
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("rewiring probability P")
        ax.set_title(f"WS(K={int(k)}), N={int(n)}, {samples} graph{'s' if samples != 1 else ''} per P", fontsize=9)
        if spread:
            ax.text(0.98, 0.98, "marker: ratio of means\nbar: 25-75% of graphs", transform=ax.transAxes, ha="right", va="top", fontsize=7, color="0.3")
        _despine(ax)
    axes[0][0].set_ylabel("ratio to the ring lattice (P = 0)")
    axes[0][0].legend(loc="lower left")
    return fig


# --- You et al. 2020: C-L heat map ------------------------------------------------------------
def plot_cl_heatmap(models_with_cl, bins: int = 8):
    """You et al. 2020 Fig. 1: mean top-1 over bins of clustering C and path length L; best graph starred."""
    set_style()
    _require(models_with_cl, ["avg_clustering", "avg_path_length", "top1"], "C-L heat map")
    df = models_with_cl.dropna(subset=["avg_clustering", "avg_path_length", "top1"])
    c, l, acc = df["avg_clustering"].to_numpy(), df["avg_path_length"].to_numpy(), df["top1"].to_numpy()
    bins = max(2, min(bins, int(math.sqrt(len(df))) + 1))
    ce = np.linspace(c.min(), c.max() + 1e-9, bins + 1)
    le = np.linspace(l.min(), l.max() + 1e-9, bins + 1)
    total, _, _ = np.histogram2d(c, l, bins=[ce, le], weights=acc)
    count, _, _ = np.histogram2d(c, l, bins=[ce, le])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    fig, ax = plt.subplots(figsize=(4.6, 3.6), layout="constrained")
    mesh = ax.pcolormesh(ce, le, mean.T, cmap="viridis", shading="flat")
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label("mean top-1 accuracy (%)")
    best = int(np.argmax(acc))
    ax.scatter(c, l, s=6, color="white", edgecolors="0.3", linewidths=0.3, label=f"networks (n = {len(df)})")
    label = f"best: {df['setting'].iloc[best]}, {acc[best]:.1f}%" if "setting" in df else f"best: {acc[best]:.1f}%"
    ax.scatter([c[best]], [l[best]], marker="*", s=160, color="red", edgecolors="black", linewidths=0.5, label=label, zorder=5)
    ax.set_xlabel("average clustering coefficient C")
    ax.set_ylabel("average path length L (hops)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=1)
    return fig


# --- Radosavovic et al. 2019: error EDFs ------------------------------------------------------
def plot_error_edf(models, by: str = "generator"):
    """Radosavovic et al. 2019: error EDF per population (n | min | mean error in the legend)."""
    set_style()
    _require(models, [by, "top1"], "error EDF")
    df = models.dropna(subset=["top1"]).assign(error=lambda d: 100.0 - d["top1"])
    groups = _generators(df[by]) if by == "generator" else sorted(df[by].astype(str).unique())
    if by == "generator":
        colors = _gen_colors(groups)
    else:
        colors = dict(zip(groups, sns.color_palette("colorblind", len(groups))))
    fig, ax = plt.subplots(figsize=(6.2, 3.2), layout="constrained")
    for g in groups:
        e = np.sort(df.loc[df[by].astype(str) == g, "error"].to_numpy())
        # F(e) = fraction of models with error < e: a step up at every model's error
        xs = np.concatenate([[e[0]], e])
        ys = np.concatenate([[0.0], np.arange(1, len(e) + 1) / len(e)])
        name = _gen_name(g) if by == "generator" else g
        ax.step(xs, ys, where="post", color=colors[g], lw=1.5, label=f"{name}: {len(e)} | {e.min():.2f} | {e.mean():.2f}")
    ax.set_xlabel("top-1 error (%)")
    ax.set_ylabel("cumulative prob.")
    ax.set_ylim(0, 1.02)
    ax.legend(title="population: n | min | mean error (%)", loc="center left", bbox_to_anchor=(1.02, 0.5))
    _despine(ax)
    return fig


# --- Albert, Jeong, Barabasi 2000: attack tolerance ---------------------------------------------
def plot_attack(attack):
    """Accuracy vs fraction of nodes removed: random failures vs targeted attacks, one panel per generator."""
    set_style()
    _require(attack, ["generator", "order", "fraction", "top1"], "attack")
    gens = _generators(attack["generator"])
    orders = [o for o in ATTACK_ORDER if o in set(attack["order"])] + sorted(set(attack["order"]) - set(ATTACK_ORDER))

    pal = dict(zip(orders, sns.color_palette("dark", len(orders))))
    styles = {"random": "-", "degree": "--", "betweenness": ":"}
    fig, axes = plt.subplots(1, len(gens), figsize=(3.0 * len(gens) + 0.5, 2.9), sharey=True, layout="constrained", squeeze=False)
    for ax, g in zip(axes[0], gens):
        sub = attack[attack["generator"] == g]
        for o in orders:
            s = sub[sub["order"] == o].groupby("fraction")["top1"]
            mean, lo, hi = s.mean(), s.min(), s.max()
            ax.plot(100 * mean.index, mean.to_numpy(), styles.get(o, "-."), marker="o", ms=3, color=pal[o],
                    label=o if o == "random" else f"{o} (targeted)")
            if (s.size() > 1).any():
                ax.fill_between(100 * mean.index, lo.to_numpy(), hi.to_numpy(), color=pal[o], alpha=0.15, linewidth=0)
        settings = ", ".join(_ordered_settings(sub)) if "setting" in sub else _gen_name(g)
        nets = sub["model"].nunique() if "model" in sub else 1
        ax.set_title(f"{settings} ({nets} net{'s' if nets != 1 else ''})")
        ax.set_xlabel("nodes removed (%)")
        _despine(ax)
    axes[0][0].set_ylabel("top-1 accuracy (%)")
    axes[0][-1].legend(title="removal order", loc="upper right")
    fig.supxlabel("line = mean over networks (and random repeats); band = min-max", fontsize=8, color="0.3")
    return fig


# --- learning curves ---------------------------------------------------------------------------
def plot_learning_curves(history, models=None):
    """Per-epoch loss (train dashed, monitored solid) and monitored top-1 of every network, coloured by generator.

    The monitored split is the validation hold-out (``val_*`` columns); histories written before
    training held one out monitored the test split (``test_*``) and are drawn as such.
    """
    set_style()
    mon = "val" if "val_loss" in history.columns and history["val_loss"].notna().any() else "test"
    _require(history, ["model", "epoch", "train_loss", f"{mon}_loss", f"{mon}_top1"], "learning curves")
    df = history.copy()
    if models is not None and {"model", "generator", "setting"} <= set(models.columns):
        df = df.merge(models[["model", "generator", "setting"]].drop_duplicates("model"), on="model", how="left")
    if "generator" not in df:
        df["generator"] = df["model"]
    df["generator"] = df["generator"].fillna(df["model"])
    gens = _generators(df["generator"])
    colors = _gen_colors(gens)
    fig, (a0, a1, a2) = plt.subplots(1, 3, figsize=(10.2, 3.0), layout="constrained")
    for model, sub in df.sort_values("epoch").groupby("model", sort=False):
        color = colors[sub["generator"].iloc[0]]
        a0.plot(sub["epoch"], sub["train_loss"], "-", color=color, lw=1.0, alpha=0.85)
        a1.plot(sub["epoch"], sub[f"{mon}_loss"], "-", color=color, lw=1.1, alpha=0.9)
        a2.plot(sub["epoch"], sub[f"{mon}_top1"], "-", color=color, lw=1.1, alpha=0.9)
    split = "validation" if mon == "val" else "test"
    # the training loss is the optimised one (label-smoothed), averaged over the epoch's mini-batches
    # while the weights change; the monitored loss is plain cross-entropy at the epoch's end
    a0.set_ylabel("train loss")
    a0.set_title("train: label-smoothed, mean over the epoch's batches", fontsize=8)
    a1.set_ylabel(f"{split} loss")
    a1.set_title(f"{split}: cross-entropy at the epoch's end, no smoothing", fontsize=8)
    a2.set_ylabel(f"{split} top-1 accuracy (%)")
    for a in (a0, a1, a2):
        a.set_xlabel("epoch")
        a.xaxis.get_major_locator().set_params(integer=True)
        _despine(a)
    count = df.groupby("generator")["model"].nunique()
    handles = [Line2D([], [], color=colors[g], label=f"{_gen_name(g)} ({count[g]} net{'s' if count[g] != 1 else ''})") for g in gens]
    a2.legend(handles=handles, loc="lower right", ncols=1)
    a2.set_ylim(max(0.0, df[f"{mon}_top1"].min() - 3), 100.5)
    return fig


# --- metric vs damage ---------------------------------------------------------------------------
def _r2(x: float) -> str:
    """A coefficient with two decimals, without a negative zero."""
    text = f"{x:.2f}"
    return "0.00" if text == "-0.00" else text


def plot_metric_vs_damage(node_damage, stats, metrics: Sequence[str] | None = None, note: str = ""):
    """Δ top-1 of each node removal vs a node metric, one panel per metric, Spearman ρ [95% CI] in each.

    ``node_damage``: node-removal rows joined with node metrics; ``stats``: one row per metric with
    ``metric, spearman_rho, rho_lo, rho_hi, n`` (see :func:`wiring_lab.analysis.spearman_table`).
    """
    set_style()
    _require(node_damage, ["generator", "delta_top1"], "metric vs damage")
    metrics = list(metrics or stats["metric"])
    gens = _generators(node_damage["generator"])
    colors = _gen_colors(gens)
    rows, cols = _grid(len(metrics), 3)
    fig, axes = plt.subplots(rows, cols, figsize=(2.9 * cols + 0.4, 2.6 * rows + 0.3), sharey=True, layout="constrained", squeeze=False)
    st = stats.set_index("metric")
    for i, m in enumerate(metrics):
        ax = axes[i // cols][i % cols]
        for g in gens:
            sub = node_damage[node_damage["generator"] == g]
            ax.scatter(sub[m], sub["delta_top1"], s=8, alpha=0.6, color=colors[g], linewidths=0, label=_gen_name(g))
        if m in st.index:
            r = st.loc[m]
            ax.set_title(_spearman_title(r), fontsize=8.5)
        ax.axhline(0, color="0.6", lw=0.6, zorder=0)
        ax.set_xlabel(NODE_METRIC_LABELS.get(m, m))
        values = node_damage[m].dropna()
        if len(values) and values.min() >= 1 and values.max() >= 100 * values.min():  # path counts span decades
            ax.set_xscale("log")
            ax.set_xlabel(f"{NODE_METRIC_LABELS.get(m, m)} (log scale)")
        elif len(values) and (values == values.round()).all():  # counts: integer ticks
            ax.xaxis.get_major_locator().set_params(integer=True)
        _despine(ax)
    for j in range(len(metrics), rows * cols):
        axes[j // cols][j % cols].set_axis_off()
    for r in range(rows):
        axes[r][0].set_ylabel("Δ top-1 of node removal (pp)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(gens), markerscale=2)
    title = f"95% bootstrap intervals of Spearman ρ in brackets ({_resampling(stats)})"
    fig.suptitle(f"{title}\n{note}" if note else title, fontsize=8, color="0.3")
    return fig


def _spearman_title(r) -> str:
    """``Spearman ρ = r [lo, hi], n = N``; without an interval, the reason on a second line instead of ``[nan, nan]``."""
    if math.isfinite(float(r["rho_lo"])) and math.isfinite(float(r["rho_hi"])):
        return f"Spearman ρ = {_r2(r['spearman_rho'])} [{_r2(r['rho_lo'])}, {_r2(r['rho_hi'])}], n = {int(r['n'])}"
    note = r.get("ci_note", "")
    note = note if isinstance(note, str) and note else "no interval"
    return f"Spearman ρ = {_r2(r['spearman_rho'])}, n = {int(r['n'])}\n({note})"


def _resampling(stats) -> str:
    """What the intervals resample, from the ``cluster`` column of a Spearman table (``model``, ``model,stage``, ``none``)."""
    units = set(stats["cluster"].dropna().astype(str)) if "cluster" in stats.columns else set()
    if units == {"model"}:
        return "resampling whole networks"
    if units <= {"none"}:  # tables from before cluster intervals resampled rows
        return "resampling rows"
    if len(units) == 1:
        return "resampling clusters of " + " x ".join(next(iter(units)).split(","))
    return "resampling " + " / ".join(sorted(units))


# --- search runs (Radosavovic et al. 2019 EDFs; best-so-far curves) --------------------------
def _palette(names: list[str]) -> dict[str, Any]:
    """One colour per population name, the same in every figure of a run."""
    names = sorted(set(names))
    return dict(zip(names, sns.color_palette("colorblind", len(names))))


def plot_search_progress(progress, metric: str = "best_val_so_far"):
    """Best-so-far accuracy vs children trained, one line per run (mean and band over search seeds).

    ``progress`` is :func:`wiring_lab.analysis.search_progress` of ``search_history.csv``.
    """
    set_style()
    _require(progress, ["population", "trained", "search_seed", metric], "search progress")
    df = progress
    colors = _palette(list(df["population"]))
    fig, ax = plt.subplots(figsize=(4.6, 3.2), layout="constrained")
    sns.lineplot(df, x="trained", y=metric, hue="population", hue_order=list(colors), palette=colors,
                 units="search_seed" if df["search_seed"].nunique() > 1 else None,
                 estimator=None if df["search_seed"].nunique() > 1 else "mean", drawstyle="steps-post", ax=ax, lw=1.5)
    ax.set_xlabel("children trained")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel({"best_val_so_far": "best validation top-1 so far (%)", "best_test_so_far": "test top-1 of best-so-far child (%)"}.get(metric, metric))
    ax.legend(title="search run", loc="lower right")
    sns.despine(ax=ax)
    return fig


def plot_search_edf(populations):
    """Error EDFs, F(e) = fraction of a population's networks with error < e: searched solid, generators dashed."""
    set_style()
    _require(populations, ["population", "top1"], "error EDF")
    names = populations["population"].astype(str)
    colors = _palette(list(names))
    generators = set(names[populations["kind"] == "generator"]) if "kind" in populations.columns else set()
    fig, ax = plt.subplots(figsize=(4.6, 3.2), layout="constrained")
    for g in colors:
        e = np.sort(100.0 - populations.loc[names == g, "top1"].to_numpy(dtype=float))
        xs = np.concatenate([[e[0]], e])
        ys = np.concatenate([[0.0], np.arange(1, len(e) + 1) / len(e)])
        ax.step(xs, ys, where="post", color=colors[g], lw=1.5, ls="--" if g in generators else "-",
                label=f"{g}: {len(e)} | {e.min():.2f} | {e.mean():.2f}")
    ax.set_xlabel("top-1 test error (%)")
    ax.set_ylabel("cumulative prob.")
    ax.set_ylim(0, 1.02)
    ax.legend(title="population: n | min | mean", loc="lower right", fontsize="small")
    sns.despine(ax=ax)
    return fig


# --- architecture comparison: accuracy vs multiply-adds -----------------------------------------
def plot_accuracy_vs_macs(models, comparison):
    """Test top-1 (%) vs multiply-adds: one dot per network, per setting its mean with the 95% interval bar."""
    set_style()
    _require(models, ["setting", "top1", "macs"], "accuracy vs MACs")
    _require(comparison, ["setting", "n", "top1_mean", "top1_lo", "top1_hi", "macs"], "accuracy vs MACs")
    settings = list(comparison["setting"])
    colors = dict(zip(settings, sns.color_palette("colorblind", max(len(settings), 1))))
    fig, ax = plt.subplots(figsize=(7.0, 3.8), layout="constrained")
    for row in comparison.to_dict("records"):
        s = row["setting"]
        dots = models[models["setting"] == s].dropna(subset=["top1", "macs"])
        ax.scatter(dots["macs"], dots["top1"], s=14, color=colors[s], alpha=0.55, lw=0)
        has_ci = row["top1_lo"] == row["top1_lo"]  # NaN for a single seed: no bar
        err = [[row["top1_mean"] - row["top1_lo"]], [row["top1_hi"] - row["top1_mean"]]] if has_ci else None
        lr = f", lr {row['lr']}" if row.get("lr") else ""
        ax.errorbar(row["macs"], row["top1_mean"], yerr=err, fmt="D", ms=5, color=colors[s], capsize=3, lw=1.2,
                    label=f"{s} (n={row['n']}{lr})")
    ax.set_xscale("log")
    ax.set_xlabel("multiply-adds per image (log scale)")
    ax.set_ylabel("test top-1 (%)")
    ax.legend(title="dots: networks\ndiamond, bar: mean, 95% t-interval\nover seeds", loc="center left", bbox_to_anchor=(1.02, 0.5))
    _despine(ax)
    return fig
