"""Hand-designed CNN baselines of an MNIST RandWire reconstruction: AlexNet, TinyCNN, a hand-tuned CNN.

They answer "how well does a conventional network do with the same recipe and data?" and are
built from the same :class:`~wiring_lab.model.ModelConfig` (``arch``, ``regime``, ``in_channels``,
``num_classes``; the graph fields are not used). They have no stage graphs: their checkpoints are
ordinary checkpoints with an empty graph list, and damage / attack refuse them.

Every layer is sized from the regime's input side ``s`` (28 for MNIST, 8 for digits, 32 for
CIFAR, ...): a 2x2 max-pool halves the map only where it is wide enough (AlexNet: >= 4 pixels,
the others: >= 2), and an adaptive average pool caps the map the classifier sees (AlexNet 3x3,
the others 7x7), so any input side builds and the classifier's width stays bounded.

>>> from wiring_lab.model import ModelConfig, build_model
>>> net = build_model(ModelConfig(arch="tinycnn", regime="digits", num_classes=10, in_channels=1))
>>> net(torch.zeros(2, 1, 8, 8)).shape
torch.Size([2, 10])
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

# arch -> what it is (merged into wiring_lab.model.ARCHS)
CNN_ARCHS: dict[str, str] = {
    "alexnet": "AlexNet scaled to small images: five conv layers (no BN) and three FC layers with dropout",
    "tinycnn": "TinyCNN: two conv-ReLU-maxpool layers and a linear classifier",
    "handmade": "hand-tuned MNIST CNN: two blocks of 2x (conv3x3-BN-ReLU), maxpool, dropout; FC-BN-ReLU-dropout-FC",
}

# AlexNet (Krizhevsky et al. 2012) is 96-256-384-384-256 conv channels and 4096-wide FC layers on
# 224x224 inputs; here the conv widths are a quarter and the FC width an eighth, the 11x11 stride-4
# conv1 becomes a 5x5 stride-1 conv (a stride of 4 would leave a 28x28 image 7x7 after one layer)
# and the overlapping 3x3 stride-2 pools become 2x2 pools, so 28x28 ends at 3x3 as 224 ends at 6x6.
ALEXNET_CONVS = ((24, 5), (64, 5), (96, 3), (96, 3), (64, 3))  # (out channels, kernel) of conv1-conv5
ALEXNET_POOL_AFTER = (0, 1, 4)  # conv indices followed by a max-pool, as in AlexNet
ALEXNET_FC = 512
ALEXNET_SIDE = 3  # side of the map the first FC layer sees, at most
TINY_CONVS = (32, 64)
HANDMADE_BLOCKS = (32, 64)  # channels of each block's two convs
HANDMADE_FC = 256
SMALL_SIDE = 7  # TinyCNN / hand-tuned CNN: side of the map the classifier sees, at most


class BaselineCNN(nn.Module):
    """A hand-designed CNN: ``features`` then ``classifier``; no stage graphs, no edge drop."""

    def __init__(self, config: Any):
        super().__init__()
        self.config = config

    @property
    def graphs(self) -> list:
        """A hand-designed CNN has no stage graphs."""
        return []

    def set_edge_drop(self, p: float) -> None:
        """No multi-input nodes: edge drop does nothing."""

    def init_weights(self) -> None:
        """He-normal (fan-in, ReLU gain) weights and zero biases, so a deep stack without BN keeps its signal."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))  # (B, C, s, s) -> (B, classes)


def _pool_if(side: int, min_side: int, layers: list[nn.Module]) -> int:
    """Append a 2x2 max-pool when the map is at least ``min_side`` wide; the new side."""
    if side >= min_side:
        layers.append(nn.MaxPool2d(2))
        return side // 2
    return side


class AlexNet(BaselineCNN):
    """AlexNet's five conv layers (ReLU, no BN) and three FC layers (dropout 0.5), scaled down."""

    def __init__(self, config: Any):
        super().__init__(config)
        side, cin, layers = config.input_size, config.in_channels, []
        for i, (cout, kernel) in enumerate(ALEXNET_CONVS):
            layers += [nn.Conv2d(cin, cout, kernel, padding=kernel // 2), nn.ReLU(inplace=True)]
            if i in ALEXNET_POOL_AFTER:
                side = _pool_if(side, 4, layers)
            cin = cout
        side = min(side, ALEXNET_SIDE)
        layers.append(nn.AdaptiveAvgPool2d(side))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.5),
            nn.Linear(cin * side * side, ALEXNET_FC),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(ALEXNET_FC, ALEXNET_FC),
            nn.ReLU(inplace=True),
            nn.Linear(ALEXNET_FC, config.num_classes),
        )


class TinyCNN(BaselineCNN):
    """Two conv3x3-ReLU-maxpool layers and one linear classifier."""

    def __init__(self, config: Any):
        super().__init__(config)
        side, cin, layers = config.input_size, config.in_channels, []
        for cout in TINY_CONVS:
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True)]
            side = _pool_if(side, 2, layers)
            cin = cout
        side = min(side, SMALL_SIDE)
        layers.append(nn.AdaptiveAvgPool2d(side))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(cin * side * side, config.num_classes))


class HandmadeCNN(BaselineCNN):
    """The classic strong MNIST CNN: blocks of two conv3x3-BN-ReLU, a max-pool and dropout 0.25."""

    def __init__(self, config: Any):
        super().__init__(config)
        side, cin, layers = config.input_size, config.in_channels, []
        for cout in HANDMADE_BLOCKS:
            for c in (cin, cout):
                layers += [nn.Conv2d(c, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            side = _pool_if(side, 2, layers)
            layers.append(nn.Dropout(0.25))
            cin = cout
        side = min(side, SMALL_SIDE)
        layers.append(nn.AdaptiveAvgPool2d(side))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(cin * side * side, HANDMADE_FC, bias=False),
            nn.BatchNorm1d(HANDMADE_FC),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(HANDMADE_FC, config.num_classes),
        )


_BUILDERS: dict[str, Callable[[Any], BaselineCNN]] = {"alexnet": AlexNet, "tinycnn": TinyCNN, "handmade": HandmadeCNN}


def build_cnn(config: Any) -> BaselineCNN:
    """The hand-designed CNN named by ``config.arch``, He-initialised."""
    model = _BUILDERS[config.arch](config)
    model.init_weights()
    return model
