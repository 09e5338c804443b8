"""Re-analyse a finished run directory with the current statistics, without re-running a task.

``wiring-lab reanalyse RUN_DIR`` reads ``RUN_DIR/study.json`` (the study file it names
and its scale), recomputes ``tables/sensitivity.csv`` from ``tables/damage.csv``, redraws the
study's figures from the tables and rewrites ``report.html``. The trained networks and the damage,
attack and metric tables stay as they are: this is how the committed results under
``docs/results/`` follow a change of the statistics (issue 23) while every measured number stays
the measured one.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

from wiring_lab._io import UserError, read_table, write_table
from wiring_lab.figures import render_figures
from wiring_lab.report import write_report
from wiring_lab.rundir import table_path
from wiring_lab.sensitivity import sensitivity_table
from wiring_lab.study import effective_config, load_study


def reanalyse(run_dir: str | Path, study_file: str | Path | None = None, echo: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Recompute the sensitivity table, the figures and the report of ``run_dir`` from its tables;
    ``study_file`` overrides the path recorded in its ``study.json``. Returns what was written."""
    echo = echo or logging.getLogger(__name__).info
    run_dir = Path(run_dir)
    try:
        meta = json.loads((run_dir / "study.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"{run_dir}: no readable study.json ({type(e).__name__}); is it a run directory of wiring-lab ablate?") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("study"), dict) or not isinstance(meta.get("scale"), str):
        raise UserError(f"{run_dir}/study.json: not a study record (needs study and scale)")
    study = load_study(study_file or meta["study"].get("path", ""))
    scale = meta["scale"]
    written: dict[str, Any] = {}
    damage_path = table_path(run_dir, "damage")
    if damage_path.is_file():
        written["sensitivity"] = write_table(sensitivity_table(read_table(damage_path)), table_path(run_dir, "sensitivity"))
        echo(f"wrote {written['sensitivity']}")
    outcomes = render_figures(run_dir, list(study.figures), echo=echo) if study.figures else []
    models = table_path(run_dir, "models")
    record = {**effective_config(study, scale), "networks": list(read_table(models)["model"]) if models.is_file() else [],
              "tasks": len(meta.get("tasks", []))}
    written["report"] = write_report(run_dir, config=record, outcomes=outcomes, title=f"{study.name} ({scale})")
    echo(f"wrote {written['report']}")
    return written
