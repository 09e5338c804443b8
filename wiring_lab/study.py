"""Studies: a YAML file of networks x seeds x analyses, expanded into tasks, run, collected into tables.

A study file names a grid of networks (generator settings, node ops, baselines), the scales it
runs at (``demo`` on a laptop CPU, ``paper`` on a GPU cluster: data set, network size, recipe,
seeds), what to do with every trained network (``damage``, ``attack``, ``metrics``) and once per
study (``population``: a sampled graph population; ``correlate``: metrics against all damage).
It is read with YAML's safe loader; every error names the file and line. This module is the only
reader of study files, search study files (:func:`load_search_study`) and the built-in ones
(``wiring_lab/studies/``: the demo) included. :func:`expand_study` turns a study at one scale
into :class:`~wiring_lab.executor.Task` units of :mod:`wiring_lab.tasks` (one training, one
sweep, ... per task), :func:`run_study` runs them with :func:`~wiring_lab.executor.run_tasks`
and :func:`collect_tables` gathers the per-task results into the run directory's tables
(``models.csv``, ``history.csv``, ``graphs.csv``, ``damage.csv``, ``attack.csv``,
``stage_metrics.csv``, ...; :data:`ANALYSIS_TABLES`).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from wiring_lab._io import (
    UserError,
    all_or_none,
    as_read_back,
    library_versions,
    write_json,
    write_table,
)
from wiring_lab._limits import MAX_STUDY_TRAININGS, short_repr
from wiring_lab._pricing import price_plan
from wiring_lab._validate import check_settings
from wiring_lab.checkpoint import load_graphs
from wiring_lab.compare import compare_networks
from wiring_lab.damage import damage_sweep_configs
from wiring_lab.executor import Task, TaskOutcome, digest, read_result, run_tasks
from wiring_lab.metrics import BACKENDS
from wiring_lab.model import CNN_ARCHS, ModelConfig, stage_graphs
from wiring_lab.rundir import checkpoint_path, table_path
from wiring_lab.sensitivity import sensitivity_table
from wiring_lab.study_file import (  # noqa: F401  (re-exported: the schema and reader)
    ANALYSES,
    ANALYSIS_TABLES,
    BUILTIN_STUDIES,
    builtin_study,
    DATASET_SHAPES,
    load_search_study,
    NetworkGrid,
    read_study,
    Scale,
    Study,
    STUDY_ANALYSES,
    study_path,
)
from wiring_lab.tasks import (
    attack_configs,
    correlate_config,
    population_config,
    results_frame,
)
from wiring_lab.recipe import train_record
from wiring_lab.train import default_size

def load_study(path: str | Path) -> Study:
    """Read and validate a study file (or a built-in study by name: ``demo``); errors say ``FILE:LINE: what is wrong``."""
    study = read_study(path)
    for scale in study.scales:  # expansion checks every network config and analysis setting
        expand_study(study, scale, Path("."))
    return study


# --- expansion -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Network:
    """One network of an expanded study: its name, model and training configs (as dicts)."""

    name: str
    model_config: dict[str, Any]
    train_config: dict[str, Any]
    line: int  # its entry in the study file
    graphs: tuple[dict[str, Any], ...] = ()  # stage graphs given by a graph set (else generated from model_config)


@dataclass
class StudyPlan:
    """A study at one scale, expanded: the networks, the training tasks and the analysis tasks."""

    study: Study
    scale: Scale
    run_dir: Path
    networks: list[Network]
    train_tasks: list[Task]
    analysis_tasks: list[Task]  # each needs its network's checkpoint (the population task needs none)
    needs: dict[str, tuple[str, ...]]  # task key -> the task keys it needs
    final_tasks: list[Task] = field(default_factory=list)  # after every analysis: the correlations of all damage

    @property
    def tasks(self) -> list[Task]:
        """Every task, in the order they run."""
        return self.train_tasks + self.analysis_tasks + self.final_tasks


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _graph_set(path: str) -> dict[str, Any]:
    """The graphs of a graph-set entry, by file stem (a directory of JSONs, or one file holding a list)."""
    path = Path(path)
    specs = load_graphs(path)
    stems = [f.stem for f in sorted(path.glob("*.json"))] if path.is_dir() else [f"{path.stem}{i}" for i in range(len(specs))]
    return dict(zip(stems, specs))


def network_name(generator: str, arch: str, params: dict[str, Any], node_op: str, seed: int, nodes: int | None) -> str:
    """File-safe model name, e.g. ``ws_k4_p0.75_s0``, ``er_p0.2_conv3x3_s1``, ``plain_n2_s0``."""
    parts = [generator if arch == "randwire" else arch]
    parts += [f"{k}{_fmt(v)}" for k, v in sorted(params.items())]
    if node_op != "sepconv3x3":
        parts.append(node_op.replace("+", "-"))
    if nodes is not None:
        parts.append(f"n{nodes}")
    parts.append(f"s{seed}")
    return "_".join(parts)


def _analysis_settings(study: Study, scale: Scale, key: str) -> dict[str, Any] | None:
    base = getattr(study, key)
    over = getattr(scale, key)
    if over is not None and over.get("enabled") is False:
        return None
    if base is None and over is None:
        return None
    merged = dict(base or {})
    merged.update(over or {})
    merged.pop("enabled", None)
    return merged


def effective_config(study: Study, scale_name: str) -> dict[str, Any]:
    """What a study runs at one scale, for a report: the file, the data and recipe, the network
    size, the seeds and every analysis's settings (the study's, with the scale's merged over)."""
    scale = study.scales[scale_name]
    return {
        "study": study.name,
        "file": study.path,
        "scale": scale_name,
        "train": train_record(scale.train),
        "size": {k: getattr(scale, k) for k in ("regime", "channels", "nodes", "head_channels", "image_size", "limit")},
        "seeds": list(scale.seeds),
        "threads": scale.threads,
        **{key: _analysis_settings(study, scale, key) for key in ANALYSES + STUDY_ANALYSES},
    }


