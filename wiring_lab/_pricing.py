"""What running a network will cost, from its declared config alone: memory bytes and units of work.

Every command that builds, trains or evaluates a network prices it here before anything is
allocated, against the budget of :mod:`wiring_lab._limits` (``--max-memory``, ``--max-work``):
``train``, ``inspect``, and each network of a study (``ablate``, also at ``--dry-run``), whose
training and analyses are priced when the study is planned, not when a worker reaches them.

The estimates count the tensors a pass keeps (weights, gradients and momentum when training;
each node's output and the tensors its backward needs per image) from the stage shapes, node
operation, head and image size, so a 10^5-channel config costs arithmetic, not a build.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from wiring_lab._limits import check_memory, check_work
from wiring_lab.model import REGIMES

# One network node run on one batch takes about as long as measuring this many graph nodes
# (the work limit's unit): ~3 ms a node-pass against ~4 us a graph node on the 2-core
# development machine, both measured.
NODE_PASS_WORK = 1000
# Counting multiply-adds (torch's flop counter) costs about ten plain forward passes.
FLOP_COUNT_PASSES = 10
_FLOAT = 4  # bytes: networks run in float32
# tensors a node keeps per image: the weighted sum, ReLU, depthwise and pointwise outputs and BN
# output when training (for the backward); its output and one transient in evaluation
_TRAIN_TENSORS, _EVAL_TENSORS = 6, 2


def _op_params(op: str, cin: int, c: int) -> int:
    if op == "conv3x3":
        return 9 * cin * c
    if op.endswith("conv1x1"):
        return cin * c
    return 9 * cin + cin * c  # sepconv3x3: depthwise 3x3, then pointwise 1x1


def _stem_side(config: Any, side: int) -> int:
    stem = getattr(getattr(config, "layout", None), "stem", None)
    if stem:
        strides = [int(layer.get("stride", 1)) for layer in stem]
    else:
        stride = REGIMES[config.regime][1]
        strides = [stride] if config.regime == "regular" else [stride, stride]
    for s in strides:
        side = math.ceil(side / max(1, s))
    return side


def network_sizes(config: Any, image_size: int | None = None) -> tuple[int, int, int]:
    """(weight values, activation values kept per image when training, total nodes) of a config."""
    side = image_size or config.input_size
    ops = config.node_op if isinstance(config.node_op, str) else "conv3x3"
    stem_c = config.channels
    weights = 9 * config.in_channels * stem_c // 2 + 9 * (stem_c // 2) * stem_c
    side = _stem_side(config, side)
    acts = 3 * stem_c * side * side
    cin, nodes = stem_c, 0
    for n, c in config.stage_shapes():
        side = math.ceil(side / 2)
        weights += n * (_op_params(ops, c, c) + 4 * c + n) + _op_params(ops, cin, c)
        acts += n * c * side * side * _TRAIN_TENSORS
        cin, nodes = c, nodes + n
    head = config.head_channels
    weights += cin * head + 4 * head + head * config.num_classes + config.num_classes
    acts += 3 * head * side * side
    return weights, acts, nodes


def price_network(
    config: Any,
    what: str,
    *,
    batch: int = 1,
    images: int = 1,
    train: bool = False,
    passes: int = 1,
    image_size: int | None = None,
    where: str | Path | None = None,
) -> tuple[int, int]:
    """Refuse a network run over the memory budget or the work limit; returns (bytes, work units).

    ``images`` are run ``passes`` times in batches of ``batch`` (training: forward and backward,
    weights, gradients and momentum held; evaluation: forward only).
    """
    weights, acts, nodes = network_sizes(config, image_size)
    per_image = acts if train else acts * _EVAL_TENSORS // _TRAIN_TENSORS
    nbytes = _FLOAT * (weights * (4 if train else 2) + min(batch, max(1, images)) * per_image)
    check_memory(nbytes, f"{what} ({nodes:,} nodes, {weights:,} weights, batch {batch:,})", where)
    batches = math.ceil(max(1, images) / max(1, batch)) * passes
    units = nodes * batches * (3 if train else 1) * NODE_PASS_WORK
    check_work(units, f"{what} ({nodes:,} network nodes x {batches:,} batch passes)", where)
    return nbytes, units


# training images of the data sets whose size is known before they are read (imagefolder: unknown)
TRAIN_IMAGES = {"digits": 1437, "mnist": 60_000, "fashion-mnist": 60_000, "cifar10": 50_000}


def on_cpu(device: str | None) -> bool:
    """Whether ``device`` (auto | cpu | cuda[:i]) runs on this machine's CPU and memory."""
    if device is None or device == "auto":
        import torch

        return not torch.cuda.is_available()
    return not str(device).startswith("cuda")


def price_plan(plan: Any, device: str | None = None) -> None:
    """Price every network of an expanded study before any task runs (``ablate``, ``--dry-run`` too).

    Each training is priced with its scale's batch size, epochs and training-set size (``limit``
    applied); each damage / attack sweep as evaluation batches of ``batch_size`` x ``variant_batch``
    images. On a GPU the activations live in GPU memory and the work limit (calibrated on a CPU)
    does not bind; the weights still count against the memory budget.
    """
    from wiring_lab.model import ModelConfig

    scale = plan.scale
    cpu = on_cpu(device or scale.device)
    limit = scale.limit.get("train") if isinstance(scale.limit, dict) else scale.limit
    known = TRAIN_IMAGES.get(scale.dataset)
    images = min(x for x in (known, limit) if x is not None) if known or limit else None
    where = plan.study.path
    analyses = {k: getattr(scale, k, None) or getattr(plan.study, k, None) for k in ("damage", "attack")}
    for net in plan.networks:
        config = ModelConfig.from_dict(net.model_config)
        tc = net.train_config
        batch = tc["batch_size"] if cpu else 1
        what = f"network {net.name}: training"
        if cpu and images is not None:
            price_network(config, what, batch=batch, images=images, train=True, passes=tc["epochs"], image_size=scale.image_size, where=where)
        else:
            price_network(config, what, batch=batch, images=batch, train=True, image_size=scale.image_size, where=f"{where}")
        for key, settings in analyses.items():
            if settings and settings.get("enabled", True) is not False:
                batch = int(settings.get("batch_size", 256)) * (int(settings.get("variant_batch", 8)) if key == "damage" else 1)
                batch = batch if cpu else 1
                price_network(config, f"network {net.name}: {key} sweep", batch=batch, images=batch, image_size=scale.image_size, where=where)
