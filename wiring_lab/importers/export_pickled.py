"""Export stage graphs pickled inside a checkpoint (ironjr/pytorch-randwire) as wiring-lab graph files.

Run it where torch and networkx are installed, and only on a file you trust: it **unpickles**
the checkpoint (``torch.load(weights_only=False)``), which runs whatever the file names.
wiring-lab itself never does; it points here only for files whose pickle names nothing beyond
networkx graphs, numpy scalars and torch tensors.

    python -m wiring_lab.importers.export_pickled checkpoint/LABEL/ckpt_train0.pth OUT_DIR
    python export_pickled.py CKPT OUT_DIR    # this file alone: it imports torch, networkx and json only

Writes ``OUT_DIR/stage<i>.json`` (``{"generator": "custom", "params": {}, "seed": null, "n": N,
"edges": [[u, v], ...]}``), one per graph in ``checkpoint["graphs"]``, which ``wiring-lab metrics``
and ``wiring-lab export-graphs`` read. Node labels (numpy integers after ironjr's random
relabelling) become Python ints, and nodes are renumbered 0..N-1 in
``networkx.lexicographical_topological_sort`` order (ironjr's own traversal order, so new id i
is ``layer.nodes[i]`` of its network): every edge then points from a lower to a higher id, as in
wiring-lab's DAGs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import networkx as nx
import torch


def export(ckpt: str | Path, out: str | Path, key: str = "graphs") -> list[Path]:
    """Write ``checkpoint[key]``'s DiGraphs as ``out/stage<i>.json``; returns the paths."""
    c = torch.load(ckpt, map_location="cpu", weights_only=False)  # the caller vouches for this file
    graphs = c.get(key) if isinstance(c, dict) else None
    if not isinstance(graphs, (list, tuple)) or not graphs or not all(isinstance(g, nx.DiGraph) for g in graphs):
        raise SystemExit(f"{ckpt}: no list of networkx DiGraphs under {key!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, g in enumerate(graphs):
        if not nx.is_directed_acyclic_graph(g):
            raise SystemExit(f"{ckpt}: graph {i} has a cycle; it is not a stage DAG")
        order = list(nx.lexicographical_topological_sort(g, key=int))
        new = {v: j for j, v in enumerate(order)}
        edges = sorted([new[u], new[v]] for u, v in g.edges)
        path = out / f"stage{i}.json"
        doc = {"generator": "custom", "params": {}, "seed": None, "n": len(order), "edges": edges}
        path.write_text(json.dumps(doc) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    """Command line: ``CKPT OUT_DIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit("usage: python -m wiring_lab.importers.export_pickled CKPT OUT_DIR")
    for path in export(args[0], args[1]):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
