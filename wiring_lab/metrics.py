"""Graph metrics of stage graphs, per graph, per node and over generator populations.

Definitions (one per metric; every backend returns these numbers)
------------------------------------------------------------------
Graph level, on the generated undirected graph G (N nodes; input/output nodes excluded):

- ``avg_degree``: 2|E| / N. Extra columns: ``degree_std`` (population std, ddof 0),
  ``degree_max``, ``n_edges``.
- ``avg_clustering``: mean over all N nodes of the local clustering
  c(v) = triangles(v) / (deg(v) (deg(v) - 1) / 2); nodes of degree < 2 count 0
  (networkx ``average_clustering``).
- ``transitivity``: 3 x triangles / connected triples; 0 when there is no triple.
- ``avg_path_length``: mean hop distance over the *connected* ordered pairs (s, t), s != t;
  NaN when no pair is connected (no edges). ``n_components`` (connected components, isolated
  nodes count) is reported beside it.
- ``diameter``: the longest finite shortest path (the largest component's diameter if G is
  disconnected; 0 without edges).
- ``global_efficiency``: mean of 1/d(s, t) over all ordered pairs s != t, 1/inf = 0
  (networkx ``global_efficiency``; 0 for N < 2).
- ``assortativity``: Pearson correlation of the degrees at the two ends of every edge, each edge
  taken in both directions (networkx ``degree_assortativity_coefficient``). NaN where it is
  undefined: no edges, or every edge end has the same degree (e.g. any regular graph, such as
  the ring lattice WS(K, 0)).

On the stage DAG (edges low -> high index, plus the input node feeding every node of
in-degree 0 and the output node reading every node of out-degree 0):

- ``depth``: edges on the longest input -> output path (an isolated node gives 2).
- ``n_io_paths``: number of distinct input -> output paths.
- ``mean_io_path_length``: mean length (edges) over those paths.
- ``n_input_fed`` / ``n_output_fed``: nodes fed by the input node / read by the output node.

Node level (node ids 0..N-1):

- ``in_degree_graph``, ``out_degree_graph``: in the generated DAG (input/output edges not counted).
- ``in_degree_dag``, ``out_degree_dag``: with the input/output nodes' edges (an input-fed node
  has in-degree 1, an output-fed node out-degree 1 more than in the generated graph, i.e. 1).
- ``degree_graph``: undirected degree in G. ``clustering``: local clustering as above.
  (Older tables named these ``in_degree``, ``out_degree``, ``degree``; :mod:`wiring_lab.columns`
  renames them on reading, and the old names are accepted wherever a metric is named.)
- ``betweenness``: sum over ordered pairs s != t (both != v) of sigma_st(v) / sigma_st,
  divided by (N-1)(N-2) (networkx ``betweenness_centrality(normalized=True)``, undirected;
  pairs that are not connected contribute 0).
- ``closeness``: (r - 1) / sum of distances to the r - 1 nodes reachable from v, times
  (r - 1) / (N - 1) (networkx's Wasserman-Faust form for disconnected graphs); 0 if isolated.
- ``pagerank``: PageRank of G (each edge both ways), damping 0.85, uniform teleport; an
  isolated node's rank is spread uniformly. The tensor backend solves the linear system
  exactly; networkx and graph-tool iterate to an L1 change below 32 x 1e-13 / 1e-13, so the
  backends agree to ~1e-11.
- ``depth``: edges on the longest path input node -> v (input-fed nodes: 1).
- ``height``: edges on the longest path v -> output node (output-fed nodes: 1).
- ``paths_through``: input -> output paths through v = paths(input -> v) x paths(v -> output).

Path counts are float64 columns: exact below 2**53 (9.0e15); larger counts (only for dense
graphs with N well above 50) are rounded to float64 precision by every backend (networkx counts
with Python integers and rounds at the end; the tensor backend accumulates in float64, so a
relative difference of ~1e-16 per step is possible there).

Backends: ``tensor`` (default; batched torch on any device, float64), ``networkx`` (the
reference) and ``graph-tool`` (when importable).
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import asdict, dataclass, field
from itertools import chain, product
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from wiring_lab import _metrics_bits, _metrics_gt, _metrics_nx, _metrics_tensor
from wiring_lab._io import UserError, library_versions, resolve_device
from wiring_lab._limits import check_graph_metrics, check_work, population_work
from wiring_lab.checkpoint import load_graphs, read_graphs
from wiring_lab.columns import canonical_metric
from wiring_lab.generators import param_columns
from wiring_lab.graphs import GraphSpec, generate_graph, generator_params, setting_label
from wiring_lab.importers._common import read_edge_text, read_networkx_yaml
from wiring_lab.loading import load_checkpoint

GRAPH_METRICS: tuple[str, ...] = (
    "avg_degree",
    "avg_clustering",
    "avg_path_length",
    "n_components",
    "diameter",
    "transitivity",
    "global_efficiency",
    "assortativity",
    "depth",
    "mean_io_path_length",
    "n_io_paths",
    "n_input_fed",
    "n_output_fed",
)
EXTRA_GRAPH_METRICS: tuple[str, ...] = ("degree_std", "degree_max", "n_edges")
NODE_METRICS: tuple[str, ...] = (
    "in_degree_graph",
    "out_degree_graph",
    "in_degree_dag",
    "out_degree_dag",
    "degree_graph",
    "clustering",
    "betweenness",
    "closeness",
    "pagerank",
    "depth",
    "height",
    "paths_through",
)
# Integer-valued columns (stored as int64 in the tables).
INTEGER_METRICS = {
    "n_components",
    "diameter",
    "depth",
    "n_input_fed",
    "n_output_fed",
    "degree_max",
    "n_edges",
    "in_degree_graph",
    "out_degree_graph",
    "in_degree_dag",
    "out_degree_dag",
    "degree_graph",
    "height",
}
# Public node-metric names the backends compute under another (their original) name; the
# ``*_dag`` degrees derive from the generated-graph ones (a 0 there is the input/output edge: 1).
_BACKEND_NODE_NAMES = {
    "in_degree_graph": "in_degree",
    "out_degree_graph": "out_degree",
    "degree_graph": "degree",
    "in_degree_dag": "in_degree",
    "out_degree_dag": "out_degree",
}
BACKENDS: tuple[str, ...] = ("tensor", "networkx", "graph-tool")
POPULATION_KEYS: tuple[str, ...] = ("generator", "setting", "p", "k", "m", "n", "seed", "sample")
STAGE_KEYS: tuple[str, ...] = ("generator", "setting", "p", "k", "m", "n", "seed", "model", "stage")


def _check_names(names: Iterable[str] | None, known: Sequence[str], level: str) -> list[str]:
    """Validate requested metric names (old degree names accepted); None means all of ``known``."""
    if names is None:
        return list(known)
    names = [canonical_metric(m) for m in names]
    bad = [m for m in names if m not in known]
    if bad:
        raise UserError(f"unknown {level} metric {bad[0]!r}; choose from {', '.join(known)}")
    if not names:
        raise UserError(f"no {level} metric asked for; choose from {', '.join(known)}")
    return names


def _check_backend(backend: str) -> str:
    """Validate a backend name (and graph-tool's presence)."""
    if backend not in BACKENDS:
        raise UserError(f"unknown metrics backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "graph-tool":
        if not _metrics_gt.available():
            raise UserError("backend graph-tool asked for, but graph_tool is not importable; install python3-graph-tool or use --backend tensor")
    return backend


def _compute(specs: Sequence[GraphSpec], gm: list[str], nm: list[str], backend: str, device: Any, chunk: int | None):
    """Dispatch one group of equal-size graphs to a backend."""
    if backend == "tensor":
        return adjacency_metrics(adjacency(specs), gm, nm, device=device, chunk=chunk)
    if backend == "networkx":
        return _metrics_nx.compute(specs, gm, nm)

    return _metrics_gt.compute(specs, gm, nm)


def _cpu_only_torch() -> bool:
    """Whether the installed torch is a CPU-only build (read from its version file, without importing it)."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return True
    try:
        text = (Path(list(spec.submodule_search_locations)[0]) / "version.py").read_text()
    except OSError:
        return False
    return any(line.replace(" ", "").startswith(("cuda=None", "cuda:Optional[str]=None")) for line in text.splitlines())


def adjacency_metrics(
    adj: np.ndarray, gm: Sequence[str], nm: Sequence[str] = (), device: Any = "auto", chunk: int | None = None
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Tensor backend on a (B, N, N) bool adjacency: graph-level (B,) and node-level (B, N) arrays.

    On a CPU, graph-level metrics of graphs with N <= 64 run on bit-parallel numpy kernels
    (``_metrics_bits``: same definitions, same numbers, no torch import); everything else on torch.
    """
    on_cpu = (device == "cpu" or (device == "auto" and _cpu_only_torch())) if isinstance(device, str) else device.type == "cpu"
    if on_cpu and _metrics_bits.supported(adj.shape[1], set(gm), set(nm)):
        return _metrics_bits.compute_batched(adj, set(gm)), {}

    dev = resolve_device(device) if isinstance(device, str) else device
    return _metrics_tensor.compute(adj, gm, nm, device=dev, chunk=chunk)


def adjacency(specs: Sequence[GraphSpec]) -> np.ndarray:
    """Undirected adjacency of equal-size graphs as a (B, N, N) bool array."""
    n = specs[0].n
    counts = np.fromiter((len(s.edges) for s in specs), dtype=np.int64, count=len(specs))
    flat = np.fromiter(chain.from_iterable(chain.from_iterable(s.edges for s in specs)), dtype=np.int64, count=2 * int(counts.sum()))
    u, v = flat[0::2], flat[1::2]
    g = np.repeat(np.arange(len(specs)), counts)
    adj = np.zeros((len(specs), n, n), dtype=bool)
    adj[g, u, v] = True
    adj[g, v, u] = True
    return adj


def _groups_by_size(specs: Sequence[GraphSpec]) -> dict[int, list[int]]:
    """Indices of ``specs`` grouped by node count (a batch holds equal-size graphs)."""
    groups: dict[int, list[int]] = {}
    for i, spec in enumerate(specs):
        groups.setdefault(spec.n, []).append(i)
    return groups


def _spec_rows(specs: Sequence[GraphSpec]) -> pd.DataFrame:
    """Generator, setting, parameters (p, k, m, then any registered generator's), N and seed, one row per graph."""
    params = param_columns()
    return pd.DataFrame(
        [{"generator": s.generator, "setting": setting_label(s.generator, s.params), **{name: s.params.get(name, math.nan) for name in params},
          "n": s.n, "seed": s.seed} for s in specs],
        columns=["generator", "setting", *params, "n", "seed"],
    )


def _as_int_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Integer-valued metric columns as int64 (they are exact integers in every backend)."""
    for col in df.columns:
        if col in INTEGER_METRICS and df[col].notna().all():
            df[col] = np.rint(df[col].to_numpy(dtype=float)).astype(np.int64)
    return df


def metric_arrays(
    specs: Sequence[GraphSpec],
    graph: Iterable[str] = (),
    node: Iterable[str] = (),
    backend: str = "tensor",
    device: Any = "auto",
    chunk: int | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, list[np.ndarray]]]:
    """Graph-level arrays (B,) and per-graph node arrays of ``specs``, in one pass per backend."""
    gm = _check_names(graph, GRAPH_METRICS + EXTRA_GRAPH_METRICS, "graph") if graph else []
    nm = _check_names(node, NODE_METRICS, "node") if node else []
    _check_backend(backend)
    backend_nm = list(dict.fromkeys(_BACKEND_NODE_NAMES.get(k, k) for k in nm))
    g_vals = {k: np.full(len(specs), math.nan) for k in gm}
    n_vals: dict[str, list[np.ndarray]] = {k: [np.zeros(0)] * len(specs) for k in nm}
    for idx in _groups_by_size(specs).values():
        g, nv = _compute([specs[i] for i in idx], gm, backend_nm, backend, device, chunk)
        for k in gm:
            g_vals[k][idx] = g[k]
        for k in nm:
            for j, i in enumerate(idx):
                vals = np.asarray(nv[_BACKEND_NODE_NAMES.get(k, k)][j])
                n_vals[k][i] = np.maximum(vals, 1.0) if k.endswith("_dag") else vals
    return g_vals, n_vals


def graph_metrics(
    specs: Sequence[GraphSpec] | GraphSpec,
    backend: str = "tensor",
    device: Any = "auto",
    metrics: Iterable[str] | None = None,
    chunk: int | None = None,
) -> pd.DataFrame:
    """Graph-level metrics, one row per graph (columns ``generator, setting, p, k, m, n, seed`` then metrics)."""
    specs = [specs] if isinstance(specs, GraphSpec) else list(specs)
    names = _check_names(metrics, GRAPH_METRICS + EXTRA_GRAPH_METRICS, "graph")
    values, _ = metric_arrays(specs, names, (), backend, device, chunk)
    rows = _spec_rows(specs)
    return _as_int_columns(pd.concat([rows, pd.DataFrame(values)], axis=1))


def node_metrics(
    specs: Sequence[GraphSpec] | GraphSpec,
    backend: str = "tensor",
    device: Any = "auto",
    metrics: Iterable[str] | None = None,
    chunk: int | None = None,
) -> pd.DataFrame:
    """Node-level metrics, one row per node (columns ``graph, node`` then metrics; ``graph`` indexes ``specs``)."""
    single = isinstance(specs, GraphSpec)
    specs = [specs] if single else list(specs)
    names = _check_names(metrics, NODE_METRICS, "node")
    _, values = metric_arrays(specs, (), names, backend, device, chunk)
    sizes = np.array([s.n for s in specs], dtype=np.int64)
    df = pd.DataFrame(
        {
            "graph": np.repeat(np.arange(len(specs)), sizes),
            "node": np.concatenate([np.arange(n) for n in sizes]) if specs else np.zeros(0, np.int64),
            **{k: np.concatenate(values[k]) if specs else np.zeros(0) for k in names},
        }
    )
    if single:
        df = df.drop(columns="graph")
    return _as_int_columns(df)


# --- populations -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PopulationConfig:
    """A generator population: the parameter grid, graph size, samples per setting, seed."""

    generator: str  # registry name: er, ba, ws, chain, complete
    grid: dict[str, list] = field(default_factory=dict)  # parameter -> values; the product is sampled
    nodes: int = 32  # N
    samples: int = 1000  # graphs per setting
    seed: int = 0  # population seed; per-graph seeds are spawned from it
    backend: str = "tensor"
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ValueError(f"samples must be at least 1 (got {self.samples})")
        if self.seed < 0:
            raise ValueError(f"seed must be non-negative (got {self.seed})")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown metrics backend {self.backend!r}; choose one of {', '.join(BACKENDS)}")
        for key, values in self.grid.items():
            if not isinstance(values, (list, tuple)) or not values:
                raise ValueError(f"parameter {key!r} needs at least one value (e.g. --{key} 0.1,0.2)")
        for setting in self.settings():
            generator_params(self.generator, **setting)  # validates names


    def settings(self) -> list[dict[str, Any]]:
        """The parameter settings: the product of the grid's value lists."""
        keys = sorted(self.grid)
        return [dict(zip(keys, values)) for values in product(*(self.grid[k] for k in keys))]


def sample_seeds(seed: int, count: int) -> list[int]:
    """Per-graph seeds spawned from one population seed (numpy SeedSequence, platform independent)."""
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in np.random.SeedSequence(int(seed)).spawn(count)]


def sample_population(generator: str, n: int, samples: int, seed: int, **params: Any) -> list[GraphSpec]:
    """``samples`` graphs of one generator setting, each from its own spawned seed."""
    return [generate_graph(generator, n, seed=s, **params) for s in sample_seeds(seed, samples)]


def check_population(config: PopulationConfig, where: str | Path | None = None) -> None:
    """Refuse, before any graph is drawn, a population over the work limit (graph nodes drawn and
    measured, all settings) or one setting's graphs over the memory budget (they are measured together)."""
    settings = len(config.settings())
    what = f"a population of {settings:,} setting(s) x {config.samples:,} graphs of {config.nodes:,} nodes"
    check_work(population_work(settings * config.samples, config.nodes), what, where)
    check_graph_metrics(config.nodes, config.samples, config.backend, where)


def population_metrics(config: PopulationConfig, progress: bool = False) -> pd.DataFrame:
    """Graph metrics of every sampled graph, one row group per setting (population_metrics.csv rows)."""
    check_population(config)
    frames = []
    settings = config.settings()
    for setting in settings:
        try:
            specs = sample_population(config.generator, config.nodes, config.samples, config.seed, **setting)
        except ValueError as e:
            raise UserError(f"{setting_label(config.generator, setting)}: {e}") from None
        df = graph_metrics(specs, backend=config.backend, device=config.device)
        df.insert(7, "sample", np.arange(len(specs)))
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def summarise(df: pd.DataFrame, by: Sequence[str] = ("generator", "setting"), quantiles: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95)) -> pd.DataFrame:
    """Mean, std and quantiles of every graph metric per group, one row per (group, metric)."""
    by = [c for c in by if c in df.columns]
    names = [m for m in GRAPH_METRICS + EXTRA_GRAPH_METRICS if m in df.columns]
    long = df.melt(id_vars=by, value_vars=names, var_name="metric", value_name="value")
    long["metric"] = pd.Categorical(long["metric"], categories=names, ordered=True)
    grouped = long.groupby([*by, "metric"], sort=False, observed=True)["value"]
    out = grouped.agg(mean="mean", std="std", count="count")
    for q in quantiles:
        out[f"q{round(q * 100):02d}"] = grouped.quantile(q)
    return out.reset_index()


