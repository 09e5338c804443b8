"""File helpers shared by every stage: atomic writes, tidy-table I/O, devices, config sidecars.

numpy, pandas and torch are imported inside the functions that need them: the CLI imports this
module at start-up, and ``wiring-lab --help`` answers in about 0.3 s only without them (measured:
``import torch`` alone 0.95 s, pandas 0.4 s on the 2-core machine).
"""

from __future__ import annotations

import contextvars
import functools
import json
import os
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

if TYPE_CHECKING:
    import pandas as pd


class UserError(ValueError):
    """Bad input from the user: the CLI prints the message on one line and exits with code 2."""


@functools.lru_cache(maxsize=None)
def _umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# While a command runs inside ``all_or_none()``, its atomic writes are staged here as
# (temporary, target) pairs and renamed into place together when the command succeeds.
_STAGED: contextvars.ContextVar[list[tuple[Path, Path]] | None] = contextvars.ContextVar("_STAGED", default=None)


def _write_error(path: Path, err: OSError) -> UserError:
    """One line for a failed write: read-only or full file system, a path below a file, ..."""
    why = err.strerror or err.__class__.__name__
    where = f" ({err.filename})" if err.filename and str(err.filename) != str(path) else ""
    return UserError(f"{path}: cannot write the file: {why}{where}")


def write_target(path: str | Path) -> Path:
    """Where writing ``path`` goes: a symlink's final target; anything but a regular file is refused."""
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError as e:
        raise _write_error(path, e) from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file (a device, FIFO or socket)"
        raise UserError(f"{path}: refused: {kind}; outputs only create or replace regular files")
    return target


@contextmanager
def all_or_none() -> Iterator[None]:
    """Within the block, atomic writes are staged and renamed into place together when it succeeds.

    A command's final outputs (a table and its sidecar, every figure, every exported graph) so
    appear all or none. Nested blocks join the outermost one.
    """
    if _STAGED.get() is not None:
        yield
        return
    staged: list[tuple[Path, Path]] = []
    token = _STAGED.set(staged)
    try:
        yield
        for _, target in staged:  # a target turned into a FIFO meanwhile: refuse before any rename
            write_target(target)
        for tmp, target in staged:
            try:
                os.replace(tmp, target)
            except OSError as e:
                raise _write_error(target, e) from None
    finally:
        _STAGED.reset(token)
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    A symlink is written through (its target is replaced, the link stays); a path that exists
    and is not a regular file is refused; file-system errors are one-line :class:`UserError`s.
    """
    path = Path(path)
    target = write_target(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        raise _write_error(path, e) from None
    os.close(fd)
    tmp_path = Path(tmp)
    staged = _STAGED.get()
    try:
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are shared like any file
        try:
            yield tmp_path
            with open(tmp_path, "rb+") as f:  # data on disk before the rename makes it visible
                os.fsync(f.fileno())
            if staged is None:
                os.replace(tmp_path, target)
            else:
                staged.append((tmp_path, target))
        except OSError as e:  # a full or read-only file system while writing
            raise _write_error(path, e) from None
    finally:
        if staged is None or all(t != tmp_path for t, _ in staged):
            tmp_path.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def read_text_file(path: str | Path, what: str = "file") -> str:
    """Read a UTF-8 text file; a missing or unreadable one is a :class:`UserError` naming it."""
    path = Path(path)
    if path.exists() and not path.is_file():  # a FIFO would block forever, a directory fails oddly
        raise UserError(f"{path}: not a regular file; expected a {what}")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read {what} ({e.__class__.__name__})") from None


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, paths, numpy scalars and tuples to plain JSON containers."""
    import numpy as np

    if is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def as_read_back(df: Any, suffix: str = ".csv") -> Any:
    """``df`` as :func:`read_table` reads it back from a table file with ``suffix`` (a CSV's
    types and values are what its text says): a computation on it equals one on the file."""
    import io

    import pandas as pd

    return pd.read_csv(io.StringIO(df.to_csv(index=False))) if suffix == ".csv" else df


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented, key-sorted JSON, atomically."""
    return atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=True) + "\n")


def check_outputs(*paths: str | Path | None) -> None:
    """Refuse, before any work, outputs that could not be written: wrong table suffix, FIFO, directory."""
    for path in paths:
        if path is None:
            continue
        path = Path(path)
        if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise UserError(f"{path}: table files must end in .csv or .parquet")
        write_target(path)
        write_target(path.with_name(path.name + ".json"))  # the sidecar beside a table


def write_table(df, path: str | Path) -> Path:
    """Write a DataFrame as CSV or Parquet, chosen by the extension, atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise UserError(f"{path}: table files must end in .csv or .parquet")
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
    return path


def read_table(path: str | Path):
    """Read a CSV or Parquet table; a missing, empty or unreadable file is a :class:`UserError`."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such table file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(path)
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            raise UserError(f"{path}: table files must end in .csv or .parquet")
    except UserError:
        raise
    except Exception as e:  # pandas/pyarrow raise many types for a bad file
        raise UserError(f"{path}: not a readable table ({e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    if df.empty:
        raise UserError(f"{path}: the table has no rows")
    from wiring_lab.columns import rename_legacy_columns

    return rename_legacy_columns(df)  # older tables' degree columns under their current names


def require(df: pd.DataFrame, columns: Sequence[str], what: str, numeric: Sequence[str] = ()) -> None:
    """Raise a UserError naming ``what`` (a figure, a file, an analysis) when ``df`` lacks a column or rows, or a ``numeric`` column holds text."""
    import pandas as pd

    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UserError(f"{what}: table lacks column(s) {', '.join(missing)}")
    if len(df) == 0:
        raise UserError(f"{what}: table has no rows")
    for c in columns:
        if c in numeric and not pd.api.types.is_numeric_dtype(df[c]):
            bad = next((v for v in df[c] if pd.notna(v) and not isinstance(v, (int, float))), df[c].iloc[0])
            raise UserError(f"{what}: column {c!r} must be numeric (found {str(bad)[:40]!r})")


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with torch's CPU thread count set to ``n`` (None: unchanged), then restore it."""
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resolve_device(device: str = "auto"):
    """``auto`` -> CUDA when available else CPU; ``cuda`` without a GPU is a :class:`UserError`."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda asked for, but no CUDA device is available; use --device cpu or auto")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise UserError(f"unknown device {device!r}; choose auto, cpu or cuda")
    return torch.device(device)


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape results, stored in every output."""
    import platform
    import sys

    import numpy
    import torch

    import wiring_lab

    return {
        "wiring_lab": wiring_lab.__version__,
        "torch": str(torch.__version__),
        "numpy": str(numpy.__version__),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
