"""The one-command demo on the embedded digits data set: train, damage, measure, correlate, draw, report.

``run_demo(out)`` fills a run directory (:mod:`wiring_lab.rundir`): ``checkpoints/``, ``tables/``
(each with a ``<name>.json`` sidecar holding the configuration that made it), ``figures/``,
``config.json``, ``timings.json`` and ``report.html``. Re-run, it reuses every checkpoint and
table whose configuration matches and redoes only what is missing or changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from wiring_lab._io import read_table, to_jsonable, write_json, write_table
from wiring_lab.rundir import checkpoint_path, table_path
from wiring_lab.train import TrainConfig, model_config_for, train_network

# The paper's best setting of each generator (RandWire Fig. 3), as (generator, parameters).
DEMO_SETTINGS: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = (
    ("er", (("p", 0.2),)),
    ("ba", (("m", 5),)),
    ("ws", (("k", 4), ("p", 0.75))),
)
WS_P_GRID = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)


@dataclass(frozen=True)
class DemoConfig:
    """Size of the demo (small enough to finish in minutes on a 2-core laptop CPU)."""

    # the paper's N = 32 (at N = 16 ER(0.2) is disconnected 45% of the time and BA(5) 46% dense, so
    # the families change); C, head and epochs sized to finish in about 5 minutes on 2 cores
    channels: int = 8  # C of the networks
    nodes: int = 32  # N per stage
    head_channels: int = 128
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=6))  # the recipe (digits; each network's seed is its own)
    seeds: int = 3  # instances (network seeds 0..seeds-1) of every generator setting, for Fig. 3's intervals
    settings: tuple = DEMO_SETTINGS  # (generator, ((param, value), ...)) trained and damaged
    damage_images: int | None = None  # test images per damage/attack evaluation (None: the whole test split)
    attack_fractions: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)  # of each stage's nodes
    attack_repeats: int = 3  # random-order repeats
    ws_p: tuple[float, ...] = WS_P_GRID  # Watts-Strogatz curves: rewiring probabilities
    ws_nodes: int = 64  # N of the WS population graphs
    ws_k: int = 4
    ws_samples: int = 10  # graphs per P
    bootstrap: int = 1000  # resamples of the damage deltas' and the correlations' 95% intervals
    seed: int = 0  # seed of damage sampling, bootstrap and attacks
    # node removals are swept under each of these ablations, with and without cascade (edges and the
    # attacks under the default, drop without cascade); tables/sensitivity.csv compares the choices
    ablations: tuple[str, ...] = ("drop", "zero", "mean")
    mean_images: int = 1000  # mean ablation: training images the mean activations are taken over

    def __post_init__(self) -> None:
        """Reject sizes that cannot run, with what to change."""
        for name in ("channels", "nodes", "head_channels", "seeds", "attack_repeats", "ws_nodes", "ws_samples", "bootstrap"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"DemoConfig.{name} must be a positive integer (got {v!r})")
        if self.damage_images is not None and self.damage_images < 1:
            raise ValueError(f"DemoConfig.damage_images must be a positive integer or None (got {self.damage_images!r})")
        if not self.settings:
            raise ValueError("DemoConfig.settings must name at least one (generator, parameters) setting")
        if any(not 0.0 <= f < 1.0 for f in self.attack_fractions):
            raise ValueError("DemoConfig.attack_fractions must lie in [0, 1)")
        if not self.ablations or any(a not in ("drop", "zero", "mean") for a in self.ablations):
            raise ValueError(f"DemoConfig.ablations must name some of drop, zero, mean (got {self.ablations!r})")
        object.__setattr__(self, "ablations", tuple(dict.fromkeys(self.ablations)))
        if 0.0 not in self.ws_p:
            raise ValueError("DemoConfig.ws_p must contain 0 (the lattice normalises the WS curves)")
        object.__setattr__(self, "settings", tuple((g, tuple(tuple(kv) for kv in params)) for g, params in self.settings))

    @classmethod
    def tiny(cls) -> "DemoConfig":
        """A size that runs end to end in well under a minute (CI, tests)."""
        return cls(channels=4, nodes=6, head_channels=16, train=TrainConfig(epochs=2), seeds=1,
                   settings=(("er", (("p", 0.4),)), ("ba", (("m", 2),)), ("ws", (("k", 4), ("p", 0.75)))),
                   damage_images=120, attack_fractions=(0.0, 0.34), attack_repeats=1,
                   ws_p=(0.0, 0.01, 0.1, 1.0), ws_nodes=16, ws_samples=2, bootstrap=100)


SIZES = {"default": DemoConfig, "tiny": DemoConfig.tiny}


@dataclass
class _Run:
    """Bookkeeping of one demo run: where, what config, timings of each step."""

    out: Path
    config: DemoConfig
    device: str
    echo: Callable[[str], None]
    timings: list[dict[str, Any]] = field(default_factory=list)

    def step(self, name: str, seconds: float, status: str, detail: str = "") -> None:
        """Record one step's wall time and status, and say it."""
        self.timings.append({"step": name, "status": status, "seconds": round(seconds, 2), "detail": detail})
        self.echo(f"{name}: {status} ({seconds:.1f} s){' - ' + detail if detail else ''}")


