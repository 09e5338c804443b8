"""Property-based tests (hypothesis): generators and DAG conversion over random N, P, M, K and seeds."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wiring_lab.graphs import GraphSpec, generate_graph, stage_dag

PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 2**32 - 1)
probabilities = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def any_spec(draw) -> GraphSpec:
    """A graph from any generator with valid random parameters."""
    gen = draw(st.sampled_from(["er", "ba", "ws", "chain", "complete"]))
    n = draw(st.integers(2, 40))
    seed = draw(seeds)
    if gen == "er":
        return generate_graph("er", n, seed=seed, p=draw(probabilities))
    if gen == "ba":
        return generate_graph("ba", n, seed=seed, m=draw(st.integers(1, n - 1)))
    if gen == "ws":
        n = max(n, 3)
        k = 2 * draw(st.integers(1, (n - 1) // 2))
        return generate_graph("ws", n, seed=seed, k=k, p=draw(probabilities))
    return generate_graph(gen, n, seed=seed)


def check_dag(spec: GraphSpec) -> None:
    """The paper's DAG conversion: acyclic, one input node, one output node, every node between them."""
    dag = spec.to_dag()
    n = spec.n
    assert nx.is_directed_acyclic_graph(dag)
    assert dag.number_of_nodes() == n + 2
    sources = [v for v in dag if dag.in_degree(v) == 0]
    sinks = [v for v in dag if dag.out_degree(v) == 0]
    assert sources == [n] and sinks == [n + 1]  # exactly one input node (id N), one output node (id N+1)
    assert all(u < v for u, v in spec.edges)  # edges point low -> high, so index order is topological
    view = stage_dag(spec)
    assert set(dag.successors(n)) == set(view.input_fed) == {v for v in range(n) if not any(u < v for u in spec.to_networkx()[v])}
    assert set(dag.predecessors(n + 1)) == set(view.output_fed) == {v for v in range(n) if not any(w > v for w in spec.to_networkx()[v])}
    assert dag.number_of_edges() == len(spec.edges) + len(view.input_fed) + len(view.output_fed)
    reach_in = nx.descendants(dag, n)
    reach_out = nx.ancestors(dag, n + 1)
    assert reach_in == set(range(n)) | {n + 1} and reach_out == set(range(n)) | {n}
    isolated = [v for v in range(n) if spec.to_networkx().degree(v) == 0]
    assert all(v in view.input_fed and v in view.output_fed for v in isolated)  # an isolated node is both


@PROPS
@given(spec=any_spec())
def test_every_generated_graph_converts_to_a_proper_dag(spec):
    check_dag(spec)


@PROPS
@given(n=st.integers(2, 60), m=st.data(), seed=seeds)
def test_ba_edge_count_and_each_new_node_brings_m_edges(n, m, seed):
    m = m.draw(st.integers(1, n - 1))
    spec = generate_graph("ba", n, seed=seed, m=m)
    assert len(spec.edges) == m * (n - m)
    g = spec.to_networkx()
    assert not any(u < m and v < m for u, v in spec.edges)  # initial nodes start without edges
    back = {v: sum(1 for u, w in spec.edges if w == v) for v in range(n)}
    assert all(back[v] == 0 for v in range(m)) and all(back[v] == m for v in range(m, n))
    assert set(g.neighbors(m)) >= set(range(m))  # the first added node joins all M initial nodes
    assert min(d for v, d in g.degree() if v >= m) >= m


