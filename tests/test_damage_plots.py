"""Damage figures: one degree definition, linear axes, per-network slopes and within-network summaries."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats

from wiring_lab import analysis, damage_plots
from wiring_lab._io import UserError


def _damage(nets: int = 3, seed: int = 0) -> pd.DataFrame:
    """Node removals of ER and WS networks with planted per-network slopes, plus a few edge rows and intact rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for gen, beta in (("er", -1.0), ("ws", -0.3)):
        for i in range(nets):
            model = f"{gen}_s{i}"
            b = beta + rng.normal(0, 0.2)
            rows.append({"model": model, "generator": gen, "setting": gen.upper(), "kind": "intact", "delta_top1": 0.0})
            for stage in range(2):
                for node in range(8):
                    out = int(rng.integers(0, 6))
                    rows.append({"model": model, "generator": gen, "setting": gen.upper(), "kind": "node", "stage": stage, "node": node,
                                 "out_degree_graph": out, "out_degree_dag": out + 1, "in_degree_graph": int(rng.integers(0, 4)),
                                 "delta_top1": b * out - 0.5 * stage + rng.normal(0, 0.3), "depth": int(rng.integers(1, 5))})
            for e in range(4):
                rows.append({"model": model, "generator": gen, "setting": gen.upper(), "kind": "edge", "stage": 0, "source": e, "target": e + 1,
                             "target_in_degree_dag": e + 1, "delta_top1": -0.1 * e})
    return pd.DataFrame(rows)


def _lines(ax) -> list:
    """The per-network slope lines of a panel (thin dark lines)."""
    return [ln for ln in ax.get_lines() if ln.get_gid() == "network-slope"]


def test_damage_uses_graph_out_degree_linear_axes_and_draws_every_network():
    df = _damage()
    fig = damage_plots.plot_damage(df)
    assert isinstance(fig, Figure)
    axes = [a for a in fig.axes if a.has_data()]
    assert len(axes) == 5  # node and edge rows x ER and WS columns, and the forest
    node_er = axes[0]
    assert node_er.get_xlabel() == "out-degree of removed node (graph)"
    assert all(a.get_yscale() == "linear" for a in axes)
    assert len(_lines(node_er)) == 3  # one line per ER network
    # each line passes through its network's mean at its own slope (stage as a factor)
    per, _ = analysis.damage_slopes(df)
    slopes = sorted(per.loc[per["generator"] == "er", "slope"])
    drawn = sorted((ln.get_ydata()[1] - ln.get_ydata()[0]) / (ln.get_xdata()[1] - ln.get_xdata()[0]) for ln in _lines(node_er))
    assert drawn == pytest.approx(slopes)
    assert damage_plots.plot_damage(df, yscale="symlog").axes[0].get_yscale() == "symlog"
    with pytest.raises(UserError, match="yscale"):
        damage_plots.plot_damage(df, yscale="log")


def test_forest_shows_each_network_and_the_t_interval_over_networks():
    df = _damage(nets=4)
    per, summary = analysis.damage_slopes(df)
    fig = damage_plots.plot_slope_forest(per, summary)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 8 + 2  # 4 networks per generator and one mean row each
    er = per.loc[per["generator"] == "er", "slope"].to_numpy()
    lo, hi = stats.ttest_1samp(er, 0).confidence_interval(0.95)
    assert f"ER mean {er.mean():+.2f} [{lo:+.2f}, {hi:+.2f}], n=4" in labels
    # a network's own slope: least squares with stage as a factor
    one = df[(df["model"] == "er_s0") & (df["kind"] == "node")]
    design = np.column_stack([np.ones(len(one)), one["out_degree_graph"], one["stage"] == 1])
    coef = np.linalg.lstsq(design.astype(float), one["delta_top1"].to_numpy(float), rcond=None)[0]
    assert per.set_index("model").loc["er_s0", "slope"] == pytest.approx(coef[1])


def test_forest_names_networks_only_where_their_rows_can_be_read():
    per, summary = analysis.damage_slopes(_damage(nets=4))
    many = pd.concat([per.assign(model=per["model"] + f"_{i}") for i in range(8)], ignore_index=True)  # 32 networks per generator
    squeezed = Figure(figsize=(4, 3)).subplots()
    damage_plots.plot_slope_forest(many, summary, ax=squeezed)
    assert [t.get_text().split(" mean ")[0] for t in squeezed.get_yticklabels()] == ["ER", "WS"]  # only the means: 72 rows in 3 inches
    assert len(squeezed.lines) > 64  # every network is still drawn
    roomy = damage_plots.plot_slope_forest(many, summary).axes[0]  # sized by its rows
    assert len(roomy.get_yticklabels()) == 64 + 2
    forced = Figure(figsize=(4, 3)).subplots()
    damage_plots.plot_slope_forest(many, summary, ax=forced, label_networks=True)
    assert len(forced.get_yticklabels()) == 64 + 2


def test_axes_from_the_caller_and_no_global_state():
    before = dict(matplotlib.rcParams)
    backend = matplotlib.get_backend()
    fig = Figure()
    axes = fig.subplots(2, 3).ravel().tolist()
    got = damage_plots.plot_damage(_damage(), ax=axes[:4] + [axes[5]])
    assert got is fig and axes[0].has_data() and axes[5].has_data()
    with pytest.raises(UserError, match="exactly 5 Axes"):
        damage_plots.plot_damage(_damage(), ax=axes[:2])
    one = Figure().subplots()
    per, summary = analysis.damage_slopes(_damage())
    assert damage_plots.plot_slope_forest(per, summary, ax=one, palette={"er": "red", "ws": "blue"}) is one.figure
    assert matplotlib.get_backend() == backend
    after = dict(matplotlib.rcParams)
    assert {k: v for k, v in after.items() if before.get(k) != v} == {}


def test_metric_vs_damage_draws_within_network_rank_correlations():
    df = _damage(nets=4)
    nodes = df[df["kind"] == "node"]
    fig = damage_plots.plot_metric_vs_damage(nodes, ["out_degree_graph", "depth"])
    panels = [a for a in fig.axes if a.has_data()]
    assert [a.get_title() for a in panels] == ["out-degree (graph)", "depth from input node"]
    assert [t.get_text() for t in panels[0].get_xticklabels()] == ["ER\nn=4", "WS\nn=4"]
    dots = panels[0].collections[0].get_offsets()[:, 1]  # ER's four networks
    expect = [stats.spearmanr(g["out_degree_graph"], g["delta_top1"])[0] for _, g in nodes[nodes["generator"] == "er"].groupby("model")]
    assert sorted(dots) == pytest.approx(sorted(expect))
    _, summary = analysis.network_rank_correlations(nodes, ["out_degree_graph"])
    er = summary.set_index("generator").loc["er"]
    assert er["mean"] == pytest.approx(np.mean(expect)) and er["n_networks"] == 4 and er["n_negative"] == sum(r < 0 for r in expect)
    with pytest.raises(UserError, match="none of the metrics"):
        damage_plots.plot_metric_vs_damage(nodes, ["nosuch"])
