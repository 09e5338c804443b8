"""Architecture comparison: one row per network setting, accuracy with a 95% interval over seeds.

:func:`compare_networks` turns ``tables/models.csv`` (one row per trained network) into
``tables/comparison.csv``: per setting (``WS(4, 0.75)``, ``alexnet``, ...) the number of seeds,
mean test top-1 with a two-sided 95% Student-t interval over seeds (mean +- t(0.975, n-1) s/sqrt(n),
cut to [0, 100]; none for one seed), the sample std, mean test loss, parameters and multiply-adds (means over
seeds: RandWire's vary with the graph), and the learning rates used (and those that diverged
first, where the study retries a diverged run at a smaller lr).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

COMPARISON_COLUMNS = (
    "setting", "generator", "n", "top1_mean", "top1_lo", "top1_hi", "top1_std", "loss_mean",
    "n_params", "macs", "lr", "lr_diverged",
)  # fmt: skip


def t_interval(values: Any, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, lo, hi): the Student-t interval of the mean of ``values``; lo = hi = NaN for one value."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return mean, mean - half, mean + half


def _rates(col: Any) -> str:
    """Distinct learning rates of a column (numbers or comma-separated text), largest first."""
    rates: set[float] = set()
    for v in col.dropna():
        for part in str(v).split(","):
            if part.strip():
                rates.add(float(part))
    return ",".join(f"{r:g}" for r in sorted(rates, reverse=True))


def compare_networks(models: Any) -> Any:
    """One row per setting of ``models`` (study order): seeds, top-1 mean and 95% interval, size, lr."""
    rows = []
    for setting, g in models.groupby("setting", sort=False):
        mean, lo, hi = t_interval(g["top1"])
        lo, hi = max(lo, 0.0), min(hi, 100.0)  # an accuracy interval is cut to the possible range (NaN stays NaN)
        top1 = g["top1"].dropna()
        rows.append(
            {
                "setting": setting,
                "generator": g["generator"].iloc[0],
                "n": int(len(top1)),
                "top1_mean": mean,
                "top1_lo": lo,
                "top1_hi": hi,
                "top1_std": float(top1.std(ddof=1)) if len(top1) > 1 else math.nan,
                "loss_mean": float(g["loss"].mean()) if "loss" in g else math.nan,
                "n_params": float(g["n_params"].mean()) if "n_params" in g else math.nan,
                "macs": float(g["macs"].mean()) if "macs" in g else math.nan,
                "lr": _rates(g["lr"]) if "lr" in g else "",
                "lr_diverged": _rates(g["lr_diverged"]) if "lr_diverged" in g else "",
            }
        )
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
