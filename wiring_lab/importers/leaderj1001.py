"""leaderj1001/RandWireNN: ``checkpoint/*ckpt.t7`` (``model``, ``acc``, ``epoch``) plus
``saved_graph/<MODE>_conv<s>`` graphs written by ``nx.write_yaml``.

Layout of that code (``--model-mode`` CIFAR10 | CIFAR100 | SMALL_REGIME | REGULAR_REGIME, key
prefixes ``CIFAR_`` | ``CIFAR100_`` | ``SMALL_`` | ``REGULAR_``), and where it differs from the
paper (modelled by ModelConfig fields):
- stem: 3x3 convs at **stride 1 with biases**, each + BN (CIFAR10: conv1 3->C + ReLU, conv2 C->C;
  CIFAR100: conv1 3->C; SMALL: conv1 3->C/2 + ReLU, conv2 C/2->C; REGULAR: conv1 3->C/2);
- random stages ``<P>_conv<s>.0.module_list.<j>`` (CIFAR10 has only **two**: 2C, 4C);
  module 0 is an **extra input node with its own convolution** (ReLU -> separable 3x3 s2 -> BN on
  the stage input, no aggregation); graph node g is module g+1, and nodes with no
  lower-numbered neighbour read module 0's output at stride 1; module N+1 (an "output node")
  is built but never run: its tensors are ignored;
- nodes: ``weights`` (sigmoid-weighted sum for more than one input, by predecessor id), then
  ``unit`` (a ``Unit`` whose own ``unit`` is the ``nn.Sequential``, hence keys
  ``unit.unit.1.conv``, ``unit.unit.1.pointwise``, ``unit.unit.2``): ReLU -> separable conv
  (depthwise ``conv`` + ``pointwise``, **biases**) -> BN -> **dropout 0.2**;
- head: ``<P>_classifier`` 1x1 conv 1280 (**bias**) -> BN, **no ReLU** before or after, global
  average pool, ``output``: **dropout 0.2** -> linear.
The checkpoint's name (``c_<C>_p_<P>_graph_mode_<WS|ER|BA>_dataset_<D>ckpt.t7``) records the
graph generator (networkx's, with the code's fixed k=4 / m=5) and the data set (its input size).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from wiring_lab._io import UserError
from wiring_lab.graphs import generator_params
from wiring_lab.importers import ForeignFormat, register_format
from wiring_lab.importers._common import (
    ForeignNetwork,
    check_stage_sizes,
    count_indexed,
    graph_files,
    map_state,
    read_networkx_yaml,
    shape_of,
    stage_prefixes,
    state_dict_of,
    strip_module,
)
from wiring_lab.model import ForeignLayout, ModelConfig, build_model

# key prefix -> (graph file prefix, regime, stem relu pattern per conv)
MODES = {
    "CIFAR": ("CIFAR10", "cifar"),
    "CIFAR100": ("CIFAR100", "cifar"),
    "SMALL": ("SMALL", "small"),
    "REGULAR": ("REGULAR", "regular"),
}
DROPOUT = 0.2
UNIT = "unit.unit"  # Node.unit is a Unit module whose .unit is the ReLU-SeparableConv2d-BN-Dropout Sequential
# the generator names main.py writes into the checkpoint name -> ours, with graph.py's fixed k=4, m=5
GRAPH_MODES = {"WS": ("ws", ("k", 4), "p"), "ER": ("er", None, "p"), "BA": ("ba", ("m", 5), None)}
DATASET_SIZES = {"CIFAR10": 32, "CIFAR100": 32, "MNIST": 32, "IMAGENET": 224}  # preprocess.py feeds MNIST as CIFAR100
_NAME = re.compile(r"c_(\d+)_p_([0-9.eE+-]+)_graph_mode_(\w+?)_dataset_(\w+?)ckpt\.t7")


def _detect(obj: Any) -> bool:
    """A dict whose ``model`` state dict holds ``module_list`` stages."""
    if not isinstance(obj, dict) or not isinstance(obj.get("model"), dict):
        return False
    return any(".module_list." in k and f".{UNIT}." in k for k in strip_module(obj["model"]))


def _from_name(name: str) -> tuple[str, dict[str, Any], int | None]:
    """Generator, parameters and input size recorded in main.py's checkpoint name (else custom, unknown)."""
    m = _NAME.fullmatch(name)
    if not m or m.group(3) not in GRAPH_MODES:
        return "custom", {}, None
    gen, fixed, prob = GRAPH_MODES[m.group(3)]
    params = dict([fixed] if fixed else [])
    try:
        if prob:
            params[prob] = float(m.group(2))
        return gen, generator_params(gen, **params), DATASET_SIZES.get(m.group(4))
    except ValueError:  # a name that only looks like main.py's
        return "custom", {}, DATASET_SIZES.get(m.group(4))


