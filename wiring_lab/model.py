"""RandWire networks (Xie et al. 2019, Table 1): node ops, stages built from DAGs, whole models.

A node is aggregation -> transformation -> distribution. Aggregation is a weighted sum of the
inputs with positive weights ``sigmoid(w)`` (``w`` starts at 0); a node with a single input
carries no weight. Transformation is ReLU -> op -> BN, the op taken from a registry
(``sepconv3x3`` by default). Nodes fed by the stage's input node use stride 2 and take the
previous stage's channel count. The output node is the plain mean of the nodes of out-degree 0.

>>> cfg = ModelConfig(regime="digits", channels=8, nodes=6, num_classes=10, in_channels=1)
>>> model = build_model(cfg)
>>> model(torch.zeros(2, 1, 8, 8)).shape
torch.Size([2, 10])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import torch
from torch import nn

from wiring_lab.graphs import (
    DEFAULT_NODES,
    GraphSpec,
    generate_graph,
    generator_params,
    stage_dag,
    stage_seeds,
)

# --- node operations -------------------------------------------------------------------------
_NODE_OPS: dict[str, Callable[[int, int, int], nn.Module]] = {}


def register_node_op(name: str, builder: Callable[[int, int, int], nn.Module]) -> None:
    """Register ``builder(in_ch, out_ch, stride) -> nn.Module``, used as ReLU -> op -> BN."""
    _NODE_OPS[name] = builder


def get_node_op(name: str) -> Callable[[int, int, int], nn.Module]:
    """Look up a node op; an unknown name lists the valid ones."""
    try:
        return _NODE_OPS[name]
    except KeyError:
        raise ValueError(f"unknown node op {name!r}; choose one of {', '.join(list_node_ops())}") from None


def list_node_ops() -> list[str]:
    """Names of the registered node ops."""
    return list(_NODE_OPS)


def _sepconv3x3(cin: int, cout: int, stride: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),  # depthwise 3x3
        nn.Conv2d(cin, cout, 1, bias=False),  # pointwise 1x1
    )


def _conv3x3(cin: int, cout: int, stride: int) -> nn.Module:
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


def _maxpool_conv1x1(cin: int, cout: int, stride: int) -> nn.Module:
    return nn.Sequential(nn.MaxPool2d(3, stride, 1), nn.Conv2d(cin, cout, 1, bias=False))


def _avgpool_conv1x1(cin: int, cout: int, stride: int) -> nn.Module:
    return nn.Sequential(nn.AvgPool2d(3, stride, 1, count_include_pad=False), nn.Conv2d(cin, cout, 1, bias=False))


register_node_op("sepconv3x3", _sepconv3x3)
register_node_op("conv3x3", _conv3x3)
register_node_op("maxpool3x3+conv1x1", _maxpool_conv1x1)
register_node_op("avgpool3x3+conv1x1", _avgpool_conv1x1)


# --- config ----------------------------------------------------------------------------------
# regime -> (input size, stem stride, number of random stages)
REGIMES: dict[str, tuple[int, int, int]] = {
    "small": (224, 2, 3),  # conv1, conv2, stages (N, C), (N, 2C), (N, 4C)
    "regular": (224, 2, 4),  # conv1, stages (N/2, C), (N, 2C), (N, 4C), (N, 8C)
    "cifar": (32, 1, 3),  # small-regime layout with a stride-1 stem, 32x32 inputs
    "mnist": (28, 1, 3),  # likewise, 28x28 inputs
    "digits": (8, 1, 3),  # likewise, 8x8 inputs (scikit-learn digits)
}


@dataclass(frozen=True)
class ModelConfig:
    """Everything that rebuilds a RandWire network (stored in every checkpoint)."""

    regime: str = "small"  # small | regular (224x224) | cifar (32x32) | mnist (28x28) | digits (8x8)
    channels: int = 78  # C: channels of the first random stage
    nodes: int = DEFAULT_NODES  # N: nodes per random stage (regular regime: N/2 in its first)
    generator: str = "ws"  # er | ba | ws | chain | complete
    params: dict[str, Any] = field(default_factory=dict)  # generator parameters; omitted -> paper defaults
    seed: int = 0  # network seed; each stage's graph seed derives from it
    node_op: str = "sepconv3x3"  # node transformation, see list_node_ops()
    num_classes: int = 1000
    in_channels: int = 3  # image channels (1 for digits / MNIST)
    head_channels: int = 1280  # width of the 1x1 conv before global pooling

    def __post_init__(self) -> None:
        if self.regime not in REGIMES:
            raise ValueError(f"unknown regime {self.regime!r}; choose one of {', '.join(REGIMES)}")
        for name in ("channels", "nodes", "num_classes", "in_channels", "head_channels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer (got {value!r})")
        if self.channels < 2:
            raise ValueError(f"channels must be at least 2 (conv1 has C/2 channels; got {self.channels})")
        get_node_op(self.node_op)
        object.__setattr__(self, "params", generator_params(self.generator, **self.params))

    @property
    def input_size(self) -> int:
        """Side of the square input image, in pixels."""
        return REGIMES[self.regime][0]

    def stage_shapes(self) -> list[tuple[int, int]]:
        """(nodes, out channels) of each random stage."""
        n, c = self.nodes, self.channels
        if self.regime == "regular":
            return [(max(2, n // 2), c), (n, 2 * c), (n, 4 * c), (n, 8 * c)]
        return [(n, c), (n, 2 * c), (n, 4 * c)]

    def to_dict(self) -> dict[str, Any]:
        """Plain-container form stored in checkpoints."""
        return asdict(self)


def stage_graphs(config: ModelConfig) -> list[GraphSpec]:
    """Generate each random stage's graph, with its own seed derived from ``config.seed``."""
    shapes = config.stage_shapes()
    seeds = stage_seeds(config.seed, len(shapes))
    return [generate_graph(config.generator, n, seed=s, **config.params) for (n, _), s in zip(shapes, seeds)]


