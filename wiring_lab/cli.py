"""The ``wiring-lab`` command line: each command parses its options, calls the library, says what it wrote.

Command modules are imported inside each command, so ``wiring-lab --help`` answers without
importing torch (over a second on its own).

Bad input (a ``ValueError`` from the library, a missing file) is printed as one line,
``error: ...``, on stderr with exit code 2; never a traceback.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect as _inspect
import json
import logging
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer

from wiring_lab._io import all_or_none
from wiring_lab.ablation import DEFAULT_ABLATION, ablation_help
from wiring_lab.generators import list_generators
from wiring_lab.recipe import TrainConfig
from wiring_lab.search.config import SearchConfig

# the defaults --help shows, read from the configs (neither module imports torch)
RECIPE = TrainConfig()
SEARCH = {f.name: f.default for f in dataclasses.fields(SearchConfig) if f.default is not dataclasses.MISSING}
SEARCH_RECIPE = SearchConfig.__dataclass_fields__["train"].default_factory()

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Study trained randomly wired neural networks (RandWire): graphs, training, damage, metrics, figures.",
)


# An error line quotes untrusted values; it never grows past this many characters.
MAX_MESSAGE = 400


class _EchoHandler(logging.Handler):
    """Library log records as plain lines: INFO and below on stdout, warnings on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        typer.echo(self.format(record), err=record.levelno >= logging.WARNING)


def fail(message: str, code: int = 2) -> None:
    """Print one ``error:`` line on stderr and exit."""
    typer.echo(f"error: {message[:MAX_MESSAGE]}{'...' if len(message) > MAX_MESSAGE else ''}", err=True)
    raise typer.Exit(code)


# parameter -> what its path names; a missing one is refused before any heavy import
_INPUTS = {
    "checkpoint": "checkpoint file",
    "foreign": "checkpoint file",
    "file": "checkpoint or graph file",
    "table": "table file",
    "graphs": "graph file or directory",
    "run_dir": "run directory",
}