@PROPS
@given(n=st.integers(3, 60), half=st.data(), p=probabilities, seed=seeds)
def test_ws_keeps_k_n_over_2_edges_for_any_p(n, half, p, seed):
    k = 2 * half.draw(st.integers(1, (n - 1) // 2))
    spec = generate_graph("ws", n, seed=seed, k=k, p=p)
    assert len(spec.edges) == k * n // 2
    lattice = generate_graph("ws", n, seed=seed, k=k, p=0.0)
    ring = {tuple(sorted((v, (v + i) % n))) for v in range(n) for i in range(1, k // 2 + 1)}
    assert set(lattice.edges) == ring
    assert all(d == k for _, d in lattice.to_networkx().degree())


@PROPS
@given(n=st.integers(2, 50), seed=seeds)
def test_er_extremes_and_references(n, seed):
    assert len(generate_graph("er", n, seed=seed, p=1.0).edges) == n * (n - 1) // 2
    assert generate_graph("er", n, seed=seed, p=0.0).edges == ()
    assert generate_graph("chain", n, seed=seed).edges == tuple((i, i + 1) for i in range(n - 1))
    assert len(generate_graph("complete", n, seed=seed).edges) == n * (n - 1) // 2


@PROPS
@given(spec=any_spec())
def test_json_round_trip_is_exact(spec, tmp_path_factory):
    text = spec.to_json()
    again = GraphSpec.from_json(text)
    assert again == spec and again.to_json() == text
    path = tmp_path_factory.mktemp("g") / "g.json"
    from wiring_lab.graphs import load_graph, save_graph

    save_graph(spec, path)
    assert path.read_text() == text and load_graph(path) == spec
    assert GraphSpec.from_networkx(spec.to_networkx()) == spec
    assert GraphSpec.from_dict(spec.to_dict()) == spec


@PROPS
@given(spec=any_spec())
def test_same_seed_same_graph(spec):
    again = generate_graph(spec.generator, spec.n, seed=spec.seed, **spec.params)
    assert again.to_json() == spec.to_json()


@PROPS
@given(n=st.integers(1, 30), pairs=st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29)), max_size=80))
def test_arbitrary_edge_lists_are_accepted_exactly_when_simple(n, pairs):
    """Any edge list: a simple graph on 0..n-1 loads and converts; anything else is a ValueError."""
    canon = [(min(u, v), max(u, v)) for u, v in pairs]
    simple = all(u != v and v < n for u, v in canon) and len(set(canon)) == len(canon)
    if simple:
        spec = GraphSpec("custom", {}, None, n, tuple(pairs))
        check_dag(spec)
        assert GraphSpec.from_json(spec.to_json()) == spec
    else:
        with pytest.raises(ValueError):
            GraphSpec("custom", {}, None, n, tuple(pairs))


# --- metric backends ------------------------------------------------------------------------------
@st.composite
def simple_graph(draw) -> GraphSpec:
    """Any simple graph on 1..24 nodes: random edge subsets, including empty and disconnected ones."""
    n = draw(st.integers(1, 24))
    pairs = [(u, v) for u in range(n) for v in range(u + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs))) if pairs else []
    return GraphSpec("custom", {}, None, n, tuple(edges))


def _backends() -> list[str]:
    out = ["networkx"]
    try:
        import graph_tool  # noqa: F401

        out.append("graph-tool")
    except ImportError:
        pass
    return out


def _assert_frames_close(a, b, label: str) -> None:
    import numpy as np

    assert list(a.columns) == list(b.columns), label
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind in "fiu" and y.dtype.kind in "fiu":
            np.testing.assert_allclose(x.astype(float), y.astype(float), rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=f"{label}: {col}")
        else:
            assert list(x) == list(y) or all((p != p and q != q) or p == q for p, q in zip(x, y)), f"{label}: {col}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(st.one_of(any_spec(), simple_graph()), min_size=1, max_size=4))
def test_metric_backends_agree_on_random_graphs(specs):
    metrics = pytest.importorskip("wiring_lab.metrics")
    specs = [s for s in specs if s.n <= 24]  # keep networkx's path counting quick
    if not specs:
        return
    ref_g = metrics.graph_metrics(specs, backend="tensor", device="cpu")
    ref_n = metrics.node_metrics(specs, backend="tensor", device="cpu")
    assert len(ref_g) == len(specs) and len(ref_n) == sum(s.n for s in specs)
    for backend in _backends():
        _assert_frames_close(ref_g, metrics.graph_metrics(specs, backend=backend, device="cpu"), f"graph {backend}")
        _assert_frames_close(ref_n, metrics.node_metrics(specs, backend=backend, device="cpu"), f"node {backend}")
