"""Cross-validated regression of damage or accuracy on graph metrics, folds that never split a network.

The target on all metrics of a group (standardised, ``RidgeCV``); R^2 from group k-fold
cross-validation over the resampling units (shuffled, seeded); permutation importance only where
the cross-validated R^2 is positive, since an importance of a model that predicts nothing is noise.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.inspection import permutation_importance
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from wiring_lab.resampling import cluster_codes, cluster_columns

REGRESSION_COLUMNS = ["group", "target", "n", "folds", "cv_unit", "n_groups", "r2_mean", "r2_std", "metric", "importance_mean", "importance_std", "note"]


def group_folds(groups: Sequence[Any] | np.ndarray, folds: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row indices of a shuffled group k-fold: the rows of one group (network) are never on both sides."""
    groups = np.asarray(groups)
    k = min(folds, len(np.unique(groups)))
    if k < 2:
        raise ValueError(f"group k-fold needs at least 2 groups (got {k})")
    return list(GroupKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(groups)), groups=groups))


def regression_rows(data: pd.DataFrame, target: str, metrics: Sequence[str], group: str, folds: int, seed: int, cluster: str | Sequence[str] | None = "model") -> list[dict]:
    """Ridge regression of ``target`` on ``metrics``, R^2 from group k-fold (units never split); permutation importance only where R^2 > 0."""
    frame = data[[*metrics, target]].apply(pd.to_numeric, errors="coerce")
    usable = [m for m in metrics if frame[m].notna().any() and frame[m].nunique(dropna=True) > 1]
    keep = frame[[*usable, target]].notna().all(axis=1).to_numpy()
    frame = frame.loc[keep, [*usable, target]]
    groups = cluster_codes(data, cluster)[keep]
    n, n_groups = len(frame), len(np.unique(groups))
    k = min(folds, n_groups)
    unit = ",".join(cluster_columns(cluster)) or "none"
    base = {"group": group, "target": target, "n": n, "folds": k, "cv_unit": unit, "n_groups": n_groups, "r2_mean": math.nan, "r2_std": math.nan}

    def empty(note: str) -> list[dict]:
        """Rows without importances, with the reason."""
        return [{**base, "metric": m, "importance_mean": math.nan, "importance_std": math.nan, "note": note} for m in usable or metrics]

    if not usable or frame[target].nunique() < 2:
        return empty("no metric or target that varies")
    if k < 2 or n < 2 * k:
        return empty(f"too few units for cross-validation ({n_groups} {unit} groups, {n} rows; needs 2 groups and 2 rows per fold)")
    X, y = frame[usable].to_numpy(float), frame[target].to_numpy(float)
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
    splits = group_folds(groups, k, seed)
    fitted, scores = [], []
    for train, test in splits:
        m = clone(model).fit(X[train], y[train])
        fitted.append(m)
        scores.append(m.score(X[test], y[test]) if len(test) > 1 else math.nan)
    base.update(r2_mean=float(np.nanmean(scores)), r2_std=float(np.nanstd(scores)))
    if not base["r2_mean"] > 0:
        return empty(f"cross-validated R^2 {base['r2_mean']:.3f} <= 0: the metrics predict no better than the mean, importances withheld")
    importances = []
    for f, (m, (train, test)) in enumerate(zip(fitted, splits)):
        imp = permutation_importance(m, X[test], y[test], n_repeats=10, random_state=seed + f, scoring="r2")
        importances.append(imp.importances_mean)
    imp = np.array(importances)  # (folds, metrics)
    return [{**base, "metric": m, "importance_mean": float(imp[:, i].mean()), "importance_std": float(imp[:, i].std()), "note": ""} for i, m in enumerate(usable)]
