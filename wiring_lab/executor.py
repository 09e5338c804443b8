"""Run many independent units of work (trainings, damage sweeps), in process, in a process pool or on Ray.

A :class:`Task` names a function by import path (``"package.module:function"``), its JSON-able
keyword arguments and the file its result goes to. The function returns a JSON-able dict; the
process that ran it writes that dict to ``result_path`` atomically (temporary file, then
rename), so a result file is either complete or absent. A task whose result file exists is
skipped, which makes every run resumable: a run that is killed, or a worker that dies, loses only
the tasks that had not finished, and running the same tasks again completes them. A task that
raises is reported as failed, with a one-line error, and the others go on.

>>> import json, tempfile, os
>>> out = os.path.join(tempfile.mkdtemp(), "r.json")
>>> [o.status for o in run_tasks([Task("t", "json:loads", {"s": '{"a": 1}'}, out)], progress=False)]
['done']
>>> [o.status for o in run_tasks([Task("t", "json:loads", {"s": '{"a": 1}'}, out)], progress=False)]
['skipped']
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from tqdm.auto import tqdm

from wiring_lab._io import UserError, write_json

log = logging.getLogger(__name__)  # the CLI decides what is shown (--verbose / --quiet)

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class Task:
    """One unit of work: ``fn(**kwargs)`` returns a JSON-able dict written to ``result_path``."""

    key: str  # unique name of the unit, e.g. "train:ws_k4_p0.75_s0"
    fn: str  # "package.module:function", imported where the task runs
    kwargs: dict[str, Any] = field(default_factory=dict)  # JSON-able keyword arguments
    result_path: str = ""  # where the result JSON goes; its existence means "done"
    gpus: float = 0  # GPUs the unit wants (requested on Ray when the cluster has GPUs)

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("a task needs a non-empty key")
        if ":" not in self.fn:
            raise ValueError(f"task {self.key}: fn must read 'package.module:function' (got {self.fn!r})")
        if not self.result_path:
            raise ValueError(f"task {self.key}: result_path is empty; give the file its result is written to")
        if self.gpus < 0:
            raise ValueError(f"task {self.key}: gpus must be >= 0 (got {self.gpus!r})")


@dataclass
class TaskOutcome:
    """What became of one task: ``done``, ``skipped`` (result already there) or ``failed``."""

    key: str
    status: str  # "done" | "skipped" | "failed"
    result: dict[str, Any] | None  # the result dict (read back from disk when skipped)
    error: str | None  # one line, "ExceptionType: message", when failed
    seconds: float  # wall time of the call (0 when skipped)


def digest(settings: Any) -> str:
    """Ten hex digits naming ``settings`` (JSON, keys sorted): a result file named by it is reused
    only by a task with the same settings."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:10]


def resolve_function(spec: str) -> Callable[..., Any]:
    """Import ``"package.module:function"`` and return the function."""
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise ValueError(f"bad task function {spec!r}; write it as 'package.module:function'")
    obj: Any = importlib.import_module(module_name)
    for part in name.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"task function {spec!r} is not callable")
    return obj


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{err.__class__.__name__}: {text[0]}" if text else err.__class__.__name__


def read_result(path: str | Path) -> dict[str, Any] | None:
    """The result dict stored at ``path``, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # unreadable, cut short or absurdly nested: re-run
        return None
    return data if isinstance(data, dict) else None


def run_task(task: Task) -> TaskOutcome:
    """Run one task here and write its result atomically; never raises for the task's own errors."""
    existing = read_result(task.result_path) if os.path.exists(task.result_path) else None
    if existing is not None:
        return TaskOutcome(task.key, "skipped", existing, None, 0.0)
    t0 = time.perf_counter()
    try:
        result = resolve_function(task.fn)(**task.kwargs)
        if not isinstance(result, dict):
            raise TypeError(f"task function {task.fn} returned {type(result).__name__}, not a dict")
        write_json(task.result_path, result)
        result = read_result(task.result_path)  # what a later run will see (plain JSON types)
    except Exception as e:  # a failing unit is reported, and the others go on
        return TaskOutcome(task.key, "failed", None, _one_line(e), time.perf_counter() - t0)
    return TaskOutcome(task.key, "done", result, None, time.perf_counter() - t0)


