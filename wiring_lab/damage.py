"""Damage studies (RandWire Fig. 5): remove one node or edge of a trained network and measure the loss.

Semantics (docs/damage.md; the records in ``wiring_lab.ablation``); what "removed" means is the ``ablation``, recorded in every row:

- ``drop`` (default): ``v``'s output leaves every successor's weighted sum (the other terms keep
  their sigmoid weights, nothing is renormalised) and the output node's mean (the mean over the
  output-fed nodes that remain; none left: the stage output is zeros).
- ``zero``: ``v``'s output tensor is read as zeros everywhere; in the sums this equals ``drop``,
  but the output node keeps its denominator (divides by every output-fed node).
- ``mean``: ``v``'s output is read as its mean activation (per channel and position) over a
  seeded reference set of ``mean_images`` training images, computed once on the intact network.

A successor left with no input receives zeros (or means) and still runs (ReLU -> op -> BN);
with ``cascade`` such nodes are removed too, recursively, under the same ablation. Removing
edge ``u -> w`` (DAG ids: input node N, output node N + 1) replaces the one term ``w`` reads
from ``u`` the same way; an edge to the output node is the output node's read of ``u``; an edge
from the input node leaves ``w`` reading zeros (``drop``, ``zero``) or the stage input's mean.

Why ``drop`` is the default: it is the literal reading of "remove one node", all the paper
(Xie et al. 2019, Fig. 5) says, and it is what every earlier wiring-lab table computed, so a
``drop`` row equals the row an older version wrote for the same variant. It is not neutral (a
removed output-fed node also shrinks the output mean's denominator), which is why ``zero`` and
``mean`` exist as controls and reports show their headline numbers under all three.

Speed: per batch the intact network runs once and keeps every stage's input and node outputs;
a variant recomputes only the surviving descendants of what it removed, the stage output, the
later stages and the head (``naive=True`` re-runs the whole network per variant, for checking).
Variants are evaluated in chunks (all batches of a chunk, then its rows are written), so
memory does not grow with the number of variants and a killed run resumes where it stopped.

>>> DamageConfig(remove="edge", sample=10, seed=3).remove
'edge'
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from wiring_lab import _damage_engine as engine
from wiring_lab._damage_rows import _append, _frame, _open_partial, _partial_path, _row_key
from wiring_lab.ablation import REMOVE_KINDS, get_ablation
from wiring_lab._io import (
    UserError,
    all_or_none,
    library_versions,
    resolve_device,
    to_jsonable,
    write_json,
    write_table,
)
from wiring_lab.checkpoint import Checkpoint
from wiring_lab.data import Data, batches, load_dataset
from wiring_lab.evaluate import per_image
from wiring_lab.graphs import setting_label
from wiring_lab.loading import load_checkpoint

ABLATIONS = engine.ABLATIONS  # drop | zero | mean

DAMAGE_COLUMNS = [
    "model", "generator", "setting", "stage", "kind", "node", "source", "target",
    "in_degree_graph", "out_degree_graph", "in_degree_dag", "out_degree_dag", "target_in_degree_dag",
    "top1", "top5", "loss", "delta_top1", "delta_top1_lo", "delta_top1_hi",
    "seed", "wall_s", "ablation", "cascade", "recalibrate_bn", "n_removed", "n_recomputed", "n_images",
]  # fmt: skip


def _check_count(name: str, value: Any, minimum: int, allow_none: bool = False) -> None:
    """Raise a ValueError unless ``value`` is an integer >= ``minimum`` (or an allowed None)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum} (got {value!r})")


def _check_ablation(ablation: Any, mean_images: Any) -> None:
    """Raise a ValueError unless ``ablation`` is a known name and ``mean_images`` a positive count."""
    get_ablation(ablation)  # an unknown name lists the valid ones
    _check_count("mean_images", mean_images, 1)


