"""Stand-in for the study executor until ``wiring_lab.executor`` is available: in process, one by one."""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wiring_lab._io import write_json


@dataclass(frozen=True)
class Task:
    """``fn(**kwargs)`` returns a JSON-able dict written to ``result_path``."""

    key: str
    fn: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    result_path: str = ""
    gpus: float = 0


@dataclass
class TaskOutcome:
    """``done``, ``skipped`` (result already there) or ``failed``."""

    key: str
    status: str
    result: dict[str, Any] | None
    error: str | None
    seconds: float


def run_tasks(tasks: list[Task]) -> list[TaskOutcome]:
    """Run each task whose result file is missing, here and in order; write results atomically."""
    out = []
    for t in tasks:
        path = Path(t.result_path)
        if path.is_file():
            out.append(TaskOutcome(t.key, "skipped", json.loads(path.read_text(encoding="utf-8")), None, 0.0))
            continue
        t0 = time.perf_counter()
        module, _, name = t.fn.partition(":")
        try:
            result = getattr(importlib.import_module(module), name)(**t.kwargs)
            write_json(path, result)
            out.append(TaskOutcome(t.key, "done", json.loads(path.read_text(encoding="utf-8")), None, time.perf_counter() - t0))
        except Exception as e:  # reported, the others go on
            out.append(TaskOutcome(t.key, "failed", None, f"{e.__class__.__name__}: {e}", time.perf_counter() - t0))
    return out