def relative_to_p0(df: pd.DataFrame) -> pd.DataFrame:
    """Watts-Strogatz curve: mean C(P)/C(0) and L(P)/L(0) per setting, where a P=0 setting exists,
    with the quartiles (``C/C(0) q25`` ... ``L/L(0) q75``) of each graph's ratio to the lattice's mean."""
    if "p" not in df.columns or not (df["p"] == 0).any():
        return pd.DataFrame()
    keys = [c for c in ("generator", "k", "m", "n") if c in df.columns and df[c].notna().all()]
    means = df.groupby([*keys, "p"], dropna=False)[["avg_clustering", "avg_path_length"]].mean().reset_index()
    base = means[means["p"] == 0].drop(columns="p").rename(columns={"avg_clustering": "c0", "avg_path_length": "l0"})
    out = means.merge(base, on=keys) if keys else means.assign(c0=base["c0"].iloc[0], l0=base["l0"].iloc[0])
    out["C/C(0)"] = out["avg_clustering"] / out["c0"]
    out["L/L(0)"] = out["avg_path_length"] / out["l0"]
    # the spread over graphs: quartiles of each graph's ratio to the lattice's mean
    per = df.merge(base, on=keys) if keys else df.assign(c0=base["c0"].iloc[0], l0=base["l0"].iloc[0])
    per = per.assign(rc=per["avg_clustering"] / per["c0"], rl=per["avg_path_length"] / per["l0"])
    q = per.groupby([*keys, "p"], dropna=False)[["rc", "rl"]].quantile([0.25, 0.75]).unstack()
    q.columns = [f"{'C/C(0)' if c == 'rc' else 'L/L(0)'} q{int(round(100 * v))}" for c, v in q.columns]
    out = out.merge(q.reset_index(), on=[*keys, "p"], how="left")
    return out.drop(columns=["c0", "l0"]).sort_values([*keys, "p"]).reset_index(drop=True)


