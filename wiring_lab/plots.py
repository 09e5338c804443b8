"""Paper-style figures: each function takes tidy tables and returns a matplotlib Figure.

Style is set once (:func:`set_style`). No function here loads a checkpoint, touches a GPU or
writes a file except :func:`save_figure`. Accuracy is always in percent, accuracy changes in
percentage points (pp); ``delta_top1`` keeps the damage table's sign (negative = accuracy lost),
as in RandWire Fig. 5.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from wiring_lab._io import UserError, atomic_path
from wiring_lab.analysis import op_order

_STYLE_SET = False
FORMATS = ("png", "pdf", "svg")

# Panel order and colours of the paper's generators; other generators follow in name order.
GENERATOR_ORDER = ("er", "ba", "ws", "chain", "complete")
GENERATOR_NAMES = {"er": "ER", "ba": "BA", "ws": "WS", "chain": "chain", "complete": "complete"}
ATTACK_ORDER = ("random", "degree", "betweenness")
NODE_METRIC_LABELS = {
    "in_degree": "in-degree (graph)",
    "out_degree": "out-degree (graph)",
    "degree": "degree (undirected)",
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
    "out_degree_io": "out-degree of the removed node (DAG)",
    "out_degree": "out-degree of the removed node (graph)",
    "in_degree_io": "in-degree of the removed node (DAG)",
    "in_degree": "in-degree of the removed node (graph)",
    "target_in_degree": "in-degree of the edge's target (DAG)",
}


def set_style() -> None:
    """Paper style: seaborn ticks, colour-blind palette, 9-pt text, Agg when headless."""
    global _STYLE_SET
    if _STYLE_SET:
        return
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg") and not _has_display():
        matplotlib.use("Agg")
    import seaborn as sns

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
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def save_figure(fig, path: str | Path) -> Path:
    """Save ``fig`` (format from the extension: png, pdf, svg) atomically and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UserError(f"{path}: figure files must end in .png, .pdf or .svg")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt)
    path.chmod(0o644)  # a figure is for sharing (the temporary file was private)
    plt.close(fig)
    return path


# --- helpers ---------------------------------------------------------------------------------
def _require(df, columns: Sequence[str], what: str) -> None:
    """Raise a UserError naming the figure when ``df`` lacks a column or rows."""
    import pandas as pd

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
    "stage node source target in_degree out_degree in_degree_io out_degree_io target_in_degree top1 top5 loss "
    "delta_top1 delta_top1_lo delta_top1_hi seed p k m n fraction removed repeat epoch train_loss train_top1 "
    "test_loss test_top1 test_top5 lr_end seconds channels nodes epochs n_params macs".split()
    + ["avg_degree", "avg_clustering", "avg_path_length", "n_components", "diameter", "transitivity", "global_efficiency",
       "assortativity", "depth", "mean_io_path_length", "n_io_paths", "n_input_fed", "n_output_fed"]
)


def _generators(values: Sequence[str]) -> list[str]:
    """Generators present, in the paper's order (ER, BA, WS), others after by name."""
    present = list(dict.fromkeys(str(v) for v in values))
    return [g for g in GENERATOR_ORDER if g in present] + sorted(g for g in present if g not in GENERATOR_ORDER)


def _gen_name(g: str) -> str:
    """Display name of a generator: ER, BA, WS."""
    return GENERATOR_NAMES.get(g, g)


