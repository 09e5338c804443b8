"""Batched graph populations: B graphs per call as a (B, N, N) adjacency, drawn in seeded chunks.

Each batched generator follows its paper's sequential definition (``graphs.py``, DESIGN.md)
step by step, every step vectorised over the batch: WS rewires (v, v+i) for i = 1..K/2 and v
clockwise; BA adds nodes one at a time, each choosing M distinct targets by degree; ER joins
every pair with probability P, then relabels the nodes in a random order. Random numbers come
from numpy on the CPU, so a population is the same on every platform (and for every metric
backend or device).

A population is (generator, parameters, N, samples, seed). Its members are drawn in chunks of
:func:`chunk_size` graphs; chunk c uses ``PCG64(SeedSequence(seed, spawn_key=(c,)))``, so member
i is regenerated from (seed, i) by drawing its chunk alone (:meth:`Population.member`), and the
first S members are the same whatever ``samples`` is. The per-graph generators of ``graphs.py``
(``wiring-lab generate``, model stages) keep their own per-graph seeds: the two draw different
graphs from the same distribution.

Every generator's batched form lives in its record (``wiring_lab.generators``). The top of this
module stays light: the metrics (torch, 0.95 s), pandas and pyarrow are imported inside the
functions that measure and write.

>>> pop = Population("ws", {"k": 4, "p": 0.0}, n=8, samples=3, seed=0)
>>> pop.member(2).edges[:3]
((0, 1), (0, 2), (0, 6))
"""

from __future__ import annotations

import contextlib
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from tqdm import tqdm

from wiring_lab._io import UserError, atomic_path
from wiring_lab.generators import adjacency_edges, check_int, get_generator, param_columns, rng_of, setting_label
from wiring_lab.graphs import GraphSpec

# Cells (graphs x N x N) of one seeded chunk: 4096 graphs of N=32 (4 MB of bool adjacency).
# Part of a population's definition: changing it changes which graphs a seed draws.
_CHUNK_CELLS = 1 << 22
_MAX_CHUNK = 4096