@dataclass(frozen=True)
class DamageConfig:
    """A damage sweep: what to remove, where, on which images, and how to evaluate."""

    remove: str = "node"  # node | edge | both
    stages: tuple[int, ...] | None = None  # stage indices (0-based); None: every stage
    nodes: tuple[int, ...] | None = None  # restrict to these node ids (edges: touching one of them)
    sample: int | None = None  # evaluate a seeded sample of this many variants
    seed: int = 0  # sample, bootstrap, recalibration-batch and mean-reference-set seed
    limit: int | None = None  # evaluate on the first N test images
    batch_size: int = 256
    cascade: bool = False  # nodes left without any input are removed too
    ablation: str = "drop"  # drop | zero | mean: what a removed node's or edge's term becomes
    mean_images: int = 1000  # mean ablation: seeded training images the mean activations are taken over
    recalibrate_bn: int = 0  # K > 0: re-estimate changeable BN statistics on K training batches
    naive: bool = False  # re-run the whole network for every variant (the baseline, for checking)
    bootstrap: int = 1000  # paired-bootstrap resamples of the test images for the delta's 95% CI
    chunk: int = 128  # variants evaluated together (rows are written after each chunk)
    variant_batch: int = 8  # at most this many variants stacked along the batch through later stages (1: none; fewer on large inputs, see STACK_ELEMENTS)
    dataset: str | None = None  # override the checkpoint's data set
    data_root: str | None = None

    def __post_init__(self) -> None:
        if self.remove not in REMOVE_KINDS:
            raise ValueError(f"remove must be one of {', '.join(REMOVE_KINDS)} (got {self.remove!r})")
        for name in ("stages", "nodes"):
            value = getattr(self, name)
            if value is not None:
                value = tuple(value)
                for v in value:
                    _check_count(f"every entry of {name}", v, 0)
                object.__setattr__(self, name, tuple(sorted(set(value))))
        _check_count("sample", self.sample, 1, allow_none=True)
        _check_count("limit", self.limit, 1, allow_none=True)
        _check_count("seed", self.seed, 0)
        for name in ("batch_size", "bootstrap", "chunk", "variant_batch"):
            _check_count(name, getattr(self, name), 1)
        _check_count("recalibrate_bn", self.recalibrate_bn, 0)
        _check_ablation(self.ablation, self.mean_images)


@dataclass(frozen=True)
class Variant:
    """One damaged network of a sweep: its row identity and what it removes, stage by stage."""

    kind: str  # intact | node | edge
    stage: int | None = None
    node: int | None = None
    source: int | None = None
    target: int | None = None
    damage: dict[int, engine.StageDamage] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple:
        """Identity used to skip finished variants on resume."""
        return (self.kind, self.stage, self.node, self.source, self.target)


# --- loading ---------------------------------------------------------------------------------
def _load(checkpoint: str | Path | Checkpoint, device: torch.device) -> Checkpoint:
    """A loaded checkpoint on ``device`` (paths are loaded; a Checkpoint is moved)."""
    if isinstance(checkpoint, Checkpoint):
        checkpoint.model.to(device).eval()
        return checkpoint
    return load_checkpoint(checkpoint, device=device)


def _require_wired(ckpt: Checkpoint) -> Checkpoint:
    """``ckpt`` itself; a hand-designed CNN without stage graphs is a UserError."""
    if not ckpt.graphs:
        arch = getattr(ckpt.config, "arch", "randwire")
        raise UserError(f"{ckpt.path}: damage and attack need a wired network with stage graphs; {arch} is a hand-designed CNN without any")
    return ckpt


def _model_name(ckpt: Checkpoint) -> str:
    """The ``model`` column: the checkpoint file's stem."""
    return ckpt.path.stem if ckpt.path is not None else "model"


def _load_data(ckpt: Checkpoint, dataset: str | None, root: str | None, data: Data | None) -> Data:
    """The data set to evaluate on: ``data``, the override, or the checkpoint's own."""
    if data is None:
        name = dataset or ckpt.metadata.get("dataset")
        if not name:
            raise UserError(f"{ckpt.path}: checkpoint does not name its data set; pass --dataset")
        data = load_dataset(name, root or (ckpt.metadata.get("train_config") or {}).get("data_root"))
    cfg = ckpt.config
    if cfg.num_classes != data.num_classes or cfg.in_channels != data.in_channels:
        raise UserError(
            f"{ckpt.path}: model has {cfg.num_classes} classes / {cfg.in_channels} input channels "
            f"but data set {data.name} has {data.num_classes} / {data.in_channels}"
        )
    return data


