"""Statistics over networks: coefficients, cluster-bootstrap intervals, multiplicity adjustment.

Nodes of one network are not independent samples, so an interval resamples whole units: a
network (``cluster="model"``, the default), a stage of one network (``"stage"``) or a row
(``"none"``). :func:`cluster_bootstrap_ci` draws every resample's unit counts at once and computes
the weighted Pearson, Spearman or Kendall coefficient of all resamples together (percentile
interval, widened about the estimate by sqrt(G/(G-1)) for G units); under ``MIN_CLUSTERS`` units
there is no interval. :func:`adjust_pvalues` gives Holm and Benjamini-Hochberg p-values of one
family. :mod:`wiring_lab.correlation` builds its tables from these; :mod:`wiring_lab.analysis`
and :mod:`wiring_lab.sensitivity` use them for the figures and the findings.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import sparse, stats
from statsmodels.stats.multitest import multipletests

from wiring_lab._io import UserError

CLUSTER_UNITS: dict[str, tuple[str, ...]] = {"model": ("model",), "stage": ("model", "stage"), "none": ()}  # --cluster: columns of one unit
MIN_CLUSTERS = 8  # fewer units than this in a group: no cluster-bootstrap interval (the table says too few)


def coefficient_and_p(method: str, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Coefficient and two-sided p-value from scipy."""
    fn = {"pearson": stats.pearsonr, "spearman": stats.spearmanr, "kendall": stats.kendalltau}[method]
    res = fn(x, y)
    return float(res[0]), float(res[1])


def usable_pair(x: np.ndarray, y: np.ndarray) -> bool:
    """At least 3 pairs and neither side constant: a coefficient is defined."""
    return len(x) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0


def cluster_columns(cluster: str | Sequence[str] | None) -> tuple[str, ...]:
    """Columns that name one resampling unit: ``model`` (a network), ``stage`` (model x stage), ``none`` (a row)."""
    if cluster is None or cluster == "none":
        return ()
    if isinstance(cluster, str):
        return CLUSTER_UNITS.get(cluster, (cluster,))
    return tuple(cluster)


def cluster_codes(df: pd.DataFrame, cluster: str | Sequence[str] | None = "model") -> np.ndarray:
    """Integer id (0..K-1) of every row's resampling unit; every row its own unit for ``none``."""
    cols = cluster_columns(cluster)
    if not cols:
        return np.arange(len(df))
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise UserError(f"cluster unit {cluster!r} needs column {missing[0]!r}, which the table lacks; pass --cluster none")
    return df.groupby(list(cols), sort=True, dropna=False).ngroup().to_numpy()


def _draw_counts(k: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, k) times each of k units is drawn when k are drawn uniformly with replacement."""
    draws = rng.integers(0, k, size=(n_boot, k)) + k * np.arange(n_boot)[:, None]
    return np.bincount(draws.ravel(), minlength=n_boot * k).reshape(n_boot, k).astype(float)


def _weighted_pearson(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of the resample each weight row stands for; (B, n) weights, (n,) or (B, n) values."""
    s = w.sum(1, keepdims=True)
    xc = x - (w * x).sum(1, keepdims=True) / s
    yc = y - (w * y).sum(1, keepdims=True) / s
    sxx, syy, sxy = (w * xc * xc).sum(1), (w * yc * yc).sum(1), (w * xc * yc).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sxy / np.sqrt(sxx * syy)