def chunk_size(n: int) -> int:
    """Graphs per seeded chunk of an N-node population (fixed by N: it defines the members)."""
    return max(1, min(_MAX_CHUNK, _CHUNK_CELLS // (n * n)))


def chunk_rng(seed: int, chunk: int) -> np.random.Generator:
    """The generator of chunk ``chunk`` of the population drawn from ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(int(chunk),))))


# --- batched generators: each family's record (wiring_lab.generators) holds its batched form ------
def check_batch_params(generator: str, n: int, params: dict[str, Any]) -> None:
    """The per-graph generator's checks of ``n`` and (filled) parameters, without drawing a graph."""
    get_generator(generator, batched=True).check(n, params)


def generate_batch(generator: str, b: int, n: int, rng: np.random.Generator, **params: Any) -> np.ndarray:
    """``b`` graphs of one generator setting as a (b, n, n) bool adjacency (omitted parameters: paper defaults)."""
    gen = get_generator(generator, batched=True)
    full = gen.resolve(**params)
    gen.check(n, full)
    return gen.batch(b, n, rng, **full)


# --- populations -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Population:
    """``samples`` graphs of one generator setting, drawn from ``seed`` in seeded chunks."""

    generator: str  # a registered generator with a batched form (wiring_lab.generators)
    params: dict[str, Any] = field(default_factory=dict)  # omitted parameters take the paper defaults
    n: int = 32  # N
    samples: int = 1000  # number of members
    seed: int = 0  # population seed: member i is drawn by chunk i // chunk_size(n)

    def __post_init__(self) -> None:
        gen = get_generator(self.generator, batched=True)
        full = gen.resolve(**self.params)
        gen.check(self.n, full)
        check_int("samples", self.samples)
        if self.samples < 1:
            raise ValueError(f"samples must be at least 1 (got {self.samples})")
        rng_of(self.seed)  # validates
        object.__setattr__(self, "params", full)

    @property
    def chunk(self) -> int:
        """Graphs per seeded chunk."""
        return chunk_size(self.n)

    def draw_chunk(self, c: int) -> np.ndarray:
        """All ``chunk`` graphs of chunk ``c`` (B, N, N), members c*chunk .. (c+1)*chunk - 1, before truncation."""
        return get_generator(self.generator).batch(self.chunk, self.n, chunk_rng(self.seed, c), **self.params)

    def chunks(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """``(first member, adjacency)`` of every chunk overlapping members ``start..stop-1``."""
        stop = self.samples if stop is None else min(stop, self.samples)
        for c in range(start // self.chunk, -(-stop // self.chunk)):
            first = c * self.chunk
            adj = self.draw_chunk(c)
            lo, hi = max(start, first) - first, min(stop, first + self.chunk) - first
            yield first + lo, adj[lo:hi]

    def member(self, i: int) -> GraphSpec:
        """Member ``i`` as a GraphSpec recording the population seed and the index (its chunk redrawn)."""
        if not 0 <= i < self.samples:
            raise ValueError(f"member {i} is outside this population of {self.samples} graphs")
        adj = self.draw_chunk(i // self.chunk)[i % self.chunk]
        return GraphSpec(self.generator, self.params, self.seed, self.n, adjacency_edges(adj), member=int(i))

    def members(self, indices: Any) -> list[GraphSpec]:
        """Several members, each chunk drawn once."""
        indices = [int(i) for i in indices]
        by_chunk: dict[int, list[int]] = {}
        for i in indices:
            if not 0 <= i < self.samples:
                raise ValueError(f"member {i} is outside this population of {self.samples} graphs")
            by_chunk.setdefault(i // self.chunk, []).append(i)
        found: dict[int, GraphSpec] = {}
        for c, members in by_chunk.items():
            adj = self.draw_chunk(c)
            for i in members:
                found[i] = GraphSpec(self.generator, self.params, self.seed, self.n, adjacency_edges(adj[i % self.chunk]), member=i)
        return [found[i] for i in indices]


def member_graph(generator: str, n: int, seed: int, index: int, **params: Any) -> GraphSpec:
    """Regenerate member ``index`` of the population (generator, params, N, seed)."""
    return Population(generator, params, n, index + 1, seed).member(index)


# --- measuring populations, streamed ----------------------------------------------------------------
class TableWriter:
    """Append DataFrames to one CSV or Parquet file, chunk by chunk; the file appears atomically on close."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in (".csv", ".parquet", ".pq"):
            raise UserError(f"{self.path}: table files must end in .csv or .parquet")
        self.rows = 0
        self._tmp: Path | None = None
        self._file: Any = None
        self._parquet: Any = None

    def __enter__(self) -> "TableWriter":
        # the shared atomic writer: a symlink is written through, a FIFO or device refused, an OSError one line
        self._stack = contextlib.ExitStack()
        self._tmp = self._stack.enter_context(atomic_path(self.path))
        return self

    def write(self, df: Any) -> None:
        """Append the rows of ``df`` (the first chunk fixes the columns)."""
        if self.suffix == ".csv":
            if self._file is None:
                self._file = self._stack.enter_context(open(self._tmp, "w", newline=""))
            df.to_csv(self._file, header=self.rows == 0, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._parquet is None:
                table = pa.Table.from_pandas(df, preserve_index=False)
                self._parquet = self._stack.enter_context(pq.ParquetWriter(self._tmp, table.schema))
            else:
                table = pa.Table.from_pandas(df, schema=self._parquet.schema, preserve_index=False)
            self._parquet.write_table(table)
        self.rows += len(df)

    def __exit__(self, kind: Any, value: Any, tb: Any) -> bool:
        # last in, first out: the files are closed (flushed) before atomic_path renames or removes the temporary
        return bool(self._stack.__exit__(kind, value, tb))


@dataclass
class PopulationResult:
    """What measuring a population returns: the summary tables (its rows went to the table file)."""

    summary: Any  # DataFrame: one row per (generator, setting, metric): mean, std, count, quantiles
    curve: Any  # DataFrame: Watts-Strogatz C(P)/C(0), L(P)/L(0) where a P = 0 setting exists (else empty)
    rows: int  # graphs measured


def population_of(config: Any, setting: dict[str, Any]) -> Population:
    """The population of one setting of a :class:`wiring_lab.metrics.PopulationConfig`."""
    return Population(config.generator, setting, config.nodes, config.samples, config.seed)


def population_record(config: Any) -> dict[str, Any]:
    """How the rows' graphs are drawn, for the table's JSON sidecar."""
    return {
        "draw": "batched (wiring_lab.populations): member i of a setting is in chunk i // chunk_size, "
        "drawn with PCG64(SeedSequence(seed, spawn_key=(chunk,)))",
        "chunk_size": chunk_size(config.nodes),
        "regenerate": "Population(generator, params, n, samples, seed).member(sample)",
    }


def _measure_chunk(adj: np.ndarray, pop: Population, names: list[str], backend: str, device: Any) -> dict[str, np.ndarray]:
    """Graph-level metric arrays of one chunk of members."""
    from wiring_lab import metrics as M

    if backend == "tensor":
        return M.adjacency_metrics(adj, names, (), device=device)[0]
    specs = [GraphSpec(pop.generator, pop.params, pop.seed, pop.n, adjacency_edges(a)) for a in adj]
    return M.metric_arrays(specs, names, (), backend=backend)[0]


def iter_population_metrics(
    config: Any, metrics: list[str] | None = None, progress: bool = False
) -> Iterator[Any]:
    """Per-chunk DataFrames of graph metrics of every setting's population (the rows of ``metrics --out``).

    Columns: ``generator, setting, p, k, m, n, seed, sample`` (``seed`` is the population seed,
    ``sample`` the member index: :meth:`Population.member` regenerates the graph), then metrics.
    Graphs are drawn, measured and handed over one seeded chunk at a time; the next chunk is
    drawn in a background thread while this one is measured.
    """
    import pandas as pd

    from wiring_lab import metrics as M

    names = list(metrics or (M.GRAPH_METRICS + M.EXTRA_GRAPH_METRICS))
    columns = param_columns()
    M._check_backend(config.backend)
    pops = []
    for setting in config.settings():
        try:
            pops.append(population_of(config, setting))
        except ValueError as e:
            raise UserError(f"{setting_label(config.generator, setting)}: {e}") from None
    bar = tqdm(total=config.samples * len(pops), unit="graph", unit_scale=True, disable=not progress, mininterval=0.5)
    with bar, ThreadPoolExecutor(1) as drawer:
        for pop in pops:
            label = setting_label(pop.generator, pop.params)
            starts = list(range(0, pop.samples, pop.chunk))
            pending = drawer.submit(pop.draw_chunk, 0)
            for c, first in enumerate(starts):
                adj = pending.result()[: pop.samples - first]
                if c + 1 < len(starts):
                    pending = drawer.submit(pop.draw_chunk, c + 1)
                values = _measure_chunk(adj, pop, names, config.backend, config.device)
                b = adj.shape[0]
                df = pd.DataFrame(
                    {
                        "generator": pop.generator,
                        "setting": label,
                        # every registered generator's parameters (p, k, m, ...), NaN where this one has none
                        **{c: (float(pop.params.get(c, math.nan)) if c == "p" else pop.params.get(c, math.nan)) for c in columns},
                        "n": pop.n,
                        "seed": pop.seed,
                        "sample": np.arange(first, first + b),
                        **{k: values[k] for k in names},
                    }
                )
                yield M._as_int_columns(df)
                bar.update(b)


def measure_population(config: Any, out: str | Path | None = None, progress: bool = False) -> PopulationResult:
    """Graph metrics of a population config, streamed to ``out`` (CSV/Parquet), summarised in memory.

    Memory: one chunk of graphs and rows at a time, plus the metric values themselves
    (8 bytes x metrics per graph) for the exact quantiles of the summary.
    """
    import pandas as pd

    from wiring_lab import metrics as M

    groups: dict[tuple, dict[str, list[np.ndarray]]] = {}
    keys_of: dict[tuple, dict[str, Any]] = {}
    rows = 0
    with TableWriter(out) if out is not None else contextlib.nullcontext() as writer:
        for df in iter_population_metrics(config, progress=progress):
            if writer is not None:
                writer.write(df)
            key = (df["generator"].iat[0], df["setting"].iat[0])
            keys_of[key] = {c: df[c].iat[0] for c in ("generator", "setting", *param_columns(), "n")}
            cols = groups.setdefault(key, {})
            for name in M.GRAPH_METRICS + M.EXTRA_GRAPH_METRICS:
                cols.setdefault(name, []).append(df[name].to_numpy(dtype=np.float64))
            rows += len(df)
    summary = summarise_arrays({k: {m: np.concatenate(v) for m, v in cols.items()} for k, cols in groups.items()})
    means = pd.DataFrame(
        [
            {**keys_of[k], "avg_clustering": _nanmean(np.concatenate(c["avg_clustering"])), "avg_path_length": _nanmean(np.concatenate(c["avg_path_length"]))}
            for k, c in groups.items()
        ]
    )
    return PopulationResult(summary, M.relative_to_p0(means), rows)


def _nanmean(x: np.ndarray) -> float:
    """Mean of the non-NaN values (NaN if none), as pandas' mean, without numpy's empty-slice warning."""
    ok = ~np.isnan(x)
    return float(x[ok].mean()) if ok.any() else math.nan


def summarise_arrays(groups: dict[tuple[str, str], dict[str, np.ndarray]], quantiles: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)) -> Any:
    """:func:`wiring_lab.metrics.summarise` from per-(generator, setting) metric arrays."""
    import pandas as pd

    records = []
    names = list(dict.fromkeys(name for cols in groups.values() for name in cols))
    for name in names:  # metric-major, as summarise's melt
        for (generator, setting), cols in groups.items():
            x = cols[name][~np.isnan(cols[name])]
            row = {"generator": generator, "setting": setting, "metric": name, "count": x.size}
            row["mean"] = float(x.mean()) if x.size else math.nan
            row["std"] = float(x.std(ddof=1)) if x.size > 1 else math.nan
            for q in quantiles:
                row[f"q{round(q * 100):02d}"] = float(np.quantile(x, q)) if x.size else math.nan
            records.append(row)
    cols = ["generator", "setting", "metric", "mean", "std", "count", *[f"q{round(q * 100):02d}" for q in quantiles]]
    df = pd.DataFrame.from_records(records, columns=cols)
    df["metric"] = pd.Categorical(df["metric"], categories=names, ordered=True)  # as summarise's
    return df
