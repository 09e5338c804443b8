"""RandWire networks (Xie et al. 2019, Table 1): stages built from DAGs, whole models (node ops: ``node_ops``).

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
from typing import Any, Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from wiring_lab.cnns import CNN_ARCHS, build_cnn
from wiring_lab.graphs import (
    DEFAULT_NODES,
    STORED_GENERATORS,
    GraphSpec,
    generate_graph,
    generator_params,
    list_generators,
    stage_dag,
    stage_seeds,
)
from wiring_lab.node_ops import get_node_op, list_node_ops, register_node_op  # noqa: F401  (re-exported: the registry lives there)

# --- config ----------------------------------------------------------------------------------
# regime -> (input size, stem stride, number of random stages)
REGIMES: dict[str, tuple[int, int, int]] = {
    "small": (224, 2, 3),  # conv1, conv2, stages (N, C), (N, 2C), (N, 4C)
    "regular": (224, 2, 4),  # conv1, stages (N/2, C), (N, 2C), (N, 4C), (N, 8C)
    "cifar": (32, 1, 3),  # small-regime layout with a stride-1 stem, 32x32 inputs
    "mnist": (28, 1, 3),  # likewise, 28x28 inputs
    "digits": (8, 1, 3),  # likewise, 8x8 inputs (scikit-learn digits)
}

AGGREGATIONS = ("weighted", "first")
# Keys of one explicit stem layer: [ReLU] -> conv -> BN -> [ReLU].
STEM_LAYER_KEYS = {
    "op": ("conv3x3", "sepconv3x3"),  # plain 3x3 conv, or depthwise 3x3 then pointwise 1x1
    "out": int,  # output channels
    "stride": int,
    "bias": bool,  # the conv(s) carry biases
    "relu": ("none", "before", "after"),  # where the layer's ReLU is
}


def _check_stem_layer(layer: Any) -> dict[str, Any]:
    """Validate one explicit stem layer (a dict with exactly STEM_LAYER_KEYS)."""
    if not isinstance(layer, dict) or set(layer) != set(STEM_LAYER_KEYS):
        raise ValueError(f"a stem layer must be a dict with keys {', '.join(STEM_LAYER_KEYS)} (got {layer!r})")
    for key, kind in STEM_LAYER_KEYS.items():
        value = layer[key]
        ok = value in kind if isinstance(kind, tuple) else isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
        if not ok or (kind is int and value < 1):
            raise ValueError(f"stem layer {key}={value!r} is not valid (expected {kind if isinstance(kind, tuple) else kind.__name__})")
    return dict(layer)


# arch -> what it is; "plain" is the hand-designed baseline of the baselines study
ARCHS: dict[str, str] = {
    "randwire": "RandWire: random stages of sigmoid-weighted nodes (the paper's network)",
    "plain": "plain CNN: the same stem and head, each stage N conv layers op -> BN -> ReLU in a row",
    **CNN_ARCHS,  # hand-designed CNNs without stage graphs (wiring_lab.cnns)
}


@dataclass(frozen=True)
class ForeignLayout:
    """Where a network imported from another implementation departs from the paper's layout.

    The defaults are the paper's; only :mod:`wiring_lab.importers` sets other values.
    """

    origin: str = "native"  # "native", or the foreign format the network was imported from
    stem: tuple[dict[str, Any], ...] = ()  # explicit stem layers (see STEM_LAYER_KEYS); () -> regime's stem
    stages: tuple[tuple[int, int], ...] = ()  # explicit (nodes, out channels) per stage; () -> regime rule
    node_bias: bool = False  # node convolutions carry biases
    node_dropout: float = 0.0  # dropout after each node's BN (identity at evaluation)
    aggregation: str = "weighted"  # "weighted" (sigmoid-weighted sum) | "first" (first input only)
    input_node_conv: bool = False  # the stage input runs through its own ReLU-op-BN node (stride 2) first
    head_relu_in: bool = True  # ReLU before the head's 1x1 conv
    head_relu_out: bool = True  # ReLU after the head's BN
    head_bias: bool = False  # the head's 1x1 conv carries a bias
    fc_dropout: float = 0.0  # dropout before the classifier (identity at evaluation)
    log_softmax: bool = False  # the network returns log-probabilities instead of logits

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str):
            raise ValueError(f"layout origin must be a string (got {self.origin!r})")
        object.__setattr__(self, "stem", tuple(_check_stem_layer(d) for d in self.stem))
        stages = tuple(tuple(int(v) for v in s) for s in self.stages)
        if any(len(s) != 2 or min(s) < 1 for s in stages):
            raise ValueError(f"stages must be (nodes, channels) pairs of positive integers (got {self.stages!r})")
        object.__setattr__(self, "stages", stages)
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation {self.aggregation!r}; choose one of {', '.join(AGGREGATIONS)}")
        for name in ("node_dropout", "fc_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1) (got {getattr(self, name)!r})")


LAYOUT_FIELDS = tuple(ForeignLayout.__dataclass_fields__)


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
    arch: str = "randwire"  # randwire | plain (N conv layers per stage, chain wiring) | alexnet | tinycnn | handmade (no graphs)
    layout: ForeignLayout = field(default_factory=ForeignLayout)  # imported networks only; default: the paper's

    def __post_init__(self) -> None:
        if not all(isinstance(x, str) for x in (self.regime, self.node_op, self.generator, self.arch)):
            raise ValueError("regime, node_op, generator and arch must be strings")
        if self.arch not in ARCHS:
            raise ValueError(f"unknown arch {self.arch!r}; choose one of {', '.join(ARCHS)}")
        if self.arch == "plain" and self.generator != "chain":
            raise ValueError(f"arch 'plain' stacks its layers in a chain; set generator 'chain' (got {self.generator!r})")
        if self.regime not in REGIMES:
            raise ValueError(f"unknown regime {self.regime!r}; choose one of {', '.join(REGIMES)}")
        for name in ("channels", "nodes", "num_classes", "in_channels", "head_channels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer (got {value!r})")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer (got {self.seed!r})")
        if not isinstance(self.params, dict):
            raise ValueError(f"params must be a dict of generator parameters (got {self.params!r:.60})")
        if self.channels < 2:
            raise ValueError(f"channels must be at least 2 (conv1 has C/2 channels; got {self.channels})")
        get_node_op(self.node_op)
        if isinstance(self.layout, dict):  # to_dict()'s form, as stored in checkpoints
            object.__setattr__(self, "layout", ForeignLayout(**self.layout))
        if not isinstance(self.layout, ForeignLayout):
            raise ValueError(f"layout must be a ForeignLayout (got {self.layout!r:.60})")
        if self.generator in STORED_GENERATORS or (self.layout.origin != "native" and self.generator not in list_generators()):
            # searched or imported graphs: the generator is a label only, never used to sample graphs
            object.__setattr__(self, "params", dict(self.params))
        else:
            object.__setattr__(self, "params", generator_params(self.generator, **self.params))

    @property
    def input_size(self) -> int:
        """Side of the square input image, in pixels."""
        return REGIMES[self.regime][0]

    def stage_shapes(self) -> list[tuple[int, int]]:
        """(nodes, out channels) of each random stage."""
        if self.arch in CNN_ARCHS:
            return []  # a hand-designed CNN has no random stages
        if self.layout.stages:
            return [tuple(s) for s in self.layout.stages]  # type: ignore[misc]
        n, c = self.nodes, self.channels
        if self.regime == "regular":
            return [(max(2, n // 2), c), (n, 2 * c), (n, 4 * c), (n, 8 * c)]
        return [(n, c), (n, 2 * c), (n, 4 * c)]

    def to_dict(self) -> dict[str, Any]:
        """Plain-container form stored in checkpoints (``layout`` a nested dict)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        """Inverse of :meth:`to_dict`; also reads the flat form of checkpoint format 1 (layout fields beside the others)."""
        d = dict(d)
        flat = {k: d.pop(k) for k in LAYOUT_FIELDS if k in d}
        if flat:
            if "layout" in d:
                raise ValueError(f"layout fields given twice (flat {sorted(flat)[0]!r} and in 'layout')")
            d["layout"] = flat
        return cls(**d)


