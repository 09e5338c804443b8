"""Random graph generators follow the paper's definitions; DAG conversion; JSON/networkx round trips."""

from __future__ import annotations

import json

import networkx as nx
import pytest

from wiring_lab.graphs import (
    GraphSpec,
    generate_graph,
    load_graph,
    save_graph,
    stage_dag,
    stage_seeds,
)


@pytest.mark.parametrize("n,m", [(32, 5), (10, 1), (8, 7), (2, 1)])
def test_ba_has_exactly_m_times_n_minus_m_edges(n, m):
    for seed in range(5):
        spec = generate_graph("ba", n, seed=seed, m=m)
        assert len(spec.edges) == m * (n - m)
        g = spec.to_networkx()
        # initial nodes 0..m-1 have no edges among themselves
        assert not any(u < m and v < m for u, v in spec.edges)
        # every added node v >= m brings exactly m edges to lower indices
        for v in range(m, n):
            assert sum(1 for u in g.neighbors(v) if u < v) == m
        # the first added node joins all m initial nodes
        assert set(g.neighbors(m)) >= set(range(m))


def test_ba_is_not_networkx_star_start():
    # networkx 3 starts from a star on m+1 nodes: node 0 then has degree >= m
    spec = generate_graph("ba", 32, seed=0, m=5)
    assert spec.to_networkx().degree(0) < 32  # sanity
    assert not any(u == 0 and v < 5 for u, v in spec.edges)


