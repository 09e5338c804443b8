"""Commands on networks: ``inspect``, ``train``, ``convert``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from wiring_lab.recipe import TrainConfig
from wiring_lab.cli._app import (
    _echo_json,
    _generator_params,
    app,
    fail,
    GeneratorOpt,
    GraphsOpt,
    LayoutOpt,
    PARAM_HELP,
    ParamOpt,
    RECIPE,
    renamed_option,
    user_errors,
)


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
    from wiring_lab._pricing import FLOP_COUNT_PASSES, price_network
    from wiring_lab.model import ModelConfig, build_model
    from wiring_lab.summary import format_summary, model_summary

    if checkpoint is not None:
        from wiring_lab.loading import load_checkpoint

        ckpt = load_checkpoint(checkpoint, graphs=graphs or None, format=layout)
        price_network(ckpt.config, "counting this network's multiply-adds", passes=FLOP_COUNT_PASSES, where=checkpoint)
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
        price_network(config, "building this network and counting its multiply-adds", passes=FLOP_COUNT_PASSES)
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
    if arch != "randwire":  # baselines stack layers in a chain (plain) or have no graph at all
        generator, params = "chain", {}
    else:
        params = _generator_params(generator, p, k, m, param)
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

    from wiring_lab.train import CheckpointExists

    try:
        with torch_threads(threads):
            ckpt = run_train(mc, tc, out, device=device, resume=resume, data=data, on_epoch=report)
    except CheckpointExists as e:  # the library's wording names no option; the command's names --resume
        fail(f"{str(e).removesuffix('; resume it or choose another output path')}; pass --resume to continue it, or choose another --out")
    except KeyboardInterrupt:
        fail(f"interrupted; {out} keeps every finished epoch: re-run the same command with --resume to continue", code=130)
    typer.echo(f"wrote {out}")
    typer.echo(format_summary(model_summary(ckpt.model, ckpt.metadata)))

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
