"""Training-batch augmentation: random crop with zero padding, then a horizontal flip (off by default).

The standard small-image recipe (CIFAR ResNets, RandWire's CIFAR runs): pad each image by
``image_size // 8`` pixels (4 for 32x32, 2 for 16x16, at least 1), take a random crop of the
original size, flip half the images left-right. Draws come from a ``torch.Generator`` seeded per
epoch, apart from the global generator the edge-drop draws use, so turning augmentation on changes
nothing else, and turning it off (the default) leaves training exactly as before.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def crop_padding(image_size: int) -> int:
    """Pixels of zero padding around an image before the random crop."""
    return max(1, int(image_size) // 8)


def augment_batch(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``x`` (B, C, H, W) randomly cropped (after zero padding) and half of it flipped left-right."""
    b, _, h, w = x.shape
    pad = crop_padding(min(h, w))
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator).to(x.device)  # (B,) crop offsets
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator).to(x.device)
    flip = (torch.rand(b, generator=generator) < 0.5).to(x.device)  # (B,)
    padded = F.pad(x, (pad, pad, pad, pad))  # (B, C, H + 2 pad, W + 2 pad)
    rows = dy[:, None] + torch.arange(h, device=x.device)  # (B, H)
    cols = dx[:, None] + torch.arange(w, device=x.device)  # (B, W)
    cols = torch.where(flip[:, None], cols.flip(1), cols)  # a flipped image reads its columns right to left
    idx = torch.arange(b, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()
