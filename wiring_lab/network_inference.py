"""Inference at the independent unit, the network: per-network slopes and rank correlations
summarised over networks, and the mixed model with a random slope per network.

The node removals of one network share its weights, its training run and its graph: they are not
independent samples, and a p-value that counts them as such (576 removals -> p = 1e-32) says
nothing about the next network. The primary estimate here is therefore two-stage:

1. within every network, the least-squares slope of ``target`` on ``metric`` and the Spearman
   rank correlation (:func:`network_slopes`, one row per network);
2. over the networks of a generator, the mean of those slopes with a Student-t interval on
   n - 1 degrees of freedom and a one-sample t test against 0 (:func:`summarize_networks`).

Its interval covers the planted slope at its nominal rate when slopes differ between networks
(tests/test_network_inference.py simulates it). The secondary estimate, :func:`mixed_slope`, is
statsmodels' ``MixedLM`` of ``target ~ metric * generator + covariates`` with a random intercept
*and a random slope* per network (``random="slope"``; ``"intercept"`` is the older model, whose
interval ignores the spread of slopes). Its intervals use t quantiles on (networks of the
generator - 1) degrees of freedom. When the random-slope fit fails or does not converge the row
says so and falls back to the two-stage estimate (``method`` names what was used).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from wiring_lab._io import require
from wiring_lab.resampling import adjust_pvalues, coefficient_and_p, usable_pair

METHODS: tuple[str, ...] = ("pearson", "spearman", "kendall")
MIN_NETWORKS = 8  # networks of one generator under which every summary carries a warning
RANDOM_EFFECTS = ("slope", "intercept")  # MixedLM: random intercept and slope per network, or intercept only
NETWORK_SLOPE_COLUMNS = ["generator", "model", "n", "slope", "slope_se", "slope_lo", "slope_hi", "intercept", "spearman", "mean", "worst5_share"]
SUMMARY_COLUMNS = ["generator", "value", "n_networks", "mean", "lo", "hi", "sd", "median", "p", "n_negative", "note"]
MIXED_COLUMNS = ["group", "metric", "target", "generator", "method", "slope", "se", "lo", "hi", "p", "p_holm", "p_bh", "n", "n_networks",
                 "re_var", "re_slope_var", "resid_var", "formula", "note"]


def few_networks_note(n: int, unit: str = "networks of this generator") -> str:
    """The warning every summary over fewer than :data:`MIN_NETWORKS` networks of one generator carries ('' otherwise)."""
    return f"only {n} {unit} (< {MIN_NETWORKS}): the interval is wide and rests on the t distribution's normality" if n < MIN_NETWORKS else ""


def _worst_share(y: np.ndarray, share: float = 0.05) -> float:
    """Fraction of the total accuracy lost that the worst ``share`` of removals carry (NaN when nothing is lost)."""
    loss = np.clip(-y, 0, None)
    total = loss.sum()
    if total <= 0:
        return math.nan
    k = max(1, math.ceil(share * len(loss)))
    return float(np.sort(loss)[::-1][:k].sum() / total)


def _ols_slope(x: np.ndarray, y: np.ndarray, z: np.ndarray | None) -> tuple[float, float, float]:
    """(slope of y on x, its standard error, intercept) by least squares with the columns of ``z`` as controls."""
    design = np.column_stack([np.ones_like(x), x] + ([z] if z is not None and z.shape[1] else []))
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    rank, dof = np.linalg.matrix_rank(design), len(y) - design.shape[1]
    if rank < design.shape[1] or dof < 1:
        return math.nan, math.nan, math.nan
    resid = y - design @ coef
    cov = float(resid @ resid) / dof * np.linalg.inv(design.T @ design)
    return float(coef[1]), math.sqrt(max(float(cov[1, 1]), 0.0)), float(coef[0])


def network_slopes(df: pd.DataFrame, metric: str, target: str = "delta_top1", generator: str | None = "generator", network: str = "model",
                   covariates: Sequence[str] = ("stage",)) -> pd.DataFrame:
    """One row per network: n rows, the least-squares slope of ``target`` on ``metric`` within the
    network (``covariates`` such as the stage as factors) with its standard error and 95% t
    interval, the intercept, Spearman's rho, the mean ``target`` and the share of the loss carried
    by the worst 5% of rows."""
    require(df, [network, metric, target], "per-network slopes")
    gen = df[generator].astype(str) if generator is not None and generator in df.columns else pd.Series("all", index=df.index)
    x_all, y_all = pd.to_numeric(df[metric], errors="coerce"), pd.to_numeric(df[target], errors="coerce")
    covariates = [c for c in covariates if c in df.columns and c not in (metric, target, network)]
    rows = []
    for (g, net), idx in pd.DataFrame({"g": gen, "net": df[network].astype(str)}).groupby(["g", "net"], sort=True).groups.items():
        x, y = x_all.loc[idx].to_numpy(float), y_all.loc[idx].to_numpy(float)
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        z = pd.get_dummies(df.loc[idx, covariates].astype(str)[ok], drop_first=True).to_numpy(float) if covariates else None
        row = {"generator": g, "model": net, "n": len(x), "slope": math.nan, "slope_se": math.nan, "slope_lo": math.nan, "slope_hi": math.nan,
               "intercept": math.nan, "spearman": math.nan, "mean": float(y.mean()) if len(y) else math.nan, "worst5_share": _worst_share(y)}
        if len(x) >= 3 and np.ptp(x) > 0:
            slope, se, intercept = _ols_slope(x, y, z)
            dof = len(x) - 2 - (z.shape[1] if z is not None else 0)
            half = float(stats.t.ppf(0.975, dof)) * se if dof >= 1 and np.isfinite(se) else math.nan
            row.update(slope=slope, slope_se=se, slope_lo=slope - half, slope_hi=slope + half, intercept=intercept)
            if np.ptp(y) > 0:
                row["spearman"] = coefficient_and_p("spearman", x, y)[0]
        rows.append(row)
    return pd.DataFrame(rows, columns=NETWORK_SLOPE_COLUMNS)


def t_summary(values: Sequence[float] | np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Mean of ``values`` (one per network) with its Student-t interval on n - 1 degrees of freedom,
    the sd, the median, the one-sample t test's two-sided p against 0 and the count below 0."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    out = {"n_networks": len(v), "mean": math.nan, "lo": math.nan, "hi": math.nan, "sd": math.nan, "median": math.nan, "p": math.nan,
           "n_negative": int((v < 0).sum())}
    if len(v) == 0:
        return out
    out.update(mean=float(v.mean()), median=float(np.median(v)))
    if len(v) < 2:
        return out
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1)) * sd / math.sqrt(len(v))
    out.update(sd=sd, lo=out["mean"] - half, hi=out["mean"] + half)
    if sd > 0:
        out["p"] = float(2 * stats.t.sf(abs(out["mean"]) / (sd / math.sqrt(len(v))), len(v) - 1))
    return out


def interval_text(lo: float, hi: float, digits: int = 2, missing: str = "(no interval)") -> str:
    """An interval as text, ``[lo, hi]`` with signs, or ``missing`` where either end is not finite."""
    return f"[{lo:+.{digits}f}, {hi:+.{digits}f}]" if math.isfinite(lo) and math.isfinite(hi) else missing


def summarize_networks(per_network: pd.DataFrame, value: str = "slope", by: str = "generator") -> pd.DataFrame:
    """One row per ``by`` level: the per-network ``value`` column summarised by :func:`t_summary`,
    with the few-networks warning in ``note``."""
    rows = []
    for g, part in per_network.groupby(by, sort=True):
        s = t_summary(part[value].to_numpy(float))
        note = few_networks_note(s["n_networks"])
        if s["n_networks"] < 2:
            note = f"{s['n_networks']} network(s) with a {value}: no interval"
        rows.append({"generator": g, "value": value, **s, "note": note})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def per_network_correlations(data: pd.DataFrame, target: str, metrics: Sequence[str], group: str = "all", network: str = "model") -> pd.DataFrame:
    """Pearson, Spearman and Kendall of ``target`` on each metric within every network, one row per network."""
    rows = []
    y_all = pd.to_numeric(data[target], errors="coerce")
    for net, idx in data.groupby(network, sort=True).groups.items():
        y_net = y_all.loc[idx].to_numpy(float)
        for metric in metrics:
            x_net = pd.to_numeric(data.loc[idx, metric], errors="coerce").to_numpy(float)
            ok = np.isfinite(x_net) & np.isfinite(y_net)
            for method in METHODS:
                r, p = coefficient_and_p(method, x_net[ok], y_net[ok]) if usable_pair(x_net[ok], y_net[ok]) else (math.nan, math.nan)
                rows.append({"group": group, network: net, "metric": metric, "target": target, "method": method, "n": int(ok.sum()), "r": r, "p": p})
    return pd.DataFrame(rows, columns=["group", network, "metric", "target", "method", "n", "r", "p"])


def _fit_mixed(formula: str, d: pd.DataFrame, random: str) -> tuple[Any, str]:
    """Fitted MixedLM (random intercept, and slope on ``x`` when ``random="slope"``, per ``net``) and
    what went wrong, if anything; ``(None, reason)`` on failure or no convergence."""
    notes = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = smf.mixedlm(formula, d, groups=d["net"], re_formula="~x" if random == "slope" else None)
            if np.linalg.matrix_rank(model.exog) < model.exog.shape[1]:
                return None, "singular design: a fixed effect is a combination of the others (e.g. the metric constant within a generator or stage)"
            fit = model.fit(reml=True)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError, ZeroDivisionError) as e:
        return None, f"MixedLM failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".rstrip(": ")
    if not fit.converged:
        return None, "MixedLM did not converge"
    messages = {str(w.message) for w in caught if issubclass(w.category, (ConvergenceWarning, RuntimeWarning)) or "singular" in str(w.message).lower()}
    cov_re = np.atleast_2d(np.asarray(fit.cov_re, float))
    if cov_re[0, 0] <= 1e-6 * float(fit.scale) or any("boundary" in m for m in messages):
        notes.append("a random-effect variance is estimated on the boundary (0)")
    elif any("Hessian" in m or "singular" in m.lower() for m in messages):
        notes.append("singular fit: " + sorted(m for m in messages if "Hessian" in m or "singular" in m.lower())[0].split(".")[0])
    return fit, "; ".join(notes)


def mixed_slope(
    df: pd.DataFrame,
    metric: str = "out_degree_graph",
    target: str = "delta_top1",
    generator: str | None = "generator",
    covariates: Sequence[str] = ("stage",),
    network: str = "model",
    group: str = "all",
    random: str = "slope",
) -> pd.DataFrame:
    """Slope of ``target`` on ``metric`` per generator from one MixedLM (``target ~ metric x generator
    + covariates``; random intercept and, with ``random="slope"``, random slope per network), with a
    95% interval on t(networks of the generator - 1) and its p; the two-stage estimate where the fit fails."""
    if random not in RANDOM_EFFECTS:
        raise ValueError(f"unknown random effects {random!r}; choose {' or '.join(RANDOM_EFFECTS)}")
    cols = [c for c in MIXED_COLUMNS if c not in ("p_holm", "p_bh")]
    use_gen = generator is not None and generator in df.columns
    covariates = [c for c in covariates if c in df.columns and c not in (metric, target, generator, network)]
    d = pd.DataFrame({"y": pd.to_numeric(df[target], errors="coerce"), "x": pd.to_numeric(df[metric], errors="coerce"),
                      "net": df[network].astype(str), "gen": df[generator].astype(str) if use_gen else "all"})
    for i, c in enumerate(covariates):
        d[f"c{i}"] = df[c].astype(str)
    d = d.dropna(subset=["y", "x"]).reset_index(drop=True)
    model_name = "MixedLM, random intercept and slope per network" if random == "slope" else "MixedLM, random intercept per network"
    base = {"group": group, "metric": metric, "target": target, "method": model_name, "slope": math.nan, "se": math.nan, "lo": math.nan,
            "hi": math.nan, "p": math.nan, "re_var": math.nan, "re_slope_var": math.nan, "resid_var": math.nan, "formula": ""}

    def counts(g: str) -> dict[str, int]:
        """Rows and networks of generator ``g``."""
        part = d[d["gen"] == g]
        return {"n": len(part), "n_networks": int(part["net"].nunique())}

    def fallback(gens: Sequence[str], note: str) -> list[dict]:
        """Rows of the two-stage estimate (per-network slopes, t over networks), saying why."""
        per = network_slopes(d[d["gen"].isin(gens)], "x", "y", "gen", "net", [f"c{i}" for i in range(len(covariates))])
        out = []
        for g in gens:
            s = t_summary(per.loc[per["generator"] == g, "slope"])
            se = s["sd"] / math.sqrt(s["n_networks"]) if s["n_networks"] > 1 else math.nan
            extra = few_networks_note(s["n_networks"])
            out.append({**base, "generator": g, **counts(g), "method": "two-stage: per-network slopes, t over networks", "slope": s["mean"],
                        "se": se, "lo": s["lo"], "hi": s["hi"], "p": s["p"], "note": "; ".join(filter(None, [note, extra]))})
        return out

    def fitted(fit: Any, g: str, note: str, readable: str) -> dict:
        """The row of generator ``g`` from a fitted model (slope ``x``, or ``x`` plus its interaction with ``g``)."""
        names = list(fit.fe_params.index)
        cov = fit.cov_params().loc[names, names].to_numpy(float)
        cov_re = np.atleast_2d(np.asarray(fit.cov_re, float))
        c = np.array([1.0 if n == "x" or n == f"x:C(gen)[T.{g}]" else 0.0 for n in names])
        slope, se = float(c @ fit.fe_params.to_numpy(float)), math.sqrt(max(float(c @ cov @ c), 0.0))
        k = counts(g)
        row = {**base, "generator": g, **k, "re_var": float(cov_re[0, 0]), "re_slope_var": float(cov_re[1, 1]) if cov_re.shape[0] > 1 else math.nan,
               "resid_var": float(fit.scale), "formula": readable, "note": "; ".join(filter(None, [note, few_networks_note(k["n_networks"])]))}
        dof = max(k["n_networks"] - 1, 1)
        if np.isfinite(se) and se > 0:
            q = float(stats.t.ppf(0.975, dof))
            row.update(slope=slope, se=se, lo=slope - q * se, hi=slope + q * se, p=float(2 * stats.t.sf(abs(slope / se), dof)))
        else:
            row.update(slope=slope, note="; ".join(filter(None, [row["note"], "no standard error (singular covariance of the fixed effects)"])))
        return row

    def formula_of(frame: pd.DataFrame, slope_term: str) -> tuple[str, str]:
        """The model formula on ``frame`` and its readable form."""
        terms = [slope_term] + [f"C(c{i})" for i in range(len(covariates)) if frame[f"c{i}"].nunique() > 1]
        formula = "y ~ " + " + ".join(terms)
        readable = formula.replace("y ~", f"{target} ~").replace("x", metric, 1).replace("C(gen)", generator or "generator")
        for i, c in enumerate(covariates):
            readable = readable.replace(f"C(c{i})", c)
        return formula, readable + (f" + (1 + {metric} | network)" if random == "slope" else " + (1 | network)")

    gens = sorted(d["gen"].unique())
    flat = [g for g in gens if d.loc[d["gen"] == g, "x"].nunique() < 2]
    rows = [{**base, "generator": g, **counts(g), "note": f"{metric} is constant within this generator: no slope"} for g in flat]
    d = d[~d["gen"].isin(flat)].reset_index(drop=True)
    gens = [g for g in gens if g not in flat]
    if random == "slope":  # one fit per generator: each generator's networks get their own slope variance
        for g in gens:
            part = d[d["gen"] == g].reset_index(drop=True)
            if part["net"].nunique() < 3 or len(part) < 2 * part["net"].nunique() + 3:
                rows += fallback([g], f"too few networks or rows for a random slope ({part['net'].nunique()} networks, {len(part)} rows)")
                continue
            formula, readable = formula_of(part, "x")
            fit, note = _fit_mixed(formula, part, random)
            rows += fallback([g], f"{model_name}: {note}; fell back to the two-stage estimate") if fit is None else [fitted(fit, g, note, readable)]
        return pd.DataFrame(rows, columns=cols)
    if not gens:
        return pd.DataFrame(rows, columns=cols)
    if d["net"].nunique() < 3 or len(d) < d["net"].nunique() + 3:
        note = f"too few networks or rows for a mixed model ({d['net'].nunique()} networks, {len(d)} rows)"
        return pd.DataFrame(rows + fallback(gens, note), columns=cols)
    formula, readable = formula_of(d, "x * C(gen)" if len(gens) > 1 else "x")
    fit, note = _fit_mixed(formula, d, random)
    if fit is None:
        return pd.DataFrame(rows + fallback(gens, f"{model_name}: {note}; fell back to the two-stage estimate"), columns=cols)
    return pd.DataFrame(rows + [fitted(fit, g, note, readable) for g in gens], columns=cols)


CONTRAST_COLUMNS = ["value", "a", "b", "n_a", "n_b", "mean_a", "mean_b", "diff", "lo", "hi", "dof", "p", "p_holm"]


def generator_contrasts(per_network: pd.DataFrame, pairs: Sequence[tuple[str, str, str]], by: str = "generator") -> pd.DataFrame:
    """Welch two-sample t tests between generators on per-network values: one row per ``(value, a, b)``
    with the difference of means a - b, its 95% Welch interval, the two-sided p and Holm's p over the
    rows (one family). The networks are the samples: each contributes one value."""
    rows = []
    for value, a, b in pairs:
        xa = per_network.loc[per_network[by].astype(str) == a, value].dropna().to_numpy(float)
        xb = per_network.loc[per_network[by].astype(str) == b, value].dropna().to_numpy(float)
        row = {"value": value, "a": a, "b": b, "n_a": len(xa), "n_b": len(xb), "mean_a": float(xa.mean()) if len(xa) else math.nan,
               "mean_b": float(xb.mean()) if len(xb) else math.nan, "diff": math.nan, "lo": math.nan, "hi": math.nan, "dof": math.nan, "p": math.nan}
        if len(xa) >= 2 and len(xb) >= 2 and (xa.std() > 0 or xb.std() > 0):
            va, vb = xa.var(ddof=1) / len(xa), xb.var(ddof=1) / len(xb)  # Welch: each side's variance of its mean
            se = math.sqrt(va + vb)
            dof = (va + vb) ** 2 / (va**2 / (len(xa) - 1) + vb**2 / (len(xb) - 1))  # Welch-Satterthwaite
            diff = row["mean_a"] - row["mean_b"]
            half = float(stats.t.ppf(0.975, dof)) * se
            row.update(diff=diff, lo=diff - half, hi=diff + half, dof=float(dof), p=float(2 * stats.t.sf(abs(diff) / se, dof)))
        rows.append(row)
    out = pd.DataFrame(rows, columns=[c for c in CONTRAST_COLUMNS if c != "p_holm"])
    out["p_holm"] = adjust_pvalues(out["p"])[0] if len(out) else []
    return out[CONTRAST_COLUMNS]
