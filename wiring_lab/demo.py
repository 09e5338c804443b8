"""The one-command demo on the embedded digits data set."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from wiring_lab.checkpoint import Checkpoint
from wiring_lab.data import load_dataset
from wiring_lab.train import TrainConfig, model_config_for, train


@dataclass(frozen=True)
class DemoConfig:
    """Size of the demo networks (small enough to train in seconds on a laptop CPU)."""

    channels: int = 16  # C
    nodes: int = 16  # N per stage
    head_channels: int = 256
    epochs: int = 15
    seed: int = 0


def run_demo(out: str | Path, config: DemoConfig = DemoConfig(), echo: Callable[[str], None] = print) -> dict[str, Checkpoint]:
    """Train the demo's WS(4, 0.75) network on digits into ``out``; finished work is reused."""
    out = Path(out)
    data = load_dataset("digits")
    mc = model_config_for(
        data, channels=config.channels, nodes=config.nodes, head_channels=config.head_channels, generator="ws", seed=config.seed
    )
    tc = TrainConfig(dataset="digits", epochs=config.epochs, seed=config.seed)
    path = out / "checkpoints" / "ws.pt"
    echo(f"training WS(4, 0.75) C={config.channels} N={config.nodes} on digits -> {path}")
    ckpt = train(mc, tc, path, device="cpu", resume=True, data=data, progress=False)
    return {"ws": ckpt}
