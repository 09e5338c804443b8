"""Helpers shared by the importers: safe reading of foreign files, graph files, state-dict mapping.

Nothing here runs code from a file: checkpoints go through ``torch.load(weights_only=True)``,
pickle streams are only *scanned* (``pickletools``) to explain a refusal, and YAML written by
``nx.write_yaml`` is parsed by a restricted safe loader that turns ``!!python/...`` tags into
plain mappings, lists and strings instead of constructing objects.
"""

from __future__ import annotations

import io
import pickletools
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
import yaml

from wiring_lab._io import UserError, read_text_file
from wiring_lab._validate import construct_unique_mapping
from wiring_lab.checkpoint import read_checkpoint
from wiring_lab.graphs import MAX_NODES, GraphSpec
from wiring_lab.model import ModelConfig

# What a user runs in their own environment (torch + networkx) to turn a checkpoint whose stage
# graphs are pickled networkx objects into graph files wiring-lab reads. The script
# (wiring_lab/importers/export_pickled.py) imports only torch, networkx and json; it unpickles the
# file, so it is offered only for files whose pickle names nothing beyond the types below.
EXPORT_HINT = (
    "if you trust the file, export its graphs where torch and networkx are installed: "
    "python -m wiring_lab.importers.export_pickled CKPT OUT_DIR (the file wiring_lab/importers/export_pickled.py runs "
    "on its own too; it unpickles CKPT) -> OUT_DIR/stage<i>.json for metrics and export-graphs; this layout's weights "
    "are not imported"
)

# Globals a pickle of networkx graphs, numpy node labels and torch tensors names. Anything else
# (os.system, builtins.eval, argparse.Namespace, __main__.X, ...) makes unpickling run or build
# objects nobody vetted, so no message ever suggests weights_only=False for such a file.
_CONTAINERS = ("dict", "list", "tuple", "set", "frozenset", "bytearray", "bytes", "slice", "complex", "int", "float", "str", "bool")
_EXPECTED_BUILTINS = {f"{m}.{n}" for m in ("builtins", "__builtin__") for n in _CONTAINERS}  # protocol 2 says __builtin__
_EXPECTED_EXACT = _EXPECTED_BUILTINS | {
    "collections.OrderedDict", "_codecs.encode", "torch.Size", "torch.device",
    "numpy.dtype", "numpy.ndarray", "numpy.core.multiarray.scalar", "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray.scalar", "numpy._core.multiarray._reconstruct",
}  # fmt: skip
_EXPECTED_PATTERNS = (
    r"networkx\.classes\.(graph|digraph|multigraph|multidigraph)\.(Graph|DiGraph|MultiGraph|MultiDiGraph)",
    r"networkx\.classes\.(coreviews|reportviews)\.[A-Z]\w*",  # cached views networkx >= 2 keeps on a graph
    r"numpy\.dtypes\.\w+DType",
    r"torch\._utils\._rebuild_\w+",
    r"torch\._tensor\._rebuild_from_type_v2",
    r"torch\.nn\.parameter\.Parameter",
    r"torch\.(\w+Storage|storage\.\w+|serialization\._get_layout)",
    r"torch\.(float|double|half|bfloat16|int|long|short|uint8|int8|int16|int32|int64|float16|float32|float64|bool|complex64|complex128)",
)


def unexpected_globals(names: Iterable[str]) -> list[str]:
    """The pickle globals that are not networkx graphs, numpy scalars / arrays, torch tensors or plain containers."""
    return sorted(n for n in names if n not in _EXPECTED_EXACT and not any(re.fullmatch(p, n) for p in _EXPECTED_PATTERNS))


@dataclass
class ForeignNetwork:
    """What an importer produces: wiring-lab's config, stage graphs, a state dict in its names."""

    config: ModelConfig
    graphs: list[GraphSpec]
    state_dict: dict[str, torch.Tensor]
    metadata: dict[str, Any] = field(default_factory=dict)


