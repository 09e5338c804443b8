"""WS-flex(K, P) (You et al. 2020, "Graph Structure of Neural Networks"): any real average degree K.

round(K N / 2) ring edges, each node getting floor(K/2) or ceil(K/2) forward edges (the nodes that
get the extra one drawn uniformly), then the WS rewiring. At even integer K it is WS(K, P) in
distribution. The per-graph form is a batch of one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from wiring_lab.generators._checks import check_n, check_p, rng_of
from wiring_lab.generators._lattice import adjacency_edges, lattice_rewire
from wiring_lab.generators._registry import Generator, Param, register_generator


def check_ws_flex(n: int, k: Any, p: Any) -> None:
    """WS-flex needs 0 < K and 2 ceil(K/2) < N (the forward edges of a node stay distinct)."""
    check_n(n)
    check_p(p)
    if isinstance(k, bool) or not isinstance(k, (int, float, np.integer, np.floating)) or not math.isfinite(k) or k <= 0:
        raise ValueError(f"WS-flex needs a positive average degree k (got {k!r})")
    if 2 * math.ceil(k / 2) >= n:
        raise ValueError(f"WS-flex needs 2 ceil(k/2) < n (got k={k}, n={n}); choose a smaller k or a larger n")


def flex_forward(b: int, n: int, k: float, rng: np.random.Generator) -> np.ndarray:
    """WS-flex forward edge counts (B, N): floor(K/2) per node, plus one for round(K N / 2) edges in all."""
    edges = int(round(k * n / 2))
    low = math.floor(k / 2)
    extra = edges - n * low  # 0 <= extra <= N nodes, chosen uniformly, get ceil(K/2)
    forward = np.full((b, n), low)
    if extra:
        chosen = np.argsort(rng.random((b, n)), axis=1)[:, :extra]
        np.put_along_axis(forward, chosen, low + 1, axis=1)
    return forward


def batch_ws_flex(b: int, n: int, rng: np.random.Generator, k: float, p: float) -> np.ndarray:
    """B WS-flex(K, P) graphs (You et al. 2020): round(K N / 2) ring edges, then WS rewiring."""
    return lattice_rewire(flex_forward(b, n, k, rng), p, rng)


def ws_flex(n: int, k: float, p: float, seed: int) -> list[tuple[int, int]]:
    """WS-flex(K, P) of You et al. 2020: any real average degree K (a batch of one)."""
    check_ws_flex(n, k, p)
    return list(adjacency_edges(batch_ws_flex(1, n, rng_of(seed), k=k, p=float(p))[0]))


WS_FLEX = register_generator(
    Generator(
        "ws-flex",
        ws_flex,
        (
            Param("k", float, 4.0, 0.0, low_open=True, help="average degree, any real K > 0, 2 ceil(K/2) < N"),
            Param("p", float, 0.75, 0.0, 1.0, help="rewiring probability"),
        ),
        batch=batch_ws_flex,
        check_n=lambda n, params: check_ws_flex(n, params["k"], params["p"]),
        title="WS-flex",
        summary="WS-flex (You et al. 2020): Watts-Strogatz with any real average degree K",
    ),
    builtin=True,
)
