"""One training epoch of each network of ablations/mnist_baselines.yaml on a Fashion-MNIST subset.

Sizes the study's paper scale: prints seconds per epoch (train + test pass) and per 1,000
images. Usage: python bench/baselines_epoch.py [--images 2000] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from wiring_lab.data import load_dataset
from wiring_lab.study import _first
from wiring_lab.train import TrainConfig, model_config_for, train_network

NETWORKS = {
    "alexnet": {"arch": "alexnet", "generator": "chain"},
    "tinycnn": {"arch": "tinycnn", "generator": "chain"},
    "handmade": {"arch": "handmade", "generator": "chain"},
    "ws_k4_p0.75": {"generator": "ws", "params": {"k": 4, "p": 0.75}, "channels": 32, "nodes": 32, "head_channels": 512},
}


def main() -> None:
    """Time one epoch of each network; print a table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=2000, help="first N training and N test images")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", default=",".join(NETWORKS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset("fashion-mnist")
    data = replace(data, train=_first(data.train, args.images), test=_first(data.test, args.images))
    print(f"load average {os.getloadavg()[0]:.1f}, {args.threads} thread(s), {args.images} train + {args.images} test images")
    print("network        seconds  s/1000 img  test top-1")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only.split(","):
            mc = model_config_for(data, **NETWORKS[name])
            t0 = time.perf_counter()
            ckpt = train_network(mc, TrainConfig(dataset="fashion-mnist", epochs=1), Path(tmp) / f"{name}.pt", device="cpu", data=data, progress=False)
            s = time.perf_counter() - t0
            print(f"{name:<14} {s:7.1f}  {1000 * s / args.images:10.2f}  {ckpt.metadata['final']['test_top1']:9.2f}", flush=True)


if __name__ == "__main__":
    main()
