"""Benchmark of the damage engine against naive re-evaluation (not a test).

For each network, the full node + edge sweep (or a seeded sample of it, ``--sample``) is timed
with the cached engine and with ``naive=True`` in the same run, the two tables are compared, and
the ideal speedup is computed as naive multiply-adds divided by the multiply-adds the engine
must recompute (the removed element's surviving descendants in its stage, the later stages and
the head), with per-module counts from ``torch.utils.flop_counter`` on one image.

    python bench/damage.py                 # demo network + small regime (C=78, 224x224)
    python bench/damage.py --quick         # fewer images and variants for the small regime
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
from torch.utils.data import TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from wiring_lab.checkpoint import Checkpoint
from wiring_lab.damage import DamageConfig, damage_sweep, enumerate_variants
from wiring_lab.data import Data, load_dataset
from wiring_lab.model import ModelConfig, build_model


def module_macs(model: torch.nn.Module, size: int, channels: int) -> dict[str, int]:
    """Multiply-adds of one image per module name (``RandWire.stages.0.nodes.3`` ...)."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, channels, size, size))
    return {name: sum(ops.values()) // 2 for name, ops in counter.get_flop_counts().items()}


def ideal_speedup(ckpt: Checkpoint, config: DamageConfig, macs: dict[str, int]) -> tuple[float, int, int]:
    """(ideal speedup, naive MACs, recomputed MACs) over the variants of ``config``, per image."""
    total = macs["RandWire"]
    n_stages = len(ckpt.model.stages)
    stage = [macs.get(f"RandWire.stages.{s}", 0) for s in range(n_stages)]
    head = macs.get("RandWire.head", 0) + macs.get("RandWire.fc", 0)
    naive = recomputed = 0
    for v in enumerate_variants(ckpt, config):
        d = v.damage[v.stage]
        naive += total
        recomputed += sum(macs.get(f"RandWire.stages.{v.stage}.nodes.{u}", 0) for u in d.recompute)
        recomputed += sum(stage[v.stage + 1 :]) + head
    return naive / recomputed, naive, recomputed


def random_data(n: int, size: int, classes: int, seed: int = 0) -> Data:
    """Random normal images with random labels (timing only)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, size, size, generator=g)
    y = torch.randint(classes, (n,), generator=g)
    ds = TensorDataset(x, y)
    return Data("random", ds, ds, classes, 3, size, "small", [str(i) for i in range(classes)])


def bench_one(label: str, ckpt: Checkpoint, data: Data, config: DamageConfig, device: str) -> dict:
    """Time the engine and the naive sweep; compare their tables; compute the ideal speedup."""
    macs = module_macs(ckpt.model, data.image_size, data.in_channels)
    ideal, naive_macs, rec_macs = ideal_speedup(ckpt, config, macs)
    times, tables = {}, {}
    for mode in ("engine", "naive"):
        cfg = DamageConfig(**{**config.__dict__, "naive": mode == "naive"})
        t0 = time.perf_counter()
        df = damage_sweep(ckpt, cfg, data=data, device=device, progress=False)
        times[mode] = (time.perf_counter() - t0, float(df.loc[df["kind"] != "intact", "wall_s"].sum()))
        tables[mode] = df
    a, b = tables["engine"], tables["naive"]
    same = bool((a["top1"] == b["top1"]).all() and (a["loss"] == b["loss"]).all())
    speed = times["naive"][1] / times["engine"][1]
    return {
        "network": label,
        "variants": len(a) - 1,
        "images": int(a["n_images"].iloc[0]),
        "engine_s": times["engine"][1],
        "naive_s": times["naive"][1],
        "speedup": speed,
        "ideal": ideal,
        "of_ideal_%": 100 * speed / ideal,
        "GMAC_naive": naive_macs * a["n_images"].iloc[0] / 1e9,
        "GMAC_recomputed": rec_macs * a["n_images"].iloc[0] / 1e9,
        "tables_equal": same,
    }


def main() -> None:
    """Run the benchmark and print one row per network."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small regime on 8 images and a 24-variant sample")
    ap.add_argument("--images", type=int, default=32, help="small regime: random 224x224 images")
    ap.add_argument("--sample", type=int, default=None, help="small regime: seeded sample of variants (default: all)")
    ap.add_argument("--variant-batch", type=int, default=8, help="engine: variants stacked per later-stage pass")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--skip-small", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    rows = []

    digits = load_dataset("digits")
    demo_cfg = ModelConfig(regime="digits", channels=16, nodes=16, head_channels=256, num_classes=10, in_channels=1, seed=0)
    demo = build_model(demo_cfg).eval()
    ckpt = Checkpoint(demo, demo.graphs, demo_cfg, {"dataset": "digits"}, path=Path("demo_ws.pt"))
    cfg = DamageConfig(remove="both", seed=0, variant_batch=args.variant_batch)
    rows.append(bench_one("demo digits C=16 N=16", ckpt, digits, cfg, args.device))
    print(rows[-1], flush=True)

    if not args.skip_small:
        images = 8 if args.quick else args.images
        sample = 24 if args.quick and args.sample is None else args.sample
        small_cfg = ModelConfig(regime="small", channels=78, nodes=32, generator="ws", num_classes=1000, seed=0)
        small = build_model(small_cfg).eval()
        ckpt = Checkpoint(small, small.graphs, small_cfg, {"dataset": "random"}, path=Path("small_ws.pt"))
        cfg = DamageConfig(remove="both", seed=0, sample=sample, batch_size=images, variant_batch=args.variant_batch)
        rows.append(bench_one(f"small C=78 N=32 224px, {images} images", ckpt, random_data(images, 224, 1000), cfg, args.device))
        print(rows[-1], flush=True)

    import pandas as pd

    print(f"\nthreads {torch.get_num_threads()}, load average {os.getloadavg()}")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
