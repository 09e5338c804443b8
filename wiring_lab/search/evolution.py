"""Evolution with tournament selection (Real et al. 2019; Liu et al. 2018, "hierarchical").

The population starts as ``population`` random wirings. Every later child is a mutation of the
best of ``tournament`` members sampled without replacement; once the population is full, each
newly trained child replaces the *oldest* member (regularized evolution) or the *worst* one.

Mutations pick a kind uniformly among those that apply: ``add-edge`` (a missing pair u < v),
``remove-edge``, ``rewire-edge`` (an edge u -> v moves its source to another u' < v, or else
its target), ``change-op`` (one node's op, where ops are searched). Every mutation maps a wiring
with edges u < v to another one, so validity (a DAG that builds) is kept by construction.

The *hierarchical* representation (Liu et al. 2018, motifs of motifs) shares one cell between
stages: ``motifs`` level-2 motifs, each a small DAG over ``motif_nodes`` nodes with their ops,
and a level-3 DAG over ``nodes // motif_nodes`` slots, each slot holding a copy of one motif.
A level-3 edge i -> j joins every sink of slot i's copy to every source of slot j's copy.
A mutation changes one motif, or the level-3 DAG, or which motif a slot holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from wiring_lab.search._base import Proposal, Strategy
from wiring_lab.search.space import SearchSpace, Wiring, make_rng, sample_wiring

REPLACE = ("oldest", "worst")
REPRESENTATIONS = ("flat", "hierarchical")


# --- flat mutations ----------------------------------------------------------------------------
def _mutable(w: Wiring) -> tuple[list[list[set[int]]], list[list[str]] | None]:
    return [[set(ins) for ins in stage] for stage in w.inputs], None if w.ops is None else [list(o) for o in w.ops]


def _frozen(inputs: list[list[set[int]]], ops: list[list[str]] | None) -> Wiring:
    return Wiring(tuple(tuple(tuple(sorted(i)) for i in stage) for stage in inputs), None if ops is None else tuple(map(tuple, ops)))


def mutate_wiring(w: Wiring, rng: np.random.Generator, ops: Sequence[str] | None = None) -> tuple[Wiring, str]:
    """One random mutation of ``w``: add, remove or rewire an edge, or change a node's op."""
    inputs, node_ops = _mutable(w)
    kinds = ["add-edge", "remove-edge", "rewire-edge"] + (["change-op"] if ops and len(ops) > 1 and node_ops else [])
    for kind in [kinds[i] for i in rng.permutation(len(kinds))]:
        s = int(rng.integers(len(inputs)))
        stage = inputs[s]
        edges = [(u, v) for v, ins in enumerate(stage) for u in sorted(ins)]
        if kind == "add-edge":
            missing = [(u, v) for v in range(len(stage)) for u in range(v) if u not in stage[v]]
            if not missing:
                continue
            u, v = missing[int(rng.integers(len(missing)))]
            stage[v].add(u)
        elif kind == "remove-edge":
            if not edges:
                continue
            u, v = edges[int(rng.integers(len(edges)))]
            stage[v].discard(u)
        elif kind == "rewire-edge":
            moves = [
                (u, v, u2, v) for u, v in edges for u2 in range(v) if u2 != u and u2 not in stage[v]
            ] or [(u, v, u, v2) for u, v in edges for v2 in range(u + 1, len(stage)) if v2 != v and u not in stage[v2]]
            if not moves:
                continue
            u, v, u2, v2 = moves[int(rng.integers(len(moves)))]
            stage[v].discard(u)
            stage[v2].add(u2)
        else:
            v = int(rng.integers(len(stage)))
            others = [o for o in ops if o != node_ops[s][v]]
            node_ops[s][v] = others[int(rng.integers(len(others)))]
        return _frozen(inputs, node_ops), kind
    return w, "none"  # nothing applies (a one-node stage): the child repeats its parent


# --- hierarchical representation ---------------------------------------------------------------
@dataclass(frozen=True)
class Hierarchy:
    """Motifs of motifs: level-2 motifs (one-stage wirings) and a level-3 DAG of motif slots."""

    motifs: tuple[Wiring, ...]  # level-2 motifs, each a one-stage wiring over motif_nodes nodes
    top: Wiring  # level-3 DAG over the slots (one stage, no ops)
    slots: tuple[int, ...]  # motif index held by each slot

    def flatten(self, stages: int) -> Wiring:
        """The stage wiring: slot j's copy of its motif on nodes j*m .. j*m+m-1, same in every stage."""
        m = len(self.motifs[0].inputs[0])
        sinks = []  # per slot: motif nodes with no successor inside the motif
        for motif_id in self.slots:
            fed = {u for ins in self.motifs[motif_id].inputs[0] for u in ins}
            sinks.append([a for a in range(m) if a not in fed])
        inputs: list[tuple[int, ...]] = []
        ops: list[str] = []
        for j, motif_id in enumerate(self.slots):
            motif = self.motifs[motif_id]
            for ins in motif.inputs[0]:
                local = [j * m + u for u in ins]
                if not ins:  # a source of the motif: fed by the sinks of the slots feeding slot j
                    local += [i * m + a for i in self.top.inputs[0][j] for a in sinks[i]]
                inputs.append(tuple(sorted(local)))
            if motif.ops is not None:
                ops.extend(motif.ops[0])
        stage_ops = tuple(tuple(ops) for _ in range(stages)) if ops else None
        return Wiring(tuple(tuple(inputs) for _ in range(stages)), stage_ops)


