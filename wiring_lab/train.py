"""Training with the paper's recipe, a checkpoint after every epoch, and exact resume.

Recipe (RandWire, section 4): SGD with momentum 0.9, learning rate 0.1 with a half-period cosine
decay (per step), weight decay 5e-5, label smoothing 0.1, optional edge drop. The data order
and the edge-drop draws of epoch ``e`` depend only on ``(seed, e)``, so a run resumed from its
checkpoint ends at the same weights as an uninterrupted one on the CPU.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from wiring_lab._io import UserError, resolve_device
from wiring_lab.checkpoint import Checkpoint, load_native, save_checkpoint
from wiring_lab.data import Data, batches, load_dataset
from wiring_lab.evaluate import evaluate
from wiring_lab.graphs import GraphSpec
from wiring_lab.model import ModelConfig, build_model, count_macs, count_params


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

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer (got {v!r})")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number (got {self.lr!r})")
        if not 0.0 <= self.edge_drop < 1.0:
            raise ValueError(f"edge_drop must be in [0, 1) (got {self.edge_drop!r})")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1) (got {self.label_smoothing!r})")
        if self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise ValueError("weight_decay must be >= 0 and momentum in [0, 1)")


# regime -> default (C, N, head width): small-data networks train in minutes on a laptop CPU;
# the 224x224 regimes take the paper's small-regime size
SIZE_DEFAULTS: dict[str, tuple[int, int, int]] = {"digits": (16, 16, 256), "mnist": (32, 32, 512), "cifar": (32, 32, 512)}
PAPER_SIZE = (78, 32, 1280)


def default_size(regime: str) -> tuple[int, int, int]:
    """Default (C, N, head width) of a network of ``regime``."""
    return SIZE_DEFAULTS.get(regime, PAPER_SIZE)


def model_config_for(data: Data, **overrides: Any) -> ModelConfig:
    """A ModelConfig matching a data set's classes, channels and image size."""
    base = {"regime": data.regime, "num_classes": data.num_classes, "in_channels": data.in_channels}
    base.update({k: v for k, v in overrides.items() if v is not None})
    return ModelConfig(**base)


def _restore_optimizer(opt: torch.optim.Optimizer, state: dict[str, Any], path: Path) -> None:
    """Load a checkpoint's optimizer state; one that does not fit the model is a UserError."""
    try:
        opt.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
        raise UserError(f"{path}: its optimizer state does not fit the model ({str(e).splitlines()[0][:120] if str(e) else e.__class__.__name__})") from None
    for group in opt.param_groups:
        for p in group["params"]:
            for name, v in opt.state.get(p, {}).items():
                if v is None:
                    continue
                if not isinstance(v, torch.Tensor) or (v.dim() and v.shape != p.shape) or not torch.isfinite(v).all():
                    raise UserError(f"{path}: its optimizer state does not fit the model ({name} of another shape or not finite)")


def _cosine_lr(base: float, step: int, total: int) -> float:
    return 0.5 * base * (1.0 + math.cos(math.pi * step / total))


