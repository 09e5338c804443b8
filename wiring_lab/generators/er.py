"""ER(P) (Erdos-Renyi, RandWire section 3): each unordered pair joined with probability P, then
node indices assigned in a random order."""

from __future__ import annotations

from typing import Any

import numpy as np

from wiring_lab.generators._checks import check_n, check_p, rng_of
from wiring_lab.generators._registry import Generator, Param, register_generator


def erdos_renyi(n: int, p: float, seed: int) -> list[tuple[int, int]]:
    """ER(P): each unordered pair joined with probability ``p``; then indices in a random order."""
    check_n(n)
    p = check_p(p)
    rng = rng_of(seed)
    iu, ju = np.triu_indices(n, k=1)  # pairs in a fixed (row-major) order
    keep = rng.random(iu.size) < p
    perm = rng.permutation(n)  # node i of the sampled graph gets index perm[i]
    return [(int(perm[i]), int(perm[j])) for i, j in zip(iu[keep], ju[keep])]


def batch_er(b: int, n: int, rng: np.random.Generator, p: float) -> np.ndarray:
    """B ER(P) graphs: each pair joined with probability ``p``, then node indices in a random order."""
    iu, ju = np.triu_indices(n, k=1)  # pairs in a fixed (row-major) order
    keep = rng.random((b, iu.size)) < p  # (B, N(N-1)/2)
    perm = np.argsort(rng.random((b, n)), axis=1)  # a uniform permutation per graph: node i -> perm[i]
    g, e = np.nonzero(keep)
    pu, pv = perm[g, iu[e]], perm[g, ju[e]]
    adj = np.zeros((b, n, n), dtype=bool)
    adj[g, pu, pv] = True
    adj[g, pv, pu] = True
    return adj


def _sample(rng: np.random.Generator, nodes: int) -> dict[str, Any]:
    """Random search: P uniform on [0, 1], two decimals."""
    return {"p": round(float(rng.random()), 2)}


ER = register_generator(
    Generator(
        "er",
        erdos_renyi,
        (Param("p", float, 0.2, 0.0, 1.0, help="probability that a pair is joined"),),
        batch=batch_er,
        summary="Erdos-Renyi: each pair joined with probability P, indices in a random order",
        sample=_sample,
    ),
    builtin=True,
)