# --- files -----------------------------------------------------------------------------------
def read_stage_graphs(
    path: str | Path, format: str = "native", graphs: str | Path | Sequence[str | Path] | None = None
) -> tuple[str, list[GraphSpec]]:
    """Model name and stage graphs of a checkpoint (native, or foreign with ``format``) or a graph file.

    Graph files: the project's JSON (a file, a list, or a directory of them), a networkx YAML dump
    (``.yaml``/``.yml`` or an extension-less file, as JiaminRen / leaderj1001 write them) or a
    seungwonpark text graph (``.txt``). Nothing is unpickled.
    """
    path = Path(path)
    if format != "native":
        return path.stem, list(load_checkpoint(path, graphs=graphs, format=format).graphs)
    suffix = path.suffix.lower()
    if path.is_dir() or suffix == ".json":
        return path.stem, load_graphs(path)
    if suffix in (".yaml", ".yml") or (path.is_file() and suffix == "" and path.read_bytes()[:64].lstrip().startswith((b"!!", b"_", b"{"))):
        return path.stem, [read_networkx_yaml(path)]
    if suffix == ".txt":
        n, edges = read_edge_text(path)
        return path.stem, [GraphSpec("custom", {}, None, n, tuple(edges))]
    return path.stem, read_graphs(path)


