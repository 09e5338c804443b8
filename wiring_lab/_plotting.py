"""What every figure module shares: the paper style as a context (never global state), figures
made without pyplot, axes from the caller (``ax=``), generator order and colours, table checks.

No plot function changes matplotlib's backend or its global rcParams: the style is applied with
:func:`plot_style` around the drawing only, and a figure is a ``matplotlib.figure.Figure`` made
without pyplot (a notebook shows the returned figure once; a headless machine needs no backend
switch). A function given ``ax=`` draws into the caller's axes and returns their figure.
"""

from __future__ import annotations

import contextlib
import functools
import math
from typing import Any, Callable, Iterator, Sequence

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from wiring_lab._io import UserError
from wiring_lab.generators import registered

# Panel order and colours of the registered generators (the paper's first); others follow in name order.
GENERATOR_ORDER = tuple(g.name for g in registered())
GENERATOR_NAMES = {g.name: g.title for g in registered()}

_RC = {
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "axes.titlesize": 10,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "legend.frameon": False,
    "pdf.fonttype": 42,  # editable text in PDF/SVG for journals
    "svg.fonttype": "none",
}


@contextlib.contextmanager
def plot_style() -> Iterator[None]:
    """Paper style (seaborn ticks, colour-blind palette, 9-pt text) for the drawing inside only."""
    from cycler import cycler

    rc = {**sns.axes_style("ticks"), **sns.plotting_context("paper", font_scale=1.1), **_RC,
          "axes.prop_cycle": cycler(color=sns.color_palette("colorblind"))}
    with matplotlib.rc_context(rc):
        yield


def styled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a plot function inside :func:`plot_style`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with plot_style():
            return fn(*args, **kwargs)

    return wrapper


def axes_grid(nrows: int, ncols: int, ax: Any = None, figsize: tuple[float, float] = (4.0, 3.0), what: str = "figure",
              **subplot_kw: Any) -> tuple[Figure, np.ndarray]:
    """``(figure, (nrows, ncols) array of Axes)``: a new pyplot-free figure, or the caller's ``ax``
    (one Axes, or exactly ``nrows * ncols`` of them, as ``plt.subplots`` returns)."""
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    given = list(np.ravel(ax)) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
    if len(given) != nrows * ncols:
        raise UserError(f"{what}: draws {nrows * ncols} panel(s); pass ax= with exactly that many Axes (got {len(given)})")
    return given[0].figure, np.array(given, dtype=object).reshape(nrows, ncols)


def despine(ax: Any) -> None:
    """Remove the top and right spines (paper look)."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)


def generators(values: Sequence[str]) -> list[str]:
    """Generators present, in the paper's order (ER, BA, WS), others after by name."""
    present = list(dict.fromkeys(str(v) for v in values))
    return [g for g in GENERATOR_ORDER if g in present] + sorted(g for g in present if g not in GENERATOR_ORDER)


def gen_name(g: str) -> str:
    """Display name of a generator: ER, BA, WS, WS-flex (its record's title)."""
    return GENERATOR_NAMES.get(g) or next((r.title for r in registered() if r.name == g), g)


def gen_colors(gens: Sequence[str], palette: Any = None) -> dict[str, Any]:
    """Fixed colour of each generator, the same in every figure; ``palette`` (a dict, a seaborn
    palette name or a list of colours) overrides it like seaborn's ``palette=``."""
    if palette is not None:
        return hue_colors(gens, palette)
    pal = sns.color_palette("colorblind", 10)
    fixed = {g: pal[i] for i, g in enumerate(GENERATOR_ORDER)}
    extra = iter(pal[len(GENERATOR_ORDER):])
    return {g: fixed[g] if g in fixed else next(extra, "0.4") for g in gens}


def grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    """(rows, cols) of a panel grid for ``n`` panels."""
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def hue_colors(names: Sequence[str], palette: Any = None, default: str = "colorblind") -> dict[str, Any]:
    """One colour per name, in the order given: ``palette`` a dict (names it lacks are grey), a
    seaborn palette name or a list of colours, as seaborn's ``palette=``; ``default`` when None."""
    names = list(dict.fromkeys(names))
    if isinstance(palette, dict):
        return {n: palette.get(n, "0.4") for n in names}
    try:
        return dict(zip(names, sns.color_palette(default if palette is None else palette, max(len(names), 1))))
    except (ValueError, TypeError) as e:
        raise UserError(f"palette {palette!r}: {e}") from None


def suplabel(fig: Any, panel: Any, text: str, own: bool, which: str = "x", **kw: Any) -> None:
    """A label of the whole figure (``supxlabel``, ``supylabel`` or ``suptitle``) on a figure this
    module made; on the caller's figure (``ax=``) the text goes on ``panel`` instead, so the
    caller's own figure-level labels are left alone."""
    if own:
        {"x": fig.supxlabel, "y": fig.supylabel, "title": fig.suptitle}[which](text, **kw)
    else:
        {"x": panel.set_xlabel, "y": panel.set_ylabel, "title": panel.set_title}[which](text, **{k: v for k, v in kw.items() if k == "fontsize"})


def ordered_settings(df: pd.DataFrame) -> list[str]:
    """Settings of ``df`` (column ``setting``) ordered by their parameters: K, then P, then M (missing last)."""

    def num(x: Any) -> float:
        """A parameter as a float; missing values sort last."""
        try:
            x = float(x)
        except (TypeError, ValueError):
            return math.inf
        return math.inf if math.isnan(x) else x

    cols = [c for c in ("setting", "k", "p", "m") if c in df.columns]
    first = df[cols].drop_duplicates("setting").to_dict("records")
    return [r["setting"] for r in sorted(first, key=lambda r: (num(r.get("k")), num(r.get("p")), num(r.get("m")), str(r["setting"])))]


# Columns that hold numbers in every table that has them; a table holding text there is malformed.
NUMERIC_COLUMNS = frozenset(
    "stage node source target in_degree_graph out_degree_graph in_degree_dag out_degree_dag target_in_degree_dag degree_graph "
    "in_degree out_degree in_degree_io out_degree_io target_in_degree top1 top5 loss "
    "delta_top1 delta_top1_lo delta_top1_hi seed p k m n fraction removed repeat epoch train_loss train_top1 "
    "test_loss test_top1 test_top5 val_loss val_top1 val_top5 lr_end seconds channels nodes epochs n_params macs".split()
    + ["avg_degree", "avg_clustering", "avg_path_length", "n_components", "diameter", "transitivity", "global_efficiency",
       "assortativity", "depth", "mean_io_path_length", "n_io_paths", "n_input_fed", "n_output_fed"]
)

MIN_BOX = 5  # fewer points than this in a category: dots only, no box
STAGGER_FROM = 12  # categories beyond which the n under the axis is drawn in two staggered rows


def boxes(ax: Any, sub: pd.DataFrame, x: str, y: str, color: Any) -> bool:
    """Box = IQR (only where a category has >= MIN_BOX points), bar = median, red circle = mean,
    dots = variants, n under every category, at integer x positions (RandWire Fig. 5). Returns
    whether the counts were staggered into two rows (the x label then needs more room)."""
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
    stagger = len(positions) > STAGGER_FROM  # many categories: alternate two rows so neighbouring counts do not run together
    for i, (p, d) in enumerate(zip(positions, data)):  # n of every category, just under the axis
        ax.annotate(str(len(d)), xy=(p, 0), xycoords=("data", "axes fraction"), xytext=(0, -19 - 6 * (stagger and i % 2)), textcoords="offset points",
                    ha="center", va="top", fontsize=5.5, color="0.35")
    if positions:
        ax.set_xlim(min(positions) - 0.8, max(positions) + 0.8)
        step = max(1, math.ceil((max(positions) - min(positions) + 1) / 10))
        ax.set_xticks(range(min(positions), max(positions) + 1, step))
    return stagger
