"""Bit-parallel CPU kernels of the graph-level metrics, for populations of small graphs (N <= 64).

Part of the ``tensor`` backend: on a CPU, graph-level metrics of graphs with at most 64 nodes
run here instead of on torch, with the definitions of :mod:`wiring_lab.metrics` and the same
numbers. Each node's neighbourhood is one bit mask (uint32 for N <= 32, else uint64);
breadth-first search from every source advances a layer with table look-ups (the "four
Russians" trick: per graph, the union of the neighbourhoods of every set of 8 consecutive nodes
is tabulated once), so a layer costs a few integer operations per (graph, source) instead of an
N x N matrix product. Clustering and assortativity use one small float32 matrix product (exact:
entries <= N^2); DAG path counts are accumulated in float64 in index order (the topological
order of every stage DAG), over a graphs-last copy so each step is one row operation.

Pure numpy, so it needs no torch import.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MAX_NODES = 64
GRAPH_METRICS = {
    "avg_degree", "degree_std", "degree_max", "n_edges", "avg_clustering", "transitivity", "assortativity",
    "avg_path_length", "n_components", "diameter", "global_efficiency",
    "depth", "mean_io_path_length", "n_io_paths", "n_input_fed", "n_output_fed",
}  # fmt: skip
_POP16 = np.unpackbits(np.arange(1 << 16, dtype="<u2").view(np.uint8).reshape(-1, 2), axis=1).sum(1, dtype=np.uint8)  # popcount of 16-bit words
_BFS = {"avg_path_length", "n_components", "diameter", "global_efficiency"}
_DAG = {"depth", "mean_io_path_length", "n_io_paths", "n_input_fed", "n_output_fed"}


def supported(n: int, graph_metrics: set[str], node_metrics: set[str]) -> bool:
    """Whether these kernels cover the request: graph-level metrics only, 2 <= N <= 64."""
    return 2 <= n <= MAX_NODES and not node_metrics and set(graph_metrics) <= GRAPH_METRICS


# Graphs per kernel call: keeps the BFS tables (2 KB per graph of N=32) in the CPU caches.
_CHUNK = 256


def compute_batched(adj: np.ndarray, graph_metrics: set[str], workers: int | None = None) -> dict[str, np.ndarray]:
    """:func:`compute` over cache-sized chunks, side by side in threads (numpy releases the GIL)."""
    if adj.shape[0] == 0:
        return {k: np.zeros(0) for k in graph_metrics}
    starts = range(0, adj.shape[0], _CHUNK)
    workers = workers or min(len(starts), len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    run = lambda s: compute(adj[s : s + _CHUNK], graph_metrics)  # noqa: E731
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(run, starts))
    else:
        parts = [run(s) for s in starts]
    return {k: np.concatenate([p[k] for p in parts]) for k in graph_metrics}


def _popcount(x: np.ndarray) -> np.ndarray:
    """Set bits of every uint32 / uint64 in ``x`` (same shape, int64)."""
    words = x.view(np.uint16).reshape(*x.shape, x.itemsize // 2)
    return _POP16[words].sum(-1, dtype=np.int64)


def _masks(adj: np.ndarray) -> np.ndarray:
    """Neighbourhood bit masks (B, N) of a (B, N, N) bool adjacency: bit u of row v = edge (v, u).

    uint32 for N <= 32 (half the memory traffic of uint64), else uint64.
    """
    b, n, _ = adj.shape
    width = 4 if n <= 32 else 8
    packed = np.zeros((b, n, width), dtype=np.uint8)
    packed[..., : (n + 7) // 8] = np.packbits(adj, axis=-1, bitorder="little")
    return packed.view(f"<u{width}")[..., 0].astype(np.uint32 if width == 4 else np.uint64)


def compute(adj: np.ndarray, graph_metrics: set[str]) -> dict[str, np.ndarray]:
    """Graph-level metrics (B,) float64 of a (B, N, N) bool symmetric adjacency with a zero diagonal."""
    gm = set(graph_metrics)
    adj = np.ascontiguousarray(adj, dtype=bool)
    b, n, _ = adj.shape
    out: dict[str, np.ndarray] = {}
    deg = adj.sum(-1, dtype=np.int64).astype(np.float64)  # (B, N)
    if "avg_degree" in gm:
        out["avg_degree"] = deg.mean(-1)
    if "degree_std" in gm:
        out["degree_std"] = deg.std(-1)
    if "degree_max" in gm:
        out["degree_max"] = deg.max(-1)
    if "n_edges" in gm:
        out["n_edges"] = deg.sum(-1) / 2
    if gm & {"avg_clustering", "transitivity", "assortativity"}:
        a32 = adj.astype(np.float32)
        if gm & {"avg_clustering", "transitivity"}:
            closed = ((a32 @ a32) * a32).sum(-1, dtype=np.float64)  # (A^3)_ii: twice the triangles at i
            triads = deg * (deg - 1)
            if "avg_clustering" in gm:
                local = np.divide(closed, triads, out=np.zeros_like(closed), where=triads > 0)
                out["avg_clustering"] = local.mean(-1)
            if "transitivity" in gm:
                t = triads.sum(-1)
                out["transitivity"] = np.divide(closed.sum(-1), t, out=np.zeros_like(t), where=t > 0)
        if "assortativity" in gm:
            m2, s2, s3 = deg.sum(-1), (deg * deg).sum(-1), (deg**3).sum(-1)
            sxy = ((a32 @ deg.astype(np.float32)[..., None])[..., 0].astype(np.float64) * deg).sum(-1)
            num, den = m2 * sxy - s2 * s2, m2 * s3 - s2 * s2
            out["assortativity"] = np.divide(num, den, out=np.full_like(den, np.nan), where=den > 0)
    if gm & _BFS:
        out.update(_bfs(_masks(adj), n, gm))
    if gm & _DAG:
        out.update(_dag(adj, gm))
    return out


def _bfs(nb: np.ndarray, n: int, gm: set[str]) -> dict[str, np.ndarray]:
    """Distance sums from every source by bit-parallel BFS; nb: (B, N) neighbourhood masks."""
    b = nb.shape[0]
    nbytes = (n + 7) // 8
    # table[g, j, x]: union of the neighbourhoods of nodes 8j + i for the bits i set in byte x
    word = nb.dtype.type
    table = np.zeros((b, nbytes, 256), dtype=word)
    for j in range(nbytes):
        for bit in range(min(8, n - 8 * j)):
            lo = 1 << bit
            table[:, j, lo : 2 * lo] = table[:, j, :lo] | nb[:, 8 * j + bit, None]
    flat = table.reshape(-1)
    offset = (np.arange(b, dtype=np.intp)[:, None, None] * (nbytes * 256)) + np.arange(nbytes, dtype=np.intp) * 256  # (B, 1, bytes)
    reach = np.broadcast_to(word(1) << np.arange(n, dtype=word), (b, n)).copy()  # s reaches s
    seen = np.ones((b, n), dtype=np.int64)  # nodes reached from s, s included
    seen_sum = np.zeros((b, n), dtype=np.int64)  # sum over layers k < K of seen_k
    inv_sum = np.zeros((b, n))
    diameter = np.zeros(b)
    layers = 0
    for k in range(1, n):
        idx = reach.view(np.uint8).reshape(b, n, reach.itemsize)[..., :nbytes] + offset  # (B, N, bytes)
        parts = flat[idx]  # (B, N, bytes)
        nxt = reach | parts[..., 0]
        for j in range(1, nbytes):
            nxt |= parts[..., j]
        total = _popcount(nxt)
        count = total - seen  # (B, N): nodes at distance exactly k
        grew = count.any(-1)
        if not grew.any():
            break
        seen_sum += seen
        layers = k
        reach, seen = nxt, total
        inv_sum += count / k
        diameter[grew] = k
        if (seen == n).all():
            break
    # sum of distances from s: sum over k < K of (nodes reached in the end - nodes within k)
    dist_sum = layers * seen - seen_sum
    out = {}
    pairs = (seen - 1).sum(-1).astype(np.float64)
    if "avg_path_length" in gm:
        out["avg_path_length"] = np.divide(dist_sum.sum(-1).astype(np.float64), pairs, out=np.full_like(pairs, np.nan), where=pairs > 0)
    if "n_components" in gm:
        low = reach & (~reach + word(1))  # lowest set bit: the smallest node id of s's component
        first = np.log2(low.astype(np.float64)).astype(np.int64)
        out["n_components"] = (first == np.arange(n)).sum(-1).astype(np.float64)
    if "diameter" in gm:
        out["diameter"] = diameter
    if "global_efficiency" in gm:
        out["global_efficiency"] = inv_sum.sum(-1) / (n * (n - 1))
    return out


def _dag(adj: np.ndarray, gm: set[str]) -> dict[str, np.ndarray]:
    """Input -> output path counts, summed lengths and depth, node by node in index order."""
    b, n, _ = adj.shape
    lower = np.tril(np.ones((n, n), dtype=bool), -1)
    indeg = (adj & lower).sum(-1)  # (B, N): neighbours with a lower index
    outdeg = (adj & lower.T).sum(-1)
    src, snk = indeg == 0, outdeg == 0
    at = np.ascontiguousarray(adj.transpose(1, 2, 0), dtype=np.float64)  # (N, N, B): rows contiguous over graphs
    s = src.T.astype(np.float64)  # (N, B)
    count = np.zeros((n, b))  # paths input -> v
    length_plus = np.zeros((n, b))  # their summed lengths, plus one edge each (the edge out of v)
    longest = np.zeros((n, b))  # edges on the longest input -> v path
    for v in range(n):
        pv = at[v, :v]  # (v, B): predecessors of v
        count[v] = (pv * count[:v]).sum(0) + s[v]
        length_plus[v] = (pv * length_plus[:v]).sum(0) + s[v] + count[v]
        longest[v] = (pv * longest[:v]).max(0, initial=0.0) + 1.0  # a source: 1 (the input edge)
    count, length_plus, longest = count.T, length_plus.T, longest.T
    out = {}
    paths = (count * snk).sum(-1)
    if "n_io_paths" in gm:
        out["n_io_paths"] = paths
    if "mean_io_path_length" in gm:
        out["mean_io_path_length"] = (length_plus * snk).sum(-1) / paths
    if "depth" in gm:
        out["depth"] = ((longest + 1.0) * snk).max(-1)  # a longest input -> output path leaves through a sink
    if "n_input_fed" in gm:
        out["n_input_fed"] = src.sum(-1).astype(np.float64)
    if "n_output_fed" in gm:
        out["n_output_fed"] = snk.sum(-1).astype(np.float64)
    return out
