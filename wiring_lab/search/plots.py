"""Search figures: best-so-far accuracy vs children trained, and error EDFs of searched populations.

Both take tidy tables (``search_history.csv``, ``models.csv``) and return a Figure; neither
loads a checkpoint.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from wiring_lab._io import UserError
from wiring_lab.plots import set_style

GENERATOR_SETTINGS = ("er", "ba", "ws")  # models.csv rows that form random-generator populations


def _require(df: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UserError(f"{what}: the table has no column {missing[0]!r} (needs {', '.join(columns)})")
    if df.empty:
        raise UserError(f"{what}: the table has no rows")


def population_names(history: pd.DataFrame) -> pd.Series:
    """Population of each history row: the run name without its seed, or the setting (``WS(4, 0.75)``) of a generator run."""
    names = history["run"].astype(str).str.replace(r"-s\d+$", "", regex=True)
    if "strategy" in history.columns and "setting" in history.columns:
        names = names.where(history["strategy"] != "generator", history["setting"].astype(str))
    return names


def _palette(names: list[str]) -> dict[str, Any]:
    """One colour per population name, the same in every figure of a run."""
    import seaborn as sns

    names = sorted(set(names))
    return dict(zip(names, sns.color_palette("colorblind", len(names))))


def plot_search_progress(history: pd.DataFrame, metric: str = "best_val_so_far"):
    """Best-so-far accuracy vs children trained, one line per run (mean and band over search seeds)."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator

    set_style()
    _require(history, ["run", "child", "search_seed", metric], "search progress")
    df = history.assign(trained=history["child"] + 1, population=population_names(history))
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


def search_populations(history: pd.DataFrame, models: pd.DataFrame | None = None) -> pd.DataFrame:
    """Tidy ``population, kind, model, top1`` rows: searched populations and random-generator populations.

    A search run's population is named after the run (seed dropped), a ``generator`` run's after
    its setting (``WS(4, 0.75)``); both use the search's split and recipe. Networks of ``models``
    (e.g. ``models.csv``) from ER/BA/WS that are not children of a search form one population per
    setting, marked ``(models.csv)`` as they may have been trained with another recipe.
    ``kind`` is ``search`` or ``generator``.
    """
    _require(history, ["run", "model", "test_top1"], "search populations")
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


def plot_search_edf(populations: pd.DataFrame):
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
