"""Private parts of the damage engine: what a removal changes, damaged forwards, the intact cache.

Everything here runs through the model's own pieces (``model.stem``, ``Stage.node_inputs``,
``Node.aggregate(inputs, mask)``, ``Node.transform``, ``Stage.combine``, ``model.classify``),
so networks whose nodes or stages subclass the native ones are damaged the same way.

Ablations (what "removed" means, DESIGN.md "Damage"): ``drop`` zeroes the removed term's
aggregation weight and the output node averages the output-fed nodes that remain; ``zero`` does
the same in the sums but the output node reads zeros and keeps its denominator; ``mean`` reads
the removed tensor's mean activation on a reference set (:func:`mean_activations`) wherever it
was read. :class:`StageEdits` holds the tensors that carry a variant's ablation.

Exactness. The cached engine and the naive re-evaluation make the same calls, in the same
order, on the same batches: a node that a removal cannot reach gets the same inputs in both, so
its cached output is the value the naive pass recomputes; a node that a removal reaches is
recomputed with the same edits. The one difference is the value sitting behind a zeroed mask
entry or a replaced input (the intact output of a removed node in the engine, its recomputed
output in the naive pass); it is multiplied by 0 or never read, so at most the sign of an exact
zero differs, which no later sum, ReLU, argmax or loss can see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import torch
from torch import nn

from wiring_lab.ablation import ablation_names, get_ablation
from wiring_lab.graphs import StageDAG

ABLATIONS = ablation_names()  # drop | zero | mean (wiring_lab.ablation)


@dataclass(frozen=True)
class StageDamage:
    """What one variant removes from one stage, and which nodes must then be recomputed."""

    removed: frozenset[int]  # nodes whose outputs are absent everywhere
    dead_edges: frozenset[tuple[int, int]]  # removed edges, DAG ids (input = N, output = N + 1)
    masks: tuple[tuple[int, tuple[int, ...]], ...]  # (node, zeroed input positions in preds order)
    recompute: tuple[int, ...]  # surviving nodes whose inputs change, ascending (topological)
    keep: tuple[int, ...]  # output-fed nodes the output node still reads intact
    intact_output: bool  # keep is every output-fed node
    ablation: str = "drop"  # drop | zero | mean: what a removed term becomes (module docstring)


def stage_damage(
    dag: StageDAG,
    nodes: Iterable[int] = (),
    edges: Iterable[tuple[int, int]] = (),
    cascade: bool = False,
    ablation: str = "drop",
) -> StageDamage:
    """Remove ``nodes`` and ``edges`` (DAG ids) from a stage; with ``cascade``, input-less nodes too."""
    get_ablation(ablation)  # an unknown name lists the valid ones
    inp, outp = dag.input_id, dag.output_id
    removed = set(nodes)
    dead = set(edges)

    def live_inputs(w: int) -> list[int]:
        """Inputs of ``w`` that survive (the input node counts for input-fed nodes)."""
        if not dag.preds[w]:
            return [] if (inp, w) in dead else [inp]
        return [u for u in dag.preds[w] if u not in removed and (u, w) not in dead]

    if cascade:
        for w in range(dag.n):  # index order is topological: predecessors are settled first
            if w not in removed and not live_inputs(w):
                removed.add(w)
    masks = []
    for w in range(dag.n):
        sources = dag.preds[w] or (inp,)
        zeroed = tuple(i for i, u in enumerate(sources) if u in removed or (u, w) in dead)
        if zeroed:
            masks.append((w, zeroed))
    masked = {w for w, _ in masks}
    changed: set[int] = set()
    for w in range(dag.n):
        if w not in removed and (w in masked or any(u in changed for u in dag.preds[w])):
            changed.add(w)
    keep = tuple(v for v in dag.output_fed if v not in removed and (v, outp) not in dead)
    return StageDamage(
        frozenset(removed), frozenset(dead), tuple(masks), tuple(sorted(changed)), keep, keep == dag.output_fed, ablation
    )


@dataclass(frozen=True)
class StageMeans:
    """Mean activations of one stage on the intact network over a reference set (mean ablation)."""

    input: torch.Tensor  # (1, C, H, W): the input node's output (``Stage.stage_input``)
    nodes: tuple[torch.Tensor, ...]  # (1, C', H', W') per node, in node order


@dataclass(frozen=True)
class StageEdits:
    """The tensors that carry one variant's ablation in one stage (built once per variant)."""

    masks: dict[int, torch.Tensor]  # node -> (in_degree,) multipliers of its aggregation weights (drop, zero)
    fills: dict[int, dict[int, torch.Tensor]]  # node -> {input position: (1, C, H, W) it reads instead} (mean)
    output_fills: dict[int, torch.Tensor | None]  # removed output-fed node -> what the output node reads (None: zeros)


