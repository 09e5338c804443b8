"""Training: the paper's recipe on digits, per-epoch history, atomic checkpoints, exact resume."""

from __future__ import annotations

import pytest
import torch

from wiring_lab._io import UserError
from wiring_lab.evaluate import evaluate
from wiring_lab.loading import load_checkpoint
from wiring_lab.train import (
    TrainConfig,
    _cosine_lr,
    model_config_for,
    split_validation,
    train_network,
)


def test_short_digits_training_beats_80_percent(tiny_ckpt):
    hist = tiny_ckpt.metadata["history"]
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4]
    # 4 epochs reach 85-88% (measured: 88.3 at 1 torch thread, 85.0 at 2; numpy 1.26 and 2.4): the threshold is
    # learning (chance is 10%), not a number that moves with the platform's float reduction order
    assert tiny_ckpt.metadata["final"]["test_top1"] > 80.0
    assert all({"val_loss", "val_top1", "val_top5"} <= set(h) and not any(k.startswith("test_") for k in h) for h in hist)
    assert hist[-1]["val_top1"] > 85.0
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert tiny_ckpt.metadata["train_config"]["label_smoothing"] == 0.1


def test_cosine_schedule_is_half_period():
    assert _cosine_lr(0.1, 0, 100) == pytest.approx(0.1)
    assert _cosine_lr(0.1, 50, 100) == pytest.approx(0.05)
    assert _cosine_lr(0.1, 100, 100) == pytest.approx(0.0)


def _tiny(digits, **kw):
    return model_config_for(digits, channels=4, nodes=5, head_channels=16, generator="er", seed=2, **kw)


def test_resume_reaches_the_same_weights(digits, tmp_path):
    mc = _tiny(digits)
    tc = TrainConfig(epochs=3, seed=4, edge_drop=0.1, batch_size=128)
    full = train_network(mc, tc, tmp_path / "full.pt", device="cpu", data=digits, progress=False)

    class Stop(Exception):
        pass

    def stop_after_first(row):
        if row["epoch"] == 1:
            raise Stop

    part = tmp_path / "part.pt"
    with pytest.raises(Stop):
        train_network(mc, tc, part, device="cpu", data=digits, progress=False, on_epoch=stop_after_first)
    assert len(load_checkpoint(part).metadata["history"]) == 1
    resumed = train_network(mc, tc, part, device="cpu", data=digits, progress=False, resume=True)
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), k
    assert [h["val_top1"] for h in resumed.metadata["history"]] == [h["val_top1"] for h in full.metadata["history"]]
    assert resumed.metadata["final"] == full.metadata["final"]


def test_existing_output_is_never_overwritten(digits, tiny_ckpt_path):
    from wiring_lab.train import CheckpointExists

    with pytest.raises(CheckpointExists, match=r"exists \(4 of 4 epochs done\); resume it or choose another output path") as e:
        train_network(_tiny(digits), TrainConfig(epochs=1), tiny_ckpt_path, device="cpu", data=digits, progress=False)
    assert "--" not in str(e.value)  # the Python API's message names no command-line option


def test_resume_with_other_settings_is_refused(digits, tiny_ckpt_path):
    with pytest.raises(UserError, match="another model config"):
        train_network(_tiny(digits), TrainConfig(epochs=1), tiny_ckpt_path, device="cpu", data=digits, progress=False, resume=True)


@pytest.mark.parametrize("kw", [{"epochs": 0}, {"lr": -1.0}, {"edge_drop": 1.5}, {"batch_size": 0}])
def test_bad_train_config(kw):
    with pytest.raises(ValueError):
        TrainConfig(**kw)


def test_edge_drop_only_in_training_mode(tiny_ckpt, digits):
    model = tiny_ckpt.model
    x = digits.test.tensors[0][:8]
    model.set_edge_drop(0.9)
    with torch.no_grad():
        a, b = model(x), model(x)  # eval mode: no drops, deterministic
    assert torch.equal(a, b)


def test_validation_split_is_stratified_seeded_and_disjoint(digits):
    """The hold-out is carved from the training split only: disjoint, complete, per-class proportional, seeded."""
    fit, val = split_validation(digits, 0.2, seed=3)
    fit2, val2 = split_validation(digits, 0.2, seed=3)
    _, val3 = split_validation(digits, 0.2, seed=4)
    x = digits.train.tensors[0].reshape(len(digits.train), -1)
    rows = {tuple(r.tolist()): i for i, r in enumerate(x)}
    assert len(rows) == len(x), "digits training images are distinct, so rows identify them"
    ids = lambda ds: sorted(rows[tuple(r.tolist())] for r in ds.tensors[0].reshape(len(ds), -1))  # noqa: E731
    fi, vi = ids(fit.train), ids(val)
    assert not set(fi) & set(vi) and sorted(fi + vi) == list(range(len(x)))
    assert len(vi) == round(0.2 * len(x))
    assert ids(val2) == vi and ids(val3) != vi and torch.equal(fit2.train.tensors[1], fit.train.tensors[1])
    all_counts = torch.bincount(digits.train.tensors[1], minlength=10).double()
    val_counts = torch.bincount(val.tensors[1], minlength=10).double()
    assert ((val_counts - 0.2 * all_counts).abs() <= 1).all()  # stratified
    assert fit.test is digits.test
    same, none = split_validation(digits, 0.0, seed=0)
    assert same is digits and none is None


