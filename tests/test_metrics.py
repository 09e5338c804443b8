"""Graph metrics: known answers, agreement of the three backends, populations, the CLI."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from wiring_lab import metrics as M
from wiring_lab.cli import app
from wiring_lab.graphs import GraphSpec, generate_graph, save_graph

BACKENDS = ["tensor", "networkx", "graph-tool"]


def _backend(name: str) -> str:
    """Skip graph-tool where it is not importable (the CI installs it)."""
    if name == "graph-tool":
        pytest.importorskip("graph_tool")
    return name


def _spec(n: int, edges) -> GraphSpec:
    return GraphSpec("custom", {}, None, n, tuple(edges))


# --- known answers ---------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [2, 4, 6, 8])
def test_ring_lattice_clustering(backend, k):
    spec = generate_graph("ws", 32, seed=0, k=k, p=0.0)
    row = M.graph_metrics(spec, backend=_backend(backend), device="cpu").iloc[0]
    expected = 3 * (k - 2) / (4 * (k - 1))
    assert row["avg_clustering"] == pytest.approx(expected, abs=1e-12)
    assert row["transitivity"] == pytest.approx(expected, abs=1e-12)
    assert row["avg_degree"] == k
    assert math.isnan(row["assortativity"])  # regular graph: undefined


@pytest.mark.parametrize("backend", BACKENDS)
def test_complete_graph(backend):
    n = 10
    row = M.graph_metrics(generate_graph("complete", n), backend=_backend(backend), device="cpu").iloc[0]
    assert row["avg_clustering"] == pytest.approx(1.0)
    assert row["avg_path_length"] == pytest.approx(1.0)
    assert row["diameter"] == 1 and row["n_components"] == 1
    assert row["global_efficiency"] == pytest.approx(1.0)
    # DAG: input -> 0 -> ... -> n-1 -> output; every subset of 1..n-2 gives one path
    assert row["depth"] == n + 1
    assert row["n_io_paths"] == 2 ** (n - 2)
    assert row["n_input_fed"] == 1 and row["n_output_fed"] == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_path_graph(backend):
    n = 9
    spec = generate_graph("chain", n)
    row = M.graph_metrics(spec, backend=_backend(backend), device="cpu").iloc[0]
    assert row["depth"] == n + 1
    assert row["n_io_paths"] == 1
    assert row["mean_io_path_length"] == n + 1
    assert row["avg_path_length"] == pytest.approx((n + 1) / 3)
    assert row["diameter"] == n - 1
    nodes = M.node_metrics(spec, backend=backend, device="cpu")
    v = np.arange(n)
    assert (nodes["depth"].to_numpy() == v + 1).all()
    assert (nodes["height"].to_numpy() == n - v).all()
    assert (nodes["paths_through"].to_numpy() == 1).all()
    np.testing.assert_allclose(nodes["betweenness"], 2 * v * (n - 1 - v) / ((n - 1) * (n - 2)), atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_disconnected_graph_as_defined(backend):
    # two triangles and an isolated node
    spec = _spec(7, [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)])
    row = M.graph_metrics(spec, backend=_backend(backend), device="cpu").iloc[0]
    assert row["n_components"] == 3
    assert row["avg_path_length"] == pytest.approx(1.0)  # over connected pairs only
    assert row["diameter"] == 1
    assert row["global_efficiency"] == pytest.approx(12 / 42)
    assert row["avg_clustering"] == pytest.approx(6 / 7)  # the isolated node counts 0
    nodes = M.node_metrics(spec, backend=backend, device="cpu")
    np.testing.assert_allclose(nodes["closeness"], [1 / 3] * 6 + [0.0], atol=1e-12)
    assert nodes["pagerank"].sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_edgeless_graph(backend):
    row = M.graph_metrics(_spec(5, []), backend=_backend(backend), device="cpu").iloc[0]
    assert math.isnan(row["avg_path_length"]) and math.isnan(row["assortativity"])
    assert row["diameter"] == 0 and row["n_components"] == 5
    assert row["depth"] == 2 and row["n_io_paths"] == 5 and row["mean_io_path_length"] == 2


def test_dag_metrics_match_path_enumeration():
    rng = np.random.default_rng(0)
    for i in range(20):
        spec = generate_graph("er", 10, seed=int(rng.integers(1 << 30)), p=0.3)
        dag = spec.to_dag()
        paths = list(nx.all_simple_paths(dag, spec.n, spec.n + 1))
        lengths = [len(p) - 1 for p in paths]
        row = M.graph_metrics(spec, device="cpu").iloc[0]
        assert row["n_io_paths"] == len(paths)
        assert row["depth"] == max(lengths)
        assert row["mean_io_path_length"] == pytest.approx(np.mean(lengths), rel=1e-12)
        nodes = M.node_metrics(spec, device="cpu")
        through = [sum(v in p for p in paths) for v in range(spec.n)]
        assert nodes["paths_through"].tolist() == through
        assert nodes["depth"].tolist() == [max(p.index(v) for p in paths if v in p) for v in range(spec.n)]


# --- the three backends agree ----------------------------------------------------------------
def _population() -> list[GraphSpec]:
    """A few hundred random graphs: ER (some disconnected), BA, WS, plus chain and complete."""
    specs = []
    for s in range(60):
        specs.append(generate_graph("er", 32, seed=s, p=0.2))
        specs.append(generate_graph("er", 32, seed=s, p=0.04))  # mostly disconnected
        specs.append(generate_graph("ba", 32, seed=s, m=3))
        specs.append(generate_graph("ws", 32, seed=s, k=4, p=0.75))
        specs.append(generate_graph("ws", 20, seed=s, k=6, p=0.25))  # another size: its own batch
    return specs + [generate_graph("chain", 32), generate_graph("complete", 16)]


@pytest.fixture(scope="module")
def reference():
    """networkx's numbers for the population (computed once)."""
    specs = _population()
    return specs, M.graph_metrics(specs, backend="networkx"), M.node_metrics(specs, backend="networkx")


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    for col in a.columns:
        if a[col].dtype.kind in "fi":
            np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-9, atol=1e-10, equal_nan=True, err_msg=col)
        else:
            assert a[col].tolist() == b[col].tolist(), col


