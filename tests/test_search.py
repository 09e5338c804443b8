"""Search as a network generator: valid wirings, mutations, the controller, resume and determinism."""

from __future__ import annotations

import dataclasses
import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from wiring_lab._io import UserError
from wiring_lab.cli import app
from wiring_lab.graphs import GraphSpec, generate_graph
from wiring_lab.loading import load_checkpoint
from wiring_lab.model import ModelConfig, build_model, get_node_op, list_node_ops
from wiring_lab.search.config import SearchConfig
from wiring_lab.search.evolution import (
    Evolution,
    mutate_hierarchy,
    mutate_wiring,
    sample_hierarchy,
)
from wiring_lab.search.random import RandomSearch
from wiring_lab.search.reinforce import Reinforce
from wiring_lab.search.runner import run_search, search_summary
from wiring_lab.search.space import (
    SearchSpace,
    Wiring,
    sample_generator_setting,
    sample_wiring,
    wiring_from_specs,
)

OPS = tuple(list_node_ops())


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks and the controller run fastest on one CPU thread (and never stall on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
TINY = dict(channels=4, nodes=5, head_channels=16, epochs=1, train_limit=192, batch_size=64)


def _config(n: int) -> ModelConfig:
    return ModelConfig(regime="digits", channels=4, nodes=n, generator="search", num_classes=10, in_channels=1, head_channels=16)


def _assert_builds(w: Wiring, n: int) -> None:
    """Every stage is a DAG with edges low -> high, and the network runs a forward pass."""
    specs = w.to_specs({"strategy": "test"}, seed=0)
    for spec in specs:
        dag = spec.to_dag()
        assert nx.is_directed_acyclic_graph(dag)
        assert all(u < v for u, v in spec.edges)
        # every generated node lies on an input -> output path
        assert all(nx.has_path(dag, n, v) and nx.has_path(dag, v, n + 1) for v in range(n))
    model = build_model(_config(n), specs).eval()
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    if w.ops is not None:  # each node runs its own op
        for s, stage in enumerate(model.stages):
            for v, node in enumerate(stage.nodes):
                assert _op_kind(node.op) == _op_kind(get_node_op(w.ops[s][v])(4, 4, 1))


def _op_kind(m: torch.nn.Module) -> tuple[str, ...]:
    return tuple(type(c).__name__ for c in m) if isinstance(m, torch.nn.Sequential) else (type(m).__name__,)


def test_every_sampled_wiring_is_a_valid_dag_that_builds():
    space = SearchSpace(nodes=6, stages=3, ops=OPS)
    samplers = [
        lambda s: sample_wiring(space, s),
        lambda s: RandomSearch(space, s).propose(1)[0].wiring,
        lambda s: Reinforce(space, s).propose(1)[0].wiring,
        lambda s: sample_hierarchy(space, 2, 3, np.random.default_rng(s)).flatten(3),
    ]
    for sampler in samplers:
        for seed in range(2):
            w = sampler(seed)
            assert len(w.inputs) == 3 and all(len(stage) == 6 for stage in w.inputs)
            _assert_builds(w, 6)
    # random search over generator parameters gives settings the generators accept
    for seed in range(30):
        gen, params = sample_generator_setting(6, seed)
        assert generate_graph(gen, 6, seed=seed, **params).n == 6


def test_wiring_round_trips_through_graph_specs_and_json():
    w = sample_wiring(SearchSpace(nodes=7, stages=2, ops=OPS), 3)
    assert wiring_from_specs(w.to_specs()) == w
    assert Wiring.from_dict(json.loads(json.dumps(w.to_dict()))) == w
    specs = [GraphSpec.from_dict(json.loads(json.dumps(s.to_dict()))) for s in w.to_specs()]
    assert wiring_from_specs(specs) == w


def test_invalid_wirings_are_refused():
    with pytest.raises(ValueError, match="lower than"):
        Wiring((((), (1,)),))
    with pytest.raises(ValueError, match="node_ops"):
        build_model(_config(2), [GraphSpec("search", {"node_ops": ["sepconv3x3"]}, 0, 2, ((0, 1),))] * 3)


def test_mutations_keep_validity_and_change_one_decision():
    rng = np.random.default_rng(0)
    space = SearchSpace(nodes=6, stages=3, ops=OPS)
    w = sample_wiring(space, 1)
    kinds = set()
    for _ in range(150):
        child, kind = mutate_wiring(w, rng, OPS)
        kinds.add(kind)
        before = {(s, e) for s in range(3) for e in w.edges(s)}
        after = {(s, e) for s in range(3) for e in child.edges(s)}
        changed_ops = sum(a != b for s in range(3) for a, b in zip(w.ops[s], child.ops[s]))
        expected = {"add-edge": (1, 0), "remove-edge": (1, 0), "rewire-edge": (2, 0), "change-op": (0, 1)}[kind]
        assert (len(before ^ after), changed_ops) == expected
        w = child
    assert kinds == {"add-edge", "remove-edge", "rewire-edge", "change-op"}
    _assert_builds(w, 6)
    h = sample_hierarchy(space, 3, 2, rng)
    for _ in range(60):
        h, kind = mutate_hierarchy(h, rng, OPS)
        assert kind.split("-")[0] in ("motif", "top", "slot")
    _assert_builds(h.flatten(3), 6)


def test_evolution_tournament_mutates_the_best_and_replaces_the_oldest_or_worst():
    space = SearchSpace(nodes=5, stages=1)
    for replace in ("oldest", "worst"):
        evo = Evolution(space, 0, population=4, tournament=4, replace=replace)
        first = evo.propose(8)
        assert len(first) == 4 and all(p.parent is None for p in first)  # the initial population
        evo.observe(first, [0.1, 0.9, 0.3, 0.2])
        kids = evo.propose(2)
        assert [k.parent for k in kids] == [1, 1]  # tournament over everyone: the best, child 1
        evo.observe(kids, [0.05, 0.5])
        members = evo.state_dict()["members"]
        assert members == ([2, 3, 4, 5] if replace == "oldest" else [1, 2, 3, 5])


def test_controller_raises_the_probability_of_a_better_rewarded_choice():
    space = SearchSpace(nodes=4, stages=1, ops=("sepconv3x3", "conv3x3"))
    strat = Reinforce(space, seed=0, hidden=16, lr=0.05)
    probe = Wiring((((), (0,), (0, 1), (0, 2)),), (("sepconv3x3", "sepconv3x3", "conv3x3", "sepconv3x3"),))

    def probs() -> tuple[float, float]:
        d = strat.controller.decision_probs(probe)  # per node: op probs, then (v > 0) its edge probs
        return float(d[3][1]), float(d[6][0])  # node 2 picks conv3x3; node 3 takes input 0

    op0, edge0 = probs()
    for _ in range(12):
        kids = strat.propose(6)
        strat.observe(kids, [0.5 * (k.wiring.ops[0][2] == "conv3x3") + 0.5 * (0 in k.wiring.inputs[0][3]) for k in kids])
    op1, edge1 = probs()
    assert op1 > op0 + 0.15 and edge1 > edge0 + 0.15


def _history(run_dir) -> pd.DataFrame:
    df = pd.read_csv(run_dir / "tables" / "search_history.csv")
    return df.drop(columns=["seconds", "checkpoint"])


def test_search_resumes_without_retraining_and_same_seed_gives_same_history(tmp_path):
    cfg = SearchConfig.from_flat(strategy="reinforce", budget=4, batch=2, seed=3, search_ops=True, **TINY)
    full = run_search(cfg, tmp_path / "a", device="cpu", progress=False)
    assert list(full["child"]) == [0, 1, 2, 3] and list(full["round"]) == [0, 0, 1, 1]
    # a search stopped after its first round (as by a kill), then run again to the full budget
    run_search(dataclasses.replace(cfg, budget=2), tmp_path / "b", device="cpu", progress=False)
    ckpts = sorted((tmp_path / "b" / "checkpoints").glob("*.pt"))
    stamps = {p.name: p.stat().st_mtime_ns for p in ckpts}
    assert len(stamps) == 2
    run_search(cfg, tmp_path / "b", device="cpu", progress=False)
    assert all(p.stat().st_mtime_ns == stamps[p.name] for p in ckpts)  # finished children not retrained
    pd.testing.assert_frame_equal(_history(tmp_path / "a"), _history(tmp_path / "b"))
    # a child killed mid-training (no result yet) is trained again, the others are not
    (last,) = (tmp_path / "b" / "search" / "reinforce-s3" / "results").glob("reinforce-s3-003-*.json")  # NAME-DIGEST.json
    last.unlink()
    stamps = {p.name: p.stat().st_mtime_ns for p in ckpts}
    run_search(cfg, tmp_path / "b", device="cpu", progress=False)
    assert all(p.stat().st_mtime_ns == stamps[p.name] for p in ckpts)
    pd.testing.assert_frame_equal(_history(tmp_path / "a"), _history(tmp_path / "b"))
    # every child is a normal checkpoint that rebuilds with its searched graphs and node ops
    row = full.iloc[3]
    ckpt = load_checkpoint(tmp_path / "a" / "checkpoints" / f"{row['model']}.pt")
    assert ckpt.config.generator == "search" and all(g.generator == "search" for g in ckpt.graphs)
    assert wiring_from_specs(ckpt.graphs).to_dict() == json.loads(row["wiring"])
    assert ckpt.metadata["final"]["test_top1"] == pytest.approx(row["test_top1"])
    models = pd.read_csv(tmp_path / "a" / "tables" / "models.csv")
    assert set(models["model"]) == set(full["model"]) and set(models["setting"]) == {"SEARCH(reinforce)"}
    # damage applies unchanged to a searched child (per-node ops included): cached engine == naive
    from wiring_lab.damage import DamageConfig, damage_sweep

    fast = damage_sweep(ckpt, DamageConfig(remove="both", bootstrap=10, limit=120), device="cpu", progress=False)
    naive = damage_sweep(ckpt, DamageConfig(remove="both", bootstrap=10, limit=120, naive=True), device="cpu", progress=False)
    assert len(fast) == 1 + sum(g.n + len(g.to_dag().edges) for g in ckpt.graphs)
    np.testing.assert_allclose(fast["top1"], naive["top1"])
    # and so do graph metrics, labelled with the strategy
    from wiring_lab.metrics import graph_metrics

    gm = graph_metrics(ckpt.graphs, device="cpu")
    assert len(gm) == 3 and set(gm["setting"]) == {"SEARCH(reinforce)"}
    # the controller's state is saved as tensors and plain values only
    state = torch.load(tmp_path / "a" / "search" / "reinforce-s3" / "state.pt", weights_only=True)
    assert state["updates"] == 2 and set(state["controller"]) >= {"edge_bias", "cell.weight_ih"}
    # another config in the same run folder is refused, naming what differs
    with pytest.raises(ValueError, match=r"another train\.epochs \(1\)"):
        run_search(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=2)), tmp_path / "a", device="cpu", progress=False)