def _stage_list(ckpt: Checkpoint, stages: Sequence[int] | None) -> list[int]:
    """The stages to damage; an unknown stage is a one-line error."""
    n = len(ckpt.model.stages)
    if stages is None:
        return list(range(n))
    bad = [s for s in stages if s >= n]
    if bad:
        raise UserError(f"{ckpt.path}: unknown stage {bad[0]}; this network has stages 0..{n - 1}")
    return list(stages)


# --- variants --------------------------------------------------------------------------------
def enumerate_variants(ckpt: Checkpoint, config: DamageConfig) -> list[Variant]:
    """Every node and/or edge variant the config asks for, in stage then id order (sampled if asked)."""
    stages = _stage_list(ckpt, config.stages)
    variants: list[Variant] = []
    for s in stages:
        dag = ckpt.model.stages[s].dag
        if config.nodes is not None:
            bad = [v for v in config.nodes if v >= dag.n]
            if bad:
                raise UserError(f"{ckpt.path}: node id {bad[0]} is out of range for stage {s} (nodes 0..{dag.n - 1})")
        chosen = set(range(dag.n) if config.nodes is None else config.nodes)
        if config.remove in ("node", "both"):
            for v in sorted(chosen):
                d = engine.stage_damage(dag, nodes=[v], cascade=config.cascade, ablation=config.ablation)
                variants.append(Variant("node", s, node=v, damage={s: d}))
        if config.remove in ("edge", "both"):
            for u, w in dag_edges(dag):
                if u in chosen or w in chosen:
                    d = engine.stage_damage(dag, edges=[(u, w)], cascade=config.cascade, ablation=config.ablation)
                    variants.append(Variant("edge", s, source=u, target=w, damage={s: d}))
    if config.sample is not None and config.sample < len(variants):
        pick = np.random.default_rng(config.seed).choice(len(variants), size=config.sample, replace=False)
        variants = [variants[i] for i in sorted(pick)]
    return variants


def dag_edges(dag) -> list[tuple[int, int]]:
    """Every edge of the stage DAG with its input/output nodes, in DAG ids, sorted."""
    edges = [(u, w) for w in range(dag.n) for u in dag.preds[w]]
    edges += [(dag.input_id, v) for v in dag.input_fed]
    edges += [(v, dag.output_id) for v in dag.output_fed]
    return sorted(edges)


def _degree_columns(dag, v: Variant) -> dict[str, Any]:
    """Degrees that describe a variant's removed element (node: in/out; edge: the target's in-degree).

    ``*_graph``: in the generated graph; ``*_dag``: with the input/output nodes' edges (wiring_lab.columns).
    """
    if v.kind == "node":
        n = v.node
        return {
            "in_degree_graph": len(dag.preds[n]),
            "out_degree_graph": len(dag.succs[n]),
            "in_degree_dag": max(1, len(dag.preds[n])),
            "out_degree_dag": max(1, len(dag.succs[n])),
        }
    if v.kind == "edge":
        t = v.target
        return {"target_in_degree_dag": len(dag.output_fed) if t == dag.output_id else max(1, len(dag.preds[t]))}
    return {}


# --- evaluation ------------------------------------------------------------------------------
def _train_batches(data: Data, k: int, batch_size: int, seed: int, device: torch.device) -> list[torch.Tensor]:
    """The K seeded training batches used to re-estimate BN statistics (same for every variant)."""
    out = []
    for x, _ in batches(data.train, batch_size, shuffle_seed=seed):
        out.append(x.to(device))
        if len(out) == k:
            break
    return out


def reference_images(data: Data, k: int, batch_size: int, seed: int, device: torch.device) -> tuple[list[torch.Tensor], list[int]]:
    """The mean ablation's reference set: ``k`` training images drawn without replacement, seeded.

    Returns the image batches (on ``device``) and the chosen training indices (ascending).
    """
    n = len(data.train)
    if n == 0:
        raise UserError(f"data set {data.name} has no training images for the mean ablation's reference set")
    idx = np.sort(np.random.default_rng([seed, 0x6D65616E]).choice(n, size=min(k, n), replace=False))
    out = []
    for i in range(0, len(idx), batch_size):
        part = idx[i : i + batch_size].tolist()
        if isinstance(data.train, torch.utils.data.TensorDataset):
            x = data.train.tensors[0][part]
        else:
            x = torch.stack([data.train[j][0] for j in part])
        out.append(x.to(device))
    return out, idx.tolist()


