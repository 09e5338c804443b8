"""Correlations: scipy's numbers on fixed tables, metric joins for damage and model rows, errors."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from wiring_lab import correlation as C
from wiring_lab import network_inference as NI
from wiring_lab import regression as RG
from wiring_lab import resampling as R
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
    assert edge["source_degree_graph"].isna().sum() > 0  # the input node is no generated node
    corr = res.correlations.set_index(["group", "metric", "method"])
    r = corr.loc[("kind=node", "betweenness", "pearson")]
    assert r["r"] < -0.95 and r["n"] == len(node)
    r_edge = corr.loc[("kind=edge", "target_in_degree_graph", "spearman")]
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
        ("model,top1,avg_clustering\na,1,0.1\nb,2,0.2\nc,3,0.4\n", ["--metrics", "avg_clustering", "--cluster", "stage"], "cluster unit 'stage' needs column 'stage'"),
        ("model,kind,stage,node,out_degree,delta_top1\na,node,0,0,1,-1\nb,node,0,1,2,-2\n", ["--metrics", "out_degree", "--slope-metrics", "fan"], "no column 'fan' for a mixed-model slope"),
        ("model,top1,avg_clustering\na,1,0.1\nb,2,0.2\nc,3,0.4\n", ["--metrics", "avg_clustering", "--cluster", "genus"], "unknown cluster unit 'genus'"),
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
    assert edge.loc[inner, "target_degree_graph"].notna().all() and edge.loc[~inner, "target_degree_graph"].isna().all()
    assert set(result.correlations["group"]) == {"kind=node", "kind=edge"}


# --- statistics for clustered data ---------------------------------------------------------------
@pytest.mark.parametrize("method, fn", [("pearson", stats.pearsonr), ("spearman", stats.spearmanr), ("kendall", stats.kendalltau),
                                        ("slope", lambda a, b: (stats.linregress(a, b).slope,))])
def test_resampled_statistics_equal_scipy_on_the_drawn_rows(method, fn):
    """Each cluster resample, materialised as repeated rows, gives scipy's coefficient (ties and constant draws included)."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, 36).astype(float)
    y = np.round(x + rng.normal(0, 2, 36), 1)
    x[:4] = 9.0  # network 0 is constant in x: a resample of network 0 only is degenerate
    codes = np.repeat(np.arange(9), 4)
    got = R._resample_statistics(method, x, y, codes, 60, np.random.default_rng(5))
    counts = R._draw_counts(9, 60, np.random.default_rng(5))  # the same draws
    for b, c in enumerate(counts):
        rows = np.repeat(np.arange(36), c[codes].astype(int))
        xs, ys = x[rows], y[rows]
        if np.ptp(xs) == 0 or np.ptp(ys) == 0:
            assert np.isnan(got[b])
        else:
            assert got[b] == pytest.approx(fn(xs, ys)[0], abs=1e-9)


def _planted(rng, slope=-1.5, nets=20, per=30):
    """Damage-like rows: networks shift the metric and the damage (random intercept), the slope is ``slope``."""
    net = np.repeat(np.arange(nets), per)
    x = np.round(2 + rng.normal(0, 1.0, nets)[net] + rng.gamma(2, 1, len(net)))
    y = slope * x + rng.normal(0, 3.0, nets)[net] + rng.normal(0, 1.0, len(net))
    return x, y, net


def test_planted_slope_network_bootstrap_covers_row_bootstrap_does_not(capsys):
    """200 planted data sets of 20 networks: the network-clustered 95% interval covers the slope 90-99% of the time."""
    covered = {"network": 0, "row": 0}
    for rep in range(200):
        rng = np.random.default_rng([7, rep])
        x, y, net = _planted(rng)
        for unit, codes in (("network", net), ("row", np.arange(len(x)))):
            lo, hi = R.bootstrap_interval("slope", x, y, codes, 300, rng)
            covered[unit] += lo <= -1.5 <= hi
    network, row = covered["network"] / 200, covered["row"] / 200
    with capsys.disabled():
        print(f"\nplanted slope, 20 networks x 30 rows, 200 replicates: coverage of the 95% interval, "
              f"networks resampled {network:.3f}, rows resampled {row:.3f}")
    assert 0.90 <= network <= 0.99
    assert row < 0.75  # rows treated as independent: far too narrow