def _check_analysis(study: Study, scale: Scale, key: str, settings: dict[str, Any]) -> None:
    """Build the analysis config once, so a bad setting fails at load time with the file named."""
    line = scale.lines.get(key) or study.lines.get(key) or 1
    where = f"{study.path}:{line}: {key} (scale {scale.name})"
    try:
        check_settings(settings, f"{key}.", skip=("nodes",))  # the CLI's bounds (damage nodes are node ids)
        if key == "damage":
            damage_sweep_configs(settings)
        elif key == "attack":
            attack_configs(settings)
        elif key == "population":
            population_config(settings)
        elif key == "correlate":
            correlate_config(settings)
        elif key == "metrics":
            unknown = set(settings) - {"backend", "nodes"}
            if unknown:
                raise ValueError(f"unknown setting {sorted(unknown)[0]!r}; metrics takes: backend, nodes")
            if not isinstance(settings.get("nodes", False), bool):
                raise ValueError(f"metrics.nodes must be true or false (got {settings['nodes']!r})")
            if settings.get("backend", "tensor") not in BACKENDS:
                raise ValueError(f"metrics.backend {short_repr(settings['backend'], 40)} is not one of {', '.join(BACKENDS)}")
    except ImportError as e:
        raise UserError(f"{where}: this wiring-lab has no {key} module ({e})") from None
    except (TypeError, ValueError) as e:
        raise UserError(f"{where}: {str(e).splitlines()[0]}") from None


