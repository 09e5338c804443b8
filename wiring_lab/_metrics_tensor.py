"""Batched tensor backend of :mod:`wiring_lab.metrics`: a population as one (B, N, N) tensor.

No Python loop runs over graphs: breadth-first search is a sequence of batched matmuls (one per
distance layer), Brandes' dependency accumulation walks the same layers backwards, and DAG path
counts are layer-by-layer matmuls from the input node (and back from the output node). The batch
is cut into chunks so that memory stays bounded. Works on any torch device; float64 by default,
which keeps every count exact below 2**53 and every other number within a few ulps of networkx.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import torch

# Which intermediate results a metric needs.
_NEEDS_BFS_GRAPH = {"avg_path_length", "n_components", "diameter", "global_efficiency"}
_NEEDS_BFS_NODE = {"closeness", "betweenness"}
_NEEDS_DAG_GRAPH = {"depth", "mean_io_path_length", "n_io_paths", "n_input_fed", "n_output_fed"}
_NEEDS_DAG_NODE = {"in_degree", "out_degree", "depth", "height", "paths_through"}

# Elements of one (chunk, N, N) tensor; a handful of them are alive at once.
_CHUNK_ELEMENTS = 1 << 22


def default_chunk(n: int) -> int:
    """Graphs per chunk for N-node graphs (bounds memory to a few hundred MB in float64)."""
    return max(1, _CHUNK_ELEMENTS // (n * n))


def compute(
    adj: np.ndarray,
    graph_metrics: Iterable[str],
    node_metrics: Iterable[str],
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    chunk: int | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Metrics of a batch of undirected graphs ``adj`` (B, N, N) bool: graph-level (B,), node-level (B, N)."""
    gm, nm = set(graph_metrics), set(node_metrics)
    b, n, _ = adj.shape
    chunk = chunk or default_chunk(n)
    graph_parts: dict[str, list[np.ndarray]] = {k: [] for k in gm}
    node_parts: dict[str, list[np.ndarray]] = {k: [] for k in nm}
    for start in range(0, b, chunk):
        a = torch.as_tensor(adj[start : start + chunk], device=device).to(dtype)
        g_out, n_out = _compute_chunk(a, gm, nm)
        for k, v in g_out.items():
            graph_parts[k].append(v.cpu().numpy())
        for k, v in n_out.items():
            node_parts[k].append(v.cpu().numpy())
    cat = lambda parts, shape: np.concatenate(parts) if parts else np.zeros(shape)  # noqa: E731
    return (
        {k: cat(v, (0,)) for k, v in graph_parts.items()},
        {k: cat(v, (0, n)) for k, v in node_parts.items()},
    )


