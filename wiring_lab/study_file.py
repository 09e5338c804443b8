"""Study files: the schema (:class:`Study`, :class:`Scale`, :class:`NetworkGrid`) and the one reader
of study files, search study files and the built-in ones (``wiring_lab/studies/``), with errors that
say ``FILE:LINE: what is wrong``. :mod:`wiring_lab.study` expands and runs what this reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from wiring_lab._io import UserError
from wiring_lab._limits import MAX_MODEL_NODES, MAX_STUDY_TRAININGS
from wiring_lab._validate import bounds_problem, check_settings
from wiring_lab._yaml import Map, Seq, load_yaml_with_lines
from wiring_lab.data import list_datasets
from wiring_lab.figures import list_figures
from wiring_lab.generators import get_generator, list_generators, param_columns
from wiring_lab.model import ARCHS, list_node_ops
from wiring_lab.search.config import TRAIN_FIELDS, SearchConfig
from wiring_lab.recipe import TrainConfig

# data set -> (classes, image channels, regime); imagefolder's classes come from the study
DATASET_SHAPES: dict[str, tuple[int | None, int, str]] = {
    "digits": (10, 1, "digits"),
    "mnist": (10, 1, "mnist"),
    "fashion-mnist": (10, 1, "mnist"),
    "cifar10": (10, 3, "cifar"),
    "imagefolder": (None, 3, "small"),
}
ANALYSES = ("damage", "attack", "metrics")  # per trained network, after training
STUDY_ANALYSES = ("population", "correlate")  # once per study: a sampled graph population; correlations of all damage
# analysis -> the table its rows go to
ANALYSIS_TABLES = {
    "damage": "damage", "attack": "attack", "metrics": "stage_metrics", "node_metrics": "node_metrics",
    "population": "population_metrics", "correlate": "correlations",
}  # fmt: skip


# --- schema ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkGrid:
    """One entry of ``networks``: a generator (or baseline arch) and lists of values to cross."""

    generator: str  # er | ba | ws | chain | complete
    arch: str = "randwire"  # randwire | plain (its generator is chain) | alexnet | tinycnn | handmade (no graphs)
    params: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # p / k / m -> values, crossed
    node_ops: tuple[str, ...] = ("sepconv3x3",)
    nodes: int | None = None  # overrides the scale's N for this entry
    channels: int | None = None  # overrides the scale's C for this entry
    line: int = 0  # where the entry starts in the study file
    graphs: str | None = None  # graph set (dir/file of graph JSONs, e.g. sample-cl's graphs/): one network per graph, in every stage
    label: str | None = None  # the networks' name stem instead of generator and parameters: LABEL_s0, LABEL_s1, ...


@dataclass(frozen=True)
class Scale:
    """One scale of a study: data, network size, training recipe, seeds, resources."""

    name: str
    train: TrainConfig = field(default_factory=TrainConfig)  # data set and recipe (seed 0: each network sets its own)
    image_size: int | None = None  # imagefolder crop size
    num_classes: int | None = None  # needed for imagefolder (e.g. 1000 for ImageNet)
    regime: str | None = None  # default: the one that fits the data set
    channels: int | None = None  # C; default by regime
    nodes: int | None = None  # N; default by regime
    head_channels: int | None = None
    seeds: tuple[int, ...] = (0,)  # network (graph) and training seeds
    lr_fallback: tuple[float, ...] | None = None  # a diverged run is retried at the next smaller of these lrs
    reuse: tuple[str, ...] = ()  # run directories whose identical trainings are copied instead of re-run
    # train and test on the first N images of each split (quick checks), or a mapping
    # {train: N, test: M, seed: S}: separate sizes, and with a seed a seeded random subset of each split
    limit: int | dict[str, int] | None = None
    gpus: float = 0.0  # GPUs per task, requested on Ray when the cluster has GPUs
    threads: int = 1  # torch CPU threads per task: fixed, so results do not depend on where a task runs
    device: str = "auto"
    networks: tuple[NetworkGrid, ...] | None = None  # replaces the study's networks at this scale
    damage: dict[str, Any] | None = None  # merged over the study's damage settings
    attack: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    population: dict[str, Any] | None = None
    correlate: dict[str, Any] | None = None
    lines: dict[str, int] = field(default_factory=dict, compare=False)  # key -> line in the study file

    @property
    def dataset(self) -> str:
        """The data set's name."""
        return self.train.dataset

    @property
    def data_root(self) -> str | None:
        """The data directory (None: the data set's default)."""
        return self.train.data_root


