"""The figure catalogue: name -> recipe (paper figure, axes, tables it needs, how to draw it).

A recipe reads only tables of a run directory (:mod:`wiring_lab.rundir`) and, for the stage
drawings, the graphs stored in its checkpoints; it hands them to a plot function of
:mod:`wiring_lab.plots`. A figure whose table is missing, or whose data cannot make it (one node
operation only, too few networks), is skipped with a line that names the command that makes
what it needs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from wiring_lab._io import UserError
from wiring_lab._plotting import generators
from wiring_lab._tables import read_checked_table
from wiring_lab._validate import check_damage_rows
from wiring_lab.analysis import (
    default_choice,
    models_with_cl,
    node_damage_table,
    node_op_correlations,
    search_populations,
    search_progress,
    stage_graph_sets,
    ws_curves,
)
from wiring_lab.compare import compare_networks
from wiring_lab.damage_plots import plot_damage, plot_metric_vs_damage
from wiring_lab.plots import (
    FORMATS,
    plot_accuracy_vs_macs,
    plot_attack,
    plot_cl_heatmap,
    plot_error_edf,
    plot_generator_sweep,
    plot_learning_curves,
    plot_node_ops,
    plot_search_edf,
    plot_search_progress,
    plot_stage_graphs,
    plot_ws_curves,
    save_figure,
)
from wiring_lab.rundir import TABLES, table_path

# Node metrics shown against node-removal damage, in this order (those present are drawn).
DAMAGE_METRICS = ("out_degree_graph", "in_degree_graph", "betweenness", "paths_through", "depth", "clustering")
MIN_CL_NETWORKS = 10  # fewer networks leave the C-L heat map mostly empty
# Studies (``wiring-lab ablate``) whose tables make the figures a demo run cannot
ABLATE = "wiring-lab ablate ablations/{}.yaml --out RUN_DIR"


class NotEnoughData(UserError):
    """The tables exist but cannot make this figure; the message says what would."""


@dataclass(frozen=True)
class FigureRecipe:
    """How one figure is made: which paper figure, its axes, its tables and its drawing function."""

    name: str
    title: str
    paper: str  # the figure it regenerates
    axes: str  # what is on x, y, panels
    tables: tuple[str, ...]  # rundir table names it needs
    build: Callable[[Path], Any]  # run_dir -> matplotlib Figure (raises NotEnoughData)
    optional: tuple[str, ...] = ()  # tables used when present
    notes: str = ""
    needs: str = ""  # beyond the tables: what data the figure needs


@dataclass(frozen=True)
class FigureOutcome:
    """What happened to one figure: made (path) or skipped (reason)."""

    name: str
    status: str  # "made" | "skipped"
    path: Path | None = None
    reason: str = ""
    seconds: float = 0.0


def _table(run_dir: Path, name: str):
    """Read a required table of the run directory."""
    return read_checked_table(table_path(run_dir, name), name)


def _optional(run_dir: Path, name: str):
    """Read an optional table of the run directory (None when absent)."""
    path = table_path(run_dir, name)
    return read_checked_table(path, name) if path.is_file() else None


# --- builders: run_dir -> Figure ----------------------------------------------------------------
def _build_generator_sweep(run_dir: Path):
    """RandWire Fig. 3 from models.csv."""
    return plot_generator_sweep(_table(run_dir, "models"))


def _build_stage_graphs(run_dir: Path):
    """RandWire Fig. 4: the lowest-seed network of every setting."""
    models = _table(run_dir, "models")
    # one network per generator setting, its lowest seed, generators in the paper's order
    first = models.sort_values(["generator", "setting", "seed"]).drop_duplicates(["generator", "setting"])
    order = {g: i for i, g in enumerate(generators(first["generator"]))}
    first = first.sort_values("generator", key=lambda s: s.map(order), kind="stable")
    sets = stage_graph_sets(first, _table(run_dir, "graphs"))
    if not sets:
        raise NotEnoughData("no network of tables/models.csv has its stage graphs in tables/graphs.csv")
    return plot_stage_graphs(sets)


def _build_damage(run_dir: Path):
    """RandWire Fig. 5 from damage.csv."""
    damage = _table(run_dir, "damage")
    check_damage_rows(damage, table_path(run_dir, "damage"))
    shown, note = default_choice(damage)
    return plot_damage(shown, note=note)


def _build_node_ops(run_dir: Path):
    """RandWire Fig. 6 from models.csv (two or more node ops)."""
    models = _table(run_dir, "models")
    if "node_op" not in models or models["node_op"].nunique() < 2:
        raise NotEnoughData(f"needs networks trained with at least two node operations; make them with: {ABLATE.format('node_ops')}")
    return plot_node_ops(models, node_op_correlations(models))


def _build_ws_curves(run_dir: Path):
    """Watts-Strogatz curves from population_metrics.csv."""
    pop = _table(run_dir, "population_metrics")
    if not (pop["generator"] == "ws").any():
        raise NotEnoughData("population_metrics.csv has no WS rows; make them with: " + TABLES["population_metrics"][1])
    return plot_ws_curves(ws_curves(pop))


def _build_cl_heatmap(run_dir: Path):
    """C-L heat map from models.csv and stage_metrics.csv."""
    joined = models_with_cl(_table(run_dir, "models"), _table(run_dir, "stage_metrics"))
    if len(joined) < MIN_CL_NETWORKS:
        raise NotEnoughData(f"needs at least {MIN_CL_NETWORKS} networks with stage metrics (has {len(joined)}); make them with: {ABLATE.format('graph_structure')}")
    return plot_cl_heatmap(joined)


MIN_EDF_NETWORKS = 10  # per generator: fewer and the error EDF is skipped (the report says why)


def _build_error_edf(run_dir: Path):
    """Error EDFs per generator from models.csv."""
    models = _table(run_dir, "models").dropna(subset=["top1"])
    sizes = models.groupby("generator").size()
    if sizes.max() < MIN_EDF_NETWORKS:  # an EDF of a handful of networks is a few steps, not a distribution
        raise NotEnoughData(f"needs at least {MIN_EDF_NETWORKS} networks of one generator (has {int(sizes.max())}); "
                            f"make them with: {ABLATE.format('generator_sweep')}")
    return plot_error_edf(models[models["generator"].isin(sizes[sizes >= MIN_EDF_NETWORKS].index)])


def _build_attack(run_dir: Path):
    """Attack-tolerance curves from attack.csv."""
    return plot_attack(_table(run_dir, "attack"))


def _build_learning_curves(run_dir: Path):
    """Learning curves from history.csv (generators from models.csv)."""
    return plot_learning_curves(_table(run_dir, "history"), _optional(run_dir, "models"))


def _build_accuracy_vs_macs(run_dir: Path):
    """Accuracy vs multiply-adds from models.csv (the comparison computed from it)."""
    models = _table(run_dir, "models")
    if "macs" not in models or models["macs"].isna().all():
        raise NotEnoughData("models.csv has no multiply-adds (macs); re-collect it with: wiring-lab ablate STUDY --out RUN_DIR")
    comparison = compare_networks(models)
    if comparison["n"].max() < 2:
        raise NotEnoughData(f"needs at least two seeds of a setting for an interval; make them with: {ABLATE.format('mnist_baselines')}")
    return plot_accuracy_vs_macs(models, comparison)


def _build_metric_vs_damage(run_dir: Path):
    """Node metrics vs node-removal damage: Spearman ρ within every network, summarised per generator."""
    damage, note = default_choice(_table(run_dir, "damage"))
    joined = node_damage_table(damage, _table(run_dir, "node_metrics"))
    if joined.empty:
        raise NotEnoughData("no node-removal row of damage.csv matches a row of node_metrics.csv (model, stage, node); "
                            "make both from the same checkpoints")
    metrics = [m for m in DAMAGE_METRICS if m in joined.columns and joined[m].nunique() > 1]  # a constant says nothing
    return plot_metric_vs_damage(joined, metrics, note=note)


def _build_search_progress(run_dir: Path):
    return plot_search_progress(search_progress(_table(run_dir, "search_history")))


def _build_search_edf(run_dir: Path):
    return plot_search_edf(search_populations(_table(run_dir, "search_history"), _optional(run_dir, "models")))


RECIPES: dict[str, FigureRecipe] = {
    r.name: r
    for r in (
        FigureRecipe("generator_sweep", "Generator sweep", "RandWire (Xie et al. 2019) Fig. 3",
                     "one panel per generator (ER, BA, WS); x: generator setting, n under each; y: top-1 accuracy (%); "
                     "dot = one network, diamond = mean over instances (seeds), error bar = its 95% t interval (only where "
                     "there are two or more); no bars", ("models",),
                     _build_generator_sweep, notes="Networks with the default node operation (sepconv3x3) when the table has several."),
        FigureRecipe("stage_graphs", "Stage DAG drawings", "RandWire (Xie et al. 2019) Fig. 4",
                     "one row per generator setting (its lowest seed), one drawing per stage; nodes layered left to right by "
                     "depth (longest path from the input node); input and output nodes are orange squares", ("models", "graphs"),
                     _build_stage_graphs, notes="Graphs come from tables/graphs.csv, written by the training of each network."),
        FigureRecipe("damage", "Damage vs degree", "RandWire (Xie et al. 2019) Fig. 5",
                     "top row node removal, x: out-degree of the removed node in the generated graph (the degree the "
                     "slopes use); bottom row edge removal, x: in-degree of the edge's target in the DAG with input/output "
                     "nodes; y: Δ top-1 in percentage points (negative = accuracy lost; linear); one column per generator; "
                     "box = IQR (only from 5 removals), bar = median, red circle = mean, dots = single removals, n of every "
                     "degree under the axis (two staggered rows beyond 12 degrees), one thin line per network through its "
                     "mean at its own slope; right: forest of the per-network slopes (stage as a factor) with the "
                     "generator's mean and 95% t interval over networks (networks are named only where a row has room; "
                     "their names are in the slopes table)",
                     ("damage",), _build_damage,
                     notes="A table with several ablation choices shows drop without cascade and says so in the title. "
                     "`plot_damage(..., yscale=\"symlog\")` draws the outliers on a symlog axis instead."),
        FigureRecipe("node_ops", "Node operations", "RandWire (Xie et al. 2019) Fig. 6",
                     "x: generator setting; y: mean top-1 accuracy (%); one line per node operation; pairwise Pearson r "
                     "of the lines across settings", ("models",), _build_node_ops,
                     needs="networks trained with at least two node operations over several settings"),
        FigureRecipe("ws_curves", "Watts-Strogatz C(P)/C(0), L(P)/L(0)", "Watts & Strogatz 1998 Fig. 2",
                     "x: rewiring probability P (log axis, P > 0); y: average clustering C(P)/C(0) and average path "
                     "length L(P)/L(0), means over the sampled graphs, normalised by the ring lattice (P = 0), bars = "
                     "25-75% of the graphs; one panel per (K, N)", ("population_metrics",), _build_ws_curves, needs="WS rows including P = 0"),
        FigureRecipe("cl_heatmap", "C-L accuracy heat map", "You, Leskovec, He, Xie 2020 (Graph Structure of Neural Networks) Fig. 4",
                     "x: average clustering C; y: average path length L (hops), both means over a network's stages; "
                     "colour: mean top-1 (%) of the networks in each bin; red star: the best network",
                     ("models", "stage_metrics"), _build_cl_heatmap, needs=f"at least {MIN_CL_NETWORKS} networks"),
        FigureRecipe("error_edf", "Error EDFs", "Radosavovic, Johnson, Xie, Lo, Dollar 2019 (On Network Design Spaces for Visual Recognition), error EDFs",
                     "x: top-1 error (%); y: cumulative probability F(e) = fraction of networks with error < e; one step "
                     "curve per generator population; legend: n | min | mean error", ("models",), _build_error_edf,
                     needs="at least 10 networks of one generator"),
        FigureRecipe("attack", "Attack tolerance", "Albert, Jeong, Barabasi 2000 Fig. 2 (on trained networks)",
                     "x: nodes removed (% of the stage's nodes); y: top-1 accuracy (%); lines: random order (mean, band "
                     "= min-max over repeats) vs targeted by decreasing degree / betweenness; one panel per generator",
                     ("attack",), _build_attack),
        FigureRecipe("learning_curves", "Learning curves", "training histories (per-epoch rows of the checkpoints)",
                     "three panels: train loss (label-smoothed, mean over the epoch's batches), validation loss (cross-entropy "
                     "at the epoch's end), validation top-1 (%); x: epoch; colour: generator",
                     ("history",), _build_learning_curves, optional=("models",)),
        FigureRecipe("accuracy_vs_macs", "Accuracy vs multiply-adds", "architecture comparison (RandWire vs hand-designed CNNs)",
                     "x: multiply-adds per image (log); y: test top-1 (%); dots: single networks (seeds); diamond and bar: "
                     "mean and 95% Student-t interval over seeds, per setting; legend: n and the lr used", ("models",),
                     _build_accuracy_vs_macs, notes="The same numbers as tables/comparison.csv (wiring_lab.compare).",
                     needs="at least two seeds of one setting"),
        FigureRecipe("metric_vs_damage", "Node metric vs damage", "correlation of node metrics with Fig. 5's damage",
                     "one panel per node metric; x: generator; y: Spearman ρ between the metric and Δ top-1 over one "
                     "network's node removals; dot = one network, diamond and bar = mean over the generator's networks "
                     "with its 95% t interval, n under each", ("damage", "node_metrics"), _build_metric_vs_damage,
                     notes="Within networks and within generators: a coefficient pooled over generators mixes their "
                     "differences into ρ (on Fashion-MNIST it showed no association for paths through the node where "
                     "every network's own ρ is negative)."),
        FigureRecipe("search_progress", "Search progress", "best-so-far curves of NAS (Zoph & Le 2017; Real et al. 2019; Liu et al. 2018)",
                     "x: children trained; y: best validation top-1 so far (%); one step line per search run (strategy), "
                     "one line per search seed", ("search_history",), _build_search_progress),
        FigureRecipe("search_edf", "Searched vs random-generator error EDFs",
                     "Radosavovic, Johnson, Xie, Lo, Dollar 2019 Fig. 2, applied to RandWire's random-vs-searched claim",
                     "x: top-1 test error (%); y: cumulative probability F(e) = fraction of networks with error < e; one step "
                     "curve per searched population (solid) and per random-generator population (dashed); legend: n | min | mean error",
                     ("search_history",), _build_search_edf, optional=("models",),
                     notes="A `--strategy generator` run is named by its setting (e.g. WS(4, 0.75)) and shares the search's "
                     "validation split and recipe; ER/BA/WS networks of models.csv that are not search children are added as "
                     "`SETTING (models.csv)` populations."),
    )
}


PLOT_FUNCTIONS = {
    "generator_sweep": "plot_generator_sweep",
    "stage_graphs": "plot_stage_graphs",
    "damage": "wiring_lab.damage_plots.plot_damage",
    "node_ops": "plot_node_ops",
    "ws_curves": "plot_ws_curves",
    "cl_heatmap": "plot_cl_heatmap",
    "error_edf": "plot_error_edf",
    "attack": "plot_attack",
    "learning_curves": "plot_learning_curves",
    "metric_vs_damage": "wiring_lab.damage_plots.plot_metric_vs_damage",
    "accuracy_vs_macs": "plot_accuracy_vs_macs",
    "search_progress": "wiring_lab.plots.plot_search_progress",
    "search_edf": "wiring_lab.plots.plot_search_edf",
}


def list_figures() -> list[str]:
    """Names of the catalogued figures, in catalogue order."""
    return list(RECIPES)


def get_recipe(name: str) -> FigureRecipe:
    """The recipe of figure ``name``; an unknown name lists the valid ones."""
    if name not in RECIPES:
        raise UserError(f"unknown figure {name!r}; choose one of: {', '.join(RECIPES)}, or all")
    return RECIPES[name]


def missing_tables(recipe: FigureRecipe, run_dir: str | Path) -> list[str]:
    """The tables ``recipe`` needs that ``run_dir`` lacks."""
    return [t for t in recipe.tables if not table_path(run_dir, t).is_file()]


def skip_line(name: str, reason: str) -> str:
    """The one line printed for a skipped figure."""
    return f"skipped {name}: {reason}"


def render_figures(
    run_dir: str | Path,
    names: Sequence[str] | str = "all",
    out: str | Path | None = None,
    fmt: str = "png",
    echo: Callable[[str], None] | None = None,
) -> list[FigureOutcome]:
    """Make the named figures (or ``all``) from ``run_dir``'s tables into ``out`` (default RUN_DIR/figures)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    if fmt not in FORMATS:
        raise UserError(f"unknown figure format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if isinstance(names, str):
        names = list(RECIPES) if names == "all" else [names]
    recipes = [get_recipe(n) for n in names]
    out = Path(out) if out is not None else run_dir / "figures"
    outcomes = []
    for r in recipes:
        t0 = time.perf_counter()
        missing = missing_tables(r, run_dir)
        if missing:
            t = missing[0]
            reason = f"needs {TABLES[t][0]}, which is missing; make it with: {TABLES[t][1]}"
            outcome = FigureOutcome(r.name, "skipped", reason=reason)
        else:
            try:
                fig = r.build(run_dir)
            except NotEnoughData as e:
                outcome = FigureOutcome(r.name, "skipped", reason=str(e), seconds=time.perf_counter() - t0)
            except UserError as e:  # a malformed table: fatal for one figure, skipped among several
                if not str(e).startswith(str(run_dir)):  # name the table the figure was drawn from
                    e = UserError(f"{table_path(run_dir, r.tables[0])}: {e}") if r.tables else e
                if len(recipes) == 1:
                    raise e from None
                outcome = FigureOutcome(r.name, "skipped", reason=f"bad input: {e}", seconds=time.perf_counter() - t0)
            else:
                path = save_figure(fig, out / f"{r.name}.{fmt}")
                outcome = FigureOutcome(r.name, "made", path=path, seconds=time.perf_counter() - t0)
        outcomes.append(outcome)
        if echo is not None:
            echo(f"wrote {outcome.path}" if outcome.status == "made" else skip_line(r.name, outcome.reason))
    return outcomes


def _plot_function(name: str) -> str:
    """Dotted path of the plot function that draws figure ``name``."""
    fn = PLOT_FUNCTIONS[name]
    return fn if "." in fn else f"wiring_lab.plots.{fn}"


def recipe_markdown(recipe: FigureRecipe) -> str:
    """The ``figures/<name>.md`` text of a recipe: paper figure, axes, tables and the commands that make them."""
    lines = [f"# {recipe.title} (`{recipe.name}`)", "", f"**Regenerates:** {recipe.paper}.", "", f"**Axes:** {recipe.axes}.", ""]
    lines += ["**Tables it needs** (in `RUN_DIR`), and the command that makes each:", ""]
    for t in recipe.tables:
        lines.append(f"- `{TABLES[t][0]}`: `{TABLES[t][1]}`")
    for t in recipe.optional:
        lines.append(f"- (optional) `{TABLES[t][0]}`: `{TABLES[t][1]}`")
    if recipe.needs:
        lines += ["", f"**Also needs:** {recipe.needs}; otherwise the figure is skipped with a line saying what would make it."]
    if recipe.notes:
        lines += ["", recipe.notes]
    lines += ["", "**Make it:**", "", "```bash", f"wiring-lab figures {recipe.name} --from RUN_DIR --out RUN_DIR/figures",
              "```", "", f"Drawn by `{_plot_function(recipe.name)}`; Python: `wiring_lab.figures.render_figures(RUN_DIR, {recipe.name!r})`."]
    return "\n".join(lines) + "\n"


def catalogue_markdown(renders: Sequence[str] = ()) -> str:
    """The ``figures/README.md`` index: one line per recipe, and the demo renders kept beside it."""
    lines = ["# Figure catalogue", "",
             "One recipe per figure: which paper figure it regenerates, its axes, the tables it needs and the "
             "command that makes each table. Draw them with `wiring-lab figures NAME|all --from RUN_DIR --out DIR "
             "[--image-format png|pdf|svg]`; a figure whose table is missing is skipped with a line naming the command "
             "that makes it. `wiring-lab demo` draws every figure its data allows into `report/figures/`.", "",
             "| figure | regenerates | needs |", "| --- | --- | --- |"]
    for r in RECIPES.values():
        tables = ", ".join(f"`{TABLES[t][0].split('/')[-1]}`" for t in r.tables)
        lines.append(f"| [{r.name}]({r.name}.md) | {r.paper} | {tables}{'; ' + r.needs if r.needs else ''} |")
    if renders:
        lines += ["", "Renders from the embedded demo (`wiring-lab demo`, default size), kept here for the README:", ""]
        lines += [f"- [{name}]({name})" for name in renders]
    return "\n".join(lines) + "\n"