@pytest.mark.parametrize("backend", ["tensor", "graph-tool"])
def test_backends_equal_networkx(reference, backend):
    specs, graph_ref, node_ref = reference
    assert graph_ref["n_components"].gt(1).sum() > 30  # the disconnected case is exercised
    _assert_same(M.graph_metrics(specs, backend=_backend(backend), device="cpu"), graph_ref)
    _assert_same(M.node_metrics(specs, backend=backend, device="cpu"), node_ref)


def test_tensor_backend_chunks_give_same_numbers(reference):
    specs, graph_ref, _ = reference
    _assert_same(M.graph_metrics(specs[:50], device="cpu", chunk=7), graph_ref.iloc[:50])


@pytest.mark.gpu
def test_tensor_backend_on_cuda(reference):
    specs, graph_ref, node_ref = reference
    _assert_same(M.graph_metrics(specs, device="cuda"), graph_ref)
    _assert_same(M.node_metrics(specs, device="cuda"), node_ref)


# --- populations, files, errors ---------------------------------------------------------------
def test_population_grid_and_seeds():
    config = M.PopulationConfig("ws", {"k": [2, 4], "p": [0.0, 0.5]}, nodes=16, samples=5, seed=3)
    df = M.population_metrics(config)
    assert list(df.columns[:8]) == list(M.POPULATION_KEYS)
    assert list(df.columns[8 : 8 + len(M.GRAPH_METRICS)]) == list(M.GRAPH_METRICS)
    assert df.groupby("setting").size().to_dict() == {"WS(2, 0)": 5, "WS(2, 0.5)": 5, "WS(4, 0)": 5, "WS(4, 0.5)": 5}
    # each row's graph is reproducible from its own seed
    row = df.iloc[7]
    again = M.graph_metrics(generate_graph("ws", 16, seed=int(row["seed"]), k=int(row["k"]), p=float(row["p"])))
    assert again["avg_path_length"].iloc[0] == row["avg_path_length"]
    assert df["seed"].nunique() == 5  # same seeds across settings, distinct across samples
    curve = M.relative_to_p0(df)
    k4 = curve[curve["k"] == 4].set_index("p")
    assert k4.loc[0.0, "C/C(0)"] == 1.0 and k4.loc[0.0, "L/L(0)"] == 1.0
    assert k4.loc[0.5, "C/C(0)"] < 1.0 and k4.loc[0.5, "L/L(0)"] < 1.0


def test_bad_input_is_a_one_line_error():
    spec = generate_graph("er", 8, seed=0)
    with pytest.raises(ValueError, match="unknown graph metric 'girth'"):
        M.graph_metrics(spec, metrics=["girth"])
    with pytest.raises(ValueError, match="unknown node metric"):
        M.node_metrics(spec, metrics=["avg_degree"])
    with pytest.raises(ValueError, match="unknown metrics backend"):
        M.graph_metrics(spec, backend="igraph")
    with pytest.raises(ValueError, match="samples"):
        M.PopulationConfig("er", {}, samples=0)