def train_network(
    model_config: ModelConfig,
    train_config: TrainConfig,
    out: str | Path,
    device: str = "auto",
    resume: bool = False,
    data: Data | None = None,
    progress: bool | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    graphs: Sequence[GraphSpec] | None = None,
) -> Checkpoint:
    """Train a network and write its checkpoint to ``out`` after every epoch (atomically).

    With ``resume``, an existing ``out`` is continued from its last finished epoch; its configs
    must equal the ones given. Without it, an existing ``out`` is never overwritten. ``graphs``
    gives the stage graphs (e.g. searched wirings) instead of generating them from the config.
    """
    out = Path(out)
    dev = resolve_device(device)
    data = data or load_dataset(train_config.dataset, train_config.data_root)
    if model_config.num_classes != data.num_classes or model_config.in_channels != data.in_channels:
        raise UserError(
            f"model has {model_config.num_classes} classes / {model_config.in_channels} input channels "
            f"but {data.name} has {data.num_classes} / {data.in_channels}"
        )

    torch.manual_seed(train_config.seed)
    model = build_model(model_config, graphs)
    history: list[dict[str, Any]] = []
    start_epoch = 0
    opt = torch.optim.SGD(
        model.parameters(),
        lr=train_config.lr,
        momentum=train_config.momentum,
        weight_decay=train_config.weight_decay,
    )
    if out.exists():
        if not resume:
            raise UserError(f"{out} exists; pass --resume to continue it, or choose another --out")
        ckpt = load_native(out)
        if ckpt.config != model_config:
            raise UserError(f"{out}: was trained with another model config; choose another --out")
        if graphs is not None and ckpt.graphs != list(graphs):
            raise UserError(f"{out}: was trained with other stage graphs; choose another --out")
        saved_train = ckpt.metadata.get("train_config", {})
        if saved_train != asdict(train_config):
            raise UserError(f"{out}: was trained with another training config; choose another --out")
        model.load_state_dict(ckpt.model.state_dict())
        history = list(ckpt.metadata.get("history", []))
        start_epoch = len(history)
        if ckpt.train_state is not None and start_epoch < train_config.epochs:
            _restore_optimizer(opt, ckpt.train_state["optimizer"], out)
        if start_epoch >= train_config.epochs:
            ckpt.model.to(dev)
            return ckpt
    model.to(dev)
    model.set_edge_drop(train_config.edge_drop)
    for group in opt.param_groups:  # optimizer state follows the model's device
        for p in group["params"]:
            for k, v in opt.state.get(p, {}).items():
                if isinstance(v, torch.Tensor):
                    opt.state[p][k] = v.to(dev)
    criterion = nn.CrossEntropyLoss(label_smoothing=train_config.label_smoothing)
    steps_per_epoch = math.ceil(len(data.train) / train_config.batch_size)
    total_steps = steps_per_epoch * train_config.epochs
    info = {
        "params": count_params(model),
        "macs": count_macs(model, data.image_size, data.in_channels),
        "image_size": data.image_size,
    }
    for epoch in range(start_epoch, train_config.epochs):
        t0 = time.perf_counter()
        torch.manual_seed(train_config.seed * 100_003 + epoch)  # edge-drop draws of this epoch
        model.train()
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev)
        seen = 0
        bar = tqdm(
            batches(data.train, train_config.batch_size, shuffle_seed=train_config.seed * 100_003 + epoch, workers=train_config.workers),
            total=steps_per_epoch,
            desc=f"epoch {epoch + 1}/{train_config.epochs}",
            disable=(not progress) if progress is not None else None,
            leave=False,
        )
        for i, (x, y) in enumerate(bar):
            step = epoch * steps_per_epoch + i
            for group in opt.param_groups:
                group["lr"] = _cosine_lr(train_config.lr, step, total_steps)
            x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
            logits = model(x)
            loss = criterion(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(y)
            correct += (logits.argmax(1) == y).sum()
            seen += len(y)
            if i % 10 == 0 and bar.disable is False:
                bar.set_postfix(loss=f"{loss_sum.item() / seen:.3f}", acc=f"{100 * correct.item() / seen:.1f}")
        bar.close()
        test = evaluate(model, data.test, dev)
        row = {
            "epoch": epoch + 1,
            "train_loss": loss_sum.item() / seen,
            "train_top1": 100 * correct.item() / seen,
            "test_loss": test.loss,
            "test_top1": test.top1,
            "test_top5": test.top5,
            "lr_end": _cosine_lr(train_config.lr, (epoch + 1) * steps_per_epoch, total_steps),
            "seconds": time.perf_counter() - t0,
        }
        history.append(row)
        metadata = {
            "dataset": data.name,
            "epochs": train_config.epochs,
            "epochs_done": epoch + 1,
            "history": history,
            "final": {"test_top1": test.top1, "test_top5": test.top5, "test_loss": test.loss},
            "train_config": asdict(train_config),
            "info": info,
        }
        model.set_edge_drop(0.0)  # the saved model carries no training-only state
        save_checkpoint(out, model, metadata, {"optimizer": opt.state_dict(), "epoch": epoch + 1})
        model.set_edge_drop(train_config.edge_drop)
        if on_epoch is not None:
            on_epoch(row)
    model.set_edge_drop(0.0)
    # the model just saved is returned as is: reading the file back would only repeat the I/O
    return Checkpoint(model.eval(), model.graphs, model.config, metadata, {"optimizer": opt.state_dict(), "epoch": train_config.epochs}, out)