def expand_study(
    study: Study, scale_name: str, run_dir: str | Path, device: str | None = None, data_root: str | None = None
) -> StudyPlan:
    """Expand ``study`` at ``scale_name`` into training tasks and per-network analysis tasks.

    ``device`` and ``data_root`` override the scale's (where the data lives on this cluster).
    """
    if scale_name not in study.scales:
        raise UserError(f"{study.path}: no scale {scale_name!r}; the file has: {', '.join(study.scales)}")
    scale = study.scales[scale_name]
    if data_root is not None:
        scale = replace(scale, train=replace(scale.train, data_root=str(data_root)))
    run_dir = Path(run_dir)
    classes, in_channels, data_regime = DATASET_SHAPES[scale.dataset]
    regime = scale.regime or data_regime
    if scale.dataset == "imagefolder" and scale.image_size is not None and scale.image_size < 64 and scale.regime is None:
        regime = "cifar"
    dc, dn, dh = default_size(regime)
    try:
        train_config = replace(scale.train, seed=0)
    except ValueError as e:
        raise UserError(f"{study.path}:{scale.lines.get('', 1)}: scales.{scale.name}: {str(e).splitlines()[0]}") from None
    planned = sum(math.prod(len(v) for v in g.params.values()) * len(g.node_ops) for g in scale.networks or study.networks)
    if planned * len(scale.seeds) > MAX_STUDY_TRAININGS:  # counted before any task is made
        raise UserError(
            f"{study.path}: scale {scale_name!r} plans {planned * len(scale.seeds):,} trainings, "
            f"more than the limit of {MAX_STUDY_TRAININGS:,}"
        )
    networks: list[Network] = []
    seen: dict[str, int] = {}
    for grid in scale.networks or study.networks:
        keys = sorted(grid.params)
        if grid.graphs:  # a graph set: one network per graph, its parameters read from the file
            combos = [(dict(graph.params), stem, graph) for stem, graph in _graph_set(grid.graphs).items()]
        else:
            combos = [(dict(zip(keys, values)), None, None) for values in itertools.product(*(grid.params[k] for k in keys))]
        for params, stem, graph in combos:
            for op, seed in itertools.product(grid.node_ops, scale.seeds):
                name = network_name(grid.generator, grid.arch, params, op, seed, grid.nodes)
                if graph is not None:
                    name = "_".join([graph.generator, stem] + ([op.replace("+", "-")] if op != "sepconv3x3" else []) + [f"s{seed}"])
                try:
                    mc = ModelConfig(
                        regime=regime,
                        channels=grid.channels or scale.channels or dc,
                        nodes=graph.n if graph is not None else grid.nodes or scale.nodes or dn,
                        generator=grid.generator if graph is None else graph.generator,
                        params=params,
                        seed=seed,
                        node_op=op,
                        num_classes=scale.num_classes or classes,
                        in_channels=in_channels,
                        head_channels=scale.head_channels or dh,
                        arch=grid.arch,
                    )
                    check_settings({k: getattr(mc, k) for k in ("channels", "nodes", "head_channels", "num_classes")}, "")
                    if graph is None:
                        stage_graphs(mc)  # generator parameters out of range fail here, not in a worker
                    elif any(n != graph.n for n, _ in mc.stage_shapes()):
                        raise ValueError(f"graph {stem} has {graph.n} nodes, but stages of {[n for n, _ in mc.stage_shapes()]} nodes; use a regime whose stages all have N nodes")
                except ValueError as e:
                    raise UserError(f"{study.path}:{grid.line}: network {name}: {str(e).splitlines()[0]}") from None
                if graph is None:
                    name = network_name(grid.generator, grid.arch, mc.params, op, seed, grid.nodes)  # defaults filled in
                if grid.label:
                    name = network_name(grid.label, "randwire", {}, op, seed, grid.nodes)
                if name in seen:
                    raise UserError(f"{study.path}:{grid.line}: network {name} is listed twice (also line {seen[name]})")
                seen[name] = grid.line
                tc = train_record(train_config) | {"seed": seed}
                stages = tuple(graph.to_dict() for _ in mc.stage_shapes()) if graph is not None else ()
                networks.append(Network(name, mc.to_dict(), tc, grid.line, stages))
    analyses = {key: _analysis_settings(study, scale, key) for key in ANALYSES + STUDY_ANALYSES}
    for key, settings in analyses.items():
        if settings is not None:
            _check_analysis(study, scale, key, settings)
    dev = device or scale.device
    train_tasks, analysis_tasks, needs = [], [], {}
    per_network = {k: v for k, v in analyses.items() if k in ANALYSES}
    common = {
        "run_dir": str(run_dir),
        "device": dev,
        "threads": scale.threads,
        "limit": scale.limit,
        "image_size": scale.image_size,
    }
    data_kw = {"dataset": scale.dataset, "data_root": scale.data_root}
    for net in networks:
        kwargs = {"name": net.name, "model_config": net.model_config, "train_config": net.train_config, **common}
        if net.graphs:
            kwargs["graphs"] = list(net.graphs)
        if scale.lr_fallback is not None:  # part of the recipe (and the digest) only where a study sets it
            kwargs["lr_fallback"] = list(scale.lr_fallback)
        # the digest in the file name ties a result to its exact settings: edit the study, and
        # the unit runs again (into a fresh --out) instead of a stale result being reused
        train_digest = digest({k: v for k, v in kwargs.items() if k not in ("run_dir", "device")})
        result_name = f"{net.name}-{train_digest}.json"
        if scale.reuse:  # the same training finished in another run directory: its checkpoint is copied
            kwargs["reuse"] = [[str(checkpoint_path(d, net.name)), str(Path(d) / "results" / "train" / result_name)] for d in scale.reuse]
        train_key = f"train:{net.name}"
        train_tasks.append(
            Task(train_key, "wiring_lab.tasks:train_task", kwargs, str(run_dir / "results" / "train" / result_name), scale.gpus)
        )
        for key, settings in per_network.items():
            if settings is None or net.model_config.get("arch") in CNN_ARCHS:  # no graphs to damage or measure
                continue
            akw = {"name": net.name, "settings": settings, "train_digest": train_digest, **data_kw, **common}
            adigest = digest({k: v for k, v in akw.items() if k not in ("run_dir", "device")})
            task_key = f"{key}:{net.name}"
            gpus = 0.0 if key == "metrics" else scale.gpus
            analysis_tasks.append(
                Task(task_key, f"wiring_lab.tasks:{key}_task", akw, str(run_dir / "results" / key / f"{net.name}-{adigest}.json"), gpus)
            )
            needs[task_key] = (train_key,)
    if analyses["population"] is not None:  # needs no network: runs beside the per-network analyses
        settings = analyses["population"]
        analysis_tasks.append(Task("population", "wiring_lab.tasks:population_task", {**common, "settings": settings},
                                   str(run_dir / "results" / "population" / f"population-{digest(settings)}.json")))
    final_tasks = []
    damage_tasks = [t for t in analysis_tasks if t.key.startswith("damage:")]
    if analyses["correlate"] is not None and damage_tasks:  # after every damage sweep: their result files name them
        settings = analyses["correlate"]
        kw = {**common, "settings": settings, "damage_results": [t.result_path for t in damage_tasks]}
        cdigest = digest({"settings": settings, "damage": [Path(t.result_path).name for t in damage_tasks]})
        final_tasks.append(Task("correlate", "wiring_lab.tasks:correlate_task", kw,
                                str(run_dir / "results" / "correlate" / f"correlations-{cdigest}.json")))
        needs["correlate"] = tuple(t.key for t in damage_tasks)
    return StudyPlan(study, scale, run_dir, networks, train_tasks, analysis_tasks, needs, final_tasks)


