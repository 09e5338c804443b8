"""seungwonpark/RandWireNN: ``chkpt_NNN.pt`` (keys ``model``, ``hp_str``, ...) plus text graph files.

Layout of that code, and where it differs from the paper (modelled by ModelConfig fields):
- stem ``conv1`` (3x3 s2, C/2, **with bias**) -> ``bn1``; ``conv2`` ReLU -> 3x3 s2 C (**bias**) -> ``bn2``;
- stages ``dagly3/4/5`` (C, 2C, 4C); node ``dagly<s>.nodes.<i>``: ``agg_weight`` (only for nodes
  with more than one input, ordered as the edges appear in the graph file), ReLU,
  ``conv.conv1`` depthwise 3x3 + ``conv.pointwise`` 1x1 (no bias), ``bn``; input-fed nodes
  stride 2; output = mean of the nodes of out-degree 0;
- head: ReLU -> ``convlast`` 1x1 1280 (**bias**) -> ``bnlast`` -> (**no ReLU**) -> global average
  pool -> ``fc`` -> **log_softmax** (the network returns log-probabilities).
Graph files: N, then E, then ``u v`` per line, named ``graph0..2`` in ``hp_str``'s ``model``
section and read from ``model/graphs/generated/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import torch
import yaml

from wiring_lab._io import UserError
from wiring_lab.graphs import GraphSpec, generator_params
from wiring_lab.importers import ForeignFormat, register_format
from wiring_lab.importers._common import ForeignNetwork, graph_files, map_state, read_edge_text, shape_of, state_dict_of
from wiring_lab.model import ForeignLayout, ModelConfig, build_model

STAGES = ("dagly3", "dagly4", "dagly5")


def _detect(obj: Any) -> bool:
    """A dict with a ``model`` state dict holding ``dagly`` stages (and usually ``hp_str``)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("model"), dict):
        return False
    return any(isinstance(k, str) and k.startswith("dagly3.nodes.") for k in obj["model"])


def _hparams(path: Path, hp_str: Any) -> dict[str, Any]:
    """The merged YAML documents of ``hp_str`` (plain YAML, safe loader)."""
    if hp_str is None:
        return {}
    if not isinstance(hp_str, str):
        raise UserError(f"{path}: 'hp_str' is not text")
    try:
        docs = list(yaml.safe_load_all(hp_str))
    except yaml.YAMLError as e:
        raise UserError(f"{path}: 'hp_str' is not valid YAML ({str(e).splitlines()[0]})") from None
    except RecursionError:
        raise UserError(f"{path}: 'hp_str' is not valid YAML (nested too deeply)") from None
    merged: dict[str, Any] = {}
    for doc in docs:
        if isinstance(doc, dict):
            merged.update(doc)
    return merged


def _graph_label(name: str) -> tuple[str, dict[str, Any]]:
    """Generator and parameters from the project's file names (``ws-4-075-3.txt``), else ``custom``."""
    m = re.fullmatch(r"ws-(\d+)-(\d+)-\w+\.txt", name)
    if m:
        params = {"k": int(m.group(1)), "p": float(f"0.{m.group(2)[1:]}") if m.group(2).startswith("0") else float(m.group(2))}
        try:
            return "ws", generator_params("ws", **params)
        except ValueError:  # a name that only looks like the project's: keep it as a custom graph
            return "custom", {}
    return "custom", {}


