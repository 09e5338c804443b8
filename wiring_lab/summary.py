"""Summaries of networks and checkpoints: a dict for JSON output and a text form for the terminal."""

from __future__ import annotations

import json
from typing import Any, Sequence

from wiring_lab.generators import param_columns
from wiring_lab.graphs import GraphSpec, setting_label, stage_dag
from wiring_lab.model import REGIMES, ModelConfig, RandWire, count_macs, count_params


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
    imported = (metadata or {}).get("imported_from")
    size = cfg.input_size
    if isinstance(imported, dict):  # a foreign network: its code's input size (None: unknown), no network seed
        size = imported.get("input_size") if isinstance(imported.get("input_size"), int) else None
    out: dict[str, Any] = {
        "config": cfg.to_dict(),
        "params": count_params(model),
        "macs": count_macs(model, input_size=size or cfg.input_size),
        "input_size": size,
        "seed": None if isinstance(imported, dict) else cfg.seed,
        "stages": stage_rows(model.graphs, model),
    }
    if isinstance(imported, dict):
        out["imported_from"] = imported
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
    size, seed = s.get("input_size", 0), s.get("seed", c["seed"])
    size_text = f"{size}x{size}" if size else f"input size unknown, MACs at {REGIMES[c['regime']][0]}x{REGIMES[c['regime']][0]}"
    origin = f", imported from {s['imported_from'].get('format')}" if isinstance(s.get("imported_from"), dict) else ""
    arch = c.get("arch", "randwire")
    network = (
        f"{arch} (hand-designed CNN, no stage graphs), regime {c['regime']} ({size_text})"
        if arch not in ("randwire", "plain")
        else f"{c['generator'].upper()}({params}), regime {c['regime']} ({size_text}), "
        f"C={c['channels']}, N={c['nodes']}, node op {c['node_op']}, seed {'unknown' if seed is None else seed}{origin}"
    )
    lines = [
        f"network   {network}",
        f"size      {s['params']:,} params ({_num(s['params'])}), {s['macs']:,} multiply-adds ({_num(s['macs'])})",
    ]
    if s["stages"]:
        lines.append("stages    stage  nodes  edges  in-fed  out-fed  channels  seed")
    for r in s["stages"]:
        lines.append(
            f"          {r['stage']:>5}  {r['n']:>5}  {r['edges']:>5}  {r['input_fed']:>6}  {r['output_fed']:>7}"
            f"  {r.get('channels', ''):>8}  {'unknown' if r['seed'] is None else r['seed']}"
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
            # monitored split: the validation hold-out (older checkpoints: the test split; none: train only)
            mon = "val" if "val_loss" in hist[0] else "test" if "test_loss" in hist[0] else None
            head = f"  {mon + '_loss':>9}  {mon + '_top1':>9}" if mon else ""
            lines.append(f"history   epoch  train_loss  train_top1{head}  seconds")
            for h in hist:
                mid = f"  {h[mon + '_loss']:>9.4f}  {h[mon + '_top1']:>9.2f}" if mon else ""
                lines.append(f"          {h['epoch']:>5}  {h['train_loss']:>10.4f}  {h['train_top1']:>10.2f}{mid}  {h['seconds']:>7.1f}")
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
        "setting": setting_label(cfg.generator, cfg.params) if arch == "randwire" else arch if not model.graphs else f"{arch}({cfg.nodes})",
        **{name: cfg.params.get(name) for name in param_columns()},  # p, k, m, then any registered generator's
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
        "lr": (metadata.get("train_config") or {}).get("lr"),  # peak lr of the recipe (the one used, after any fallback)
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
