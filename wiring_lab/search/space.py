"""The search space over stage wirings: per node, its inputs among lower-indexed nodes and its op.

A :class:`Wiring` gives, for every random stage and every node ``v``, the sorted tuple of its
inputs ``u < v`` (an empty tuple: the node is fed by the stage's input node) and, when ops are
searched, the node's op from the node-op registry. Because every input has a lower index, every
wiring is a DAG whose index order is topological, exactly like a RandWire stage: the wiring is
turned into one :class:`~wiring_lab.graphs.GraphSpec` per stage (generator ``"search"``) and
built by the same network skeleton.

>>> space = SearchSpace(nodes=4, stages=1)
>>> w = sample_wiring(space, seed=0)
>>> all(u < v for v, ins in enumerate(w.inputs[0]) for u in ins)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wiring_lab.graphs import GraphSpec
from wiring_lab.model import list_node_ops

SEARCH_GENERATOR = "search"  # GraphSpec / ModelConfig generator of searched wirings


@dataclass(frozen=True)
class SearchSpace:
    """Stage wirings of ``stages`` stages of ``nodes`` nodes; ``ops`` (if given) searched per node."""

    nodes: int  # N, nodes per stage
    stages: int = 3  # random stages of the network (3 for every regime but "regular")
    ops: tuple[str, ...] | None = None  # node ops to choose from; None: every node uses the config's op
    density: float = 0.5  # prior probability of each edge u -> v (0.5: uniform over the space)

    def __post_init__(self) -> None:
        if isinstance(self.nodes, bool) or not isinstance(self.nodes, int) or self.nodes < 2:
            raise ValueError(f"a search space needs at least 2 nodes per stage (got nodes={self.nodes!r})")
        if isinstance(self.stages, bool) or not isinstance(self.stages, int) or self.stages < 1:
            raise ValueError(f"stages must be a positive integer (got {self.stages!r})")
        if self.ops is not None:
            ops = tuple(self.ops)
            if not ops:
                raise ValueError("ops must list at least one node op, or be None to keep the config's op")
            unknown = [o for o in ops if o not in list_node_ops()]
            if unknown:
                raise ValueError(f"unknown node op {unknown[0]!r}; choose from {', '.join(list_node_ops())}")
            object.__setattr__(self, "ops", ops)
        if not 0.0 < self.density < 1.0:
            raise ValueError(f"density must be in (0, 1) (got {self.density!r})")

    @property
    def n_pairs(self) -> int:
        """Candidate edges per stage: every pair u < v."""
        return self.nodes * (self.nodes - 1) // 2


@dataclass(frozen=True)
class Wiring:
    """A point of the search space: per stage and node, its inputs (lower indices) and op."""

    inputs: tuple[tuple[tuple[int, ...], ...], ...]  # [stage][node] -> sorted inputs u < node
    ops: tuple[tuple[str, ...], ...] | None = None  # [stage][node] -> op name; None: the config's op

    def __post_init__(self) -> None:
        inputs = tuple(tuple(tuple(int(u) for u in ins) for ins in stage) for stage in self.inputs)
        for s, stage in enumerate(inputs):
            for v, ins in enumerate(stage):
                if list(ins) != sorted(set(ins)) or any(not 0 <= u < v for u in ins):
                    raise ValueError(f"stage {s} node {v}: inputs {ins} must be distinct, sorted and lower than {v}")
        object.__setattr__(self, "inputs", inputs)
        if self.ops is not None:
            ops = tuple(tuple(str(o) for o in stage) for stage in self.ops)
            if [len(o) for o in ops] != [len(s) for s in inputs]:
                raise ValueError("ops must give one op per node of every stage")
            object.__setattr__(self, "ops", ops)

    def edges(self, stage: int) -> list[tuple[int, int]]:
        """Edges ``(u, v)``, ``u < v``, of one stage."""
        return [(u, v) for v, ins in enumerate(self.inputs[stage]) for u in ins]

    @property
    def n_edges(self) -> int:
        """Edges over all stages."""
        return sum(len(ins) for stage in self.inputs for ins in stage)

    def to_specs(self, params: dict[str, Any] | None = None, seed: int | None = None) -> list[GraphSpec]:
        """One ``GraphSpec`` per stage (generator ``"search"``), node ops in ``params["node_ops"]``."""
        specs = []
        for s, stage in enumerate(self.inputs):
            p = dict(params or {})
            if self.ops is not None:
                p["node_ops"] = list(self.ops[s])
            specs.append(GraphSpec(SEARCH_GENERATOR, p, seed, len(stage), tuple(self.edges(s))))
        return specs

    def to_dict(self) -> dict[str, Any]:
        """Plain-container form (JSON), inverse of :meth:`from_dict`."""
        return {
            "inputs": [[list(ins) for ins in stage] for stage in self.inputs],
            "ops": None if self.ops is None else [list(stage) for stage in self.ops],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Wiring":
        """Parse :meth:`to_dict` output."""
        return cls(d["inputs"], d.get("ops"))


def wiring_from_specs(specs: list[GraphSpec]) -> Wiring:
    """The wiring of stage graphs (any generator): inputs from the low -> high orientation."""
    inputs = []
    for spec in specs:
        ins: list[list[int]] = [[] for _ in range(spec.n)]
        for u, v in spec.edges:
            ins[v].append(u)
        inputs.append([sorted(i) for i in ins])
    ops = [spec.params["node_ops"] for spec in specs] if all("node_ops" in s.params for s in specs) else None
    return Wiring(inputs, ops)


def sample_wiring(space: SearchSpace, seed: int | np.random.Generator) -> Wiring:
    """A random wiring: each edge u -> v present with probability ``space.density``, ops uniform."""
    rng = make_rng(seed)
    inputs, ops = [], []
    for _ in range(space.stages):
        stage = []
        for v in range(space.nodes):
            keep = rng.random(v) < space.density
            stage.append(tuple(int(u) for u in np.flatnonzero(keep)))
        inputs.append(tuple(stage))
        if space.ops is not None:
            ops.append(tuple(space.ops[int(i)] for i in rng.integers(len(space.ops), size=space.nodes)))
    return Wiring(tuple(inputs), tuple(ops) if space.ops is not None else None)


def make_rng(seed: int | np.random.Generator) -> np.random.Generator:
    """A PCG64 generator from a seed (platform independent); a Generator passes through."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer (got {seed!r})")
    return np.random.Generator(np.random.PCG64(int(seed)))


def child_seed(seed: int, index: int) -> int:
    """Seed of the ``index``-th child of a search with ``seed`` (graph and training seed)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, dtype=np.uint32)[0] % 2**31)


# --- random search over the generators' parameters ------------------------------------------
def sample_generator_setting(nodes: int, seed: int | np.random.Generator) -> tuple[str, dict[str, Any]]:
    """A random setting of a registered generator that can be searched (a record with ``sample``).

    The generator is uniform among those whose ``min_nodes`` fits (ER, BA, and WS from N = 3),
    then its record draws the parameters: P uniform on [0, 1] (two decimals), M uniform on
    1..N-1, K uniform over the even numbers in 2..N-1.
    """
    from wiring_lab.generators import registered

    rng = make_rng(seed)
    choices = [g for g in registered() if g.sample is not None and nodes >= g.min_nodes]
    gen = choices[int(rng.integers(len(choices)))]
    return gen.name, gen.sample(rng, nodes)