# --- modules ---------------------------------------------------------------------------------
class Node(nn.Module):
    """Aggregation (sigmoid-weighted sum) -> ReLU -> op -> BN."""

    def __init__(self, in_degree: int, cin: int, cout: int, stride: int, op: str):
        super().__init__()
        self.in_degree = in_degree
        # one weight per input edge, only where there is something to weigh
        self.weight = nn.Parameter(torch.zeros(in_degree)) if in_degree > 1 else None
        self.relu = nn.ReLU()
        self.op = get_node_op(op)(cin, cout, stride)
        self.bn = nn.BatchNorm2d(cout)
        self.edge_drop = 0.0  # probability, per training step, that one input edge is dropped

    def aggregate(self, inputs: Sequence[torch.Tensor], mask: torch.Tensor | None = None) -> torch.Tensor:
        """Weighted sum of ``inputs`` (each (B, C, H, W)); ``mask`` (in_degree,) zeroes terms."""
        if self.weight is None:
            x = inputs[0]
            return x if mask is None else x * mask[0]
        w = torch.sigmoid(self.weight)  # (in_degree,)
        if self.training and self.edge_drop > 0:
            drop = (torch.rand((), device=w.device) < self.edge_drop).to(w.dtype)
            hit = nn.functional.one_hot(torch.randint(self.in_degree, (), device=w.device), self.in_degree)
            w = w * (1 - drop * hit.to(w.dtype))
        if mask is not None:
            w = w * mask
        out = inputs[0] * w[0]
        for i in range(1, self.in_degree):
            out = out + inputs[i] * w[i]
        return out

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """ReLU -> op -> BN on an aggregated input."""
        return self.bn(self.op(self.relu(x)))

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.transform(self.aggregate(inputs))


def graph_node_ops(graph: GraphSpec, default: str) -> list[str]:
    """Each node's op: ``graph.params["node_ops"]`` (searched wirings) if present, else ``default``."""
    ops = graph.params.get("node_ops")
    if ops is None:
        return [default] * graph.n
    if not isinstance(ops, (list, tuple)) or len(ops) != graph.n or not all(isinstance(o, str) for o in ops):
        raise ValueError(f"graph params 'node_ops' must list one node op name per node ({graph.n} names)")
    for op in ops:
        get_node_op(op)
    return list(ops)