def model_name(generator: str, seed: int) -> str:
    """Checkpoint stem of a demo network: ``ws_s0``."""
    return f"{generator}_s{seed}"


def _key(obj: Any) -> dict[str, Any]:
    """A JSON-normalised copy of ``obj`` (tuples become lists), comparable with a sidecar read back."""
    return json.loads(json.dumps(to_jsonable(obj), sort_keys=True))


NETWORK_FIELDS = ("channels", "nodes", "head_channels", "train", "seeds", "settings")


def _networks_key(config: DemoConfig) -> dict[str, Any]:
    """The fields that decide the trained networks: a table made from them is stale when these change."""
    return {k: getattr(config, k) for k in NETWORK_FIELDS}


def _fresh(run: _Run, table: str, key: dict[str, Any]) -> bool:
    """Whether ``table`` exists and its sidecar says it was made with ``key``."""
    path, side = table_path(run.out, table), table_path(run.out, table).with_suffix(".json")
    if not (path.is_file() and side.is_file()):
        return False
    try:
        return json.loads(side.read_text()) == key
    except (OSError, json.JSONDecodeError):
        return False


def _write(run: _Run, table: str, df, key: dict[str, Any]) -> None:
    """Write ``table`` and its configuration sidecar."""
    write_table(df, table_path(run.out, table))
    write_json(table_path(run.out, table).with_suffix(".json"), key)


