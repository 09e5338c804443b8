"""Neural architecture search as one more network generator: random, evolution, REINFORCE.

A searched wiring is a set of stage graphs (generator ``"search"``) built by the same RandWire
skeleton, trained with the same recipe and saved as a normal checkpoint, so damage, metrics and
figures apply to searched networks unchanged. Each name here is imported from its module on
first use, so ``wiring_lab.search.config`` (the CLI's defaults) loads without torch.
"""

from wiring_lab import _lazy_exports

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
__getattr__, __dir__ = _lazy_exports("wiring_lab.search", _EXPORTS, globals())