# --- checkpoints -----------------------------------------------------------------------------
def pickle_globals(path: Path) -> set[str]:
    """``module.name`` of every global a torch/pickle file would import, read without unpickling."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.endswith("data.pkl")]
                streams = [zf.read(n) for n in names[:1]]
        else:
            streams = [path.read_bytes()]
    except (OSError, zipfile.BadZipFile):
        return set()
    found: set[str] = set()
    for data in streams:
        buf = io.BytesIO(data)
        for _ in range(5):  # the legacy format is several pickles in a row
            strings: list[str] = []
            try:
                for op, arg, _pos in pickletools.genops(buf):
                    if op.name == "GLOBAL" and isinstance(arg, str):
                        found.add(arg.replace(" ", "."))
                    elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                        strings.append(arg)
                    elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                        found.add(f"{strings[-2]}.{strings[-1]}")
            except Exception:  # a truncated or non-pickle stream: stop scanning
                break
            if buf.tell() >= len(data):
                break
    return found


def refusal_for_globals(path: Path, names: Iterable[str]) -> UserError | None:
    """A one-line refusal explaining *why* a file cannot be loaded safely, from its pickle globals."""
    names = sorted(names)
    strange = unexpected_globals(names)
    if strange:  # never suggest unpickling: name what the file would import or call
        more = f" (and {len(strange) - 1} more)" if len(strange) > 1 else ""
        return UserError(
            f"{path}: refused: its pickle names {strange[0]}{more}, which is not a networkx graph, numpy scalar or "
            "torch tensor; unpickling it would build or call that, so do not load it outside a "
            "sandbox; ask for its state dict and graphs as plain files (torch.save of tensors only, graph edge lists)"
        )
    graphs = sorted((n for n in names if n.startswith("networkx.")), key=lambda n: "graph." not in n.lower())
    if graphs:
        return UserError(
            f"{path}: refused: the stage graphs are pickled inside the checkpoint ({graphs[0]}), and loading them "
            f"would run code from the file; {EXPORT_HINT}"
        )
    return None


def read_foreign(path: str | Path) -> Any:
    """``torch.load(weights_only=True)`` of a foreign checkpoint; every failure is one line that says why."""
    path = Path(path)
    try:
        return read_checkpoint(path)
    except UserError as err:
        if "refused" in str(err) and path.is_file():
            better = refusal_for_globals(path, pickle_globals(path))
            if better is not None:
                raise better from None
        raise


def state_dict_of(path: Path, obj: Any, keys: Sequence[str] = ("state_dict", "model")) -> dict[str, torch.Tensor]:
    """The tensor state dict inside ``obj`` (under one of ``keys``, or ``obj`` itself), ``module.`` stripped."""
    state = obj
    if isinstance(obj, dict):
        for key in keys:
            if isinstance(obj.get(key), dict):
                state = obj[key]
                break
    plain = isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
    if not isinstance(state, dict) or not state or (state is obj and not plain):
        raise UserError(f"{path}: no state dict found (looked for keys {', '.join(keys)} or a plain name->tensor mapping)")
    bad = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise UserError(f"{path}: the state dict maps {bad[0]!r} to something that is not a tensor")
    for k, v in state.items():  # before any shape is read: weights are real floating-point arrays
        if k.endswith("num_batches_tracked"):
            continue
        kind = "complex" if v.is_complex() else None if v.is_floating_point() else str(v.dtype).replace("torch.", "")
        if kind is not None or v.dim() == 0:
            what = f"of dtype {kind}" if kind is not None else "a 0-dim scalar"
            raise UserError(f"{path}: tensor {k[:80]!r} is {what}; network weights are floating-point tensors with at least one dimension")
    if all(k.startswith("module.") for k in state):  # saved from nn.DataParallel / DistributedDataParallel
        state = {k[len("module."):]: v for k, v in state.items()}
    return dict(state)


# --- graph files -----------------------------------------------------------------------------
class _NetworkxYamlLoader(yaml.SafeLoader):
    """Safe YAML loader that reads ``!!python/...`` tags as plain data (never builds objects)."""

    construct_mapping = construct_unique_mapping  # a key given twice is refused, not "last wins"


def _plain(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    """Plain dict / list / string for any ``!!python/...`` node (a generator, so cycles resolve)."""
    if isinstance(node, yaml.MappingNode):
        data: dict[Any, Any] = {}
        yield data
        data.update(loader.construct_mapping(node))
    elif isinstance(node, yaml.SequenceNode):
        items: list[Any] = []
        yield items
        items.extend(loader.construct_sequence(node))
    else:
        yield loader.construct_scalar(node)


_NetworkxYamlLoader.add_multi_constructor("tag:yaml.org,2002:python/", _plain)


def read_networkx_yaml(path: Path, generator: str = "custom", params: dict[str, Any] | None = None) -> GraphSpec:
    """A graph written by ``nx.write_yaml`` (networkx 1.x or 2.x object dump), parsed as plain data."""
    text = read_text_file(path, "graph file")
    try:
        data = yaml.load(text, Loader=_NetworkxYamlLoader)  # noqa: S506 -- restricted SafeLoader subclass
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise UserError(f"{path}: not a YAML graph file ({first})") from None
    except RecursionError:
        raise UserError(f"{path}: not a YAML graph file (nested too deeply)") from None
    if isinstance(data, dict) and isinstance(data.get("state"), dict):  # !!python/object/new form
        data = data["state"]
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a networkx graph dump (expected nx.write_yaml output, a mapping)")
    # networkx >= 2 stores _adj/_node (_succ/_pred when directed); networkx 1.x adj/node/edge (succ/pred)
    directed = isinstance(data.get("_succ", data.get("succ")), dict)
    adj = data.get("_succ", data.get("succ")) if directed else data.get("_adj", data.get("adj"))
    if not isinstance(adj, dict):
        raise UserError(
            f"{path}: not a networkx graph dump (no '_adj' or 'adj' adjacency mapping; expected nx.write_yaml output)"
        )
    nodes = next((data[k] for k in ("_node", "node") if isinstance(data.get(k), dict)), adj)
    labels = list(nodes)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in labels) or sorted(labels) != list(range(len(labels))):
        raise UserError(f"{path}: graph nodes must be the integers 0..n-1 (found {labels[:5]!r}...)")
    edges = set()
    for u, nbrs in adj.items():
        if not isinstance(u, int) or isinstance(u, bool) or u not in nodes:
            raise UserError(f"{path}: adjacency names node {u!r}, which is not in the graph")
        if not isinstance(nbrs, dict):
            raise UserError(f"{path}: adjacency of node {u!r} is not a mapping")
        for v in nbrs:
            if not isinstance(v, int) or isinstance(v, bool) or v not in nodes:
                raise UserError(f"{path}: edge ({u!r}, {v!r}) names a node that is not in the graph")
            if directed and u > v:
                raise UserError(f"{path}: directed edge ({u}, {v}) points from a higher to a lower node id")
            if u != v:
                edges.add((min(u, v), max(u, v)))
            else:
                raise UserError(f"{path}: self loop on node {u}; a stage graph has none")
    if not labels:
        raise UserError(f"{path}: the graph has no nodes")
    try:
        return GraphSpec(generator, dict(params or {}), None, len(labels), tuple(sorted(edges)))
    except ValueError as e:
        raise UserError(f"{path}: {e}") from None


def read_edge_text(path: Path) -> tuple[int, list[tuple[int, int]]]:
    """seungwonpark's text graph: N, then E, then E lines ``u v`` (edges in file order)."""
    lines = [ln.strip() for ln in read_text_file(path, "graph file").splitlines()]
    lines = [ln for ln in lines if ln]
    try:
        n, e = int(lines[0]), int(lines[1])
    except (IndexError, ValueError):
        raise UserError(f"{path}: expected the node count then the edge count on the first two lines") from None
    if n < 1 or e < 0:
        raise UserError(f"{path}: node count {n} / edge count {e} must be positive")
    if n > MAX_NODES:
        raise UserError(f"{path}: declares {n} nodes, more than the limit of {MAX_NODES}")
    if len(lines) - 2 != e:
        raise UserError(f"{path}: header says {e} edges but the file has {len(lines) - 2} edge lines")
    edges = []
    for i, ln in enumerate(lines[2:], start=3):
        parts = ln.split()
        if len(parts) != 2 or not all(re.fullmatch(r"-?\d{1,18}", p) for p in parts):  # 5000 digits: no int()
            raise UserError(f"{path}: line {i}: expected two integer node ids 'u v', got {ln[:80]!r}")
        u, v = int(parts[0]), int(parts[1])
        if not (0 <= u < n and 0 <= v < n):
            raise UserError(f"{path}: line {i}: edge {u} {v} names a node outside 0..{n - 1}")
        if u >= v:
            raise UserError(
                f"{path}: line {i}: edge {u} {v} does not point from a lower to a higher id; wiring-lab needs node ids in "
                "topological order (as the project's generators write them)"
            )
        edges.append((u, v))
    if len(set(edges)) != len(edges):
        raise UserError(f"{path}: an edge is listed twice")
    return n, edges


