"""Random graph generators of RandWire (Xie et al. 2019, section 3 and appendix) and stage DAGs.

Every generator takes ``n`` and an explicit ``seed`` and returns a :class:`GraphSpec`: the
undirected graph on nodes ``0..n-1`` as a sorted list of edges ``(u, v)`` with ``u < v``.
Randomness comes from ``numpy.random.Generator(PCG64(seed))``, so the same seed and parameters
give the same graph on every platform.

The DAG of a stage orients every edge from the lower index to the higher; a unique *input node*
feeds every node of in-degree 0 and a unique *output node* takes every node of out-degree 0
(:func:`stage_dag`). In the networkx DAG with input/output nodes the input node has id ``n`` and
the output node id ``n + 1``, so node ids of the generated graph are kept.

>>> spec = generate_graph("ba", n=8, seed=0, m=2)
>>> len(spec.edges) == 2 * (8 - 2)
True
>>> generate_graph("ws", n=8, seed=0, k=4, p=0.0).edges[:3]
((0, 1), (0, 2), (0, 6))
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import networkx as nx

import networkx as nx
import numpy as np

from wiring_lab._io import atomic_write_text, read_text_file
from wiring_lab._validate import check_graph_params, unique_object

FORMAT = "wiring-lab-graph"
FORMAT_VERSION = 1

# Parameters used when a generator's parameter is omitted (RandWire's best settings, N=32).
PAPER_DEFAULTS: dict[str, dict[str, Any]] = {
    "er": {"p": 0.2},
    "ba": {"m": 5},
    "ws": {"k": 4, "p": 0.75},
    "chain": {},
    "complete": {},
}
DEFAULT_NODES = 32
# Upper bound on N for any graph: a file declaring more is refused before anything is allocated
# (the paper uses N <= 32; Watts-Strogatz-style population studies a few thousand).
MAX_NODES = 100_000


@dataclass(frozen=True)
class GraphSpec:
    """One stage's generated graph: generator, its parameters, seed, node count and edges."""

    generator: str  # registry name ("er", "ba", "ws", "chain", "complete", or any label)
    params: dict[str, Any]  # generator parameters, e.g. {"k": 4, "p": 0.75}
    seed: int | None  # seed the graph was generated from (None for imported graphs)
    n: int  # number of nodes, input/output nodes not counted
    edges: tuple[tuple[int, int], ...] = field(default=())  # undirected, u < v, sorted
    member: int | None = None  # index in the batched population drawn from ``seed`` (populations.py); None: ``seed`` is this graph's own

    def __post_init__(self) -> None:
        if not isinstance(self.n, (int, np.integer)) or isinstance(self.n, bool) or self.n < 1:
            raise ValueError(f"graph must have at least one node (got n={self.n!r})")
        if self.n > MAX_NODES:
            raise ValueError(f"graph declares n={self.n} nodes, more than the limit of {MAX_NODES}")
        if not isinstance(self.edges, (list, tuple)):
            raise ValueError("'edges' must be a list of [u, v] pairs")
        canon = set()
        for edge in self.edges:
            if not isinstance(edge, (list, tuple)) or len(edge) != 2:
                raise ValueError(f"edge {edge!r} must be a pair of node ids")
            u, v = edge
            if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in (u, v)):
                raise ValueError(f"edge {edge!r}: node ids must be integers")
            if u == v:
                raise ValueError(f"self loop on node {u}: a stage graph has no self loops")
            if not (0 <= u < self.n and 0 <= v < self.n):
                raise ValueError(f"edge ({u}, {v}) has a node id outside 0..{self.n - 1}")
            e = (int(min(u, v)), int(max(u, v)))
            if e in canon:
                raise ValueError(f"duplicate edge {e}: each pair of nodes is joined at most once")
            canon.add(e)
        if self.member is not None and (isinstance(self.member, bool) or not isinstance(self.member, (int, np.integer)) or self.member < 0):
            raise ValueError(f"'member' must be a non-negative integer or null (got {self.member!r})")

        check_graph_params(self.params)  # JSON-safe: every reader and writer can hold them
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "edges", tuple(sorted(canon)))
        object.__setattr__(self, "params", dict(self.params))

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-container form, as stored in JSON files and checkpoints."""
        d = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "generator": self.generator,
            "params": dict(self.params),
            "seed": self.seed,
            "n": self.n,
            "edges": [list(e) for e in self.edges],
        }
        if self.member is not None:  # only population members carry it: other files keep their bytes
            d["member"] = self.member
        return d

    @classmethod
    def from_dict(cls, d: Any) -> "GraphSpec":
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on anything malformed."""
        if not isinstance(d, dict):
            raise ValueError("a graph must be a JSON object with keys generator, params, seed, n, edges")
        missing = [k for k in ("n", "edges") if k not in d]
        if missing:
            raise ValueError(f"graph is missing key(s): {', '.join(missing)}")
        if d.get("format", FORMAT) != FORMAT:
            raise ValueError(f"not a {FORMAT} file (format={d.get('format')!r})")
        edges = d["edges"]
        if not isinstance(edges, list):
            raise ValueError("'edges' must be a list of [u, v] pairs")
        seed = d.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"'seed' must be an integer or null (got {seed!r})")
        params = d.get("params", {})
        if not isinstance(params, dict):
            raise ValueError("'params' must be an object")
        gen = d.get("generator", "custom")
        if not isinstance(gen, str):
            raise ValueError("'generator' must be a string")
        return cls(gen, params, seed, d["n"], tuple(tuple(e) if isinstance(e, list) else e for e in edges), d.get("member"))

    def to_json(self) -> str:
        """Deterministic JSON text (same graph, same bytes)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "GraphSpec":
        """Parse :meth:`to_json` output."""
        try:
            data = json.loads(text, object_pairs_hook=unique_object)  # a key given twice is refused
        except json.JSONDecodeError as e:
            raise ValueError(f"not valid JSON ({e.msg} at line {e.lineno})") from None
        except (ValueError, RecursionError) as e:  # absurd nesting or numbers
            raise ValueError(f"not valid JSON ({str(e).splitlines()[0][:120] if str(e) else e.__class__.__name__})") from None
        return cls.from_dict(data)

    # --- networkx --------------------------------------------------------------------------
    def to_networkx(self) -> nx.Graph:
        """Undirected generated graph (input/output nodes excluded)."""
        g = nx.Graph(generator=self.generator, params=dict(self.params), seed=self.seed)
        g.add_nodes_from(range(self.n))
        g.add_edges_from(self.edges)
        return g

    @classmethod
    def from_networkx(cls, g: nx.Graph, generator: str | None = None, seed: int | None = None) -> "GraphSpec":
        """Build from a networkx graph whose nodes are ``0..n-1`` (directions are dropped)."""
        nodes = sorted(g.nodes)
        if nodes != list(range(len(nodes))):
            raise ValueError("graph nodes must be the integers 0..n-1; relabel with nx.convert_node_labels_to_integers")
        if g.is_directed():
            bad = [(u, v) for u, v in g.edges if u > v]
            if bad:
                raise ValueError(f"directed edge {bad[0]} points from a higher to a lower index")
        edges = {(min(u, v), max(u, v)) for u, v in g.edges}
        return cls(
            generator if generator is not None else g.graph.get("generator", "custom"),
            dict(g.graph.get("params", {})),
            seed if seed is not None else g.graph.get("seed"),
            len(nodes),
            tuple(sorted(edges)),
        )

    def to_dag(self) -> nx.DiGraph:
        """The stage DAG with its input node (id ``n``) and output node (id ``n + 1``)."""
        dag = stage_dag(self)
        g = nx.DiGraph(generator=self.generator, params=dict(self.params), seed=self.seed)
        g.add_nodes_from(range(self.n), role="node")
        g.add_node(dag.input_id, role="input")
        g.add_node(dag.output_id, role="output")
        g.add_edges_from(self.edges)
        g.add_edges_from((dag.input_id, v) for v in dag.input_fed)
        g.add_edges_from((v, dag.output_id) for v in dag.output_fed)
        return g


@dataclass(frozen=True)
class StageDAG:
    """Directed view of a :class:`GraphSpec`: edges low -> high; index order is topological."""

    n: int
    preds: tuple[tuple[int, ...], ...]  # preds[v]: generated-graph predecessors of v, ascending
    succs: tuple[tuple[int, ...], ...]  # succs[v]: generated-graph successors of v, ascending
    input_fed: tuple[int, ...]  # nodes of in-degree 0, fed by the input node
    output_fed: tuple[int, ...]  # nodes of out-degree 0, read by the output node

    @property
    def input_id(self) -> int:
        """Id of the input node in :meth:`GraphSpec.to_dag`."""
        return self.n

    @property
    def output_id(self) -> int:
        """Id of the output node in :meth:`GraphSpec.to_dag`."""
        return self.n + 1

    def descendants(self, v: int) -> set[int]:
        """Nodes reachable from ``v`` (``v`` excluded), within the generated graph."""
        seen: set[int] = set()
        stack = list(self.succs[v])
        while stack:
            u = stack.pop()
            if u not in seen:
                seen.add(u)
                stack.extend(self.succs[u])
        return seen


def stage_dag(spec: GraphSpec) -> StageDAG:
    """Orient ``spec`` into a DAG (lower index -> higher) with its input- and output-fed nodes."""
    preds: list[list[int]] = [[] for _ in range(spec.n)]
    succs: list[list[int]] = [[] for _ in range(spec.n)]
    for u, v in spec.edges:
        succs[u].append(v)
        preds[v].append(u)
    return StageDAG(
        n=spec.n,
        preds=tuple(tuple(sorted(p)) for p in preds),
        succs=tuple(tuple(sorted(s)) for s in succs),
        input_fed=tuple(v for v in range(spec.n) if not preds[v]),
        output_fed=tuple(v for v in range(spec.n) if not succs[v]),
    )


# --- generators ------------------------------------------------------------------------------
def _check_n(n: Any) -> None:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise ValueError(f"n must be an integer (got {n!r})")
    if n < 2:
        raise ValueError(f"n must be at least 2 (got n={n}); choose a larger n")
    if n > MAX_NODES:
        raise ValueError(f"n={n} is more than the limit of {MAX_NODES} nodes; choose a smaller n")


def _check_p(p: Any) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not math.isfinite(p):
        raise ValueError(f"p must be a number in [0, 1] (got {p!r})")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1] (got p={p}); choose a probability between 0 and 1")
    return float(p)


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer (got {seed!r})")
    return np.random.Generator(np.random.PCG64(int(seed)))


def erdos_renyi(n: int, p: float, seed: int) -> list[tuple[int, int]]:
    """ER(P): each unordered pair joined with probability ``p``; then indices in a random order."""
    _check_n(n)
    p = _check_p(p)
    rng = _rng(seed)
    iu, ju = np.triu_indices(n, k=1)  # pairs in a fixed (row-major) order
    keep = rng.random(iu.size) < p
    perm = rng.permutation(n)  # node i of the sampled graph gets index perm[i]
    return [(int(perm[i]), int(perm[j])) for i, j in zip(iu[keep], ju[keep])]


def barabasi_albert(n: int, m: int, seed: int) -> list[tuple[int, int]]:
    """BA(M): M initial nodes without edges; each new node adds M distinct edges by degree.

    The first added node (index M) joins all M initial nodes; every later node picks M distinct
    existing nodes with probability proportional to their degree. Exactly ``M (N - M)`` edges.
    Not networkx's ``barabasi_albert_graph``, which starts from a star.
    """
    _check_n(n)
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)):
        raise ValueError(f"m must be an integer (got {m!r})")
    if not 1 <= m < n:
        raise ValueError(f"BA needs 1 <= m < n (got m={m}, n={n}); choose a smaller m or a larger n")
    rng = _rng(seed)
    degree = np.zeros(n, dtype=np.float64)
    edges = [(i, m) for i in range(m)]
    degree[:m] += 1
    degree[m] = m
    for v in range(m + 1, n):
        weights = degree[:v].copy()
        for _ in range(m):  # sequential sampling without replacement, proportional to degree
            u = int(rng.choice(v, p=weights / weights.sum()))
            weights[u] = 0.0
            edges.append((u, v))
        for u, _ in edges[-m:]:
            degree[u] += 1
        degree[v] = m
    return edges


def watts_strogatz(n: int, k: int, p: float, seed: int) -> list[tuple[int, int]]:
    """WS(K, P): ring lattice with K/2 neighbours per side, then clockwise rewiring.

    For i = 1..K/2 and every node v in clockwise order, the edge (v, v+i) is rewired with
    probability ``p`` to (v, w), w uniform among nodes that are not v and not neighbours of v.
    """
    _check_n(n)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be an integer (got {k!r})")
    if k % 2:
        raise ValueError(f"WS needs an even k (got k={k}); choose k={k - 1} or k={k + 1}")
    if not 2 <= k < n:
        raise ValueError(f"WS needs 2 <= k < n (got k={k}, n={n}); choose a smaller k or a larger n")
    p = _check_p(p)
    rng = _rng(seed)
    adj = [set() for _ in range(n)]
    for v in range(n):
        for i in range(1, k // 2 + 1):
            w = (v + i) % n
            adj[v].add(w)
            adj[w].add(v)
    for i in range(1, k // 2 + 1):
        for v in range(n):
            u = (v + i) % n
            if rng.random() >= p:
                continue
            candidates = [w for w in range(n) if w != v and w not in adj[v]]
            if not candidates:  # v already joined to every node: nothing to rewire to
                continue
            w = candidates[int(rng.integers(len(candidates)))]
            adj[v].discard(u)
            adj[u].discard(v)
            adj[v].add(w)
            adj[w].add(v)
    return [(v, w) for v in range(n) for w in adj[v] if v < w]


def chain(n: int, seed: int | None = None) -> list[tuple[int, int]]:
    """A path 0 - 1 - ... - (n-1): the plain stacked-layer wiring."""
    _check_n(n)
    return [(i, i + 1) for i in range(n - 1)]


def complete(n: int, seed: int | None = None) -> list[tuple[int, int]]:
    """Every pair i < j joined: DenseNet-like wiring."""
    _check_n(n)
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


_GENERATORS: dict[str, Callable[..., list[tuple[int, int]]]] = {
    "er": erdos_renyi,
    "ba": barabasi_albert,
    "ws": watts_strogatz,
    "chain": chain,
    "complete": complete,
}
# generator -> its parameters' defaults (the paper's for the built-in generators)
_DEFAULTS: dict[str, dict[str, Any]] = {name: dict(PAPER_DEFAULTS[name]) for name in _GENERATORS}
# Labels of stage graphs that are stored, never sampled: a GraphSpec or ModelConfig may carry them,
# but generating a graph under one says how to get the graphs instead.
STORED_GENERATORS: dict[str, str] = {
    "search": "a searched wiring (generator 'search') is not sampled from a seed; "
    "build it from its stage graphs (its checkpoint, or --graphs FILE_OR_DIR)",
}


def register_generator(name: str, fn: Callable[..., list[tuple[int, int]]], defaults: dict | None = None) -> None:
    """Add a generator ``fn(n, seed=..., **params) -> edges`` under ``name``; ``defaults`` fill omitted parameters.

    ``fn`` must be deterministic in ``seed``. A built-in generator's name cannot be taken.
    """
    if name in PAPER_DEFAULTS or name in STORED_GENERATORS:
        raise ValueError(f"generator name {name!r} is built in; choose another name")
    if not isinstance(name, str) or not name or not callable(fn):
        raise ValueError(f"register_generator needs a non-empty name and a callable (got {name!r}, {fn!r})")
    _GENERATORS[name] = fn
    _DEFAULTS[name] = dict(defaults or {})


def list_generators() -> list[str]:
    """Names of the registered generators."""
    return sorted(_GENERATORS)


def generator_params(generator: str, **params: Any) -> dict[str, Any]:
    """Fill omitted parameters with the paper defaults; reject unknown ones."""
    if generator in STORED_GENERATORS:
        raise ValueError(STORED_GENERATORS[generator])
    if generator not in _GENERATORS:
        raise ValueError(f"unknown generator {generator!r}; choose one of {', '.join(list_generators())}")
    defaults = _DEFAULTS[generator]
    unknown = sorted(k for k, v in params.items() if v is not None and k not in defaults)
    if unknown:
        allowed = ", ".join(defaults) or "none"
        raise ValueError(f"generator {generator!r} takes no parameter {unknown[0]!r} (its parameters: {allowed})")
    full = {k: (params[k] if params.get(k) is not None else v) for k, v in defaults.items()}
    _check_params(generator, full)
    return full


def _check_params(generator: str, params: dict[str, Any]) -> None:
    """Types and ranges of the paper generators' parameters that do not depend on ``n``."""
    if generator not in ("er", "ba", "ws"):
        return
    if "p" in params:
        _check_p(params["p"])
    for name, low, model in (("k", 2, "WS"), ("m", 1, "BA")):
        if name in params:
            v = params[name]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"{name} must be an integer (got {v!r})")
            if v < low:
                raise ValueError(f"{model} needs {low} <= {name} < n (got {name}={v}); choose a larger {name}")
    if generator == "ws" and params.get("k", 0) % 2:
        k = params["k"]
        raise ValueError(f"WS needs an even k (got k={k}); choose k={k - 1} or k={k + 1}")


