"""Training: the paper's recipe on digits, per-epoch history, atomic checkpoints, exact resume."""

from __future__ import annotations

import pytest
import torch

from wiring_lab._io import UserError
from wiring_lab.loading import load_checkpoint
from wiring_lab.train import TrainConfig, _cosine_lr, model_config_for, train_network


def test_short_digits_training_beats_90_percent(tiny_ckpt):
    hist = tiny_ckpt.metadata["history"]
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4]
    assert tiny_ckpt.metadata["final"]["test_top1"] > 90.0
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
    assert [h["test_top1"] for h in resumed.metadata["history"]] == [h["test_top1"] for h in full.metadata["history"]]


def test_existing_output_is_never_overwritten(digits, tiny_ckpt_path):
    with pytest.raises(UserError, match="exists; pass --resume"):
        train_network(_tiny(digits), TrainConfig(epochs=1), tiny_ckpt_path, device="cpu", data=digits, progress=False)


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


@pytest.mark.gpu
def test_training_step_on_cuda(digits, tmp_path):
    mc = _tiny(digits)
    ckpt = train_network(mc, TrainConfig(epochs=1), tmp_path / "gpu.pt", device="cuda", data=digits, progress=False)
    assert next(ckpt.model.parameters()).is_cuda
