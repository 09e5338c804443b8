"""The generator and ablation registries: one record per family, read the same way in every process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wiring_lab import generators as GEN
from wiring_lab.ablation import ablation_names, get_ablation, list_ablations
from wiring_lab.graphs import GraphSpec, generate_graph

ALL = [g.name for g in GEN.registered()]
ROOT = Path(__file__).resolve().parents[1]


def test_the_builtin_families_are_registered_without_importing_populations():
    code = (
        "import sys\n"
        "from wiring_lab.graphs import generate_graph, list_generators\n"
        "g = generate_graph('ws-flex', 10, seed=3, k=3.5, p=0.2)\n"
        "assert 'wiring_lab.populations' not in sys.modules and 'torch' not in sys.modules\n"
        "print(sorted(list_generators()), len(g.edges))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=_env())
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("] ")[0] + "]" == str(sorted(["er", "ba", "ws", "chain", "complete", "ws-flex"]))
    assert int(res.stdout.split("] ")[1]) == round(3.5 * 10 / 2)  # round(K N / 2) edges


@pytest.mark.parametrize("name", ALL)
def test_each_record_draws_valid_graphs_in_both_forms(name):
    gen = GEN.get_generator(name)
    params = gen.resolve()
    assert params == gen.defaults and list(params) == [p.name for p in gen.params]
    n = 12
    spec = generate_graph(name, n, seed=5)
    assert spec == generate_graph(name, n, seed=5) and spec.params == params
    adj = gen.batch(7, n, np.random.default_rng(0), **params)
    assert adj.shape == (7, n, n) and adj.dtype == bool
    assert (adj == adj.transpose(0, 2, 1)).all() and not adj[:, np.arange(n), np.arange(n)].any()
    for a in adj:  # every member is a valid stage graph
        GraphSpec(name, params, 0, n, GEN.adjacency_edges(a))
    # per-graph and batched forms draw from one distribution: same mean edge count (exact for the fixed ones)
    edges = np.mean([len(generate_graph(name, n, seed=s).edges) for s in range(40)])
    batch_edges = gen.batch(400, n, np.random.default_rng(1), **params).sum((1, 2)).mean() / 2
    assert abs(edges - batch_edges) <= (0 if not gen.random else 0.15 * batch_edges + 1)


@pytest.mark.parametrize(
    "name,params,match",
    [
        ("er", {"p": 1.5}, "p must be in [0, 1]"),
        ("ba", {"m": 0}, "BA needs 1 <= m < n"),
        ("ba", {"m": 2.5}, "m must be an integer"),
        ("ws", {"k": 3}, "even k"),
        ("ws-flex", {"k": -1.0}, "WS-flex needs 0 < k"),
        ("ws-flex", {"k": float("nan")}, "finite number k"),
        ("chain", {"p": 0.5}, "takes no parameter 'p'"),
    ],
)
def test_the_schema_refuses_bad_parameters_with_what_to_choose(name, params, match):
    with pytest.raises(ValueError, match=match.replace("[", r"\[").replace("]", r"\]")):
        GEN.get_generator(name).resolve(**params)


def test_n_dependent_bounds_and_labels():
    with pytest.raises(ValueError, match="2 ceil"):
        GEN.get_generator("ws-flex").check(6, {"k": 5.5, "p": 0.5})
    with pytest.raises(ValueError, match="choose a smaller m or a larger n"):
        generate_graph("ba", 5, seed=0, m=5)
    assert GEN.setting_label("ws", {"k": 4, "p": 0.75}) == "WS(4, 0.75)"
    assert GEN.setting_label("ws-flex", {"k": 4.5, "p": 0.75}) == "WS-FLEX(4.5, 0.75)"
    assert GEN.setting_label("chain", {}) == "chain" and GEN.setting_label("search", {"strategy": "evolution"}) == "SEARCH(evolution)"
    assert GEN.param_columns()[:3] == ["p", "k", "m"]
    with pytest.raises(ValueError, match="unknown generator 'nope'; choose one of ba, chain"):
        GEN.get_generator("nope")


def test_the_random_search_draws_what_it_drew_before_the_registry():
    from wiring_lab.search.space import sample_generator_setting

    got = [sample_generator_setting(n, s) for n in (2, 3, 8) for s in range(4)]
    assert got == [  # sampled by the hand-written version this replaced (same seeds, same settings)
        ("ba", {"m": 1}), ("er", {"p": 0.95}), ("ba", {"m": 1}), ("ba", {"m": 1}),
        ("ws", {"k": 2, "p": 0.27}), ("ba", {"m": 2}), ("ws", {"k": 2, "p": 0.3}), ("ws", {"k": 2, "p": 0.24}),
        ("ws", {"k": 4, "p": 0.27}), ("ba", {"m": 4}), ("ws", {"k": 2, "p": 0.3}), ("ws", {"k": 2, "p": 0.24}),
    ]  # fmt: skip


def test_a_new_family_is_one_record_that_populations_and_tables_read(monkeypatch):
    from wiring_lab.metrics import PopulationConfig
    from wiring_lab.populations import Population, iter_population_metrics

    monkeypatch.setattr(GEN._registry._REGISTRY, "generators", dict(GEN._registry._REGISTRY.generators))

    def star(n, seed=None, hubs=1):
        return [(h, v) for h in range(hubs) for v in range(hubs, n)]

    def batch_star(b, n, rng, hubs=1):
        adj = np.zeros((b, n, n), dtype=bool)
        adj[:, :hubs, hubs:] = adj[:, hubs:, :hubs] = True
        return adj

    GEN.register_generator(GEN.Generator("star", star, (GEN.Param("hubs", int, 1, 1),), batch=batch_star, random=False))
    assert Population("star", {"hubs": 2}, n=6, samples=3).member(1).edges == tuple(sorted(star(6, hubs=2)))
    df = next(iter_population_metrics(PopulationConfig("star", {"hubs": [1, 2]}, 6, 2, 0, "networkx", "cpu"), metrics=["avg_degree"]))
    assert "hubs" in df.columns and df["setting"].iat[0] == "STAR(1)" and df["avg_degree"].iat[0] == pytest.approx(2 * 5 / 6)
    from wiring_lab.graphs import generate_graph
    from wiring_lab.metrics import graph_metrics

    per_graph = graph_metrics(generate_graph("star", 6, seed=0, hubs=2), backend="networkx", metrics=["avg_degree"])
    assert per_graph["hubs"].iat[0] == 2 and list(per_graph.columns[:5]) == ["generator", "setting", "p", "k", "m"]


def test_ablation_records_say_what_a_removed_term_becomes():
    assert ablation_names() == ("drop", "zero", "mean")
    drop, zero, mean = list_ablations()
    assert not drop.keeps_denominator and zero.keeps_denominator and mean.keeps_denominator
    assert mean.needs_means and not zero.needs_means and not drop.needs_means
    with pytest.raises(ValueError, match="ablation must be one of drop, zero, mean"):
        get_ablation("half")


# --- every command, in a fresh process, for every registered generator ---------------------------
def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}  # tiny nets: one thread


def _script() -> str:
    script = shutil.which("wiring-lab") or (Path(sys.executable).parent / "wiring-lab")
    if not Path(script).exists():
        pytest.skip("console script not installed")
    return str(script)


def _run(*args: str) -> subprocess.CompletedProcess:
    res = subprocess.run([_script(), *args], capture_output=True, text=True, env=_env(), timeout=300)
    assert res.returncode == 0, f"{args[0]}: {res.stderr[-600:]}"
    return res


@pytest.mark.parametrize("name", ALL)
def test_generate_and_inspect_in_a_fresh_process(name, tmp_path):
    out = tmp_path / "g.json"
    _run("generate", "-g", name, "-n", "8", "--seed", "2", "--out", str(out))
    from wiring_lab.graphs import load_graph

    assert load_graph(out) == generate_graph(name, 8, seed=2)
    res = _run("inspect", "-g", name, "-n", "6", "-c", "4", "--regime", "digits", "--num-classes", "10", "--in-channels", "1", "--json")
    assert f'"generator": "{name}"' in res.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_train_inspect_damage_in_fresh_processes(name, tmp_path):
    ckpt = tmp_path / f"{name}.pt"
    _run("-q", "train", "--out", str(ckpt), "-g", name, "-n", "6", "-c", "4", "--head-channels", "8", "--epochs", "1", "--threads", "1")
    assert f'"generator": "{name}"' in _run("inspect", str(ckpt), "--json").stdout
    res = _run("damage", str(ckpt), "--limit", "30", "--sample", "2", "--stage", "0", "--bootstrap", "10", "--no-progress")
    table = tmp_path / f"{name}.damage-node.csv"
    assert table.exists() and f"writing {table}" in res.stdout