def ablation_means(model, data: Data, ablation: str, k: int, batch_size: int, seed: int, device) -> tuple[list | None, list[int]]:
    """Mean activations of every stage for ``mean`` ablation (None otherwise), and the reference indices."""
    if not get_ablation(ablation).needs_means:
        return None, []
    images, idx = reference_images(data, k, batch_size, seed, device)
    return engine.mean_activations(model, images), idx


STACK_ELEMENTS = 1 << 21  # input elements (images x C x H x W) up to which variants are stacked


class _Evaluator:
    """Evaluates groups of variants on the test images: per-image hits and losses, kept on the device."""

    def __init__(self, model, data: Data, device, batch_size: int, limit: int | None, naive: bool, variant_batch: int, means=None):
        self.model, self.data, self.device = model, data, device
        self.means = means  # per-stage engine.StageMeans (mean ablation) or None
        self.batch_size, self.limit, self.naive = batch_size, limit, naive
        self.variant_batch = variant_batch
        n = len(data.test) if limit is None else min(limit, len(data.test))
        if n == 0:
            raise UserError(f"data set {data.name} has no test images to evaluate on")
        self.n_images = n
        self.n_batches = math.ceil(n / batch_size)
        self._bn_states: dict[int, tuple[list, list, list]] = {}

    def batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Test batches on the device."""
        for x, y in batches(self.data.test, self.batch_size, limit=self.limit):
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    @torch.no_grad()
    def run(self, variants: Sequence[dict[int, engine.StageDamage] | None], bn: Sequence[tuple | None] | None = None, tick=None):
        """Per-image (top1, top5, loss), each (len(variants), n); ``None`` is the intact network.

        ``bn[i]`` = (layers, recalibrated statistics) swaps variant i's BN statistics in while it runs.
        """
        model = self.model
        masks = [_masks(model, dmg, self.device, self.means) if dmg else {} for dmg in variants]
        restore = [None if b is None else engine.bn_state(b[0]) for b in (bn or [None] * len(variants))]
        parts: list[list[tuple[torch.Tensor, ...]]] = [[] for _ in variants]
        damaged = [min(d) for d in variants if d]
        upto = max(damaged) if damaged and all(variants) else None
        for x, y in self.batches():
            # Stacking variants pays while the stacked batch stays cache-sized (tiny images);
            # on 224x224 inputs it only adds memory traffic, so those run one variant at a time.
            vb = max(1, min(self.variant_batch, STACK_ELEMENTS // max(1, x.numel())))
            cache = None if self.naive else engine.run_intact(model, x, upto)
            logits: list[torch.Tensor | None] = [None] * len(variants)
            stackable: dict[int, list[int]] = {}
            for i, dmg in enumerate(variants):
                if bn is not None and bn[i] is not None:
                    engine.load_bn_state(bn[i][0], bn[i][1])
                if not dmg:
                    logits[i] = model(x) if (cache is None or cache.logits is None or bn is not None and bn[i] is not None) else cache.logits
                elif cache is not None and vb > 1 and len(dmg) == 1 and (bn is None or bn[i] is None):
                    stackable.setdefault(min(dmg), []).append(i)
                    continue
                else:
                    logits[i] = engine.run_variant(model, dmg, masks[i], x=x if cache is None else None, cache=cache)
                if bn is not None and bn[i] is not None:
                    engine.load_bn_state(bn[i][0], restore[i])
            for s, idx in stackable.items():
                for j in range(0, len(idx), vb):
                    group = idx[j : j + vb]
                    outs = engine.run_variants_stacked(
                        model, s, [variants[i][s] for i in group], [masks[i][s] for i in group], cache
                    )
                    for i, lg in zip(group, outs):
                        logits[i] = lg
            for i, lg in enumerate(logits):
                parts[i].append(per_image(lg, y))
            if tick is not None:
                tick(len(variants) / self.n_batches)
        return tuple(torch.stack([torch.cat([p[k] for p in vp]) for vp in parts]) for k in range(3))


def _bootstrap_weights(n: int, samples: int, seed: int, device) -> torch.Tensor:
    """(samples, n) resampling counts of the test images (seeded; the same for every variant)."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((samples, n), dtype=np.float64)
    for b in range(samples):
        counts[b] = np.bincount(rng.integers(0, n, n), minlength=n)
    return torch.from_numpy(counts).to(device)


