"""The training recipe, :class:`TrainConfig`: the one place its defaults are written.

RandWire section 4: SGD with momentum 0.9, learning rate 0.1 with a half-period cosine decay,
weight decay 5e-5, label smoothing 0.1, optional edge drop. :mod:`wiring_lab.train` trains with
it; a study's scales, a search and the demo embed it. It imports no torch, so the CLI shows its
defaults in ``--help`` without paying torch's start-up (0.95 s).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe and data (stored in every checkpoint's metadata)."""

    dataset: str = "digits"  # digits | mnist | fashion-mnist | cifar10 | imagefolder
    data_root: str | None = None  # data directory (unused for digits)
    epochs: int = 15
    batch_size: int = 64
    lr: float = 0.1  # peak learning rate, half-period cosine decay to 0
    momentum: float = 0.9
    weight_decay: float = 5e-5
    label_smoothing: float = 0.1
    edge_drop: float = 0.0  # per step and multi-input node: probability to drop one input edge
    seed: int = 0  # weight init, data order, edge-drop draws
    workers: int = 0  # DataLoader workers for image folders
    val_fraction: float = 0.1  # share of the training split held out (stratified) for per-epoch monitoring; 0: none
    val_seed: int = 0  # seed of that hold-out (the same for every network by default: they train on the same images)
    augment: bool = False  # random crop (zero padding of image_size // 8 pixels) + horizontal flip of training batches

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer (got {v!r})")
        for name in ("lr", "momentum", "weight_decay", "label_smoothing", "edge_drop"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{name} must be a finite number (got {v!r:.40})")
        if not (0 < self.lr <= 10):
            raise ValueError(f"lr must be a positive number of at most 10 (got {self.lr!r})")
        if self.weight_decay > 1:
            raise ValueError(f"weight_decay must be in [0, 1] (got {self.weight_decay!r})")
        if not 0.0 <= self.edge_drop < 1.0:
            raise ValueError(f"edge_drop must be in [0, 1) (got {self.edge_drop!r})")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1) (got {self.label_smoothing!r})")
        if self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise ValueError("weight_decay must be >= 0 and momentum in [0, 1)")
        if isinstance(self.val_fraction, bool) or not isinstance(self.val_fraction, (int, float)) or not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be a number in [0, 1) (got {self.val_fraction!r})")
        if isinstance(self.val_seed, bool) or not isinstance(self.val_seed, int) or self.val_seed < 0:
            raise ValueError(f"val_seed must be an integer >= 0 (got {self.val_seed!r})")
        if not isinstance(self.augment, bool):
            raise ValueError(f"augment must be true or false (got {self.augment!r:.40})")


# Fields added after checkpoints, task digests and run directories existed: a record leaves them out
# at these values, so an existing task keeps its digest and an existing checkpoint still resumes.
RECORD_DEFAULTS: dict[str, Any] = {"augment": False}


def train_record(config: TrainConfig) -> dict[str, Any]:
    """``asdict(config)`` less the later fields at their defaults (what checkpoints and task digests hold)."""
    return {k: v for k, v in asdict(config).items() if not (k in RECORD_DEFAULTS and v == RECORD_DEFAULTS[k])}
