"""The one-command demo on the embedded digits data set: train, damage, measure, correlate, draw, report.

The demo is a built-in study file, ``wiring_lab/studies/demo.yaml`` (its ``demo`` and
``tiny`` scales are the demo's sizes, so ``wiring-lab ablate demo`` runs the same work), run by :func:`wiring_lab.study.run_study` like any study:
every training and analysis is a task whose result file names its settings, so a re-run reuses
finished work and redoes only what changed, and ``executor="ray"`` runs it on a Ray cluster.
``run_demo(out)`` fills a run directory (:mod:`wiring_lab.rundir`): ``checkpoints/``,
``results/``, ``tables/``, ``figures/``, ``study.json``, ``timings.json`` and ``report.html``,
and ends by saying the findings (:func:`wiring_lab.sensitivity.findings`) and the report's path.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from tqdm.auto import tqdm

from wiring_lab._io import UserError, all_or_none, read_table, resolve_device, write_json
from wiring_lab._limits import MAX_STUDY_TRAININGS
from wiring_lab.executor import TaskOutcome
from wiring_lab.figures import render_figures
from wiring_lab.report import write_report
from wiring_lab.rundir import checkpoint_path, table_path
from wiring_lab.sensitivity import findings
from wiring_lab.study import (
    Study,
    builtin_study,
    effective_config,
    expand_study,
    load_study,
    run_study,
)

TITLE = "wiring-lab demo: randomly wired networks on digits"


def demo_study(size: str = "demo", seeds: int | None = None, epochs: int | None = None, threads: int | None = None) -> Study:
    """The demo study with its ``size`` scale's seeds (networks 0..seeds-1 per setting), epochs
    or torch threads per task overridden."""
    for name, v in (("--seeds", seeds), ("--epochs", epochs), ("--threads", threads)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise UserError(f"{name} must be a positive integer (got {v!r})")
    if seeds is not None and seeds > MAX_STUDY_TRAININGS:  # before a billion-entry tuple is made
        raise UserError(f"--seeds {seeds:,} asks for more networks than the limit of {MAX_STUDY_TRAININGS:,}")
    study = load_study(builtin_study("demo"))
    scale = _scale(study, size)
    if seeds is not None:
        scale = replace(scale, seeds=tuple(range(seeds)))
    if epochs is not None:
        scale = replace(scale, train=replace(scale.train, epochs=epochs))
    if threads is not None:
        scale = replace(scale, threads=threads)
    return replace(study, scales={**study.scales, size: scale})


def _scale(study: Study, size: str):
    """The scale of the demo study that is demo size ``size`` (the study file's scales are the sizes)."""
    if size not in study.scales:
        raise UserError(f"unknown demo size {size!r}; choose one of {', '.join(study.scales)}")
    return study.scales[size]


def _say(outcome: TaskOutcome) -> tuple[str, str, str]:
    """(step, status, detail) of one task, as the demo reports it: ``train er_s0``, ``trained``, ``top-1 95.00%``."""
    step = outcome.key.replace(":", " ")
    if outcome.status == "failed":
        return step, "failed", outcome.error or ""
    status = "reused" if outcome.status == "skipped" else "trained" if step.startswith("train ") else "computed"
    result, detail = outcome.result or {}, ""
    if result.get("models"):
        detail = f"top-1 {result['models'][0].get('top1', float('nan')):.2f}%"
    elif result.get("damage"):
        detail = f"{sum(r.get('kind') != 'intact' for r in result['damage'])} variants"
    return step, status, detail


def run_demo(
    out: str | Path,
    size: str = "demo",
    seeds: int | None = None,
    epochs: int | None = None,
    device: str = "auto",
    echo: Callable[[str], None] | None = None,
    threads: int | None = None,
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    study: Study | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """The main job: train ER/BA/WS on digits, damage, attack, metrics, correlations, figures, report.

    ``size`` is a scale of the demo study (``demo``, ``tiny``); ``seeds``, ``epochs`` and
    ``threads`` (torch CPU threads per task: the demo's small networks train fastest on one)
    override it; ``study`` replaces the built-in study (a copy with other settings). Progress
    lines go to ``echo``, by default the ``wiring_lab.demo`` logger (INFO): one per task, or,
    with ``progress``, one tqdm bar over the tasks and figures instead (the per-task lines go to
    the logger at DEBUG and to ``timings.json``). The last lines are the findings and the
    report's path. Returns
    ``{"report": path, "figures": [FigureOutcome], "timings": [...], "models": {name: path}}``;
    a failed task is reported after the report is written, as a :class:`UserError`.
    """
    log = logging.getLogger(__name__)
    echo = echo or log.info
    study = study or demo_study(size, seeds, epochs, threads)
    _scale(study, size)
    start, out = time.perf_counter(), Path(out)
    timings: list[dict[str, Any]] = []
    total = len(expand_study(study, size, out, device=device).tasks) + len(study.figures) if progress else 0
    bar = tqdm(total=total, desc="demo", unit="step", disable=not progress, dynamic_ncols=True)

    def say(line: str) -> None:
        """A line for the user, printed above the bar (which is cleared and redrawn around it)."""
        with tqdm.external_write_mode() if progress else nullcontext():
            echo(line)

    def step(name: str, seconds: float, status: str, detail: str = "") -> None:
        """Record one step's wall time and status, and say it (with the bar: at DEBUG, unless it failed)."""
        timings.append({"step": name, "status": status, "seconds": round(seconds, 2), "detail": detail})
        line = f"{name}: {status} ({seconds:.1f} s){' - ' + detail if detail else ''}"
        if progress and status != "failed":
            log.debug(line)
        else:
            say(line)

    def on_task(outcome: TaskOutcome) -> None:
        name, status, detail = _say(outcome)
        step(name, outcome.seconds, status, detail)
        bar.set_postfix_str(f"{name}: {status}", refresh=False)
        bar.update(1)

    def on_figure(line: str) -> None:
        """A figure made (with the bar: at DEBUG) or skipped (said, with the reason)."""
        if progress and line.startswith("wrote "):
            log.debug(line)
        else:
            say(line)
        bar.set_postfix_str("figures", refresh=False)
        bar.update(1)

    try:
        result = run_study(study, size, out, executor=executor, workers=workers, address=address, device=device,
                           progress=False, echo=say, on_task=on_task)
        t0 = time.perf_counter()
        with all_or_none():  # every figure or none (they read the tables the study wrote)
            outcomes = render_figures(out, list(study.figures), out=out / "figures", fmt="png", echo=on_figure)
    finally:
        bar.close()
    made = [o.name for o in outcomes if o.status == "made"]
    step("figures", time.perf_counter() - t0, "drawn", f"{len(made)} made: {', '.join(made)}")
    timings.append({"step": "total", "status": "", "seconds": round(time.perf_counter() - start, 2), "detail": ""})
    write_json(out / "timings.json", timings)
    config = {**effective_config(study, size), "device": str(resolve_device(device)), "networks": [n.name for n in result.plan.networks]}
    report = write_report(out, config=config, timings=timings, outcomes=outcomes, title=TITLE)
    sens = table_path(out, "sensitivity")
    if sens.is_file():  # the headline, as the report states it: Fig. 5's out-degree slopes with their intervals
        echo("findings (RandWire Fig. 5: accuracy lost vs the removed node's out-degree, per generator; tables/sensitivity.csv):")
        for line in findings(read_table(sens)):
            echo(f"  {line}")
    echo(f"report: {report.resolve()} ({time.perf_counter() - start:.1f} s in all)")
    if result.failed:
        o = result.failed[0]
        raise UserError(f"{len(result.failed)} demo task(s) failed, e.g. {o.key}: {o.error}; fix it and re-run to continue")
    models = {n.name: checkpoint_path(out, n.name) for n in result.plan.networks}
    return {"report": report, "figures": outcomes, "timings": timings, "models": models}
