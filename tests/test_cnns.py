"""Hand-designed CNN baselines (AlexNet, TinyCNN, hand-tuned CNN) and the learning-rate fallback."""

from __future__ import annotations

import json
import math
import textwrap

import pandas as pd
import pytest
import torch
from torch.utils.data import TensorDataset
from typer.testing import CliRunner

from wiring_lab._io import UserError
from wiring_lab.cli import app
from wiring_lab.data import Data
from wiring_lab.loading import load_checkpoint
from wiring_lab.model import ModelConfig, build_model, count_macs, count_params
from wiring_lab.train import (
    TrainConfig,
    chance_check_epoch,
    divergence,
    lr_attempts,
    train_network,
    train_with_lr_fallback,
)

REGIMES = {28: "mnist", 8: "digits"}
# The README's table (Networks -> hand-designed CNN baselines): (params, multiply-adds) on one
# 1-channel image, 10 classes, multiply-adds counted by torch.utils.flop_counter.
TABLE = {
    ("alexnet", 28): (796_090, 18_042_240),
    ("alexnet", 8): (632_250, 1_825_280),
    ("tinycnn", 28): (50_186, 3_869_824),
    ("tinycnn", 8): (21_386, 315_904),
    ("handmade", 28): (871_082, 19_094_528),
    ("handmade", 8): (133_802, 1_561_088),
}


def cnn_config(arch: str, side: int) -> ModelConfig:
    """A 1-channel, 10-class config of ``arch`` for ``side`` x ``side`` images."""
    return ModelConfig(arch=arch, regime=REGIMES[side], num_classes=10, in_channels=1, generator="chain")


def tiny_data(side: int, n: int = 48, seed: int = 0) -> Data:
    """Random images with labels learnable from the mean brightness of the top rows."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, side, side, generator=g)
    y = (x[:, 0, : side // 2].mean((1, 2)) * 20).long().clamp(0, 9)
    ds = TensorDataset(x, y)
    return Data("tiny", ds, ds, 10, 1, side, REGIMES[side], [str(i) for i in range(10)])


@pytest.mark.parametrize("side", [28, 8])
@pytest.mark.parametrize("arch", ["alexnet", "tinycnn", "handmade"])
def test_baseline_builds_trains_and_reloads_to_identical_logits(arch, side, tmp_path):
    cfg = cnn_config(arch, side)
    model = build_model(cfg)
    assert model.graphs == [] and cfg.stage_shapes() == []
    assert (count_params(model), count_macs(model)) == TABLE[(arch, side)]
    data = tiny_data(side)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = tmp_path / f"{arch}{side}.pt"
    torch.manual_seed(0)
    ckpt = train_network(cfg, TrainConfig(epochs=1, batch_size=16, lr=0.01), out, device="cpu", data=data, progress=False)
    trained = ckpt.model.state_dict()
    assert any(not torch.equal(before[k], trained[k]) for k in before if before[k].is_floating_point())  # 3 steps moved weights
    loaded = load_checkpoint(out)
    assert loaded.graphs == [] and loaded.config == cfg
    x = data.test.tensors[0][:8]
    with torch.no_grad():
        assert torch.equal(ckpt.model.eval()(x), loaded.model(x))


def test_tinycnn_size_by_hand():
    """TinyCNN on 28x28: conv 1->32 and 32->64 (3x3, bias), 2x2 pools to 7x7, linear 64*49 -> 10."""
    params = (1 * 9 + 1) * 32 + (32 * 9 + 1) * 64 + (64 * 49 + 1) * 10
    macs = 28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 64 * 49 * 10
    model = build_model(cnn_config("tinycnn", 28))
    assert (count_params(model), count_macs(model)) == (params, macs)


@pytest.mark.parametrize("regime,side", [("digits", 8), ("mnist", 28), ("cifar", 32)])
def test_built_for_the_regime_side_and_runs_on_larger_images(regime, side):
    """Pools are chosen for the regime's side; the adaptive pool lets larger images through unchanged in width."""
    for arch in ("alexnet", "tinycnn", "handmade"):
        model = build_model(ModelConfig(arch=arch, regime=regime, num_classes=7, in_channels=3)).eval()
        for s in (side, 2 * side + 3):
            assert model(torch.zeros(2, 3, s, s)).shape == (2, 7)


def test_cnn_takes_no_graphs():
    from wiring_lab.graphs import generate_graph

    with pytest.raises(ValueError, match="takes no stage graphs"):
        build_model(cnn_config("tinycnn", 8), [generate_graph("ws", 8, seed=0)])


@pytest.fixture(scope="module")
def tiny_cnn_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn") / "tiny.pt"
    train_network(cnn_config("tinycnn", 8), TrainConfig(epochs=1, batch_size=16), out, device="cpu", data=tiny_data(8), progress=False)
    return out


@pytest.mark.parametrize("command", [["damage"], ["attack"]])
def test_damage_on_a_baseline_exits_2_with_one_line(command, tiny_cnn_ckpt, tmp_path):
    r = CliRunner().invoke(app, [*command, str(tiny_cnn_ckpt), "--out", str(tmp_path / "d.csv")])
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "need a wired network" in lines[0] and "tinycnn" in lines[0]


