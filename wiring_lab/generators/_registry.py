"""The generator registry: one :class:`Generator` record per random-graph family.

A record holds everything every reader needs: the per-graph form (``wiring-lab generate``,
network stages), the batched form (populations, C-L sampling, metrics), the parameter schema
(types, bounds, defaults, help), the paper-style label and how a random search draws a setting.
The CLI, the study reader, the metrics columns, populations, plots and search all read it, so a
new generator is one module that calls :func:`register_generator`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from wiring_lab.generators._checks import check_n


@dataclass(frozen=True)
class Param:
    """One parameter of a generator: type, default and the bounds that do not depend on N."""

    name: str  # keyword of the generator functions, e.g. "p"
    kind: type  # int or float (an int is accepted where a float is asked)
    default: Any  # paper default
    low: float | None = None  # smallest value allowed (inclusive); None: no bound
    high: float | None = None  # largest value allowed (inclusive); None: no bound (N-dependent bounds: Generator.check_n)
    even: bool = False  # integers only: must be even (WS's K)
    low_open: bool = False  # low is excluded (WS-flex's K > 0)
    help: str = ""  # one line for --help and the docs

    def __post_init__(self) -> None:
        if self.kind not in (int, float):
            raise ValueError(f"parameter {self.name!r}: kind must be int or float (got {self.kind!r})")

    def check(self, value: Any, model: str) -> Any:
        """``value`` if it has this parameter's type and bounds; else ``ValueError`` saying what to choose."""
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{self.name} must be an integer (got {value!r})")
        elif isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
            if self.name == "p":
                raise ValueError(f"p must be a number in [0, 1] (got {value!r})")
            raise ValueError(f"{model} needs a finite number {self.name} (got {value!r})")
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise ValueError(self._range_error(value, model))
        if self.high is not None and value > self.high:
            raise ValueError(self._range_error(value, model))
        if self.even and value % 2:
            raise ValueError(f"{model} needs an even {self.name} (got {self.name}={value}); choose {self.name}={value - 1} or {self.name}={value + 1}")
        return value

    def _range_error(self, value: Any, model: str) -> str:
        if self.name == "p" and self.low == 0 and self.high == 1:
            return f"p must be in [0, 1] (got p={value}); choose a probability between 0 and 1"
        if self.high is None and not self.low_open:
            return f"{model} needs {self.low:g} <= {self.name} < n (got {self.name}={value}); choose a larger {self.name}"
        lo = f"{self.low:g} {'<' if self.low_open else '<='} " if self.low is not None else ""
        hi = f" <= {self.high:g}" if self.high is not None else ""
        return f"{model} needs {lo}{self.name}{hi} (got {self.name}={value})"

    def parse(self, text: str) -> Any:
        """A command-line value: ``"4"`` -> 4 for an integer parameter, ``"0.5"`` -> 0.5 for a float one."""
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"--{self.name} must be a number (got {text[:60]!r})") from None
        if self.kind is int:
            if not value.is_integer():
                raise ValueError(f"{self.name} must be an integer (got {text[:60]!r})")
            return int(value)
        return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


Edges = list[tuple[int, int]]


@dataclass(frozen=True)
class Generator:
    """A registered graph family: per-graph and batched forms, parameter schema, label."""

    name: str  # registry name: "ws", "ws-flex", ...
    graph: Callable[..., Edges]  # graph(n, seed=..., **params) -> undirected edges (u, v); deterministic in seed
    params: tuple[Param, ...] = ()  # the schema, in label order
    batch: Callable[..., np.ndarray] | None = None  # batch(b, n, rng, **params) -> (b, n, n) bool, symmetric, zero diagonal
    check_n: Callable[[int, dict[str, Any]], None] | None = None  # bounds that depend on N (raises ValueError)
    label: str = ""  # paper-style prefix of a setting's label ("WS" -> "WS(4, 0.75)"); default: name upper-cased
    title: str = ""  # the family's name in messages ("WS-flex"); default: label
    summary: str = ""  # one line: what the family is (help, docs)
    sample: Callable[[np.random.Generator, int], dict[str, Any]] | None = None  # random-search draw of a setting at N nodes
    min_nodes: int = 2  # smallest N the family can draw (random search skips it below)
    random: bool = True  # False: every seed gives the same graph (chain, complete)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or not callable(self.graph):
            raise ValueError(f"a generator needs a non-empty name and a callable graph form (got {self.name!r}, {self.graph!r})")
        if self.batch is not None and not callable(self.batch):
            raise ValueError(f"generator {self.name!r}: batch must be callable or None")
        if not self.label:
            object.__setattr__(self, "label", self.name.upper())
        if not self.title:
            object.__setattr__(self, "title", self.label)
        object.__setattr__(self, "params", tuple(self.params))

    @property
    def defaults(self) -> dict[str, Any]:
        """Parameter name -> default, in schema order."""
        return {p.name: p.default for p in self.params}

    def resolve(self, **params: Any) -> dict[str, Any]:
        """Omitted (or None) parameters filled with the defaults; unknown names and bad values refused."""
        names = [p.name for p in self.params]
        unknown = sorted(k for k, v in params.items() if v is not None and k not in names)
        if unknown:
            raise ValueError(f"generator {self.name!r} takes no parameter {unknown[0]!r} (its parameters: {', '.join(names) or 'none'})")
        full = {p.name: (params[p.name] if params.get(p.name) is not None else p.default) for p in self.params}
        for p in self.params:
            p.check(full[p.name], self.title)
        return full

    def check(self, n: int, params: dict[str, Any]) -> None:
        """All checks of ``n`` and (filled) ``params`` the per-graph form makes, without drawing a graph."""
        check_n(n)
        for p in self.params:
            p.check(params[p.name], self.title)
        if self.check_n is not None:
            self.check_n(n, params)

    def setting_label(self, params: dict[str, Any]) -> str:
        """``WS(4, 0.75)``, ``ER(0.2)``, ``chain``: the label followed by the parameter values in schema order."""
        values = [params[p.name] for p in self.params if p.name in params]
        if not values:
            return self.name
        return f"{self.label}({', '.join(f'{v:g}' if isinstance(v, float) else str(v) for v in values)})"


