"""One resource budget, checked before anything is allocated: memory bytes and units of work.

Every size a command will need is estimated from declared sizes (a model config, tensor
metadata, a graph's node count, a study's plan, an image header) and compared with

- the **memory budget**: ``--max-memory`` (``wiring-lab --max-memory 8G COMMAND ...``) or the
  ``WIRING_LAB_MAX_MEMORY`` environment variable; default half of the machine's memory;
- the **work limit**: ``--max-work`` or ``WIRING_LAB_MAX_WORK``, in graph nodes processed
  (graphs x nodes per graph); default 10**9, which admits 10**7 graphs of 32 nodes.

A request over either is a :class:`~wiring_lab._io.UserError` naming the limit, never a
``MemoryError`` half-way through. The helpers also give bounded ``repr``s of untrusted values.
"""

from __future__ import annotations

import os
import reprlib
from pathlib import Path
from typing import Any

from wiring_lab._io import UserError

MEMORY_ENV = "WIRING_LAB_MAX_MEMORY"
WORK_ENV = "WIRING_LAB_MAX_WORK"
DEFAULT_MEMORY_FRACTION = 0.5
DEFAULT_MAX_WORK = 10**9  # graph nodes: 10**7 graphs of N = 32 fit with room to spare
# A network's nodes are Python modules: 3 stages of 4,096 build in seconds; 10**5 take minutes
# and gigabytes before the first step, so larger wirings are refused up front.
MAX_MODEL_NODES = 4096
# Trainings one study may plan (networks x seeds): a paper-scale study runs a few hundred.
MAX_STUDY_TRAININGS = 100_000
# Values (containers and scalars, shared references counted each time they are reached) in one
# untrusted checkpoint, graph or metadata record: far above anything wiring-lab writes.
MAX_VALUES = 1_000_000
MAX_DEPTH = 100

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """``"8G"``, ``"512M"``, ``"1.5G"`` or a plain byte count -> bytes (positive)."""
    t = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1:] if t[-1:] in _UNITS else ""
    try:
        value = float(t[: len(t) - len(unit)])
    except ValueError:
        raise UserError(f"--max-memory: expected a size such as 8G, 512M or 1000000 (got {text!r:.40})") from None
    if not (value > 0 and value < 1 << 60):
        raise UserError(f"--max-memory must be a positive size (got {text!r:.40})")
    return int(value * _UNITS[unit])


