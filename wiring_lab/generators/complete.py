"""``complete``: every pair i < j joined, DenseNet-like wiring (a hand-designed reference)."""

from __future__ import annotations

import numpy as np

from wiring_lab.generators._checks import check_n
from wiring_lab.generators._registry import Generator, register_generator


def complete(n: int, seed: int | None = None) -> list[tuple[int, int]]:
    """Every pair i < j joined: DenseNet-like wiring."""
    check_n(n)
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def batch_complete(b: int, n: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """B copies of the complete graph."""
    adj = np.ones((b, n, n), dtype=bool)
    adj[:, np.arange(n), np.arange(n)] = False
    return adj


COMPLETE = register_generator(
    Generator("complete", complete, batch=batch_complete, title="complete", summary="every pair joined: DenseNet-like", random=False), builtin=True
)