def find_graph_file(name: str, graphs: Sequence[Path] | None, search: Sequence[Path], what: str) -> Path:
    """Resolve a graph file named by the foreign code: in ``--graphs`` directories, else beside the checkpoint."""
    dirs = [g for g in (graphs or []) if g.is_dir()] or list(search)
    for d in dirs:
        if (d / name).is_file():
            return d / name
    where = ", ".join(str(d) for d in dirs) or "nowhere"
    raise UserError(f"graph file {name!r} for {what} not found (looked in {where}); pass the graph files or their directory with --graphs")


def graph_files(names: Sequence[str], graphs: Sequence[Path] | None, search: Sequence[Path], what: str) -> list[Path]:
    """One graph file per stage: ``--graphs`` files in stage order, or the named files found in directories."""
    files = [g for g in (graphs or []) if not g.is_dir()]
    if files:
        if len(files) != len(names):
            raise UserError(
                f"{what}: {stages_and_files(len(names), len(files))} given with --graphs; pass one graph file per stage, "
                "in stage order (or their directory)"
            )
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise UserError(f"{missing[0]}: no such graph file")
        return files
    return [find_graph_file(n, graphs, search, what) for n in names]


def stages_and_files(stages: int, files: int) -> str:
    """``"3 stages, 1 graph file"``."""
    return f"{stages} stage{'s' * (stages != 1)}, {files} graph file{'s' * (files != 1)}"


