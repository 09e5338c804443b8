"""Result tables checked against their schema when they are read: a hand-edited table is one line.

A run directory's tables (``tables/*.csv`` or ``.parquet``) are untrusted like every file: a
column name given twice, text or ``inf`` where a number belongs, or an id, epoch or accuracy out
of its range is a :class:`~wiring_lab._io.UserError` naming the table, the column and the row,
before anything is drawn. Columns a table lacks are left to the reader that needs them (which
names them); missing values (NaN, e.g. an intact row's node) are allowed.

>>> import pandas as pd
>>> check_table(pd.DataFrame({"epoch": [1, 2], "train_loss": [0.5, 0.4]}), "history", "h.csv")
>>> check_table(pd.DataFrame({"node": [1e12]}), "damage", "d.csv")
Traceback (most recent call last):
...
wiring_lab._io.UserError: d.csv: column 'node' row 0: 1e+12 is not an integer in [0, 4095]
"""

from __future__ import annotations

import csv
import fnmatch
import math
from pathlib import Path
from typing import Any

from wiring_lab._io import UserError, read_table
from wiring_lab._limits import MAX_MODEL_NODES, short_repr

_BIG = 2**63 - 1
# column pattern -> (integer?, low, high): the values wiring-lab writes, with room to spare
COLUMNS: dict[str, tuple[bool, float, float]] = {
    "seed": (True, 0, _BIG),
    "epoch": (True, 1, 10**9),
    "epochs": (True, 0, 10**9),
    "stage": (True, 0, 3),  # the regular regime has the most random stages: 4
    "node": (True, 0, MAX_MODEL_NODES - 1),
    "*_degree_graph": (True, 0, MAX_MODEL_NODES),
    "*_degree_dag": (True, 0, MAX_MODEL_NODES + 1),
    "*top1": (False, -100.0, 100.0),  # accuracies and their deltas, in percent (points)
    "*top5": (False, -100.0, 100.0),
    "*top1_lo": (False, -100.0, 100.0),
    "*top1_hi": (False, -100.0, 100.0),
    "*_loss": (False, 0.0, 1e6),
    "loss": (False, 0.0, 1e6),
    "fraction": (False, 0.0, 1.0),
    "params": (False, 0.0, 1e15),
    "macs": (False, 0.0, 1e18),
}
# per table: further columns (graph-level tables count a graph's nodes)
TABLE_COLUMNS: dict[str, dict[str, tuple[bool, float, float]]] = {
    name: {"n": (True, 1, 100_000)} for name in ("graphs", "population_metrics", "stage_metrics")
}
UNCHECKED = ("correlations",)  # statistics tables: counts and coefficients of any size (duplicates and inf still checked)


def _rule(table: str, column: str) -> tuple[bool, float, float] | None:
    extra = TABLE_COLUMNS.get(table, {})
    if column in extra:
        return extra[column]
    if table in UNCHECKED:
        return None
    for pattern, rule in COLUMNS.items():
        if fnmatch.fnmatchcase(column, pattern):
            return rule
    return None


def _bad_value(v: Any, integer: bool, low: float, high: float) -> bool:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return False  # missing: allowed (the reader decides whether it needs the value)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        try:
            v = float(v)
        except (TypeError, ValueError):
            return True
    if not math.isfinite(v) or not low <= v <= high:
        return True
    return integer and not float(v).is_integer()


def check_table(df: Any, table: str, path: str | Path) -> None:
    """``df`` (read from ``path``) against the schema of ``table``: unique names, finite numbers, ranges."""
    import numpy as np
    import pandas as pd

    cols = [str(c) for c in df.columns]
    dup = next((c for i, c in enumerate(cols) if c in cols[:i]), None)
    if dup is not None:
        raise UserError(f"{path}: column {short_repr(dup, 60)} appears twice")
    for column in df.columns:
        values = df[column]
        rule = _rule(table, str(column))
        if rule is not None:
            numeric = pd.to_numeric(values, errors="coerce")
            text = values.notna() & numeric.isna()
            if text.any():
                row = int(np.flatnonzero(text.to_numpy())[0])
                raise UserError(f"{path}: column {str(column)[:60]!r} row {row}: {short_repr(values.iat[row], 40)} is not a number")
            for row, v in enumerate(numeric.to_numpy()):
                if _bad_value(v, *rule):
                    integer, low, high = rule
                    shown = f"{v:g}" if isinstance(v, (float, np.floating)) else short_repr(v, 40)
                    kind = f"an integer in [{int(low)}, {int(high)}]" if integer else f"a finite number in [{low:g}, {high:g}]"
                    raise UserError(f"{path}: column {str(column)[:60]!r} row {row}: {shown} is not {kind}")
        elif pd.api.types.is_float_dtype(values) and np.isinf(values.to_numpy()).any():
            row = int(np.flatnonzero(np.isinf(values.to_numpy()))[0])
            raise UserError(f"{path}: column {str(column)[:60]!r} row {row}: {values.iat[row]} is not a finite number")


def _csv_header(path: Path) -> list[str]:
    """The raw header of a CSV file (pandas renames a repeated name to ``name.1``)."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            return next(csv.reader(f), [])
    except (OSError, csv.Error):
        return []  # read_table reports an unreadable file


def read_checked_table(path: str | Path, table: str) -> Any:
    """Read a run directory's table and check it against its schema (see :func:`check_table`)."""
    path = Path(path)
    df = read_table(path)
    if path.suffix.lower() == ".csv":
        header = _csv_header(path)
        dup = next((c for i, c in enumerate(header) if c in header[:i]), None)
        if dup is not None:
            raise UserError(f"{path}: column {short_repr(dup, 60)} appears twice")
    check_table(df, table, path)
    return df
