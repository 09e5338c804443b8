"""Correlations: scipy's numbers on fixed tables, metric joins for damage and model rows, errors."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from wiring_lab import correlation as C
from wiring_lab.cli import app


def _fixed_table(n: int = 40, seed: int = 1) -> pd.DataFrame:
    """Model rows with metric columns already present: top1 driven by avg_clustering."""
    rng = np.random.default_rng(seed)
    clustering = rng.uniform(0.1, 0.5, n)
    path_length = rng.uniform(2, 4, n)
    return pd.DataFrame(
        {
            "model": [f"m{i}" for i in range(n)],
            "avg_clustering": clustering,
            "avg_path_length": path_length,
            "top1": 60 + 40 * clustering + rng.normal(0, 1, n),
        }
    )


def test_coefficients_equal_scipy():
    df = _fixed_table()
    res = C.correlate(df, C.CorrelateConfig(metrics=("avg_clustering", "avg_path_length"), n_boot=200))
    corr = res.correlations.set_index(["metric", "method"])
    for metric in ("avg_clustering", "avg_path_length"):
        for method, fn in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr), ("kendall", stats.kendalltau)):
            r, p = fn(df[metric], df["top1"])
            row = corr.loc[(metric, method)]
            assert row["r"] == pytest.approx(r, abs=1e-12) and row["p"] == pytest.approx(p, rel=1e-9)
            assert row["n"] == len(df) and row["group"] == "all"
    strong = corr.loc[("avg_clustering", "pearson")]
    assert strong["lo"] < strong["r"] < strong["hi"] and strong["lo"] > 0.8
    again = C.correlate(df, C.CorrelateConfig(metrics=("avg_clustering", "avg_path_length"), n_boot=200))
    pd.testing.assert_frame_equal(res.correlations, again.correlations)  # seeded bootstrap


def _pearson_along(x, y, axis=-1):
    """Pearson r along ``axis`` (vectorised statistic for scipy's bootstrap)."""
    xc = x - x.mean(axis, keepdims=True)
    yc = y - y.mean(axis, keepdims=True)
    return (xc * yc).sum(axis) / np.sqrt((xc * xc).sum(axis) * (yc * yc).sum(axis))


def test_bootstrap_interval_matches_scipy_percentile_bootstrap():
    df = _fixed_table(60, seed=4)
    res = C.correlate(df, C.CorrelateConfig(metrics=("avg_path_length",), n_boot=4000))
    row = res.correlations.set_index("method").loc["pearson"]
    ref = stats.bootstrap(
        (df["avg_path_length"].to_numpy(), df["top1"].to_numpy()),
        _pearson_along,
        paired=True,
        vectorized=True,
        n_resamples=4000,
        method="percentile",
        random_state=np.random.default_rng(0),
    ).confidence_interval
    # different resamples, same estimator: the endpoints agree to Monte-Carlo precision
    assert row["lo"] == pytest.approx(ref.low, abs=0.05) and row["hi"] == pytest.approx(ref.high, abs=0.05)


def test_regression_finds_the_driving_metric():
    res = C.correlate(_fixed_table(80), C.CorrelateConfig(metrics=("avg_clustering", "avg_path_length"), n_boot=50))
    reg = res.regression.set_index("metric")
    assert reg["r2_mean"].iloc[0] > 0.8
    assert reg.loc["avg_clustering", "importance_mean"] > 10 * max(reg.loc["avg_path_length", "importance_mean"], 0.01)


# --- joins from checkpoints in a run directory ---------------------------------------------------
@pytest.fixture()
def run_dir(tmp_path):
    """A run directory with four untrained digits-size checkpoints (only their graphs are used)."""
    from wiring_lab.checkpoint import save_checkpoint
    from wiring_lab.model import ModelConfig, build_model

    models = {}
    for i, (gen, params) in enumerate([("ws", {"k": 4, "p": 0.75}), ("er", {"p": 0.3}), ("ba", {"m": 2}), ("ws", {"k": 2, "p": 0.1})]):
        config = ModelConfig(regime="digits", channels=4, nodes=8, num_classes=10, in_channels=1, head_channels=16, generator=gen, params=params, seed=i)
        model = build_model(config)
        save_checkpoint(tmp_path / "checkpoints" / f"model{i}.pt", model, {"dataset": "digits"})
        models[f"model{i}"] = model.graphs
    (tmp_path / "tables").mkdir()
    return tmp_path, models


def _damage_table(models) -> pd.DataFrame:
    """Damage rows per the contract; delta_top1 follows networkx betweenness (node) / target degree (edge)."""
    rng = np.random.default_rng(0)
    rows = []
    for name, graphs in models.items():
        rows.append({"model": name, "stage": 0, "kind": "intact", "delta_top1": 0.0, "seed": 0})
        for stage, spec in enumerate(graphs):
            bc = nx.betweenness_centrality(spec.to_networkx())
            dag = spec.to_dag()
            for v in range(spec.n):
                rows.append({"model": name, "stage": stage, "kind": "node", "node": v, "in_degree": dag.in_degree(v),
                             "delta_top1": -20 * bc[v] + rng.normal(0, 0.1), "seed": 0})
            for u, w in dag.edges:
                rows.append({"model": name, "stage": stage, "kind": "edge", "source": u, "target": w,
                             "delta_top1": -dag.in_degree(w) / 10 + rng.normal(0, 0.01), "seed": 0})
    return pd.DataFrame(rows)


def test_damage_rows_join_node_metrics(run_dir):
    root, models = run_dir
    table = root / "tables" / "damage.csv"
    _damage_table(models).to_csv(table, index=False)
    res = C.correlate(pd.read_csv(table), C.CorrelateConfig(n_boot=50, by=()), table_path=table)
    data = res.data
    assert set(data["kind"]) == {"node", "edge"}
    node = data[data["kind"] == "node"]
    # the joined betweenness is networkx's for the removed node
    expected = [nx.betweenness_centrality(models[m][s].to_networkx())[int(v)] for m, s, v in zip(node["model"], node["stage"], node["node"])]
    np.testing.assert_allclose(node["betweenness"], expected, atol=1e-12)
    edge = data[data["kind"] == "edge"]
    assert edge["source_degree"].isna().sum() > 0  # the input node is no generated node
    corr = res.correlations.set_index(["group", "metric", "method"])
    r = corr.loc[("kind=node", "betweenness", "pearson")]
    assert r["r"] < -0.95 and r["n"] == len(node)
    r_edge = corr.loc[("kind=edge", "target_in_degree", "spearman")]
    assert r_edge["r"] < -0.8
    # CLI: same rows, one-line summary per group, tables written
    out = root / "tables" / "correlations.csv"
    cli = CliRunner().invoke(app, ["correlate", str(table), "--metrics", "betweenness,degree", "--by", "stage", "--n-boot", "20", "--out", str(out)])
    assert cli.exit_code == 0, cli.output
    assert "kind=node, stage=0" in cli.output and "betweenness" in cli.output
    written = pd.read_csv(out)
    assert list(written.columns) == C.CORRELATION_COLUMNS
    assert (root / "tables" / "correlations_regression.csv").is_file()


def test_model_rows_join_stage_metrics(run_dir):
    from wiring_lab.metrics import graph_metrics

    root, models = run_dir
    table = root / "tables" / "models.csv"
    names = sorted(models)
    pd.DataFrame({"model": names, "top1": [70.0, 80.0, 75.0, 60.0], "checkpoint": [f"checkpoints/{m}.pt" for m in names]}).to_csv(table, index=False)
    res = C.correlate(pd.read_csv(table), C.CorrelateConfig(n_boot=50, metrics=("avg_clustering", "depth")), table_path=table)
    means = [graph_metrics(models[m], backend="networkx")["avg_clustering"].mean() for m in names]
    np.testing.assert_allclose(res.data["avg_clustering"], means, atol=1e-12)
    row = res.correlations.set_index(["metric", "method"]).loc[("avg_clustering", "spearman")]
    assert row["r"] == pytest.approx(stats.spearmanr(means, [70.0, 80.0, 75.0, 60.0])[0])
    by_stage = C.correlate(pd.read_csv(table), C.CorrelateConfig(n_boot=50, metrics=("avg_clustering",), by=("stage",)), table_path=table)
    assert len(by_stage.data) == 4 * len(models["model0"]) and set(by_stage.correlations["group"]) == {"stage=0", "stage=1", "stage=2"}


@pytest.mark.parametrize(
    "content, args, message",
    [
        ("model,top1,avg_clustering\na,1,0.1\nb,2,0.2\nc,3,0.4\n", ["--metrics", "girth"], "unknown metric 'girth'"),
        ("model,top1\n", [], "no rows"),
        ("model,accuracy,avg_clustering\na,1,0.1\n", ["--metrics", "avg_clustering"], "no target column 'top1'"),
        ("model,top1\na,1\nb,2\n", [], "no checkpoint found for model 'a'"),
        ("name,top1\na,1\n", [], "missing column 'model'"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, content, args, message):
    table = tmp_path / "tables" / "t.csv"
    table.parent.mkdir()
    table.write_text(content)
    res = CliRunner().invoke(app, ["correlate", str(table), *args])
    assert res.exit_code == 2, res.output
    assert message in res.output and len(res.output.strip().splitlines()) == 1


def test_correlate_real_damage_sweep(run_dir, digits):
    """End to end: damage.csv from wiring_lab.damage, graphs found in the run directory."""
    damage = pytest.importorskip("wiring_lab.damage")
    root, models = run_dir
    table = root / "tables" / "damage.csv"
    config = damage.DamageConfig(remove="both", stages=(1,), limit=64, bootstrap=20, dataset="digits")
    damage.damage_sweep(root / "checkpoints" / "model0.pt", config, data=digits, device="cpu", out=table, progress=False)
    res = CliRunner().invoke(app, ["correlate", str(table), "--n-boot", "20", "--out", str(root / "tables" / "correlations.csv")])
    assert res.exit_code == 0, res.output
    result = C.correlate(pd.read_csv(table), C.CorrelateConfig(n_boot=20), table_path=table)
    node = result.data[result.data["kind"] == "node"]
    assert len(node) == models["model0"][1].n and node["betweenness"].notna().all()
    edge = result.data[result.data["kind"] == "edge"]
    inner = edge["target"] < models["model0"][1].n
    assert edge.loc[inner, "target_degree"].notna().all() and edge.loc[~inner, "target_degree"].isna().all()
    assert set(result.correlations["group"]) == {"kind=node", "kind=edge"}