def check_stage_sizes(path: Path, counts: Sequence[int], specs: Sequence[GraphSpec], files: Sequence[Path]) -> None:
    """Each stage graph's node count must be the checkpoint's, said as such before any weight is mapped."""
    if len(counts) != len(specs):
        raise UserError(f"{path}: {stages_and_files(len(counts), len(specs))}; pass one graph file per stage with --graphs")
    for i, (n, spec, f) in enumerate(zip(counts, specs, files)):
        if n != spec.n:
            raise UserError(
                f"{path}: stage {i}: the graph has {spec.n} nodes, the checkpoint {n} ({f}); pass the graph files this "
                "checkpoint was trained with (--graphs)"
            )


# --- state dicts -----------------------------------------------------------------------------
def strip_module(keys: Iterable[Any]) -> list[str]:
    """String keys with a DataParallel ``module.`` prefix removed (for detection)."""
    return [k[len("module."):] if k.startswith("module.") else k for k in keys if isinstance(k, str)]


def map_state(
    path: Path,
    foreign: dict[str, torch.Tensor],
    ours: dict[str, torch.Tensor],
    prefixes: dict[str, str],
    ignore: Callable[[str], bool] = lambda key: False,
    transforms: dict[str, Callable[[torch.Tensor], torch.Tensor]] | None = None,
) -> dict[str, torch.Tensor]:
    """Rename ``foreign`` into wiring-lab's names by module prefix (ours -> theirs), checking every tensor.

    Every tensor of ours must come from the foreign file with the same shape (BN's
    ``num_batches_tracked`` may be absent); every foreign tensor must be used or ``ignore``d.
    """
    transforms = transforms or {}
    out: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for key, ref in ours.items():
        head, tail = key, ""
        while head not in prefixes:
            if "." not in head:
                raise UserError(f"{path}: internal: no foreign name for {key}")
            head, last = head.rsplit(".", 1)
            tail = f".{last}{tail}"
        fkey = prefixes[head] + tail
        if fkey not in foreign:
            if key.endswith("num_batches_tracked"):
                out[key] = ref.clone()
                continue
            raise UserError(f"{path}: the checkpoint has no tensor {fkey!r} (needed for {key}); is --layout right?")
        tensor = foreign[fkey]
        used.add(fkey)
        if key in transforms:
            tensor = transforms[key](tensor)
        if tuple(tensor.shape) != tuple(ref.shape):
            raise UserError(
                f"{path}: tensor {fkey!r} has shape {tuple(tensor.shape)} but the graphs need {tuple(ref.shape)}; "
                "do the graph files belong to this checkpoint?"
            )
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise UserError(f"{path}: tensor {fkey!r} holds NaN or inf values")
        out[key] = tensor.to(ref.dtype)
    extra = sorted(k for k in foreign if k not in used and not ignore(k))
    if extra:
        raise UserError(
            f"{path}: {len(extra)} tensor(s) the graphs leave unused (e.g. {extra[0]}); do the graph files belong to "
            "this checkpoint?"
        )
    return out


def stage_prefixes(state: dict[str, torch.Tensor], pattern: str) -> list[str]:
    """Distinct stage prefixes (group 1 of ``pattern``) in key order, sorted by their stage number."""
    found: dict[str, int] = {}
    for key in state:
        m = re.match(pattern, key)
        if m:
            found[m.group(1)] = int(m.group(2))
    return sorted(found, key=found.get)  # type: ignore[arg-type]


def count_indexed(state: dict[str, torch.Tensor], prefix: str) -> int:
    """Number of modules ``prefix.<i>.`` in a state dict (max index + 1)."""
    idx = [int(m.group(1)) for k in state for m in [re.match(re.escape(prefix) + r"\.(\d+)\.", k)] if m]
    return max(idx) + 1 if idx else 0


def shape_of(path: Path, state: dict[str, torch.Tensor], key: str) -> tuple[int, ...]:
    """Shape of one foreign tensor, or a one-line error naming what is missing."""
    if key not in state:
        raise UserError(f"{path}: the checkpoint has no tensor {key!r}; is --layout right?")
    return tuple(state[key].shape)
