"""The task executor: results written once and atomically, finished tasks skipped, failures isolated."""

from __future__ import annotations

import json

import pytest

from wiring_lab._io import UserError
from wiring_lab.executor import Task, read_result, resolve_function, run_tasks


def square(x: int) -> dict:
    """A task function: returns a JSON-able dict."""
    return {"x": x, "square": x * x}


def explode(x: int) -> dict:
    """A task function that raises."""
    raise RuntimeError(f"unit {x} broke\nsecond line")


def not_a_dict(x: int) -> list:
    """A task function with a result of the wrong type."""
    return [x]


def _tasks(tmp_path, fns):
    return [Task(f"t{i}", f"tests.test_executor:{fn}", {"x": i}, str(tmp_path / f"t{i}.json")) for i, fn in enumerate(fns)]


def test_failure_is_reported_and_the_others_complete(tmp_path):
    tasks = _tasks(tmp_path, ["square", "explode", "square", "not_a_dict"])
    outcomes = run_tasks(tasks, progress=False)
    assert [o.key for o in outcomes] == ["t0", "t1", "t2", "t3"]
    assert [o.status for o in outcomes] == ["done", "failed", "done", "failed"]
    assert outcomes[1].error == "RuntimeError: unit 1 broke"  # one line
    assert "not a dict" in outcomes[3].error
    assert outcomes[2].result == {"x": 2, "square": 4}
    assert json.loads((tmp_path / "t2.json").read_text()) == {"x": 2, "square": 4}
    assert not (tmp_path / "t1.json").exists() and not (tmp_path / "t3.json").exists()
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


def test_finished_tasks_are_skipped_and_failed_ones_retried(tmp_path):
    tasks = _tasks(tmp_path, ["square", "explode", "square"])
    run_tasks(tasks, progress=False)
    mtime = (tmp_path / "t0.json").stat().st_mtime_ns
    again = run_tasks(tasks, progress=False)
    assert [o.status for o in again] == ["skipped", "failed", "skipped"]
    assert again[0].result == {"x": 0, "square": 0} and again[0].seconds == 0
    assert (tmp_path / "t0.json").stat().st_mtime_ns == mtime  # not written twice
    # a half-written (unreadable) result does not count as done
    (tmp_path / "t2.json").write_text("{trunc")
    assert run_tasks(tasks, progress=False)[2].status == "done"


def test_process_pool_gives_the_same_results(tmp_path):
    seq = run_tasks(_tasks(tmp_path / "a", ["square", "explode", "square"]), progress=False)
    pool = run_tasks(_tasks(tmp_path / "b", ["square", "explode", "square"]), workers=2, progress=False)
    assert [(o.key, o.status, o.result, o.error) for o in seq] == [(o.key, o.status, o.result, o.error) for o in pool]


def test_bad_tasks_and_arguments():
    with pytest.raises(ValueError, match="package.module:function"):
        Task("a", "no_colon", {}, "r.json")
    with pytest.raises(ValueError, match="result_path"):
        Task("a", "json:loads", {}, "")
    with pytest.raises(UserError, match="unique"):
        run_tasks([Task("a", "json:loads", {}, "1.json"), Task("a", "json:loads", {}, "2.json")], progress=False)
    with pytest.raises(UserError, match="unknown executor"):
        run_tasks([], executor="slurm")
    with pytest.raises(UserError, match="workers"):
        run_tasks([], workers=0)
    assert resolve_function("tests.test_executor:square")(3) == {"x": 3, "square": 9}


def test_unimportable_function_is_a_failed_task(tmp_path):
    out = run_tasks([Task("a", "no_such_module_xyz:f", {}, str(tmp_path / "a.json"))], progress=False)
    assert out[0].status == "failed" and out[0].error.startswith("ModuleNotFoundError")
    assert read_result(tmp_path / "a.json") is None


def test_docstring_example():
    import doctest

    import wiring_lab.executor

    result = doctest.testmod(wiring_lab.executor)
    assert result.attempted > 0 and result.failed == 0