def test_cli_search_writes_tables_summary_and_figures(tmp_path):
    out = tmp_path / "run"
    args = ["search", "--strategy", "generator", "--k", "4", "--p", "0.75", "--budget", "2", "--batch", "2", "--out", str(out),
            "--channels", "4", "--nodes", "5", "--head-channels", "16", "--epochs", "1", "--train-limit", "128", "--device", "cpu"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    history = pd.read_csv(out / "tables" / "search_history.csv")
    assert list(history["setting"]) == ["WS(4, 0.75)"] * 2 and history["child_seed"].nunique() == 2
    summary = pd.read_csv(out / "tables" / "search_summary.csv")
    assert summary.loc[0, "population"] == "WS(4, 0.75)" and summary.loc[0, "n"] == 2 and summary.loc[0, "best_top1_lo"] <= summary.loc[0, "best_top1"] <= summary.loc[0, "best_top1_hi"]
    assert (out / "figures" / "search_progress.png").stat().st_size > 0
    assert (out / "figures" / "search_edf.png").stat().st_size > 0
    bad = CliRunner().invoke(app, ["search", "--strategy", "annealing", "--out", str(out)])
    assert bad.exit_code == 2 and "unknown strategy" in bad.output


def test_search_plots_show_each_population():
    from wiring_lab.analysis import search_populations, search_progress
    from wiring_lab.plots import plot_search_edf, plot_search_progress

    history = pd.DataFrame({
        "run": ["random-s0"] * 3 + ["evolution-s0"] * 3, "search_seed": 0, "child": [0, 1, 2] * 2,
        "model": [f"m{i}" for i in range(6)], "best_val_so_far": [50, 60, 60, 40, 70, 80],
        "test_top1": [49.0, 61.0, 55.0, 41.0, 69.0, 79.0],
    })  # fmt: skip
    models = pd.DataFrame({"model": ["w0", "w1", "m0"], "generator": ["ws", "ws", "search"],
                           "setting": ["WS(4, 0.75)"] * 2 + ["SEARCH(random)"], "top1": [70.0, 72.0, 49.0]})
    fig = plot_search_progress(search_progress(history))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "children trained" and len(ax.lines) >= 2
    pops = search_populations(history, models)
    assert sorted(pops["population"].unique()) == ["WS(4, 0.75) (models.csv)", "evolution", "random"]
    fig = plot_search_edf(pops)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0].startswith("WS(4, 0.75) (models.csv): 2 | 28.00") and len(fig.axes[0].lines) == 3
    assert [line.get_linestyle() for line in fig.axes[0].lines] == ["--", "-", "-"]  # generator populations dashed