def test_cluster_bootstrap_ci_needs_enough_networks():
    rng = np.random.default_rng(0)
    x, y, net = _planted(rng, nets=7, per=10)
    df = pd.DataFrame({"model": [f"n{i}" for i in net], "out_degree": x, "delta_top1": y})
    few = R.cluster_bootstrap_ci(df, "out_degree", "delta_top1", cluster="model", method="slope", n_boot=100)
    assert np.isnan(few["lo"]) and few["n_clusters"] == 7 and "too few networks" in few["note"] and "n=7 < 8" in few["note"]
    assert few["estimate"] == pytest.approx(stats.linregress(x, y).slope)
    rows = R.cluster_bootstrap_ci(df, "out_degree", "delta_top1", cluster="none", method="spearman", n_boot=100)
    assert rows["lo"] < rows["estimate"] < rows["hi"] and rows["n_clusters"] == 70
    x, y, net = _planted(rng, nets=8, per=10)
    df = pd.DataFrame({"model": net, "out_degree": x, "delta_top1": y})
    ok = R.cluster_bootstrap_ci(df, "out_degree", "delta_top1", method="pearson", n_boot=200)
    assert ok["lo"] < ok["estimate"] < ok["hi"] and ok["note"] == ""


def test_holm_and_bh_equal_hand_computation():
    p = [0.01, 0.04, 0.03, 0.005, np.nan]
    holm, bh = R.adjust_pvalues(p)
    # Holm: sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1 -> 0.02, 0.03, 0.06, max(0.04, 0.06)
    np.testing.assert_allclose(holm[:4], [0.03, 0.06, 0.06, 0.02])
    # BH: sorted p*4/rank = 0.02, 0.02, 0.04, 0.04, then running minimum from the top
    np.testing.assert_allclose(bh[:4], [0.02, 0.04, 0.04, 0.02])
    assert np.isnan(holm[4]) and np.isnan(bh[4])


def test_group_folds_never_split_a_network():
    rng = np.random.default_rng(2)
    groups = rng.integers(0, 13, 200)
    folds = RG.group_folds(groups, 5, seed=1)
    assert len(folds) == 5
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested) == list(range(200))  # every row held out exactly once
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])


def test_partial_correlation_equals_precision_matrix_formula():
    rng = np.random.default_rng(4)
    depth = rng.integers(0, 6, 80).astype(float)
    x = depth + rng.normal(0, 1, 80)
    y = -depth + 0.5 * x + rng.normal(0, 1, 80)
    df = pd.DataFrame({"m": x, "delta_top1": y, "depth": depth, "stage": 0})
    got = C.partial_correlation(df, "m", "delta_top1", controls=("stage", "depth"), method="pearson")
    prec = np.linalg.inv(np.corrcoef(np.vstack([x, y, depth])))
    ref = -prec[0, 1] / np.sqrt(prec[0, 0] * prec[1, 1])
    assert got["controls"] == "depth"  # a constant stage controls nothing
    assert got["r"] == pytest.approx(ref, abs=1e-12)
    t = ref * np.sqrt((80 - 3) / (1 - ref**2))
    assert got["p"] == pytest.approx(2 * stats.t.sf(abs(t), 80 - 3), rel=1e-9)
    ranked = C.partial_correlation(df, "m", "delta_top1", controls=("depth",), method="spearman")
    r_x, r_y, r_d = (stats.rankdata(v) for v in (x, y, depth))
    prec = np.linalg.inv(np.corrcoef(np.vstack([r_x, r_y, r_d])))
    assert ranked["r"] == pytest.approx(-prec[0, 1] / np.sqrt(prec[0, 0] * prec[1, 1]), abs=1e-12)


