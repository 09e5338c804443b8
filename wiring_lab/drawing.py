"""Drawings of stage DAGs (RandWire Fig. 4): layered left to right by depth, input/output marked."""

from __future__ import annotations

from typing import Any

import networkx as nx

from wiring_lab._plotting import axes_grid, styled
from wiring_lab.graphs import GraphSpec, stage_dag


def dag_layers(spec: GraphSpec) -> dict[int, int]:
    """Depth of every node of the DAG with input/output nodes: longest path from the input node."""
    dag = stage_dag(spec)
    depth = {dag.input_id: 0}
    for v in range(spec.n):  # index order is topological
        depth[v] = 1 + max((depth[u] for u in dag.preds[v]), default=0)
    depth[dag.output_id] = 1 + max(depth[v] for v in dag.output_fed)
    return depth


@styled
def draw_stage(spec: GraphSpec, ax: Any = None, title: str | None = None, node_size: float = 60.0):
    """Draw one stage DAG on ``ax`` (a new pyplot-free figure if None); returns the figure."""
    g = spec.to_dag()
    dag = stage_dag(spec)
    depth = dag_layers(spec)
    width = min(14.0, 2.0 + 0.45 * (depth[dag.output_id] + 1))
    fig, ((ax,),) = axes_grid(1, 1, ax, figsize=(max(4.0, width), 3.2), what="stage drawing")
    nx.set_node_attributes(g, depth, "layer")
    pos = nx.multipartite_layout(g, subset_key="layer")
    inner = list(range(spec.n))
    io = [dag.input_id, dag.output_id]
    nx.draw_networkx_edges(g, pos, ax=ax, arrows=True, arrowsize=6, width=0.6, edge_color="#8c8c8c", node_size=node_size)
    nx.draw_networkx_nodes(g, pos, nodelist=inner, ax=ax, node_size=node_size, node_color="#4c72b0", linewidths=0)
    nx.draw_networkx_nodes(g, pos, nodelist=io, ax=ax, node_size=node_size * 2.5, node_color="#dd8452", node_shape="s")
    nx.draw_networkx_labels(g, pos, labels={dag.input_id: "in", dag.output_id: "out"}, ax=ax, font_size=7)
    params = ", ".join(f"{k}={v}" for k, v in spec.params.items())
    ax.set_title(title or f"{spec.generator.upper()}({params}), N={spec.n}, seed {spec.seed}", fontsize=9)
    ax.set_axis_off()
    return fig
