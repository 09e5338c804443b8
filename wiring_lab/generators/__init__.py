"""Random-graph generators: one module per family, each registering one :class:`Generator` record.

``wiring_lab.generators.get_generator(name)`` is what every reader asks (the CLI's options and
help, the study reader, the population tables' parameter columns, populations, plots and random
search). Importing this package registers the built-in families (numpy only, no networkx or
torch): ``er``, ``ba``, ``ws``, ``chain``, ``complete`` and ``ws-flex``. A new family is one
module that builds a record and calls :func:`register_generator`.

>>> get_generator("ws").defaults
{'k': 4, 'p': 0.75}
>>> get_generator("ws-flex").setting_label({"k": 4.5, "p": 0.75})
'WS-FLEX(4.5, 0.75)'
"""

from __future__ import annotations

from wiring_lab.generators._checks import MAX_NODES, check_int, check_n, check_p, rng_of
from wiring_lab.generators._lattice import adjacency_edges
from wiring_lab.generators._registry import (
    STORED_GENERATORS,
    Generator,
    Param,
    generator_params,
    get_generator,
    list_generators,
    param_columns,
    register_generator,
    registered,
    setting_label,
    unregister_generator,
)

# the built-in families, in the order their records register (random search draws among er, ba, ws)
from wiring_lab.generators import er, ba, ws, chain, complete, ws_flex  # noqa: E402,F401,I001  isort: skip

__all__ = [
    "MAX_NODES",
    "STORED_GENERATORS",
    "Generator",
    "Param",
    "adjacency_edges",
    "check_int",
    "check_n",
    "check_p",
    "generator_params",
    "get_generator",
    "list_generators",
    "param_columns",
    "register_generator",
    "registered",
    "rng_of",
    "setting_label",
    "unregister_generator",
]
