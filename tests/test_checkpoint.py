"""Checkpoints: round trip to identical logits, graphs alongside, and safe refusal of bad files."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from wiring_lab._io import UserError
from wiring_lab.checkpoint import read_checkpoint, read_graphs, save_checkpoint
from wiring_lab.graphs import generate_graph, save_graph
from wiring_lab.loading import load_checkpoint


def test_round_trip_gives_identical_logits(tiny_ckpt, tiny_ckpt_path, tmp_path, digits):
    x = digits.test.tensors[0][:16]
    with torch.no_grad():
        before = tiny_ckpt.model(x)
    path = save_checkpoint(tmp_path / "copy.pt", tiny_ckpt.model, tiny_ckpt.metadata)
    again = load_checkpoint(path)
    with torch.no_grad():
        assert torch.equal(again.model(x), before)
    assert again.graphs == tiny_ckpt.graphs
    assert not again.model.training


def test_checkpoint_is_plain_data_loadable_with_weights_only(tiny_ckpt_path):
    obj = torch.load(tiny_ckpt_path, weights_only=True)
    assert obj["format"] == "wiring-lab-checkpoint" and obj["version"] == 2
    assert {"model_config", "graphs", "state_dict", "metadata"} <= set(obj)
    meta = obj["metadata"]
    assert meta["dataset"] == "digits" and len(meta["history"]) == 4
    assert {"torch", "numpy", "wiring_lab"} <= set(meta["versions"])
    assert obj["graphs"][0]["generator"] == "ws" and obj["graphs"][0]["seed"] is not None


def test_graphs_given_alongside(tiny_ckpt_path, tmp_path):
    obj = torch.load(tiny_ckpt_path, weights_only=True)
    graphs = obj.pop("graphs")
    bare = tmp_path / "bare.pt"
    torch.save(obj, bare)
    with pytest.raises(UserError, match="holds no stage graphs; pass them with --graphs"):
        load_checkpoint(bare)
    gdir = tmp_path / "graphs"
    from wiring_lab.graphs import GraphSpec

    for i, g in enumerate(graphs):
        save_graph(GraphSpec.from_dict(g), gdir / f"stage{i}.json")
    ckpt = load_checkpoint(bare, graphs=gdir)
    assert [g.to_dict() for g in ckpt.graphs] == graphs


def test_truncated_file(tiny_ckpt_path, tmp_path):
    bad = tmp_path / "trunc.pt"
    bad.write_bytes(tiny_ckpt_path.read_bytes()[:5000])
    with pytest.raises(UserError, match="trunc.pt"):
        load_checkpoint(bad)


def test_not_a_checkpoint(tmp_path):
    f = tmp_path / "notes.pt"
    f.write_text("hello")
    with pytest.raises(UserError, match="notes.pt"):
        load_checkpoint(f)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(UserError, match="empty file"):
        load_checkpoint(empty)
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(2)}, plain)
    with pytest.raises(UserError, match="not a wiring-lab checkpoint"):
        load_checkpoint(plain)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_runs_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": "wiring-lab-checkpoint", "payload": _Evil(marker)}, evil)
    with pytest.raises(UserError, match="refused") as err:
        read_checkpoint(evil)
    assert "\n" not in str(err.value)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(_Evil(marker)))
    with pytest.raises(UserError):
        load_checkpoint(raw)
    assert not marker.exists()


def test_state_dict_that_does_not_match_its_graphs(tiny_ckpt_path, tmp_path):
    obj = torch.load(tiny_ckpt_path, weights_only=True)
    other = generate_graph("er", obj["graphs"][1]["n"], seed=99, p=0.9).to_dict()
    obj["graphs"][1] = other
    bad = tmp_path / "mismatch.pt"
    torch.save(obj, bad)
    with pytest.raises(UserError, match="state_dict does not match its graphs"):
        load_checkpoint(bad)


def test_non_finite_weights_are_refused(tiny_ckpt_path, tmp_path):
    obj = torch.load(tiny_ckpt_path, weights_only=True)
    obj["state_dict"]["fc.weight"][0, 0] = float("nan")
    bad = tmp_path / "nan.pt"
    torch.save(obj, bad)
    with pytest.raises(UserError, match="NaN or inf"):
        load_checkpoint(bad)


def test_read_graphs_returns_the_stored_stage_graphs_without_building(tiny_ckpt, tiny_ckpt_path, tmp_path):
    assert read_graphs(tiny_ckpt_path) == tiny_ckpt.graphs
    obj = torch.load(tiny_ckpt_path, weights_only=True)
    obj["state_dict"] = {}  # read_graphs never builds the network, so the weights do not matter
    torch.save(obj, tmp_path / "noweights.pt")
    assert read_graphs(tmp_path / "noweights.pt") == tiny_ckpt.graphs
    obj.pop("graphs")
    torch.save(obj, tmp_path / "bare.pt")
    with pytest.raises(UserError, match="holds no stage graphs"):
        read_graphs(tmp_path / "bare.pt")
    torch.save({"model": {}}, tmp_path / "foreign.pt")
    with pytest.raises(UserError, match="not a wiring-lab checkpoint"):
        read_graphs(tmp_path / "foreign.pt")


def test_checkpoint_module_loads_native_files_only():
    import wiring_lab.checkpoint as checkpoint

    assert not hasattr(checkpoint, "load_checkpoint")  # the format dispatcher is wiring_lab.loading.load_checkpoint


def _as_format_1(obj):
    """A version-2 checkpoint dict rewritten as version 1 wrote it: the layout fields flat in model_config."""
    old = dict(obj, version=1)
    mc = dict(obj["model_config"])
    old["model_config"] = {**{k: v for k, v in mc.items() if k != "layout"}, **mc["layout"]}
    return old


def test_format_1_checkpoints_with_flat_layout_fields_still_load(digits, tmp_path):
    from wiring_lab.model import ForeignLayout, ModelConfig, build_model

    layout = ForeignLayout(origin="leaderj1001", node_bias=True, input_node_conv=True, head_relu_in=False, head_bias=True,
                           stages=((5, 8), (5, 16), (5, 16)), fc_dropout=0.2)
    cfg = ModelConfig(regime="digits", channels=8, nodes=5, num_classes=10, in_channels=1, head_channels=16, seed=3, layout=layout)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    path = save_checkpoint(tmp_path / "new.pt", model, {"dataset": "digits"})
    obj = torch.load(path, weights_only=True)
    assert obj["version"] == 2 and obj["model_config"]["layout"]["origin"] == "leaderj1001"
    assert "input_node_conv" not in obj["model_config"]  # importer-only fields live under "layout" now
    torch.save(_as_format_1(obj), tmp_path / "old.pt")
    assert "input_node_conv" in torch.load(tmp_path / "old.pt", weights_only=True)["model_config"]
    old = load_checkpoint(tmp_path / "old.pt")
    assert old.config == cfg and old.config.layout.input_node_conv and old.config.layout.stages == ((5, 8), (5, 16), (5, 16))
    x = digits.test.tensors[0][:8]
    with torch.no_grad():
        assert torch.equal(old.model(x), model(x))


def test_paper_layout_default_and_both_forms_at_once_refused():
    from wiring_lab.model import ForeignLayout, ModelConfig

    cfg = ModelConfig(regime="digits", channels=8, nodes=5, num_classes=10, in_channels=1)
    assert cfg.layout == ForeignLayout() and cfg.layout.origin == "native"
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="given twice"):
        ModelConfig.from_dict({**cfg.to_dict(), "node_bias": True})
    with pytest.raises(ValueError, match="aggregation"):
        ForeignLayout(aggregation="max")
