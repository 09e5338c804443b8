"""The search strategies by name: :func:`make_strategy` builds the one a config asks for."""

from __future__ import annotations

from typing import Any

from wiring_lab.search._base import Strategy
from wiring_lab.search.evolution import Evolution
from wiring_lab.search.random import GeneratorPopulation, RandomSearch
from wiring_lab.search.reinforce import Reinforce
from wiring_lab.search.space import SearchSpace


def make_strategy(config: Any, space: SearchSpace) -> Strategy:
    """The strategy object of a :class:`~wiring_lab.search.config.SearchConfig`, seeded with its ``seed``."""
    if config.strategy == "random":
        return RandomSearch(space, config.seed, config.random_over)
    if config.strategy == "evolution":
        return Evolution(
            space,
            config.seed,
            config.population,
            config.tournament,
            config.replace,
            config.representation,
            config.motif_nodes,
            config.motifs,
        )
    if config.strategy == "reinforce":
        return Reinforce(space, config.seed, config.controller_hidden, config.controller_lr, config.baseline_decay)

    return GeneratorPopulation(config.generator, config.params)
