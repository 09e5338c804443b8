"""Commands that run or draw whole studies: ``figures``, ``ablate``, ``search``, ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from wiring_lab._io import all_or_none
from wiring_lab.search.config import SearchConfig
from wiring_lab.cli._app import (
    _generator_params,
    app,
    fail,
    GeneratorOpt,
    PARAM_HELP,
    renamed_option,
    SEARCH,
    SEARCH_RECIPE,
    user_errors,
)


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

    lines: list[str] = []  # shown once something was made: a command that made nothing says so in one line
    outcomes = render_figures(run_dir, name, out=out, fmt=fmt, echo=lines.append)
    made = sum(o.status == "made" for o in outcomes)
    if not made:
        fail(f"no figure made from {run_dir}: " + "; ".join(f"{o.name}: {o.reason}" for o in outcomes))
    typer.echo("\n".join(lines + [f"{made} figure(s) made, {len(outcomes) - made} skipped"]))


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
        price_plan,
        run_study,
    )

    study = load_study(study_file)
    if dry_run:
        plan = expand_study(study, scale, out or default_run_dir(study, scale), device=device, data_root=data_root)
        price_plan(plan, device)
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
    size: str = typer.Option("demo", help="demo | tiny (a seconds-long run, for CI): the demo study's scale"),
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
    One progress bar over its tasks; it ends with the findings and the report's path.
    """
    from wiring_lab.demo import run_demo

    run_demo(out, size, seeds=seeds, epochs=epochs, device=device, threads=threads, executor=executor, workers=workers,
             address=address, progress=True)


# --help shows a plain word for what an option takes (typer's own labels read <bool>, <list[Path]>
# and {checkpoint}); flags show none.


# --- re-analysis and the pre-registered analysis -----------------------------------------------
@app.command()
@user_errors
def reanalyse(
    run_dir: Path = typer.Argument(..., help="a finished run directory of wiring-lab ablate (e.g. docs/results/fashion-mnist)"),
    study_file: Optional[Path] = typer.Option(None, "--study", help="the study file (default: the one its study.json names)"),
) -> None:
    """Recompute a finished run's sensitivity table, figures and report from its tables with today's statistics (no task re-runs)."""
    from wiring_lab.reanalyse import reanalyse as reanalyse_run

    reanalyse_run(run_dir, study_file, echo=typer.echo)


@app.command()
@user_errors
@all_or_none()
def confirm(
    run_dir: Path = typer.Argument(..., help="run directory of ablations/fashion_mnist_damage48.yaml (its tables/damage.csv)"),
) -> None:
    """The pre-registered analysis of the 48-network study: primary endpoint per generator, H1 and H2 with their verdicts."""
    from wiring_lab.confirm import confirm_run

    for line in confirm_run(run_dir):
        typer.echo(line)
