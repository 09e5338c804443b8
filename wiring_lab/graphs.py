"""Stage graphs of RandWire (Xie et al. 2019, section 3 and appendix): :class:`GraphSpec`, DAGs, files.

:func:`generate_graph` samples one graph from a registered generator (``wiring_lab.generators``:
one module per family) with ``n`` and an explicit ``seed`` and returns a :class:`GraphSpec`: the
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

import networkx as nx
import numpy as np

from wiring_lab._io import atomic_write_text, read_text_file
from wiring_lab._validate import check_graph_params, unique_object
from wiring_lab.generators import (  # noqa: F401  (re-exported: the names people type)
    MAX_NODES,
    STORED_GENERATORS,
    Generator,
    Param,
    check_n,
    check_p,
    generator_params,
    get_generator,
    list_generators,
    register_generator,
    rng_of,
    setting_label,
)
from wiring_lab.generators.ba import barabasi_albert  # noqa: F401
from wiring_lab.generators.chain import chain  # noqa: F401
from wiring_lab.generators.complete import complete  # noqa: F401
from wiring_lab.generators.er import erdos_renyi  # noqa: F401
from wiring_lab.generators.ws import watts_strogatz  # noqa: F401

FORMAT = "wiring-lab-graph"
FORMAT_VERSION = 1

DEFAULT_NODES = 32


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


# --- generators: the registry (wiring_lab.generators), one module per family ----------------------
_check_n = check_n
_check_p = check_p
_rng = rng_of
# Parameters used when a generator's parameter is omitted (RandWire's best settings, N=32).
PAPER_DEFAULTS: dict[str, dict[str, Any]] = {name: get_generator(name).defaults for name in ("er", "ba", "ws", "chain", "complete")}


def generate_graph(generator: str, n: int = DEFAULT_NODES, seed: int = 0, **params: Any) -> GraphSpec:
    """Sample one graph; omitted parameters take the paper defaults (ER P=0.2, BA M=5, WS K=4 P=0.75)."""
    gen = get_generator(generator)
    full = gen.resolve(**params)
    edges = gen.graph(n, seed=seed, **full)
    return GraphSpec(generator, full, int(seed) if seed is not None else None, int(n), tuple(edges))


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
