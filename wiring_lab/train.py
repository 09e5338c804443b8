"""Training with the paper's recipe, a checkpoint after every epoch, and exact resume.

Recipe (RandWire, section 4): SGD with momentum 0.9, learning rate 0.1 with a half-period cosine
decay (per step), weight decay 5e-5, label smoothing 0.1, optional edge drop. The data order
and the edge-drop draws of epoch ``e`` depend only on ``(seed, e)``, so a run resumed from its
checkpoint ends at the same weights as an uninterrupted one on the CPU.

Monitoring: a stratified, seeded share of the training split (``val_fraction``, ``val_seed``) is
held out and evaluated after every epoch (``val_*`` columns of the history); the network trains
on the rest. The test split is evaluated once, after the last epoch (``metadata["final"]``), so
no choice made while watching training can have seen it.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import Dataset, Subset, TensorDataset
from tqdm.auto import tqdm

from wiring_lab._io import UserError, resolve_device, write_json
from wiring_lab._limits import short_repr
from wiring_lab._pricing import price_network
from wiring_lab._validate import is_finite_number
from wiring_lab.checkpoint import (
    Checkpoint,
    load_native,
    read_checkpoint,
    save_checkpoint,
)
from wiring_lab.data import Data, batches, load_dataset
from wiring_lab.evaluate import evaluate
from wiring_lab.graphs import GraphSpec
from wiring_lab.model import ModelConfig, build_model, count_macs, count_params
from wiring_lab.augment import augment_batch
from wiring_lab.recipe import RECORD_DEFAULTS, TrainConfig, train_record

# Fields added after checkpoints were first written, with the values that reproduce how those
# were trained: an older checkpoint's training config is read with these filled in.
LEGACY_TRAIN_FIELDS = {"val_fraction": 0.0, "val_seed": 0, **RECORD_DEFAULTS}


def _labels(dataset: Dataset):
    """Integer class labels of every example (a numpy array)."""
    if isinstance(dataset, TensorDataset):
        return dataset.tensors[1].numpy()
    targets = getattr(dataset, "targets", None)
    if targets is not None and len(targets) == len(dataset):
        return np.asarray(targets, dtype=np.int64)
    return np.array([int(dataset[i][1]) for i in range(len(dataset))], dtype=np.int64)


def split_validation(data: Data, fraction: float, seed: int) -> tuple[Data, Dataset | None]:
    """(data whose training split lacks the hold-out, hold-out): stratified by class, seeded.

    ``fraction`` 0 returns ``data`` unchanged and no hold-out. Classes too small to stratify
    (fewer than two examples) fall back to a plain seeded split.
    """
    if fraction == 0:
        return data, None
    labels = _labels(data.train)
    n = len(labels)
    n_val = max(1, int(round(fraction * n)))
    if n - n_val < 1:
        raise UserError(f"val_fraction {fraction} leaves no validation or no training images of {n} ({data.name})")
    idx = np.arange(n)
    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 and n_val >= (counts > 0).sum() else None
    fit, val = train_test_split(idx, test_size=n_val, random_state=seed, stratify=stratify)

    def part(rows):
        """The training examples ``rows`` (ascending) as a dataset."""
        rows = np.sort(rows)
        if isinstance(data.train, TensorDataset):
            t = torch.from_numpy(rows)
            return TensorDataset(*(x[t] for x in data.train.tensors))
        return Subset(data.train, rows.tolist())

    fit_data = Data(data.name, part(fit), data.test, data.num_classes, data.in_channels, data.image_size, data.regime, data.classes)
    return fit_data, part(val)


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


def _check_param_groups(opt: torch.optim.Optimizer, state: Any, path: Path, peak_lr: float) -> None:
    """Saved param_groups must be this recipe's: same structure and settings, a finite lr in [0, peak]."""
    groups = state.get("param_groups") if isinstance(state, dict) else None
    fresh = opt.state_dict()["param_groups"]
    if not isinstance(groups, list) or len(groups) != len(fresh) or not all(isinstance(g, dict) for g in groups):
        raise UserError(f"{path}: its optimizer state does not fit the model (param_groups is not {len(fresh)} group(s))")
    for saved, new in zip(groups, fresh):
        if set(saved) != set(new):
            raise UserError(f"{path}: its optimizer state does not fit the model (param_groups keys {short_repr(sorted(map(str, saved)), 120)})")
        lr = saved["lr"]
        if not is_finite_number(lr) or not 0 <= lr <= peak_lr:
            raise UserError(f"{path}: its optimizer state holds lr {short_repr(lr, 40)}, not a finite rate in [0, {peak_lr}]")
        for key, value in new.items():
            if key in ("lr", "params", "initial_lr"):
                continue
            got = saved[key]
            if is_finite_number(value) and not isinstance(value, bool):
                same = is_finite_number(got) and got == value
            else:  # None, bools and strings: exactly this value (a tensor or maximize=True is refused)
                same = type(got) is type(value) and got == value
            if not same:
                raise UserError(
                    f"{path}: its optimizer state sets {key}={short_repr(saved[key], 40)} but this training uses {value!r}"
                )
        params = saved["params"]
        if not isinstance(params, list) or len(params) != len(new["params"]) or not all(type(i) is int for i in params):
            raise UserError(f"{path}: its optimizer state does not fit the model (param_groups params)")