def stage_metrics(specs: Sequence[GraphSpec], model: str, backend: str = "tensor", device: Any = "auto") -> pd.DataFrame:
    """Graph metrics of a model's stage graphs (stage_metrics.csv rows; stages numbered from 0, as ``model.stages``)."""
    df = graph_metrics(specs, backend=backend, device=device)
    df.insert(7, "model", model)
    df.insert(8, "stage", np.arange(len(specs)))
    return df


def stage_node_metrics(specs: Sequence[GraphSpec], model: str, backend: str = "tensor", device: Any = "auto") -> pd.DataFrame:
    """Node metrics of a model's stage graphs (node_metrics.csv rows: ``model, stage, node`` + metrics)."""
    df = node_metrics(list(specs), backend=backend, device=device)
    df.insert(0, "model", model)
    df.insert(1, "stage", df.pop("graph"))
    return df


def file_metrics(
    path: str | Path,
    per: str = "stage",
    backend: str = "tensor",
    device: Any = "auto",
    format: str = "native",
    graphs: str | Path | Sequence[str | Path] | None = None,
) -> pd.DataFrame:
    """Metrics of a checkpoint's or graph file's stages: ``per="stage"`` or ``per="node"``."""
    if per not in ("stage", "node"):
        raise UserError(f"--per must be stage or node (got {per!r})")
    model, specs = read_stage_graphs(path, format=format, graphs=graphs)

    check_graph_metrics(max((s.n for s in specs), default=1), len(specs), backend, path)  # before any N x N matrix
    if per == "node":
        return stage_node_metrics(specs, model, backend=backend, device=device)
    return stage_metrics(specs, model, backend=backend, device=device)


def config_record(config: PopulationConfig) -> dict[str, Any]:
    """JSON sidecar contents for a population table."""
    return {"config": asdict(config), "versions": library_versions()}