def _check_inputs(kwargs: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the first input path (see ``_INPUTS``) that does not exist."""
    for name, what in _INPUTS.items():
        value = kwargs.get(name)
        for path in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(path, Path) and not path.exists():
                raise ValueError(f"{path}: no such {what}")


def user_errors(fn: Callable) -> Callable:
    """Turn the library's ``ValueError``s and file errors into a one-line message, exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            from wiring_lab._validate import check_cli_numbers

            check_cli_numbers(fn.__name__, kwargs)  # every number finite and in range before any work
            _check_inputs(kwargs)  # input files exist, before torch or pandas is imported (seconds)
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except (ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as e:
            msg = str(e).splitlines()[0] if str(e) else e.__class__.__name__
            fail(msg)
        except OSError as e:  # a file-system failure outside the write helpers: still one line
            fail(f"{e.filename or 'file system'}: {e.strerror or e.__class__.__name__}")
        except (MemoryError, RecursionError) as e:  # a limit the budget checks did not foresee
            fail(f"ran out of {'memory' if isinstance(e, MemoryError) else 'stack'}; lower the sizes asked for or --max-memory")
        except KeyboardInterrupt:
            fail("interrupted; finished work is saved, re-run the same command to continue", code=130)

    return wrapper


def renamed_option(old: str, param: str, new: str) -> Callable:
    """Accept ``old`` (hidden from --help, deprecated) as another spelling of option ``new`` (parameter ``param``)."""

    def deco(fn: Callable) -> Callable:
        key = f"_deprecated_{param}"
        sig = _inspect.signature(fn, eval_str=True)
        alias = _inspect.Parameter(key, _inspect.Parameter.KEYWORD_ONLY, default=typer.Option(None, old, hidden=True), annotation=Optional[str])

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            value = kwargs.pop(key, None)
            if value is not None:  # silently: scripts and notebooks written for the old name keep working
                kwargs[param] = value
            return fn(*args, **kwargs)

        params = list(sig.parameters.values())
        wrapper.__signature__ = sig.replace(parameters=params + [alias])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {**fn.__annotations__, key: Optional[str]}
        return wrapper

    return deco


@app.callback()
def _options(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="also show each task's outcome and other details"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="only warnings, errors and the command's result"),
    max_memory: Optional[str] = typer.Option(None, help="memory budget, e.g. 8G (default: half of this machine's memory)"),
    max_work: Optional[int] = typer.Option(None, help="work limit in graph nodes processed (default 10**9)"),
) -> None:
    """Study trained randomly wired neural networks (RandWire): graphs, training, damage, metrics, figures."""
    from wiring_lab._limits import parse_size, set_overrides

    if verbose and quiet:
        fail("choose one of --verbose and --quiet")
    logger = logging.getLogger("wiring_lab")  # the library logs; this layer decides what is shown
    logger.handlers = [h for h in logger.handlers if not isinstance(h, _EchoHandler)] + [_EchoHandler()]
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    if max_memory is not None:
        try:
            parse_size(max_memory)
        except ValueError as e:
            fail(str(e))
    if max_work is not None and max_work < 1:
        fail(f"--max-work must be positive (got {max_work})")
    set_overrides(max_memory, max_work)  # this command only; worker processes read WIRING_LAB_MAX_*


def _echo_json(obj: Any) -> None:
    from wiring_lab._io import to_jsonable

    typer.echo(json.dumps(to_jsonable(obj), indent=2, sort_keys=True))


# --- generate --------------------------------------------------------------------------------
GeneratorOpt = typer.Option("ws", "--generator", "-g", help=" | ".join(list_generators()) + " (wiring_lab.generators)")
# a generator's parameters: --p/--k/--m, typed by its record (WS's K an integer, WS-flex's any number), or --param
PARAM_HELP = {
    "p": "ER/WS/WS-flex probability (default ER 0.2, WS 0.75)",
    "k": "WS neighbours, even (default 4); WS-flex average degree, any number",
    "m": "BA edges per new node (default 5)",
}
ParamOpt = typer.Option(None, "--param", help="NAME=VALUE: any parameter of the generator (repeat)")


def _generator_params(generator: str, p: Optional[str], k: Optional[str], m: Optional[str], more: Optional[List[str]]) -> dict[str, Any]:
    """The given parameters of ``generator``, parsed and checked by its record (omitted ones: its defaults)."""
    from wiring_lab.generators import get_generator

    gen = get_generator(generator)
    given = {name: text for name, text in (("p", p), ("k", k), ("m", m)) if text is not None}
    for item in more or ():
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--param takes NAME=VALUE (got {item[:60]!r})")
        given[name.strip()] = text.strip()
    schema = {q.name: q for q in gen.params}
    unknown = [name for name in given if name not in schema]
    if unknown:
        raise ValueError(f"generator {generator!r} takes no parameter {unknown[0]!r} (its parameters: {', '.join(schema) or 'none'})")
    params = {name: schema[name].parse(text) for name, text in given.items()}
    from wiring_lab._validate import CLI_BOUNDS, check_number

    for name, value in params.items():  # the command line's own bounds (an integer K's as an integer's)
        if name in CLI_BOUNDS and (name == "p" or schema[name].kind is int):
            check_number(f"--{name}", value, *CLI_BOUNDS[name])
    gen.resolve(**params)  # the generator's bounds, before anything heavy is imported
    return params
# Every command that takes a checkpoint also takes one written by another RandWire implementation.
LayoutOpt = typer.Option(
    "native",
    "--layout",
    help="checkpoint layout: native | auto | seungwonpark | jiaminren | hebo1221 | leaderj1001 | ironjr (refused)",
)
GraphsOpt = typer.Option(
    None,
    "--graphs",
    help="stage graphs: a native graph JSON file or directory; for a foreign checkpoint its graph files "
    "(repeat, in stage order) or their directory",
)


def _checkpoint_source(checkpoint: Path, layout: str, graphs: Optional[List[Path]]) -> Any:
    """The path itself for a plain native checkpoint, else the loaded (foreign or re-graphed) checkpoint."""
    if layout == "native" and not graphs:
        return checkpoint
    from wiring_lab.loading import load_checkpoint

    return load_checkpoint(checkpoint, graphs=graphs or None, format=layout)


@app.command()
@user_errors
@all_or_none()  # final outputs: all written or none
def generate(
    generator: str = GeneratorOpt,
    nodes: int = typer.Option(32, "--nodes", "-n", help="N, nodes (input/output nodes not counted)"),
    p: Optional[str] = typer.Option(None, metavar="NUMBER", help=PARAM_HELP["p"]),
    k: Optional[str] = typer.Option(None, metavar="NUMBER", help=PARAM_HELP["k"]),
    m: Optional[str] = typer.Option(None, metavar="INTEGER", help=PARAM_HELP["m"]),
    param: Optional[List[str]] = ParamOpt,
    seed: int = typer.Option(0, help="graph seed"),
    out: Optional[Path] = typer.Option(None, help="write the graph JSON here (default: print it)"),
    draw: Optional[Path] = typer.Option(None, help="also draw the DAG to this image (png, pdf, svg)"),
) -> None:
    """Sample one random graph (paper definitions) and write it as JSON."""
    params = _generator_params(generator, p, k, m, param)
    from wiring_lab.graphs import generate_graph, save_graph, stage_dag

    if draw is not None:  # refuse a bad drawing name before anything is written
        from wiring_lab.plots import FORMATS

        if draw.suffix.lower().lstrip(".") not in FORMATS:
            raise ValueError(f"{draw}: figure files must end in .png, .pdf or .svg")
    spec = generate_graph(generator, nodes, seed=seed, **params)
    if out is None:
        typer.echo(spec.to_json(), nl=False)
    else:
        save_graph(spec, out)
        dag = stage_dag(spec)
        typer.echo(
            f"wrote {out}: {spec.generator}{spec.params} N={spec.n}, {len(spec.edges)} edges, "
            f"{len(dag.input_fed)} input-fed / {len(dag.output_fed)} output nodes, seed {spec.seed}"
        )
    if draw is not None:
        from wiring_lab.drawing import draw_stage
        from wiring_lab.plots import save_figure

        save_figure(draw_stage(spec), draw)
        typer.echo(f"wrote {draw}")


# --- inspect ---------------------------------------------------------------------------------
@app.command()
@renamed_option("--format", "layout", "--layout")
@user_errors
def inspect(
    checkpoint: Optional[Path] = typer.Argument(None, help="checkpoint to summarise; omit to build from options"),
    graphs: Optional[List[Path]] = GraphsOpt,
    layout: str = LayoutOpt,
    regime: str = typer.Option("small", help="small | regular | cifar | mnist | digits"),
    channels: int = typer.Option(78, "--channels", "-c", help="C"),
    nodes: int = typer.Option(32, "--nodes", "-n", help="N"),
    generator: str = GeneratorOpt,
    p: Optional[str] = typer.Option(None, metavar="NUMBER", help=PARAM_HELP["p"]),
    k: Optional[str] = typer.Option(None, metavar="NUMBER", help=PARAM_HELP["k"]),
    m: Optional[str] = typer.Option(None, metavar="INTEGER", help=PARAM_HELP["m"]),
    param: Optional[List[str]] = ParamOpt,
    node_op: str = typer.Option("sepconv3x3", help="node operation"),
    num_classes: int = typer.Option(1000, help="classes of the classifier"),
    in_channels: int = typer.Option(3, help="image channels"),
    seed: int = typer.Option(0, help="network seed"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Summarise a checkpoint, or build a network from options (no training): params, MACs, graphs."""
    from wiring_lab.model import ModelConfig, build_model
    from wiring_lab.summary import format_summary, model_summary

    if checkpoint is not None:
        from wiring_lab.loading import load_checkpoint

        ckpt = load_checkpoint(checkpoint, graphs=graphs or None, format=layout)
        summary = model_summary(ckpt.model, ckpt.metadata)
    else:
        params = _generator_params(generator, p, k, m, param)
        config = ModelConfig(
            regime=regime,
            channels=channels,
            nodes=nodes,
            generator=generator,
            params=params,
            seed=seed,
            node_op=node_op,
            num_classes=num_classes,
            in_channels=in_channels,
        )
        summary = model_summary(build_model(config))
    if as_json:
        _echo_json(summary)
    else:
        typer.echo(format_summary(summary))


# --- train -----------------------------------------------------------------------------------
@app.command()
@user_errors
def train(
    out: Path = typer.Option(..., help="checkpoint path (written after every epoch)"),
    arch: str = typer.Option("randwire", help="randwire | plain | alexnet | tinycnn | handmade (the last three: hand-designed CNNs, no graphs)"),
    generator: str = GeneratorOpt,
    p: Optional[str] = typer.Option(None, metavar="NUMBER", help=PARAM_HELP["p"]),
    k: Optional[str] = typer.Option(None, metavar="NUMBER", help=PARAM_HELP["k"]),
    m: Optional[str] = typer.Option(None, metavar="INTEGER", help=PARAM_HELP["m"]),
    param: Optional[List[str]] = ParamOpt,
    dataset: str = typer.Option("digits", help="digits | mnist | fashion-mnist | cifar10 | imagefolder"),
    data_root: Optional[Path] = typer.Option(None, help="data directory (not needed for digits)"),
    regime: Optional[str] = typer.Option(None, help="default: the one that fits the data set"),
    channels: Optional[int] = typer.Option(None, "--channels", "-c", help="C (default 16 digits, 32 MNIST/CIFAR, 78 else)"),
    nodes: Optional[int] = typer.Option(None, "--nodes", "-n", help="N (default 16 digits, 32 else)"),
    head_channels: Optional[int] = typer.Option(None, help="head width (default 1280; less for small data)"),
    node_op: str = typer.Option("sepconv3x3"),
    seed: int = typer.Option(0, help="network seed (graphs) and training seed"),
    epochs: int = typer.Option(RECIPE.epochs),
    batch_size: int = typer.Option(RECIPE.batch_size),
    lr: float = typer.Option(RECIPE.lr, help="peak learning rate (half-period cosine decay to 0)"),
    weight_decay: float = typer.Option(RECIPE.weight_decay),
    label_smoothing: float = typer.Option(RECIPE.label_smoothing),
    edge_drop: float = typer.Option(RECIPE.edge_drop, help="probability per step of dropping one input edge of a node"),
    image_size: Optional[int] = typer.Option(None, help="imagefolder: crop size (default 224)"),
    workers: int = typer.Option(RECIPE.workers, help="data loader workers (image folders)"),
    val_fraction: float = typer.Option(RECIPE.val_fraction, help="share of the training split held out (stratified, seeded) for per-epoch monitoring; 0: none"),
    val_seed: int = typer.Option(RECIPE.val_seed, help="seed of the validation hold-out"),
    augment: bool = typer.Option(RECIPE.augment, help="random crop (zero padding image_size/8) + horizontal flip of training images"),
    threads: Optional[int] = typer.Option(None, help="CPU threads for torch (default: the cores not already busy, from the load average)"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    resume: bool = typer.Option(False, help="continue OUT from its last finished epoch"),
) -> None:
    """Train a RandWire network with the paper's recipe; checkpoint after every epoch."""
    # the checks that need no torch first (importing it takes seconds)
    params = _generator_params(generator, p, k, m, param)
    if arch != "randwire":  # baselines stack layers in a chain (plain) or have no graph at all
        generator, params = "chain", {}
    tc = TrainConfig(
        dataset=dataset,
        data_root=str(data_root) if data_root else None,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        label_smoothing=label_smoothing,
        edge_drop=edge_drop,
        seed=seed,
        workers=workers,
        val_fraction=val_fraction,
        val_seed=val_seed,
        augment=augment,
    )
    from wiring_lab._threads import default_threads

    threads = threads or default_threads()
    from wiring_lab._io import torch_threads
    from wiring_lab.data import load_dataset
    from wiring_lab.summary import format_summary, model_summary
    from wiring_lab.train import default_size, model_config_for
    from wiring_lab.train import train_network as run_train

    data = load_dataset(dataset, data_root, image_size)
    regime = regime or data.regime
    dc, dn, dh = default_size(regime)
    mc = model_config_for(
        data,
        regime=regime,
        channels=channels or dc,
        nodes=nodes or dn,
        head_channels=head_channels or dh,
        generator=generator,
        params=params,
        seed=seed,
        node_op=node_op,
        arch=arch,
    )

    def report(row: dict) -> None:
        val = f"val loss {row['val_loss']:.4f} top-1 {row['val_top1']:.2f}% " if "val_loss" in row else ""
        typer.echo(
            f"epoch {row['epoch']:>3}: train loss {row['train_loss']:.4f} top-1 {row['train_top1']:.2f}% | "
            f"{val}({row['seconds']:.1f} s)"
        )

    with torch_threads(threads):
        ckpt = run_train(mc, tc, out, device=device, resume=resume, data=data, on_epoch=report)
    typer.echo(f"wrote {out}")
    typer.echo(format_summary(model_summary(ckpt.model, ckpt.metadata)))

# --- metrics ---------------------------------------------------------------------------------
def _grid_values(text: Optional[str], cast: Callable, name: str) -> Optional[list]:
    """Parse ``--p 0.1,0.2`` into ``[0.1, 0.2]`` (None if the option was not given)."""
    if text is None:
        return None
    try:
        values = [cast(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--{name} must be a comma-separated list of numbers (got {text[:60]!r})") from None
    from wiring_lab._validate import CLI_BOUNDS, check_float_list

    return check_float_list(f"--{name}", values, *CLI_BOUNDS[name][:2])


def _number(text: str) -> int | float:
    """``4`` -> 4, ``4.5`` -> 4.5 (WS takes an integer K, WS-flex any real K)."""
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def _write_with_sidecar(df: Any, out: Path, record: dict) -> None:
    """Write a table and its JSON sidecar (``<out>.json``, as the damage tables) holding the config."""
    from wiring_lab._io import write_json, write_table

    side = out.with_name(out.name + ".json")
    write_table(df, out)
    write_json(side, record)
    typer.echo(f"wrote {out} ({len(df)} rows) and {side}")


@app.command()
@renamed_option("--format", "layout", "--layout")
@user_errors
@all_or_none()  # final outputs: all written or none
def metrics(
    file: Optional[Path] = typer.Argument(None, help="checkpoint or graph file (JSON, networkx YAML, text); omit to sample a population"),
    layout: str = LayoutOpt,
    graphs: Optional[List[Path]] = GraphsOpt,
    generator: Optional[str] = typer.Option(None, "--generator", "-g", help="er | ba | ws | chain | complete"),
    p: Optional[str] = typer.Option(None, help="ER/WS probability, or a list: 0,0.25,0.5"),
    k: Optional[str] = typer.Option(None, help="WS neighbours, or a list: 2,4,6"),
    m: Optional[str] = typer.Option(None, help="BA edges per new node, or a list"),
    nodes: int = typer.Option(32, "--nodes", "-n", help="N"),
    samples: int = typer.Option(1000, help="graphs per setting"),
    seed: int = typer.Option(0, help="population seed (per-graph seeds are spawned from it)"),
    per: str = typer.Option("stage", help="FILE: stage (graph metrics) or node (node metrics)"),
    backend: str = typer.Option("tensor", help="tensor | networkx | graph-tool"),
    device: str = typer.Option("auto", help="auto | cpu | cuda (tensor backend)"),
    out: Optional[Path] = typer.Option(None, help="write the per-graph (or per-node) table here (.csv/.parquet)"),
    progress: bool = typer.Option(True, help="population: show a progress bar over graphs"),
) -> None:
    """Graph metrics of a generator population (summary table) or of a checkpoint's stage graphs."""
    import pandas as pd

    from wiring_lab import metrics as M
    from wiring_lab import populations as P  # registers ws-flex
    from wiring_lab._io import check_outputs

    check_outputs(out)
    if file is not None:
        if generator is not None:
            raise ValueError("give either FILE or --generator, not both")
        df = M.file_metrics(file, per=per, backend=backend, device=device, format=layout, graphs=graphs or None)
        with pd.option_context("display.max_columns", None, "display.width", 200):
            typer.echo(df.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        if out is not None:
            _write_with_sidecar(df, out, {"source": str(file), "per": per, "backend": backend})
        return
    if generator is None:
        raise ValueError("give a checkpoint/graph FILE or --generator (er, ba, ws, chain, complete)")
    grid = {
        name: values
        for name, values in (("p", _grid_values(p, float, "p")), ("k", _grid_values(k, _number, "k")), ("m", _grid_values(m, int, "m")))
        if values is not None
    }
    config = M.PopulationConfig(generator, grid, nodes, samples, seed, backend, device)
    from wiring_lab._limits import check_graph_metrics

    settings = 1
    for values in grid.values():
        settings *= max(1, len(values))
    # streamed: one chunk of graphs is in memory at a time (the summary keeps 16 floats per graph)
    check_graph_metrics(nodes, min(samples * settings, P.chunk_size(nodes)), backend)
    result = P.measure_population(config, out=out, progress=progress)  # rows streamed to --out chunk by chunk
    with pd.option_context("display.max_rows", None, "display.width", 200):
        typer.echo(result.summary.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        if len(result.curve) > 1:
            typer.echo("\nWatts-Strogatz curve (means relative to P=0):")
            typer.echo(result.curve.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if out is not None:
        from wiring_lab._io import write_json

        side = out.with_name(out.name + ".json")
        write_json(side, M.config_record(config) | {"population": P.population_record(config)})
        typer.echo(f"wrote {out} ({result.rows} rows) and {side}")


@app.command("sample-cl")
@user_errors
def sample_cl(
    generator: str = typer.Option("ws-flex", "--generator", "-g", help="ws-flex | ws | er | ba (batched generators)"),
    p: Optional[str] = typer.Option(None, help="rewiring / edge probability, or a list: 0,0.25,0.5"),
    k: Optional[str] = typer.Option(None, help="WS-flex average degree (any real) or WS K, or a list: 2,3.5,5"),
    m: Optional[str] = typer.Option(None, help="BA edges per new node, or a list"),
    nodes: int = typer.Option(32, "--nodes", "-n", help="N"),
    samples: int = typer.Option(10000, help="graphs per setting"),
    seed: int = typer.Option(0, help="population seed (and of the choice within a cell)"),
    bins: int = typer.Option(10, help="cells per axis of the C-L grid"),
    per_bin: int = typer.Option(1, "--per-bin", help="graphs kept per cell"),
    device: str = typer.Option("auto", help="auto | cpu | cuda (tensor backend)"),
    out: Path = typer.Option(..., help="directory: graphs/*.json, kept.csv, population.parquet, cl_plane.png"),
    progress: bool = typer.Option(True, help="show a progress bar over graphs"),
) -> None:
    """Keep graphs that cover the clustering / path-length plane evenly (You et al. 2020)."""
    from wiring_lab import cl_sampling as CL

    grid = {
        name: values
        for name, values in (("p", _grid_values(p, float, "p")), ("k", _grid_values(k, _number, "k")), ("m", _grid_values(m, int, "m")))
        if values is not None
    }
    config = CL.CLSampleConfig(generator, grid, nodes, samples, seed, bins, per_bin, device)
    result = CL.sample_cl(config, progress=progress)
    CL.write_cl_sample(result, config, out)
    cells = result.kept.groupby(["bin_c", "bin_l"]).ngroups if len(result.kept) else 0
    typer.echo(f"kept {len(result.kept)} of {len(result.population)} graphs, {cells} of {bins * bins} cells covered")
    typer.echo(f"wrote {out}/graphs ({len(result.graphs)} files), {out}/kept.csv, {out}/population.parquet, {out}/cl_plane.png")


# --- correlate -------------------------------------------------------------------------------
@app.command()
@user_errors
@all_or_none()  # final outputs: all written or none
def correlate(
    table: Path = typer.Argument(..., help="damage.csv (damage rows) or models.csv (per-model accuracy rows)"),
    target: Optional[str] = typer.Option(None, help="column to explain (default delta_top1 for damage, top1 for models)"),
    metrics: Optional[str] = typer.Option(None, help="metric columns, comma-separated (default: all node / graph metrics)"),
    by: Optional[str] = typer.Option(None, help="extra grouping columns, comma-separated, e.g. stage"),
    checkpoints: Optional[Path] = typer.Option(None, help="directory of <model>.pt (default: <table dir>/../checkpoints)"),
    n_boot: int = typer.Option(1000, help="bootstrap resamples for the 95% intervals"),
    folds: int = typer.Option(5, help="cross-validation folds of the regression"),
    seed: int = typer.Option(0, help="bootstrap and fold seed"),
    backend: str = typer.Option("tensor", help="metrics backend: tensor | networkx | graph-tool"),
    cluster: str = typer.Option("model", help="resampling unit of intervals and CV folds: model (a network) | stage (model x stage) | none (rows)"),
    slope_metrics: Optional[str] = typer.Option(None, help="mixed-model slopes, comma-separated (default: out_degree)"),
    generator: str = typer.Option("generator", help="column whose levels get their own mixed-model slope"),
    random: str = typer.Option("slope", help="mixed model's random effects per network: slope (intercept and slope) | intercept"),
    out: Optional[Path] = typer.Option(None, help="correlations table (.csv/.parquet); <stem>_regression, _per_network and _mixed go beside it"),
) -> None:
    """Correlate damage or accuracy with graph metrics: per-network and pooled coefficients, cluster intervals, mixed model, grouped CV."""
    from wiring_lab import correlation as C
    from wiring_lab._io import check_outputs, read_table

    check_outputs(out, out.with_name(f"{out.stem}_regression{out.suffix}") if out else None)
    split = lambda text: tuple(v.strip() for v in text.split(",") if v.strip()) if text else None  # noqa: E731
    config = C.CorrelateConfig(target=target, metrics=split(metrics), by=split(by) or (), n_boot=n_boot, folds=folds, seed=seed, backend=backend,
                               cluster=cluster, slope_metrics=split(slope_metrics), generator=generator, random=random)
    result = C.correlate(read_table(table), config, table_path=table, checkpoints=checkpoints)
    typer.echo(C.format_summary(result))
    if out is not None:
        _write_with_sidecar(result.correlations, out, C.config_record(result, table))
        from wiring_lab._io import write_table

        for name, df in (("regression", result.regression), ("per_network", result.per_network), ("mixed", result.mixed)):
            path = out.with_name(f"{out.stem}_{name}{out.suffix}")
            write_table(df, path)
            typer.echo(f"wrote {path} ({len(df)} rows)")


# --- damage ----------------------------------------------------------------------------------
def _default_output(checkpoint: Path, out: Optional[Path], what: str) -> Path:
    """``out``, or ``<checkpoint stem>.<what>.csv`` beside the checkpoint (said on stdout).

    A finished table there is never overwritten: the first of ``.<what>.csv``, ``.<what>-2.csv``,
    ... without a finished table is taken (one with an unfinished run's rows resumes it).
    """
    if out is not None:
        return out
    stem = checkpoint.name[: -len(checkpoint.suffix)] if checkpoint.suffix else checkpoint.name
    for i in range(1, 1000):
        path = checkpoint.with_name(f"{stem}.{what}{'' if i == 1 else f'-{i}'}.csv")
        if not path.exists():
            break
    else:
        raise ValueError(f"{checkpoint.parent}: 999 {stem}.{what}*.csv tables exist already; pass --out")
    typer.echo(f"writing {path} (default --out: beside the checkpoint)")
    return path


def _int_list(text: Optional[str], name: str) -> Optional[tuple[int, ...]]:
    """Parse ``1,2,3`` into integers; a bad entry is a one-line error."""
    if text is None:
        return None
    try:
        return tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ValueError(f"--{name} takes comma-separated integers (got {text!r})") from None


AblationOpt = typer.Option(DEFAULT_ABLATION, help=ablation_help())
MeanImagesOpt = typer.Option(1000, "--mean-images", help="--ablation mean: seeded training images the means are taken over")


@app.command()
@renamed_option("--format", "layout", "--layout")
@user_errors
def damage(
    checkpoint: Path = typer.Argument(..., help="trained checkpoint (with its stage graphs)"),
    layout: str = LayoutOpt,
    graphs: Optional[List[Path]] = GraphsOpt,
    remove: str = typer.Option("node", help="node | edge | both"),
    out: Optional[Path] = typer.Option(None, help="table to write (.csv or .parquet) and its <out>.json sidecar (default: CHECKPOINT's stem + .damage-<remove>.csv beside it)"),
    stage: Optional[str] = typer.Option(None, help="stages to damage, 0-based, comma-separated (default: all)"),
    node: Optional[str] = typer.Option(None, "--node", help="only these node ids (edges: those touching them)"),
    sample: Optional[int] = typer.Option(None, help="evaluate a seeded sample of K variants"),
    seed: int = typer.Option(0, help="seed of the sample, the bootstrap, the recalibration batches and the mean reference set"),
    dataset: Optional[str] = typer.Option(None, help="override the checkpoint's data set"),
    data_root: Optional[Path] = typer.Option(None, help="data directory"),
    limit: Optional[int] = typer.Option(None, help="evaluate on the first N test images"),
    batch_size: int = typer.Option(256),
    cascade: bool = typer.Option(False, help="also remove nodes left without any input"),
    ablation: str = AblationOpt,
    mean_images: int = MeanImagesOpt,
    recalibrate_bn: int = typer.Option(0, "--recalibrate-bn", help="re-estimate BN statistics on K training batches"),
    naive: bool = typer.Option(False, help="re-run the whole network per variant (baseline, for checking)"),
    bootstrap: int = typer.Option(1000, help="paired-bootstrap resamples for the delta's 95% interval"),
    chunk: int = typer.Option(128, help="variants evaluated together; rows are saved after each chunk"),
    variant_batch: int = typer.Option(8, help="variants stacked along the batch through later stages (1: none)"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """Remove every node (or edge) of a trained network, one at a time, and measure the accuracy lost."""
    from wiring_lab.ablation import REMOVE_KINDS, check_choice, get_ablation

    check_choice("remove", remove, REMOVE_KINDS)  # the cheap checks first: torch takes seconds to import
    get_ablation(ablation)
    out = _default_output(checkpoint, out, f"damage-{remove}")
    from wiring_lab._io import check_outputs
    from wiring_lab.damage import DamageConfig, damage_sweep, largest_drops

    check_outputs(out)
    config = DamageConfig(
        remove=remove,
        stages=_int_list(stage, "stage"),
        nodes=_int_list(node, "node"),
        sample=sample,
        seed=seed,
        limit=limit,
        batch_size=batch_size,
        cascade=cascade,
        ablation=ablation,
        mean_images=mean_images,
        recalibrate_bn=recalibrate_bn,
        naive=naive,
        bootstrap=bootstrap,
        chunk=chunk,
        variant_batch=variant_batch,
        dataset=dataset,
        data_root=str(data_root) if data_root else None,
    )
    df = damage_sweep(_checkpoint_source(checkpoint, layout, graphs), config, device=device, out=out, progress=progress)
    for _, r in df[df["kind"] == "intact"].iterrows():
        typer.echo(f"intact (recalibrate_bn={r['recalibrate_bn']}): top-1 {r['top1']:.2f}%, loss {r['loss']:.4f}")
    typer.echo("largest drops (delta top-1, percentage points, 95% CI):")
    typer.echo(largest_drops(df).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    typer.echo(f"wrote {out} ({len(df) - int((df['kind'] == 'intact').sum())} variants) and {out}.json")


@app.command()
@renamed_option("--format", "layout", "--layout")
@user_errors
@all_or_none()  # final outputs: all written or none
def attack(
    checkpoint: Path = typer.Argument(..., help="trained checkpoint (with its stage graphs)"),
    layout: str = LayoutOpt,
    graphs: Optional[List[Path]] = GraphsOpt,
    out: Optional[Path] = typer.Option(None, help="table to write (.csv or .parquet) (default: CHECKPOINT's stem + .attack-<order>.csv beside it)"),
    order: str = typer.Option("random", help="random | degree | betweenness"),
    fractions: str = typer.Option("0,0.05,0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.45,0.5", help="fractions of all nodes removed"),
    repeats: int = typer.Option(5, help="random orders drawn"),
    seed: int = typer.Option(0),
    cascade: bool = typer.Option(False, help="also remove nodes left without any input"),
    ablation: str = AblationOpt,
    mean_images: int = MeanImagesOpt,
    dataset: Optional[str] = typer.Option(None),
    data_root: Optional[Path] = typer.Option(None),
    limit: Optional[int] = typer.Option(None, help="evaluate on the first N test images"),
    batch_size: int = typer.Option(256),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """Attack tolerance: accuracy as a growing fraction of nodes is removed (random or targeted order)."""
    from wiring_lab.ablation import ATTACK_ORDERS, check_choice, get_ablation

    check_choice("order", order, ATTACK_ORDERS)  # the cheap checks first: torch takes seconds to import
    get_ablation(ablation)
    out = _default_output(checkpoint, out, f"attack-{order}")
    from wiring_lab._io import check_outputs, write_json, write_table
    from wiring_lab.damage import AttackConfig, attack_curve, attack_summary

    check_outputs(out)
    try:
        fr = tuple(float(t) for t in fractions.split(",") if t.strip())
    except ValueError:
        raise ValueError(f"--fractions takes comma-separated numbers (got {fractions[:60]!r})") from None
    from wiring_lab._validate import check_float_list

    check_float_list("--fractions", list(fr), 0.0, 1.0)
    config = AttackConfig(
        order=order,
        fractions=fr,
        repeats=repeats,
        seed=seed,
        cascade=cascade,
        ablation=ablation,
        mean_images=mean_images,
        limit=limit,
        batch_size=batch_size,
        dataset=dataset,
        data_root=str(data_root) if data_root else None,
    )
    df = attack_curve(_checkpoint_source(checkpoint, layout, graphs), config, device=device, progress=progress)
    write_table(df, out)
    write_json(
        out.with_name(out.name + ".json"),
        {"checkpoint": str(checkpoint), "config": config, "ablation": config.ablation, "cascade": config.cascade},
    )
    typer.echo(attack_summary(df).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    typer.echo(f"wrote {out}")


# --- importers -------------------------------------------------------------------------------
@app.command()
@renamed_option("--format", "layout", "--layout")
@user_errors
def convert(
    foreign: Path = typer.Argument(..., help="checkpoint written by another RandWire implementation"),
    out: Path = typer.Option(..., help="native wiring-lab checkpoint to write"),
    layout: str = typer.Option("auto", "--layout", help="checkpoint layout: auto | seungwonpark | jiaminren | hebo1221 | leaderj1001"),
    graphs: Optional[List[Path]] = GraphsOpt,
) -> None:
    """Convert a foreign RandWire checkpoint and its graph files into a native checkpoint."""
    from wiring_lab.importers import convert_checkpoint
    from wiring_lab.loading import load_checkpoint
    from wiring_lab.summary import format_summary, model_summary

    convert_checkpoint(foreign, out, layout, graphs or None)
    ckpt = load_checkpoint(out)
    typer.echo(f"wrote {out} (from {ckpt.config.layout.origin})")
    typer.echo(format_summary(model_summary(ckpt.model, ckpt.metadata)))


@app.command("export-graphs")
@renamed_option("--format", "layout", "--layout")
@user_errors
@all_or_none()  # final outputs: all written or none
def export_graphs(
    checkpoint: Path = typer.Argument(..., help="checkpoint (native, or foreign with --layout) or graph file(s) (JSON file or directory)"),
    out: Path = typer.Option(..., help="directory for stage<i>.<ext>"),
    as_: str = typer.Option("json", "--as", help="json (node-link) | graphml | dot"),
    layout: str = LayoutOpt,
    graphs: Optional[List[Path]] = GraphsOpt,
) -> None:
    """Write every stage graph (DAG with input/output nodes) as JSON node-link, GraphML or DOT."""
    from wiring_lab.export import export_graphs as run_export
    from wiring_lab.loading import load_checkpoint

    if layout == "native" and not graphs and (checkpoint.is_dir() or checkpoint.suffix.lower() == ".json"):
        from wiring_lab.checkpoint import load_graphs

        specs = load_graphs(checkpoint)  # graph files alone, e.g. those export_pickled writes
    else:
        specs = load_checkpoint(checkpoint, graphs=graphs or None, format=layout).graphs
    for path in run_export(specs, out, as_):
        typer.echo(f"wrote {path}")


# --- figures ---------------------------------------------------------------------------------
@app.command()
@renamed_option("--format", "fmt", "--image-format")
@user_errors
@all_or_none()  # final outputs: all written or none
def figures(
    name: str = typer.Argument("all", help="generator_sweep | stage_graphs | damage | node_ops | ws_curves | cl_heatmap | "
                               "error_edf | attack | learning_curves | accuracy_vs_macs | metric_vs_damage | search_progress | search_edf | all (recipes: figures/README.md)"),
    run_dir: Path = typer.Option(..., "--from", help="run directory whose tables/ the figures are drawn from"),
    out: Optional[Path] = typer.Option(None, help="where the figures go (default RUN_DIR/figures)"),
    fmt: str = typer.Option("png", "--image-format", help="png | pdf | svg"),
) -> None:
    """Draw paper-style figures from a run directory's tables; a figure whose table is missing is skipped."""
    from wiring_lab.figures import render_figures

    outcomes = render_figures(run_dir, name, out=out, fmt=fmt, echo=typer.echo)
    made = sum(o.status == "made" for o in outcomes)
    typer.echo(f"{made} figure(s) made, {len(outcomes) - made} skipped")


# --- ablate ----------------------------------------------------------------------------------
@app.command()
@user_errors
def ablate(
    study_file: Path = typer.Argument(..., help="study file, e.g. ablations/generator_sweep.yaml, or a built-in study: demo"),
    scale: str = typer.Option("demo", help="scale of the study file: demo (laptop CPU) | paper (GPU cluster)"),
    out: Optional[Path] = typer.Option(None, help="run directory (default runs/<study>-<scale>); finished tasks in it are skipped"),
    executor: str = typer.Option("local", help="local | ray"),
    address: Optional[str] = typer.Option(None, help="Ray cluster address (default: start a local cluster)"),
    workers: int = typer.Option(1, help="local: processes (1 = in this process); ray: CPUs of a new local cluster"),
    device: Optional[str] = typer.Option(None, help="auto | cpu | cuda (default: the study's)"),
    data_root: Optional[Path] = typer.Option(None, help="data directory (default: the study's data_root)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="list the tasks and exit"),
) -> None:
    """Run a study: train every network, then damage / attack / measure it; collect tables in RUN_DIR."""
    from wiring_lab.study import (
        default_run_dir,
        effective_config,
        expand_study,
        load_study,
        run_study,
    )

    study = load_study(study_file)
    if dry_run:
        plan = expand_study(study, scale, out or default_run_dir(study, scale), device=device, data_root=data_root)
        for task in plan.tasks:
            typer.echo(f"{task.key}\t{task.result_path}")
        typer.echo(f"{len(plan.train_tasks)} trainings, {len(plan.analysis_tasks) + len(plan.final_tasks)} analyses")
        return
    result = run_study(
        study, scale, out, executor=executor, workers=workers, address=address, device=device, data_root=data_root
    )
    for o in result.failed:
        typer.echo(f"failed {o.key}: {o.error}", err=True)
    for name, path in result.tables.items():
        typer.echo(f"wrote {path}")
    from wiring_lab.report import write_report

    outcomes = []
    if study.figures:
        from wiring_lab.figures import render_figures

        with all_or_none():  # every figure or none (they read the tables written above)
            outcomes = render_figures(result.plan.run_dir, list(study.figures), echo=typer.echo)
    record = {**effective_config(study, scale), "networks": [n.name for n in result.plan.networks], "tasks": len(result.outcomes)}
    write_report(result.plan.run_dir, config=record, outcomes=outcomes, title=f"{study.name} ({scale})")  # inlines the figures
    typer.echo(f"wrote {result.plan.run_dir / 'report.html'}")
    typer.echo(
        f"{len(result.outcomes)} tasks: {result.count('done')} done, {result.count('skipped')} skipped, "
        f"{result.count('failed')} failed in {result.seconds:.1f} s; figures: wiring-lab figures all --from {result.plan.run_dir}"
    )
    if result.failed:
        raise typer.Exit(1)


# --- search ----------------------------------------------------------------------------------
@app.command()
@user_errors
def search(
    strategy: str = typer.Option(SEARCH["strategy"], help="random | evolution | reinforce | generator (one setting's population, the baseline)"),
    budget: int = typer.Option(SEARCH["budget"], help="children trained in all (a re-run with a larger budget continues the search)"),
    batch: int = typer.Option(SEARCH["batch"], help="children per round, trained in parallel (REINFORCE: one controller update each)"),
    seed: int = typer.Option(SEARCH["seed"], help="search seed"),
    out: Path = typer.Option(Path("runs/search"), help="run directory; finished children in it are reused"),
    executor: str = typer.Option("local", help="local | ray"),
    workers: int = typer.Option(1, help="local executor: parallel processes"),
    address: Optional[str] = typer.Option(None, help="Ray cluster address (default: start a local one)"),
    device: str = typer.Option("auto", help="auto | cpu | cuda, for the children"),
    threads: int = typer.Option(1, help="CPU threads per child (0: torch's default); use --workers for parallel children"),
    study: Optional[Path] = typer.Option(None, help="run every search of a study file (e.g. ablations/search_vs_random.yaml) instead"),
    scale: str = typer.Option("demo", help="the study file's scale: demo | paper"),
    name: Optional[str] = typer.Option(None, help="run name (default: from the strategy and its options)"),
    dataset: str = typer.Option(SEARCH_RECIPE.dataset, help="digits | mnist | fashion-mnist | cifar10 | imagefolder"),
    data_root: Optional[Path] = typer.Option(None, help="data directory (not needed for digits)"),
    channels: int = typer.Option(SEARCH["channels"], "--channels", "-c", help="C of the children"),
    nodes: int = typer.Option(SEARCH["nodes"], "--nodes", "-n", help="N, nodes per stage"),
    head_channels: int = typer.Option(SEARCH["head_channels"], help="head width"),
    node_op: str = typer.Option(SEARCH["node_op"], help="every node's op (unless --search-ops)"),
    search_ops: bool = typer.Option(SEARCH["search_ops"], help="also search each node's op over the node-op registry"),
    epochs: int = typer.Option(SEARCH_RECIPE.epochs, help="training epochs per child"),
    batch_size: int = typer.Option(SEARCH_RECIPE.batch_size),
    lr: float = typer.Option(SEARCH_RECIPE.lr),
    edge_drop: float = typer.Option(SEARCH_RECIPE.edge_drop),
    val_fraction: float = typer.Option(SEARCH["val_fraction"], help="share of the training split held out; the reward is accuracy on it"),
    train_limit: Optional[int] = typer.Option(None, help="use the first N training images only (the hold-out is carved from them)"),
    density: float = typer.Option(SEARCH["density"], help="prior probability of each edge u -> v"),
    random_over: str = typer.Option(SEARCH["random_over"], help="random: wiring (the search space) | generators (ER P, BA M, WS K,P)"),
    generator: str = GeneratorOpt,
    p: Optional[str] = typer.Option(None, metavar="NUMBER", help="generator strategy: " + PARAM_HELP["p"]),
    k: Optional[str] = typer.Option(None, metavar="NUMBER", help="generator strategy: " + PARAM_HELP["k"]),
    m: Optional[str] = typer.Option(None, metavar="INTEGER", help="generator strategy: " + PARAM_HELP["m"]),
    population: int = typer.Option(SEARCH["population"], help="evolution: population size"),
    tournament: int = typer.Option(SEARCH["tournament"], help="evolution: members sampled per selection"),
    replace: str = typer.Option(SEARCH["replace"], help="evolution: replace the oldest | worst member"),
    hierarchical: bool = typer.Option(False, help="evolution: hierarchical representation (motifs of motifs)"),
    motif_nodes: int = typer.Option(SEARCH["motif_nodes"], help="hierarchical: nodes per motif (must divide N)"),
    motifs: int = typer.Option(SEARCH["motifs"], help="hierarchical: number of motifs"),
    controller_lr: float = typer.Option(SEARCH["controller_lr"], help="reinforce: controller Adam learning rate"),
    baseline_decay: float = typer.Option(SEARCH["baseline_decay"], help="reinforce: moving-average baseline decay"),
    figures: bool = typer.Option(True, help="render figures/search_progress.png and figures/search_edf.png"),
) -> None:
    """Search wirings (random, evolution, REINFORCE) with the same recipe; children are normal checkpoints."""
    from wiring_lab.rundir import table_path
    from wiring_lab.search.runner import run_search, write_search_figures
    from wiring_lab.study import load_search_study

    if study is not None:
        configs = load_search_study(study, scale)
    else:
        configs = [
            SearchConfig.from_flat(
                strategy=strategy, name=name, budget=budget, batch=batch, seed=seed, dataset=dataset,
                data_root=str(data_root) if data_root else None, channels=channels, nodes=nodes,
                head_channels=head_channels, node_op=node_op, search_ops=search_ops, epochs=epochs,
                batch_size=batch_size, lr=lr, edge_drop=edge_drop, val_fraction=val_fraction,
                train_limit=train_limit, density=density, random_over=random_over, generator=generator,
                params=_generator_params(generator, p, k, m, None),
                population=population, tournament=tournament, replace=replace,
                representation="hierarchical" if hierarchical else "flat", motif_nodes=motif_nodes,
                motifs=motifs, controller_lr=controller_lr, baseline_decay=baseline_decay,
            )
        ]  # fmt: skip
    for config in configs:
        run_search(config, out, executor=executor, workers=workers, address=address, device=device, threads=threads or None)
    typer.echo(f"wrote {table_path(out, 'search_history')}, {table_path(out, 'search_summary')}")
    if figures:
        for path in write_search_figures(out):
            typer.echo(f"wrote {path}")


# --- demo ------------------------------------------------------------------------------------
@app.command()
@user_errors
def demo(
    out: Path = typer.Option(Path("report"), help="output directory; finished work in it is reused"),
    size: str = typer.Option("default", help="default | tiny (a seconds-long run, for CI): the demo study's scale"),
    seeds: Optional[int] = typer.Option(None, help="networks per generator setting (default 3)"),
    epochs: Optional[int] = typer.Option(None, help="training epochs (default 6)"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    threads: Optional[int] = typer.Option(None, help="torch CPU threads per task (default 1: the demo's small networks train fastest on one)"),
    executor: str = typer.Option("local", help="local | ray"),
    workers: int = typer.Option(1, help="local: processes (1 = in this process); ray: CPUs of a new local cluster"),
    address: Optional[str] = typer.Option(None, help="Ray cluster address (default: start a local cluster)"),
) -> None:
    """The main job on the embedded digits data set (no download): train, damage, measure, draw, report.

    The demo is the built-in study `demo` (wiring_lab/studies/demo.yaml): `wiring-lab ablate demo` runs it too.
    """
    from wiring_lab.demo import run_demo

    run_demo(out, size, seeds=seeds, epochs=epochs, device=device, threads=threads, executor=executor, workers=workers, address=address)


# --help shows a plain word for what an option takes (typer's own labels read <bool>, <list[Path]>
# and {checkpoint}); flags show none.
_METAVARS = {"<int>": "INTEGER", "<float>": "NUMBER", "<str>": "TEXT", "<path>": "PATH", "<list[Path]>": "PATH"}


def _tidy_help(cmd: Any) -> Any:
    """``cmd`` (the click command typer builds from ``app``) with plain metavars in its help, recursively."""
    import typer.core

    for sub in getattr(cmd, "commands", {}).values():
        _tidy_help(sub)

    def help_option(ctx: Any, made: Callable = cmd.get_help_option) -> Any:
        option = made(ctx)
        if option is not None:
            option.display_type_rich = lambda ctx: None  # a flag
        return option

    cmd.get_help_option = help_option
    for param in cmd.params:
        if param.metavar is not None:
            continue
        shown = type(param).display_type(param, None) if hasattr(type(param), "display_type") else None
        word = _METAVARS.get(shown or "", "TEXT")
        if isinstance(param, typer.core.TyperArgument):
            label = param.name.upper().replace("_", "-")
            usage = label if param.required else f"[{label}]"
            param._usage_display_name = lambda usage=usage: usage  # type: ignore[method-assign]
            param.display_type_rich = lambda ctx, word=word: word  # type: ignore[method-assign]
        elif getattr(param, "is_flag", False):
            param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
        else:
            param.display_type_rich = lambda ctx, word=word: word  # type: ignore[method-assign]
    return cmd


def command() -> Any:
    """The click command behind ``wiring-lab`` (what the console script runs), help tidied."""
    return _tidy_help(typer.main.get_command(app))


def main() -> None:
    """Console-script entry point."""
    command()()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
