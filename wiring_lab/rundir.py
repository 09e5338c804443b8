"""Layout of a run directory (``wiring-lab demo``, ``wiring-lab ablate``), shared by every stage.

A run directory holds ``checkpoints/<model>.pt``, each task's result under
``results/<task>/<network>-<digest>.json`` (how a killed run resumes), tidy tables under ``tables/``
collected from them, ``study.json`` (the study, its scale and every task's outcome) and renders
under ``figures/``. Figures read only the tables (stage drawings read ``graphs.csv``); a table's
name says which command makes it.
"""

from __future__ import annotations

from pathlib import Path

# table name -> (relative path, the command that makes it)
TABLES: dict[str, tuple[str, str]] = {
    "models": ("tables/models.csv", "wiring-lab demo / wiring-lab ablate (one row per trained network)"),
    "history": ("tables/history.csv", "wiring-lab demo / wiring-lab ablate (per-epoch rows of every network)"),
    "graphs": ("tables/graphs.csv", "wiring-lab demo / wiring-lab ablate (each network's stage graphs, one row per stage)"),
    "comparison": ("tables/comparison.csv", "wiring-lab demo / wiring-lab ablate (one row per network setting: top-1 with a 95% interval over seeds, params, MACs, lr)"),
    "damage": ("tables/damage.csv", "wiring-lab damage CKPT --remove node|edge --out RUN_DIR/tables/damage.csv"),
    "attack": ("tables/attack.csv", "wiring-lab attack CKPT --out RUN_DIR/tables/attack.csv"),
    "population_metrics": (
        "tables/population_metrics.csv",
        "wiring-lab metrics --generator ws --k 4 --p 0,0.01,... --out RUN_DIR/tables/population_metrics.csv",
    ),
    "stage_metrics": ("tables/stage_metrics.csv", "wiring-lab metrics CKPT --out RUN_DIR/tables/stage_metrics.csv"),
    "node_metrics": ("tables/node_metrics.csv", "wiring-lab metrics CKPT --per node --out RUN_DIR/tables/node_metrics.csv"),
    "sensitivity": (
        "tables/sensitivity.csv",
        "wiring-lab demo / wiring-lab ablate (node removals per ablation choice and generator: mean loss and out-degree slope, 95% intervals)",
    ),
    "correlations": ("tables/correlations.csv", "wiring-lab correlate RUN_DIR/tables/damage.csv --out RUN_DIR/tables/correlations.csv"),
    "search_history": ("tables/search_history.csv", "wiring-lab search --strategy random|evolution|reinforce --out RUN_DIR (one row per trained child)"),
    "search_summary": ("tables/search_summary.csv", "wiring-lab search ... --out RUN_DIR (best and median test top-1 per strategy, with intervals)"),
}


def table_path(run_dir: str | Path, name: str) -> Path:
    """Path of table ``name`` inside ``run_dir``."""
    return Path(run_dir) / TABLES[name][0]


def checkpoint_path(run_dir: str | Path, model: str) -> Path:
    """Path of model ``model``'s checkpoint inside ``run_dir``."""
    return Path(run_dir) / "checkpoints" / f"{model}.pt"
