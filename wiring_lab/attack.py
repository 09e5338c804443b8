"""Attack tolerance (Albert, Jeong, Barabasi 2000): accuracy as a growing fraction of all nodes is
removed, in a random order or by decreasing degree / betweenness, on the damage engine.

>>> AttackConfig(order="degree", fractions=(0, 0.5)).fractions
(0.0, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from wiring_lab import _damage_engine as engine
from wiring_lab._io import resolve_device
from wiring_lab.ablation import ATTACK_ORDERS
from wiring_lab.checkpoint import Checkpoint
from wiring_lab.columns import canonical_metric
from wiring_lab.damage import _check_ablation, _check_count, _Evaluator, _load, _load_data, _model_name, _require_wired, ablation_means
from wiring_lab.data import Data
from wiring_lab.graphs import setting_label
from wiring_lab.metrics import node_metrics

DEFAULT_FRACTIONS = tuple(round(0.05 * i, 2) for i in range(11))  # 0, 0.05, ..., 0.5
ATTACK_COLUMNS = [
    "model", "generator", "setting", "order", "repeat", "fraction", "removed", "top1", "top5", "loss", "seed",
    "ablation", "cascade",
]  # fmt: skip


@dataclass(frozen=True)
class AttackConfig:
    """Attack tolerance: accuracy as a growing fraction of all nodes is removed."""

    order: str = "random"  # random | degree | betweenness (decreasing, in the generated graph)
    fractions: tuple[float, ...] = DEFAULT_FRACTIONS  # fractions of all nodes of all stages
    repeats: int = 5  # random orders drawn (degree / betweenness: one order)
    seed: int = 0  # random orders and tie breaking
    limit: int | None = None
    batch_size: int = 256
    cascade: bool = False
    ablation: str = "drop"  # drop | zero | mean (as DamageConfig)
    mean_images: int = 1000
    naive: bool = False
    dataset: str | None = None
    data_root: str | None = None

    def __post_init__(self) -> None:
        _check_ablation(self.ablation, self.mean_images)
        if self.order not in ATTACK_ORDERS:
            raise ValueError(f"order must be one of {', '.join(ATTACK_ORDERS)} (got {self.order!r})")
        fr = tuple(float(f) for f in self.fractions)
        if not fr or any(not (0.0 <= f <= 1.0) for f in fr):
            raise ValueError(f"fractions must be numbers in [0, 1] (got {self.fractions!r})")
        object.__setattr__(self, "fractions", fr)
        _check_count("repeats", self.repeats, 1)
        _check_count("seed", self.seed, 0)
        _check_count("limit", self.limit, 1, allow_none=True)
        _check_count("batch_size", self.batch_size, 1)


def attack_orders(ckpt: Checkpoint, config: AttackConfig) -> list[list[tuple[int, int]]]:
    """The removal orders over all (stage, node) pairs: one per repeat (random) or one (targeted).

    Targeted orders rank nodes once, up front, by decreasing degree or betweenness in their stage's
    generated undirected graph (betweenness normalised, so stages of equal N compare); ties are
    broken by a shuffle seeded with ``config.seed``.
    """
    pairs = [(s, v) for s, st in enumerate(ckpt.model.stages) for v in range(st.dag.n)]
    if config.order == "random":
        return [[pairs[i] for i in np.random.default_rng([config.seed, r]).permutation(len(pairs))] for r in range(config.repeats)]
    metric = canonical_metric(config.order)  # "degree": degree_graph, undirected in the generated graph
    ranked = node_metrics([st.graph for st in ckpt.model.stages], device="cpu", metrics=[metric])
    score = {(int(r.graph), int(r.node)): float(getattr(r, metric)) for r in ranked.itertuples()}
    shuffled = [pairs[i] for i in np.random.default_rng(config.seed).permutation(len(pairs))]
    return [sorted(shuffled, key=lambda p: -score[p])]  # stable sort keeps the shuffled order in ties


def attack_curve(
    checkpoint: str | Path | Checkpoint,
    config: AttackConfig = AttackConfig(),
    data: Data | None = None,
    device: str | torch.device = "auto",
    progress: bool = True,
) -> pd.DataFrame:
    """Accuracy as a growing fraction of all nodes is removed (Albert, Jeong, Barabasi 2000)."""
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    ckpt = _require_wired(_load(checkpoint, dev))
    model = ckpt.model
    data = _load_data(ckpt, config.dataset, config.data_root, data)
    orders = attack_orders(ckpt, config)
    total = len(orders[0])
    plan = []
    for r, order in enumerate(orders):
        for frac in config.fractions:
            count = int(round(frac * total))
            by_stage: dict[int, list[int]] = {}
            for s, v in order[:count]:
                by_stage.setdefault(s, []).append(v)
            dmg = {
                s: engine.stage_damage(model.stages[s].dag, nodes=vs, cascade=config.cascade, ablation=config.ablation)
                for s, vs in sorted(by_stage.items())
            }
            plan.append((r, frac, count, dmg or None))
    means, _ = ablation_means(model, data, config.ablation, config.mean_images, config.batch_size, config.seed, dev)
    ev = _Evaluator(model, data, dev, config.batch_size, config.limit, config.naive, 1, means)
    bar = tqdm(total=len(plan), desc=f"attack {config.order}", unit="variant", disable=not progress,
               bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]")  # fmt: skip
    try:
        top1, top5, loss = ev.run([p[3] for p in plan], tick=bar.update)
    finally:
        bar.close()
    stats = torch.stack([top1.double().mean(1) * 100, top5.double().mean(1) * 100, loss.double().mean(1)], 1).cpu().tolist()
    base = {"model": _model_name(ckpt), "generator": ckpt.config.generator, "setting": setting_label(ckpt.config.generator, ckpt.config.params)}
    rows = [
        {**base, "order": config.order, "repeat": r, "fraction": frac, "removed": count, "top1": s1,
         "top5": s5 if data.num_classes > 5 else None, "loss": sl, "seed": config.seed,
         "ablation": config.ablation, "cascade": config.cascade}
        for (r, frac, count, _), (s1, s5, sl) in zip(plan, stats)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=ATTACK_COLUMNS)


def attack_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of top-1 over repeats, per order and fraction."""
    g = df.groupby(["order", "fraction"], as_index=False)
    return g.agg(removed=("removed", "first"), top1_mean=("top1", "mean"), top1_std=("top1", "std"), repeats=("top1", "size"))
