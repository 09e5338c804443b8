"""Summaries of networks and checkpoints: a dict for JSON output and a text form for the terminal."""

from __future__ import annotations

import json
from typing import Any, Sequence

from wiring_lab.graphs import GraphSpec, setting_label, stage_dag
from wiring_lab.model import ModelConfig, RandWire, count_macs, count_params


def stage_rows(graphs: Sequence[GraphSpec], model: RandWire | None = None) -> list[dict[str, Any]]:
    """One row per stage: graph, seed, node/edge counts, input- and output-fed nodes, channels."""
    rows = []
    for i, g in enumerate(graphs):
        dag = stage_dag(g)
        row = {
            "stage": i,
            "generator": g.generator,
            "params": dict(g.params),
            "seed": g.seed,
            "n": g.n,
            "edges": len(g.edges),
            "input_fed": len(dag.input_fed),
            "output_fed": len(dag.output_fed),
            "edge_list": [list(e) for e in g.edges],
        }
        if model is not None:
            row["channels"] = model.stages[i].cout
        rows.append(row)
    return rows


def model_summary(model: RandWire, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """Config, params, multiply-adds, stage graphs and (for a checkpoint) accuracy and history."""
    cfg: ModelConfig = model.config
    out: dict[str, Any] = {
        "config": cfg.to_dict(),
        "params": count_params(model),
        "macs": count_macs(model),
        "input_size": cfg.input_size,
        "stages": stage_rows(model.graphs, model),
    }
    if metadata:
        out["dataset"] = metadata.get("dataset")
        out["epochs"] = metadata.get("epochs_done", metadata.get("epochs"))
        out["final"] = metadata.get("final")
        out["history"] = metadata.get("history", [])
        out["train_config"] = metadata.get("train_config")
        out["versions"] = metadata.get("versions")
    return out


def _num(x: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(x) >= div:
            return f"{x / div:.2f} {unit}"
    return str(x)


def format_summary(s: dict[str, Any]) -> str:
    """Human-readable text of :func:`model_summary`."""
    c = s["config"]
    params = ", ".join(f"{k}={v}" for k, v in c["params"].items())
    lines = [
        f"network   {c['generator'].upper()}({params}), regime {c['regime']} ({s['input_size']}x{s['input_size']}), "
        f"C={c['channels']}, N={c['nodes']}, node op {c['node_op']}, seed {c['seed']}",
        f"size      {s['params']:,} params ({_num(s['params'])}), {s['macs']:,} multiply-adds ({_num(s['macs'])})",
        "stages    stage  nodes  edges  in-fed  out-fed  channels  seed",
    ]
    for r in s["stages"]:
        lines.append(
            f"          {r['stage']:>5}  {r['n']:>5}  {r['edges']:>5}  {r['input_fed']:>6}  {r['output_fed']:>7}"
            f"  {r.get('channels', ''):>8}  {r['seed']}"
        )
    if s.get("dataset"):
        final = s.get("final") or {}
        top5 = final.get("test_top5")
        lines.append(
            f"trained   {s['dataset']}, {s.get('epochs')} epochs: test top-1 {final.get('test_top1', float('nan')):.2f}%"
            + (f", top-5 {top5:.2f}%" if top5 is not None else "")
            + f", loss {final.get('test_loss', float('nan')):.4f}"
        )
        hist = s.get("history") or []
        if hist:
            lines.append("history   epoch  train_loss  train_top1  test_loss  test_top1  seconds")
            for h in hist:
                lines.append(
                    f"          {h['epoch']:>5}  {h['train_loss']:>10.4f}  {h['train_top1']:>10.2f}"
                    f"  {h['test_loss']:>9.4f}  {h['test_top1']:>9.2f}  {h['seconds']:>7.1f}"
                )
    return "\n".join(lines)


def model_record(name: str, model: RandWire, metadata: dict[str, Any], checkpoint: str | None = None) -> dict[str, Any]:
    """One row of ``tables/models.csv``: a trained network's setting, size and final accuracy."""
    cfg = model.config
    final = metadata.get("final") or {}
    info = metadata.get("info") or {}
    arch = getattr(cfg, "arch", "randwire")
    return {
        "model": name,
        "generator": cfg.generator if arch == "randwire" else arch,  # a baseline CNN is its own "generator"
        "setting": setting_label(cfg.generator, cfg.params) if arch == "randwire" else f"{arch}({cfg.nodes})",
        "p": cfg.params.get("p"),
        "k": cfg.params.get("k"),
        "m": cfg.params.get("m"),
        "seed": cfg.seed,
        "node_op": cfg.node_op,
        "regime": cfg.regime,
        "channels": cfg.channels,
        "nodes": cfg.nodes,
        "dataset": metadata.get("dataset"),
        "epochs": metadata.get("epochs_done", metadata.get("epochs")),
        "top1": final.get("test_top1"),
        "top5": final.get("test_top5"),
        "loss": final.get("test_loss"),
        "n_params": info.get("params", count_params(model)),
        "macs": info.get("macs"),
        "checkpoint": checkpoint,
    }


def graph_records(name: str, graphs: Sequence[GraphSpec]) -> list[dict[str, Any]]:
    """Rows of ``tables/graphs.csv``: one per stage, the whole graph as ``GraphSpec.to_dict()`` JSON in ``graph``."""
    return [
        {"model": name, "stage": i, "generator": g.generator, "n": g.n, "edges": len(g.edges), "graph": json.dumps(g.to_dict(), sort_keys=True)}
        for i, g in enumerate(graphs)
    ]


def read_graph_records(df: Any) -> dict[str, list[GraphSpec]]:
    """Inverse of :func:`graph_records` over a whole table: model -> its stage graphs in stage order."""
    out: dict[str, list[GraphSpec]] = {}
    for row in df.sort_values(["model", "stage"], kind="stable").to_dict("records"):
        out.setdefault(str(row["model"]), []).append(GraphSpec.from_dict(json.loads(row["graph"])))
    return out


def history_records(name: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of ``tables/history.csv``: one per epoch of a network's training."""
    return [{"model": name, **row} for row in metadata.get("history", [])]