@dataclass(frozen=True)
class Study:
    """A study file: networks, scales and the analyses of every trained network."""

    name: str
    path: str
    networks: tuple[NetworkGrid, ...]
    scales: dict[str, Scale]
    description: str = ""
    figures: tuple[str, ...] = ()  # figure recipes that read this study's tables
    damage: dict[str, Any] | None = None  # DamageConfig fields (wiring_lab.damage)
    attack: dict[str, Any] | None = None  # AttackConfig fields, plus "orders": [random, degree, ...]
    metrics: dict[str, Any] | None = None  # {"backend": "networkx" | "tensor" | "graph-tool", "nodes": bool}
    population: dict[str, Any] | None = None  # PopulationConfig fields: one sampled graph population per study
    correlate: dict[str, Any] | None = None  # CorrelateConfig fields: metrics vs the damage of every network
    preregistration: dict[str, str] | None = None  # hypotheses, endpoint, n, decision rules: fixed before the run, kept in study.json
    lines: dict[str, int] = field(default_factory=dict, compare=False)  # key -> line in the study file


STUDY_KEYS = ("name", "description", "preregistration", "figures", "networks", "scales", *ANALYSES, *STUDY_ANALYSES)
NETWORK_KEYS = ("generator", "arch", "p", "k", "m", "node_op", "nodes", "channels", "graphs", "label")


def network_keys() -> tuple[str, ...]:
    """Keys of a ``networks`` entry: NETWORK_KEYS plus every registered generator's parameters."""
    return NETWORK_KEYS + tuple(c for c in param_columns() if c not in NETWORK_KEYS)
# the recipe keys of a scale are TrainConfig's (seed aside: a scale lists its seeds)
TRAIN_KEYS = ("dataset", "data_root", "epochs", "batch_size", "lr", "weight_decay", "label_smoothing", "edge_drop", "workers",
              "val_fraction", "val_seed", "augment")
SCALE_KEYS = TRAIN_KEYS[:2] + tuple(f for f in Scale.__dataclass_fields__ if f not in ("name", "train")) + TRAIN_KEYS[2:]


class _Reader:
    """Typed access to a YAML mapping, with errors that say file:line and which key."""

    def __init__(self, path: str, node: Any, where: str, allowed: Sequence[str], line: int = 1):
        self.path, self.where = path, where
        if not isinstance(node, Map):
            raise UserError(f"{path}:{getattr(node, 'line', line)}: {where or 'the study'} must be a mapping of keys to values")
        self.node = node
        for key in node:
            if key not in allowed:
                raise UserError(
                    f"{path}:{node.lines[key]}: unknown key {key!r}{self._in()}; valid keys: {', '.join(allowed)}"
                )

    def _in(self) -> str:
        return f" in {self.where}" if self.where else ""

    def line(self, key: str | None = None) -> int:
        """Line of ``key`` (or of the mapping itself)."""
        return self.node.lines.get(key, self.node.line) if key else self.node.line

    def bad(self, key: str, what: str) -> UserError:
        """A bad-value error at ``key``'s line."""
        name = f"{self.where}.{key}" if self.where else key
        return UserError(f"{self.path}:{self.line(key)}: {name}: {what} (got {self.node[key]!r})")

    def get(self, key: str, kind: str, default: Any = None, required: bool = False) -> Any:
        """The value at ``key`` checked against ``kind`` (see ``_KINDS``); None/absent -> ``default``."""
        if key not in self.node:
            if required:
                raise UserError(f"{self.path}:{self.line()}: missing key {key!r}{self._in()}")
            return default
        v = self.node[key]
        if v is None and not required:
            return None
        ok, what = _KINDS[kind]
        if not ok(v):
            raise self.bad(key, what)
        return v

    def values(self, key: str, kind: str) -> tuple[Any, ...] | None:
        """A scalar or a list of scalars at ``key``, as a tuple, each checked against ``kind``."""
        if key not in self.node or self.node[key] is None:
            return None
        v = self.node[key]
        items, lines = (list(v), v.lines) if isinstance(v, Seq) else ([v], [self.line(key)])
        if not items:
            raise self.bad(key, "must hold at least one value")
        ok, what = _KINDS[kind]
        for item, line in zip(items, lines):
            if not ok(item):
                name = f"{self.where}.{key}" if self.where else key
                raise UserError(f"{self.path}:{line}: {name}: {what} (got {item!r})")
        return tuple(items)


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