def _compute_chunk(a: torch.Tensor, gm: set[str], nm: set[str]) -> tuple[dict, dict]:
    """All requested metrics of one chunk ``a`` (B, N, N), symmetric 0/1, zero diagonal."""
    g: dict[str, torch.Tensor] = {}
    out: dict[str, torch.Tensor] = {}
    b, n, _ = a.shape
    deg = a.sum(-1)  # (B, N)
    if "avg_degree" in gm:
        g["avg_degree"] = deg.mean(-1)
    if "degree_std" in gm:
        g["degree_std"] = deg.std(-1, unbiased=False) if n > 1 else torch.zeros_like(deg[:, 0])
    if "degree_max" in gm:
        g["degree_max"] = deg.amax(-1)
    if "n_edges" in gm:
        g["n_edges"] = deg.sum(-1) / 2
    if "degree" in nm:
        out["degree"] = deg
    if gm & {"avg_clustering", "transitivity"} or "clustering" in nm:
        closed = ((a @ a) * a).sum(-1)  # (A^3)_ii: twice the triangles at i
        triads = deg * (deg - 1)  # twice the paths of length 2 centred at i
        local = torch.where(triads > 0, closed / triads.clamp(min=1), torch.zeros_like(closed))
        if "clustering" in nm:
            out["clustering"] = local
        if "avg_clustering" in gm:
            g["avg_clustering"] = local.mean(-1)
        if "transitivity" in gm:
            t = triads.sum(-1)
            g["transitivity"] = torch.where(t > 0, closed.sum(-1) / t.clamp(min=1), torch.zeros_like(t))
    if "assortativity" in gm:
        g["assortativity"] = _assortativity(a, deg)
    if gm & _NEEDS_BFS_GRAPH or nm & _NEEDS_BFS_NODE:
        dist, sigma, reached = _bfs(a)
        offdiag = ~torch.eye(n, dtype=torch.bool, device=a.device)
        finite = reached & offdiag  # (B, N, N) connected ordered pairs s != t
        dsum = torch.where(finite, dist, torch.zeros_like(dist))
        if "avg_path_length" in gm:
            pairs = finite.sum((-1, -2)).to(a.dtype)
            g["avg_path_length"] = torch.where(pairs > 0, dsum.sum((-1, -2)) / pairs.clamp(min=1), torch.full_like(pairs, math.nan))
        if "n_components" in gm:
            first = reached.to(torch.uint8).argmax(-1)  # smallest node id in each node's component
            g["n_components"] = (first == torch.arange(n, device=a.device)).sum(-1).to(a.dtype)
        if "diameter" in gm:
            g["diameter"] = dsum.amax((-1, -2))
        if "global_efficiency" in gm:
            inv = torch.where(finite, 1.0 / dist.clamp(min=1), torch.zeros_like(dist))
            g["global_efficiency"] = inv.sum((-1, -2)) / (n * (n - 1)) if n > 1 else inv.sum((-1, -2)) * 0
        if "closeness" in nm:
            r = finite.sum(-1).to(a.dtype)  # nodes reachable from s, s excluded
            tot = dsum.sum(-1)
            c = torch.where(tot > 0, r / tot.clamp(min=1), torch.zeros_like(tot))
            out["closeness"] = c * r / (n - 1) if n > 1 else torch.zeros_like(c)
        if "betweenness" in nm:
            out["betweenness"] = _betweenness(a, dist, sigma)
    if gm & _NEEDS_DAG_GRAPH or nm & _NEEDS_DAG_NODE:
        _dag_metrics(a, gm, nm, g, out)
    if "pagerank" in nm:
        out["pagerank"] = _pagerank(a, deg)
    return g, out


def _bfs(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All-pairs hop distances (inf if unreachable), shortest-path counts and reachability, (B, N, N)."""
    b, n, _ = a.shape
    reached = torch.eye(n, dtype=torch.bool, device=a.device).expand(b, n, n).clone()
    dist = torch.full((b, n, n), math.inf, dtype=a.dtype, device=a.device)
    dist.diagonal(dim1=1, dim2=2).fill_(0.0)
    sigma = reached.to(a.dtype)  # sigma[s, v]: number of shortest s-v paths
    layer = sigma.clone()  # sigma restricted to the nodes at the current distance from s
    for k in range(1, n):
        into = torch.bmm(layer, a)  # paths arriving from the current layer
        new = into > 0
        new &= ~reached
        if not bool(new.any()):
            break
        layer = into.mul_(new)
        sigma += layer
        dist.masked_fill_(new, float(k))
        reached |= new
    return dist, sigma, reached


def _betweenness(a: torch.Tensor, dist: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Brandes' betweenness, summed over ordered sources, normalised by (N-1)(N-2) as networkx's."""
    b, n, _ = a.shape
    delta = torch.zeros_like(sigma)  # delta[s, v]: dependency of source s on v
    finite_max = dist.masked_fill(torch.isinf(dist), 0.0).amax() if dist.numel() else 0
    inv_sigma = 1.0 / sigma.clamp(min=1)
    outer = dist == float(finite_max)
    for k in range(int(finite_max), 1, -1):
        inner = dist == float(k - 1)
        coef = (delta + 1.0).mul_(inv_sigma).mul_(outer)  # nonzero on the layer at distance k
        back = torch.bmm(coef, a)  # [s, v] = sum over neighbours w of v one layer further out
        delta += back.mul_(sigma).mul_(inner)
        outer = inner
    bc = delta.sum(1)  # sum over sources s; delta[s, s] stays 0
    if n > 2:
        bc = bc / ((n - 1) * (n - 2))
    return bc


def _assortativity(a: torch.Tensor, deg: torch.Tensor) -> torch.Tensor:
    """Degree assortativity (Pearson over edge ends, both directions); NaN where degrees do not vary."""
    m2 = deg.sum(-1)  # 2|E|: edge ends
    s2 = (deg * deg).sum(-1)  # sum over edge ends of the end's degree
    s3 = (deg**3).sum(-1)
    sxy = (deg.unsqueeze(-1) * a * deg.unsqueeze(-2)).sum((-1, -2))
    # integer-valued numerator/denominator: exact in float64 for any realistic graph
    num = m2 * sxy - s2 * s2
    den = m2 * s3 - s2 * s2
    return torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), torch.full_like(den, math.nan))