class Stage(nn.Module):
    """One random stage: a DAG of nodes between an input node and an output node (plain mean).

    Every node uses ``node_op`` unless the graph lists one op per node in ``params["node_ops"]``
    (as searched wirings do).
    """

    def __init__(self, graph: GraphSpec, cin: int, cout: int, node_op: str, stride: int = 2):
        super().__init__()
        self.graph = graph
        self.dag = stage_dag(graph)
        self.cin, self.cout = cin, cout
        ops = graph_node_ops(graph, node_op)
        self.nodes = nn.ModuleList(
            Node(
                max(1, len(self.dag.preds[v])),
                cin if not self.dag.preds[v] else cout,
                cout,
                stride if not self.dag.preds[v] else 1,
                ops[v],
            )
            for v in range(graph.n)
        )

    def node_inputs(self, v: int, x: torch.Tensor, outs: Sequence[torch.Tensor | None]) -> list[torch.Tensor]:
        """Inputs of node ``v``, in ``dag.preds[v]`` order: the stage input if ``v`` is input-fed."""
        preds = self.dag.preds[v]
        return [x] if not preds else [outs[u] for u in preds]  # type: ignore[misc]

    def combine(self, outs: Sequence[torch.Tensor | None], keep: Sequence[int] | None = None) -> torch.Tensor:
        """The output node: plain mean over the output-fed nodes (or the subset ``keep``)."""
        chosen = self.dag.output_fed if keep is None else keep
        out = outs[chosen[0]]
        for v in chosen[1:]:
            out = out + outs[v]
        return out / len(chosen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor | None] = [None] * self.graph.n
        for v in range(self.graph.n):  # index order is a topological order
            outs[v] = self.nodes[v](self.node_inputs(v, x, outs))
        return self.combine(outs)


def _conv_bn(cin: int, cout: int, stride: int, relu_first: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.ReLU()] if relu_first else []
    layers += [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers)


class RandWire(nn.Module):
    """A RandWire network: stem -> random stages -> head (1x1 conv, pool, FC)."""

    def __init__(self, config: ModelConfig, graphs: Sequence[GraphSpec]):
        super().__init__()
        shapes = config.stage_shapes()
        if len(graphs) != len(shapes):
            raise ValueError(f"regime {config.regime!r} has {len(shapes)} random stages, got {len(graphs)} graphs")
        self.config = config
        c = config.channels
        stride = REGIMES[config.regime][1]
        if config.regime == "regular":
            self.stem = nn.Sequential(_conv_bn(config.in_channels, c // 2, stride, relu_first=False))
            cin = c // 2
        else:
            self.stem = nn.Sequential(
                _conv_bn(config.in_channels, c // 2, stride, relu_first=False),  # conv1
                _conv_bn(c // 2, c, stride, relu_first=True),  # conv2
            )
            cin = c
        stages = []
        for graph, (_, cout) in zip(graphs, shapes):
            stages.append(Stage(graph, cin, cout, config.node_op))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.head = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(cin, config.head_channels, 1, bias=False),
            nn.BatchNorm2d(config.head_channels),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.fc = nn.Linear(config.head_channels, config.num_classes)
        self._init_weights()

    @property
    def graphs(self) -> list[GraphSpec]:
        """The stage graphs, in stage order."""
        return [s.graph for s in self.stages]

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.fc.weight, std=0.01)
        nn.init.zeros_(self.fc.bias)

    def set_edge_drop(self, p: float) -> None:
        """Drop one random input edge of each multi-input node with probability ``p`` per step."""
        for s in self.stages:
            for node in s.nodes:
                node.edge_drop = p

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Head + classifier on the last stage's output (B, C, H, W) -> logits (B, classes)."""
        return self.fc(self.head(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return self.classify(x)


def build_model(config: ModelConfig, graphs: Sequence[GraphSpec] | None = None) -> RandWire:
    """Build the network of ``config``; its stage graphs are generated unless given."""
    return RandWire(config, stage_graphs(config) if graphs is None else list(graphs))


def count_params(model: nn.Module) -> int:
    """Number of parameters (all learnable tensors)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_size: int | None = None, in_channels: int | None = None) -> int:
    """Multiply-adds of one forward pass on one image, counted by ``torch.utils.flop_counter``."""
    from torch.utils.flop_counter import FlopCounterMode

    cfg = getattr(model, "config", None)
    size = input_size or cfg.input_size
    chans = in_channels or cfg.in_channels
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, chans, size, size, device=device))
    model.train(was_training)
    return int(counter.get_total_flops() // 2)  # the counter reports 2 FLOPs per multiply-add