def physical_memory() -> int:
    """Bytes of memory of this machine (0 if the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


# The CLI's global --max-memory / --max-work for the command being run (reset by every
# invocation, so one command's limits never leak into the next in the same process).
_OVERRIDES: dict[str, str | None] = {"memory": None, "work": None}


def set_overrides(memory: str | None, work: int | None) -> None:
    """Limits given on the command line (None: the environment variable or the default)."""
    _OVERRIDES["memory"] = memory
    _OVERRIDES["work"] = str(work) if work is not None else None


def max_memory() -> int:
    """The memory budget in bytes."""
    text = _OVERRIDES["memory"] or os.environ.get(MEMORY_ENV)
    if text:
        return parse_size(text)
    return int(DEFAULT_MEMORY_FRACTION * physical_memory()) or 8 << 30


def max_work() -> int:
    """The work limit, in graph nodes processed."""
    text = _OVERRIDES["work"] or os.environ.get(WORK_ENV)
    if not text:
        return DEFAULT_MAX_WORK
    try:
        value = int(float(text))
    except (ValueError, OverflowError):
        raise UserError(f"--max-work: expected a number of graph nodes (got {text!r:.40})") from None
    if value < 1:
        raise UserError(f"--max-work must be positive (got {text!r:.40})")
    return value


def gib(nbytes: float) -> str:
    """Bytes as a short human size."""
    if nbytes < 1 << 20:
        return f"{nbytes:,.0f} bytes"
    return f"{nbytes / (1 << 30):,.1f} GiB" if nbytes >= 1 << 30 else f"{nbytes / (1 << 20):,.1f} MiB"


def check_memory(nbytes: float, what: str, where: str | Path | None = None) -> None:
    """Refuse when ``nbytes`` exceed the memory budget."""
    budget = max_memory()
    if nbytes > budget:
        head = f"{where}: " if where is not None else ""
        raise UserError(
            f"{head}{what} needs about {gib(nbytes)}, more than the memory budget of {gib(budget)} "
            f"(raise it with wiring-lab --max-memory SIZE or {MEMORY_ENV})"
        )


def check_work(units: float, what: str, where: str | Path | None = None) -> None:
    """Refuse when ``units`` graph nodes of work exceed the work limit."""
    limit = max_work()
    if units > limit:
        head = f"{where}: " if where is not None else ""
        raise UserError(
            f"{head}{what} means {units if isinstance(units, int) else round(units):,} graph nodes of work, more than the limit of {limit:,} "
            f"(raise it with wiring-lab --max-work N or {WORK_ENV})"
        )


# Drawing and measuring one graph costs at least as much as a graph of this many nodes (per-graph
# overhead): 20,000 graphs of N=4 take longer than 20,000 of N=32 (measured), so tiny graphs are
# counted at this size and --samples is bounded by the work limit too.
GRAPH_OVERHEAD_NODES = 32


def population_work(graphs: int, n: int) -> int:
    """Work units of drawing and measuring ``graphs`` graphs of ``n`` nodes."""
    return graphs * max(n, GRAPH_OVERHEAD_NODES)


def count_values(obj: Any, limit: int = MAX_VALUES, depth: int = MAX_DEPTH) -> int | None:
    """Values reachable in ``obj`` (shared references counted each time), or None past ``limit`` or ``depth``.

    The walk is iterative and stops at the limit, so a "billion laughs" of nested shared tuples
    costs ``limit`` steps, never the billions it would expand to.
    """
    count = 0
    stack: list[tuple[Any, int]] = [(obj, 0)]
    while stack:
        x, d = stack.pop()
        count += 1
        if count > limit or d > depth:
            return None
        if isinstance(x, dict):
            stack.extend((k, d + 1) for k in x.keys())
            stack.extend((v, d + 1) for v in x.values())
        elif isinstance(x, (list, tuple, set, frozenset)):
            stack.extend((v, d + 1) for v in x)
    return count


def check_values(obj: Any, what: str, where: str | Path) -> None:
    """Refuse an untrusted container with more than MAX_VALUES values or nested deeper than MAX_DEPTH."""
    if count_values(obj) is None:
        raise UserError(
            f"{where}: {what} holds more than {MAX_VALUES:,} values or nests deeper than {MAX_DEPTH} "
            "(shared references expanded over and over?)"
        )


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxtuple = _REPR.maxlist = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 6
_REPR.maxstring = 60
_REPR.maxlong = 40
_REPR.maxother = 60


def short_repr(obj: Any, limit: int = 200) -> str:
    """A ``repr`` of an untrusted value, bounded in size and in the work to make it."""
    try:
        text = _REPR.repr(obj)
    except Exception:  # a value whose repr fails still gets named
        text = f"<{type(obj).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def graph_metrics_bytes(n: int, graphs: int, backend: str = "tensor") -> int:
    """Memory the metric backends need for ``graphs`` graphs of ``n`` nodes (dense N x N per graph).

    The tensor backend holds every graph's 0/1 adjacency (1 byte a pair) and about a dozen
    float64 N x N work matrices per graph in flight; networkx and graph-tool hold all-pairs
    distances as Python or C++ maps (about 100 bytes a pair).
    """
    pair = n * n
    if backend == "tensor":
        return pair * graphs + 96 * pair
    return 100 * pair + 64 * n * graphs


def check_graph_metrics(n: int, graphs: int, backend: str, where: str | Path | None = None) -> None:
    """Refuse graph metrics whose dense matrices would exceed the memory budget."""
    check_memory(graph_metrics_bytes(n, graphs, backend), f"metrics of {graphs:,} graph(s) of {n:,} nodes ({backend})", where)
