"""How the damage findings move with the ablation semantics: one table, and the findings in words.

A damage table swept under several choices (``ablation`` drop / zero / mean, each with and
without ``cascade``) gives one row per (choice, generator) here: how many networks and node
removals, the mean accuracy lost with a 95% t interval over networks (the network is the
independent unit: its node removals are averaged first), and the slope of delta top-1 on the
removed node's out-degree from :func:`wiring_lab.correlation.mixed_slope` (one MixedLM per
choice, generators pooled, random intercept per network) with its 95% interval. RandWire's
Fig. 5 trend "damage grows with out-degree" *holds* for a generator where the slope's interval
lies below 0, is *reversed* where it lies above 0, and is *not shown* otherwise.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from wiring_lab.columns import rename_legacy_columns
from wiring_lab.compare import t_interval
from wiring_lab.correlation import mixed_slope
from wiring_lab.resampling import adjust_pvalues

SENSITIVITY_COLUMNS = [
    "ablation", "cascade", "generator", "setting", "n_networks", "n_rows", "mean_delta", "mean_lo", "mean_hi",
    "slope", "slope_lo", "slope_hi", "p", "p_holm", "trend", "note",
]  # fmt: skip
SLOPE_METRIC = "out_degree_graph"  # the generated graph's out-degree, as Fig. 5's x axis


DEFAULT_CHOICE = ("drop", False)  # (ablation, cascade): the paper's "remove one node", without cascade


def choices(df: pd.DataFrame) -> pd.Series:
    """Each row's ablation choice as an ``(ablation, cascade)`` tuple; a table from before these
    columns counts as the default (drop, no cascade). ``cascade`` may be bool or CSV text."""
    ablation = df["ablation"].astype(str) if "ablation" in df.columns else pd.Series(DEFAULT_CHOICE[0], index=df.index)
    cascade = df["cascade"].astype(str).str.lower().isin(("true", "1")) if "cascade" in df.columns else pd.Series(False, index=df.index)
    return pd.Series(list(zip(ablation, cascade)), index=df.index)


def choice_label(ablation: str, cascade: bool) -> str:
    """``drop``, ``zero + cascade``, ..."""
    return f"{ablation}{' + cascade' if cascade else ''}"


def _trend(lo: float, hi: float) -> str:
    """'holds' (interval below 0: more out-degree, more damage), 'reversed', or 'not shown'."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "no estimate"
    return "holds" if hi < 0 else "reversed" if lo > 0 else "not shown"


def sensitivity_table(damage: pd.DataFrame, metric: str = SLOPE_METRIC, target: str = "delta_top1") -> pd.DataFrame:
    """One row per (ablation, cascade, generator) of the node removals in ``damage`` (see the module doc)."""
    df = rename_legacy_columns(damage)
    df = df[df["kind"].astype(str) == "node"].copy()
    key = choices(df)
    df["ablation"], df["cascade"] = [a for a, _ in key], [c for _, c in key]
    if "generator" not in df.columns:
        df["generator"] = "all"
    rows = []
    order = {"drop": 0, "zero": 1, "mean": 2}
    found = sorted(df.groupby(["ablation", "cascade"]).groups, key=lambda k: (order.get(k[0], 9), k[0], k[1]))
    for ablation, cascade in found:
        part = df[(df["ablation"] == ablation) & (df["cascade"] == cascade)]
        slopes = mixed_slope(part, metric, target, "generator", ("stage",)).set_index("generator")
        for gen, g in part.groupby("generator", sort=True):
            per_net = g.groupby("model")[target].mean().to_numpy(float)
            mean, lo, hi = t_interval(per_net)
            s = slopes.loc[gen] if gen in slopes.index else None
            setting = str(g["setting"].iloc[0]) if "setting" in g.columns else str(gen)
            rows.append({
                "ablation": ablation, "cascade": bool(cascade), "generator": gen, "setting": setting,
                "n_networks": int(g["model"].nunique()), "n_rows": len(g), "mean_delta": mean, "mean_lo": lo, "mean_hi": hi,
                "slope": float(s["slope"]) if s is not None else math.nan, "slope_lo": float(s["lo"]) if s is not None else math.nan,
                "slope_hi": float(s["hi"]) if s is not None else math.nan, "p": float(s["p"]) if s is not None else math.nan,
                "note": str(s["note"]) if s is not None and isinstance(s["note"], str) else "",
            })  # fmt: skip
    out = pd.DataFrame(rows, columns=[c for c in SENSITIVITY_COLUMNS if c not in ("p_holm", "trend")])
    out["p_holm"], _ = adjust_pvalues(out["p"]) if len(out) else (np.array([]), None)
    out["trend"] = [_trend(lo, hi) for lo, hi in zip(out["slope_lo"], out["slope_hi"])]
    return out[SENSITIVITY_COLUMNS]