def _copies(w: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``keys`` (values, or rows of a 2-D array), their copies in each weighted resample (B, distinct), and each row's index."""
    values, inv = np.unique(keys, return_inverse=True, axis=0 if keys.ndim > 1 else None)
    inv = inv.reshape(-1)
    onehot = sparse.csr_matrix((np.ones(len(inv)), (np.arange(len(inv)), inv)), shape=(len(inv), len(values)))
    return values, np.asarray((onehot.T @ w.T).T), inv


def _weighted_ranks(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Mid-ranks of ``x`` within each weighted resample (B, n)."""
    _, wu, inv = _copies(w, x)
    below = np.cumsum(wu, axis=1) - wu
    return (below + (wu + 1) / 2)[:, inv]  # the mid-rank a tied block of wu copies gets after `below` smaller ones


def _weighted_kendall(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall tau-b of each weighted resample (pairs of copies of one row are tied on both sides)."""
    pairs, wp, _ = _copies(w, np.column_stack([x, y]))  # rows with one (x, y) pair are interchangeable
    if len(pairs) <= 3000:  # (m, m) sign matrices: concordance sums are quadratic forms in the weights
        px, py = pairs[:, 0], pairs[:, 1]
        sx, sy = np.sign(px[:, None] - px[None, :]), np.sign(py[:, None] - py[None, :])
        s = ((wp @ (sx * sy)) * wp).sum(1)
        tx, ty = ((wp @ np.abs(sx)) * wp).sum(1), ((wp @ np.abs(sy)) * wp).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return s / np.sqrt(tx * ty)
    out = np.full(len(w), math.nan)
    for b, row in enumerate(w):
        idx = np.repeat(np.arange(len(x)), row.astype(int))
        if np.ptp(x[idx]) > 0 and np.ptp(y[idx]) > 0:
            out[b] = stats.kendalltau(x[idx], y[idx])[0]
    return out


def _constant_resamples(counts: np.ndarray, codes: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(B,) whether ``x`` takes one value only in each resample of units drawn ``counts`` (B, K) times."""
    k = counts.shape[1]
    lo, hi = np.full(k, np.inf), np.full(k, -np.inf)
    np.minimum.at(lo, codes, x)
    np.maximum.at(hi, codes, x)
    val = np.where(lo == hi, lo, np.nan)  # the unit's value where the unit is constant
    drawn = counts > 0
    varies = (drawn & np.isnan(val)).any(1)  # a drawn unit holds two values
    val = np.nan_to_num(val)
    return ~varies & (np.where(drawn, val, -np.inf).max(1) == np.where(drawn, val, np.inf).min(1))


def _resample_statistics(method: str, x: np.ndarray, y: np.ndarray, codes: np.ndarray, n_boot: int, rng: np.random.Generator, chunk: int = 250) -> np.ndarray:
    """The statistic on ``n_boot`` resamples of whole units (NaN where a side is constant), seeded by ``rng``."""
    k = int(codes.max()) + 1
    if method in ("slope", "pearson"):  # moments: per-unit sums suffice, no (B, rows) matrix
        counts = _draw_counts(k, n_boot, rng)  # (B, K)
        xc, yc = x - x.mean(), y - y.mean()  # centred: smaller cancellation in the moment formulas
        sums = np.stack([np.bincount(codes, v, minlength=k) for v in (np.ones_like(xc), xc, yc, xc * xc, yc * yc, xc * yc)], axis=1)  # (K, 6)
        n, sx, sy, sxx, syy, sxy = (counts @ sums).T
        vx, cxy = sxx - sx * sx / n, sxy - sx * sy / n
        const_x = _constant_resamples(counts, codes, x)
        with np.errstate(invalid="ignore", divide="ignore"):
            if method == "slope":
                return np.where(const_x, np.nan, cxy / vx)
            vy = syy - sy * sy / n
            r = np.clip(cxy / np.sqrt(vx * vy), -1.0, 1.0)
        return np.where(const_x | _constant_resamples(counts, codes, y), np.nan, r)
    if method not in ("spearman", "kendall"):
        raise ValueError(f"unknown method {method!r}; choose pearson, spearman, kendall or slope")
    chunk = max(1, min(chunk, int(4e6 // max(len(x), 1))))  # bound the (chunk, rows) weight matrix
    out = []
    for b in range(0, n_boot, chunk):
        counts = _draw_counts(k, min(chunk, n_boot - b), rng)
        w = counts[:, codes]  # (chunk, rows): copies of every row
        if method == "spearman":
            r = _weighted_pearson(w, _weighted_ranks(w, x), _weighted_ranks(w, y))
        else:
            r = _weighted_kendall(w, x, y)
        const = _constant_resamples(counts, codes, x) | _constant_resamples(counts, codes, y)
        out.append(np.where(const, np.nan, np.clip(r, -1.0, 1.0)))
    return np.concatenate(out)


def bootstrap_interval(method: str, x: np.ndarray, y: np.ndarray, codes: np.ndarray, n_boot: int, rng: np.random.Generator) -> tuple[float, float]:
    """95% interval when the units ``codes`` are resampled whole: percentile, widened by sqrt(G/(G-1)) for G units (NaN if most resamples degenerate)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    _, codes = np.unique(codes, return_inverse=True)
    g = int(codes.max()) + 1
    r = _resample_statistics(method, x, y, codes, n_boot, rng)
    r = r[np.isfinite(r)]
    if r.size < n_boot / 2 or g < 2:  # most resamples degenerate: no honest interval
        return math.nan, math.nan
    lo, hi = np.percentile(r, [2.5, 97.5])
    # the resampled spread of G units underestimates the sampling spread by about sqrt((G-1)/G), as the
    # uncorrected cluster-robust variance does (CR1 scales it back); with 20 networks this is 2.6% wider
    est, _ = _point_estimate(method, x, y)
    f = math.sqrt(g / (g - 1))
    lo, hi = est + f * (lo - est), est + f * (hi - est)
    if method != "slope":
        lo, hi = max(lo, -1.0), min(hi, 1.0)
    return float(lo), float(hi)


def _point_estimate(method: str, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Coefficient (or least-squares slope) and its naive p-value."""
    if method == "slope":
        res = stats.linregress(x, y)
        return float(res.slope), float(res.pvalue)
    return coefficient_and_p(method, x, y)


def cluster_bootstrap_ci(
    df: pd.DataFrame,
    x: str,
    y: str,
    cluster: str | Sequence[str] | None = "model",
    method: str = "spearman",
    n_boot: int = 1000,
    seed: int | np.random.Generator = 0,
    min_clusters: int = MIN_CLUSTERS,
) -> dict[str, Any]:
    """Coefficient of ``y`` on ``x`` with a 95% interval that resamples whole clusters (dict: estimate, lo, hi, p, n, n_clusters, note)."""
    d = df[[x, y, *[c for c in cluster_columns(cluster) if c not in (x, y)]]].copy()
    d[x], d[y] = pd.to_numeric(d[x], errors="coerce"), pd.to_numeric(d[y], errors="coerce")
    d = d.dropna(subset=[x, y])
    xs, ys = d[x].to_numpy(float), d[y].to_numpy(float)
    codes = cluster_codes(d, cluster)
    k = len(np.unique(codes))
    out = {"estimate": math.nan, "lo": math.nan, "hi": math.nan, "p": math.nan, "n": len(d), "n_clusters": k, "note": ""}
    if not usable_pair(xs, ys):
        out["note"] = "fewer than 3 pairs or a constant side"
        return out
    out["estimate"], out["p"] = _point_estimate(method, xs, ys)
    unit = "rows" if not cluster_columns(cluster) else "networks" if cluster_columns(cluster) == ("model",) else "clusters (" + " x ".join(cluster_columns(cluster)) + ")"
    if cluster_columns(cluster) and k < min_clusters:
        out["note"] = f"too few {unit} for a cluster interval (n={k} < {min_clusters})"
        return out
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out["lo"], out["hi"] = bootstrap_interval(method, xs, ys, codes, n_boot, rng)
    if not np.isfinite(out["lo"]):
        out["note"] = "most resamples degenerate (a constant side)"
    return out


def adjust_pvalues(p: Sequence[float] | np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Holm and Benjamini-Hochberg adjusted p-values of one family (NaN stays NaN and is not counted)."""
    p = np.asarray(p, dtype=float)
    holm, bh = np.full(p.shape, math.nan), np.full(p.shape, math.nan)
    ok = np.isfinite(p)
    if ok.any():
        holm[ok] = multipletests(p[ok], method="holm")[1]
        bh[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return holm, bh


def coefficient(method: str, x: Sequence[float], y: Sequence[float]) -> float:
    """The ``method`` (pearson, spearman or kendall) coefficient of two samples; NaN under three pairs or a constant."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return coefficient_and_p(method, x, y)[0]