def _damage_rows(nets_per_gen=4, slopes=None, seed=0, nodes=10, stages=2, slope_sd=0.0):
    """Synthetic node-damage rows: delta = (slope[generator] + network's slope deviation) * out_degree + network effect + stage effect + noise."""
    slopes = slopes or {"er": -1.0, "ba": -2.0, "ws": 0.5}
    rng = np.random.default_rng(seed)
    rows = []
    for gen, slope in slopes.items():
        for i in range(nets_per_gen):
            u = rng.normal(0, 2.0)
            b = slope + (rng.normal(0, slope_sd) if slope_sd else 0.0)
            for stage in range(stages):
                for v in range(nodes):
                    out = int(rng.integers(1, 8))
                    rows.append({"model": f"{gen}{i}", "generator": gen, "stage": stage, "kind": "node", "node": v, "out_degree": out,
                                 "depth": int(rng.integers(1, 5)), "delta_top1": b * out + u - 0.8 * stage + rng.normal(0, 1.0)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("random", ["slope", "intercept"])
def test_mixed_model_recovers_planted_slopes(random):
    nets = 8 if random == "slope" else 4  # a random slope needs slopes that vary, and networks to estimate their spread
    df = _damage_rows(nets_per_gen=nets, slope_sd=0.5 if random == "slope" else 0.0)
    res = NI.mixed_slope(df, "out_degree", "delta_top1", generator="generator", covariates=("stage",), random=random)
    by_gen = res.set_index("generator")
    for gen, slope in {"er": -1.0, "ba": -2.0, "ws": 0.5}.items():
        row = by_gen.loc[gen]
        assert row["method"].startswith("MixedLM"), row.to_dict()
        assert row["lo"] <= slope <= row["hi"] and row["hi"] - row["lo"] < 1.5, row.to_dict()
        assert row["n_networks"] == nets and row["n"] == 20 * nets
        # the interval is on t(networks - 1), not the normal
        assert (row["hi"] - row["lo"]) / 2 == pytest.approx(stats.t.ppf(0.975, nets - 1) * row["se"], rel=1e-9)
    assert by_gen.loc["ba", "p"] < 1e-3 and by_gen.loc["ba", "re_var"] > 0.5
    assert "stage" in by_gen.loc["ba", "formula"]
    assert ("only 4 networks of this generator" in by_gen.loc["ba", "note"]) == (nets == 4)
    assert ("| network)" in by_gen.loc["ba", "formula"]) and (("1 + out_degree |" in by_gen.loc["ba", "formula"]) == (random == "slope"))


def test_mixed_model_states_why_there_is_no_slope():
    df = _damage_rows(nets_per_gen=3)
    flat = df.assign(out_degree=np.where(df["generator"] == "ws", 3, df["out_degree"]))
    res = NI.mixed_slope(flat, "out_degree").set_index("generator")
    assert np.isnan(res.loc["ws", "slope"]) and "constant within this generator" in res.loc["ws", "note"]
    assert np.isfinite(res.loc["er", "slope"])
    two = NI.mixed_slope(df[df["model"].isin(["er0", "er1"])], "out_degree")  # two networks: the two-stage estimate, said
    assert "too few networks" in two["note"].iloc[0] and two["method"].iloc[0].startswith("two-stage")
    assert two["n_networks"].iloc[0] == 2 and np.isfinite(two["slope"].iloc[0])
    # noise centred within every network: no network effect, the per-network variance sits on the boundary
    er = df[df["generator"] == "er"].assign(e=np.random.default_rng(1).normal(0, 1.0, 60))
    er["delta_top1"] = -1.0 * er["out_degree"] + er["e"] - er.groupby("model")["e"].transform("mean")
    single = NI.mixed_slope(er, "out_degree", random="intercept")
    assert single["re_var"].iloc[0] < 1e-6 and "boundary" in single["note"].iloc[0] and "only 3 networks" in single["note"].iloc[0]
    assert single["slope"].iloc[0] == pytest.approx(-1.0, abs=0.2)


@pytest.mark.parametrize("failure, reason", [("raise", "MixedLM failed: LinAlgError: Singular matrix"), ("stall", "did not converge")])
def test_mixed_model_failures_fall_back_to_the_two_stage_estimate(monkeypatch, failure, reason):
    from statsmodels.regression.mixed_linear_model import MixedLM

    real_fit = MixedLM.fit

    def broken_fit(self, *args, **kwargs):
        if failure == "raise":
            raise np.linalg.LinAlgError("Singular matrix")
        result = real_fit(self, *args, **kwargs)
        result.converged = False
        return result

    monkeypatch.setattr(MixedLM, "fit", broken_fit)
    df = _damage_rows(nets_per_gen=3)
    res = NI.mixed_slope(df, "out_degree").set_index("generator")
    assert len(res) == 3 and res["note"].str.contains(reason).all() and res["note"].str.contains("fell back").all()
    assert res["method"].str.startswith("two-stage").all()
    per = NI.summarize_networks(NI.network_slopes(df, "out_degree")).set_index("generator")
    assert np.allclose(res["slope"], per.loc[res.index, "mean"]) and np.allclose(res["lo"], per.loc[res.index, "lo"])


def test_importances_withheld_when_cv_r2_is_not_positive():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"model": np.repeat([f"n{i}" for i in range(10)], 12), "a": rng.normal(size=120), "b": rng.normal(size=120),
                       "delta_top1": rng.normal(size=120)})
    rows = pd.DataFrame(RG.regression_rows(df, "delta_top1", ["a", "b"], "all", folds=5, seed=0))
    assert rows["r2_mean"].iloc[0] <= 0 and rows["importance_mean"].isna().all()
    assert "importances withheld" in rows["note"].iloc[0] and rows["cv_unit"].iloc[0] == "model" and rows["n_groups"].iloc[0] == 10
    df["delta_top1"] = 3 * df["a"] + rng.normal(0, 0.3, 120)
    rows = pd.DataFrame(RG.regression_rows(df, "delta_top1", ["a", "b"], "all", folds=5, seed=0)).set_index("metric")
    assert rows["r2_mean"].iloc[0] > 0.8 and rows.loc["a", "importance_mean"] > 1 and rows.loc["a", "note"] == ""