def findings(table: pd.DataFrame, default: tuple[str, bool] = DEFAULT_CHOICE) -> list[str]:
    """The findings of a sensitivity table in sentences: per generator, whether Fig. 5's trend holds
    under the default choice (slope and interval), and whether any other choice changes the answer."""
    if table.empty:
        return ["No node removals in the damage table: nothing to report."]
    lines = []
    base = table[(table["ablation"] == default[0]) & (table["cascade"] == default[1])]
    if base.empty:
        base = table[(table["ablation"] == table["ablation"].iloc[0]) & (table["cascade"] == table["cascade"].iloc[0])]
        default = (str(base["ablation"].iloc[0]), bool(base["cascade"].iloc[0]))
    for _, r in base.iterrows():
        others = table[(table["generator"] == r["generator"]) & ~((table["ablation"] == default[0]) & (table["cascade"] == default[1]))]
        moved = [f"{choice_label(o['ablation'], o['cascade'])}: {o['trend']} ({o['slope']:+.2f} [{o['slope_lo']:+.2f}, {o['slope_hi']:+.2f}])"
                 for _, o in others.iterrows() if o["trend"] != r["trend"]]
        said = {"holds": "damage grows with out-degree", "reversed": "damage shrinks with out-degree",
                "not shown": "no trend with out-degree the data can carry", "no estimate": "no slope could be estimated"}[r["trend"]]
        if r["trend"] == "no estimate":
            slope = f"({r['note'] or 'no fit'})"
        else:
            slope = (f"slope {r['slope']:+.2f} pp per out-edge, 95% CI [{r['slope_lo']:+.2f}, {r['slope_hi']:+.2f}] "
                     f"(Holm p {r['p_holm']:.2g})")
        ci = f" [{r['mean_lo']:+.2f}, {r['mean_hi']:+.2f}]" if math.isfinite(r["mean_lo"]) else ""
        sentence = (f"{r['setting']} ({int(r['n_networks'])} networks, {int(r['n_rows'])} node removals): {said} under "
                    f"{choice_label(*default)}: {slope}; mean loss {r['mean_delta']:+.2f} pp{ci}.")
        if len(others):
            same = "the other choice" if len(others) == 1 else f"all {len(others)} other choices"
            sentence += f" The answer is the same under {same}." if not moved else " It changes under " + "; ".join(moved) + "."
        lines.append(sentence)
    return lines


def format_sensitivity(table: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The table as a reader sees it: choice, generator, n, mean loss and slope with their intervals."""
    t = table
    return pd.DataFrame({
        "choice": [choice_label(a, c) for a, c in zip(t["ablation"], t["cascade"])],
        "generator": t["setting"],
        "networks": t["n_networks"],
        "node removals": t["n_rows"],
        "mean delta top-1 (pp) [95% CI]": [f"{m:+.2f} [{lo:+.2f}, {hi:+.2f}]" for m, lo, hi in zip(t["mean_delta"], t["mean_lo"], t["mean_hi"])],
        "slope on out-degree (pp/edge) [95% CI]": [f"{m:+.2f} [{lo:+.2f}, {hi:+.2f}]" for m, lo, hi in zip(t["slope"], t["slope_lo"], t["slope_hi"])],
        "Fig. 5 trend": t["trend"],
    })  # fmt: skip
