"""The pre-registered analysis of ablations/fashion_mnist_damage48.yaml, run on a run directory.

``wiring-lab confirm RUN_DIR`` reads ``tables/damage.csv`` (node removals under drop,
no cascade), computes the primary endpoint (per-network slopes, t(n-1) intervals over networks:
:func:`wiring_lab.sensitivity.sensitivity_table`), the two pre-registered hypotheses as Welch
contrasts between generators on per-network values with Holm over their four tests
(:func:`wiring_lab.network_inference.generator_contrasts`), applies the decision rules written in
the study file, writes ``tables/confirmatory.csv``, ``tables/contrasts.csv`` and
``tables/network_slopes.csv`` and prints the verdicts. Nothing here is tuned on the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from wiring_lab._io import UserError, read_table, require, write_table
from wiring_lab.columns import rename_legacy_columns
from wiring_lab.network_inference import generator_contrasts, network_slopes
from wiring_lab.sensitivity import SLOPE_METRIC, choices, findings, sensitivity_table

# (value, a, b): H1 (RandWire: WS the most damage-sensitive), H2 (the pilot: BA the strongest rank trend)
HYPOTHESES = {
    "H1 (RandWire): WS the most damage-sensitive, on the per-network slope": [("slope", "ws", "er"), ("slope", "ws", "ba")],
    "H2 (pilot): BA the strongest rank trend, on the per-network Spearman rho": [("spearman", "ba", "er"), ("spearman", "ba", "ws")],
}
DESCRIPTIVE = [("mean", "ws", "er"), ("mean", "ws", "ba")]  # reported beside H1, not tested
ALPHA = 0.05


def verdict(rows: pd.DataFrame) -> str:
    """The pre-registered rule: supported when every difference is negative with Holm p < 0.05,
    contradicted when any is positive with Holm p < 0.05, else inconclusive."""
    significant = rows["p_holm"] < ALPHA
    if ((rows["diff"] > 0) & significant).any():
        return "contradicted"
    if ((rows["diff"] < 0) & significant).all():
        return "supported"
    return "inconclusive"


def confirmatory_analysis(damage: pd.DataFrame, source: str = "damage table") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """(primary endpoint per generator, contrasts with verdicts, per-network slopes, sentences) of drop
    node removals; ``source`` names the table in errors."""
    df = rename_legacy_columns(damage)
    require(df, ["model", "generator", "kind", "stage", SLOPE_METRIC, "delta_top1"], source, numeric=("stage", SLOPE_METRIC, "delta_top1"))
    df = df[(df["kind"].astype(str) == "node") & (choices(df) == ("drop", False))]
    if df.empty:
        raise UserError(f"{source}: no node removal under drop without cascade")
    endpoint = ["stage", SLOPE_METRIC, "delta_top1"]
    broken = ~np.isfinite(df[endpoint].to_numpy(float)).all(axis=1)  # a sweep writes every value: a gap is damage to the table
    if broken.any():
        raise UserError(f"{source}: {int(broken.sum())} of {len(df)} drop node removals lack a finite {', '.join(endpoint)} "
                        f"(first: data row {int(df.index[broken][0]) + 1}); the endpoint is not computed on part of the data")
    primary = sensitivity_table(df)
    per = network_slopes(df, SLOPE_METRIC)
    tested = [pair for pairs in HYPOTHESES.values() for pair in pairs]
    contrasts = generator_contrasts(per, tested)  # one Holm family: the four tests of H1 and H2
    contrasts["hypothesis"] = [h for h, pairs in HYPOTHESES.items() for _ in pairs]
    described = generator_contrasts(per, DESCRIPTIVE).assign(hypothesis="descriptive (mean loss per removal, not tested)")
    lines = findings(primary)
    for h in HYPOTHESES:
        rows = contrasts[contrasts["hypothesis"] == h]
        v = verdict(rows)
        contrasts.loc[rows.index, "verdict"] = v
        said = "; ".join(f"{r['a'].upper()} - {r['b'].upper()} {r['diff']:+.3f} [{r['lo']:+.3f}, {r['hi']:+.3f}], Holm p {r['p_holm']:.2g}"
                         for _, r in rows.iterrows())
        lines.append(f"{h}: {v} ({said}; Welch t tests over networks, n = {int(rows['n_a'].iloc[0])} per generator).")
    described["verdict"] = ""
    return primary, pd.concat([contrasts, described], ignore_index=True), per, lines


def confirm_run(run_dir: str | Path) -> list[str]:
    """Run :func:`confirmatory_analysis` on ``RUN_DIR/tables/damage.csv``, write its three tables beside it, return the sentences."""
    tables = Path(run_dir) / "tables"
    primary, contrasts, per, lines = confirmatory_analysis(read_table(tables / "damage.csv"), str(tables / "damage.csv"))
    for name, df in (("confirmatory", primary), ("contrasts", contrasts), ("network_slopes", per)):
        write_table(df, tables / f"{name}.csv")
    return lines + [f"wrote {tables}/confirmatory.csv, contrasts.csv, network_slopes.csv"]
