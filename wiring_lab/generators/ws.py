"""WS(K, P) (Watts-Strogatz as RandWire defines it): ring lattice with K/2 neighbours per side,
then for i = 1..K/2, for every node v clockwise, (v, v+i) rewired with probability P."""

from __future__ import annotations

from typing import Any

import numpy as np

from wiring_lab.generators._checks import check_int, check_n, check_p, rng_of
from wiring_lab.generators._lattice import lattice_rewire
from wiring_lab.generators._registry import Generator, Param, register_generator


def _check_k(n: int, k: Any) -> None:
    check_int("k", k)
    if k % 2:
        raise ValueError(f"WS needs an even k (got k={k}); choose k={k - 1} or k={k + 1}")
    if not 2 <= k < n:
        raise ValueError(f"WS needs 2 <= k < n (got k={k}, n={n}); choose a smaller k or a larger n")


def watts_strogatz(n: int, k: int, p: float, seed: int) -> list[tuple[int, int]]:
    """WS(K, P): ring lattice with K/2 neighbours per side, then clockwise rewiring.

    For i = 1..K/2 and every node v in clockwise order, the edge (v, v+i) is rewired with
    probability ``p`` to (v, w), w uniform among nodes that are not v and not neighbours of v.
    """
    check_n(n)
    _check_k(n, k)
    p = check_p(p)
    rng = rng_of(seed)
    adj = [set() for _ in range(n)]
    for v in range(n):
        for i in range(1, k // 2 + 1):
            w = (v + i) % n
            adj[v].add(w)
            adj[w].add(v)
    for i in range(1, k // 2 + 1):
        for v in range(n):
            u = (v + i) % n
            if rng.random() >= p:
                continue
            candidates = [w for w in range(n) if w != v and w not in adj[v]]
            if not candidates:  # v already joined to every node: nothing to rewire to
                continue
            w = candidates[int(rng.integers(len(candidates)))]
            adj[v].discard(u)
            adj[u].discard(v)
            adj[v].add(w)
            adj[w].add(v)
    return [(v, w) for v in range(n) for w in adj[v] if v < w]


def batch_ws(b: int, n: int, rng: np.random.Generator, k: int, p: float) -> np.ndarray:
    """B WS(K, P) graphs: K/2 neighbours per side, then (v, v+i) rewired for i = 1..K/2, v clockwise."""
    return lattice_rewire(np.full((b, n), k // 2), p, rng)


def _sample(rng: np.random.Generator, nodes: int) -> dict[str, Any]:
    """Random search: K uniform over the even numbers in 2..N-1, P uniform on [0, 1] (two decimals)."""
    ks = list(range(2, nodes, 2))
    return {"k": int(ks[int(rng.integers(len(ks)))]), "p": round(float(rng.random()), 2)}


WS = register_generator(
    Generator(
        "ws",
        watts_strogatz,
        (
            Param("k", int, 4, 2, even=True, help="neighbours per node, even, 2 <= K < N"),
            Param("p", float, 0.75, 0.0, 1.0, help="rewiring probability"),
        ),
        batch=batch_ws,
        check_n=lambda n, params: _check_k(n, params["k"]),
        summary="Watts-Strogatz: ring with K/2 neighbours per side, each edge rewired with probability P",
        sample=_sample,
        min_nodes=3,
    ),
    builtin=True,
)
