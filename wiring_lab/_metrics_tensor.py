"""Batched tensor backend of :mod:`wiring_lab.metrics`: a population as one (B, N, N) tensor.

No Python loop runs over graphs: breadth-first search is a sequence of batched matmuls (one per
distance layer), Brandes' dependency accumulation walks the same layers backwards, and DAG path
counts are layer-by-layer matmuls from the input node (and back from the output node). The batch
is cut into chunks so that memory stays bounded. Works on any torch device; float64 by default,
which keeps every count exact below 2**53 and every other number within a few ulps of networkx.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import torch

from wiring_lab._io import torch_threads

# Which intermediate results a metric needs.
_NEEDS_BFS_GRAPH = {"avg_path_length", "n_components", "diameter", "global_efficiency"}
_NEEDS_BFS_NODE = {"closeness", "betweenness"}
_NEEDS_DAG_GRAPH = {"depth", "mean_io_path_length", "n_io_paths", "n_input_fed", "n_output_fed"}
_NEEDS_DAG_NODE = {"in_degree", "out_degree", "depth", "height", "paths_through"}

# Elements of one (chunk, N, N) tensor (512 kB in float64): small chunks stay in the CPU caches,
# which beats one large batch; a GPU gets larger chunks (see default_chunk).
_CHUNK_ELEMENTS = 1 << 16
# Below this N, 0/1 matrices and their products (entries <= N, row sums <= N^2) are exact in float32.
_EXACT32_NODES = 4096


def default_chunk(n: int, device: torch.device | str = "cpu") -> int:
    """Graphs per chunk for N-node graphs: cache-sized on a CPU, 64x larger on a GPU."""
    scale = 1 if torch.device(device).type == "cpu" else 64
    return max(1, scale * _CHUNK_ELEMENTS // (n * n))


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
    on_cpu = torch.device(device).type == "cpu"
    # On a CPU, chunks run side by side in threads (torch ops release the GIL), one per core
    # torch would use, each single-threaded; results are identical whatever the thread count.
    workers = max(1, min(torch.get_num_threads(), os.cpu_count() or 1)) if on_cpu else 1
    chunk = chunk or default_chunk(n, device) * workers
    graph_parts: dict[str, list[np.ndarray]] = {k: [] for k in gm}
    node_parts: dict[str, list[np.ndarray]] = {k: [] for k in nm}

    def run(start: int) -> tuple[dict, dict]:
        a = torch.as_tensor(adj[start : start + chunk], device=device).to(dtype)
        g_out, n_out = _compute_chunk(a, gm, nm)
        return {k: v.cpu().numpy() for k, v in g_out.items()}, {k: v.cpu().numpy() for k, v in n_out.items()}

    starts = range(0, b, chunk)
    # Each op single-threaded: on cache-sized chunks torch's intra-op threads only spin-wait
    # (10x slower on the shared 2-core machine); parallelism comes from the chunk threads instead.
    with torch_threads(1 if on_cpu else None):
        if workers > 1 and len(starts) > 1:
            with ThreadPoolExecutor(workers) as pool:
                results = list(pool.map(run, starts))
        else:
            results = [run(s) for s in starts]
    for g_out, n_out in results:
        for k, v in g_out.items():
            graph_parts[k].append(v)
        for k, v in n_out.items():
            node_parts[k].append(v)
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
        a32 = a.to(torch.float32) if n <= _EXACT32_NODES else a  # counts <= N^2: exact in float32
        closed = ((a32 @ a32) * a32).sum(-1).to(a.dtype)  # (A^3)_ii: twice the triangles at i
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
        # Without betweenness no path counts are needed: reachability layers, 0/1 in float32 (exact).
        bfs = _bfs(a, keep_layers=True) if "betweenness" in nm else _reach_bfs(a)
        if "avg_path_length" in gm:
            pairs = bfs.pairs.sum(-1)
            g["avg_path_length"] = torch.where(pairs > 0, bfs.dist_sum.sum(-1) / pairs.clamp(min=1), torch.full_like(pairs, math.nan))
        if "n_components" in gm:
            first = (bfs.sigma > 0).to(torch.uint8).argmax(-1)  # smallest node id in each node's component
            g["n_components"] = (first == torch.arange(n, device=a.device)).sum(-1).to(a.dtype)
        if "diameter" in gm:
            g["diameter"] = bfs.eccentricity.amax(-1)
        if "global_efficiency" in gm:
            g["global_efficiency"] = bfs.inv_dist_sum.sum(-1) / (n * (n - 1)) if n > 1 else bfs.inv_dist_sum.sum(-1) * 0
        if "closeness" in nm:
            r, tot = bfs.pairs, bfs.dist_sum  # per source: reachable nodes (itself excluded), summed distances
            c = torch.where(tot > 0, r / tot.clamp(min=1), torch.zeros_like(tot))
            out["closeness"] = c * r / (n - 1) if n > 1 else torch.zeros_like(c)
        if "betweenness" in nm:
            out["betweenness"] = _betweenness(a, bfs)
    if gm & _NEEDS_DAG_GRAPH or nm & _NEEDS_DAG_NODE:
        _dag_metrics(a, gm, nm, g, out)
    if "pagerank" in nm:
        out["pagerank"] = _pagerank(a, deg)
    return g, out


@dataclass
class _BFS:
    """Breadth-first search from every source of a batch; per-source sums are (B, N)."""

    sigma: torch.Tensor  # (B, N, N): number of shortest s-t paths
    layers: list[torch.Tensor]  # layers[k - 1]: (B, N, N) 0/1 float, t at distance k from s
    pairs: torch.Tensor  # (B, N): nodes reachable from s, s excluded
    dist_sum: torch.Tensor  # (B, N): summed distances from s to the nodes it reaches
    inv_dist_sum: torch.Tensor  # (B, N): summed 1 / distance
    eccentricity: torch.Tensor  # (B, N): largest finite distance from s


def _bfs(a: torch.Tensor, keep_layers: bool) -> _BFS:
    """Distance layers and shortest-path counts from every source: one batched matmul per layer."""
    b, n, _ = a.shape
    sigma = torch.eye(n, dtype=a.dtype, device=a.device).expand(b, n, n).clone()  # shortest s-v paths
    unreached = 1.0 - sigma  # 0/1 float masks throughout: no bool <-> float copies
    layer = sigma.clone()  # sigma restricted to the nodes at the current distance from s
    zeros = torch.zeros((b, n), dtype=a.dtype, device=a.device)
    pairs, dist_sum, inv_sum, ecc = zeros.clone(), zeros.clone(), zeros.clone(), zeros.clone()
    layers = []
    for k in range(1, n):
        into = torch.bmm(layer, a)  # paths arriving from the current layer (>= 0)
        newf = into.sign().mul_(unreached)  # 1 where t is first reached at distance k
        count = newf.sum(-1)  # (B, N): nodes at distance k from each source
        if not bool(count.any()):
            break
        layer = into.mul_(newf)
        sigma += layer
        unreached -= newf
        pairs += count
        dist_sum += k * count
        inv_sum += count / k
        ecc.masked_fill_(count > 0, float(k))
        if keep_layers:
            layers.append(newf)
        if bool((pairs == n - 1).all()):  # every source reached everything: skip the empty last layer
            break
    return _BFS(sigma, layers, pairs, dist_sum, inv_sum, ecc)


def _reach_bfs(a: torch.Tensor) -> _BFS:
    """Distance sums from every source without path counts: ``sigma`` is 0/1 reachability.

    One batched matmul per distance layer on 0/1 reachability matrices (float32 where exact).
    """
    b, n, _ = a.shape
    work = a.to(torch.float32) if n <= _EXACT32_NODES else a
    reach = torch.eye(n, dtype=work.dtype, device=a.device).expand(b, n, n).clone()  # s reaches t within k
    seen = torch.ones((b, n), dtype=a.dtype, device=a.device)  # nodes reached from s, s included
    zeros = torch.zeros((b, n), dtype=a.dtype, device=a.device)
    dist_sum, inv_sum, ecc = zeros.clone(), zeros.clone(), zeros.clone()
    for k in range(1, n):
        nxt = torch.baddbmm(reach, reach, work).clamp_(max=1)  # reach + one more edge
        total = nxt.sum(-1).to(a.dtype)
        count = total - seen  # (B, N): nodes at distance exactly k
        if not bool(count.any()):
            break
        reach, seen = nxt, total
        dist_sum += k * count
        inv_sum += count / k
        ecc.masked_fill_(count > 0, float(k))
        if bool((seen == n).all()):
            break
    return _BFS(reach, [], seen - 1, dist_sum, inv_sum, ecc)


def _betweenness(a: torch.Tensor, bfs: _BFS) -> torch.Tensor:
    """Brandes' betweenness, summed over ordered sources, normalised by (N-1)(N-2) as networkx's.

    With t(s, w) = (1 + delta_s(w)) / sigma_sw, Brandes' recursion becomes
    delta_s(v) = sigma_sv * back(s, v) and t(s, v) = 1 / sigma_sv + back(s, v), where
    back(s, v) sums t(s, w) over the neighbours w of v one layer further from s.
    """
    b, n, _ = a.shape
    inv_sigma = bfs.sigma.clamp(min=1).reciprocal()  # sigma = 0 only where unreachable (masked)
    acc = torch.zeros_like(bfs.sigma)  # back(s, v), each at v's own layer
    for k in range(len(bfs.layers), 1, -1):
        coef = (inv_sigma + acc).mul_(bfs.layers[k - 1]) if k < len(bfs.layers) else inv_sigma * bfs.layers[k - 1]  # t on layer k
        back = torch.bmm(coef, a).mul_(bfs.layers[k - 2])  # onto the layer at distance k - 1
        acc += back
    bc = (bfs.sigma * acc).sum(1)  # sum over sources s of delta_s(v)
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
    if nm & {"height", "paths_through"}:
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
        g["depth"] = ((dep + 1) * snk).amax(-1)  # a longest input -> output path leaves through a sink
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
