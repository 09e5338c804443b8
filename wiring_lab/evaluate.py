"""Evaluation of a network on a data split: top-1 / top-5 accuracy and loss, per image if asked."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import Dataset

from wiring_lab.data import batches


@dataclass
class EvalResult:
    """Accuracies in percent, mean cross-entropy loss (no label smoothing) and the image count."""

    top1: float
    top5: float | None  # None where there are 5 classes or fewer
    loss: float
    n: int


def per_image(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, K) logits, (B,) labels -> per-image top-1 hit, top-5 hit and loss, each (B,)."""
    loss = nn.functional.cross_entropy(logits.float(), y, reduction="none")
    top1 = logits.argmax(dim=1) == y
    k = min(5, logits.shape[1])
    top5 = (logits.topk(k, dim=1).indices == y[:, None]).any(dim=1)
    return top1, top5, loss


def summarize(top1: torch.Tensor, top5: torch.Tensor, loss: torch.Tensor, num_classes: int) -> EvalResult:
    """Per-image results -> an :class:`EvalResult` (one host sync)."""
    n = int(top1.numel())
    stats = torch.stack([top1.double().mean(), top5.double().mean(), loss.double().mean()]).cpu().tolist()
    return EvalResult(100 * stats[0], 100 * stats[1] if num_classes > 5 else None, stats[2], n)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    dataset: Dataset,
    device: torch.device | str = "cpu",
    batch_size: int = 256,
    limit: int | None = None,
) -> EvalResult:
    """Evaluate ``model`` (in eval mode) on ``dataset``; ``limit`` takes the first N images."""
    was_training = model.training
    model.eval()
    parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    num_classes = 0
    for x, y in batches(dataset, batch_size, limit=limit):
        logits = model(x.to(device, non_blocking=True))
        num_classes = logits.shape[1]
        parts.append(per_image(logits, y.to(device, non_blocking=True)))
    model.train(was_training)
    if not parts:
        raise ValueError("cannot evaluate on an empty data set")
    return summarize(*(torch.cat(p) for p in zip(*parts)), num_classes)
