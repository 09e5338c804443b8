"""Random search, the honest baseline: random wirings, or random RandWire generator settings."""

from __future__ import annotations

from wiring_lab.search._base import Proposal, Strategy
from wiring_lab.search.space import (
    SearchSpace,
    make_rng,
    sample_generator_setting,
    sample_wiring,
)

RANDOM_SPACES = ("wiring", "generators")


class RandomSearch(Strategy):
    """Children drawn independently: wirings uniform over the space, or ER/BA/WS settings."""

    name = "random"

    def __init__(self, space: SearchSpace, seed: int, over: str = "wiring"):
        if over not in RANDOM_SPACES:
            raise ValueError(f"random search runs over {' or '.join(RANDOM_SPACES)} (got {over!r})")
        self.space, self.over = space, over
        self.rng = make_rng(seed)

    def propose(self, count: int) -> list[Proposal]:
        """``count`` independent random children."""
        if self.over == "wiring":
            return [Proposal(wiring=sample_wiring(self.space, self.rng)) for _ in range(count)]
        out = []
        for _ in range(count):
            gen, params = sample_generator_setting(self.space.nodes, self.rng)
            out.append(Proposal(generator=gen, params=params))
        return out


class GeneratorPopulation(Strategy):
    """Not a search: a population of one generator setting (e.g. WS(4, 0.75)), seeds differ."""

    name = "generator"

    def __init__(self, generator: str, params: dict):
        self.generator, self.params = generator, dict(params)

    def propose(self, count: int) -> list[Proposal]:
        """``count`` children of the fixed setting (each gets its own child seed)."""
        return [Proposal(generator=self.generator, params=dict(self.params)) for _ in range(count)]