def load(path: Path, obj: Any, graphs: Sequence[Path] | None) -> ForeignNetwork:
    """Map a leaderj1001 checkpoint and its saved graphs onto wiring-lab's network."""
    state = state_dict_of(path, obj, ("model",))
    modes = {k.split("_conv", 1)[0] for k in state if "_conv" in k}
    if len(modes) != 1 or next(iter(modes)) not in MODES:
        raise UserError(f"{path}: cannot tell the model mode from its keys (prefixes {sorted(modes)}); expected one of {', '.join(MODES)}")
    mode = next(iter(modes))
    file_prefix, regime = MODES[mode]
    stages = stage_prefixes(state, rf"^({mode}_conv(\d+))\.0\.module_list\.")
    if not stages:
        raise UserError(f"{path}: no random stages ({mode}_conv<s>.0.module_list) in the checkpoint")
    names = [f"{file_prefix}_conv{s.rsplit('_conv', 1)[1]}" for s in stages]
    search = [path.parent.parent / "saved_graph", path.parent / "saved_graph", path.parent]
    files = graph_files(names, graphs, search, str(path))
    gen, params, size = _from_name(path.name)
    specs = [read_networkx_yaml(f, gen, params) for f in files]
    # modules: input node, N graph nodes, the unused output node
    check_stage_sizes(path, [count_indexed(state, f"{s}.0.module_list") - 2 for s in stages], specs, files)
    shapes = [(spec.n, shape_of(path, state, f"{s}.0.module_list.0.{UNIT}.2.weight")[0]) for s, spec in zip(stages, specs)]
    convs = sorted({k.split(".")[0] for k in state if k.startswith(f"{mode}_conv") and ".module_list." not in k})
    stem, prefixes, cin = [], {}, shape_of(path, state, f"{mode}_conv1.0.weight")[1]
    for i, conv in enumerate(convs):
        out = shape_of(path, state, f"{conv}.0.weight")[0]
        # a ReLU follows the first conv where the next layer is another plain conv (CIFAR10, SMALL)
        relu = "after" if i == 0 and len(convs) > 1 else "none"
        stem.append({"op": "conv3x3", "out": out, "stride": 1, "bias": True, "relu": relu})
        prefixes.update({f"stem.{i}.conv": f"{conv}.0", f"stem.{i}.bn": f"{conv}.1"})
    config = ModelConfig(
        regime=regime,
        channels=shapes[0][1],
        nodes=max(n for n, _ in shapes),
        generator=gen,
        params=params,
        num_classes=shape_of(path, state, "output.1.weight")[0],
        in_channels=cin,
        head_channels=shape_of(path, state, f"{mode}_classifier.0.weight")[0],
        layout=ForeignLayout(
            origin="leaderj1001",
            stem=tuple(stem),
            stages=tuple(shapes),
            node_bias=True,
            node_dropout=DROPOUT,
            input_node_conv=True,
            head_relu_in=False,
            head_relu_out=False,
            head_bias=True,
            fc_dropout=DROPOUT,
        ),
    )
    ours = build_model(config, specs).state_dict()
    prefixes.update({"head.1": f"{mode}_classifier.0", "head.2": f"{mode}_classifier.1", "fc": "output.1"})
    for i, (s, spec) in enumerate(zip(stages, specs)):
        base = f"{s}.0.module_list"
        for ours_p, j in [(f"stages.{i}.input_node", 0)] + [(f"stages.{i}.nodes.{v}", v + 1) for v in range(spec.n)]:
            prefixes.update({
                f"{ours_p}.weight": f"{base}.{j}.weights",
                f"{ours_p}.op.0": f"{base}.{j}.{UNIT}.1.conv",
                f"{ours_p}.op.1": f"{base}.{j}.{UNIT}.1.pointwise",
                f"{ours_p}.bn": f"{base}.{j}.{UNIT}.2",
            })  # fmt: skip
    unused = tuple(f"{s}.0.module_list.{spec.n + 1}." for s, spec in zip(stages, specs))
    mapped = map_state(path, state, ours, prefixes, ignore=lambda k: k.startswith(unused))
    extra = {k: obj[k] for k in ("epoch", "acc") if isinstance(obj.get(k), (int, float))}
    size = size or (32 if regime == "cifar" else None)
    meta = {"imported_from": {"format": "leaderj1001", "path": str(path), "graphs": [str(f) for f in files], "mode": mode, "input_size": size, **extra}}
    return ForeignNetwork(config, specs, mapped, meta)


register_format(
    ForeignFormat(
        "leaderj1001",
        "leaderj1001/RandWireNN: checkpoint/*ckpt.t7 (model) + saved_graph/<MODE>_conv<s> (nx.write_yaml)",
        _detect,
        load,
    )
)