def _summaries(top1, top5, loss, ref_top1, weights) -> torch.Tensor:
    """(V, 6): top1 %, top5 %, loss, delta top-1 (pp) and its 95% bootstrap interval, on the device."""
    n = top1.shape[1]
    diff = top1.double() - ref_top1.double()[None]  # (V, n), each -1, 0 or 1
    boot = diff @ weights.T * (100.0 / n)  # (V, B): mean difference of each resample
    lo_hi = torch.quantile(boot, torch.tensor([0.025, 0.975], dtype=boot.dtype, device=boot.device), dim=1).T
    return torch.cat(
        [
            torch.stack([top1.double().mean(1) * 100, top5.double().mean(1) * 100, loss.double().mean(1), diff.double().mean(1) * 100], 1),
            lo_hi.double(),
        ],
        1,
    )


# --- the sweep -------------------------------------------------------------------------------
def damage_sweep_configs(settings: dict[str, Any]) -> list[DamageConfig]:
    """The sweeps a study's ``damage:`` settings ask for: one :class:`DamageConfig`, or, with
    ``sweeps: [{...}, ...]``, one per entry (each entry's fields over the common ones), e.g. every
    ablation with and without cascade for nodes beside a sample of edges under the default."""
    kw = {k: tuple(v) if isinstance(v, list) and k != "sweeps" else v for k, v in settings.items()}  # YAML lists: tuples
    sweeps = kw.pop("sweeps", None)
    if sweeps is None:
        return [DamageConfig(**kw)]
    if not isinstance(sweeps, (list, tuple)) or not sweeps or not all(isinstance(x, dict) for x in sweeps):
        raise ValueError("sweeps must be a non-empty list of mappings of damage settings")
    configs = [DamageConfig(**(kw | {k: tuple(v) if isinstance(v, list) else v for k, v in x.items()})) for x in sweeps]
    if len(set(configs)) < len(configs):
        raise ValueError("sweeps lists the same sweep twice")
    return configs