# kind -> (check, what a bad value must be)
_KINDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "str": (lambda x: isinstance(x, str) and x != "", "must be a non-empty string"),
    "bool": (lambda x: isinstance(x, bool), "must be true or false"),
    "int+": (lambda x: _is_int(x) and x >= 1, "must be a positive integer"),
    "int0": (lambda x: _is_int(x) and x >= 0, "must be an integer >= 0"),
    "num": (_is_num, "must be a number"),
    "num0": (lambda x: _is_num(x) and x >= 0, "must be a number >= 0"),
    "num+": (lambda x: _is_num(x) and x > 0, "must be a positive number"),
    "map": (lambda x: isinstance(x, Map), "must be a mapping of keys to values"),
    "any": (lambda x: True, ""),
}


def _plain(obj: Any) -> Any:
    """Map / Seq -> dict / list (sequences become tuples, as the frozen configs expect)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return tuple(_plain(v) for v in obj)
    return obj


def _read_networks(path: str, node: Any, where: str, line: int) -> tuple[NetworkGrid, ...]:
    """The ``networks`` list at ``where``: one :class:`NetworkGrid` per entry, each value checked."""
    if not isinstance(node, Seq) or not node:
        raise UserError(f"{path}:{getattr(node, 'line', line)}: {where} must be a non-empty list of networks")
    grids = []
    for i, item in enumerate(node):
        r = _Reader(path, item, f"{where}[{i}]", network_keys(), line=node.lines[i])
        arch = r.get("arch", "str", "randwire")
        if arch not in ARCHS:
            raise r.bad("arch", f"unknown arch; choose one of {', '.join(ARCHS)}")
        label = r.get("label", "str")
        if label is not None and not all(c.isalnum() or c in "-_." for c in label):
            raise r.bad("label", "may hold only letters, digits, '-', '_' and '.' (it names checkpoints)")
        graphs = r.get("graphs", "str")
        if graphs is not None:  # a graph set: the generator is read from the graph files
            graphs = str(Path(path).parent / graphs)
        # baselines have no random graph: plain stacks its layers in a chain, the CNNs have none
        default = "chain" if arch != "randwire" else "graphs" if graphs else None
        generator = r.get("generator", "str", default, required=arch == "randwire" and not graphs)
        if generator not in list_generators() and not graphs:
            raise r.bad("generator", f"unknown generator; choose one of {', '.join(list_generators())}")
        params = {}
        schema = {q.name: q for q in get_generator(generator).params} if generator in list_generators() else {}
        for key in param_columns():  # typed by the generator's schema (WS's K an integer, WS-flex's any number)
            kind = ("int+" if schema[key].kind is int else "num") if key in schema else "int+" if key in ("k", "m") else "num"
            vals = r.values(key, kind)
            if vals is not None:
                params[key] = vals
        _bounded(r, {"channels": r.get("channels", "int+"), "nodes": r.get("nodes", "int+")})  # p, k, m: the generator's
        node_ops = r.values("node_op", "str") or ("sepconv3x3",)
        for op in node_ops:
            if op not in list_node_ops():
                raise UserError(f"{path}:{r.line('node_op')}: {where}[{i}].node_op: unknown node op {op!r}; choose one of {', '.join(list_node_ops())}")
        grids.append(
            NetworkGrid(
                generator=generator,
                arch=arch,
                params=params,
                node_ops=node_ops,
                nodes=_at_most(r, "nodes", MAX_MODEL_NODES),
                channels=r.get("channels", "int+"),
                line=r.line(),
                graphs=graphs,
                label=label,
            )
        )
    return tuple(grids)


LIMIT_KEYS = ("train", "test", "seed")


def _read_limit(r: "_Reader") -> int | dict[str, int] | None:
    """``limit: N`` (the first N images of each split) or ``limit: {train: N, test: M, seed: S}``."""
    v = r.node.get("limit")
    if not isinstance(v, dict):
        return r.get("limit", "int+")
    unknown = [k for k in v if k not in LIMIT_KEYS]
    if unknown:
        raise r.bad("limit", f"unknown key {str(unknown[0])[:40]!r}; a limit mapping takes: {', '.join(LIMIT_KEYS)}")
    out = {}
    for k in LIMIT_KEYS:
        x = v.get(k)
        if x is None:
            continue
        if not _is_int(x) or x < (0 if k == "seed" else 1):
            raise r.bad("limit", f"{k} must be a {'non-negative' if k == 'seed' else 'positive'} integer")
        out[k] = int(x)
    return out or None


def _bounded(r: "_Reader", values: dict[str, Any]) -> None:
    """Each value within the bounds the CLI holds its option of that name to (one validator per value)."""
    for key, value in values.items():
        for v in value if isinstance(value, (list, tuple)) else (value,):
            problem = bounds_problem(key, v)
            if problem is not None:
                raise r.bad(key, problem)


def _at_most(r: "_Reader", key: str, limit: int) -> Any:
    """A positive integer no larger than ``limit``."""
    v = r.get(key, "int+")
    if v is not None and v > limit:
        raise r.bad(key, f"must be at most {limit:,} (nodes per stage of a network)")
    return v


def _read_scale(path: str, name: str, node: Any) -> Scale:
    r = _Reader(path, node, f"scales.{name}", SCALE_KEYS)
    dataset = r.get("dataset", "str", "digits")
    if dataset not in list_datasets():
        raise r.bad("dataset", f"unknown data set; choose one of {', '.join(list_datasets())}")
    seeds_node = r.get("seeds", "any", 1)
    if isinstance(seeds_node, Seq):
        seeds = r.values("seeds", "int0")
        if len(set(seeds)) != len(seeds):
            raise r.bad("seeds", "must not repeat a seed")
    elif isinstance(seeds_node, int) and not isinstance(seeds_node, bool) and seeds_node >= 1:
        if seeds_node > MAX_STUDY_TRAININGS:  # before a billion-entry tuple is made
            raise r.bad("seeds", f"asks for {seeds_node:,} seeds; a study trains at most {MAX_STUDY_TRAININGS:,} networks")
        seeds = tuple(range(seeds_node))
    else:
        raise r.bad("seeds", "must be a count (seeds 0..count-1) or a list of seeds")
    networks = None
    if r.get("networks", "any") is not None:
        networks = _read_networks(path, node["networks"], f"scales.{name}.networks", r.line("networks"))
    kw: dict[str, Any] = {}
    for key, kind in (
        ("data_root", "str"), ("image_size", "int+"), ("num_classes", "int+"), ("regime", "str"),
        ("channels", "int+"), ("nodes", "int+"), ("head_channels", "int+"), ("epochs", "int+"),
        ("batch_size", "int+"), ("lr", "num+"), ("weight_decay", "num0"), ("label_smoothing", "num0"),
        ("edge_drop", "num0"), ("gpus", "num0"), ("threads", "int+"), ("device", "str"),
        ("workers", "int0"), ("val_fraction", "num0"), ("val_seed", "int0"), ("augment", "bool"),
    ):  # fmt: skip
        v = r.get(key, kind)
        if v is not None:
            kw[key] = v
    _bounded(r, kw)
    limit = _read_limit(r)
    if limit is not None:
        kw["limit"] = limit
    lr_fallback = r.values("lr_fallback", "num+")
    if lr_fallback is not None:
        kw["lr_fallback"] = tuple(float(x) for x in lr_fallback)
    reuse = r.values("reuse", "str")
    if reuse is not None:
        kw["reuse"] = reuse
    if kw.get("nodes", 0) > MAX_MODEL_NODES:
        raise r.bad("nodes", f"must be at most {MAX_MODEL_NODES:,} (nodes per stage of a network)")
    if kw.get("device", "auto") not in ("auto", "cpu") and not str(kw.get("device")).startswith("cuda"):
        raise r.bad("device", "must be auto, cpu or cuda")
    shape = DATASET_SHAPES[dataset]
    if shape[0] is None and "num_classes" not in kw:
        raise UserError(f"{path}:{r.line()}: scales.{name}: data set {dataset!r} needs num_classes (e.g. 1000 for ImageNet)")
    for key in ANALYSES + STUDY_ANALYSES:
        if key in node:
            kw[key] = _plain(r.get(key, "map")) if node[key] is not None else {"enabled": False}
    lines = {"": r.line(), **{k: r.line(k) for k in node}}
    recipe = {k: (float(kw.pop(k)) if k in ("lr", "weight_decay", "label_smoothing", "edge_drop", "val_fraction") else kw.pop(k)) for k in TRAIN_KEYS if k in kw}
    try:
        train = TrainConfig(dataset=dataset, **recipe)
    except ValueError as e:
        raise UserError(f"{path}:{r.line()}: scales.{name}: {str(e).splitlines()[0]}") from None
    return Scale(name=name, train=train, seeds=seeds, networks=networks, lines=lines, **kw)


def read_study(path: str | Path) -> Study:
    """Read a study file (or a built-in study by name: ``demo``), every value checked; errors say ``FILE:LINE: what is wrong``.

    :func:`wiring_lab.study.load_study` also expands it at every scale (which checks each network
    config and analysis setting)."""
    path = str(study_path(path))
    doc = load_yaml_with_lines(path)
    scales = doc.get("scales") if isinstance(doc, dict) else None
    if isinstance(doc, dict) and "networks" not in doc and isinstance(scales, dict):
        if any(isinstance(v, dict) and "runs" in v for v in scales.values()):
            raise UserError(f"{path}: this is a search study (its scales hold 'runs'); run it with: wiring-lab search --study {path}")
    r = _Reader(path, doc, "", STUDY_KEYS)
    name = r.get("name", "str", required=True)
    if not all(c.isalnum() or c in "-_." for c in name):
        raise r.bad("name", "may hold only letters, digits, '-', '_' and '.' (it names the run directory)")
    figures = r.values("figures", "str") or ()
    unknown = [f for f in figures if f not in list_figures()]
    if unknown:
        raise r.bad("figures", f"unknown figure {unknown[0]!r}; choose from {', '.join(list_figures())}")
    networks = _read_networks(path, r.get("networks", "any", required=True), "networks", r.line("networks"))
    scales_node = r.get("scales", "map", required=True)
    if not scales_node:
        raise r.bad("scales", "must name at least one scale (demo, paper)")
    scales = {str(k): _read_scale(path, str(k), v) for k, v in scales_node.items()}
    analyses = {key: _plain(r.get(key, "map")) for key in ANALYSES + STUDY_ANALYSES}
    prereg = _plain(r.get("preregistration", "map"))
    if prereg is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in prereg.items()):
        raise UserError(f"{path}:{r.line('preregistration')}: preregistration: must map names (hypotheses, endpoint, n, ...) to text")
    study = Study(
        name=name,
        path=path,
        networks=networks,
        scales=scales,
        description=r.get("description", "str", ""),
        preregistration=prereg,
        figures=tuple(figures),
        lines={k: r.line(k) for k in doc},
        **analyses,
    )
    return study


# --- search study files ----------------------------------------------------------------------
SEARCH_STUDY_KEYS = ("name", "description", "figures", "scales")


def load_search_study(path: str | Path, scale: str) -> list[SearchConfig]:
    """The search runs of a search study file's ``scale``: ``scales.SCALE.common`` merged into each
    of ``scales.SCALE.runs``. Read like every study file (safe YAML, alias budget); errors say ``FILE:LINE``."""
    path = str(path)
    doc = load_yaml_with_lines(path)
    r = _Reader(path, doc, "", SEARCH_STUDY_KEYS)
    scales = r.get("scales", "map", required=True)
    if scale not in scales:
        raise UserError(f"{path}:{r.line('scales')}: no scale {scale!r} under 'scales' (has: {', '.join(map(str, scales)) or 'none'})")
    block = _Reader(path, scales[scale], f"scales.{scale}", ("common", "runs"), line=scales.lines[scale])
    common = block.get("common", "map", Map())
    runs = block.get("runs", "any", required=True)
    if not isinstance(runs, Seq) or not runs:
        raise block.bad("runs", "must be a non-empty list of mappings")
    fields = (set(SearchConfig.__dataclass_fields__) - {"train"}) | set(TRAIN_FIELDS)
    configs, lines = [], []
    for i, run in enumerate(runs):
        where = f"scales.{scale}.runs[{i}]"
        run = run if run is not None else Map()
        line = runs.lines[i]
        if not isinstance(run, Map):
            raise UserError(f"{path}:{line}: {where} must be a mapping of keys to values")
        merged = {**common, **run}
        unknown = sorted(set(merged) - fields)
        if unknown:
            key = unknown[0]
            raise UserError(f"{path}:{getattr(run, 'lines', {}).get(key, getattr(common, 'lines', {}).get(key, line))}: {where}: unknown key {key!r}")
        try:
            check_settings(_plain(merged), "", command="search")  # the bounds of search's options
            configs.append(SearchConfig.from_flat(**_plain(merged)))
        except (TypeError, ValueError) as e:
            raise UserError(f"{path}:{line}: {where}: {str(e).splitlines()[0]}") from None
        lines.append(line)
    labels = [c.label for c in configs]
    dup = next((i for i, x in enumerate(labels) if labels.index(x) != i), None)
    if dup is not None:
        raise UserError(f"{path}:{lines[dup]}: scales.{scale}: two runs are both named {labels[dup]!r}; give one a 'name'")
    return configs


BUILTIN_STUDIES = Path(__file__).parent / "studies"  # study files shipped with the package (the demo)


def builtin_study(name: str) -> Path:
    """The file of a built-in study (``demo``): ``wiring-lab ablate demo`` runs it like a file."""
    path = BUILTIN_STUDIES / f"{name}.yaml"
    if not path.is_file():
        have = ", ".join(sorted(p.stem for p in BUILTIN_STUDIES.glob("*.yaml")))
        raise UserError(f"no built-in study {name!r} (built in: {have})")
    return path


def study_path(path: str | Path) -> Path:
    """A study file's path: ``path`` itself, or, where no such file exists, the built-in study of that name."""
    path = Path(path)
    if not path.exists() and path.suffix == "" and len(path.parts) == 1 and (BUILTIN_STUDIES / f"{path}.yaml").is_file():
        return BUILTIN_STUDIES / f"{path}.yaml"
    return path