# --- running and collecting ------------------------------------------------------------------
@dataclass
class StudyResult:
    """What :func:`run_study` did: every task's outcome and the tables it wrote."""

    plan: StudyPlan
    outcomes: list[TaskOutcome]
    tables: dict[str, Path]
    seconds: float

    def count(self, status: str) -> int:
        """Number of tasks with ``status``."""
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> list[TaskOutcome]:
        """The failed tasks."""
        return [o for o in self.outcomes if o.status == "failed"]


def collect_tables(plan: StudyPlan) -> dict[str, Path]:
    """Gather the result files of ``plan``'s tasks into the run directory's tables (task order)."""
    results = [read_result(task.result_path) or {} for task in plan.tasks]
    ints = {"models": MODEL_INT_COLUMNS, "history": ("epoch",), "graphs": ("stage", "n", "edges")}
    written, frames = {}, {}
    for table in ("models", "history", "graphs", *ANALYSIS_TABLES.values()):
        df = results_frame(results, table, ints.get(table, ()))
        if df is not None:
            frames[table] = df
            written[table] = write_table(df, table_path(plan.run_dir, table))
    # the derived tables read the tables as they read back (the files appear with the others, at the end)
    models = as_read_back(frames["models"], written["models"].suffix) if "models" in written else None
    if "damage" in written:  # how the node-damage findings move with the ablation choice
        damage = as_read_back(frames["damage"], written["damage"].suffix)
        if "generator" not in damage.columns and models is not None:
            damage["generator"] = damage["model"].map(dict(zip(models["model"], models["generator"])))
        if (damage["kind"] == "node").any():
            written["sensitivity"] = write_table(sensitivity_table(damage), table_path(plan.run_dir, "sensitivity"))
    if models is not None:  # one row per setting: accuracy with its interval over seeds, size, lr
        written["comparison"] = write_table(compare_networks(models), table_path(plan.run_dir, "comparison"))
    return written