def _gen_colors(gens: Sequence[str]) -> dict[str, Any]:
    """Fixed colour of each generator, the same in every figure."""
    import seaborn as sns

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
def plot_generator_sweep(models, node_op: str | None = "sepconv3x3"):
    """RandWire Fig. 3: bars of mean top-1 (%) +- std over instances, one panel per generator."""
    import matplotlib.pyplot as plt
    import numpy as np

    set_style()
    _require(models, ["generator", "setting", "top1"], "generator sweep")
    df = models.dropna(subset=["top1"])
    if node_op is not None and "node_op" in df.columns and (df["node_op"] == node_op).any():
        df = df[df["node_op"] == node_op]
    gens = _generators(df["generator"])
    colors = _gen_colors(gens)
    widths = [max(1, df.loc[df["generator"] == g, "setting"].nunique()) for g in gens]
    fig, axes = plt.subplots(
        1, len(gens), figsize=(1.2 + 0.55 * sum(widths) + 0.9 * len(gens), 3.0), sharey=True,
        gridspec_kw={"width_ratios": widths}, layout="constrained", squeeze=False,
    )
    lows, highs, counts = [], [], []
    for ax, g in zip(axes[0], gens):
        sub = df[df["generator"] == g]
        settings = _ordered_settings(sub)
        stats = sub.groupby("setting")["top1"].agg(["mean", "std", "count"]).reindex(settings)
        x = np.arange(len(settings))
        err = stats["std"].where(stats["count"] > 1)
        ax.bar(x, stats["mean"], width=0.7, color=colors[g], edgecolor="black", linewidth=0.5)
        has_std = err.notna().to_numpy()
        if has_std.any():
            ax.errorbar(x[has_std], stats["mean"][has_std], yerr=err[has_std].to_numpy(), fmt="none", ecolor="black",
                        elinewidth=0.8, capsize=2.5)
        for xi, (m, s, c) in zip(x, stats[["mean", "std", "count"]].to_numpy()):
            lows.append(m - (s if c > 1 else 0))
            highs.append(m + (s if c > 1 else 0))
        if len(settings) > 2:
            ax.set_xticks(x, settings, rotation=45, ha="right", rotation_mode="anchor")
        else:
            ax.set_xticks(x, settings)
        counts += list(stats["count"])
        ax.set_title(_gen_name(g))
        ax.set_xlim(-0.6, len(settings) - 0.4)
        _despine(ax)
    lo, hi = float(np.nanmin(lows)), float(np.nanmax(highs))
    pad = max(0.5, 0.15 * (hi - lo))
    axes[0][0].set_ylim(max(0.0, lo - 2 * pad), min(100.0, hi + pad))
    axes[0][0].set_ylabel("top-1 accuracy (%)")
    lo_n, hi_n = int(min(counts)), int(max(counts))
    n = f"{lo_n}" if lo_n == hi_n else f"{lo_n}-{hi_n}"
    note = "bar = mean, error bar = std" if hi_n > 1 else "one network per setting, no std"
    fig.supxlabel(f"generator setting ({note}; n = {n} network{'s' if hi_n != 1 else ''} per setting)", fontsize=9)
    return fig


def _despine(ax) -> None:
    """Remove the top and right spines (paper look)."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)


# --- RandWire Fig. 4: stage DAG drawings ------------------------------------------------------
def plot_stage_graphs(graphs: Mapping[str, Sequence[Any]], max_models: int = 6):
    """RandWire Fig. 4: one row per network, one drawing per stage, layered left to right by depth."""
    import matplotlib.pyplot as plt

    from wiring_lab.drawing import draw_stage
    from wiring_lab.graphs import setting_label

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
def _boxes(ax, sub, x: str, y: str, color) -> None:
    """Box = IQR, bar = median, red circle = mean, dots = variants, at integer x positions."""
    import numpy as np

    positions = sorted(int(v) for v in sub[x].dropna().unique())
    data = [sub.loc[sub[x] == p, y].dropna().to_numpy() for p in positions]
    ax.boxplot(
        data, positions=positions, widths=0.6, whis=0, showcaps=False, showfliers=False, patch_artist=True,
        boxprops={"facecolor": (*color[:3], 0.25) if isinstance(color, tuple) else color, "edgecolor": "black", "linewidth": 0.7},
        medianprops={"color": "black", "linewidth": 1.2}, whiskerprops={"linewidth": 0}, manage_ticks=False,
    )
    rng = np.random.default_rng(0)  # jitter only, fixed for reproducible renders
    for p, d in zip(positions, data):
        ax.scatter(p + rng.uniform(-0.18, 0.18, len(d)), d, s=6, color=color, alpha=0.6, linewidths=0, zorder=3)
    means = [d.mean() for d in data]
    ax.scatter(positions, means, s=22, facecolors="none", edgecolors="red", linewidths=1.1, zorder=4)
    if positions:
        ax.set_xlim(min(positions) - 0.8, max(positions) + 0.8)
        step = max(1, math.ceil((max(positions) - min(positions) + 1) / 10))
        ax.set_xticks(range(min(positions), max(positions) + 1, step))


def plot_damage(damage, node_degree: str = "out_degree_io", edge_degree: str = "target_in_degree"):
    """RandWire Fig. 5: Δ top-1 vs degree; top row node removal, bottom row edge removal, one column per generator."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    set_style()
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
            ax.set_xlabel(xlabels[kind])
            _despine(ax)
        axes[r][0].set_ylabel("Δ top-1 (pp)")
    handles = [Patch(facecolor="0.85", edgecolor="black", label="IQR"), Line2D([], [], color="black", label="median"),
               Line2D([], [], marker="o", ls="", mfc="none", mec="red", label="mean"),
               Line2D([], [], marker="o", ls="", ms=3, color="0.4", label="one removal")]
    fig.legend(handles=handles, loc="outside lower center", ncols=4)
    return fig


