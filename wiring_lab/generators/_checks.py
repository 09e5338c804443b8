"""Checks and the seeded random source shared by the generator modules (numpy only)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# Upper bound on N for any graph: a file declaring more is refused before anything is allocated
# (the paper uses N <= 32; Watts-Strogatz-style population studies a few thousand).
MAX_NODES = 100_000


def check_n(n: Any) -> None:
    """``n`` is an integer in 2..MAX_NODES."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise ValueError(f"n must be an integer (got {n!r})")
    if n < 2:
        raise ValueError(f"n must be at least 2 (got n={n}); choose a larger n")
    if n > MAX_NODES:
        raise ValueError(f"n={n} is more than the limit of {MAX_NODES} nodes; choose a smaller n")


def check_p(p: Any) -> float:
    """``p`` as a float in [0, 1]."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not math.isfinite(p):
        raise ValueError(f"p must be a number in [0, 1] (got {p!r})")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1] (got p={p}); choose a probability between 0 and 1")
    return float(p)


def check_int(name: str, v: Any) -> None:
    """``v`` is an integer (not a bool)."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ValueError(f"{name} must be an integer (got {v!r})")


def rng_of(seed: int | np.random.Generator) -> np.random.Generator:
    """A PCG64 generator from a non-negative integer seed (platform independent); a Generator passes through."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer (got {seed!r})")
    return np.random.Generator(np.random.PCG64(int(seed)))
