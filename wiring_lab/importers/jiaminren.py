"""JiaminRen/RandWireNN: ``model.pth-*`` / ``model-best.pth`` (``state_dict`` inside) or a raw state
dict, plus ``conv{2..5}.yaml`` graphs written by ``nx.write_yaml``.

Layout of that code, and where it differs from the paper (modelled by ModelConfig fields):
- stem ``conv1``: depthwise 3x3 s2 + pointwise 1x1 to C/2 (**separable, with biases**) -> ``bn1``,
  no ReLU; small regime ``conv2``: ReLU -> separable 3x3 s2 to C (**biases**) -> BN;
- stages ``conv<s>.nodeop.<i>``: ``mean_weight`` (sigmoid-weighted sum, only for nodes with more
  than one input, ordered by predecessor id), then ReLU -> depthwise + pointwise (**biases**) -> BN;
  nodes with no lower-numbered neighbour take the stage input at stride 2; output = mean of the
  nodes with no higher-numbered neighbour; regular regime: ``conv2`` is a stage with N/2 nodes;
- head: ReLU -> ``conv`` 1x1 1280 (**bias**) -> ``bn2`` -> ReLU -> 7x7 average pool (global for the
  224x224 inputs it runs on) -> ``fc``.
hebo1221/RandWireNN (a close copy) is :mod:`wiring_lab.importers.hebo1221`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from wiring_lab._io import UserError
from wiring_lab.importers import ForeignFormat, register_format
from wiring_lab.importers._common import (
    ForeignNetwork,
    count_indexed,
    graph_files,
    map_state,
    read_networkx_yaml,
    shape_of,
    stage_prefixes,
    state_dict_of,
)
from wiring_lab.model import ForeignLayout, ModelConfig, build_model


@dataclass(frozen=True)
class Layout:
    """Key names and strides of one member of the JiaminRen family."""

    name: str
    depthwise: str  # name of the depthwise conv inside a separable conv
    pointwise: str
    stem_conv: str  # prefix of conv1's separable conv
    stem_bn: str
    small_conv2_stride: int
    aggregation: str  # "weighted", or "first" where the released forward uses only the first input


JIAMINREN = Layout("jiaminren", "depthwise", "pointwise", "conv1", "bn1", 2, "weighted")


def is_family_state(state: Any, layout: Layout) -> bool:
    """Whether a state dict has this layout's stage and stem key names."""
    if not isinstance(state, dict):
        return False
    keys = [k for k in state if isinstance(k, str)]
    keys = [k[len("module."):] if k.startswith("module.") else k for k in keys]
    return any(".nodeop." in k for k in keys) and f"{layout.stem_conv}.{layout.depthwise}.weight" in keys


def _detect(obj: Any) -> bool:
    """A JiaminRen state dict, raw or under ``state_dict``."""
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    return is_family_state(state, JIAMINREN)


def load_family(path: Path, obj: Any, graphs: Sequence[Path] | None, layout: Layout, head: tuple[str, str], search: list[Path]) -> ForeignNetwork:
    """Map a JiaminRen-family state dict and its ``conv<s>.yaml`` graphs onto wiring-lab's network."""
    state = state_dict_of(path, obj, ("state_dict", "model"))
    stages = stage_prefixes(state, r"^((?:conv)(\d+))\.nodeop\.")
    if len(stages) not in (3, 4):
        raise UserError(f"{path}: found {len(stages)} random stages ({', '.join(stages) or 'none'}); expected conv3..5 or conv2..5")
    regime = "regular" if len(stages) == 4 else "small"
    files = graph_files([f"{s}.yaml" for s in stages], graphs, search, str(path))
    specs = [read_networkx_yaml(f) for f in files]
    dw, pw = layout.depthwise, layout.pointwise
    shapes = []
    for s, spec in zip(stages, specs):
        n = count_indexed(state, f"{s}.nodeop")
        if n != spec.n:
            raise UserError(f"{path}: stage {s} has {n} nodes but its graph {files[stages.index(s)]} has {spec.n}")
        shapes.append((n, shape_of(path, state, f"{s}.nodeop.0.conv.bn.weight")[0]))
    c = shapes[0][1]
    half = shape_of(path, state, f"{layout.stem_bn}.weight")[0]
    in_ch = shape_of(path, state, f"{layout.stem_conv}.{dw}.weight")[0]
    stem = [{"op": "sepconv3x3", "out": half, "stride": 2, "bias": True, "relu": "none"}]
    prefixes = {"stem.0.conv.0": f"{layout.stem_conv}.{dw}", "stem.0.conv.1": f"{layout.stem_conv}.{pw}", "stem.0.bn": layout.stem_bn}
    if regime == "small":
        stem.append({"op": "sepconv3x3", "out": c, "stride": layout.small_conv2_stride, "bias": True, "relu": "before"})
        prefixes.update({"stem.1.conv.0": f"conv2.conv.{dw}", "stem.1.conv.1": f"conv2.conv.{pw}", "stem.1.bn": "conv2.bn"})
    config = ModelConfig(
        regime=regime,
        channels=c,
        nodes=max(n for n, _ in shapes),
        generator="custom",
        num_classes=shape_of(path, state, "fc.weight")[0],
        in_channels=in_ch,
        head_channels=shape_of(path, state, f"{head[0]}.weight")[0],
        layout=ForeignLayout(
            origin=layout.name,
            stem=tuple(stem),
            stages=tuple(shapes),
            node_bias=True,
            aggregation=layout.aggregation,
            head_bias=True,
        ),
    )
    ours = build_model(config, specs).state_dict()
    prefixes.update({"head.1": head[0], "head.2": head[1], "fc": "fc"})
    for i, (s, spec) in enumerate(zip(stages, specs)):
        for v in range(spec.n):
            ours_p, theirs = f"stages.{i}.nodes.{v}", f"{s}.nodeop.{v}"
            prefixes.update({
                f"{ours_p}.weight": f"{theirs}.mean_weight",
                f"{ours_p}.op.0": f"{theirs}.conv.conv.{dw}",
                f"{ours_p}.op.1": f"{theirs}.conv.conv.{pw}",
                f"{ours_p}.bn": f"{theirs}.conv.bn",
            })  # fmt: skip
    mapped = map_state(path, state, ours, prefixes)
    extra = {k: obj[k] for k in ("epoch", "best_prec1") if isinstance(obj, dict) and isinstance(obj.get(k), (int, float))}
    meta = {"imported_from": {"format": layout.name, "path": str(path), "graphs": [str(f) for f in files], **extra}}
    return ForeignNetwork(config, specs, mapped, meta)


def load(path: Path, obj: Any, graphs: Sequence[Path] | None) -> ForeignNetwork:
    """Load a JiaminRen checkpoint; graphs default to ``conv<s>.yaml`` in the checkpoint's directory."""
    return load_family(path, obj, graphs, JIAMINREN, ("conv", "bn2"), [path.parent])


register_format(
    ForeignFormat(
        "jiaminren",
        "JiaminRen/RandWireNN: model.pth-* / model-best.pth (state_dict) or a raw state dict + conv<s>.yaml (nx.write_yaml)",
        _detect,
        load,
    )
)