def test_search_summary_intervals_bracket_the_estimates():
    history = pd.DataFrame({
        "run": "random-s0", "strategy": "random", "search_seed": 0, "child": range(6), "model": [f"m{i}" for i in range(6)],
        "val_top1": [50, 90, 60, 70, 65, 55], "test_top1": [52.0, 88.0, 61.0, 71.0, 66.0, 50.0], "n_test": 100,
    })  # fmt: skip
    s = search_summary(history).iloc[0]
    assert s["best_model"] == "m1" and s["best_top1"] == 88.0 and s["median_top1"] == 63.5
    assert s["best_top1_lo"] < 88.0 < s["best_top1_hi"] and s["median_top1_lo"] <= 63.5 <= s["median_top1_hi"]


def test_search_study_file_has_demo_and_paper_scales():
    from pathlib import Path

    from wiring_lab.study import load_search_study

    path = Path(__file__).resolve().parents[1] / "ablations" / "search_vs_random.yaml"
    demo, paper = load_search_study(path, "demo"), load_search_study(path, "paper")
    for runs in (demo, paper):
        assert {c.strategy for c in runs} == {"random", "evolution", "reinforce", "generator"}
        assert len({c.budget for c in runs}) == 1  # every population has the same number of trained networks
        ws = [c for c in runs if c.strategy == "generator"]
        assert len(ws) == 1 and ws[0].generator == "ws" and ws[0].params == {"k": 4, "p": 0.75}
    assert all(c.train.dataset == "digits" and c.channels <= 16 and c.nodes <= 16 for c in demo)  # a laptop-CPU job
    assert all(c.train.epochs >= 30 for c in paper)
    with pytest.raises(ValueError, match=r"search_vs_random.yaml:\d+: no scale 'huge'"):
        load_search_study(path, "huge")