def stage_graphs(config: ModelConfig) -> list[GraphSpec]:
    """Generate each random stage's graph, with its own seed derived from ``config.seed``."""
    shapes = config.stage_shapes()
    seeds = stage_seeds(config.seed, len(shapes))
    return [generate_graph(config.generator, n, seed=s, **config.params) for (n, _), s in zip(shapes, seeds)]


# --- modules ---------------------------------------------------------------------------------
def _add_conv_biases(module: nn.Module) -> nn.Module:
    """Give every bias-free conv of ``module`` a bias (zeros), for layouts whose convs carry one."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and m.bias is None:
            m.bias = nn.Parameter(torch.zeros(m.out_channels))
    return module


class Node(nn.Module):
    """Aggregation (sigmoid-weighted sum) -> ReLU -> op -> BN."""

    def __init__(
        self,
        in_degree: int,
        cin: int,
        cout: int,
        stride: int,
        op: str,
        bias: bool = False,
        dropout: float = 0.0,
        aggregation: str = "weighted",
    ):
        super().__init__()
        self.in_degree = in_degree
        self.aggregation = aggregation
        # one weight per input edge, only where there is something to weigh
        self.weight = nn.Parameter(torch.zeros(in_degree)) if in_degree > 1 else None
        self.relu = nn.ReLU()
        self.op = get_node_op(op)(cin, cout, stride)
        if bias:
            _add_conv_biases(self.op)
        self.bn = nn.BatchNorm2d(cout)
        if dropout > 0:  # only where a layout asks, so paper nodes keep their exact module tree
            self.dropout = nn.Dropout(dropout)
        self.edge_drop = 0.0  # probability, per training step, that one input edge is dropped

    def aggregate(self, inputs: Sequence[torch.Tensor], mask: torch.Tensor | None = None) -> torch.Tensor:
        """Weighted sum of ``inputs`` (each (B, C, H, W)); ``mask`` (in_degree,) zeroes terms."""
        if self.weight is None or self.aggregation == "first":
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
        """ReLU -> op -> BN (-> dropout, where the layout has one) on an aggregated input."""
        out = self.bn(self.op(self.relu(x)))
        dropout = getattr(self, "dropout", None)
        return out if dropout is None else dropout(out)

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

    With ``input_conv`` (leaderj1001's layout) the input node is itself a ReLU-op-BN node with
    stride 2: it turns the stage input into ``cout`` channels once, and the input-fed nodes then
    run at stride 1 on its output. :meth:`node_inputs` applies it, so callers that drive the
    stage node by node see the same function as :meth:`forward`.
    """

    def __init__(
        self,
        graph: GraphSpec,
        cin: int,
        cout: int,
        node_op: str,
        stride: int = 2,
        bias: bool = False,
        dropout: float = 0.0,
        aggregation: str = "weighted",
        input_conv: bool = False,
    ):
        super().__init__()
        self.graph = graph
        self.dag = stage_dag(graph)
        self.cin, self.cout = cin, cout
        ops = graph_node_ops(graph, node_op)
        extra = {"bias": bias, "dropout": dropout, "aggregation": aggregation}
        if input_conv:
            self.input_node = Node(1, cin, cout, stride, node_op, **extra)
            cin, stride = cout, 1
        self._cached: tuple[torch.Tensor, torch.Tensor] | None = None  # (stage input, input node output)
        self.nodes = nn.ModuleList(
            Node(
                max(1, len(self.dag.preds[v])),
                cin if not self.dag.preds[v] else cout,
                cout,
                stride if not self.dag.preds[v] else 1,
                ops[v],
                **extra,
            )
            for v in range(graph.n)
        )

    def stage_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the input node hands on: ``x`` itself, or its own node's output (input_conv layouts)."""
        node = getattr(self, "input_node", None)
        if node is None:
            return x
        if self._cached is not None and self._cached[0] is x:  # holding x keeps its identity unique
            return self._cached[1]
        out = node.transform(x)
        self._cached = (x, out)
        return out

    def train(self, mode: bool = True) -> "Stage":
        """Switch mode; drops the cached input-node output (BN behaves differently per mode)."""
        self._cached = None
        return super().train(mode)

    def node_inputs(self, v: int, x: torch.Tensor, outs: Sequence[torch.Tensor | None]) -> list[torch.Tensor]:
        """Inputs of node ``v``, in ``dag.preds[v]`` order: the stage input if ``v`` is input-fed."""
        preds = self.dag.preds[v]
        return [self.stage_input(x)] if not preds else [outs[u] for u in preds]  # type: ignore[misc]

    def combine(self, outs: Sequence[torch.Tensor | None], keep: Sequence[int] | None = None) -> torch.Tensor:
        """The output node: plain mean over the output-fed nodes (or the subset ``keep``)."""
        chosen = self.dag.output_fed if keep is None else keep
        out = outs[chosen[0]]
        for v in chosen[1:]:
            out = out + outs[v]
        return out / len(chosen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        node = getattr(self, "input_node", None)
        if node is not None:
            x = node.transform(x)  # computed once per call; no cache while training
        outs: list[torch.Tensor | None] = [None] * self.graph.n
        for v in range(self.graph.n):  # index order is a topological order
            preds = self.dag.preds[v]
            outs[v] = self.nodes[v]([x] if not preds else [outs[u] for u in preds])
        return self.combine(outs)


def _conv_bn(cin: int, cout: int, stride: int, relu_first: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.ReLU()] if relu_first else []
    layers += [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers)


class StemLayer(nn.Module):
    """One explicit stem layer of an imported layout: [ReLU] -> conv -> BN -> [ReLU]."""

    def __init__(self, cin: int, op: str, out: int, stride: int, bias: bool, relu: str):
        super().__init__()
        self.relu = relu
        if op == "sepconv3x3":
            self.conv: nn.Module = nn.Sequential(
                nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=bias),  # depthwise 3x3
                nn.Conv2d(cin, out, 1, bias=bias),  # pointwise 1x1
            )
        else:
            self.conv = nn.Conv2d(cin, out, 3, stride, 1, bias=bias)
        self.bn = nn.BatchNorm2d(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.relu == "before":
            x = torch.relu(x)
        x = self.bn(self.conv(x))
        return torch.relu(x) if self.relu == "after" else x


def _stem(config: ModelConfig) -> tuple[nn.Sequential, int]:
    """The regime's stem (or the layout's explicit one) and its output channels."""
    c, stride = config.channels, REGIMES[config.regime][1]
    if config.layout.stem:
        layers, cin = [], config.in_channels
        for spec in config.layout.stem:
            layers.append(StemLayer(cin, **spec))
            cin = spec["out"]
        return nn.Sequential(*layers), cin
    if config.regime == "regular":
        return nn.Sequential(_conv_bn(config.in_channels, c // 2, stride, relu_first=False)), c // 2
    stem = nn.Sequential(
        _conv_bn(config.in_channels, c // 2, stride, relu_first=False),  # conv1
        _conv_bn(c // 2, c, stride, relu_first=True),  # conv2
    )
    return stem, c


def _head(config: ModelConfig, cin: int) -> nn.Sequential:
    """ReLU -> 1x1 conv -> BN -> ReLU -> global average pool; ReLUs a layout leaves out are identities
    (so parameter names stay head.1 / head.2)."""
    layout = config.layout
    return nn.Sequential(
        nn.ReLU() if layout.head_relu_in else nn.Identity(),
        nn.Conv2d(cin, config.head_channels, 1, bias=layout.head_bias),
        nn.BatchNorm2d(config.head_channels),
        nn.ReLU() if layout.head_relu_out else nn.Identity(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )


class _Network(nn.Module):
    """What every network here shares: ``stem`` -> ``stages`` -> ``head`` -> ``fc``, its init and classifier."""

    config: ModelConfig
    stem: nn.Module
    stages: nn.ModuleList
    head: nn.Module
    fc: nn.Linear

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.fc.weight, std=0.01)
        nn.init.zeros_(self.fc.bias)

    def _add_classifier(self, cin: int) -> None:
        """Head, optional dropout and the final linear layer."""
        config = self.config
        self.head = _head(config, cin)
        if config.layout.fc_dropout > 0:
            self.fc_dropout = nn.Dropout(config.layout.fc_dropout)
        self.fc = nn.Linear(config.head_channels, config.num_classes)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Head + classifier on the last stage's output (B, C, H, W) -> logits (B, classes)."""
        x = self.head(x)
        dropout = getattr(self, "fc_dropout", None)
        if dropout is not None:
            x = dropout(x)
        x = self.fc(x)
        return torch.log_softmax(x, dim=1) if self.config.layout.log_softmax else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return self.classify(x)


class RandWire(_Network):
    """A RandWire network: stem -> random stages -> head (1x1 conv, pool, FC)."""

    def __init__(self, config: ModelConfig, graphs: Sequence[GraphSpec]):
        super().__init__()
        shapes = config.stage_shapes()
        if len(graphs) != len(shapes):
            raise ValueError(f"this network has {len(shapes)} random stages, got {len(graphs)} graphs")
        self.config = config
        self.stem, cin = _stem(config)
        layout = config.layout
        stages = []
        for graph, (_, cout) in zip(graphs, shapes):
            stages.append(
                Stage(
                    graph,
                    cin,
                    cout,
                    config.node_op,
                    bias=layout.node_bias,
                    dropout=layout.node_dropout,
                    aggregation=layout.aggregation,
                    input_conv=layout.input_node_conv,
                )
            )
            cin = cout
        self.stages = nn.ModuleList(stages)
        self._add_classifier(cin)
        self._init_weights()

    @property
    def graphs(self) -> list[GraphSpec]:
        """The stage graphs, in stage order."""
        return [s.graph for s in self.stages]

    def set_edge_drop(self, p: float) -> None:
        """Drop one random input edge of each multi-input node with probability ``p`` per step."""
        for s in self.stages:
            for node in s.nodes:
                node.edge_drop = p


class PlainCNN(_Network):
    """A plain CNN baseline: RandWire's stem and head, each stage a row of op -> BN -> ReLU layers.

    Its stage graphs are chains of N nodes (layer i feeds layer i+1), kept so checkpoints,
    summaries and graph metrics treat it like any network. The first layer of a stage has
    stride 2 and takes the previous stage's channels. No aggregation weights, no output mean.
    """

    def __init__(self, config: ModelConfig, graphs: Sequence[GraphSpec]):
        super().__init__()
        shapes = config.stage_shapes()
        if len(graphs) != len(shapes):
            raise ValueError(f"this network has {len(shapes)} stages, got {len(graphs)} graphs")
        for g in graphs:
            if g.edges != tuple((i, i + 1) for i in range(g.n - 1)):
                raise ValueError(f"arch 'plain' needs chain stage graphs; got a {g.generator} graph with {len(g.edges)} edges")
        self.config = config
        self.stem, cin = _stem(config)
        layers = []
        for g, (_, cout) in zip(graphs, shapes):
            stage: list[nn.Module] = []
            for i in range(g.n):
                op = get_node_op(config.node_op)(cin if i == 0 else cout, cout, 2 if i == 0 else 1)
                stage += [op, nn.BatchNorm2d(cout), nn.ReLU()]
            layers.append(nn.Sequential(*stage))
            cin = cout
        self.stages = nn.ModuleList(layers)
        self._plain_graphs = list(graphs)
        self._add_classifier(cin)
        self._init_weights()

    @property
    def graphs(self) -> list[GraphSpec]:
        """The (chain) stage graphs, in stage order."""
        return self._plain_graphs

    def set_edge_drop(self, p: float) -> None:
        """A plain CNN has no multi-input nodes: edge drop does nothing."""


def build_model(config: ModelConfig, graphs: Sequence[GraphSpec] | None = None) -> RandWire | PlainCNN:
    """Build the network of ``config`` (by its ``arch``); its stage graphs are generated unless given."""
    if config.arch in CNN_ARCHS:
        if graphs:
            raise ValueError(f"arch {config.arch!r} is a hand-designed CNN and takes no stage graphs (got {len(graphs)})")
        return build_cnn(config)  # type: ignore[return-value]
    specs = stage_graphs(config) if graphs is None else list(graphs)
    return PlainCNN(config, specs) if config.arch == "plain" else RandWire(config, specs)


def count_params(model: nn.Module) -> int:
    """Number of parameters (all learnable tensors)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_size: int | None = None, in_channels: int | None = None) -> int:
    """Multiply-adds of one forward pass on one image, counted by ``torch.utils.flop_counter``."""
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
