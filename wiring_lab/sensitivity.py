"""How the damage findings move with the ablation semantics: one table, and the findings in words.

A damage table swept under several choices (``ablation`` drop / zero / mean, each with and
without ``cascade``) gives one row per (choice, generator) here. The network is the independent
unit throughout (:mod:`wiring_lab.network_inference`): every number with an interval is a mean
over the generator's networks with a Student-t interval on n - 1 degrees of freedom, and every
p is a one-sample t test over networks (Holm-adjusted over the table's rows):

- ``mean_delta``: the accuracy lost, each network's removals averaged first;
- ``slope``: the primary endpoint, each network's least-squares slope of delta top-1 on the
  removed node's out-degree in the generated graph (stage as a factor), averaged over networks;
- ``rho``: the robust companion, each network's Spearman rank correlation, averaged
  (``rho_negative``: networks with rho < 0);
- ``mixed_*``: the secondary estimate, a MixedLM with a random intercept and slope per network
  (t interval on networks - 1), or the two-stage estimate where it did not converge
  (``mixed_method`` says which);
- ``worst5_share``: the share of the loss the worst 5% of removals carry (median over networks).

RandWire's Fig. 5 trend "damage grows with out-degree" *holds* for a generator where the mean
slope is below 0 with a Holm-adjusted p (over the table's rows, one family) under 0.05, is
*reversed* where it is above 0 with such a p, and is *not shown* otherwise; ``rank_trend`` says
the same of rho (``rho_p_holm``). The intervals are per row, unadjusted. ``note`` warns when a
generator has fewer than 8 networks.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from wiring_lab.columns import rename_legacy_columns
from wiring_lab.compare import t_interval
from wiring_lab.network_inference import few_networks_note, interval_text, mixed_slope, network_slopes, t_summary
from wiring_lab.resampling import adjust_pvalues

SENSITIVITY_COLUMNS = [
    "ablation", "cascade", "generator", "setting", "n_networks", "n_rows", "mean_delta", "mean_lo", "mean_hi",
    "slope", "slope_lo", "slope_hi", "p", "p_holm", "rho", "rho_lo", "rho_hi", "rho_p_holm", "rho_negative",
    "mixed_slope", "mixed_lo", "mixed_hi", "mixed_method", "worst5_share", "trend", "rank_trend", "note",
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


def _trend(estimate: float, p_holm: float, alpha: float = 0.05) -> str:
    """'holds' (below 0: more out-degree, more damage) or 'reversed' when the Holm-adjusted p over
    networks is under ``alpha``, else 'not shown'; 'no estimate' without one."""
    if not (math.isfinite(estimate) and math.isfinite(p_holm)):
        return "no estimate"
    if p_holm >= alpha:
        return "not shown"
    return "holds" if estimate < 0 else "reversed"


def sensitivity_table(damage: pd.DataFrame, metric: str = SLOPE_METRIC, target: str = "delta_top1", random: str = "slope") -> pd.DataFrame:
    """One row per (ablation, cascade, generator) of the node removals in ``damage`` (see the module doc);
    ``random``: the mixed model's random effects (``slope`` or ``intercept``)."""
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
        per_net = network_slopes(part, metric, target)
        mixed = mixed_slope(part, metric, target, "generator", ("stage",), random=random).set_index("generator")
        for gen, g in part.groupby("generator", sort=True):
            nets = per_net[per_net["generator"] == str(gen)]
            mean, lo, hi = t_interval(nets["mean"].to_numpy(float))
            slope, rho = t_summary(nets["slope"]), t_summary(nets["spearman"])
            m = mixed.loc[gen] if gen in mixed.index else None
            rows.append({
                "ablation": ablation, "cascade": bool(cascade), "generator": gen,
                "setting": str(g["setting"].iloc[0]) if "setting" in g.columns else str(gen),
                "n_networks": int(g["model"].nunique()), "n_rows": len(g), "mean_delta": mean, "mean_lo": lo, "mean_hi": hi,
                "slope": slope["mean"], "slope_lo": slope["lo"], "slope_hi": slope["hi"], "p": slope["p"],
                "rho": rho["mean"], "rho_lo": rho["lo"], "rho_hi": rho["hi"], "rho_p_holm": rho["p"], "rho_negative": rho["n_negative"],
                "mixed_slope": float(m["slope"]) if m is not None else math.nan, "mixed_lo": float(m["lo"]) if m is not None else math.nan,
                "mixed_hi": float(m["hi"]) if m is not None else math.nan, "mixed_method": str(m["method"]) if m is not None else "",
                "worst5_share": float(nets["worst5_share"].median()) if nets["worst5_share"].notna().any() else math.nan,
                "note": few_networks_note(int(g["model"].nunique())),
            })  # fmt: skip
    out = pd.DataFrame(rows, columns=[c for c in SENSITIVITY_COLUMNS if c not in ("p_holm", "trend", "rank_trend")])
    out["p_holm"], _ = adjust_pvalues(out["p"]) if len(out) else (np.array([]), None)
    out["rho_p_holm"], _ = adjust_pvalues(out["rho_p_holm"]) if len(out) else (np.array([]), None)
    out["trend"] = [_trend(m, p) for m, p in zip(out["slope"], out["p_holm"])]
    out["rank_trend"] = [_trend(m, p) for m, p in zip(out["rho"], out["rho_p_holm"])]
    return out[SENSITIVITY_COLUMNS]