MODEL_INT_COLUMNS = ("k", "m", "seed", "channels", "nodes", "epochs", "n_params", "macs")


def _check_run_dir(run_dir: Path, study: Study, scale: str) -> None:
    sidecar = run_dir / "study.json"
    if not sidecar.exists():
        return
    try:
        prev = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return
    if not isinstance(prev, dict) or not isinstance(prev.get("study", {}), dict):
        return
    if (prev.get("study", {}).get("name"), prev.get("scale")) != (study.name, scale):
        raise UserError(
            f"{run_dir} holds study {prev.get('study', {}).get('name')!r} at scale {prev.get('scale')!r}; "
            f"choose another --out for {study.name!r} at {scale!r}"
        )


def default_run_dir(study: Study, scale: str) -> Path:
    """``runs/<study>-<scale>``."""
    return Path("runs") / f"{study.name}-{scale}"


def run_study(
    study: Study | str | Path,
    scale: str = "demo",
    out: str | Path | None = None,
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    device: str | None = None,
    progress: bool = True,
    echo: Callable[[str], None] | None = None,
    data_root: str | None = None,
    on_task: Callable[[TaskOutcome], None] | None = None,
) -> StudyResult:
    """Expand, run (skipping finished tasks) and collect a study; trainings first, then the
    analyses of each network (and the population), then the correlations of all damage.

    Progress lines go to ``echo``, by default the ``wiring_lab.study`` logger (level INFO);
    ``on_task`` sees every task's outcome as it arrives.
    The collected tables and ``study.json`` appear all or none; the per-task result files are
    written as tasks finish (they are how a killed run resumes).
    """
    echo = echo or logging.getLogger(__name__).info
    t0 = time.perf_counter()
    study = study if isinstance(study, Study) else load_study(study)
    run_dir = Path(out) if out is not None else default_run_dir(study, scale)
    plan = expand_study(study, scale, run_dir, device=device, data_root=data_root)
    price_plan(plan, device)  # every training and sweep priced before the first task starts
    _check_run_dir(run_dir, study, scale)
    run_dir.mkdir(parents=True, exist_ok=True)
    sidecar = {"study": asdict(study), "scale": scale, "run_dir": str(run_dir), "versions": library_versions()}
    write_json(run_dir / "study.json", sidecar)
    echo(
        f"study {study.name} ({scale}): {len(plan.networks)} networks, {len(plan.train_tasks)} trainings, "
        f"{len(plan.analysis_tasks) + len(plan.final_tasks)} analyses -> {run_dir}"
    )
    outcomes: list[TaskOutcome] = []
    for phase in (plan.train_tasks, plan.analysis_tasks, plan.final_tasks):
        finished = {o.key for o in outcomes if o.status in ("done", "skipped")}
        ready, blocked = [], []
        for t in phase:
            missing = [k for k in plan.needs.get(t.key, ()) if k not in finished]
            if missing:
                blocked.append(TaskOutcome(t.key, "failed", None, f"not run: {missing[0]} failed", 0.0))
            else:
                ready.append(t)
        if ready:
            outcomes += run_tasks(ready, executor, workers, address, progress, on_task)
        for o in blocked:
            outcomes.append(o)
            if on_task is not None:
                on_task(o)
    with all_or_none():  # the run's tables and sidecar: every one or none
        tables = collect_tables(plan)
        seconds = time.perf_counter() - t0
        sidecar["tasks"] = [{"key": o.key, "status": o.status, "error": o.error, "seconds": o.seconds} for o in outcomes]
        sidecar["seconds"] = seconds
        write_json(run_dir / "study.json", sidecar)
    return StudyResult(plan, outcomes, tables, seconds)
