"""``chain``: the path 0 - 1 - ... - (N-1), the plain stacked-layer wiring (a hand-designed reference)."""

from __future__ import annotations

import numpy as np

from wiring_lab.generators._checks import check_n
from wiring_lab.generators._registry import Generator, register_generator


def chain(n: int, seed: int | None = None) -> list[tuple[int, int]]:
    """A path 0 - 1 - ... - (n-1): the plain stacked-layer wiring."""
    check_n(n)
    return [(i, i + 1) for i in range(n - 1)]


def batch_chain(b: int, n: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """B copies of the path 0 - 1 - ... - (n-1)."""
    adj = np.zeros((b, n, n), dtype=bool)
    i = np.arange(n - 1)
    adj[:, i, i + 1] = adj[:, i + 1, i] = True
    return adj


CHAIN = register_generator(
    Generator("chain", chain, batch=batch_chain, title="chain", summary="a path: plain stacked layers", random=False), builtin=True
)
