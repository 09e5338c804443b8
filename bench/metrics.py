"""Benchmark: graph metrics of a WS(4, 0.75), N=32 population with the three backends.

The graph-level set (degree mean/std/max, average clustering, average path length with the
component count, diameter, global efficiency) plus node betweenness, for every graph, timed per
backend in one run; the numbers of every backend are compared with the tensor backend's.

    python bench/metrics.py                       # 10,000 graphs, every available backend
    python bench/metrics.py --samples 1000 --subset 200   # quick look; slow backends on a subset

With ``--subset S`` the slow backends (networkx, graph-tool) run on the first S graphs and their
time is extrapolated linearly to the whole population (said so in the output).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

GRAPH_SET = ("avg_degree", "degree_std", "degree_max", "avg_clustering", "avg_path_length", "n_components", "diameter", "global_efficiency")
NODE_SET = ("betweenness",)


def main() -> None:
    """Parse arguments, run the backends, print seconds, ratios and differences."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--subset", type=int, default=None, help="run networkx / graph-tool on this many graphs and extrapolate")
    parser.add_argument("--repeat", type=int, default=3, help="tensor backend: best of this many runs")
    args = parser.parse_args()

    import torch

    from wiring_lab._metrics_gt import available
    from wiring_lab.metrics import metric_arrays, sample_population

    t0 = time.perf_counter()
    specs = sample_population("ws", args.nodes, args.samples, args.seed, k=4, p=0.75)
    print(f"generated {len(specs)} WS(4, 0.75) graphs, N={args.nodes}, in {time.perf_counter() - t0:.1f} s")
    print("max |diff|: largest absolute difference from the tensor backend over every graph metric and node betweenness")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}; load average before: {os.getloadavg()}")

    results: dict[str, tuple[float, float, dict, dict, int]] = {}
    best, best_cpu = float("inf"), float("inf")
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        g, nd = metric_arrays(specs, GRAPH_SET, NODE_SET, backend="tensor", device=args.device)
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
    results["tensor"] = (best, best_cpu, g, nd, len(specs))
    for backend in ("networkx", "graph-tool"):
        if backend == "graph-tool" and not available():
            print("graph-tool: not importable here, skipped")
            continue
        part = specs[: args.subset] if args.subset else specs
        t0, c0 = time.perf_counter(), time.process_time()
        g, nd = metric_arrays(part, GRAPH_SET, NODE_SET, backend=backend)
        results[backend] = (time.perf_counter() - t0, time.process_time() - c0, g, nd, len(part))
    print(f"load average after: {os.getloadavg()}")

    ref_g, ref_n = results["tensor"][2], results["tensor"][3]
    print(f"\n{'backend':<11} {'graphs':>7} {'wall s':>8} {'CPU s':>8} {'wall s/10k':>11} {'speed-up wall':>14} {'speed-up CPU':>13} {'max |diff|':>11}")
    t_tensor = results["tensor"][0] * 10_000 / len(specs)
    c_tensor = results["tensor"][1] * 10_000 / len(specs)
    for backend, (sec, cpu, g, nd, count) in results.items():
        per10k = sec * 10_000 / count
        cpu10k = cpu * 10_000 / count
        diff = max(
            [float(np.nanmax(np.abs(g[k] - ref_g[k][:count]))) if np.isfinite(g[k]).any() else 0.0 for k in GRAPH_SET]
            + [float(np.max(np.abs(np.concatenate(nd[k]) - np.concatenate(ref_n[k][:count])))) for k in NODE_SET]
        )
        nan_same = all(np.array_equal(np.isnan(g[k]), np.isnan(ref_g[k][:count])) for k in GRAPH_SET)
        note = " (extrapolated)" if count < len(specs) else ""
        print(f"{backend:<11} {count:>7} {sec:>8.2f} {cpu:>8.2f} {per10k:>11.2f} {per10k / t_tensor:>13.1f}x {cpu10k / c_tensor:>12.1f}x {diff:>11.2e}{note}{'' if nan_same else ' NaN mismatch'}")


if __name__ == "__main__":
    main()