def test_test_split_is_evaluated_once_at_the_end(digits, tmp_path, monkeypatch):
    """Per epoch only the hold-out is evaluated; the test split once, after the last epoch."""
    import wiring_lab.train as T

    seen = []
    real = T.evaluate

    def spy(model, dataset, *a, **kw):
        seen.append("test" if dataset is digits.test else len(dataset))
        return real(model, dataset, *a, **kw)

    monkeypatch.setattr(T, "evaluate", spy)
    trained = []
    real_batches = T.batches
    monkeypatch.setattr(T, "batches", lambda ds, *a, **kw: (trained.append(ds), real_batches(ds, *a, **kw))[1])
    stops = []

    def stop(row):
        stops.append(load_checkpoint(tmp_path / "v.pt").metadata["final"])

    ckpt = train_network(_tiny(digits), TrainConfig(epochs=3, batch_size=128, val_fraction=0.25, val_seed=1), tmp_path / "v.pt",
                 device="cpu", data=digits, progress=False, on_epoch=stop)  # fmt: skip
    n_val = round(0.25 * len(digits.train))
    assert seen == [n_val, n_val, n_val, "test"]
    assert stops[:2] == [None, None] and stops[2]["test_top1"] == ckpt.metadata["final"]["test_top1"]
    assert all(len(ds) == len(digits.train) - n_val for ds in trained)  # trained on the rest only
    info = ckpt.metadata["info"]
    assert (info["n_train"], info["n_val"], info["n_test"]) == (len(digits.train) - n_val, n_val, len(digits.test))
    _, val = split_validation(digits, 0.25, 1)
    assert ckpt.metadata["history"][-1]["val_top1"] == pytest.approx(evaluate(ckpt.model, val, "cpu").top1)
    assert ckpt.metadata["final"]["test_top1"] == pytest.approx(evaluate(ckpt.model, digits.test, "cpu").top1)


def test_checkpoints_from_before_the_hold_out_load_and_resume(digits, tmp_path):
    """An older checkpoint (test_* history, no val fields in its train config) loads, and resumes as it was trained."""
    path = tmp_path / "old.pt"
    mc = _tiny(digits)

    class Stop(Exception):
        pass

    def stop(row):
        raise Stop

    with pytest.raises(Stop):
        train_network(mc, TrainConfig(epochs=2, val_fraction=0.0), path, device="cpu", data=digits, progress=False, on_epoch=stop)
    obj = torch.load(path, weights_only=True)
    meta = obj["metadata"]
    for key in ("val_fraction", "val_seed"):
        meta["train_config"].pop(key)
    meta["history"] = [{**h, "test_loss": 0.5, "test_top1": 90.0, "test_top5": 99.0} for h in meta["history"]]
    meta["final"] = {"test_top1": 90.0, "test_top5": 99.0, "test_loss": 0.5}
    torch.save(obj, path)
    old = load_checkpoint(path)
    assert old.metadata["history"][0]["test_top1"] == 90.0
    with pytest.raises(UserError, match="another training config"):
        train_network(mc, TrainConfig(epochs=2), path, device="cpu", data=digits, progress=False, resume=True)
    done = train_network(mc, TrainConfig(epochs=2, val_fraction=0.0), path, device="cpu", data=digits, progress=False, resume=True)
    assert [h["epoch"] for h in done.metadata["history"]] == [1, 2] and done.metadata["final"]["test_top1"] > 0


@pytest.mark.parametrize("kw", [{"val_fraction": 1.0}, {"val_fraction": -0.1}, {"val_seed": -1}, {"val_fraction": True}])
def test_bad_validation_settings(kw):
    with pytest.raises(ValueError, match="val_"):
        TrainConfig(**kw)


@pytest.mark.gpu
def test_training_step_on_cuda(digits, tmp_path):
    mc = _tiny(digits)
    ckpt = train_network(mc, TrainConfig(epochs=1), tmp_path / "gpu.pt", device="cuda", data=digits, progress=False)
    assert next(ckpt.model.parameters()).is_cuda


def test_learning_curves_draw_the_validation_split(tiny_ckpt):
    """The learning-curve figure plots the val_* columns of new histories and says so."""
    import pandas as pd

    from wiring_lab.plots import plot_learning_curves

    hist = pd.DataFrame([{"model": "tiny", **h} for h in tiny_ckpt.metadata["history"]])
    fig = plot_learning_curves(hist)
    acc = fig.axes[2]  # train loss, validation loss, validation top-1
    assert "validation" in acc.get_ylabel()
    assert list(acc.lines[0].get_ydata()) == pytest.approx(hist["val_top1"].tolist())


def test_augmentation_crops_and_flips_seeded_windows_and_is_left_out_of_records_when_off():
    import torch

    from wiring_lab.augment import augment_batch, crop_padding
    from wiring_lab.recipe import TrainConfig, train_record

    x = torch.arange(2 * 1 * 16 * 16, dtype=torch.float32).reshape(2, 1, 16, 16) + 1  # no zeros inside
    a = augment_batch(x, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, augment_batch(x, torch.Generator().manual_seed(3)))
    assert not torch.equal(a, augment_batch(x, torch.Generator().manual_seed(4)))
    pad = crop_padding(16)
    assert pad == 2
    padded = torch.nn.functional.pad(x, (pad,) * 4)
    for b in range(2):  # every output is a 16x16 window of the padded image, maybe mirrored
        windows = [padded[b, 0, dy : dy + 16, dx : dx + 16] for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)]
        assert any(torch.equal(a[b, 0], w) or torch.equal(a[b, 0], w.flip(1)) for w in windows)
    record = train_record(TrainConfig())
    assert "augment" not in record and train_record(TrainConfig(augment=True))["augment"] is True
    with pytest.raises(ValueError, match="augment must be true or false"):
        TrainConfig(augment="yes")