def _text(value: object) -> str:
    """A text cell as a string: empty for a missing one (NaN after a CSV round trip, or None)."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def findings(table: pd.DataFrame, default: tuple[str, bool] = DEFAULT_CHOICE) -> list[str]:
    """The findings of a sensitivity table in sentences: per generator, whether Fig. 5's trend holds
    under the default choice (per-network slope and rank correlation with t intervals over networks,
    the mixed model beside them), and whether any other choice changes the answer. Every p is over networks."""
    if table.empty:
        return ["No node removals in the damage table: nothing to report."]
    lines = []
    base = table[(table["ablation"] == default[0]) & (table["cascade"] == default[1])]
    if base.empty:
        base = table[(table["ablation"] == table["ablation"].iloc[0]) & (table["cascade"] == table["cascade"].iloc[0])]
        default = (str(base["ablation"].iloc[0]), bool(base["cascade"].iloc[0]))
    for _, r in base.iterrows():
        method, note = _text(r["mixed_method"]), _text(r["note"])  # a table read back from CSV has NaN where the text was empty
        others = table[(table["generator"] == r["generator"]) & ~((table["ablation"] == default[0]) & (table["cascade"] == default[1]))]
        moved = [f"{choice_label(o['ablation'], o['cascade'])}: {o['trend']} ({o['slope']:+.2f} {interval_text(o['slope_lo'], o['slope_hi'])})"
                 for _, o in others.iterrows() if o["trend"] != r["trend"]]
        said = {"holds": "damage grows with out-degree", "reversed": "damage shrinks with out-degree",
                "not shown": "no trend with out-degree the data can carry", "no estimate": "no slope could be estimated"}[r["trend"]]
        n = int(r["n_networks"])
        if r["trend"] == "no estimate":
            slope = "(fewer than 2 networks with a slope)"
        else:
            slope = (f"mean per-network slope {r['slope']:+.2f} pp per out-edge, 95% t({n - 1}) CI {interval_text(r['slope_lo'], r['slope_hi'])} "
                     f"(t test over the {n} networks: p {r['p']:.2g}, Holm {r['p_holm']:.2g})")
        rank = (f"; per-network Spearman ρ {r['rho']:+.2f} {interval_text(r['rho_lo'], r['rho_hi'])}, negative in {int(r['rho_negative'])} of {n}"
                if math.isfinite(r["rho"]) else "")
        mixed = (f"; {method}: {r['mixed_slope']:+.2f} {interval_text(r['mixed_lo'], r['mixed_hi'])}"
                 if math.isfinite(r["mixed_slope"]) and method.startswith("MixedLM") else
                 "; the random-slope mixed model did not converge (two-stage estimate used)" if method else "")
        ci = f" {interval_text(r['mean_lo'], r['mean_hi'])}" if math.isfinite(r["mean_lo"]) else ""
        worst = f"; the worst 5% of removals carry {r['worst5_share']:.0%} of the loss" if math.isfinite(r["worst5_share"]) else ""
        sentence = (f"{r['setting']} ({n} networks, {int(r['n_rows'])} node removals): {said} under {choice_label(*default)}: "
                    f"{slope}{rank}{mixed}; mean loss {r['mean_delta']:+.2f} pp{ci}{worst}.")
        if len(others):
            same = "the other choice" if len(others) == 1 else f"all {len(others)} other choices"
            sentence += f" The answer is the same under {same}." if not moved else " It changes under " + "; ".join(moved) + "."
        if note:
            sentence += f" Caution: {note}."
        lines.append(sentence)
    return lines


def format_sensitivity(table: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The table as a reader sees it: choice, generator, n, mean loss, per-network slope and rank
    correlation with their t intervals over networks, the mixed model's slope."""
    t = table
    return pd.DataFrame({
        "choice": [choice_label(a, c) for a, c in zip(t["ablation"], t["cascade"])],
        "generator": t["setting"],
        "networks": t["n_networks"],
        "node removals": t["n_rows"],
        "mean Δ top-1 (pp) [95% CI]": [f"{m:+.2f} {interval_text(lo, hi)}" for m, lo, hi in zip(t["mean_delta"], t["mean_lo"], t["mean_hi"])],
        "per-network slope (pp/out-edge) [95% CI]": [f"{m:+.2f} {interval_text(lo, hi)}" for m, lo, hi in zip(t["slope"], t["slope_lo"], t["slope_hi"])],
        "p (networks, Holm)": [f"{p:.2g}" for p in t["p_holm"]],
        "per-network ρ [95% CI]": [f"{m:+.2f} {interval_text(lo, hi)}" for m, lo, hi in zip(t["rho"], t["rho_lo"], t["rho_hi"])],
        "mixed model slope [95% CI]": [f"{m:+.2f} {interval_text(lo, hi)}" + ("" if str(meth).startswith("MixedLM") else " (two-stage)")
                                       for m, lo, hi, meth in zip(t["mixed_slope"], t["mixed_lo"], t["mixed_hi"], t["mixed_method"])],
        "Fig. 5 trend": t["trend"],
    })  # fmt: skip
