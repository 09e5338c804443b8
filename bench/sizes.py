"""Params and multiply-adds of WS(4, 0.75), N=32, over seeds 0-4, against the paper's Tables 2-3.

Run: python bench/sizes.py
"""

from __future__ import annotations

import statistics

from wiring_lab.model import ModelConfig, build_model, count_macs, count_params

PAPER = [("small", 78, "5.6 +- 0.1", "583 +- 6.2 M"), ("regular", 109, "31.9", "4.0 G"), ("regular", 154, "61.5", "7.9 G")]


def main() -> None:
    """Print a markdown table."""
    print("| regime | C | params (M), ours | paper | MACs, ours | paper |")
    print("| --- | --- | --- | --- | --- | --- |")
    for regime, c, p_paper, m_paper in PAPER:
        params, macs = [], []
        for seed in range(5):
            model = build_model(ModelConfig(regime=regime, channels=c, nodes=32, generator="ws", seed=seed))
            params.append(count_params(model) / 1e6)
            macs.append(count_macs(model))
        unit, div = ("M", 1e6) if regime == "small" else ("G", 1e9)
        m = [x / div for x in macs]
        print(
            f"| {regime} | {c} | {statistics.mean(params):.2f} +- {statistics.stdev(params):.2f} | {p_paper} | "
            f"{statistics.mean(m):.{0 if unit == 'M' else 2}f} +- {statistics.stdev(m):.{1 if unit == 'M' else 2}f} {unit} | {m_paper} |"
        )


if __name__ == "__main__":
    main()