def load(path: Path, obj: Any, graphs: Sequence[Path] | None) -> ForeignNetwork:
    """Map a seungwonpark checkpoint and its graph files onto wiring-lab's network."""
    state = state_dict_of(path, obj, ("model",))
    hp = _hparams(path, obj.get("hp_str") if isinstance(obj, dict) else None)
    model_hp = hp.get("model") if isinstance(hp.get("model"), dict) else {}
    names = [model_hp.get(f"graph{i}") for i in range(3)]
    explicit = [g for g in (graphs or []) if not g.is_dir()]
    if not explicit and not all(isinstance(n, str) and n for n in names):
        raise UserError(f"{path}: hp_str names no graph files (model.graph0..2); pass the three graph files with --graphs")
    search = [path.parent, path.parent / "model/graphs/generated", path.parent.parent / "model/graphs/generated", Path("model/graphs/generated")]
    files = graph_files([str(n) for n in names] if not explicit else [f.name for f in explicit], graphs, search, str(path))

    c = shape_of(path, state, "conv2.weight")[0]
    in_maps = shape_of(path, state, "conv1.weight")[1]
    classes = shape_of(path, state, "fc.weight")[0]
    head = shape_of(path, state, "convlast.weight")[0]
    specs, orders = [], []
    for f in files:
        n, edges = read_edge_text(f)
        gen, params = _graph_label(f.name)
        try:
            specs.append(GraphSpec(gen, params, None, n, tuple(edges)))
        except ValueError as e:
            raise UserError(f"{f}: {e}") from None
        preds: list[list[int]] = [[] for _ in range(n)]
        for u, v in edges:  # the project's node weighs its inputs in the file's edge order
            preds[v].append(u)
        orders.append(preds)
    shapes = [(s.n, c * mult) for s, mult in zip(specs, (1, 2, 4))]
    gen = specs[0].generator if len({s.generator for s in specs}) == 1 else "custom"
    config = ModelConfig(
        regime="small",
        channels=c,
        nodes=max(s.n for s in specs),
        generator=gen,
        params=specs[0].params if gen != "custom" else {},
        num_classes=classes,
        in_channels=in_maps,
        head_channels=head,
        layout=ForeignLayout(
            origin="seungwonpark",
            stem=(
                {"op": "conv3x3", "out": c // 2, "stride": 2, "bias": True, "relu": "none"},
                {"op": "conv3x3", "out": c, "stride": 2, "bias": True, "relu": "before"},
            ),
            stages=tuple(shapes),
            head_relu_out=False,
            head_bias=True,
            log_softmax=True,
        ),
    )
    ours = build_model(config, specs).state_dict()
    prefixes = {
        "stem.0.conv": "conv1", "stem.0.bn": "bn1", "stem.1.conv": "conv2", "stem.1.bn": "bn2",
        "head.1": "convlast", "head.2": "bnlast", "fc": "fc",
    }  # fmt: skip
    transforms = {}
    for s, (stage, preds) in enumerate(zip(STAGES, orders)):
        for v in range(specs[s].n):
            ours_p, theirs = f"stages.{s}.nodes.{v}", f"{stage}.nodes.{v}"
            prefixes.update({
                f"{ours_p}.weight": f"{theirs}.agg_weight",
                f"{ours_p}.op.0": f"{theirs}.conv.conv1",
                f"{ours_p}.op.1": f"{theirs}.conv.pointwise",
                f"{ours_p}.bn": f"{theirs}.bn",
            })  # fmt: skip
            if len(preds[v]) > 1 and preds[v] != sorted(preds[v]):
                perm = torch.tensor([preds[v].index(u) for u in sorted(preds[v])])
                transforms[f"{ours_p}.weight"] = lambda t, perm=perm: t[perm] if t.shape == perm.shape else t
    mapped = map_state(path, state, ours, prefixes, transforms=transforms)
    meta = {k: obj[k] for k in ("epoch", "step") if isinstance(obj, dict) and isinstance(obj.get(k), (int, float))}
    meta = {"imported_from": {"format": "seungwonpark", "path": str(path), "graphs": [str(f) for f in files], **meta}}
    return ForeignNetwork(config, specs, mapped, meta)


register_format(
    ForeignFormat(
        "seungwonpark",
        "seungwonpark/RandWireNN: chkpt_NNN.pt (model, hp_str) + text graphs (N, E, 'u v' lines)",
        _detect,
        load,
    )
)