def generate_graph(generator: str, n: int = DEFAULT_NODES, seed: int = 0, **params: Any) -> GraphSpec:
    """Sample one graph; omitted parameters take the paper defaults (ER P=0.2, BA M=5, WS K=4 P=0.75)."""
    full = generator_params(generator, **params)
    edges = _GENERATORS[generator](n, seed=seed, **full)
    return GraphSpec(generator, full, int(seed) if seed is not None else None, int(n), tuple(edges))


def setting_label(generator: str, params: dict[str, Any]) -> str:
    """Paper-style label of a generator setting: ``WS(4, 0.75)``, ``ER(0.2)``, ``BA(5)``, ``chain``."""
    order = {"er": ("p",), "ba": ("m",), "ws": ("k", "p"), "search": ("strategy",)}.get(generator, tuple(sorted(params)))
    values = [params[k] for k in order if k in params]
    if not values:
        return generator
    return f"{generator.upper()}({', '.join(f'{v:g}' if isinstance(v, float) else str(v) for v in values)})"


def stage_seeds(seed: int, count: int) -> list[int]:
    """Independent per-stage seeds derived from one network seed (platform independent)."""
    _rng(seed)  # validates
    children = np.random.SeedSequence(int(seed)).spawn(count)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


# --- files -----------------------------------------------------------------------------------
def save_graph(spec: GraphSpec, path: str | Path) -> Path:
    """Write ``spec`` as JSON (atomically)."""
    return atomic_write_text(Path(path), spec.to_json())


def load_graph(path: str | Path) -> GraphSpec:
    """Read a graph JSON file; errors name the file."""
    path = Path(path)

    text = read_text_file(path, "graph file")
    try:
        return GraphSpec.from_json(text)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