# --- RandWire Fig. 6: node operations ---------------------------------------------------------
def plot_node_ops(models, correlations):
    """RandWire Fig. 6: mean top-1 per generator setting, one line per node op; ``correlations``
    (:func:`wiring_lab.analysis.node_op_correlations`) lists the pairwise Pearson r."""
    import matplotlib.pyplot as plt
    import numpy as np

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
    """Watts-Strogatz 1998 Fig. 2: C(P)/C(0) and L(P)/L(0) vs rewiring probability P (log axis).

    ``curves`` is :func:`wiring_lab.analysis.ws_curves` of a population table.
    """
    import matplotlib.pyplot as plt

    set_style()
    _require(curves, ["k", "n", "p", "C/C(0)", "L/L(0)", "samples"], "WS curves")
    groups = list(curves.groupby(["k", "n"]).groups)
    fig, axes = plt.subplots(1, len(groups), figsize=(3.6 * len(groups) + 0.4, 3.0), sharey=True, layout="constrained", squeeze=False)
    for ax, (k, n) in zip(axes[0], groups):
        curve = curves[(curves["k"] == k) & (curves["n"] == n)].sort_values("p")
        samples = int(curve["samples"].min())
        ax.plot(curve["p"], curve["C/C(0)"], "s", ms=4, mfc="white", label="C(P) / C(0)")
        ax.plot(curve["p"], curve["L/L(0)"], "o", ms=4, label="L(P) / L(0)")
        ax.set_xscale("log")
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("rewiring probability P")
        ax.set_title(f"WS(K={int(k)}), N={int(n)}, {samples} graph{'s' if samples != 1 else ''} per P")
        _despine(ax)
    axes[0][0].set_ylabel("ratio to the ring lattice (P = 0)")
    axes[0][0].legend(loc="lower left")
    return fig


