"""networkx backend of :mod:`wiring_lab.metrics`: the reference, one graph at a time.

Every metric is networkx's own function where networkx has one (clustering, transitivity,
global efficiency, assortativity, betweenness, closeness, PageRank, components, DAG longest
path); the per-pair averages and the DAG path counts are exact sums over networkx's
shortest-path lengths and topological order, with Python integers for the counts.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Iterable, Sequence

import networkx as nx
import numpy as np

from wiring_lab.graphs import GraphSpec

# PageRank power-iteration tolerance: networkx stops when the L1 change is below N * tol,
# which leaves the result within ~1e-11 of the exact fixed point.
PAGERANK_TOL = 1e-13


def compute(
    specs: Sequence[GraphSpec], graph_metrics: Iterable[str], node_metrics: Iterable[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Metrics of equal-size graphs: graph-level arrays (B,), node-level arrays (B, N)."""
    return compute_per_graph(graph_values, specs, graph_metrics, node_metrics)


def compute_per_graph(
    graph_values: Callable[[GraphSpec, set[str], set[str]], tuple[dict[str, float], dict[str, Any]]],
    specs: Sequence[GraphSpec],
    graph_metrics: Iterable[str],
    node_metrics: Iterable[str],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Stack one-graph-at-a-time results (``graph_values``) into (B,) and (B, N) arrays."""
    gm, nm = set(graph_metrics), set(node_metrics)
    n = specs[0].n if specs else 0
    g_out = {k: np.zeros(len(specs)) for k in gm}
    n_out = {k: np.zeros((len(specs), n)) for k in nm}
    for i, spec in enumerate(specs):
        gv, nv = graph_values(spec, gm, nm)
        for k, v in gv.items():
            g_out[k][i] = v
        for k, v in nv.items():
            n_out[k][i] = v
    return g_out, n_out


def graph_values(spec: GraphSpec, gm: set[str], nm: set[str]) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The requested metrics of one graph."""
    G = spec.to_networkx()
    n = spec.n
    nodes = range(n)
    g: dict[str, float] = {}
    out: dict[str, np.ndarray] = {}
    deg = np.array([G.degree(v) for v in nodes], dtype=float)
    if "avg_degree" in gm:
        g["avg_degree"] = 2 * G.number_of_edges() / n
    if "degree_std" in gm:
        g["degree_std"] = float(deg.std())
    if "degree_max" in gm:
        g["degree_max"] = float(deg.max())
    if "n_edges" in gm:
        g["n_edges"] = G.number_of_edges()
    if "degree" in nm:
        out["degree"] = deg
    if "avg_clustering" in gm:
        g["avg_clustering"] = nx.average_clustering(G)
    if "clustering" in nm:
        c = nx.clustering(G)
        out["clustering"] = np.array([c[v] for v in nodes], dtype=float)
    if "transitivity" in gm:
        g["transitivity"] = nx.transitivity(G)
    if "assortativity" in gm:
        g["assortativity"] = assortativity(G)
    if gm & {"avg_path_length", "diameter"}:
        lengths = [d for _, tgt in nx.all_pairs_shortest_path_length(G) for d in tgt.values() if d > 0]
        if "avg_path_length" in gm:
            g["avg_path_length"] = sum(lengths) / len(lengths) if lengths else math.nan
        if "diameter" in gm:
            g["diameter"] = max(lengths, default=0)
    if "n_components" in gm:
        g["n_components"] = nx.number_connected_components(G)
    if "global_efficiency" in gm:
        g["global_efficiency"] = nx.global_efficiency(G)
    if "betweenness" in nm:
        bc = nx.betweenness_centrality(G, normalized=True)
        out["betweenness"] = np.array([bc[v] for v in nodes], dtype=float)
    if "closeness" in nm:
        cc = nx.closeness_centrality(G)
        out["closeness"] = np.array([cc[v] for v in nodes], dtype=float)
    if "pagerank" in nm:
        pr = nx.pagerank(G, alpha=0.85, tol=PAGERANK_TOL, max_iter=100_000)
        out["pagerank"] = np.array([pr[v] for v in nodes], dtype=float)
    dag_graph = gm & {"depth", "mean_io_path_length", "n_io_paths", "n_input_fed", "n_output_fed"}
    dag_node = nm & {"in_degree", "out_degree", "depth", "height", "paths_through"}
    if dag_graph or dag_node:
        _dag_values(spec, gm, nm, g, out)
    return g, out


def assortativity(G: nx.Graph) -> float:
    """networkx's degree assortativity; NaN where undefined (no edges, or all edge ends of one degree)."""
    if G.number_of_edges() == 0:
        return math.nan
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        r = nx.degree_assortativity_coefficient(G)
    return float(r) if np.isfinite(r) else math.nan


def _dag_values(spec: GraphSpec, gm: set[str], nm: set[str], g: dict, out: dict) -> None:
    """Depth, height and exact input->output path counts on the DAG with input/output nodes."""
    dag = spec.to_dag()
    n, src, dst = spec.n, spec.n, spec.n + 1
    order = list(nx.topological_sort(dag))
    p_in = {v: 0 for v in dag}  # paths input -> v (Python ints: exact)
    l_in = {v: 0 for v in dag}  # summed lengths of those paths
    dep = {v: 0 for v in dag}  # longest path input -> v
    p_in[src] = 1
    for v in order:
        for u in dag.predecessors(v):
            p_in[v] += p_in[u]
            l_in[v] += l_in[u] + p_in[u]
            dep[v] = max(dep[v], dep[u] + 1)
    p_out = {v: 0 for v in dag}
    hgt = {v: 0 for v in dag}
    p_out[dst] = 1
    for v in reversed(order):
        for w in dag.successors(v):
            p_out[v] += p_out[w]
            hgt[v] = max(hgt[v], hgt[w] + 1)
    nodes = range(n)
    if "in_degree" in nm:
        out["in_degree"] = np.array([dag.in_degree(v) - dag.has_edge(src, v) for v in nodes], dtype=float)
    if "out_degree" in nm:
        out["out_degree"] = np.array([dag.out_degree(v) - dag.has_edge(v, dst) for v in nodes], dtype=float)
    if "depth" in nm:
        out["depth"] = np.array([dep[v] for v in nodes], dtype=float)
    if "height" in nm:
        out["height"] = np.array([hgt[v] for v in nodes], dtype=float)
    if "paths_through" in nm:
        out["paths_through"] = np.array([float(p_in[v] * p_out[v]) for v in nodes])
    if "depth" in gm:
        g["depth"] = nx.dag_longest_path_length(dag)
    if "n_io_paths" in gm:
        g["n_io_paths"] = float(p_in[dst])
    if "mean_io_path_length" in gm:
        g["mean_io_path_length"] = l_in[dst] / p_in[dst]
    if "n_input_fed" in gm:
        g["n_input_fed"] = dag.out_degree(src)
    if "n_output_fed" in gm:
        g["n_output_fed"] = dag.in_degree(dst)
