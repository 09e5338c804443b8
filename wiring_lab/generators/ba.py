"""BA(M) (Barabasi-Albert as RandWire defines it): M initial nodes without edges; each added node
joins M distinct existing nodes chosen with probability proportional to degree."""

from __future__ import annotations

from typing import Any

import numpy as np

from wiring_lab.generators._checks import check_int, check_n, rng_of
from wiring_lab.generators._registry import Generator, Param, register_generator


def _check_m(n: int, m: Any) -> None:
    check_int("m", m)
    if not 1 <= m < n:
        raise ValueError(f"BA needs 1 <= m < n (got m={m}, n={n}); choose a smaller m or a larger n")


def barabasi_albert(n: int, m: int, seed: int) -> list[tuple[int, int]]:
    """BA(M): M initial nodes without edges; each new node adds M distinct edges by degree.

    The first added node (index M) joins all M initial nodes; every later node picks M distinct
    existing nodes with probability proportional to their degree. Exactly ``M (N - M)`` edges.
    Not networkx's ``barabasi_albert_graph``, which starts from a star.
    """
    check_n(n)
    _check_m(n, m)
    rng = rng_of(seed)
    degree = np.zeros(n, dtype=np.float64)
    edges = [(i, m) for i in range(m)]
    degree[:m] += 1
    degree[m] = m
    for v in range(m + 1, n):
        weights = degree[:v].copy()
        for _ in range(m):  # sequential sampling without replacement, proportional to degree
            u = int(rng.choice(v, p=weights / weights.sum()))
            weights[u] = 0.0
            edges.append((u, v))
        for u, _ in edges[-m:]:
            degree[u] += 1
        degree[v] = m
    return edges


def batch_ba(b: int, n: int, rng: np.random.Generator, m: int) -> np.ndarray:
    """B BA(M) graphs: node M joins nodes 0..M-1; each later node picks M distinct nodes by degree."""
    adj = np.zeros((b, n, n), dtype=bool)
    adj[:, :m, m] = adj[:, m, :m] = True
    deg = np.zeros((b, n))
    deg[:, :m], deg[:, m] = 1.0, m
    rows = np.arange(b)
    for v in range(m + 1, n):
        weights = deg[:, :v].copy()  # (B, v): degrees before v's edges
        for _ in range(m):  # sequential sampling without replacement, proportional to degree
            cum = np.cumsum(weights, axis=1)
            r = rng.random(b) * cum[:, -1]
            u = (cum <= r[:, None]).sum(1)  # first node whose cumulative weight exceeds r
            weights[rows, u] = 0.0
            adj[rows, u, v] = adj[rows, v, u] = True
        deg[:, :v] += adj[:, :v, v]
        deg[:, v] = m
    return adj


def _sample(rng: np.random.Generator, nodes: int) -> dict[str, Any]:
    """Random search: M uniform on 1..N-1."""
    return {"m": int(rng.integers(1, nodes))}


BA = register_generator(
    Generator(
        "ba",
        barabasi_albert,
        (Param("m", int, 5, 1, help="edges per added node, 1 <= M < N"),),
        batch=batch_ba,
        check_n=lambda n, params: _check_m(n, params["m"]),
        summary="Barabasi-Albert: each added node joins M nodes chosen by degree; M(N-M) edges",
        sample=_sample,
    ),
    builtin=True,
)