class _Progress:
    """A tqdm bar over the tasks, showing done / failed / skipped / remaining."""

    def __init__(self, total: int, enabled: bool, desc: str):
        self.counts = {"done": 0, "skipped": 0, "failed": 0}
        self.total = total
        self.bar = tqdm(total=total, desc=desc, disable=not enabled, unit="task")
        self.enabled = enabled

    def update(self, outcome: TaskOutcome) -> None:
        """Count one finished task; a failure is printed with its error."""
        self.counts[outcome.status] += 1
        if outcome.status == "failed" and self.enabled:
            self.bar.write(f"failed {outcome.key}: {outcome.error}")
        remaining = self.total - sum(self.counts.values())
        self.bar.set_postfix(**self.counts, remaining=remaining, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        """Close the bar."""
        self.bar.close()


def _pool_init(threads: int) -> None:
    # one process per core: each worker's torch uses its share of the cores, not all of them
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ.setdefault("MKL_NUM_THREADS", str(threads))


def _run_local(tasks: Sequence[Task], workers: int, report: Callable[[int, TaskOutcome], None]) -> None:
    if workers <= 1:
        for i, t in enumerate(tasks):
            report(i, run_task(t))
        return

    threads = max(1, (os.cpu_count() or 1) // workers)
    # spawn, not fork: a forked child of a process holding torch / OpenMP threads can hang
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_pool_init, initargs=(threads,)) as pool:
        futures = {pool.submit(run_task, t): i for i, t in enumerate(tasks)}
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                outcome = fut.result()
            except Exception as e:  # the worker process died (killed, out of memory)
                outcome = TaskOutcome(tasks[i].key, "failed", None, f"worker died: {_one_line(e)}", 0.0)
            report(i, outcome)


def _ray_module():
    """Ray, an optional dependency (the ``ray`` extra), imported when a Ray run asks for it."""
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray: pip install 'wiring-lab[ray]'") from None
    return ray


def _run_ray(tasks: Sequence[Task], workers: int, address: str | None, report: Callable[[int, TaskOutcome], None]) -> None:
    ray = _ray_module()
    started = False
    if not ray.is_initialized():
        if address is None:  # a local cluster of `workers` CPUs; its workers import this package from here
            pkg_root = str(Path(__file__).resolve().parent.parent)
            path = os.pathsep.join(p for p in (pkg_root, os.environ.get("PYTHONPATH", "")) if p)
            ray.init(num_cpus=workers, include_dashboard=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
        else:
            ray.init(address=address)
        started = True
    try:
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        if not has_gpus and any(t.gpus > 0 for t in tasks):
            log.warning("note: the tasks ask for GPUs but the Ray cluster has none; they run on CPUs")
        remote = ray.remote(run_task)
        refs = {}
        for i, t in enumerate(tasks):
            # the task writes its own result, so a worker that dies loses only its unfinished unit
            refs[remote.options(num_cpus=1, num_gpus=t.gpus if has_gpus else 0).remote(t)] = i
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                i = refs[ref]
                try:
                    outcome = ray.get(ref)
                except Exception as e:  # the worker or its node died
                    outcome = TaskOutcome(tasks[i].key, "failed", None, f"ray: {_one_line(e)}", 0.0)
                report(i, outcome)
    finally:
        if started:
            ray.shutdown()


def run_tasks(
    tasks: Sequence[Task],
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    progress: bool = True,
    on_outcome: Callable[[TaskOutcome], None] | None = None,
) -> list[TaskOutcome]:
    """Run every task whose result file is missing; outcomes come back in the order of ``tasks``.

    ``on_outcome`` is called with each outcome as it arrives (a skipped task's first), e.g. to
    say what finished.

    ``executor="local"`` runs them in this process (``workers=1``) or in a pool of ``workers``
    processes; ``"ray"`` sends one Ray task per unit to the cluster at ``address`` (a new local
    cluster of ``workers`` CPUs when None, or the one already initialised in this process), asking
    for ``task.gpus`` GPUs when the cluster has GPUs.
    """
    if executor not in EXECUTORS:
        raise UserError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UserError(f"workers must be a positive integer (got {workers!r})")
    keys = [t.key for t in tasks]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise UserError(f"task keys must be unique; repeated: {', '.join(dupes[:5])}")
    outcomes: list[TaskOutcome | None] = [None] * len(tasks)
    bar = _Progress(len(tasks), progress, desc="tasks")

    def report(i: int, outcome: TaskOutcome) -> None:
        outcomes[i] = outcome
        log.debug("%s %s (%.1f s)", outcome.key, outcome.status, outcome.seconds)
        bar.update(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    todo = []
    for i, t in enumerate(tasks):  # finished units are skipped here, before any worker starts
        existing = read_result(t.result_path) if os.path.exists(t.result_path) else None
        if existing is not None:
            report(i, TaskOutcome(t.key, "skipped", existing, None, 0.0))
        else:
            todo.append(i)
    try:
        if todo:
            sub = [tasks[i] for i in todo]

            def report_sub(j: int, outcome: TaskOutcome) -> None:
                report(todo[j], outcome)

            if executor == "local":
                _run_local(sub, workers, report_sub)
            else:
                _run_ray(sub, workers, address, report_sub)
    finally:
        bar.close()
    return [o for o in outcomes if o is not None]
