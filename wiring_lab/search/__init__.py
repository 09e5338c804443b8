"""Neural architecture search as one more network generator: random, evolution, REINFORCE.

A searched wiring is a set of stage graphs (generator ``"search"``) built by the same RandWire
skeleton, trained with the same recipe and saved as a normal checkpoint, so damage, metrics and
figures apply to searched networks unchanged.
"""

from wiring_lab.search.runner import (
    SearchConfig,
    run_search,
    search_history,
    write_search_tables,
)
from wiring_lab.search.space import (
    SearchSpace,
    Wiring,
    sample_wiring,
    wiring_from_specs,
)

__all__ = [
    "SearchConfig",
    "SearchSpace",
    "Wiring",
    "run_search",
    "sample_wiring",
    "search_history",
    "wiring_from_specs",
    "write_search_tables",
]