@pytest.mark.parametrize("n,k", [(32, 4), (16, 6), (10, 2)])
def test_ws_p0_is_ring_lattice(n, k):
    spec = generate_graph("ws", n, seed=3, k=k, p=0.0)
    expected = {(min(v, (v + i) % n), max(v, (v + i) % n)) for v in range(n) for i in range(1, k // 2 + 1)}
    assert set(spec.edges) == expected
    assert all(d == k for _, d in spec.to_networkx().degree())


@pytest.mark.parametrize("p", [0.1, 0.75, 1.0])
def test_ws_keeps_edge_count_and_min_degree(p):
    for seed in range(10):
        spec = generate_graph("ws", 32, seed=seed, k=4, p=p)
        assert len(spec.edges) == 32 * 4 // 2
        # rewiring keeps v's end: every node keeps at least k/2 edges
        assert min(d for _, d in spec.to_networkx().degree()) >= 2


def test_er_extremes():
    assert len(generate_graph("er", 12, seed=1, p=1.0).edges) == 12 * 11 // 2
    assert generate_graph("er", 12, seed=1, p=0.0).edges == ()


def test_er_indices_are_randomly_ordered():
    # with p=1 the relabelling is invisible; with the same pair draws, another seed gives another labelling
    a = generate_graph("er", 32, seed=0, p=0.2)
    b = generate_graph("er", 32, seed=1, p=0.2)
    assert a.edges != b.edges


def test_chain_and_complete():
    assert generate_graph("chain", 5).edges == ((0, 1), (1, 2), (2, 3), (3, 4))
    assert len(generate_graph("complete", 6).edges) == 15


def test_paper_defaults():
    assert generate_graph("er").params == {"p": 0.2}
    assert generate_graph("ba").params == {"m": 5}
    assert generate_graph("ws").params == {"k": 4, "p": 0.75}
    assert generate_graph("ws").n == 32


@pytest.mark.parametrize("gen", ["er", "ba", "ws", "chain", "complete"])
def test_same_seed_same_graph_and_dag_properties(gen):
    a = generate_graph(gen, 20, seed=7)
    b = generate_graph(gen, 20, seed=7)
    assert a == b and a.to_json() == b.to_json()
    dag = a.to_dag()
    assert nx.is_directed_acyclic_graph(dag)
    sources = [v for v in dag if dag.in_degree(v) == 0]
    sinks = [v for v in dag if dag.out_degree(v) == 0]
    assert sources == [20] and sinks == [21]  # the unique input and output nodes
    assert all(u < v for u, v in a.edges)


def test_isolated_node_is_fed_by_input_and_feeds_output():
    spec = GraphSpec("custom", {}, None, 3, ((0, 1),))
    dag = stage_dag(spec)
    assert 2 in dag.input_fed and 2 in dag.output_fed
    assert dag.input_fed == (0, 2) and dag.output_fed == (1, 2)


def test_stage_seeds_differ_and_are_stable():
    seeds = stage_seeds(0, 4)
    assert len(set(seeds)) == 4 and seeds == stage_seeds(0, 4)
    assert stage_seeds(1, 4) != seeds


def test_json_and_networkx_round_trips(tmp_path):
    spec = generate_graph("ws", 16, seed=2)
    assert GraphSpec.from_json(spec.to_json()) == spec
    assert GraphSpec.from_networkx(spec.to_networkx()) == spec
    path = save_graph(spec, tmp_path / "g.json")
    assert load_graph(path) == spec
    assert json.loads(path.read_text())["edges"][0] == list(spec.edges[0])


@pytest.mark.parametrize(
    "gen,kwargs,match",
    [
        ("er", {"p": 1.5}, r"p must be in \[0, 1\]"),
        ("er", {"p": -0.1}, r"p must be in \[0, 1\]"),
        ("ws", {"k": 3}, "even k"),
        ("ws", {"k": 32}, "2 <= k < n"),
        ("ba", {"m": 32}, "1 <= m < n"),
        ("ba", {"m": 0}, "1 <= m < n"),
        ("er", {"n": 1}, "at least 2"),
        ("xx", {}, "unknown generator"),
        ("er", {"k": 4}, "takes no parameter 'k'"),
    ],
)
def test_bad_parameters_say_what_to_do(gen, kwargs, match):
    n = kwargs.pop("n", 32)
    with pytest.raises(ValueError, match=match):
        generate_graph(gen, n, seed=0, **kwargs)


@pytest.mark.parametrize(
    "edges,match",
    [(((0, 0),), "self loop"), (((0, 1), (1, 0)), "duplicate"), (((0, 5),), "outside")],
)
def test_graphspec_rejects_bad_edges(edges, match):
    with pytest.raises(ValueError, match=match):
        GraphSpec("custom", {}, None, 3, edges)


def test_register_generator_adds_a_seeded_generator_that_networks_can_use(monkeypatch):
    import networkx as nx
    import numpy as np

    from wiring_lab import generators as GEN
    from wiring_lab import graphs as G
    from wiring_lab.model import ModelConfig, build_model, stage_graphs

    def ring_plus(n, seed, chords=1):
        """A ring plus ``chords`` seeded random chords (an independent toy generator)."""
        rng = np.random.default_rng(seed)
        g = nx.cycle_graph(n)
        while g.number_of_edges() < n + chords:
            u, v = sorted(int(x) for x in rng.choice(n, 2, replace=False))
            g.add_edge(u, v)
        return sorted(tuple(sorted(e)) for e in g.edges)

    monkeypatch.setattr(GEN._registry._REGISTRY, "generators", dict(GEN._registry._REGISTRY.generators))  # restored after the test
    G.register_generator(G.Generator("ring_plus", ring_plus, (G.Param("chords", int, 2, 0),)))
    assert "ring_plus" in G.list_generators() and "ring_plus" not in G.list_generators(batched=True)
    spec = G.generate_graph("ring_plus", 10, seed=4)
    assert spec.params == {"chords": 2} and len(spec.edges) == 12 and spec == G.generate_graph("ring_plus", 10, seed=4)
    assert G.generate_graph("ring_plus", 10, seed=4, chords=3).params == {"chords": 3}
    with pytest.raises(ValueError, match="takes no parameter 'p'"):
        G.generate_graph("ring_plus", 10, seed=4, p=0.5)
    cfg = ModelConfig(regime="digits", channels=4, nodes=6, generator="ring_plus", num_classes=10, in_channels=1, head_channels=8)
    assert [len(g.edges) for g in stage_graphs(cfg)] == [8, 8, 8]
    assert build_model(cfg).graphs == stage_graphs(cfg)
    with pytest.raises(ValueError, match="chords must be an integer"):
        G.generate_graph("ring_plus", 10, seed=4, chords=1.5)
    with pytest.raises(ValueError, match="no batched form"):
        GEN.get_generator("ring_plus", batched=True)
    with pytest.raises(ValueError, match="built in"):
        G.register_generator(G.Generator("ws", ring_plus))
    assert G.PAPER_DEFAULTS == {"er": {"p": 0.2}, "ba": {"m": 5}, "ws": {"k": 4, "p": 0.75}, "chain": {}, "complete": {}}


def test_searched_wirings_are_a_label_not_a_generator():
    from wiring_lab import graphs as G
    from wiring_lab.model import ModelConfig, stage_graphs

    assert "search" not in G.list_generators()
    with pytest.raises(ValueError, match="not sampled from a seed"):
        G.generate_graph("search", 8, seed=0)
    cfg = ModelConfig(regime="digits", channels=4, nodes=6, generator="search", params={"strategy": "evolution"}, num_classes=10, in_channels=1)
    assert cfg.params == {"strategy": "evolution"}
    with pytest.raises(ValueError, match="not sampled from a seed"):
        stage_graphs(cfg)
