"""A damage sweep's resumable output: rows appended (and fsynced) to ``<out>.partial.jsonl`` after
each chunk, a header that ties them to one sweep, and the tidy table built from them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from wiring_lab._io import UserError, to_jsonable

_INT_COLUMNS = ("stage", "node", "source", "target", "in_degree_graph", "out_degree_graph", "in_degree_dag", "out_degree_dag", "target_in_degree_dag")


def _partial_path(out: Path) -> Path:
    """The progress file of a sweep writing ``out``."""
    return out.with_name(out.name + ".partial.jsonl")


def _open_partial(out: Path, header: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    """Rows already finished by an interrupted run with the same header, and the file to append to."""
    path = _partial_path(out)
    rows: list[dict[str, Any]] = []
    if path.exists():
        lines = path.read_text(encoding="utf-8").split("\n")
        complete = lines[:-1]  # a line cut by a kill has no newline: dropped, its variants re-run
        try:
            first = json.loads(complete[0]) if complete else None
        except (ValueError, RecursionError):
            first = None
        if first is not None and first != header:
            raise UserError(
                f"{path}: an unfinished run with other arguments is stored here; re-run it with the same "
                "arguments, or delete this file to start afresh"
            )
        for line in complete[1:]:
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):
                break
            if not isinstance(row, dict):  # not a row this code wrote: re-run from here
                break
            rows.append(row)
        if first is None:
            rows = []
        good = "".join(x + "\n" for x in complete[: 1 + len(rows)]) if first is not None else ""
        path.write_text(good, encoding="utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a", encoding="utf-8")
    if not rows and f.tell() == 0:
        _append(f, [header])
    return rows, f


def _append(f, records: Sequence[dict[str, Any]]) -> None:
    """Append JSON lines and force them to disk."""
    f.write("".join(json.dumps(to_jsonable(r), sort_keys=True) + "\n" for r in records))
    f.flush()
    os.fsync(f.fileno())


def _row_key(row: dict[str, Any]) -> tuple:
    """A row's variant identity (matches ``Variant.key``)."""
    return tuple(row.get(k) for k in ("kind", "stage", "node", "source", "target"))


def _frame(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Rows -> a DataFrame with ``columns`` first and nullable integer id/degree columns."""
    df = pd.DataFrame(list(rows))
    for c in columns:
        if c not in df.columns:
            df[c] = None
    df = df[list(columns) + [c for c in df.columns if c not in columns]]
    for c in _INT_COLUMNS:
        if c in df.columns:
            df[c] = df[c].astype("Int64")
    return df
