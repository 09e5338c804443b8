"""Commands on trained networks' damage: ``damage``, ``attack``, ``correlate``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from wiring_lab._io import all_or_none
from wiring_lab.ablation import DEFAULT_ABLATION, ablation_help
from wiring_lab.cli._app import (
    _checkpoint_source,
    _write_with_sidecar,
    app,
    GraphsOpt,
    LayoutOpt,
    renamed_option,
    user_errors,
)


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
    from wiring_lab.attack import AttackConfig, attack_curve, attack_summary

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