def test_cli_population(tmp_path):
    out = tmp_path / "pop.csv"
    res = CliRunner().invoke(app, ["metrics", "--generator", "ws", "--k", "4", "--p", "0,0.5", "--samples", "6", "--nodes", "16", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "avg_clustering" in res.output and "C/C(0)" in res.output
    df = pd.read_csv(out)
    assert len(df) == 12 and set(df["setting"]) == {"WS(4, 0)", "WS(4, 0.5)"}
    assert (tmp_path / "pop.csv.json").is_file()


@pytest.fixture()
def untrained_ckpt(tmp_path):
    """An untrained digits-size network saved as a checkpoint (metrics need only its graphs)."""
    from wiring_lab.checkpoint import save_checkpoint
    from wiring_lab.loading import load_checkpoint
    from wiring_lab.model import ModelConfig, build_model

    config = ModelConfig(regime="digits", channels=4, nodes=8, num_classes=10, in_channels=1, head_channels=16, seed=2)
    path = save_checkpoint(tmp_path / "ws_seed2.pt", build_model(config), {"dataset": "digits"})
    return path, load_checkpoint(path)


def test_cli_metrics_of_checkpoint_and_graph(tmp_path, untrained_ckpt):
    tiny_ckpt_path, tiny_ckpt = untrained_ckpt
    out = tmp_path / "stage.csv"
    res = CliRunner().invoke(app, ["metrics", str(tiny_ckpt_path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert len(df) == len(tiny_ckpt.graphs) and df["model"].eq(tiny_ckpt_path.stem).all()
    assert df["stage"].tolist() == list(range(len(tiny_ckpt.graphs)))
    res = CliRunner().invoke(app, ["metrics", str(tiny_ckpt_path), "--per", "node", "--out", str(tmp_path / "node.csv")])
    nodes = pd.read_csv(tmp_path / "node.csv")
    assert res.exit_code == 0 and len(nodes) == sum(g.n for g in tiny_ckpt.graphs)
    assert list(nodes.columns) == ["model", "stage", "node", *M.NODE_METRICS]
    graph_file = save_graph(tiny_ckpt.graphs[1], tmp_path / "g.json")
    res = CliRunner().invoke(app, ["metrics", str(graph_file), "--backend", "networkx", "--out", str(tmp_path / "g.csv")])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(tmp_path / "g.csv")["avg_path_length"].iloc[0] == pytest.approx(df["avg_path_length"].iloc[1])


@pytest.mark.parametrize(
    "args, message",
    [
        (["metrics"], "give a checkpoint"),
        (["metrics", "--generator", "er", "--backend", "igraph"], "unknown metrics backend"),
        (["metrics", "--generator", "er", "--p", "a,b"], "comma-separated"),
        (["metrics", "--generator", "ws", "--k", "3", "--samples", "2"], "even k"),
        (["metrics", "missing.pt"], "no such checkpoint"),
    ],
)
def test_cli_errors(args, message):
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_metrics_of_foreign_graph_files(tmp_path):
    """A seungwonpark text graph and a networkx YAML dump give the same metrics as the same JSON graph."""
    from wiring_lab.graphs import generate_graph, save_graph
    from wiring_lab.metrics import file_metrics

    spec = generate_graph("ws", 10, seed=4, k=4, p=0.5)
    txt = tmp_path / "g.txt"
    txt.write_text(f"{spec.n}\n{len(spec.edges)}\n" + "".join(f"{u} {v}\n" for u, v in spec.edges))
    yml = tmp_path / "conv3.yaml"
    adj = "".join(f"  {u}: {{{', '.join(f'{v}: {{}}' for v in sorted(spec.to_networkx()[u]))}}}\n" for u in range(spec.n))
    yml.write_text("!!python/object:networkx.classes.graph.Graph\n_adj:\n" + adj + "_node:\n" + "".join(f"  {u}: {{}}\n" for u in range(spec.n)))
    ref = file_metrics(save_graph(spec, tmp_path / "g.json"))
    cols = ["avg_clustering", "avg_path_length", "depth", "n_io_paths"]
    for path in (txt, yml):
        got = file_metrics(path)
        assert got[cols].to_numpy().tolist() == ref[cols].to_numpy().tolist()


def test_population_metrics_refuses_a_population_over_the_limits_before_drawing(monkeypatch):
    """A study's population task and the Python API check the same budget as `wiring-lab metrics`."""
    from wiring_lab import metrics as M
    from wiring_lab._io import UserError

    drawn = []
    monkeypatch.setattr(M, "sample_population", lambda *a, **k: drawn.append(a) or [])
    with pytest.raises(UserError, match="graph nodes of work, more than the limit"):
        M.population_metrics(M.PopulationConfig("ws", {"p": [0.1, 0.5]}, nodes=100_000, samples=10_000))
    monkeypatch.setenv("WIRING_LAB_MAX_MEMORY", "1G")  # the same on every machine
    with pytest.raises(UserError, match="more than the memory budget"):
        M.population_metrics(M.PopulationConfig("ws", {}, nodes=5_000, samples=10))
    assert drawn == []  # refused before any graph was drawn