def _restore_optimizer(opt: torch.optim.Optimizer, state: dict[str, Any], path: Path, peak_lr: float = math.inf) -> None:
    """Load a checkpoint's optimizer state; one that does not fit the model is a UserError."""
    _check_param_groups(opt, state, path, peak_lr)
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


def _check_finite_data(data: Data) -> None:
    """In-memory training and test images must be finite (decoded image files always are)."""
    for split in ("train", "test"):
        ds = getattr(data, split)
        if len(ds) == 0:
            raise UserError(f"data set {data.name}: the {split} split holds no images")
        tensors = getattr(ds, "tensors", ())
        if tensors and tensors[0].is_floating_point() and not torch.isfinite(tensors[0]).all():
            raise UserError(f"data set {data.name}: its {split} images hold NaN or inf values")


class CheckpointExists(UserError):
    """Training would overwrite an existing checkpoint; ``resume=True`` continues it instead."""

    def __init__(self, path: Path, done: str = ""):
        self.path = path
        super().__init__(f"{path} exists{done}; resume it or choose another output path")


def _epochs_done_text(path: Path) -> str:
    """`` (3 of 6 epochs done)`` read from the checkpoint's metadata, or "" when it cannot be read."""
    try:
        meta = read_checkpoint(path).get("metadata") or {}
        done, total = meta.get("epochs_done"), meta.get("epochs")
    except (UserError, AttributeError):
        return ""
    ok = all(isinstance(x, int) and not isinstance(x, bool) for x in (done, total))
    return f" ({done} of {total} epochs done)" if ok else ""


