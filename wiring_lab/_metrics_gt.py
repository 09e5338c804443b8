"""graph-tool backend of :mod:`wiring_lab.metrics`, used when ``graph_tool`` is importable.

graph-tool's conventions are converted to the written definitions:
- ``betweenness(norm=True)`` already equals networkx's normalised undirected betweenness;
- closeness is computed from graph-tool's all-pairs distances with networkx's
  Wasserman-Faust scaling (graph-tool's own ``closeness`` normalises per component);
- unreachable pairs (graph-tool's int32 maximum distance) are dropped from path lengths;
- depth and height are graph-tool DAG shortest distances with edge weight -1;
- graph-tool has no path counting, so input->output path counts and lengths are triangular
  solves on its adjacency in its topological order: paths = (I - U)^-1, summed lengths =
  (I - U)^-1 U (I - U)^-1 (exact for integer counts below 2**53).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from wiring_lab.graphs import GraphSpec, stage_dag

PAGERANK_TOL = 1e-13  # graph-tool stops when the L1 change is below this


def available() -> bool:
    """Whether graph-tool can be imported here."""
    try:
        import graph_tool  # noqa: F401
    except ImportError:
        return False
    return True


def compute(
    specs: Sequence[GraphSpec], graph_metrics: Iterable[str], node_metrics: Iterable[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Metrics of equal-size graphs: graph-level arrays (B,), node-level arrays (B, N)."""
    from wiring_lab._metrics_nx import compute_per_graph

    return compute_per_graph(graph_values, specs, graph_metrics, node_metrics)


def _values(prop) -> np.ndarray:
    """A copy of a vertex property map's values (``prop.a`` is a view that dies with the map)."""
    return np.array(prop.a, dtype=float, copy=True)


def _undirected(spec: GraphSpec):
    """graph-tool undirected graph of ``spec``."""
    import graph_tool as gt

    g = gt.Graph(directed=False)
    g.add_vertex(spec.n)
    if spec.edges:
        g.add_edge_list(np.asarray(spec.edges, dtype=np.int64))
    return g