def test_cli_writes_cluster_aware_tables(tmp_path):
    import json

    df = _damage_rows(nets_per_gen=3)  # 9 networks: enough for a network-bootstrap interval
    df["kind"] = "node"
    table = tmp_path / "damage.csv"
    df.to_csv(table, index=False)
    out = tmp_path / "corr.csv"
    res = CliRunner().invoke(app, ["correlate", str(table), "--metrics", "out_degree,depth", "--n-boot", "50", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "slope of delta_top1 on out_degree_graph, ba (" in res.output  # the legacy name is read as the graph out-degree
    corr = pd.read_csv(out)
    assert list(corr.columns) == C.CORRELATION_COLUMNS
    pooled = corr[corr["method"] == "spearman"].set_index("metric")
    assert (pooled["cluster"] == "model").all() and (pooled["n_clusters"] == 9).all() and pooled["lo"].notna().all()
    assert pooled.loc["out_degree_graph", "n_net"] == 9
    net = pd.read_csv(tmp_path / "corr_per_network.csv")
    own = net[(net["metric"] == "out_degree_graph") & (net["method"] == "spearman")]
    assert pooled.loc["out_degree_graph", "net_median"] == pytest.approx(own["r"].median())
    er0 = df[df["model"] == "er0"]
    assert own.set_index("model").loc["er0", "r"] == pytest.approx(stats.spearmanr(er0["out_degree"], er0["delta_top1"])[0])
    partial = corr[corr["method"] == "spearman_partial"].set_index("metric")
    assert partial.loc["out_degree_graph", "controls"] == "stage,depth" and partial.loc["depth", "controls"] == "stage"
    holm, bh = R.adjust_pvalues(corr["p"])
    np.testing.assert_allclose(corr["p_holm"], holm) and np.testing.assert_allclose(corr["p_bh"], bh)
    mixed = pd.read_csv(tmp_path / "corr_mixed.csv")
    assert set(mixed["generator"]) == {"er", "ba", "ws"} and mixed["p_holm"].notna().all()
    reg = pd.read_csv(tmp_path / "corr_regression.csv")
    assert (reg["cv_unit"] == "model").all() and "note" in reg.columns
    side = json.loads((tmp_path / "corr.csv.json").read_text())
    assert side["cluster"]["unit"] == "model" and side["n_networks"] == 9 and side["n_rows"] == len(df)
    # stage as the unit; rows as the unit; fewer networks than the minimum
    res = CliRunner().invoke(app, ["correlate", str(table), "--metrics", "out_degree", "--n-boot", "20", "--cluster", "stage", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(out)["n_clusters"].dropna()) == {18}
    df[df["model"].isin(["er0", "er1", "ba0", "ba1", "ws0", "ws1"])].to_csv(table, index=False)
    res = CliRunner().invoke(app, ["correlate", str(table), "--metrics", "out_degree", "--n-boot", "20", "--out", str(out)])
    assert res.exit_code == 0, res.output
    few = pd.read_csv(out)
    assert few.loc[few["method"] == "pearson", "ci_note"].iloc[0] == "too few networks for a cluster interval (n=6 < 8)"
    res = CliRunner().invoke(app, ["correlate", str(table), "--cluster", "genus"])
    assert res.exit_code == 2 and "unknown cluster unit 'genus'" in res.output and len(res.output.strip().splitlines()) == 1
