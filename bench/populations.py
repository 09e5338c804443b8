"""Benchmark: the whole ``wiring-lab metrics`` command on WS(4, 0.75), N=32 populations of growing size.

Each run is a fresh process under ``/usr/bin/time -v`` (start-up, generation, every graph-level
metric, the summary; ``--out`` adds the streamed table), so the figures are what a user waits
for. Wall time, CPU time (user + system over all threads: what the run would need on idle cores)
and peak resident memory per backend, side by side, with the load average before each run (the
machine is shared: read the wall times with it).

    python bench/populations.py                                   # 1e3 .. 1e6, every backend
    python bench/populations.py --sizes 1000,100000 --budget 60   # quick look

The slow backends (networkx, graph-tool) stop at the first size whose time, projected linearly
from the previous size, exceeds ``--budget`` seconds; the projection is printed instead.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path


def run_once(samples: int, backend: str, out: str | None, timeout: float) -> tuple[float, float, float] | None:
    """Wall seconds, CPU seconds (user + system, all threads) and peak RSS (MiB) of one ``metrics``
    command; None if it ran past ``timeout``."""
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "wiring_lab", "metrics", "-g", "ws", "--k", "4", "--p", "0.75", "-n", "32",
           "--samples", str(samples), "--backend", backend, "--no-progress"]  # fmt: skip
    if out:
        cmd += ["--out", out]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        raise SystemExit(f"{backend} {samples}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", proc.stderr).group(1)
    seconds = sum(float(x) * 60**i for i, x in enumerate(reversed(wall.split(":"))))
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): (\S+)", proc.stderr).group(1)) for kind in ("User", "System"))
    return seconds, cpu, rss_kb / 1024


def main() -> None:
    """Run every (backend, size), print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--backends", default="tensor,networkx,graph-tool")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds a slow backend may take for one size")
    parser.add_argument("--out", choices=("none", "parquet", "csv"), default="none", help="also stream the per-graph table")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = args.backends.split(",")
    if "graph-tool" in backends:
        from wiring_lab._metrics_gt import available

        if not available():
            print("graph-tool: not importable here, skipped")
            backends.remove("graph-tool")
    print(f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}; WS(4, 0.75), N=32, every graph-level metric; out={args.out}")
    results: dict[tuple[str, int], str] = {}
    seconds: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            previous = None
            for n in sizes:
                if backend != "tensor" and previous is not None:
                    projected = previous[1] * n / previous[0]
                    if projected > args.budget:
                        results[backend, n] = f"~{projected:,.0f} s (projected)"
                        seconds[backend, n] = projected
                        continue
                load = os.getloadavg()[0]
                out = str(Path(tmp) / f"rows.{args.out}") if args.out != "none" else None
                got = run_once(n, backend, out, timeout=args.budget * 1.5 if backend != "tensor" else 3600)
                if got is None:
                    results[backend, n] = f"> {args.budget * 1.5:.0f} s"
                    continue
                wall, cpu, rss = got
                previous = (n, wall)
                seconds[backend, n] = wall
                results[backend, n] = f"{wall:7.1f} s ({cpu:6.1f} CPU s) {rss:5.0f} MiB, load {load:4.1f}"
                print(f"{backend:<10} {n:>9,}: {results[backend, n]}", flush=True)
    width = 44
    print(f"\n{'graphs':>9} " + " ".join(f"{b:<{width}}" for b in backends) + " tensor speed-up")
    for n in sizes:
        cells = " ".join(f"{results.get((b, n), '-'):<{width}}" for b in backends)
        ups = [f"{b} {seconds[b, n] / seconds['tensor', n]:.0f}x" for b in backends if b != "tensor" and (b, n) in seconds and ("tensor", n) in seconds]
        print(f"{n:>9,} {cells} {', '.join(ups)}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