def graph_values(spec: GraphSpec, gm: set[str], nm: set[str]) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The requested metrics of one graph."""
    import graph_tool.centrality as gtc
    import graph_tool.clustering as gtcl
    import graph_tool.correlations as gtco
    import graph_tool.topology as gtt

    g = _undirected(spec)
    n = spec.n
    g_out: dict[str, float] = {}
    out: dict[str, np.ndarray] = {}
    deg = _values(g.degree_property_map("total"))
    if "avg_degree" in gm:
        g_out["avg_degree"] = float(deg.mean())
    if "degree_std" in gm:
        g_out["degree_std"] = float(deg.std())
    if "degree_max" in gm:
        g_out["degree_max"] = float(deg.max())
    if "n_edges" in gm:
        g_out["n_edges"] = float(g.num_edges())
    if "degree" in nm:
        out["degree"] = deg
    if gm & {"avg_clustering"} or "clustering" in nm:
        local = _values(gtcl.local_clustering(g))  # 0 where degree < 2
        if "clustering" in nm:
            out["clustering"] = local
        if "avg_clustering" in gm:
            g_out["avg_clustering"] = float(local.mean())
    if "transitivity" in gm:
        triads = float((deg * (deg - 1)).sum())
        g_out["transitivity"] = float(gtcl.global_clustering(g)[0]) if triads > 0 else 0.0
    if "assortativity" in gm:
        r = gtco.scalar_assortativity(g, "total")[0] if g.num_edges() else math.nan
        g_out["assortativity"] = float(r) if np.isfinite(r) else math.nan
    if gm & {"avg_path_length", "diameter", "global_efficiency", "n_components"} or "closeness" in nm:
        dist = gtt.shortest_distance(g).get_2d_array(range(n)).astype(float)  # (N, N)
        finite = (dist < np.iinfo(np.int32).max) & ~np.eye(n, dtype=bool)
        d = np.where(finite, dist, 0.0)
        if "avg_path_length" in gm:
            g_out["avg_path_length"] = float(d.sum() / finite.sum()) if finite.any() else math.nan
        if "diameter" in gm:
            g_out["diameter"] = float(d.max())
        if "global_efficiency" in gm:
            inv = np.where(finite, 1.0 / np.where(finite, dist, 1.0), 0.0)
            g_out["global_efficiency"] = float(inv.sum() / (n * (n - 1))) if n > 1 else 0.0
        if "n_components" in gm:
            g_out["n_components"] = float(len(np.unique(_values(gtt.label_components(g)[0]))))
        if "closeness" in nm:
            r = finite.sum(1).astype(float)
            tot = d.sum(1)
            out["closeness"] = np.where(tot > 0, r / np.where(tot > 0, tot, 1) * r / max(n - 1, 1), 0.0)
    if "betweenness" in nm:
        out["betweenness"] = _values(gtc.betweenness(g, norm=True)[0])
    if "pagerank" in nm:
        out["pagerank"] = _values(gtc.pagerank(g, damping=0.85, epsilon=PAGERANK_TOL, max_iter=0))
    dag_graph = gm & {"depth", "mean_io_path_length", "n_io_paths", "n_input_fed", "n_output_fed"}
    dag_node = nm & {"in_degree", "out_degree", "depth", "height", "paths_through"}
    if dag_graph or dag_node:
        _dag_values(spec, gm, nm, g_out, out)
    return g_out, out


def _dag_values(spec: GraphSpec, gm: set[str], nm: set[str], g_out: dict, out: dict) -> None:
    """Depth, height and input->output path counts on the graph-tool DAG with input/output nodes."""
    import graph_tool as gt
    import graph_tool.topology as gtt
    from scipy.linalg import solve_triangular

    n, src, dst = spec.n, spec.n, spec.n + 1
    sd = stage_dag(spec)
    edges = list(spec.edges) + [(src, v) for v in sd.input_fed] + [(v, dst) for v in sd.output_fed]
    dag = gt.Graph(directed=True)
    dag.add_vertex(n + 2)
    dag.add_edge_list(np.asarray(edges, dtype=np.int64))
    minus_one = dag.new_edge_property("double", val=-1.0)
    if "in_degree" in nm:
        out["in_degree"] = dag.get_in_degrees(np.arange(n)).astype(float) - np.isin(np.arange(n), sd.input_fed)
    if "out_degree" in nm:
        out["out_degree"] = dag.get_out_degrees(np.arange(n)).astype(float) - np.isin(np.arange(n), sd.output_fed)
    if gm & {"depth"} or "depth" in nm:
        dep = -_values(gtt.shortest_distance(dag, source=dag.vertex(src), weights=minus_one, dag=True))
        if "depth" in nm:
            out["depth"] = np.asarray(dep[:n], dtype=float)
        if "depth" in gm:
            g_out["depth"] = float(dep[dst])
    if "height" in nm:
        rev = gt.GraphView(dag, reversed=True)
        hgt = -_values(gtt.shortest_distance(rev, source=rev.vertex(dst), weights=minus_one, dag=True))
        out["height"] = np.asarray(hgt[:n], dtype=float)
    if gm & {"n_io_paths", "mean_io_path_length"} or "paths_through" in nm:
        order = np.asarray(gtt.topological_sort(dag))
        pos = np.empty_like(order)
        pos[order] = np.arange(order.size)
        up = np.zeros((n + 2, n + 2))  # adjacency in topological order: strictly upper triangular
        e = dag.get_edges()
        up[pos[e[:, 0]], pos[e[:, 1]]] = 1.0
        lower = (np.eye(n + 2) - up).T
        e_in = np.zeros(n + 2)
        e_in[pos[src]] = 1.0
        p_in = solve_triangular(lower, e_in, lower=True)  # paths input -> v
        if "paths_through" in nm:
            e_out = np.zeros(n + 2)
            e_out[pos[dst]] = 1.0
            p_out = solve_triangular(lower.T, e_out, lower=False)  # paths v -> output
            out["paths_through"] = (p_in * p_out)[pos[:n]]
        if "n_io_paths" in gm:
            g_out["n_io_paths"] = float(p_in[pos[dst]])
        if "mean_io_path_length" in gm:
            l_in = solve_triangular(lower, up.T @ p_in, lower=True)  # summed path lengths input -> v
            g_out["mean_io_path_length"] = float(l_in[pos[dst]] / p_in[pos[dst]])
    if "n_input_fed" in gm:
        g_out["n_input_fed"] = float(len(sd.input_fed))
    if "n_output_fed" in gm:
        g_out["n_output_fed"] = float(len(sd.output_fed))