def _parts_dir(run: _Run, step: str, key: dict[str, Any]) -> Path:
    """Per-network partial results of a step, in a folder named by the step's configuration."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return run.out / "work" / f"{step}-{digest}"


# --- steps ------------------------------------------------------------------------------------
def train_networks(run: _Run, data) -> dict[str, Path]:
    """Train every setting x seed (resuming finished or partial checkpoints); name -> checkpoint path."""
    c = run.config
    paths = {}
    for gen, params in c.settings:
        for seed in range(c.seeds):
            name = model_name(gen, seed)
            path = checkpoint_path(run.out, name)
            mc = model_config_for(data, channels=c.channels, nodes=c.nodes, head_channels=c.head_channels,
                                  generator=gen, params=dict(params), seed=seed)
            tc = replace(c.train, seed=seed)
            t0 = time.perf_counter()
            done = _finished(path, tc.epochs)
            ckpt = train_network(mc, tc, path, device=run.device, resume=True, data=data, progress=False)
            top1 = (ckpt.metadata.get("final") or {}).get("test_top1", float("nan"))
            run.step(f"train {name}", time.perf_counter() - t0, "reused" if done else "trained", f"top-1 {top1:.2f}%")
            paths[name] = path
    return paths


def _finished(path: Path, epochs: int) -> bool:
    """Whether the checkpoint at ``path`` has trained all ``epochs``."""
    if not path.is_file():
        return False
    from wiring_lab.checkpoint import read_checkpoint

    try:
        return (read_checkpoint(path).get("metadata") or {}).get("epochs_done", 0) >= epochs
    except ValueError:
        return False


def write_model_tables(run: _Run, paths: dict[str, Path]) -> None:
    """``models.csv``, ``history.csv`` and ``graphs.csv`` from the checkpoints."""
    import pandas as pd

    from wiring_lab.checkpoint import load_native
    from wiring_lab.summary import graph_records, history_records, model_record

    t0 = time.perf_counter()
    models, history, graphs = [], [], []
    for name, path in paths.items():
        ckpt = load_native(path)
        models.append(model_record(name, ckpt.model, ckpt.metadata, checkpoint=str(path.relative_to(run.out))))
        history += history_records(name, ckpt.metadata)
        graphs += graph_records(name, ckpt.graphs)
    key = _key({"networks": _networks_key(run.config)})
    _write(run, "models", pd.DataFrame(models), key)
    _write(run, "history", pd.DataFrame(history), key)
    _write(run, "graphs", pd.DataFrame(graphs), key)
    run.step("tables models, history, graphs", time.perf_counter() - t0, "written", f"{len(models)} networks")


def _cached_step(run: _Run, table: str, step_config: dict[str, Any], compute: Callable[[], Any], detail: str = "",
                 networks: bool = True) -> None:
    """Compute ``table`` unless its sidecar matches ``step_config`` (and the networks); record the timing."""
    key = _key({"networks": _networks_key(run.config) if networks else None, "step": step_config})
    t0 = time.perf_counter()
    if _fresh(run, table, key):
        run.step(table, time.perf_counter() - t0, "reused", detail)
        return
    df = compute()
    _write(run, table, df, key)
    run.step(table, time.perf_counter() - t0, "computed", f"{len(df)} rows" + (f", {detail}" if detail else ""))


def run_demo(
    out: str | Path,
    config: DemoConfig = DemoConfig(),
    device: str = "auto",
    echo: Callable[[str], None] | None = None,
    threads: int | None = 1,
) -> dict[str, Any]:
    """The main job: train ER/BA/WS on digits, damage, attack, metrics, correlations, figures, report.

    ``threads``: torch CPU threads while the demo runs (restored after). The demo's networks are
    so small that one thread is fastest; several threads on a busy machine are many times slower.
    Returns ``{"report": path, "figures": [FigureOutcome], "timings": [...], "models": {name: path}}``.
    """
    from wiring_lab._io import torch_threads

    with torch_threads(threads):  # progress lines: echo, by default the wiring_lab.demo logger (INFO)
        return _run_demo(out, config, device, echo or logging.getLogger(__name__).info)


def _run_demo(out: str | Path, config: DemoConfig, device: str, echo: Callable[[str], None]) -> dict[str, Any]:
    """:func:`run_demo` with the thread count set."""
    from wiring_lab._io import resolve_device
    from wiring_lab.data import load_dataset
    from wiring_lab.figures import render_figures
    from wiring_lab.report import write_report

    start = time.perf_counter()
    out = Path(out)
    run = _Run(out, config, str(resolve_device(device)), echo)
    write_json(out / "config.json", {"demo": asdict(config), "device": run.device})
    data = load_dataset("digits")
    paths = train_networks(run, data)
    write_model_tables(run, paths)
    _metric_steps(run, paths)
    _damage_steps(run, paths, data)
    _correlation_step(run)
    t0 = time.perf_counter()
    outcomes = render_figures(out, "all", out=out / "figures", fmt="png", echo=echo)
    made = [o.name for o in outcomes if o.status == "made"]
    run.step("figures", time.perf_counter() - t0, "drawn", f"{len(made)} made: {', '.join(made)}")
    run.timings.append({"step": "total", "status": "", "seconds": round(time.perf_counter() - start, 2), "detail": ""})
    write_json(out / "timings.json", run.timings)
    report = write_report(out, config={"demo": asdict(config), "device": run.device}, timings=run.timings,
                          outcomes=outcomes, title="wiring-lab demo: randomly wired networks on digits")
    echo(f"wrote {report} ({time.perf_counter() - start:.1f} s in all)")
    return {"report": report, "figures": outcomes, "timings": run.timings, "models": paths}


def _metric_steps(run: _Run, paths: dict[str, Path]) -> None:
    """Population metrics over the WS P grid; stage and node metrics of every trained network."""
    import pandas as pd

    from wiring_lab.checkpoint import read_graphs
    from wiring_lab.metrics import PopulationConfig, population_metrics, stage_metrics, stage_node_metrics

    c = run.config
    pop = PopulationConfig(generator="ws", grid={"k": [c.ws_k], "p": list(c.ws_p)}, nodes=c.ws_nodes,
                           samples=c.ws_samples, seed=c.seed, device=run.device)
    _cached_step(run, "population_metrics", asdict(pop) | {"device": None}, lambda: population_metrics(pop),
                 f"WS(K={c.ws_k}), N={c.ws_nodes}, {len(c.ws_p)} values of P x {c.ws_samples} graphs", networks=False)
    graphs = {name: read_graphs(p) for name, p in paths.items()}
    _cached_step(run, "stage_metrics", {"models": sorted(graphs)},
                 lambda: pd.concat([stage_metrics(g, name, device=run.device) for name, g in graphs.items()], ignore_index=True))
    _cached_step(run, "node_metrics", {"models": sorted(graphs)},
                 lambda: pd.concat([stage_node_metrics(g, name, device=run.device) for name, g in graphs.items()], ignore_index=True))


def _damage_steps(run: _Run, paths: dict[str, Path], data) -> None:
    """Node and edge removal sweeps and attack curves of every trained network."""
    import pandas as pd

    from wiring_lab.damage import AttackConfig, attack_curve, damage_sweep

    c = run.config
    configs = damage_configs(c)
    key = _key({"networks": _networks_key(c), "step": [asdict(dc) for dc in configs]})
    if _fresh(run, "damage", key):
        run.step("damage", 0.0, "reused")
    else:
        parts = _parts_dir(run, "damage", key)
        frames = []
        for name, path in paths.items():
            t0 = time.perf_counter()
            dfs = [damage_sweep(path, dc, data=data, device=run.device, out=parts / f"{name}-{i}.csv", progress=False)
                   for i, dc in enumerate(configs)]
            frames += dfs
            n = sum(int((df["kind"] != "intact").sum()) for df in dfs)
            run.step(f"damage {name}", time.perf_counter() - t0, "computed", f"{n} variants in {len(dfs)} sweeps")
        _write(run, "damage", pd.concat(frames, ignore_index=True), key)
    _sensitivity_step(run)
    configs = [AttackConfig(order=o, fractions=tuple(c.attack_fractions), repeats=c.attack_repeats if o == "random" else 1,
                            seed=c.seed, limit=c.damage_images) for o in ("random", "degree", "betweenness")]

    def attacks() -> pd.DataFrame:
        """Attack curves of every network and order, one table."""
        return pd.concat([attack_curve(path, ac, data=data, device=run.device, progress=False)
                          for path in paths.values() for ac in configs], ignore_index=True)

    _cached_step(run, "attack", {"configs": [asdict(a) for a in configs], "models": sorted(paths)}, attacks,
                 f"random ({c.attack_repeats} repeats), degree and betweenness orders")


def damage_configs(c: DemoConfig) -> list:
    """The demo's damage sweeps: nodes and edges under drop without cascade (the default), then
    nodes alone under every other (ablation, cascade) choice of ``c.ablations``."""
    from wiring_lab.damage import DamageConfig

    common = {"seed": c.seed, "limit": c.damage_images, "bootstrap": c.bootstrap, "mean_images": c.mean_images}
    configs = [DamageConfig(remove="both", **common)]
    for ablation in c.ablations:
        for cascade in (False, True):
            if (ablation, cascade) != ("drop", False):
                configs.append(DamageConfig(remove="node", ablation=ablation, cascade=cascade, **common))
    return configs


def _sensitivity_step(run: _Run) -> None:
    """How the node-damage findings move with the ablation choice -> sensitivity.csv (the report's findings)."""
    from wiring_lab.sensitivity import sensitivity_table

    damage_path = table_path(run.out, "damage")
    side = json.loads(damage_path.with_suffix(".json").read_text())
    _cached_step(run, "sensitivity", {"damage": _key(side)}, lambda: sensitivity_table(read_table(damage_path)),
                 "mean loss and out-degree slope per ablation choice and generator")


def _correlation_step(run: _Run) -> None:
    """Correlations of node and edge metrics with damage (``wiring_lab.correlation``) -> correlations.csv."""
    damage_path = table_path(run.out, "damage")
    if not damage_path.is_file():
        run.step("correlations", 0.0, "skipped", "needs damage.csv")
        return
    from wiring_lab.correlation import CorrelateConfig, correlate

    cc = CorrelateConfig(seed=run.config.seed, n_boot=run.config.bootstrap)

    def compute():
        """Correlation rows of the damage table (metrics joined from the checkpoints)."""
        result = correlate(read_table(damage_path), cc, table_path=damage_path, checkpoints=run.out / "checkpoints")
        return result.correlations

    _cached_step(run, "correlations", asdict(cc) | {"damage": _key(json.loads(damage_path.with_suffix(".json").read_text()))}, compute)


def with_size(size: str, **overrides: Any) -> DemoConfig:
    """The demo config of a named size (``default`` or ``tiny``) with fields overridden."""
    if size not in SIZES:
        raise ValueError(f"unknown demo size {size!r}; choose one of {', '.join(SIZES)}")
    config = SIZES[size]()
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "epochs" in overrides:  # a TrainConfig field
        overrides["train"] = replace(config.train, epochs=overrides.pop("epochs"))
    return replace(config, **overrides)
