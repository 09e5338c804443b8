"""Every catalogued figure, rendered under Agg from small fixed tables, checked for its content."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from wiring_lab import analysis, damage_plots, figures, plots
from wiring_lab._io import UserError, write_table
from wiring_lab.cli import app
from wiring_lab.graphs import setting_label
from wiring_lab.rundir import table_path

SETTINGS = [("er", {"p": 0.2}), ("er", {"p": 0.4}), ("ba", {"m": 2}), ("ws", {"k": 4, "p": 0.25}), ("ws", {"k": 4, "p": 0.75})]
OPS = ["sepconv3x3", "conv3x3"]


def models_table() -> pd.DataFrame:
    """Five settings x two node ops x two seeds, with fixed accuracies."""
    rows = []
    for i, (g, params) in enumerate(SETTINGS):
        for j, op in enumerate(OPS):
            for seed in (0, 1):
                rows.append({
                    "model": f"{g}{i}_{op}_s{seed}", "generator": g, "setting": setting_label(g, params),
                    "p": params.get("p"), "k": params.get("k"), "m": params.get("m"), "seed": seed, "node_op": op,
                    "regime": "digits", "channels": 4, "nodes": 6, "dataset": "digits", "epochs": 3,
                    "top1": 90.0 + i - 2.0 * j + 0.5 * seed, "top5": 99.0, "loss": 0.5, "n_params": 1000, "macs": 1000,
                    "checkpoint": None,
                })
    return pd.DataFrame(rows)


def graphs_table(models: pd.DataFrame) -> pd.DataFrame:
    """Three N=6 stage graphs per network, as the train task writes them."""
    from wiring_lab.graphs import generate_graph, stage_seeds
    from wiring_lab.summary import graph_records

    rows = []
    for r in models.to_dict("records"):
        params = {k: (float(r[k]) if k == "p" else int(r[k])) for k in ("p", "k", "m") if r[k] is not None and r[k] == r[k]}
        rows += graph_records(r["model"], [generate_graph(r["generator"], 6, seed=s, **params) for s in stage_seeds(r["seed"], 3)])
    return pd.DataFrame(rows)


def history_table(models: pd.DataFrame) -> pd.DataFrame:
    """Three epochs per network, falling loss and rising accuracy."""
    rows = []
    for m in models["model"][::4]:
        for e in (1, 2, 3):
            rows.append({"model": m, "epoch": e, "train_loss": 2.0 / e, "train_top1": 50 + 10 * e, "test_loss": 2.2 / e,
                         "test_top1": 45 + 12 * e, "test_top5": 90.0, "lr_end": 0.1 / e, "seconds": 1.0})
    return pd.DataFrame(rows)


def damage_table() -> pd.DataFrame:
    """Two models (ER, WS), node and edge removals with known degrees and deltas."""
    rows = []
    for model, g, setting in (("er0", "er", "ER(0.2)"), ("ws0", "ws", "WS(4, 0.75)")):
        base = {"model": model, "generator": g, "setting": setting, "seed": 0, "wall_s": 0.01, "cascade": False,
                "recalibrate_bn": 0, "top5": 99.0, "loss": 0.4}
        rows.append({**base, "stage": 0, "kind": "intact", "top1": 95.0, "delta_top1": 0.0})
        for node in range(6):
            out_deg = node % 3 + 1
            d = -1.0 * out_deg - 0.1 * node
            rows.append({**base, "stage": node % 2, "kind": "node", "node": node, "in_degree": 1, "out_degree": out_deg,
                         "in_degree_io": 1, "out_degree_io": out_deg, "top1": 95 + d, "delta_top1": d,
                         "delta_top1_lo": d - 0.5, "delta_top1_hi": d + 0.5})
        for t in range(1, 5):
            d = -0.5 * t
            rows.append({**base, "stage": 0, "kind": "edge", "source": 0, "target": t, "target_in_degree": t % 2 + 1,
                         "top1": 95 + d, "delta_top1": d, "delta_top1_lo": d - 0.3, "delta_top1_hi": d + 0.3})
    return pd.DataFrame(rows)


def attack_table() -> pd.DataFrame:
    """Random (two repeats) and degree-ordered removal curves for one BA and one WS network."""
    rows = []
    for model, g in (("ba0", "ba"), ("ws0", "ws")):
        for order, reps in (("random", 2), ("degree", 1)):
            for rep in range(reps):
                for f in (0.0, 0.25, 0.5):
                    rows.append({"model": model, "generator": g, "setting": g.upper(), "order": order, "repeat": rep,
                                 "fraction": f, "removed": int(f * 8), "top1": 95 - 100 * f * (1.5 if order == "degree" else 1) - rep,
                                 "top5": 99.0, "loss": 0.5, "seed": 0})
    return pd.DataFrame(rows)


def population_table() -> pd.DataFrame:
    """WS K=4 N=16 over a P grid, two samples each, with the WS shape: L falls before C."""
    rows = []
    for p in (0.0, 0.01, 0.1, 1.0):
        for s in (0, 1):
            rows.append({"generator": "ws", "setting": f"WS(4, {p:g})", "p": p, "k": 4, "m": None, "n": 16, "seed": s,
                         "sample": s, "avg_degree": 4.0, "avg_clustering": 0.5 * (1 - p) ** 3 + 0.01 * s,
                         "avg_path_length": 2.0 + 2.0 * (1 - p) ** 10, "n_components": 1, "diameter": 4,
                         "transitivity": 0.5, "global_efficiency": 0.5, "assortativity": 0.0, "depth": 5,
                         "mean_io_path_length": 4.0, "n_io_paths": 10, "n_input_fed": 1, "n_output_fed": 1})
    return pd.DataFrame(rows)


def stage_metrics_table(models: pd.DataFrame) -> pd.DataFrame:
    """Three stages per network with C and L varying by network."""
    rows = []
    for i, m in enumerate(models["model"]):
        for stage in range(3):
            rows.append({"generator": "ws", "setting": "", "p": 0.5, "k": 4, "m": None, "n": 6, "seed": 0, "model": m,
                         "stage": stage, "avg_clustering": 0.05 * (i % 5) + 0.01 * stage, "avg_path_length": 1.5 + 0.1 * (i % 4)})
    return pd.DataFrame(rows)


def node_metrics_table() -> pd.DataFrame:
    """Metrics of the nodes that damage_table removes."""
    rows = []
    for model in ("er0", "ws0"):
        for node in range(6):
            rows.append({"model": model, "stage": node % 2, "node": node, "in_degree": 1, "out_degree": node % 3 + 1,
                         "degree": node % 3 + 2, "clustering": 0.1 * node, "betweenness": 0.05 * node, "closeness": 0.5,
                         "pagerank": 0.1, "depth": node % 3 + 1, "height": 2, "paths_through": node + 1})
    return pd.DataFrame(rows)


def search_history_table() -> pd.DataFrame:
    """Two search runs of three children each (wiring-lab search's history), with fixed accuracies."""
    return pd.DataFrame({
        "run": ["random-s0"] * 3 + ["ws-4-0.75-s0"] * 3, "strategy": ["random"] * 3 + ["generator"] * 3,
        "search_seed": 0, "child": [0, 1, 2] * 2, "model": [f"search{i}" for i in range(6)],
        "setting": ["random"] * 3 + ["WS(4, 0.75)"] * 3, "best_val_so_far": [80.0, 85.0, 85.0, 70.0, 75.0, 90.0],
        "test_top1": [79.0, 84.0, 81.0, 69.0, 74.0, 88.0],
    })  # fmt: skip


@pytest.fixture()
def run_dir(tmp_path):
    """A run directory with every table (no checkpoints)."""
    models = models_table()
    tables = {"models": models, "graphs": graphs_table(models), "history": history_table(models), "damage": damage_table(), "attack": attack_table(),
              "population_metrics": population_table(), "stage_metrics": stage_metrics_table(models),
              "node_metrics": node_metrics_table(), "search_history": search_history_table()}
    for name, df in tables.items():
        write_table(df, table_path(tmp_path, name))
    return tmp_path


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def _data_axes(fig):
    return [a for a in fig.axes if a.get_label() != "<colorbar>" and a.axison]


def test_generator_sweep_points_with_t_intervals_and_n():
    from scipy import stats as st

    models = models_table()
    fig = plots.plot_generator_sweep(models)
    axes = _data_axes(fig)
    assert [a.get_title().split(" ")[0] for a in axes] == ["ER", "BA", "WS"]
    assert axes[0].get_ylabel() == "top-1 accuracy (%)"
    er = axes[0]
    assert not [p for p in er.patches if p.get_height() > 0]  # no bars: a bar's length means something only from 0
    # sepconv3x3 only: ER(0.2) seeds 90.0, 90.5; ER(0.4) 91.0, 91.5 -> diamonds at the means
    means = [line for line in er.get_lines() if line.get_marker() == "D"][0]
    assert list(means.get_ydata()) == pytest.approx([90.25, 91.25])
    assert [t.get_text() for t in er.get_xticklabels()] == ["ER(0.2)\nn=2", "ER(0.4)\nn=2"]
    caps = [seg for coll in er.collections if hasattr(coll, "get_segments") for seg in coll.get_segments()]
    spans = sorted(abs(s[1][1] - s[0][1]) for s in caps)
    half = st.t.ppf(0.975, 1) * np.std([90.0, 90.5], ddof=1) / np.sqrt(2)
    assert spans == pytest.approx([2 * half] * 2)  # the 95% t interval over the two networks
    dots = [c for c in er.collections if c.get_offsets().shape[0] == 2 and c.get_sizes()[0] == 9]
    assert len(dots) == 2  # every network drawn
    assert "95% t interval" in fig.get_supxlabel() and "n = 2 networks per setting" in fig.get_supxlabel()


def test_stage_graphs_one_row_per_setting(run_dir):
    from wiring_lab.graphs import generate_graph

    specs = {"a": [generate_graph("ws", 8, seed=s, k=4, p=0.5) for s in range(3)], "b": [generate_graph("er", 8, seed=1, p=0.3)]}
    fig = plots.plot_stage_graphs(specs)
    shown = [a for a in fig.axes if a.get_title()]
    assert len(shown) == 4
    assert shown[0].get_title().startswith("a: stage 0, WS(4, 0.5)")
    assert {"in", "out"} <= set(_texts(fig))
    # through the catalogue: graphs read from tables/graphs.csv (no checkpoints in run_dir)
    [outcome] = figures.render_figures(run_dir, "stage_graphs")
    assert outcome.status == "made" and outcome.path.stat().st_size > 10_000
    table_path(run_dir, "graphs").unlink()
    [outcome] = figures.render_figures(run_dir, "stage_graphs")
    assert outcome.status == "skipped" and "graphs.csv" in outcome.reason


def test_graphs_table_round_trips_every_stage_graph(tmp_path):
    from wiring_lab._io import read_table
    from wiring_lab.graphs import GraphSpec, generate_graph
    from wiring_lab.summary import graph_records, read_graph_records

    a = [generate_graph("ws", 8, seed=s, k=4, p=0.75) for s in (3, 4)]
    b = [GraphSpec("search", {"strategy": "random", "node_ops": ["conv3x3"] * 5}, None, 5, ((0, 1), (1, 4))), GraphSpec("custom", {}, None, 1)]
    write_table(pd.DataFrame(graph_records("a", a) + graph_records("b", b)), tmp_path / "graphs.csv")
    back = read_graph_records(read_table(tmp_path / "graphs.csv"))
    assert back == {"a": a, "b": b}
    models = pd.DataFrame({"model": ["b", "zzz", "a"]})
    assert list(analysis.stage_graph_sets(models, read_table(tmp_path / "graphs.csv"))) == ["b", "a"]


def test_damage_figure_shows_one_ablation_choice(run_dir):
    df = damage_table().assign(ablation="drop")
    zero = df[df["kind"] == "node"].assign(ablation="zero", delta_top1=-50.0)
    write_table(pd.concat([df, zero], ignore_index=True), table_path(run_dir, "damage"))
    [outcome] = figures.render_figures(run_dir, "damage")
    assert outcome.status == "made"
    shown, note = analysis.default_choice(pd.concat([df, zero], ignore_index=True))
    assert set(shown["ablation"]) == {"drop"} and len(shown) == len(df) and note.startswith("ablation drop, one of 2 choices")


def test_node_ops_lines_and_pearson():
    models = models_table()
    fig = plots.plot_node_ops(models, analysis.node_op_correlations(models))
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == OPS
    corr = analysis.node_op_correlations(models)
    # conv3x3 is sepconv3x3 minus 2 pp in every setting: perfectly correlated
    assert corr["pearson_r"].iloc[0] == pytest.approx(1.0)
    assert any("r(sepconv3x3, conv3x3) = 1.00" in t for t in _texts(fig))


def test_ws_curves_normalised_log_axis_with_spread():
    curves = analysis.ws_curves(population_table())
    fig = plots.plot_ws_curves(curves)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    c, l = [line for line in ax.get_lines() if line.get_marker() in ("s", "o")]
    assert list(c.get_xdata()) == [0.01, 0.1, 1.0]  # P = 0 is the reference, not a point on a log axis
    assert c.get_ydata()[-1] == pytest.approx(0.005 / 0.505)
    assert l.get_ydata()[0] == pytest.approx((2 + 2 * 0.99**10) / 4.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["C(P) / C(0)", "L(P) / L(0)"]
    # the spread: quartiles of each graph's C / mean C(0); at P = 1 the two graphs have C 0 and 0.01
    last = curves.iloc[-1]
    assert last["C/C(0) q25"] == pytest.approx(0.0025 / 0.505) and last["C/C(0) q75"] == pytest.approx(0.0075 / 0.505)
    assert "bar: 25-75% of graphs" in _texts(fig)[-1] or any("25-75%" in t for t in _texts(fig))
    with pytest.raises(UserError, match="P=0"):
        analysis.ws_curves(population_table().query("p > 0"))


def test_cl_heatmap_marks_best():
    models = models_table()
    joined = analysis.models_with_cl(models, stage_metrics_table(models))
    fig = plots.plot_cl_heatmap(joined)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "average clustering coefficient C"
    assert "mean top-1 accuracy (%)" in [a.get_ylabel() for a in fig.axes]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    best = joined.loc[joined["top1"].idxmax()]
    assert labels[1] == f"best: {best['setting']}, {best['top1']:.1f}%"
    star = ax.collections[-1].get_offsets()[0]
    assert tuple(star) == pytest.approx([best["avg_clustering"], best["avg_path_length"]])


def test_error_edf_legend_counts():
    fig = plots.plot_error_edf(models_table())
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    # ER: 8 networks, errors 10 - i + 2 j - 0.5 s over i in {0, 1}
    er = 100 - models_table().query("generator == 'er'")["top1"]
    assert labels[0] == f"ER: 8 | {er.min():.2f} | {er.mean():.2f}"
    assert len(labels) == 3 and ax.get_ylabel() == "cumulative prob."
    assert ax.get_lines()[0].get_ydata()[-1] == pytest.approx(1.0)


def test_attack_random_vs_targeted():
    fig = plots.plot_attack(attack_table())
    axes = fig.axes
    assert len(axes) == 2 and axes[0].get_xlabel() == "nodes removed (%)"
    labels = [t.get_text() for t in axes[-1].get_legend().get_texts()]
    assert labels == ["random", "degree (targeted)"]
    random_line = axes[0].get_lines()[0]
    assert list(random_line.get_xdata()) == [0, 25, 50]
    assert random_line.get_ydata()[1] == pytest.approx(95 - 25 - 0.5)  # mean of the two repeats


def test_learning_curves_losses_on_their_own_axes():
    models = models_table()
    fig = plots.plot_learning_curves(history_table(models), models)
    train_ax, test_ax, acc_ax = fig.axes
    assert [len(a.get_lines()) for a in (train_ax, test_ax)] == [5, 5] and len(acc_ax.get_lines()) == 5
    assert train_ax.get_ylabel() == "train loss" and test_ax.get_ylabel() == "test loss" and acc_ax.get_xlabel() == "epoch"
    assert "label-smoothed, mean over the epoch's batches" in train_ax.get_title() and "no smoothing" in test_ax.get_title()
    labels = [t.get_text() for t in acc_ax.get_legend().get_texts()]
    assert labels == ["ER (2 nets)", "BA (1 net)", "WS (2 nets)"]
    val = history_table(models).rename(columns={"test_loss": "val_loss", "test_top1": "val_top1"})
    assert plots.plot_learning_curves(val, models).axes[1].get_ylabel() == "validation loss"


def test_render_all_and_skip_lines(run_dir, tmp_path):
    lines = []
    outcomes = figures.render_figures(run_dir, "all", out=tmp_path / "out", fmt="svg", echo=lines.append)
    assert {o.name for o in outcomes if o.status == "made"} == set(figures.list_figures()) - {"error_edf"}  # 8 ER networks < 10
    assert all(o.path.suffix == ".svg" and o.path.stat().st_size > 0 for o in outcomes if o.status == "made")
    table_path(run_dir, "damage").unlink()
    lines = []
    outcomes = figures.render_figures(run_dir, ["damage", "metric_vs_damage", "ws_curves"], echo=lines.append)
    assert [o.status for o in outcomes] == ["skipped", "skipped", "made"]
    assert lines[0].startswith("skipped damage: needs tables/damage.csv, which is missing; make it with: wiring-lab damage")


def test_not_enough_data_is_skipped(run_dir):
    models = models_table().query("node_op == 'sepconv3x3' and seed == 0")
    write_table(models, table_path(run_dir, "models"))
    out = {o.name: o for o in figures.render_figures(run_dir, ["node_ops", "cl_heatmap", "error_edf", "generator_sweep"])}
    assert out["node_ops"].status == "skipped" and "wiring-lab ablate" in out["node_ops"].reason
    assert out["cl_heatmap"].status == "skipped" and "at least" in out["cl_heatmap"].reason
    assert out["error_edf"].status == "skipped" and "at least 10 networks of one generator (has 2)" in out["error_edf"].reason
    assert out["generator_sweep"].status == "made"


def test_recipes_documented():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "figures"
    for name, recipe in figures.RECIPES.items():
        assert (root / f"{name}.md").read_text() == figures.recipe_markdown(recipe), f"figures/{name}.md is stale: write figures.recipe_markdown(get_recipe({name!r})) to it"
    renders = sorted(p.name for p in root.glob("demo_*.png"))
    assert (root / "README.md").read_text() == figures.catalogue_markdown(renders), "figures/README.md is stale"


def test_figures_cli(run_dir, tmp_path):
    runner = CliRunner()
    assert all(name in runner.invoke(app, ["figures", "--help"], env={"COLUMNS": "400"}).output for name in figures.list_figures())
    res = runner.invoke(app, ["figures", "ws_curves", "--from", str(run_dir), "--out", str(tmp_path / "f"), "--format", "pdf"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "f" / "ws_curves.pdf").read_bytes()[:4] == b"%PDF"
    res = runner.invoke(app, ["figures", "nope", "--from", str(run_dir), "--out", str(tmp_path / "f")])
    assert res.exit_code == 2 and "unknown figure 'nope'" in res.output
    table_path(run_dir, "attack").unlink()
    res = runner.invoke(app, ["figures", "attack", "--from", str(run_dir), "--out", str(tmp_path / "f")])
    assert res.exit_code == 0 and "skipped attack: needs tables/attack.csv" in res.output


def test_bad_table_fails_one_figure_skips_among_many(run_dir):
    write_table(pd.DataFrame({"model": ["a"], "epoch": [1]}), table_path(run_dir, "history"))
    with pytest.raises(UserError, match="learning curves: table lacks column"):
        figures.render_figures(run_dir, "learning_curves")
    out = {o.name: o for o in figures.render_figures(run_dir, ["learning_curves", "ws_curves"])}
    assert out["learning_curves"].status == "skipped" and "lacks column(s) train_loss" in out["learning_curves"].reason
    assert out["ws_curves"].status == "made"


def test_bad_tables_are_user_errors():
    with pytest.raises(UserError, match="lacks column"):
        damage_plots.plot_damage(pd.DataFrame({"generator": ["er"], "kind": ["node"]}))
    with pytest.raises(UserError, match="format"):
        figures.render_figures(".", "damage", fmt="jpg")
    constant = pd.DataFrame({"model": ["a"] * 4, "generator": ["er"] * 4, "a": [1, 1, 1, 1], "delta_top1": [1.0, 2, 3, 4]})
    per, summary = analysis.network_rank_correlations(constant, ["a"])
    assert math.isnan(per["r"].iloc[0]) and summary["n_networks"].iloc[0] == 0  # no coefficient for a constant metric


def test_report_inlines_figures_and_summarises_tables(run_dir, monkeypatch):
    from wiring_lab import report

    outcomes = figures.render_figures(run_dir, ["ws_curves", "node_ops", "attack"])
    table_path(run_dir, "attack").unlink()
    skipped = figures.render_figures(run_dir, ["attack"])
    monkeypatch.setattr(report, "MAX_ROWS", 10)  # the damage table (22 rows) is summarised
    timings = [{"step": "x", "seconds": 1.0}, {"step": "y", "seconds": 0.5}]
    assert "total 2.5 s" in report.write_report(run_dir, timings=timings + [{"step": "total", "seconds": 2.5}]).read_text()
    path = report.write_report(run_dir, config={"demo": {"channels": 4}}, timings=timings,
                               outcomes=outcomes + skipped)
    html = path.read_text()
    assert html.count('src="data:image/png;base64,') == 3
    assert "skipped" in html and "tables/attack.csv, which is missing" in html
    assert "Δ top-1 (pp) per network and kind of removal" in html and "total 1.5 s" in html
    assert "&quot;channels&quot;: 4" in html


def test_figures_console_script(run_dir, tmp_path):
    import subprocess
    import sys

    table_path(run_dir, "damage").unlink()
    cmd = [sys.executable, "-m", "wiring_lab", "figures", "damage", "--from", str(run_dir), "--out", str(tmp_path / "f")]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.startswith("skipped damage: needs tables/damage.csv")
    res = subprocess.run(cmd[:6] + [str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and res.stderr.strip() == f"error: {tmp_path / 'nowhere'}: no such run directory"


# --- no global matplotlib state; ax= and palette= like seaborn ----------------------------------
def _stage_specs():
    from wiring_lab.graphs import generate_graph

    return {"a": [generate_graph("ws", 8, seed=s, k=4, p=0.5) for s in range(3)], "b": [generate_graph("er", 8, seed=1, p=0.3)]}


def _cl_population():
    rng = np.random.default_rng(2)
    return pd.DataFrame({"setting": "x", "sample": np.arange(200), "avg_clustering": rng.random(200),
                         "avg_path_length": 2 + rng.random(200), "n_components": 1})


def _plot_cases():
    """name -> (draw(**kw) from small fixed tables, panels drawn): every public plot function of
    wiring_lab.plots, the stage drawing and the C-L plane."""
    from wiring_lab.cl_sampling import plot_cl_plane, select_cl
    from wiring_lab.compare import compare_networks
    from wiring_lab.drawing import draw_stage
    from wiring_lab.graphs import generate_graph

    models = models_table()
    pop = _cl_population()
    return {
        "plot_generator_sweep": (lambda **kw: plots.plot_generator_sweep(models, **kw), 3),
        "plot_stage_graphs": (lambda **kw: plots.plot_stage_graphs(_stage_specs(), **kw), 6),
        "plot_node_ops": (lambda **kw: plots.plot_node_ops(models, analysis.node_op_correlations(models), **kw), 1),
        "plot_ws_curves": (lambda **kw: plots.plot_ws_curves(analysis.ws_curves(population_table()), **kw), 1),
        "plot_cl_heatmap": (lambda **kw: plots.plot_cl_heatmap(analysis.models_with_cl(models, stage_metrics_table(models)), **kw), 1),
        "plot_error_edf": (lambda **kw: plots.plot_error_edf(models, **kw), 1),
        "plot_attack": (lambda **kw: plots.plot_attack(attack_table(), **kw), 2),
        "plot_learning_curves": (lambda **kw: plots.plot_learning_curves(history_table(models), models, **kw), 3),
        "plot_search_progress": (lambda **kw: plots.plot_search_progress(analysis.search_progress(search_history_table()), **kw), 1),
        "plot_search_edf": (lambda **kw: plots.plot_search_edf(analysis.search_populations(search_history_table(), None), **kw), 1),
        "plot_accuracy_vs_macs": (lambda **kw: plots.plot_accuracy_vs_macs(models, compare_networks(models), **kw), 1),
        "draw_stage": (lambda **kw: draw_stage(generate_graph("ba", 8, seed=0, m=2), **kw), 1),
        "plot_cl_plane": (lambda **kw: plot_cl_plane(pop, select_cl(pop, bins=3, per_bin=1), **kw), 1),
    }


CASES = list(_plot_cases())


def _damage_cases():
    """The damage figures (wiring_lab.damage_plots): held to the same no-global-state rule."""
    joined = analysis.node_damage_table(damage_table(), node_metrics_table())
    return {"plot_damage": lambda: damage_plots.plot_damage(damage_table()),
            "plot_metric_vs_damage": lambda: damage_plots.plot_metric_vs_damage(joined, ["out_degree_graph"]),
            "plot_slope_forest": lambda: damage_plots.plot_slope_forest(*analysis.damage_slopes(damage_table()))}


def test_cases_cover_every_plot_function():
    public = {n for n in dir(plots) if n.startswith("plot_") and callable(getattr(plots, n))}
    assert public and public <= set(CASES), f"add {sorted(public - set(CASES))} to _plot_cases"


@pytest.mark.parametrize("name", CASES + ["plot_damage", "plot_metric_vs_damage", "plot_slope_forest"])
def test_plots_leave_global_matplotlib_state_alone(name):
    """A notebook's backend, rcParams and pyplot figures are the same after any plot call; a value
    the user set survives, and the figure still gets the paper style, not the user's value."""
    import matplotlib.pyplot as plt

    draw = _plot_cases()[name][0] if name in CASES else _damage_cases()[name]
    with matplotlib.rc_context({"axes.facecolor": "#123456", "xtick.labelsize": 20.0}):
        before, backend, open_figs = matplotlib.rcParams.copy(), matplotlib.get_backend(), plt.get_fignums()
        fig = draw()
        assert matplotlib.get_backend() == backend and plt.get_fignums() == open_figs  # pyplot never saw the figure
        changed = {k for k in before if matplotlib.rcParams[k] != before[k]}
        assert not changed, f"{name} changed rcParams {sorted(changed)}"
        assert matplotlib.rcParams["axes.facecolor"] == "#123456"
        fig.canvas.draw()  # rendered after the call, as a notebook does: the style stays the figure's own
        ax = fig.axes[0]
        if name != "plot_stage_graphs" and name != "draw_stage":  # drawings have no axis
            assert matplotlib.colors.to_hex(ax.get_facecolor()) == "#ffffff"
            assert ax.xaxis.get_major_ticks()[0].label1.get_fontsize() < 12


@pytest.mark.parametrize("name", CASES)
def test_ax_draws_into_the_callers_axes(name):
    from matplotlib.figure import Figure

    draw, panels = _plot_cases()[name]
    user = Figure(figsize=(9, 3))
    user.suptitle("my figure")
    axes = user.subplots(1, panels, squeeze=False)[0]
    fig = draw(ax=axes[0] if panels == 1 else axes)
    assert fig is user
    assert user.get_suptitle() == "my figure" and user.get_supxlabel() == ""  # figure-level labels left to the caller
    assert [a for a in user.axes if a.get_label() != "<colorbar>"] == list(axes)  # no panel added
    for a in axes:
        drew = a.lines or a.collections or a.patches or a.texts or a.images
        assert drew or (name == "plot_stage_graphs" and not a.axison), f"{name}: nothing drawn on a caller's axes"
    if name == "plot_stage_graphs":
        assert [bool(a.collections) for a in axes] == [True] * 4 + [False] * 2  # row a: 3 stages, row b: 1 of 3
    wrong = Figure().subplots(1, panels + 1)
    with pytest.raises(UserError, match=f"draws {panels} panel\\(s\\); pass ax= with exactly that many Axes \\(got {panels + 1}\\)"):
        draw(ax=wrong)


def test_plots_never_switch_backend_without_a_display(monkeypatch, tmp_path):
    """No $DISPLAY and an interactive backend named: the functions neither call matplotlib.use nor
    pyplot (either would raise here), and save_figure still writes every format."""
    import matplotlib.pyplot as plt

    def refuse(*args, **kwargs):
        raise AssertionError("a plot function switched the backend")

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setitem(matplotlib.rcParams, "backend", "TkAgg")
    monkeypatch.setattr(matplotlib, "use", refuse)
    monkeypatch.setattr(plt, "switch_backend", refuse)
    monkeypatch.setattr(plt, "figure", refuse)
    for name in CASES:
        fig = _plot_cases()[name][0]()
        assert matplotlib.get_backend().lower() == "tkagg"
    for fmt in plots.FORMATS:
        assert plots.save_figure(fig, tmp_path / f"x.{fmt}").stat().st_size > 1000


def test_save_figure_settings_are_its_own(tmp_path):
    """PNG at 200 dpi with a tight box, SVG and PDF with editable text, while the global rcParams keep matplotlib's defaults."""
    from PIL import Image

    fig = plots.plot_error_edf(models_table())
    assert matplotlib.rcParams["svg.fonttype"] == "path" and matplotlib.rcParams["pdf.fonttype"] == 3
    png = plots.save_figure(fig, tmp_path / "e.png")
    fig.savefig(tmp_path / "ref.png", dpi=100, bbox_inches="tight")
    (width, height), (w100, h100) = Image.open(png).size, Image.open(tmp_path / "ref.png").size
    assert abs(width - 2 * w100) <= 3 and abs(height - 2 * h100) <= 3  # 200 dpi, the same tight box
    assert (w100, h100) != (620, 320)  # tight: the box is the drawing's (the legend sits outside the axes), not the figure's
    assert "<text" in plots.save_figure(fig, tmp_path / "e.svg").read_text()
    assert b"/FontFile2" in plots.save_figure(fig, tmp_path / "e.pdf").read_bytes()  # TrueType (Type 42), not Type 3
    assert oct(png.stat().st_mode & 0o777) == "0o644"
    with pytest.raises(UserError, match="must end in .png, .pdf or .svg"):
        plots.save_figure(fig, tmp_path / "e.jpg")


def test_palette_and_hue_like_seaborn():
    from matplotlib.colors import to_hex

    models = models_table()
    fig = plots.plot_error_edf(models, palette={"er": "red", "ba": "green", "ws": "blue"})
    assert [to_hex(line.get_color()) for line in fig.axes[0].get_lines()] == ["#ff0000", "#008000", "#0000ff"]
    fig = plots.plot_error_edf(models, hue="node_op", palette=["black", "orange"])
    labels = [t.get_text().split(":")[0] for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["conv3x3", "sepconv3x3"] and to_hex(fig.axes[0].get_lines()[0].get_color()) == "#000000"
    fig = plots.plot_learning_curves(history_table(models), models, hue="setting", palette="dark")
    assert [t.get_text() for t in fig.axes[2].get_legend().get_texts()][0] == "BA(2) (1 net)"
    fig = plots.plot_node_ops(models, analysis.node_op_correlations(models), palette={"sepconv3x3": "red", "conv3x3": "blue"})
    assert [to_hex(line.get_color()) for line in fig.axes[0].get_lines()] == ["#ff0000", "#0000ff"]
    with pytest.raises(UserError, match="palette 'no-such-palette'"):
        plots.plot_attack(attack_table(), palette="no-such-palette")
    with pytest.raises(UserError, match="learning curves: table lacks column\\(s\\) nope"):
        plots.plot_learning_curves(history_table(models), models, hue="nope")


def test_a_notebook_keeps_its_backend_theme_and_later_plots(tmp_path, monkeypatch):
    """The report of issue 25: in a notebook without $DISPLAY, a wiring-lab figure shows inline once,
    and the user's inline backend, seaborn theme and later plots are as before."""
    import json
    import sys

    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / "wiring-lab-plots"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                                  "display_name": "plots test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND"):
        monkeypatch.delenv(var, raising=False)
    cells = [
        "%matplotlib inline\nimport matplotlib, matplotlib.pyplot as plt, pandas as pd, seaborn as sns\n"
        "sns.set_theme(style='darkgrid')\nbackend, face = matplotlib.get_backend(), plt.rcParams['axes.facecolor']",
        "from wiring_lab.plots import plot_error_edf\n"
        "plot_error_edf(pd.DataFrame({'generator': ['er'] * 3 + ['ws'] * 3, 'top1': [90.0, 91, 92, 93, 92.5, 94]}))",
        "assert (matplotlib.get_backend(), plt.rcParams['axes.facecolor']) == (backend, face), (matplotlib.get_backend(), backend)\n"
        "plt.plot([1, 2, 3])\nprint(backend, face)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, kernel_name="wiring-lab-plots", timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    images = [[o for o in c.outputs if "image/png" in o.get("data", {})] for c in nb.cells]
    assert [len(i) for i in images] == [0, 1, 1]  # the returned figure once, and the user's own plot after it
    assert nb.cells[2].outputs[0]["text"].strip() == "inline #EAEAF2"
