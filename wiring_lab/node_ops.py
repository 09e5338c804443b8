"""Node operations, a registry for the paper's node-op ablation (Fig. 6): each a builder
``(cin, cout, stride) -> nn.Module``, run as ReLU -> op -> BN by a node (``wiring_lab.model``).

>>> list_node_ops()
['sepconv3x3', 'conv3x3', 'maxpool3x3+conv1x1', 'avgpool3x3+conv1x1']
"""

from __future__ import annotations

from typing import Callable

from torch import nn

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