# --- You et al. 2020: C-L heat map ------------------------------------------------------------
def plot_cl_heatmap(models_with_cl, bins: int = 8):
    """You et al. 2020 Fig. 1: mean top-1 over bins of clustering C and path length L; best graph starred."""
    import matplotlib.pyplot as plt
    import numpy as np

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
    import matplotlib.pyplot as plt
    import numpy as np

    set_style()
    _require(models, [by, "top1"], "error EDF")
    df = models.dropna(subset=["top1"]).assign(error=lambda d: 100.0 - d["top1"])
    groups = _generators(df[by]) if by == "generator" else sorted(df[by].astype(str).unique())
    if by == "generator":
        colors = _gen_colors(groups)
    else:
        import seaborn as sns

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
    import matplotlib.pyplot as plt

    set_style()
    _require(attack, ["generator", "order", "fraction", "top1"], "attack")
    gens = _generators(attack["generator"])
    orders = [o for o in ATTACK_ORDER if o in set(attack["order"])] + sorted(set(attack["order"]) - set(ATTACK_ORDER))
    import seaborn as sns

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
    """Per-epoch loss (train dashed, test solid) and test top-1 of every network, coloured by generator."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    set_style()
    _require(history, ["model", "epoch", "train_loss", "test_loss", "test_top1"], "learning curves")
    df = history.copy()
    if models is not None and {"model", "generator", "setting"} <= set(models.columns):
        df = df.merge(models[["model", "generator", "setting"]].drop_duplicates("model"), on="model", how="left")
    if "generator" not in df:
        df["generator"] = df["model"]
    df["generator"] = df["generator"].fillna(df["model"])
    gens = _generators(df["generator"])
    colors = _gen_colors(gens)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.2, 3.0), layout="constrained")
    for model, sub in df.sort_values("epoch").groupby("model", sort=False):
        color = colors[sub["generator"].iloc[0]]
        a1.plot(sub["epoch"], sub["train_loss"], "--", color=color, lw=0.9, alpha=0.8)
        a1.plot(sub["epoch"], sub["test_loss"], "-", color=color, lw=1.1, alpha=0.9)
        a2.plot(sub["epoch"], sub["test_top1"], "-", color=color, lw=1.1, alpha=0.9)
    a1.set_ylabel("cross-entropy loss")
    a2.set_ylabel("test top-1 accuracy (%)")
    for a in (a1, a2):
        a.set_xlabel("epoch")
        a.xaxis.get_major_locator().set_params(integer=True)
        _despine(a)
    count = df.groupby("generator")["model"].nunique()
    handles = [Line2D([], [], color=colors[g], label=f"{_gen_name(g)} ({count[g]} net{'s' if count[g] != 1 else ''})") for g in gens]
    # the training loss is the optimised one (with label smoothing), the test loss plain cross-entropy
    handles += [Line2D([], [], color="0.3", ls="--", label="train (label-smoothed)"), Line2D([], [], color="0.3", ls="-", label="test")]
    a1.legend(handles=handles, loc="upper right", ncols=1)
    a2.set_ylim(max(0.0, df["test_top1"].min() - 3), 100.5)
    return fig


# --- metric vs damage ---------------------------------------------------------------------------
def _r2(x: float) -> str:
    """A coefficient with two decimals, without a negative zero."""
    text = f"{x:.2f}"
    return "0.00" if text == "-0.00" else text


def plot_metric_vs_damage(node_damage, stats, metrics: Sequence[str] | None = None):
    """Δ top-1 of each node removal vs a node metric, one panel per metric, Spearman ρ [95% CI] in each.

    ``node_damage``: node-removal rows joined with node metrics; ``stats``: one row per metric with
    ``metric, spearman_rho, rho_lo, rho_hi, n`` (see :func:`wiring_lab.analysis.spearman_table`).
    """
    import matplotlib.pyplot as plt

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
            ax.set_title(f"Spearman ρ = {_r2(r['spearman_rho'])} [{_r2(r['rho_lo'])}, {_r2(r['rho_hi'])}], n = {int(r['n'])}", fontsize=8.5)
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
    fig.suptitle("95% paired-bootstrap intervals of Spearman ρ in brackets", fontsize=8, color="0.3")
    return fig


# --- search runs (Radosavovic et al. 2019 EDFs; best-so-far curves) --------------------------
def _palette(names: list[str]) -> dict[str, Any]:
    """One colour per population name, the same in every figure of a run."""
    import seaborn as sns

    names = sorted(set(names))
    return dict(zip(names, sns.color_palette("colorblind", len(names))))


def plot_search_progress(progress, metric: str = "best_val_so_far"):
    """Best-so-far accuracy vs children trained, one line per run (mean and band over search seeds).

    ``progress`` is :func:`wiring_lab.analysis.search_progress` of ``search_history.csv``.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator

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
    import matplotlib.pyplot as plt
    import numpy as np
    import seaborn as sns

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
