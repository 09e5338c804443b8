"""RandWire builder: every regime and node op runs; sizes match the paper's table."""

from __future__ import annotations

import statistics

import pytest
import torch

from wiring_lab.model import (
    ModelConfig,
    build_model,
    count_macs,
    count_params,
    list_node_ops,
    stage_graphs,
)


@pytest.mark.parametrize("regime,size", [("digits", 8), ("mnist", 28), ("cifar", 32), ("small", 224), ("regular", 224)])
def test_every_regime_builds_and_runs(regime, size):
    cfg = ModelConfig(regime=regime, channels=4, nodes=6, num_classes=7, in_channels=3, head_channels=16, generator="er")
    model = build_model(cfg).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, size, size))
    assert out.shape == (2, 7)
    assert len(model.stages) == (4 if regime == "regular" else 3)


@pytest.mark.parametrize("op", list_node_ops())
def test_every_node_op_builds_and_runs(op):
    cfg = ModelConfig(regime="digits", channels=4, nodes=5, num_classes=10, in_channels=1, node_op=op, head_channels=8)
    model = build_model(cfg)
    out = model(torch.randn(3, 1, 8, 8))
    out.sum().backward()
    assert out.shape == (3, 10)


def test_regular_regime_first_stage_has_half_the_nodes():
    cfg = ModelConfig(regime="regular", channels=8, nodes=8, head_channels=16, generator="ba", params={"m": 2})
    assert [g.n for g in stage_graphs(cfg)] == [4, 8, 8, 8]


def test_stages_get_different_graphs_from_one_seed():
    graphs = stage_graphs(ModelConfig(regime="small", generator="er", nodes=16, seed=5))
    assert len({g.edges for g in graphs}) == 3
    assert len({g.seed for g in graphs}) == 3
    assert stage_graphs(ModelConfig(regime="small", generator="er", nodes=16, seed=5)) == graphs


def test_aggregation_weights_only_on_multi_input_nodes():
    model = build_model(ModelConfig(regime="digits", channels=4, nodes=8, num_classes=10, in_channels=1))
    for stage in model.stages:
        for v, node in enumerate(stage.nodes):
            k = len(stage.dag.preds[v])
            assert (node.weight is None) == (k <= 1)
            if k > 1:
                assert node.weight.shape == (k,) and torch.all(node.weight == 0)


def test_input_fed_nodes_use_stride_two_and_previous_channels():
    model = build_model(ModelConfig(regime="cifar", channels=8, nodes=8, num_classes=10))
    stage = model.stages[1]  # 8 -> 16 channels
    for v in stage.dag.input_fed:
        depthwise = stage.nodes[v].op[0]
        assert depthwise.stride == (2, 2) and depthwise.in_channels == 8
    x = torch.randn(1, 8, 16, 16)
    assert stage(x).shape == (1, 16, 8, 8)


def test_output_node_is_plain_mean():
    model = build_model(ModelConfig(regime="digits", channels=4, nodes=6, num_classes=10, in_channels=1)).eval()
    stage = model.stages[0]
    x = torch.randn(2, 4, 8, 8)
    outs = []
    with torch.no_grad():
        for v in range(stage.graph.n):
            outs.append(stage.nodes[v](stage.node_inputs(v, x, outs)))
        expected = torch.stack([outs[v] for v in stage.dag.output_fed]).mean(0)
        assert torch.allclose(stage(x), expected, atol=1e-6)


# Paper Tables 2 and 3, WS(4, 0.75), N=32: params (M) and multiply-adds (M).
PAPER = {("small", 78): (5.6, 583), ("regular", 109): (31.9, 4000), ("regular", 154): (61.5, 7900)}


@pytest.mark.parametrize("regime,channels", list(PAPER))
def test_params_and_macs_land_on_the_paper_table(regime, channels):
    seeds = range(5) if regime == "small" else range(1)  # the large ones are slower to count
    params, macs = [], []
    for seed in seeds:
        model = build_model(ModelConfig(regime=regime, channels=channels, nodes=32, generator="ws", seed=seed))
        params.append(count_params(model) / 1e6)
        macs.append(count_macs(model) / 1e6)
    p_paper, m_paper = PAPER[(regime, channels)]
    assert statistics.mean(params) == pytest.approx(p_paper, rel=0.04)
    assert statistics.mean(macs) == pytest.approx(m_paper, rel=0.04)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"regime": "huge"}, "unknown regime"),
        ({"node_op": "conv9x9"}, "unknown node op"),
        ({"channels": 0}, "positive integer"),
        ({"generator": "ws", "params": {"k": 5}}, None),
    ],
)
def test_bad_model_configs(kwargs, match):
    if match is None:  # generator parameters are checked when the graphs are made
        with pytest.raises(ValueError, match="even k"):
            build_model(ModelConfig(**kwargs))
    else:
        with pytest.raises(ValueError, match=match):
            ModelConfig(**kwargs)
