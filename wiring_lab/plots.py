"""Paper-style figures: each function takes tidy tables and returns a matplotlib Figure.

No function here changes matplotlib's global state (backend, rcParams, seaborn theme): the paper
style is applied around the drawing only (:func:`wiring_lab._plotting.plot_style`), and a new
figure is a ``matplotlib.figure.Figure`` made without pyplot, so a notebook's own plots keep its
backend and style. Like seaborn, every function takes ``ax=`` (one Axes, or exactly one per
panel for the multi-panel figures) and draws into the caller's figure, which it returns; those
that colour by a column take ``palette=`` (a dict, a seaborn palette name or a list of colours)
and, where the column is a choice, ``hue=``. No function loads a checkpoint, touches a GPU or
writes a file except :func:`save_figure`. Accuracy is always in percent.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib
import numpy as np
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from wiring_lab._io import UserError, atomic_path, require
from wiring_lab._plotting import (
    NUMERIC_COLUMNS,
    axes_grid,
    despine,
    gen_colors,
    gen_name,
    generators,
    hue_colors,
    ordered_settings,
    styled,
    suplabel,
)
from wiring_lab.analysis import op_order, setting_summary
from wiring_lab.drawing import draw_stage
from wiring_lab.graphs import setting_label

FORMATS = ("png", "pdf", "svg")
SAVE_DPI = 200  # PNG resolution of saved figures
ATTACK_ORDER = ("random", "degree", "betweenness")


def save_figure(fig, path: str | Path) -> Path:
    """Save ``fig`` (format from the extension: png at 200 dpi, pdf, svg, with editable text) atomically.

    The save settings are passed here, not read from global rcParams; a figure made with pyplot
    stays open in pyplot (close it with ``plt.close(fig)``), one made by this module needs no closing."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UserError(f"{path}: figure files must end in .png, .pdf or .svg")
    with atomic_path(path) as tmp, matplotlib.rc_context({"pdf.fonttype": 42, "svg.fonttype": "none"}):
        fig.savefig(tmp, format=fmt, dpi=SAVE_DPI, bbox_inches="tight")
        tmp.chmod(0o644)  # a figure is for sharing (the temporary file was private)
    return path


def _require(df, columns: Sequence[str], what: str) -> None:
    """:func:`wiring_lab._io.require` with the columns that must hold numbers."""
    require(df, columns, what, NUMERIC_COLUMNS)


# --- RandWire Fig. 3: generator sweep ---------------------------------------------------------
@styled
def plot_generator_sweep(models, node_op: str | None = "sepconv3x3", summary=None, *, ax=None, palette=None):
    """RandWire Fig. 3 as points: every network a dot, the mean a diamond with its 95% t interval
    over networks, n under each setting; one panel per generator (no bars: a bar's length means
    something only from 0, and an axis that starts at 0 hides the differences).

    ``summary``: :func:`wiring_lab.analysis.setting_summary` of the same rows (computed if None);
    ``ax``: one Axes per generator; ``palette``: generator colours."""
    _require(models, ["generator", "setting", "top1"], "generator sweep")
    df = models.dropna(subset=["top1"])
    if node_op is not None and "node_op" in df.columns and (df["node_op"] == node_op).any():
        df = df[df["node_op"] == node_op]
    gens = generators(df["generator"])
    colors = gen_colors(gens, palette)
    summary = setting_summary(df) if summary is None else summary

    def summary_of(sub):
        """The summary rows of the settings in ``sub``."""
        return summary[summary["setting"].isin(sub["setting"].unique()) & summary["generator"].isin(sub["generator"].unique())]

    widths = [max(1, df.loc[df["generator"] == g, "setting"].nunique()) for g in gens]
    fig, axes = axes_grid(1, len(gens), ax, figsize=(1.2 + 0.6 * sum(widths) + 0.9 * len(gens), 3.2), what="generator sweep",
                          sharey=True, gridspec_kw={"width_ratios": widths})
    rng = np.random.default_rng(0)  # jitter only, fixed for reproducible renders
    counts = []
    for a, g in zip(axes[0], gens):
        sub = df[df["generator"] == g]
        settings = ordered_settings(sub)
        stats = summary_of(sub).set_index("setting").reindex(settings).rename(columns={"n": "count"})
        x = np.arange(len(settings))
        for xi, setting in zip(x, settings):
            v = sub.loc[sub["setting"] == setting, "top1"].to_numpy(float)
            a.scatter(xi - 0.22 + rng.uniform(-0.06, 0.06, len(v)), v, s=9, color=colors[g], alpha=0.7, linewidths=0, zorder=3)
        half = (stats["hi"] - stats["mean"]).to_numpy(float)
        ok = np.isfinite(half)
        a.errorbar(x[ok] + 0.08, stats["mean"].to_numpy()[ok], yerr=half[ok], fmt="D", ms=4.5, color="black", mfc=colors[g],
                   elinewidth=1.0, capsize=3, zorder=4)
        a.scatter(x[~ok] + 0.08, stats["mean"].to_numpy()[~ok], marker="D", s=20, color=colors[g], edgecolors="black", zorder=4)
        labels = [f"{st}\nn={int(c)}" for st, c in zip(settings, stats["count"])]
        if len(settings) > 2:
            a.set_xticks(x, labels, rotation=45, ha="right", rotation_mode="anchor", fontsize=7.5)
        else:
            a.set_xticks(x, labels, fontsize=7.5)
        counts += list(stats["count"])
        a.set_title(gen_name(g))
        a.set_xlim(-0.6, len(settings) - 0.4)
        despine(a)
    axes[0][0].set_ylabel("top-1 accuracy (%)")
    lo_n, hi_n = int(min(counts)), int(max(counts))
    n = f"{lo_n}" if lo_n == hi_n else f"{lo_n}-{hi_n}"
    note = "dot = network, diamond = mean, bar = 95% t interval over networks" if hi_n > 1 else "one network per setting, no interval"
    suplabel(fig, axes[0][0], f"generator setting ({note}; n = {n} network{'s' if hi_n != 1 else ''} per setting)", ax is None, fontsize=9)
    return fig


