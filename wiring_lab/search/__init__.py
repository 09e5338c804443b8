"""Neural architecture search as one more network generator: random, evolution, REINFORCE.

A searched wiring is a set of stage graphs (generator ``"search"``) built by the same RandWire
skeleton, trained with the same recipe and saved as a normal checkpoint, so damage, metrics and
figures apply to searched networks unchanged. Each name here is imported from its module on
first use, so ``wiring_lab.search.config`` (the CLI's defaults) loads without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SearchConfig": "config",
    "SearchSpace": "space",
    "Wiring": "space",
    "run_search": "runner",
    "sample_wiring": "space",
    "search_history": "runner",
    "wiring_from_specs": "space",
    "write_search_tables": "runner",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a public name from its module the first time it is asked for."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wiring_lab.search' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"wiring_lab.search.{module}"), name)
    globals()[name] = value
    return value
