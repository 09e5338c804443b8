"""Peak memory of a damage sweep on the paper's small-regime network (a bound, not a test).

The network is RandWire small regime, C=78, N=32, WS(4, 0.75), with random weights; the data
are random 224x224 images. The sweep runs in this process and the peak resident set size
(``resource.getrusage(...).ru_maxrss``) is printed with the wall time; the script exits 1 if
the peak reaches ``--bound-gib``.

    python bench/memory.py                          # 32 images, a 16-variant sample, 4 GiB bound
    python bench/memory.py --images 48 --sample 0   # every node and edge variant
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from wiring_lab.checkpoint import Checkpoint
from wiring_lab.damage import DamageConfig, damage_sweep
from wiring_lab.data import Data
from wiring_lab.model import ModelConfig, build_model


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far, GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> int:
    """Run one sweep and print its peak memory; exit 1 above the bound."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=32, help="random 224x224 test images")
    ap.add_argument("--sample", type=int, default=16, help="seeded sample of node+edge variants (0: all)")
    ap.add_argument("--variant-batch", type=int, default=8)
    ap.add_argument("--bound-gib", type=float, default=4.0)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    t0 = time.perf_counter()
    config = ModelConfig(regime="small", channels=78, nodes=32, generator="ws", num_classes=1000, seed=0)
    model = build_model(config).eval()
    ckpt = Checkpoint(model, model.graphs, config, {"dataset": "random"}, path=Path("small_ws.pt"))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.images, 3, 224, 224, generator=g)
    y = torch.randint(1000, (args.images,), generator=g)
    ds = TensorDataset(x, y)
    data = Data("random", ds, ds, 1000, 3, 224, "small", [str(i) for i in range(1000)])
    before = peak_rss_gib()
    sweep = DamageConfig(
        remove="both",
        sample=args.sample or None,
        seed=0,
        batch_size=args.images,
        variant_batch=args.variant_batch,
        bootstrap=200,
    )
    df = damage_sweep(ckpt, sweep, data=data, device=args.device, progress=False)
    peak = peak_rss_gib()
    print(
        f"small regime C=78 N=32 WS(4, 0.75), random weights, {args.images} images 224x224, "
        f"{len(df) - 1} variants (variant_batch {args.variant_batch}), device {args.device}, "
        f"threads {torch.get_num_threads()}, load {os.getloadavg()[0]:.1f}"
    )
    print(f"peak RSS {peak:.2f} GiB (after building model and data {before:.2f} GiB), wall {time.perf_counter() - t0:.1f} s")
    return 0 if peak < args.bound_gib else 1


if __name__ == "__main__":
    sys.exit(main())
