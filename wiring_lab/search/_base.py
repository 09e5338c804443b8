"""What every search strategy shares: a proposed child and the propose/observe protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from wiring_lab.search.space import Wiring


@dataclass(frozen=True)
class Proposal:
    """A child to train: a searched wiring, or a generator setting (``wiring`` None)."""

    wiring: Wiring | None = None  # searched wiring; None for a generator child
    generator: str | None = None  # generator child: "er" | "ba" | "ws" | ...
    params: dict[str, Any] = field(default_factory=dict)  # generator child's parameters
    parent: int | None = None  # evolution: index of the mutated parent
    mutation: str | None = None  # evolution: the mutation that made it from its parent


class Strategy:
    """A search strategy: proposes children, then observes their rewards, round after round.

    Its state after any number of rounds is a deterministic function of its seed and the rewards
    it observed, in order, so a search resumes by replaying the finished children.
    """

    name = "strategy"

    def propose(self, count: int) -> list[Proposal]:
        """Up to ``count`` children to train next (at least one)."""
        raise NotImplementedError

    def observe(self, proposals: Sequence[Proposal], rewards: Sequence[float]) -> None:
        """Rewards (validation accuracy in [0, 1]) of the children of the last :meth:`propose`."""

    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain containers that describe the strategy's learned state."""
        return {}