def _dag_metrics(a: torch.Tensor, gm: set[str], nm: set[str], g: dict, out: dict) -> None:
    """Depth, height and input->output path counts of the stage DAGs (edges low -> high)."""
    b, n, _ = a.shape
    up = torch.triu(a, diagonal=1)  # (B, N, N) DAG edges u -> v, u < v
    indeg, outdeg = up.sum(1), up.sum(2)  # (B, N)
    src = (indeg == 0).to(a.dtype)  # fed by the input node
    snk = (outdeg == 0).to(a.dtype)  # read by the output node
    p_in, l_in, dep = _walk_layers(src, up, transpose=False)
    p_out, _, hgt = _walk_layers(snk, up, transpose=True)
    if "in_degree" in nm:
        out["in_degree"] = indeg
    if "out_degree" in nm:
        out["out_degree"] = outdeg
    if "depth" in nm:
        out["depth"] = dep
    if "height" in nm:
        out["height"] = hgt
    if "paths_through" in nm:
        out["paths_through"] = p_in * p_out
    paths = (p_in * snk).sum(-1)  # every path ends with an edge into the output node
    if "n_io_paths" in gm:
        g["n_io_paths"] = paths
    if "mean_io_path_length" in gm:
        g["mean_io_path_length"] = ((l_in + p_in) * snk).sum(-1) / paths
    if "depth" in gm:
        g["depth"] = (dep + hgt).amax(-1)
    if "n_input_fed" in gm:
        g["n_input_fed"] = src.sum(-1)
    if "n_output_fed" in gm:
        g["n_output_fed"] = snk.sum(-1)


def _walk_layers(start: torch.Tensor, up: torch.Tensor, transpose: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """From ``start`` (B, N), walk DAG edges layer by layer: path counts, summed lengths, longest length."""
    count = torch.zeros_like(start)
    length = torch.zeros_like(start)
    longest = torch.zeros_like(start)
    x = start  # x[v]: number of paths of exactly k edges from the input node to v
    step = up.transpose(1, 2) if transpose else up
    for k in range(1, up.shape[-1] + 1):
        count = count + x
        length = length + k * x
        longest = torch.where(x > 0, float(k), longest)
        x = (x.unsqueeze(1) @ step).squeeze(1)
        if not bool(x.any()):
            break
    return count, length, longest


def _pagerank(a: torch.Tensor, deg: torch.Tensor, alpha: float = 0.85) -> torch.Tensor:
    """PageRank of the undirected graph, solved exactly: (I - alpha M) x = (1 - alpha) / N, sum x = 1."""
    b, n, _ = a.shape
    dangling = deg == 0  # isolated nodes spread their rank uniformly, as in networkx
    trans = torch.where(dangling.unsqueeze(-1), torch.full_like(a, 1.0 / n), a / deg.clamp(min=1).unsqueeze(-1))
    # trans[u, v]: probability of stepping u -> v; x = alpha trans^T x + (1 - alpha)/N
    eye = torch.eye(n, dtype=a.dtype, device=a.device).expand(b, n, n)
    rhs = torch.full((b, n, 1), (1.0 - alpha) / n, dtype=a.dtype, device=a.device)
    x = torch.linalg.solve(eye - alpha * trans.transpose(1, 2), rhs).squeeze(-1)
    return x / x.sum(-1, keepdim=True)
