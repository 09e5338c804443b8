"""What "removed" means in a damage study: one :class:`Ablation` record per meaning (DESIGN.md, "Damage"),
and the damage vocabulary the CLI checks before importing torch (what is removed, attack orders).

The damage engine, the damage configs, the CLI's ``--ablation`` option and its help read these
records instead of comparing names: a record says what a removed term becomes in a successor's
weighted sum (``fill``) and whether the output node keeps its denominator.

>>> get_ablation("mean").needs_means
True
>>> [a.name for a in list_ablations()]
['drop', 'zero', 'mean']
"""

from __future__ import annotations

from dataclasses import dataclass

FILLS = ("none", "zeros", "mean")
REMOVE_KINDS = ("node", "edge", "both")  # what a damage sweep removes, one at a time
ATTACK_ORDERS = ("random", "degree", "betweenness")  # the order an attack removes nodes in


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices`` (the message lists them)."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)} (got {value!r})")


@dataclass(frozen=True)
class Ablation:
    """One meaning of "remove": what the removed node's or edge's term becomes."""

    name: str  # recorded in every damage row: "drop", "zero", "mean"
    fill: str  # none: the term leaves the sum (weight zeroed) and the output node's mean; zeros / mean: it is read as that
    help: str  # one line for --help and the docs

    def __post_init__(self) -> None:
        if self.fill not in FILLS:
            raise ValueError(f"ablation {self.name!r}: fill must be one of {', '.join(FILLS)} (got {self.fill!r})")

    @property
    def needs_means(self) -> bool:
        """The removed term reads its mean activation over a reference set (computed on the intact network)."""
        return self.fill == "mean"

    @property
    def keeps_denominator(self) -> bool:
        """The output node still divides by every output-fed node (the removed one reads zeros or its mean)."""
        return self.fill != "none"


_ABLATIONS: dict[str, Ablation] = {
    a.name: a
    for a in (
        Ablation("drop", "none", "its term leaves every sum and the output mean"),
        Ablation("zero", "zeros", "read as zeros; the output mean keeps its denominator"),
        Ablation("mean", "mean", "read as its mean activation over --mean-images training images"),
    )
}
DEFAULT_ABLATION = "drop"  # the literal reading of "remove one node" (Xie et al. 2019, Fig. 5)


def list_ablations() -> list[Ablation]:
    """The ablation records, default first."""
    return list(_ABLATIONS.values())


def ablation_names() -> tuple[str, ...]:
    """``("drop", "zero", "mean")``."""
    return tuple(_ABLATIONS)


def get_ablation(name: object) -> Ablation:
    """The record of ``name``; an unknown name lists the valid ones."""
    a = _ABLATIONS.get(name) if isinstance(name, str) else None
    if a is None:
        raise ValueError(f"ablation must be one of {', '.join(_ABLATIONS)} (got {name!r})")
    return a


def ablation_help() -> str:
    """The ``--ablation`` option's help: every record's name and line."""
    return "what a removed node or edge becomes: " + "; ".join(f"{a.name} ({a.help})" for a in list_ablations())