def test_train_cli_takes_arch_and_inspect_names_it(tmp_path):
    out = tmp_path / "t.pt"
    r = CliRunner().invoke(app, ["train", "--arch", "tinycnn", "--epochs", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "tinycnn (hand-designed CNN, no stage graphs)" in r.output
    assert f"{TABLE[('tinycnn', 8)][0]:,} params" in r.output
    r = CliRunner().invoke(app, ["train", "--arch", "vgg", "--epochs", "1", "--out", str(tmp_path / "v.pt")])
    assert r.exit_code == 2 and "unknown arch 'vgg'" in r.output


# --- learning-rate fallback ---------------------------------------------------------------------
def test_divergence_rule_by_hand():
    ok = [{"epoch": 1, "train_loss": 1.2, "test_loss": 1.0, "test_top1": 60.0}]
    assert divergence(ok, 10) is None
    assert "not finite at epoch 2" in divergence(ok + [{"epoch": 2, "train_loss": math.nan, "test_loss": 1.0, "test_top1": 60.0}], 10)
    assert "at chance" in divergence([{"epoch": 1, "train_loss": 2.3, "test_loss": 2.3, "test_top1": 15.0}], 10)
    assert divergence([{"epoch": 1, "train_loss": 2.3, "test_loss": 2.3, "test_top1": 15.1}], 10) is None
    slow = [{"epoch": 1, "train_loss": 2.3, "test_loss": 2.3, "test_top1": 10.0}, {"epoch": 2, "train_loss": 1.0, "test_loss": 1.0, "test_top1": 60.0}]
    assert divergence(slow, 10, check_epoch=2) is None and "after epoch 1" in divergence(slow, 10)
    # the chance check waits for the first epoch ending after 100 steps: digits has 23 per epoch
    assert [chance_check_epoch(23, 5), chance_check_epoch(23, 3), chance_check_epoch(157, 8), chance_check_epoch(50, 8)] == [5, 3, 1, 2]
    assert lr_attempts(0.1, [0.1, 0.05, 0.01]) == [0.1, 0.05, 0.01]
    assert lr_attempts(0.05, [0.1, 0.05, 0.01]) == [0.05, 0.01]


def test_fallback_retries_a_planted_divergence_and_resumes(digits, tmp_path):
    """lr 10 (the largest allowed) blows TinyCNN (no BN) up in its first epoch; 0.05 trains; a re-run skips the failed lr."""
    cfg = cnn_config("tinycnn", 8)
    out = tmp_path / "t.pt"
    tc = TrainConfig(epochs=2, lr=10.0, batch_size=64)
    seen = []
    ckpt, tried = train_with_lr_fallback(cfg, tc, out, [0.05], device="cpu", data=digits, progress=False, on_epoch=seen.append)
    assert [t["lr"] for t in tried] == [10.0, 0.05] and [t["status"] for t in tried] == ["diverged", "trained"]
    assert 1 <= len(tried[0]["history"]) <= tc.epochs and ("chance" in tried[0]["reason"] or "finite" in tried[0]["reason"])
    assert ckpt.metadata["train_config"]["lr"] == 0.05 and ckpt.metadata["final"]["test_top1"] > 50
    assert [r["epoch"] for r in seen][-2:] == [1, 2]  # the run that trained reaches the caller to its end
    log = json.loads((tmp_path / "t.pt.lr.json").read_text())
    assert log[0]["lr"] == 10.0 and log[0]["status"] == "diverged"
    weights = {k: v.clone() for k, v in ckpt.model.state_dict().items()}
    again, tried2 = train_with_lr_fallback(cfg, tc, out, [0.05], device="cpu", data=digits, progress=False)
    assert [t["status"] for t in tried2] == ["diverged", "trained"]
    assert all(torch.equal(weights[k], v) for k, v in again.model.state_dict().items())


def test_fallback_gives_up_with_one_line(digits, tmp_path):
    tc = TrainConfig(epochs=1, lr=10.0)
    with pytest.raises(UserError, match=r"diverged at every learning rate tried \(10: .*; 8: "):
        train_with_lr_fallback(cnn_config("tinycnn", 8), tc, tmp_path / "t.pt", [8.0], device="cpu", data=digits, progress=False)


STUDY = """\
name: fallback
networks:
  - arch: tinycnn
metrics:
  backend: networkx
scales:
  demo:
    epochs: 1
    lr: 10
    lr_fallback: [10, 0.05]
    seeds: 2
    limit: 400
    device: cpu
"""


def test_study_records_the_lr_used_in_models_and_comparison(tmp_path):
    from wiring_lab.study import run_study

    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(STUDY))
    result = run_study(path, "demo", out=tmp_path / "run", progress=False, echo=lambda s: None)
    assert not result.failed
    models = pd.read_csv(tmp_path / "run" / "tables" / "models.csv")
    assert list(models["lr"]) == [0.05, 0.05] and list(models["lr_diverged"].astype(str)) == ["10", "10"]
    comp = pd.read_csv(tmp_path / "run" / "tables" / "comparison.csv")
    row = comp.set_index("setting").loc["tinycnn"]
    assert row["n"] == 2 and str(row["lr"]) == "0.05" and str(row["lr_diverged"]) == "10"
    assert row["n_params"] == TABLE[("tinycnn", 8)][0] and row["macs"] == TABLE[("tinycnn", 8)][1]
    # graph metrics (and damage) are not planned for networks without graphs
    assert len(result.plan.train_tasks) == 2 and not result.plan.analysis_tasks


# --- comparison table and figure ----------------------------------------------------------------
def comparison_models() -> pd.DataFrame:
    """Two settings: WS with three seeds (MACs varying with the graph), AlexNet with two, lr fallen back."""
    rows = [{"model": f"ws_s{s}", "generator": "ws", "setting": "WS(4, 0.75)", "top1": t, "loss": 0.5, "n_params": 100 + s,
             "macs": 1000 + 10 * s, "lr": 0.1, "lr_diverged": None} for s, t in enumerate([90.0, 92.0, 97.0])]
    rows += [{"model": f"alexnet_s{s}", "generator": "alexnet", "setting": "alexnet", "top1": t, "loss": 0.3, "n_params": 50,
              "macs": 300, "lr": 0.05, "lr_diverged": "0.1"} for s, t in enumerate([95.0, 96.0])]
    return pd.DataFrame(rows)


def test_comparison_interval_matches_scipy():
    from scipy import stats

    from wiring_lab.compare import compare_networks

    comp = compare_networks(comparison_models()).set_index("setting")
    ws = comp.loc["WS(4, 0.75)"]
    lo, hi = stats.t.interval(0.95, 2, loc=93.0, scale=stats.sem([90.0, 92.0, 97.0]))
    assert ws["n"] == 3 and ws["top1_mean"] == pytest.approx(93.0)
    assert hi > 100 and (ws["top1_lo"], ws["top1_hi"]) == (pytest.approx(lo), 100.0)  # cut to the possible range
    assert ws["macs"] == 1010 and ws["n_params"] == 101 and ws["lr"] == "0.1" and ws["lr_diverged"] == ""
    alex = comp.loc["alexnet"]
    assert alex["lr"] == "0.05" and alex["lr_diverged"] == "0.1" and list(comp.index) == ["WS(4, 0.75)", "alexnet"]


def test_accuracy_vs_macs_figure_has_a_dot_per_network_and_a_bar_per_setting():
    from wiring_lab.compare import compare_networks
    from wiring_lab.plots import plot_accuracy_vs_macs

    models = comparison_models()
    comp = compare_networks(models)
    fig = plot_accuracy_vs_macs(models, comp)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "test top-1 (%)"
    from matplotlib.collections import PathCollection

    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sum(len(c.get_offsets()) for c in dots) == len(models)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["WS(4, 0.75) (n=3, lr 0.1)", "alexnet (n=2, lr 0.05)"]
    bars = [c for c in ax.containers]
    ws_bar = bars[0].lines[2][0].get_segments()[0]  # the interval bar of WS: from lo to hi at x = mean MACs
    row = comp.iloc[0]
    assert ws_bar[0][1] == pytest.approx(row["top1_lo"]) and ws_bar[1][1] == pytest.approx(row["top1_hi"])


REUSE = """\
name: {name}
networks:
  - arch: tinycnn
scales:
  demo:
    epochs: 1
    seeds: 1
    limit: 300
    device: cpu
    reuse: [{reuse}]
"""


def test_reuse_copies_an_identical_training_from_another_run(tmp_path):
    from wiring_lab.study import run_study

    first = tmp_path / "a.yaml"
    first.write_text(REUSE.format(name="first", reuse=str(tmp_path / "nowhere")))
    run_study(first, "demo", out=tmp_path / "A", progress=False, echo=lambda s: None)
    second = tmp_path / "b.yaml"
    second.write_text(REUSE.format(name="second", reuse=str(tmp_path / "A")))
    result = run_study(second, "demo", out=tmp_path / "B", progress=False, echo=lambda s: None)
    assert not result.failed
    a, b = (tmp_path / d / "checkpoints" / "tinycnn_s0.pt" for d in "AB")
    assert a.read_bytes() == b.read_bytes()  # copied, not trained again
    models = pd.read_csv(tmp_path / "B" / "tables" / "models.csv")
    assert models["reused_from"].tolist() == [str(tmp_path / "A")]
    # other settings (here the data subset) give another digest: nothing is reused
    third = tmp_path / "c.yaml"
    third.write_text(REUSE.format(name="third", reuse=str(tmp_path / "A")).replace("limit: 300", "limit: 200"))
    run_study(third, "demo", out=tmp_path / "C", progress=False, echo=lambda s: None)
    assert "reused_from" not in pd.read_csv(tmp_path / "C" / "tables" / "models.csv")
