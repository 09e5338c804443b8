"""Batched populations: the batched generators against the per-graph definitions, member
regeneration, metrics against networkx, and the streamed ``metrics`` command."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from wiring_lab import _metrics_bits, _metrics_tensor
from wiring_lab import metrics as M
from wiring_lab import populations as P
from wiring_lab.cli import app
from wiring_lab.graphs import (
    barabasi_albert,
    erdos_renyi,
    generate_graph,
    watts_strogatz,
)

GRAPH_NAMES = list(M.GRAPH_METRICS + M.EXTRA_GRAPH_METRICS)


def _edge_counts(adj: np.ndarray) -> np.ndarray:
    return adj.sum((1, 2)) // 2


def _per_graph(fn, count: int, seed: int, **kw) -> list[list[tuple[int, int]]]:
    return [fn(seed=s, **kw) for s in M.sample_seeds(seed, count)]


def _valid(adj: np.ndarray) -> None:
    assert adj.dtype == bool
    assert (adj == adj.transpose(0, 2, 1)).all()
    assert not adj[:, np.arange(adj.shape[1]), np.arange(adj.shape[1])].any()


def test_er_edge_count_mean_variance_and_labels():
    n, p, b = 12, 0.3, 4000
    adj = P.generate_batch("er", b, n, P.chunk_rng(0, 0), p=p)
    _valid(adj)
    e = _edge_counts(adj)
    pairs = n * (n - 1) // 2
    mean, var = pairs * p, pairs * p * (1 - p)  # Binomial(66, 0.3)
    assert abs(e.mean() - mean) < 4 * math.sqrt(var / b)
    assert abs(e.var(ddof=1) / var - 1) < 0.1
    # after the random relabelling every pair is still joined with probability p
    assert abs(adj[:, 0, 1].mean() - p) < 4 * math.sqrt(p * (1 - p) / b)
    ref = np.array([len(edges) for edges in _per_graph(erdos_renyi, 400, 1, n=n, p=p)])
    assert stats.ks_2samp(e, ref).pvalue > 0.01


def test_ba_exact_edges_and_degree_histogram():
    n, m, b = 16, 3, 2000
    adj = P.generate_batch("ba", b, n, P.chunk_rng(3, 0), m=m)
    _valid(adj)
    assert (_edge_counts(adj) == m * (n - m)).all()
    assert adj[:, m, :m].all() and not adj[:, :m, :m].any()  # node M joins the M initial nodes
    # every node v > M has exactly M neighbours among the earlier nodes
    lower = np.tril(np.ones((n, n), dtype=bool), -1)
    assert ((adj & lower).sum(-1)[:, m:] == m).all()
    deg = adj.sum(-1).ravel()
    ref = np.concatenate([np.bincount(np.array(e).ravel(), minlength=n) for e in _per_graph(barabasi_albert, 300, 2, n=n, m=m)])
    top = 9  # degrees >= 9 pooled into one cell
    table = np.array([np.bincount(np.minimum(d, top), minlength=top + 1) for d in (deg, ref)])
    table = table[:, table.sum(0) > 0]
    assert stats.chi2_contingency(table)[1] > 0.01


def test_ws_lattice_edges_and_rewiring_match_the_definition():
    n, k = 20, 4
    lattice = P.generate_batch("ws", 5, n, P.chunk_rng(0, 0), k=k, p=0.0)
    ref = set(watts_strogatz(n, k, 0.0, seed=0))
    for a in lattice:
        assert set(P.adjacency_edges(a)) == ref
    adj = P.generate_batch("ws", 3000, n, P.chunk_rng(1, 0), k=k, p=0.5)
    _valid(adj)
    assert (_edge_counts(adj) == k * n // 2).all()
    ring = np.zeros((n, n), dtype=bool)
    for u, v in ref:
        ring[u, v] = ring[v, u] = True
    kept = (adj & ring).sum((1, 2)) // 2  # lattice edges still present
    ref_kept = np.array([len(set(e) & ref) for e in _per_graph(watts_strogatz, 400, 5, n=n, k=k, p=0.5)])
    assert stats.ks_2samp(kept, ref_kept).pvalue > 0.01
    rewired = 1 - kept.mean() / len(ref)  # a rewired edge can land back on a removed lattice slot
    assert 0.42 < rewired <= 0.5 + 4 * math.sqrt(0.25 / (3000 * 40))
    ref_deg = np.concatenate([np.bincount(np.array(e).ravel(), minlength=n) for e in _per_graph(watts_strogatz, 400, 6, n=n, k=k, p=0.5)])
    top = 8
    table = np.array([np.bincount(np.minimum(d, top), minlength=top + 1) for d in (adj.sum(-1).ravel(), ref_deg)])
    table = table[:, table.sum(0) > 0]
    assert stats.chi2_contingency(table)[1] > 0.01


def test_ws_never_rewires_to_a_full_neighbourhood():
    # N=5, K=4: every node is joined to every other; rewiring has nowhere to go
    adj = P.generate_batch("ws", 50, 5, P.chunk_rng(0, 0), k=4, p=1.0)
    assert adj[:, ~np.eye(5, dtype=bool)].all()


@pytest.mark.parametrize("k", [2.5, 3.0, 4.0, 5.3])
def test_ws_flex_edge_count_and_forward_degrees(k):
    n = 17
    lattice = P.generate_batch("ws-flex", 200, n, P.chunk_rng(0, 0), k=k, p=0.0)
    _valid(lattice)
    assert (_edge_counts(lattice) == round(k * n / 2)).all()
    lo, hi = math.floor(k / 2), math.ceil(k / 2)
    # at P = 0 node v's edges to v+1, v+2, ... are its forward edges: floor or ceil of K/2 each
    forward = np.stack([lattice[:, v, (v + np.arange(1, hi + 1)) % n].sum(-1) for v in range(n)], axis=1)
    assert ((forward == lo) | (forward == hi)).all()
    rewired = P.generate_batch("ws-flex", 200, n, P.chunk_rng(1, 0), k=k, p=0.6)
    assert (_edge_counts(rewired) == round(k * n / 2)).all()
    assert (rewired != lattice).any()


def test_ws_flex_is_ws_at_even_integer_k_and_registered():
    n = 14
    flex = P.generate_batch("ws-flex", 3, n, P.chunk_rng(0, 0), k=4, p=0.0)
    assert set(P.adjacency_edges(flex[0])) == set(watts_strogatz(n, 4, 0.0, seed=0))
    spec = generate_graph("ws-flex", n=n, seed=7, k=3.5, p=0.3)
    assert len(spec.edges) == round(3.5 * n / 2)
    assert generate_graph("ws-flex", n=n, seed=7, k=3.5, p=0.3) == spec
    with pytest.raises(ValueError, match="2 ceil"):
        generate_graph("ws-flex", n=6, seed=0, k=5.5)


def test_member_regeneration_equals_the_batch():
    pop = P.Population("ws", {"k": 4, "p": 0.75}, n=12, samples=5000, seed=9)
    rows = {}
    for first, adj in pop.chunks():
        for j in (0, adj.shape[0] - 1):
            rows[first + j] = P.adjacency_edges(adj[j])
    assert set(rows) == {0, pop.chunk - 1, pop.chunk, 4999}
    for i, edges in rows.items():
        spec = pop.member(i)
        assert spec.edges == edges and spec.seed == 9 and spec.member == i
    # a member does not depend on the population's size, and a GraphSpec file keeps its index
    assert P.member_graph("ws", 12, 9, 4321, k=4, p=0.75) == pop.member(4321)
    assert type(spec).from_json(spec.to_json()).member == 4999
    assert [s.member for s in pop.members([4999, 3, 4100])] == [4999, 3, 4100]
    assert P.Population("ws", {"k": 4, "p": 0.75}, n=12, samples=10, seed=10).member(3) != pop.member(3)


@pytest.mark.parametrize(
    "generator,n,params",
    [("ws", 16, {"k": 4, "p": 0.75}), ("ba", 12, {"m": 2}), ("er", 10, {"p": 0.15}), ("ws-flex", 15, {"k": 3.4, "p": 0.5}), ("chain", 7, {}), ("complete", 6, {})],
)
def test_metrics_of_batched_graphs_equal_networkx(generator, n, params):
    pop = P.Population(generator, params, n=n, samples=40, seed=4)
    adj = next(pop.chunks())[1]
    specs = pop.members(range(40))
    ref, _ = M.metric_arrays(specs, GRAPH_NAMES, (), backend="networkx")
    bits = _metrics_bits.compute(adj, set(GRAPH_NAMES))
    torch_path, _ = _metrics_tensor.compute(adj, GRAPH_NAMES, [], device="cpu")
    for name in GRAPH_NAMES:
        np.testing.assert_allclose(bits[name], ref[name], rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=name)
        np.testing.assert_allclose(torch_path[name], ref[name], rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=name)


def test_summary_of_arrays_equals_summarise():
    config = M.PopulationConfig("ws", {"k": [4], "p": [0.0, 0.5]}, nodes=10, samples=30, seed=1)
    frames = list(P.iter_population_metrics(config))
    df = pd.concat(frames, ignore_index=True)
    assert list(df["sample"]) == list(range(30)) * 2
    ref = M.summarise(df)
    result = P.measure_population(config)
    pd.testing.assert_frame_equal(result.summary, ref, check_dtype=False)
    assert result.rows == 60
    assert list(result.curve["p"]) == [0.0, 0.5]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_metrics_command_streams_rows_equal_to_networkx(tmp_path, suffix):
    out = tmp_path / f"pop{suffix}"
    res = CliRunner().invoke(app, ["metrics", "-g", "ws", "--k", "4", "--p", "0,0.5", "-n", "12", "--samples", "30", "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "WS(4, 0.5)" in res.output and "Watts-Strogatz curve" in res.output
    df = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert len(df) == 60 and set(df["setting"]) == {"WS(4, 0)", "WS(4, 0.5)"}
    row = df[(df["setting"] == "WS(4, 0.5)") & (df["sample"] == 17)].iloc[0]
    spec = P.member_graph("ws", 12, 0, 17, k=4, p=0.5)
    ref = M.graph_metrics(spec, backend="networkx")
    for name in ("avg_clustering", "avg_path_length", "depth", "n_io_paths"):
        assert row[name] == pytest.approx(ref[name].iloc[0], rel=1e-12)
    assert (tmp_path / f"pop{suffix}.json").is_file()


def test_metrics_command_networkx_backend_matches_tensor(tmp_path):
    outs = {}
    for backend in ("tensor", "networkx"):
        outs[backend] = tmp_path / f"{backend}.csv"
        res = CliRunner().invoke(app, ["metrics", "-g", "ba", "--m", "2", "-n", "9", "--samples", "25", "--backend", backend, "--out", str(outs[backend]), "--no-progress"])
        assert res.exit_code == 0, res.output
    a, b = pd.read_csv(outs["tensor"]), pd.read_csv(outs["networkx"])
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)


def test_bad_population_is_one_line(tmp_path):
    res = CliRunner().invoke(app, ["metrics", "-g", "ws", "--k", "5", "-n", "12", "--samples", "3"])
    assert res.exit_code == 2 and "even k" in res.output
    res = CliRunner().invoke(app, ["metrics", "-g", "ws", "-n", "12", "--samples", "3", "--out", str(tmp_path / "x.txt")])
    assert res.exit_code == 2 and "must end in .csv or .parquet" in res.output


def test_select_cl_covers_cells_evenly():
    from wiring_lab.cl_sampling import select_cl

    rng = np.random.default_rng(0)
    n = 5000
    pop = pd.DataFrame({"setting": "x", "sample": np.arange(n), "avg_clustering": rng.random(n) ** 3, "avg_path_length": 2 + rng.random(n), "n_components": 1})
    pop.loc[:9, "n_components"] = 2  # disconnected graphs are never kept
    kept = select_cl(pop, bins=4, per_bin=3, seed=1)
    per_cell = kept.groupby(["bin_c", "bin_l"]).size()
    assert len(per_cell) == 16 and (per_cell == 3).all()
    assert not set(kept["sample"]) & set(range(10))
    # every kept row lies in the cell it is assigned to
    edges = np.linspace(pop["avg_clustering"][10:].min(), pop["avg_clustering"][10:].max(), 5)
    assert ((kept["avg_clustering"] >= edges[kept["bin_c"]] - 1e-12) & (kept["avg_clustering"] <= edges[kept["bin_c"] + 1] + 1e-12)).all()
    assert kept.equals(select_cl(pop, bins=4, per_bin=3, seed=1))


def test_sample_cl_command_end_to_end(tmp_path):
    from wiring_lab.checkpoint import load_graphs

    out = tmp_path / "cl"
    res = CliRunner().invoke(app, ["sample-cl", "--k", "2,3.5,5", "--p", "0,0.2,0.6", "-n", "16", "--samples", "200", "--bins", "4", "--per-bin", "2", "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    kept = pd.read_csv(out / "kept.csv")
    population = pd.read_parquet(out / "population.parquet")
    assert len(population) == 9 * 200 and 0 < len(kept) <= 32
    assert kept.groupby(["bin_c", "bin_l"]).size().max() <= 2
    graphs = load_graphs(out / "graphs")
    assert len(graphs) == len(kept)
    # each file is its population member, and its metrics in kept.csv are networkx's
    first = graphs[0]
    row = kept.iloc[0]
    assert first.member == row["sample"] and first.generator == "ws-flex"
    assert P.member_graph("ws-flex", 16, 0, int(row["sample"]), k=row["k"], p=row["p"]) == first
    ref = M.graph_metrics(first, backend="networkx").iloc[0]
    assert row["avg_clustering"] == pytest.approx(ref["avg_clustering"], rel=1e-12)
    assert row["avg_path_length"] == pytest.approx(ref["avg_path_length"], rel=1e-12)
    assert (out / "cl_plane.png").stat().st_size > 10_000


def test_plot_cl_plane_draws_population_and_kept():
    from wiring_lab.cl_sampling import plot_cl_plane, select_cl

    rng = np.random.default_rng(2)
    pop = pd.DataFrame({"setting": "x", "sample": np.arange(800), "avg_clustering": rng.random(800), "avg_path_length": 2 + rng.random(800), "n_components": 1})
    kept = select_cl(pop, bins=3, per_bin=1)
    fig = plot_cl_plane(pop, kept)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "average clustering C" and ax.get_ylabel() == "average path length L"
    assert len(ax.collections[-1].get_offsets()) == len(kept) == 9
    assert "9 of 9 cells" in ax.get_title()


def test_study_trains_one_network_per_graph_of_a_graph_set(tmp_path):
    import textwrap

    from wiring_lab.graphs import save_graph
    from wiring_lab.loading import load_checkpoint
    from wiring_lab.study import expand_study, load_study, run_study

    pop = P.Population("ws-flex", {"k": 3.5, "p": 0.5}, n=6, samples=10, seed=1)
    (tmp_path / "set").mkdir()
    chosen = {f"cl_{i:04d}": pop.member(i) for i in (2, 7)}
    for stem, spec in chosen.items():
        save_graph(spec, tmp_path / "set" / f"{stem}.json")
    study = tmp_path / "study.yaml"
    study.write_text(textwrap.dedent("""\
        name: graphset
        networks:
          - graphs: set
        scales:
          demo: {channels: 4, head_channels: 16, epochs: 1, seeds: 1, limit: 60, device: cpu}
        """))
    plan = expand_study(load_study(study), "demo", tmp_path / "run")
    assert [n.name for n in plan.networks] == [f"ws-flex_{stem}_s0" for stem in chosen]
    for net, spec in zip(plan.networks, chosen.values()):
        assert net.model_config["nodes"] == 6 and net.model_config["generator"] == "ws-flex"
        assert list(net.graphs) == [spec.to_dict()] * 3  # the same graph in every stage
    # train one: a graph set can also be one file
    one = tmp_path / "one.yaml"
    one.write_text(study.read_text().replace("graphs: set", "graphs: set/cl_0007.json"))
    result = run_study(one, "demo", tmp_path / "run1", progress=False, echo=lambda s: None)
    assert all(o.status == "done" for o in result.outcomes), [o.error for o in result.outcomes]
    ckpt = load_checkpoint(next((tmp_path / "run1" / "checkpoints").glob("*.pt")))
    assert ckpt.graphs == [chosen["cl_0007"]] * 3


@pytest.mark.gpu
def test_population_metrics_on_cuda_equal_the_cpu_kernels(tmp_path):
    pop = P.Population("ws", {"k": 4, "p": 0.75}, n=32, samples=3000, seed=0)
    adj = np.concatenate([a for _, a in pop.chunks()])
    cpu, _ = M.adjacency_metrics(adj, GRAPH_NAMES, (), device="cpu")
    gpu, _ = M.adjacency_metrics(adj, GRAPH_NAMES, (), device="cuda")
    for name in GRAPH_NAMES:
        np.testing.assert_allclose(gpu[name], cpu[name], rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=name)
    res = CliRunner().invoke(app, ["metrics", "-g", "ws", "-n", "32", "--samples", "3000", "--device", "cuda", "--out", str(tmp_path / "g.parquet"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert np.allclose(pd.read_parquet(tmp_path / "g.parquet")["avg_path_length"], cpu["avg_path_length"], rtol=1e-12)