@dataclass
class _Registry:
    generators: dict[str, Generator] = field(default_factory=dict)
    builtin: set[str] = field(default_factory=set)


_REGISTRY = _Registry()


def register_generator(generator: Generator, *, builtin: bool = False) -> Generator:
    """Add ``generator`` to the registry (a built-in name cannot be taken); returns it."""
    if not isinstance(generator, Generator):
        raise ValueError(f"register_generator takes a Generator record (got {generator!r})")
    if generator.name in _REGISTRY.builtin or generator.name in STORED_GENERATORS:
        raise ValueError(f"generator name {generator.name!r} is built in; choose another name")
    _REGISTRY.generators[generator.name] = generator
    if builtin:
        _REGISTRY.builtin.add(generator.name)
    return generator


def unregister_generator(name: str) -> None:
    """Remove a generator added by :func:`register_generator` (built-in ones stay)."""
    if name in _REGISTRY.builtin:
        raise ValueError(f"generator {name!r} is built in and cannot be removed")
    _REGISTRY.generators.pop(name, None)


# Labels of stage graphs that are stored, never sampled: a GraphSpec or ModelConfig may carry them,
# but generating a graph under one says how to get the graphs instead.
STORED_GENERATORS: dict[str, str] = {
    "search": "a searched wiring (generator 'search') is not sampled from a seed; "
    "build it from its stage graphs (its checkpoint, or --graphs FILE_OR_DIR)",
}


def list_generators(batched: bool = False) -> list[str]:
    """Names of the registered generators (``batched``: only those with a batched form), sorted."""
    return sorted(name for name, g in _REGISTRY.generators.items() if g.batch is not None or not batched)


def registered() -> list[Generator]:
    """The registered records in registration order (built-ins first: er, ba, ws, chain, complete, ws-flex)."""
    return list(_REGISTRY.generators.values())


def get_generator(name: str, batched: bool = False) -> Generator:
    """The record of ``name``; an unknown name (or one without a batched form, if asked) lists the valid ones."""
    if name in STORED_GENERATORS:
        raise ValueError(STORED_GENERATORS[name])
    g = _REGISTRY.generators.get(name)
    if g is None:
        raise ValueError(f"unknown generator {name!r}; choose one of {', '.join(list_generators())}")
    if batched and g.batch is None:
        raise ValueError(f"generator {name!r} has no batched form; choose one of {', '.join(list_generators(batched=True))}")
    return g


def generator_params(generator: str, **params: Any) -> dict[str, Any]:
    """Fill omitted parameters with the defaults; reject unknown names and out-of-range values."""
    return get_generator(generator).resolve(**params)


def setting_label(generator: str, params: dict[str, Any]) -> str:
    """Paper-style label of a generator setting: ``WS(4, 0.75)``, ``ER(0.2)``, ``BA(5)``, ``chain``."""
    g = _REGISTRY.generators.get(generator)
    if g is not None:
        return g.setting_label(params)
    order = {"search": ("strategy",)}.get(generator, tuple(sorted(params)))  # stored or imported labels
    values = [params[k] for k in order if k in params]
    if not values:
        return generator
    return f"{generator.upper()}({', '.join(f'{v:g}' if isinstance(v, float) else str(v) for v in values)})"


def param_columns() -> list[str]:
    """Parameter columns of a population table: p, k, m, then any other registered generator's parameters."""
    names = ["p", "k", "m"]
    for g in registered():
        names += [p.name for p in g.params if p.name not in names]
    return names