def stage_edits(stage: nn.Module, damage: StageDamage, device: torch.device, means: StageMeans | None = None) -> StageEdits:
    """The masks or replacement tensors of a damaged stage under its ablation."""
    ablation = get_ablation(damage.ablation)
    if ablation.needs_means and means is None:
        raise ValueError(f"{ablation.name} ablation needs the stage's mean activations (mean_activations)")
    dag = stage.dag
    masks: dict[int, torch.Tensor] = {}
    fills: dict[int, dict[int, torch.Tensor]] = {}
    for w, zeroed in damage.masks:
        if ablation.needs_means:
            sources = dag.preds[w] or (dag.input_id,)
            fills[w] = {i: means.input if sources[i] == dag.input_id else means.nodes[sources[i]] for i in zeroed}
            continue
        node = stage.nodes[w]
        dtype = node.weight.dtype if getattr(node, "weight", None) is not None else torch.get_default_dtype()
        m = torch.ones(node.in_degree, dtype=dtype)
        m[list(zeroed)] = 0
        masks[w] = m.to(device)
    output_fills: dict[int, torch.Tensor | None] = {}
    if ablation.keeps_denominator:
        for v in dag.output_fed:
            if v not in damage.keep:
                output_fills[v] = means.nodes[v] if ablation.needs_means else None
    return StageEdits(masks, fills, output_fills)