@pytest.mark.parametrize("text, match", [
    ("name: s\nscales:\n  demo:\n    runs:\n      - {strategy: random}\n      - {strategy: random, colour: red}\n", r":6: scales\.demo\.runs\[1\]: unknown key 'colour'"),
    ("name: s\nscales:\n  demo:\n    common: {budget: -1}\n    runs:\n      - {strategy: random}\n", r":6: scales\.demo\.runs\[0\]: budget must be an integer in \[1, 1000000\]"),
    ("name: s\nscales:\n  demo:\n    runs:\n      - {strategy: random}\n      - {strategy: random}\n", r":6: scales\.demo: two runs are both named 'random-s0'"),
    ("a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
     "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n", "too many YAML values"),
])
def test_search_study_errors_name_file_and_line(tmp_path, text, match):
    from wiring_lab.study import load_search_study

    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=match):
        load_search_study(path, "demo")


def test_a_childs_reward_is_its_accuracy_on_the_search_hold_out(tmp_path):
    """A child trains as a study's network does (the train task), holding out the search's
    val_fraction (split seed 0) of its training images; the reward is top-1 on that hold-out."""
    import torch

    from wiring_lab.evaluate import evaluate
    from wiring_lab.search.config import TRAIN_FIELDS, SearchConfig
    from wiring_lab.tasks import task_data
    from wiring_lab.train import split_validation

    assert "val_fraction" not in TRAIN_FIELDS and "val_seed" not in TRAIN_FIELDS  # one knob: the search's
    cfg = SearchConfig.from_flat(strategy="random", budget=1, batch=1, seed=0, **{**TINY, "val_fraction": 0.3})
    assert cfg.train.val_fraction == 0.0 and SearchConfig().train.val_fraction == 0.0
    child = cfg.train_config(7)
    assert (child.val_fraction, child.val_seed, child.seed) == (0.3, 0, 7)
    hist = run_search(cfg, tmp_path, device="cpu", progress=False)
    ckpt = load_checkpoint(tmp_path / "checkpoints" / f"{hist['model'][0]}.pt", device="cpu")
    _, val = split_validation(task_data("digits", None, None, {"train": 192}), 0.3, 0)
    torch.manual_seed(0)
    reward = evaluate(ckpt.model, val, torch.device("cpu"))
    assert hist["n_val"][0] == len(val) == round(0.3 * 192)
    assert hist["val_top1"][0] == pytest.approx(reward.top1) and hist["test_top1"][0] == pytest.approx(ckpt.metadata["final"]["test_top1"])
    # the hold-out, drawn independently with scikit-learn from the first 192 digits training
    # images (stratified, seed 0), and the child's predictions on it counted by hand
    from sklearn.model_selection import train_test_split

    from wiring_lab.data import load_dataset

    x, y = load_dataset("digits").train.tensors
    x, y = x[:192], y[:192]
    _, held = train_test_split(np.arange(192), test_size=round(0.3 * 192), random_state=0, stratify=y.numpy())
    with torch.no_grad():
        pred = ckpt.model.eval()(x[np.sort(held)]).argmax(1)
    assert hist["val_top1"][0] == pytest.approx(100.0 * (pred == y[np.sort(held)]).float().mean().item())