def damage_sweep(
    checkpoint: str | Path | Checkpoint,
    config: DamageConfig = DamageConfig(),
    data: Data | None = None,
    device: str | torch.device = "auto",
    out: str | Path | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Evaluate the intact network and every damaged variant; one tidy row per variant.

    With ``out`` (``.csv`` or ``.parquet``), rows are appended to ``<out>.partial.jsonl`` as
    chunks of variants finish, a re-run with the same arguments skips them, and the table plus a
    ``<out>.json`` sidecar (configuration, data set, intact results, versions, timings) are
    written at the end.
    """
    t_start = time.perf_counter()
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    ckpt = _require_wired(_load(checkpoint, dev))
    model = ckpt.model
    if not hasattr(model, "stages") or not all(hasattr(s, "dag") for s in model.stages):
        raise UserError(f"{ckpt.path}: the network has no stage graphs to damage")
    data = _load_data(ckpt, config.dataset, config.data_root, data)
    variants = enumerate_variants(ckpt, config)
    if out is not None:
        out = Path(out)
        if out.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise UserError(f"{out}: table files must end in .csv or .parquet")
    base = {
        "model": _model_name(ckpt),
        "generator": ckpt.config.generator,
        "setting": setting_label(ckpt.config.generator, ckpt.config.params),
        "seed": config.seed,
        "ablation": config.ablation,
        "cascade": config.cascade,
    }
    # mean activations come from the intact network, before any BN recalibration
    means, ref_idx = ablation_means(model, data, config.ablation, config.mean_images, config.batch_size, config.seed, dev)
    ev = _Evaluator(model, data, dev, config.batch_size, config.limit, config.naive, config.variant_batch, means)
    weights = _bootstrap_weights(ev.n_images, config.bootstrap, config.seed, dev)
    k = config.recalibrate_bn
    train_x = _train_batches(data, k, config.batch_size, config.seed, dev) if k else []

    # intact network (and the intact + recalibrated control): references for every delta
    t0 = time.perf_counter()
    intact = ev.run([None])
    refs = {0: intact}
    rows_ref = [(0, intact, time.perf_counter() - t0)]
    if k:
        t0 = time.perf_counter()
        control = ev.run([None], bn=[engine.recalibrate(model, None, {}, train_x)])
        refs[k] = control
        rows_ref.append((k, control, time.perf_counter() - t0))
    intact_rows = []
    for kk, res, secs in rows_ref:
        stats = _summaries(*res, intact[0][0], weights)[0].cpu().tolist()
        intact_rows.append(_result_row(base, Variant("intact"), stats, secs, kk, ev.n_images, 0, 0, data.num_classes))

    header = {"checkpoint": str(ckpt.path), "config": asdict(config), "model": base["model"], "n_images": ev.n_images}
    done: list[dict[str, Any]] = []
    f = None
    if out is not None:
        done, f = _open_partial(out, to_jsonable(header))
    finished = {_row_key(r) for r in done}
    todo = [v for v in variants if v.key not in finished]
    bar = tqdm(
        total=len(todo),
        desc=f"damage {base['model']}",
        unit="variant",
        disable=not progress,
        bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]",
    )
    ref_top1 = refs[k][0][0]
    new_rows: list[dict[str, Any]] = []
    eval_seconds = 0.0
    try:
        for start in range(0, len(todo), config.chunk):
            chunk = todo[start : start + config.chunk]
            t0 = time.perf_counter()
            bn = [engine.recalibrate(model, v.damage, _masks(model, v.damage, dev, means), train_x) for v in chunk] if k else None
            res = ev.run([v.damage for v in chunk], bn=bn, tick=bar.update)
            stats = _summaries(*res, ref_top1, weights).cpu().tolist()  # the chunk's one host sync
            secs = (time.perf_counter() - t0) / len(chunk)
            eval_seconds += secs * len(chunk)
            rows = []
            for v, st in zip(chunk, stats):
                d = v.damage[v.stage]
                row = _result_row(base, v, st, secs, k, ev.n_images, len(d.removed), len(d.recompute), data.num_classes)
                row.update(_degree_columns(model.stages[v.stage].dag, v))
                rows.append(row)
            new_rows += rows
            if f is not None:
                _append(f, rows)
    finally:
        bar.close()
        if f is not None:
            f.close()

    by_key = {_row_key(r): r for r in done + new_rows}
    ordered = [by_key[v.key] for v in variants]
    df = _frame(intact_rows + ordered, DAMAGE_COLUMNS)
    if out is not None:
        with all_or_none():  # the table and its sidecar appear together or not at all
            write_table(df, out)
            write_json(
                out.with_name(out.name + ".json"),
                {
                    **header,
                    "dataset": data.name,
                    "device": str(dev),
                    "engine": "naive" if config.naive else "cached",
                    "ablation": config.ablation,
                    "cascade": config.cascade,
                    "mean_reference_images": len(ref_idx),
                    "variants": len(variants),
                    "resumed_rows": len(done),
                    "intact": intact_rows,
                    "seconds": {"total": time.perf_counter() - t_start, "variants": eval_seconds},
                    "versions": library_versions(),
                },
            )
        _partial_path(out).unlink(missing_ok=True)
    return df


def _masks(model, damage: dict[int, engine.StageDamage], dev, means=None) -> dict[int, engine.StageEdits]:
    """The edit tensors (masks or replacements) of every damaged stage of a variant."""
    return {s: engine.stage_edits(model.stages[s], d, dev, None if means is None else means[s]) for s, d in damage.items()}


def _result_row(base, v: Variant, stats, secs, k, n_images, n_removed, n_recomputed, num_classes) -> dict[str, Any]:
    """One damage.csv row from a variant's identity and its summary statistics."""
    top1, top5, loss, delta, lo, hi = stats
    return {
        **base,
        "stage": v.stage,
        "kind": v.kind,
        "node": v.node,
        "source": v.source,
        "target": v.target,
        "top1": top1,
        "top5": top5 if num_classes > 5 else None,
        "loss": loss,
        "delta_top1": delta,
        "delta_top1_lo": lo,
        "delta_top1_hi": hi,
        "wall_s": secs,
        "recalibrate_bn": k,
        "n_removed": n_removed,
        "n_recomputed": n_recomputed,
        "n_images": n_images,
    }


def largest_drops(df: pd.DataFrame, count: int = 10) -> pd.DataFrame:
    """The ``count`` variants that lose the most top-1 accuracy."""
    cols = ["stage", "kind", "node", "source", "target", "top1", "delta_top1", "delta_top1_lo", "delta_top1_hi"]
    return df[df["kind"] != "intact"].nsmallest(count, "delta_top1")[cols]
