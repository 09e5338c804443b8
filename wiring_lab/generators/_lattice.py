"""Ring lattice plus clockwise rewiring, vectorised over a batch (WS and WS-flex batched forms)."""

from __future__ import annotations

import numpy as np


def lattice_rewire(forward: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Ring lattice with ``forward[g, v]`` edges (v, v+1..v+forward) per node, then clockwise rewiring.

    For i = 1..max(forward), for v = 0..N-1 (every step vectorised over the graphs that have the
    edge (v, v+i)): with probability ``p`` the edge becomes (v, w), w uniform among the nodes that
    are neither v nor a neighbour of v (none: the edge stays).
    """
    b, n = forward.shape
    # Batch-last layout (N, N, B): a step reads and writes rows adj[v, x, :], which stay in cache.
    adj = np.zeros((n, n, b), dtype=bool)
    top = int(forward.max()) if forward.size else 0
    for i in range(1, top + 1):
        has = (forward >= i).T  # (N, B)
        for v in range(n):
            adj[v, (v + i) % n] = adj[(v + i) % n, v] = has[v]
    flat = adj.reshape(-1)  # view: cell (x, y, g) is flat[(x * n + y) * b + g]
    for i in range(1, top + 1):
        coins = rng.random((n, b)) < p  # one coin per edge (v, v+i), clockwise
        coins &= (forward >= i).T  # (N, B): graphs that have the edge
        for v in range(n):
            u = (v + i) % n
            g = np.flatnonzero(coins[v])
            if g.size == 0:
                continue
            g, w = _non_neighbour(adj[v], g, v, rng)
            adj[v, u, g] = adj[u, v, g] = False
            flat[(v * n + w) * b + g] = True
            flat[(w * n + v) * b + g] = True
    return adj.transpose(2, 0, 1)  # (B, N, N) view: consumers copy the graphs they take


def _non_neighbour(row: np.ndarray, g: np.ndarray, v: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For graphs ``g``, a node uniform among those neither ``v`` nor adjacent to ``v`` (``row``: (N, B)).

    Rejection sampling; graphs where v is already joined to every node are dropped (nothing to
    rewire to), and both arrays come back in the order of ``g``.
    """
    n = row.shape[0]
    w = rng.integers(0, n - 1, g.size)
    w += w >= v  # uniform over the N - 1 nodes other than v
    todo = np.flatnonzero(row[w, g])  # already a neighbour: draw again
    w[todo] = -1
    rounds = 0
    while todo.size:
        x = rng.integers(0, n - 1, todo.size)
        x += x >= v  # uniform over the N - 1 nodes other than v
        ok = ~row[x, g[todo]]
        w[todo[ok]] = x[ok]
        todo = todo[~ok]
        rounds += 1
        if rounds % 32 == 0 and todo.size:  # rare: is any node left to rewire to?
            full = row[:, g[todo]].sum(0) >= n - 1
            todo = todo[~full]
    keep = w >= 0
    return g[keep], w[keep]


def adjacency_edges(adj: np.ndarray) -> tuple[tuple[int, int], ...]:
    """Edges ``(u, v)``, u < v, sorted, of one (N, N) adjacency."""
    u, v = np.nonzero(np.triu(adj, 1))
    return tuple(zip(u.tolist(), v.tolist()))
