"""Commands on graphs: ``generate``, ``metrics``, ``sample-cl``, ``export-graphs``."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional

import typer

from wiring_lab._io import all_or_none
from wiring_lab.cli._app import (
    _generator_params,
    _write_with_sidecar,
    app,
    GeneratorOpt,
    GraphsOpt,
    LayoutOpt,
    PARAM_HELP,
    ParamOpt,
    renamed_option,
    user_errors,
)


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
    from wiring_lab._limits import check_graph_metrics, check_work, population_work

    check_work(population_work(samples * len(config.settings()), nodes), f"{len(config.settings())} setting(s) x --samples {samples:,} graphs of {nodes} nodes")

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
