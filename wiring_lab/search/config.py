"""A search run's configuration, :class:`SearchConfig`: strategy, budget, the children's network,
data and recipe.

Light at import (the strategies, the search space and the generators are imported when a config
is built), so the CLI shows these defaults in ``wiring-lab search --help`` without their start-up.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wiring_lab.recipe import TrainConfig

if TYPE_CHECKING:
    from wiring_lab.search.space import SearchSpace

VAL_SPLIT_SEED = 0  # the validation hold-out is the same for every search
STRATEGIES = ("random", "evolution", "reinforce", "generator")
# recipe keys a search run takes: a child's seed is its own, and its hold-out is the search's
# (``SearchConfig.val_fraction`` with VAL_SPLIT_SEED: the reward's data)
TRAIN_FIELDS = tuple(f for f in TrainConfig.__dataclass_fields__ if f not in ("seed", "val_fraction", "val_seed"))


@dataclass(frozen=True)
class SearchConfig:
    """One search run: strategy, budget, seed, the children's network, data and recipe."""

    strategy: str = "random"  # random | evolution | reinforce | generator (one setting's population, the baseline)
    name: str | None = None  # run name (default: from the strategy and its options); children are NAME-sSEED-INDEX
    budget: int = 64  # children trained in all
    batch: int = 4  # children proposed per round (trained in parallel; one REINFORCE update each)
    seed: int = 0  # search seed: proposals, child seeds, controller init
    # the children: same network skeleton, recipe and data as the random generators
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=5, val_fraction=0.0))  # data and recipe (each child's seed is its own)
    channels: int = 8  # C
    nodes: int = 8  # N per stage
    head_channels: int = 64
    node_op: str = "sepconv3x3"  # every node's op, unless search_ops
    search_ops: bool = False  # also search each node's op over the node-op registry
    val_fraction: float = 0.2  # share of the training split held out as the reward's validation set
    train_limit: int | None = None  # use the first N images of the training split only (the hold-out is carved from them)
    density: float = 0.5  # prior probability of each edge u -> v (random wirings, initial population, controller bias)
    # strategy options
    random_over: str = "wiring"  # random: "wiring" (the search space) or "generators" (ER P, BA M, WS K,P)
    generator: str = "ws"  # generator: the fixed setting whose population is the baseline
    params: dict[str, Any] = field(default_factory=dict)  # generator: its parameters (paper defaults if omitted)
    population: int = 16  # evolution
    tournament: int = 4  # evolution: members sampled per selection
    replace: str = "oldest"  # evolution: oldest | worst
    representation: str = "flat"  # evolution: flat | hierarchical (motifs of motifs)
    motif_nodes: int = 4  # hierarchical: nodes per level-2 motif (must divide nodes)
    motifs: int = 3  # hierarchical: number of level-2 motifs
    controller_hidden: int = 64  # reinforce: GRU width
    controller_lr: float = 0.005  # reinforce: Adam learning rate
    baseline_decay: float = 0.9  # reinforce: moving-average baseline decay

    def __post_init__(self) -> None:
        if isinstance(self.train, dict):  # asdict()'s form, as a task's arguments carry it
            object.__setattr__(self, "train", TrainConfig(**self.train))
        if self.train.val_fraction:  # one knob: the search's val_fraction is every child's hold-out (train_config)
            object.__setattr__(self, "train", dataclasses.replace(self.train, val_fraction=0.0))
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        for name in ("budget", "batch", "channels", "nodes", "head_channels"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer (got {v!r})")
        if self.name is not None and (not self.name or not all(c.isalnum() or c in "-_." for c in self.name)):
            raise ValueError(f"name must be letters, digits, '-', '_' or '.' (got {self.name!r})")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0 (got {self.seed})")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1) (got {self.val_fraction!r})")
        if self.train_limit is not None and self.train_limit < 1:
            raise ValueError(f"train_limit must be a positive integer or None (got {self.train_limit!r})")
        # imported here, as the strategies below: numpy, networkx and torch are not needed to read
        # this module's defaults, and the CLI reads them at start-up (--help: 0.17 s, 0.35 s with them)
        from wiring_lab.graphs import generator_params

        if self.strategy == "generator":
            object.__setattr__(self, "params", generator_params(self.generator, **self.params))
        # build the strategy once, so a bad option fails here with its message
        from wiring_lab.search.strategies import make_strategy

        make_strategy(self, self.space(3))

    @property
    def label(self) -> str:
        """Name of the run and prefix of its children: ``evolution``, ``random-generators``, ``ws-4-0.75``..."""
        if self.name:
            base = self.name
        elif self.strategy == "random":
            base = "random" if self.random_over == "wiring" else "random-generators"
        elif self.strategy == "evolution":
            base = "evolution" if self.representation == "flat" else "evolution-hierarchical"
        elif self.strategy == "generator":
            base = "-".join([self.generator] + [f"{v:g}" if isinstance(v, float) else str(v) for v in self.params.values()])
        else:
            base = self.strategy
        return f"{base}-s{self.seed}"

    def space(self, stages: int) -> "SearchSpace":
        """The search space of this run's networks."""
        from wiring_lab.model import (
            list_node_ops,  # torch: not at start-up (see __post_init__)
        )
        from wiring_lab.search.space import SearchSpace

        ops = tuple(list_node_ops()) if self.search_ops else None
        return SearchSpace(self.nodes, stages, ops, self.density)

    @classmethod
    def from_flat(cls, **kw: Any) -> "SearchConfig":
        """A config from one flat mapping (CLI options, a study file's run): recipe keys go to ``train``."""
        recipe = {k: kw.pop(k) for k in TRAIN_FIELDS if k in kw}
        return cls(**kw, train=dataclasses.replace(cls.__dataclass_fields__["train"].default_factory(), **recipe))

    def train_config(self, seed: int) -> TrainConfig:
        """The training recipe of one child: its seed is the child seed, its hold-out the search's."""
        return dataclasses.replace(self.train, seed=seed, val_fraction=self.val_fraction, val_seed=VAL_SPLIT_SEED)