def sample_hierarchy(space: SearchSpace, motif_nodes: int, motifs: int, rng: np.random.Generator) -> Hierarchy:
    """Random motifs, random level-3 DAG, random motif per slot."""
    slots = _slots(space, motif_nodes)
    level2 = SearchSpace(motif_nodes, 1, space.ops, space.density)
    level3 = SearchSpace(slots, 1, None, space.density)
    return Hierarchy(
        tuple(sample_wiring(level2, rng) for _ in range(motifs)),
        sample_wiring(level3, rng),
        tuple(int(i) for i in rng.integers(motifs, size=slots)),
    )


def mutate_hierarchy(h: Hierarchy, rng: np.random.Generator, ops: Sequence[str] | None = None) -> tuple[Hierarchy, str]:
    """Mutate one motif, the level-3 DAG, or one slot's motif."""
    level = ["motif", "top"] + (["slot"] if len(h.motifs) > 1 else [])
    kind = level[int(rng.integers(len(level)))]
    if kind == "motif":
        i = int(rng.integers(len(h.motifs)))
        new, what = mutate_wiring(h.motifs[i], rng, ops)
        return Hierarchy(h.motifs[:i] + (new,) + h.motifs[i + 1 :], h.top, h.slots), f"motif-{what}"
    if kind == "top":
        new, what = mutate_wiring(h.top, rng, None)
        return Hierarchy(h.motifs, new, h.slots), f"top-{what}"
    j = int(rng.integers(len(h.slots)))
    others = [k for k in range(len(h.motifs)) if k != h.slots[j]]
    slots = h.slots[:j] + (others[int(rng.integers(len(others)))],) + h.slots[j + 1 :]
    return Hierarchy(h.motifs, h.top, slots), "slot-motif"


def _slots(space: SearchSpace, motif_nodes: int) -> int:
    if motif_nodes < 1 or space.nodes % motif_nodes or space.nodes // motif_nodes < 2:
        raise ValueError(
            f"hierarchical evolution needs nodes divisible by motif_nodes into at least 2 slots "
            f"(nodes={space.nodes}, motif_nodes={motif_nodes}); choose motif_nodes dividing {space.nodes}"
        )
    return space.nodes // motif_nodes


# --- the strategy ------------------------------------------------------------------------------
class Evolution(Strategy):
    """Tournament selection over a population of wirings (flat or hierarchical)."""

    name = "evolution"

    def __init__(
        self,
        space: SearchSpace,
        seed: int,
        population: int = 16,
        tournament: int = 4,
        replace: str = "oldest",
        representation: str = "flat",
        motif_nodes: int = 4,
        motifs: int = 3,
    ):
        if population < 2 or not 1 <= tournament <= population:
            raise ValueError(f"evolution needs population >= 2 and 1 <= tournament <= population (got {population}, {tournament})")
        if replace not in REPLACE:
            raise ValueError(f"replace must be one of {', '.join(REPLACE)} (got {replace!r})")
        if representation not in REPRESENTATIONS:
            raise ValueError(f"representation must be one of {', '.join(REPRESENTATIONS)} (got {representation!r})")
        if representation == "hierarchical":
            _slots(space, motif_nodes)
            if motifs < 1:
                raise ValueError(f"motifs must be at least 1 (got {motifs})")
        self.space, self.population, self.tournament = space, population, tournament
        self.replace, self.representation = replace, representation
        self.motif_nodes, self.motifs = motif_nodes, motifs
        self.rng = make_rng(seed)
        self.members: list[tuple[int, Any, float]] = []  # (child index, genotype, reward), oldest first
        self.proposed = 0
        self._pending: list[tuple[int, Any]] = []

    def _wiring(self, genotype: Any) -> Wiring:
        return genotype.flatten(self.space.stages) if isinstance(genotype, Hierarchy) else genotype

    def _random(self) -> Any:
        if self.representation == "hierarchical":
            return sample_hierarchy(self.space, self.motif_nodes, self.motifs, self.rng)
        return sample_wiring(self.space, self.rng)

    def _mutate(self, genotype: Any) -> tuple[Any, str]:
        if isinstance(genotype, Hierarchy):
            return mutate_hierarchy(genotype, self.rng, self.space.ops)
        return mutate_wiring(genotype, self.rng, self.space.ops)

    def propose(self, count: int) -> list[Proposal]:
        """Random wirings until the population is filled, then tournament winners' mutants."""
        out = []
        self._pending = []
        if self.proposed < self.population or not self.members:
            count = min(count, max(1, self.population - self.proposed))
        for _ in range(count):
            if self.proposed < self.population or not self.members:
                genotype, parent, kind = self._random(), None, None
            else:
                picks = self.rng.choice(len(self.members), size=min(self.tournament, len(self.members)), replace=False)
                best = max(sorted(int(i) for i in picks), key=lambda i: self.members[i][2])  # ties: the oldest
                parent = self.members[best][0]
                genotype, kind = self._mutate(self.members[best][1])
            self._pending.append((self.proposed, genotype))
            out.append(Proposal(wiring=self._wiring(genotype), parent=parent, mutation=kind))
            self.proposed += 1
        return out

    def observe(self, proposals: Sequence[Proposal], rewards: Sequence[float]) -> None:
        """Add the trained children; beyond ``population`` members, drop the oldest or the worst."""
        for (index, genotype), reward in zip(self._pending, rewards):
            self.members.append((index, genotype, float(reward)))
            while len(self.members) > self.population:
                if self.replace == "oldest":
                    self.members.pop(0)
                else:
                    self.members.pop(min(range(len(self.members)), key=lambda i: self.members[i][2]))
        self._pending = []

    def state_dict(self) -> dict[str, Any]:
        """The population: member child indices and rewards, oldest first."""
        return {"members": [i for i, _, _ in self.members], "rewards": [r for _, _, r in self.members]}
