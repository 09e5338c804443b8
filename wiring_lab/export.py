"""Export stage graphs for other tools: JSON (networkx node-link), GraphML and Graphviz DOT.

Each stage is written as its DAG with the input node (id ``n``) and the output node (id
``n + 1``), exactly :meth:`GraphSpec.to_dag`: node attribute ``role`` is ``node``, ``input`` or
``output``; graph attributes are ``generator``, ``params`` (JSON text in GraphML/DOT, where
attribute values must be scalars), ``seed`` (``-1`` when unknown, in GraphML) and ``n``.

>>> from wiring_lab.graphs import generate_graph
>>> print(graph_to_dot(generate_graph("chain", 2, seed=0)).splitlines()[0])
digraph "chain" {
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import networkx as nx

from wiring_lab._io import UserError, atomic_path, atomic_write_text
from wiring_lab.graphs import GraphSpec

EXPORT_FORMATS = {"json": ".json", "graphml": ".graphml", "dot": ".dot"}


def _dag(spec: GraphSpec) -> nx.DiGraph:
    """The stage DAG with plain attributes (``n`` added)."""
    g = spec.to_dag()
    g.graph["n"] = spec.n
    return g


def graph_to_node_link(spec: GraphSpec) -> dict:
    """networkx node-link data of the stage DAG (``edges`` key, as networkx 3.4+ writes it)."""
    try:
        return nx.node_link_data(_dag(spec), edges="edges")
    except TypeError:  # networkx < 3.4 names the keyword ``link``
        return nx.node_link_data(_dag(spec), link="edges")


def graph_to_graphml(spec: GraphSpec, path: str | Path) -> Path:
    """Write the stage DAG as GraphML (networkx's writer), atomically."""
    g = _dag(spec)
    g.graph["params"] = json.dumps(g.graph.get("params", {}), sort_keys=True)
    g.graph["seed"] = -1 if g.graph.get("seed") is None else int(g.graph["seed"])
    path = Path(path)
    with atomic_path(path) as tmp:
        nx.write_graphml(g, tmp)
    return path


def _dot_id(value: object) -> str:
    """A double-quoted DOT identifier."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def graph_to_dot(spec: GraphSpec) -> str:
    """Graphviz DOT text of the stage DAG (written directly: no pydot/pygraphviz needed)."""
    g = _dag(spec)
    lines = [f"digraph {_dot_id(spec.generator)} {{"]
    for key in ("generator", "n", "seed"):
        lines.append(f"  {key}={_dot_id(g.graph.get(key))};")
    lines.append(f"  params={_dot_id(json.dumps(spec.params, sort_keys=True))};")
    shapes = {"input": "invtriangle", "output": "triangle", "node": "circle"}
    for v, data in g.nodes(data=True):
        lines.append(f"  {v} [role={_dot_id(data['role'])}, shape={shapes[data['role']]}];")
    for u, v in g.edges:
        lines.append(f"  {u} -> {v};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def export_graph(spec: GraphSpec, path: str | Path, fmt: str | None = None) -> Path:
    """Write one stage graph as ``json`` | ``graphml`` | ``dot`` (default: from the file's extension)."""
    path = Path(path)
    fmt = fmt or next((k for k, ext in EXPORT_FORMATS.items() if path.suffix.lower() == ext), None)
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"{path}: cannot tell the export format; choose one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "json":
        return atomic_write_text(path, json.dumps(graph_to_node_link(spec), indent=1, sort_keys=True) + "\n")
    if fmt == "graphml":
        return graph_to_graphml(spec, path)
    return atomic_write_text(path, graph_to_dot(spec))


def export_graphs(specs: Sequence[GraphSpec], out_dir: str | Path, fmt: str = "json", stem: str = "stage") -> list[Path]:
    """Write every stage graph to ``out_dir/<stem><i>.<ext>`` (stages numbered from 0)."""
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    out_dir = Path(out_dir)
    return [export_graph(s, out_dir / f"{stem}{i}{EXPORT_FORMATS[fmt]}", fmt) for i, s in enumerate(specs)]
