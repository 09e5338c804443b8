"""wiring-lab: study trained randomly wired neural networks (RandWire, Xie et al. 2019).

The names people type, one import away::

    import wiring_lab as wl
    ckpt = wl.load_checkpoint("runs/demo/checkpoints/ws_s0.pt")
    df = wl.damage_sweep(ckpt, wl.DamageConfig(), data=wl.load_dataset("digits"))

Each name is imported from its module on first use (PEP 562), so ``import wiring_lab`` stays
fast (``import torch`` alone takes over a second). No name here equals a submodule's name: the
import system would replace it by that module the first time the submodule is imported.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    # graphs
    "GraphSpec": "graphs",
    "generate_graph": "graphs",
    "list_generators": "graphs",
    "register_generator": "graphs",
    "Generator": "graphs",
    "Param": "graphs",
    "get_generator": "graphs",
    "save_graph": "graphs",
    "load_graph": "graphs",
    # networks
    "ModelConfig": "model",
    "build_model": "model",
    "list_node_ops": "node_ops",
    "register_node_op": "node_ops",
    # data, training, checkpoints
    "load_dataset": "data",
    "TrainConfig": "recipe",
    "train_network": "train",
    "train_with_lr_fallback": "train",
    "Checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "read_graphs": "checkpoint",
    "load_checkpoint": "loading",
    "convert_checkpoint": "importers",
    # damage
    "DamageConfig": "damage",
    "damage_sweep": "damage",
    "AttackConfig": "attack",
    "attack_curve": "attack",
    # graph metrics and statistics
    "graph_metrics": "metrics",
    "node_metrics": "metrics",
    "PopulationConfig": "metrics",
    "population_metrics": "metrics",
    "CorrelateConfig": "correlation",
    "correlate": "correlation",
    "cluster_bootstrap_ci": "resampling",
    "Population": "populations",
    "CLSampleConfig": "cl_sampling",
    "sample_cl": "cl_sampling",
    "compare_networks": "compare",
    "sensitivity_table": "sensitivity",
    # studies, figures, reports
    "load_study": "study",
    "run_study": "study",
    "run_demo": "demo",
    "render_figures": "figures",
    "write_report": "report",
}

__all__ = sorted(_EXPORTS)


def _lazy_exports(package: str, exports: dict[str, str], namespace: dict[str, Any], first: tuple[str, ...] = ()):
    """``(__getattr__, __dir__)`` of a package whose public names are imported from their modules
    (``exports``: name -> module) on first use (PEP 562); ``first``: modules imported before any."""

    def __getattr__(name: str) -> Any:
        """Import a public name from its module the first time it is asked for."""
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        for m in first:
            importlib.import_module(m)
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__


__getattr__, __dir__ = _lazy_exports("wiring_lab", _EXPORTS, globals())