def resume_epoch(path: Path, meta: dict[str, Any], train_state: dict[str, Any] | None, epochs: int) -> int:
    """The epoch a resumed training starts from: the recorded counter, checked against the history.

    ``metadata.epochs_done`` (and ``train_state.epoch`` where saved) count the finished epochs; the
    history must hold exactly that many records, numbered 1..epochs_done. A history that disagrees
    (edited, or written by another run) is refused instead of trusted: its length would decide
    which epochs are skipped.
    """
    done = meta.get("epochs_done")
    saved = train_state.get("epoch") if train_state is not None else None
    if done is None:
        done = saved
    if isinstance(done, bool) or not isinstance(done, int) or not 0 <= done <= epochs:
        raise UserError(f"{path}: its epoch counter is {short_repr(done, 40)}, not a number of finished epochs in [0, {epochs}]")
    if saved is not None and saved != done:
        raise UserError(f"{path}: its epoch counters disagree (metadata {done}, optimizer state {short_repr(saved, 40)}); cannot resume it")
    history = meta.get("history") or []
    numbers = [h.get("epoch") for h in history]
    if numbers != list(range(1, done + 1)):
        raise UserError(
            f"{path}: its history holds {len(history):,} epoch records for {done} finished epochs "
            f"(records must be epochs 1..{done}); cannot resume it"
        )
    return done


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

    price_network(model_config, "training this network", batch=train_config.batch_size, images=len(data.train),
                  train=True, passes=train_config.epochs, image_size=data.image_size, where=out)  # before any allocation
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
            raise CheckpointExists(out, _epochs_done_text(out))
        ckpt = load_native(out)
        if ckpt.config != model_config:
            raise UserError(f"{out}: was trained with another model config; choose another output path")
        if graphs is not None and ckpt.graphs != list(graphs):
            raise UserError(f"{out}: was trained with other stage graphs; choose another output path")
        saved_train = {**LEGACY_TRAIN_FIELDS, **ckpt.metadata.get("train_config", {})}
        if saved_train != asdict(train_config):
            raise UserError(f"{out}: was trained with another training config; choose another output path")
        model.load_state_dict(ckpt.model.state_dict())
        history = list(ckpt.metadata.get("history", []))
        start_epoch = resume_epoch(out, ckpt.metadata, ckpt.train_state, train_config.epochs)
        if ckpt.train_state is not None and start_epoch < train_config.epochs:
            _restore_optimizer(opt, ckpt.train_state["optimizer"], out, train_config.lr)
        if start_epoch >= train_config.epochs:
            ckpt.model.to(dev)
            return ckpt
    full_data = data
    _check_finite_data(data)  # before the hold-out: an empty split is named as such
    data, val_set = split_validation(data, train_config.val_fraction, train_config.val_seed)
    bad = [name for name, t in model.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise UserError(f"{out}: parameter {bad[0]} holds NaN or inf values before the first step")
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
        "n_train": len(data.train),  # images trained on (the training split less the hold-out)
        "n_val": 0 if val_set is None else len(val_set),
        "n_test": len(full_data.test),
    }
    for epoch in range(start_epoch, train_config.epochs):
        t0 = time.perf_counter()
        torch.manual_seed(train_config.seed * 100_003 + epoch)  # edge-drop draws of this epoch
        model.train()
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev)
        seen = 0
        crops = torch.Generator().manual_seed(train_config.seed * 100_003 + epoch + 0x617567) if train_config.augment else None
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
            if crops is not None:
                x = augment_batch(x, crops)
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
        row = {
            "epoch": epoch + 1,
            "train_loss": loss_sum.item() / seen,
            "train_top1": 100 * correct.item() / seen,
        }
        if not (math.isfinite(row["train_loss"]) and all(torch.isfinite(p).all() for p in model.parameters())):
            kept = f"the checkpoint of epoch {epoch} is kept" if epoch > start_epoch or out.exists() else "nothing was written"
            raise TrainingDiverged(
                f"{out}: training diverged in epoch {epoch + 1} (loss {row['train_loss']:.4g}, or NaN/inf weights); "
                f"{kept}; lower --lr or --weight-decay"
            )
        if val_set is not None:
            val = evaluate(model, val_set, dev)
            row.update(val_loss=val.loss, val_top1=val.top1, val_top5=val.top5)
        row.update(
            lr_end=_cosine_lr(train_config.lr, (epoch + 1) * steps_per_epoch, total_steps),
            seconds=time.perf_counter() - t0,
        )
        history.append(row)
        final = None
        if epoch + 1 == train_config.epochs:  # the test split, once, when training is done
            test = evaluate(model, data.test, dev)
            final = {"test_top1": test.top1, "test_top5": test.top5, "test_loss": test.loss}
        metadata = {
            "dataset": data.name,
            "epochs": train_config.epochs,
            "epochs_done": epoch + 1,
            "history": history,
            "final": final,
            "train_config": train_record(train_config),
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


# --- learning-rate fallback --------------------------------------------------------------------
CHANCE_FACTOR = 1.5  # "at chance": test top-1 at most 1.5x the rate 100/K
CHANCE_MIN_STEPS = 100  # the chance check waits for the first epoch that ends after this many SGD steps


def chance_check_epoch(steps_per_epoch: int, epochs: int) -> int:
    """The epoch after which :func:`divergence` checks for chance: the first, or later when epochs are short.

    One epoch of a tiny data set (23 steps on digits) is too short for a healthy network to leave
    chance, so the check waits for the first epoch ending after ``CHANCE_MIN_STEPS`` steps (or the last).
    """
    return max(1, min(epochs, math.ceil(CHANCE_MIN_STEPS / max(1, steps_per_epoch))))


def divergence(history: Sequence[dict[str, Any]], num_classes: int, check_epoch: int = 1) -> str | None:
    """Why a training history counts as diverged, or None.

    Diverged: a train or monitoring loss that is not finite in any epoch, or a monitoring top-1
    after epoch ``check_epoch`` no better than ``CHANCE_FACTOR`` times chance (100 / classes), the
    mark of a network whose ReLUs died at too high a learning rate. Monitoring is the validation
    hold-out (``val_*``), or the test split in histories written before it (``test_*``); with no
    hold-out only the train loss is checked.
    """
    for row in history:
        prefix = "val" if "val_loss" in row else "test"
        for key in ("train_loss", f"{prefix}_loss"):
            v = row.get(key, math.nan if key == "train_loss" else 0.0)
            if v is None or not math.isfinite(v):
                return f"{key} not finite at epoch {row.get('epoch')}"
    chance = 100.0 / num_classes
    for row in history:
        prefix = "val" if "val_top1" in row else "test"
        top1 = row.get(f"{prefix}_top1")
        if row.get("epoch") == check_epoch and top1 is not None and top1 <= CHANCE_FACTOR * chance:
            split = "validation" if prefix == "val" else "test"
            return f"{split} top-1 {top1:.1f}% after epoch {check_epoch}, at chance ({chance:.0f}%)"
    return None


class TrainingDiverged(UserError):
    """A loss or weight turned NaN/inf during training (the last good checkpoint is kept)."""


class _Diverged(Exception):
    """Raised from the epoch callback to stop a diverged run early."""


def lr_attempts(lr: float, fallback: Sequence[float]) -> list[float]:
    """The learning rates tried in order: ``lr``, then each smaller one of ``fallback``."""
    return [lr] + [float(x) for x in fallback if x < lr]


def _fallback_log(out: Path) -> Path:
    return out.with_name(out.name + ".lr.json")


def train_with_lr_fallback(
    model_config: ModelConfig,
    train_config: TrainConfig,
    out: str | Path,
    fallback: Sequence[float],
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    **kwargs: Any,
) -> tuple[Checkpoint, list[dict[str, Any]]]:
    """Train at ``train_config.lr``; a run that diverges (see :func:`divergence`) is retried at the next lr.

    The chance check is made after epoch :func:`chance_check_epoch` (the first, unless an epoch
    has fewer than ``CHANCE_MIN_STEPS`` steps).

    The rates tried are :func:`lr_attempts` (``train_config.lr`` first). A diverged run stops
    after the epoch that shows it; its record (lr, reason, history) goes to ``<out>.lr.json`` and
    its checkpoint is deleted, so a re-run (``resume``) skips the rates already found to diverge.
    Returns the checkpoint of the first rate that trains (its ``train_config.lr`` is the rate
    used) and one record per rate tried. Every rate diverging is a :class:`UserError`.
    """
    out = Path(out)
    data = kwargs.pop("data", None) or load_dataset(train_config.dataset, train_config.data_root)
    check_epoch = chance_check_epoch(math.ceil(len(data.train) / train_config.batch_size), train_config.epochs)
    log = _fallback_log(out)
    tried: list[dict[str, Any]] = []
    if log.is_file():
        try:
            tried = list(json.loads(log.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            tried = []
    failed = {float(t["lr"]) for t in tried if isinstance(t, dict) and t.get("status") == "diverged"}
    classes = model_config.num_classes

    def saved() -> tuple[float | None, list[dict[str, Any]]]:
        """The lr and history of the checkpoint at ``out`` (read raw: a diverged one may hold NaNs)."""
        if not out.exists():
            return None, []
        meta = read_checkpoint(out).get("metadata") or {}
        return (meta.get("train_config") or {}).get("lr"), list(meta.get("history") or [])

    def give_up(lr: float, reason: str, history: list[dict[str, Any]]) -> None:
        tried.append({"lr": lr, "status": "diverged", "reason": reason, "history": history})
        write_json(log, tried)  # the record first: a re-run that finds it skips this lr
        out.unlink(missing_ok=True)

    for lr in lr_attempts(train_config.lr, fallback):
        saved_lr, saved_history = saved()
        if lr in failed:
            if saved_lr == lr:
                out.unlink()  # stopped between writing the record and deleting the checkpoint
            continue
        if saved_lr == lr and divergence(saved_history, classes, check_epoch) is not None:  # stopped right after saving
            give_up(lr, str(divergence(saved_history, classes, check_epoch)), saved_history)
            continue
        config = replace(train_config, lr=lr)
        history: list[dict[str, Any]] = list(saved_history) if saved_lr == lr else []

        def check(row: dict[str, Any]) -> None:
            history.append(row)
            reason = divergence(history, classes, check_epoch)
            if reason is not None:
                raise _Diverged(reason)
            if on_epoch is not None:
                on_epoch(row)

        try:
            ckpt = train_network(model_config, config, out, on_epoch=check, resume=True, data=data, **kwargs)
        except (_Diverged, TrainingDiverged) as d:
            give_up(lr, str(d), history)
            continue
        tried.append({"lr": lr, "status": "trained", "reason": ""})
        return ckpt, tried
    rates = "; ".join(f"{t['lr']:g}: {t['reason']}" for t in tried if t.get("status") == "diverged")
    raise UserError(f"{out}: training diverged at every learning rate tried ({rates})")