def run_node(
    stage: nn.Module,
    v: int,
    x: torch.Tensor,
    outs: list,
    mask: torch.Tensor | None,
    fill: dict[int, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Node ``v``'s output from the stage input ``x`` and the node outputs so far (``fill``: replaced inputs)."""
    node = stage.nodes[v]
    inputs = stage.node_inputs(v, x, outs)
    if fill:
        inputs = [fill[i].expand_as(t) if i in fill else t for i, t in enumerate(inputs)]
    return node.transform(node.aggregate(inputs, mask))


def combine_kept(stage: nn.Module, outs: Sequence[torch.Tensor], damage: StageDamage, edits: StageEdits | None = None) -> torch.Tensor:
    """The output node: ``drop`` averages the surviving output-fed nodes (zeros if none survive);
    ``zero`` / ``mean`` read zeros / the mean activation for the removed ones and keep the denominator."""
    if damage.intact_output:
        return stage.combine(outs)
    if get_ablation(damage.ablation).keeps_denominator:
        reads = list(outs)
        fills = edits.output_fills if edits is not None else {}
        for v in stage.dag.output_fed:
            if v not in damage.keep:
                f = fills.get(v)
                reads[v] = torch.zeros_like(outs[v]) if f is None else f.expand_as(outs[v])
        return stage.combine(reads)
    if damage.keep:
        return stage.combine(outs, keep=list(damage.keep))
    return torch.zeros_like(outs[stage.dag.output_fed[0]])


def run_damaged_stage(
    stage: nn.Module,
    x: torch.Tensor,
    damage: StageDamage,
    edits: StageEdits,
    cached: Sequence[torch.Tensor] | None = None,
) -> torch.Tensor:
    """A damaged stage's output; with ``cached`` intact node outputs, only ``damage.recompute`` runs."""
    if cached is None:  # naive: every node, in index (topological) order
        outs: list = [None] * len(stage.nodes)
        todo: Iterable[int] = range(len(stage.nodes))
    else:
        outs = list(cached)
        todo = damage.recompute
    for v in todo:
        outs[v] = run_node(stage, v, x, outs, edits.masks.get(v), edits.fills.get(v))
    return combine_kept(stage, outs, damage, edits)


@dataclass
class IntactCache:
    """One batch's intact activations: each stage's input and node outputs, and the logits."""

    inputs: list[torch.Tensor] = field(default_factory=list)  # stage s input, (B, C, H, W)
    outs: list[list[torch.Tensor]] = field(default_factory=list)  # stage s node outputs
    logits: torch.Tensor | None = None  # (B, classes), when every stage was run


def run_intact(model: nn.Module, x: torch.Tensor, upto: int | None = None) -> IntactCache:
    """Intact forward keeping stage inputs and node outputs up to stage ``upto`` (all: logits too)."""
    cache = IntactCache()
    last = len(model.stages) - 1 if upto is None else upto
    y = model.stem(x)
    for s, stage in enumerate(model.stages):
        if s > last:
            break
        outs: list = [None] * len(stage.nodes)
        for v in range(len(stage.nodes)):
            outs[v] = run_node(stage, v, y, outs, None)
        cache.inputs.append(y)
        cache.outs.append(outs)
        y = stage.combine(outs)
    if last == len(model.stages) - 1:
        cache.logits = model.classify(y)
    return cache


def run_variant(
    model: nn.Module,
    damage: dict[int, StageDamage],
    masks: dict[int, StageEdits],
    x: torch.Tensor | None = None,
    cache: IntactCache | None = None,
) -> torch.Tensor:
    """Logits of a damaged network: naive from images ``x``, or from the first damaged stage's cache."""
    first = min(damage)
    if cache is not None:
        y = run_damaged_stage(model.stages[first], cache.inputs[first], damage[first], masks[first], cache.outs[first])
        start = first + 1
    else:
        y = model.stem(x)
        start = 0
    for s in range(start, len(model.stages)):
        stage = model.stages[s]
        y = run_damaged_stage(stage, y, damage[s], masks[s]) if s in damage else stage(y)
    return model.classify(y)


def run_variants_stacked(
    model: nn.Module,
    stage: int,
    damages: Sequence[StageDamage],
    masks: Sequence[StageEdits],
    cache: IntactCache,
) -> list[torch.Tensor]:
    """Several single-stage variants of one stage: damaged stage each, later stages on the stack."""
    st = model.stages[stage]
    ys = [run_damaged_stage(st, cache.inputs[stage], d, m, cache.outs[stage]) for d, m in zip(damages, masks)]
    y = torch.cat(ys)
    for s in range(stage + 1, len(model.stages)):
        y = model.stages[s](y)
    return list(model.classify(y).split(ys[0].shape[0]))


@torch.no_grad()
def mean_activations(model: nn.Module, images: Iterable[torch.Tensor]) -> list[StageMeans]:
    """Every stage's mean input-node output and node outputs (per channel and position) over ``images``.

    Sums are kept in float64 and divided once, so the result depends only on the images, not on
    how they are batched beyond float32 rounding inside the network.
    """
    sums: list[list[torch.Tensor]] | None = None
    count = 0
    for x in images:
        cache = run_intact(model, x, upto=len(model.stages) - 1)
        parts = [
            [st.stage_input(cache.inputs[s])] + list(cache.outs[s]) for s, st in enumerate(model.stages)
        ]
        batch = [[t.double().sum(0, keepdim=True) for t in p] for p in parts]
        sums = batch if sums is None else [[a + b for a, b in zip(ps, pb)] for ps, pb in zip(sums, batch)]
        count += x.shape[0]
    if sums is None or count == 0:
        raise ValueError("mean ablation needs at least one reference image")
    dtype = next(model.parameters()).dtype
    return [StageMeans(p[0].div(count).to(dtype), tuple(t.div(count).to(dtype) for t in p[1:])) for p in sums]


# --- batch-norm recalibration ----------------------------------------------------------------
def changeable_bns(model: nn.Module, damage: dict[int, StageDamage] | None) -> list[nn.BatchNorm2d]:
    """BN layers whose inputs a variant can change (``None``: every BN of the stages and the head)."""
    first = 0 if damage is None else min(damage)
    mods: list[nn.Module] = []
    if damage is not None:
        st = model.stages[first]
        mods += [st.nodes[v] for v in damage[first].recompute]
        first += 1
    mods += list(model.stages[first:])
    mods += [m for name, m in model.named_children() if name not in ("stem", "stages")]
    bns: list[nn.BatchNorm2d] = []
    for m in mods:
        bns += [b for b in m.modules() if isinstance(b, nn.modules.batchnorm._BatchNorm)]
    return bns


def bn_state(bns: Sequence[nn.Module]) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Copies of the running statistics of ``bns``."""
    return [(b.running_mean.clone(), b.running_var.clone(), b.num_batches_tracked.clone()) for b in bns]


def load_bn_state(bns: Sequence[nn.Module], state: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> None:
    """Copy saved running statistics back into ``bns`` (no host-device sync)."""
    for b, (mean, var, count) in zip(bns, state):
        b.running_mean.copy_(mean)
        b.running_var.copy_(var)
        b.num_batches_tracked.copy_(count)


@torch.no_grad()
def recalibrate(
    model: nn.Module,
    damage: dict[int, StageDamage] | None,
    masks: dict[int, StageEdits],
    train_batches: Sequence[torch.Tensor],
) -> tuple[list[nn.Module], list]:
    """Re-estimate the changeable BN statistics of a variant (cumulative average over the batches).

    Returns the BN layers and their new statistics; the model itself is left as it was.
    """
    bns = changeable_bns(model, damage)
    saved = bn_state(bns)
    momenta = [b.momentum for b in bns]
    for b in bns:
        b.reset_running_stats()
        b.momentum = None  # cumulative moving average: every batch weighs the same
        b.train()
    try:
        for x in train_batches:
            if damage is None:
                model(x)
            else:
                run_variant(model, damage, masks, x=x)
        new = bn_state(bns)
    finally:
        for b, mom in zip(bns, momenta):
            b.momentum = mom
            b.eval()
        load_bn_state(bns, saved)
    return bns, new