# --- RandWire Fig. 4: stage DAG drawings ------------------------------------------------------
@styled
def plot_stage_graphs(graphs: Mapping[str, Sequence[Any]], max_models: int = 6, *, ax=None):
    """RandWire Fig. 4: one row per network, one drawing per stage, layered left to right by depth.

    ``ax``: one Axes per drawing (networks x most stages), row by row."""
    items = [(name, list(specs)) for name, specs in graphs.items() if len(specs)][:max_models]
    if not items:
        raise UserError("stage graphs: no graphs to draw")
    cols = max(len(specs) for _, specs in items)
    n = max(s.n for _, specs in items for s in specs)
    node_size = 60.0 if n <= 16 else 30.0 if n <= 32 else 12.0
    fig, axes = axes_grid(len(items), cols, ax, figsize=(3.6 * cols, 2.7 * len(items)), what="stage graphs")
    for row, (name, specs) in enumerate(items):
        for col in range(cols):
            if col >= len(specs):
                axes[row][col].set_axis_off()
                continue
            s = specs[col]
            draw_stage(s, ax=axes[row][col], node_size=node_size, title=f"{name}: stage {col}, {setting_label(s.generator, s.params)}, N={s.n}")
    return fig


# --- RandWire Fig. 6: node operations ---------------------------------------------------------
@styled
def plot_node_ops(models, correlations, *, ax=None, palette=None):
    """RandWire Fig. 6: mean top-1 per generator setting, one line per node op; ``correlations``
    (:func:`wiring_lab.analysis.node_op_correlations`) lists the pairwise Pearson r; ``palette``: node-op colours."""
    _require(models, ["generator", "setting", "node_op", "top1"], "node ops")
    df = models.dropna(subset=["top1"])
    order = [s for g in generators(df["generator"]) for s in ordered_settings(df[df["generator"] == g])]
    ops = op_order(df["node_op"].unique())
    fig, ((ax,),) = axes_grid(1, 1, ax, figsize=(max(4.5, 0.45 * len(order) + 2.5), 3.2), what="node ops")
    colors = hue_colors(ops, palette)
    markers = "osD^v<>"
    for i, op in enumerate(ops):
        m = df[df["node_op"] == op].groupby("setting")["top1"].mean().reindex(order)
        ax.plot(np.arange(len(order)), m.to_numpy(), marker=markers[i % len(markers)], ms=4, lw=1.2, color=colors[op], label=op)
    ax.set_xticks(np.arange(len(order)), order, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_xlabel("generator setting")
    ax.set_ylabel("top-1 accuracy (%)")
    text = "\n".join(f"r({a}, {b}) = {r:.2f}" for a, b, r in correlations[["op_a", "op_b", "pearson_r"]].itertuples(index=False))
    ax.legend(title="node operation", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if text:
        ax.text(1.02, 0.0, "Pearson r across settings\n" + text, transform=ax.transAxes, fontsize=7, va="bottom")
    despine(ax)
    return fig


# --- Watts-Strogatz C(P)/C(0), L(P)/L(0) ------------------------------------------------------
@styled
def plot_ws_curves(curves, *, ax=None):
    """Watts-Strogatz 1998 Fig. 2: C(P)/C(0) and L(P)/L(0) vs rewiring probability P (log axis),
    with the spread over graphs (25-75% of each graph's ratio to the lattice mean) where the table has it.

    ``curves`` is :func:`wiring_lab.analysis.ws_curves` of a population table; ``ax``: one Axes per (K, N).
    """
    _require(curves, ["k", "n", "p", "C/C(0)", "L/L(0)", "samples"], "WS curves")
    groups = list(curves.groupby(["k", "n"]).groups)
    fig, axes = axes_grid(1, len(groups), ax, figsize=(3.6 * len(groups) + 0.4, 3.0), what="WS curves", sharey=True)
    for a, (k, n) in zip(axes[0], groups):
        curve = curves[(curves["k"] == k) & (curves["n"] == n)].sort_values("p")
        samples = int(curve["samples"].min())
        spread = {"C/C(0) q25", "C/C(0) q75", "L/L(0) q25", "L/L(0) q75"} <= set(curve.columns)
        for col, marker, label, mfc in (("C/C(0)", "s", "C(P) / C(0)", "white"), ("L/L(0)", "o", "L(P) / L(0)", None)):
            yerr = None
            if spread:  # the middle half of the graphs: where one sampled network falls
                yerr = np.vstack([(curve[col] - curve[f"{col} q25"]).clip(lower=0), (curve[f"{col} q75"] - curve[col]).clip(lower=0)])
            a.errorbar(curve["p"], curve[col], yerr=yerr, fmt=marker, ms=4, mfc=mfc, elinewidth=0.8, capsize=2, label=label)
        a.set_xscale("log")
        a.set_ylim(0, 1.05)
        a.set_xlabel("rewiring probability P")
        a.set_title(f"WS(K={int(k)}), N={int(n)}, {samples} graph{'s' if samples != 1 else ''} per P", fontsize=9)
        if spread:
            a.text(0.98, 0.98, "marker: ratio of means\nbar: 25-75% of graphs", transform=a.transAxes, ha="right", va="top", fontsize=7, color="0.3")
        despine(a)
    axes[0][0].set_ylabel("ratio to the ring lattice (P = 0)")
    axes[0][0].legend(loc="lower left")
    return fig


# --- You et al. 2020: C-L heat map ------------------------------------------------------------
@styled
def plot_cl_heatmap(models_with_cl, bins: int = 8, *, ax=None, cmap: str = "viridis"):
    """You et al. 2020 Fig. 1: mean top-1 over bins of clustering C and path length L; best graph starred.

    ``cmap``: colour map of the mean accuracy (its colour bar takes room from ``ax``)."""
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
    fig, ((ax,),) = axes_grid(1, 1, ax, figsize=(4.6, 3.6), what="C-L heat map")
    mesh = ax.pcolormesh(ce, le, mean.T, cmap=cmap, shading="flat")
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
@styled
def plot_error_edf(models, hue: str = "generator", *, ax=None, palette=None):
    """Radosavovic et al. 2019: error EDF per population, one per value of column ``hue`` (n | min | mean error in the legend)."""
    _require(models, [hue, "top1"], "error EDF")
    df = models.dropna(subset=["top1"]).assign(error=lambda d: 100.0 - d["top1"])
    groups = generators(df[hue]) if hue == "generator" else sorted(df[hue].astype(str).unique())
    colors = gen_colors(groups, palette) if hue == "generator" else hue_colors(groups, palette)
    fig, ((ax,),) = axes_grid(1, 1, ax, figsize=(6.2, 3.2), what="error EDF")
    for g in groups:
        e = np.sort(df.loc[df[hue].astype(str) == g, "error"].to_numpy())
        # F(e) = fraction of models with error < e: a step up at every model's error
        xs = np.concatenate([[e[0]], e])
        ys = np.concatenate([[0.0], np.arange(1, len(e) + 1) / len(e)])
        name = gen_name(g) if hue == "generator" else g
        ax.step(xs, ys, where="post", color=colors[g], lw=1.5, label=f"{name}: {len(e)} | {e.min():.2f} | {e.mean():.2f}")
    ax.set_xlabel("top-1 error (%)")
    ax.set_ylabel("cumulative prob.")
    ax.set_ylim(0, 1.02)
    ax.legend(title="population: n | min | mean error (%)", loc="center left", bbox_to_anchor=(1.02, 0.5))
    despine(ax)
    return fig


# --- Albert, Jeong, Barabasi 2000: attack tolerance ---------------------------------------------
@styled
def plot_attack(attack, *, ax=None, palette=None):
    """Accuracy vs fraction of nodes removed: random failures vs targeted attacks, one panel per generator.

    ``ax``: one Axes per generator; ``palette``: colours of the removal orders (default seaborn ``dark``)."""
    _require(attack, ["generator", "order", "fraction", "top1"], "attack")
    gens = generators(attack["generator"])
    orders = [o for o in ATTACK_ORDER if o in set(attack["order"])] + sorted(set(attack["order"]) - set(ATTACK_ORDER))
    pal = hue_colors(orders, palette, default="dark")
    styles = {"random": "-", "degree": "--", "betweenness": ":"}
    fig, axes = axes_grid(1, len(gens), ax, figsize=(3.0 * len(gens) + 0.5, 2.9), what="attack", sharey=True)
    for a, g in zip(axes[0], gens):
        sub = attack[attack["generator"] == g]
        for o in orders:
            s = sub[sub["order"] == o].groupby("fraction")["top1"]
            mean, lo, hi = s.mean(), s.min(), s.max()
            a.plot(100 * mean.index, mean.to_numpy(), styles.get(o, "-."), marker="o", ms=3, color=pal[o],
                   label=o if o == "random" else f"{o} (targeted)")
            if (s.size() > 1).any():
                a.fill_between(100 * mean.index, lo.to_numpy(), hi.to_numpy(), color=pal[o], alpha=0.15, linewidth=0)
        settings = ", ".join(ordered_settings(sub)) if "setting" in sub else gen_name(g)
        nets = sub["model"].nunique() if "model" in sub else 1
        a.set_title(f"{settings} ({nets} net{'s' if nets != 1 else ''})")
        a.set_xlabel("nodes removed (%)")
        despine(a)
    axes[0][0].set_ylabel("top-1 accuracy (%)")
    axes[0][-1].legend(title="removal order", loc="upper right")
    suplabel(fig, axes[0][0], "line = mean over networks (and random repeats); band = min-max", ax is None, fontsize=8, color="0.3")
    return fig


# --- learning curves ---------------------------------------------------------------------------
@styled
def plot_learning_curves(history, models=None, *, hue: str = "generator", ax=None, palette=None):
    """Per-epoch train loss, monitored loss and monitored top-1 of every network (three panels),
    coloured by column ``hue`` (``generator``, ``setting`` from ``models``, or any column of ``history``).

    The monitored split is the validation hold-out (``val_*`` columns); histories written before
    training held one out monitored the test split (``test_*``) and are drawn as such. ``ax``: three Axes.
    """
    mon = "val" if "val_loss" in history.columns and history["val_loss"].notna().any() else "test"
    _require(history, ["model", "epoch", "train_loss", f"{mon}_loss", f"{mon}_top1"], "learning curves")
    df = history.copy()
    if models is not None and {"model", "generator", "setting"} <= set(models.columns):
        df = df.merge(models[["model", "generator", "setting"]].drop_duplicates("model"), on="model", how="left")
    if "generator" not in df:
        df["generator"] = df["model"]
    _require(df, [hue], "learning curves")
    df[hue] = df[hue].fillna(df["model"]).astype(str)
    gens = generators(df[hue]) if hue == "generator" else sorted(df[hue].unique())
    colors = gen_colors(gens, palette) if hue == "generator" else hue_colors(gens, palette)
    fig, ((a0, a1, a2),) = axes_grid(1, 3, ax, figsize=(10.2, 3.0), what="learning curves")
    for model, sub in df.sort_values("epoch").groupby("model", sort=False):
        color = colors[sub[hue].iloc[0]]
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
        despine(a)
    count = df.groupby(hue)["model"].nunique()
    name = gen_name if hue == "generator" else str
    handles = [Line2D([], [], color=colors[g], label=f"{name(g)} ({count[g]} net{'s' if count[g] != 1 else ''})") for g in gens]
    a2.legend(handles=handles, loc="lower right", ncols=1)
    a2.set_ylim(max(0.0, df[f"{mon}_top1"].min() - 3), 100.5)
    return fig


# --- search runs (Radosavovic et al. 2019 EDFs; best-so-far curves) --------------------------
@styled
def plot_search_progress(progress, metric: str = "best_val_so_far", *, ax=None, palette=None):
    """Best-so-far accuracy vs children trained, one line per run (mean and band over search seeds).

    ``progress`` is :func:`wiring_lab.analysis.search_progress` of ``search_history.csv``;
    ``palette``: colours of the populations (runs), in name order.
    """
    _require(progress, ["population", "trained", "search_seed", metric], "search progress")
    df = progress
    colors = hue_colors(sorted(set(df["population"])), palette)
    fig, ((ax,),) = axes_grid(1, 1, ax, figsize=(4.6, 3.2), what="search progress")
    sns.lineplot(df, x="trained", y=metric, hue="population", hue_order=list(colors), palette=colors,
                 units="search_seed" if df["search_seed"].nunique() > 1 else None,
                 estimator=None if df["search_seed"].nunique() > 1 else "mean", drawstyle="steps-post", ax=ax, lw=1.5)
    ax.set_xlabel("children trained")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel({"best_val_so_far": "best validation top-1 so far (%)", "best_test_so_far": "test top-1 of best-so-far child (%)"}.get(metric, metric))
    ax.legend(title="search run", loc="lower right")
    despine(ax)
    return fig


@styled
def plot_search_edf(populations, *, ax=None, palette=None):
    """Error EDFs, F(e) = fraction of a population's networks with error < e: searched solid, generators dashed.

    ``palette``: colours of the populations, in name order."""
    _require(populations, ["population", "top1"], "error EDF")
    names = populations["population"].astype(str)
    colors = hue_colors(sorted(set(names)), palette)
    dashed = set(names[populations["kind"] == "generator"]) if "kind" in populations.columns else set()
    fig, ((ax,),) = axes_grid(1, 1, ax, figsize=(4.6, 3.2), what="error EDF")
    for g in colors:
        e = np.sort(100.0 - populations.loc[names == g, "top1"].to_numpy(dtype=float))
        xs = np.concatenate([[e[0]], e])
        ys = np.concatenate([[0.0], np.arange(1, len(e) + 1) / len(e)])
        ax.step(xs, ys, where="post", color=colors[g], lw=1.5, ls="--" if g in dashed else "-",
                label=f"{g}: {len(e)} | {e.min():.2f} | {e.mean():.2f}")
    ax.set_xlabel("top-1 test error (%)")
    ax.set_ylabel("cumulative prob.")
    ax.set_ylim(0, 1.02)
    ax.legend(title="population: n | min | mean", loc="lower right", fontsize="small")
    despine(ax)
    return fig


# --- architecture comparison: accuracy vs multiply-adds -----------------------------------------
@styled
def plot_accuracy_vs_macs(models, comparison, *, ax=None, palette=None):
    """Test top-1 (%) vs multiply-adds: one dot per network, per setting its mean with the 95% interval bar.

    ``palette``: colours of the settings, in ``comparison``'s order."""
    _require(models, ["setting", "top1", "macs"], "accuracy vs MACs")
    _require(comparison, ["setting", "n", "top1_mean", "top1_lo", "top1_hi", "macs"], "accuracy vs MACs")
    settings = list(comparison["setting"])
    colors = hue_colors(settings, palette)
    fig, ((ax,),) = axes_grid(1, 1, ax, figsize=(7.0, 3.8), what="accuracy vs MACs")
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
    despine(ax)
    return fig
