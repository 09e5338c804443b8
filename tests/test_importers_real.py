"""Foreign importers on files written by each public project's own code (tests/fixtures/foreign).

The fixtures (see make_fixtures.py and the README there) hold, per project and mode, the
checkpoint and graph files exactly where that code writes them and ``expected.pt``: a fixed
input batch and the project's own forward's logits. Nothing here was written by wiring-lab.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
import torch
from torch.utils.data import TensorDataset
from typer.testing import CliRunner

from wiring_lab._io import UserError
from wiring_lab.cli import app
from wiring_lab.importers import convert_checkpoint, detect_format, load_foreign
from wiring_lab.importers._common import read_networkx_yaml
from wiring_lab.loading import load_checkpoint

FIX = Path(__file__).parent / "fixtures" / "foreign"
ATOL = 1e-4
LJ = "checkpoint/c_4_p_0.75_graph_mode_WS_dataset_{}ckpt.t7"
HEBO = "output/model/CIFAR10_000_00.cpt"
CASES = {  # run directory: (checkpoint inside it, format, stages)
    "seungwonpark": ("chkpt/tiny/chkpt_000.pt", "seungwonpark", 3),
    "jiaminren/small": ("checkpoint/tiny/model-best.pth", "jiaminren", 3),
    "jiaminren/regular": ("checkpoint/tiny/model-best.pth", "jiaminren", 4),
    "hebo1221/nx19-small": (HEBO, "hebo1221", 3),
    "hebo1221/nx19-regular": (HEBO, "hebo1221", 4),
    "hebo1221/nx25-small-dataparallel": (HEBO, "hebo1221", 3),
    "leaderj1001/CIFAR10": (LJ.format("CIFAR10"), "leaderj1001", 2),
    "leaderj1001/CIFAR100": (LJ.format("CIFAR100"), "leaderj1001", 3),
    "leaderj1001/SMALL_REGIME": (LJ.format("CIFAR10"), "leaderj1001", 3),
    "leaderj1001/REGULAR_REGIME": (LJ.format("CIFAR10"), "leaderj1001", 4),
}
IRONJR = FIX / "ironjr" / "checkpoint" / "tiny" / "ckpt_train0.pth"


def _expected(case):
    e = torch.load(FIX / case / "expected.pt", weights_only=True)
    return e["input"].float(), e["logits"]


def _logits(model, x):
    with torch.no_grad():
        return model(x)


@pytest.mark.parametrize("case", list(CASES))
def test_real_file_loads_and_matches_the_projects_own_logits(case):
    rel, fmt, stages = CASES[case]
    path = FIX / case / rel
    assert detect_format(path) == fmt
    ckpt = load_checkpoint(path, format="auto")  # graphs found where the project's code wrote them
    x, want = _expected(case)
    assert len(ckpt.graphs) == stages
    assert (_logits(ckpt.model, x) - want).abs().max().item() <= ATOL


@pytest.mark.parametrize("case", list(CASES))
def test_convert_then_load_checkpoint_gives_the_same_network(case, tmp_path):
    rel, fmt, _ = CASES[case]
    out = convert_checkpoint(FIX / case / rel, tmp_path / "native.pt", format=fmt)
    native = load_checkpoint(out)
    imported = load_foreign(FIX / case / rel, fmt)
    x, want = _expected(case)
    assert torch.equal(_logits(native.model, x), _logits(imported.model, x))
    assert (_logits(native.model, x) - want).abs().max().item() <= ATOL
    assert [g.edges for g in native.graphs] == [g.edges for g in imported.graphs]


def _synthetic(size, classes, n=6, seed=0):
    """Random images of the network's input size (labels random: damage deltas are paired anyway)."""
    from wiring_lab.data import Data

    g = torch.Generator().manual_seed(seed)
    split = lambda: TensorDataset(torch.randn(n, 3, size, size, generator=g), torch.randint(0, classes, (n,), generator=g))  # noqa: E731
    return Data("synthetic", split(), split(), classes, 3, size, "small", [str(i) for i in range(classes)])


@pytest.mark.parametrize("case", list(CASES))
def test_damage_sweep_on_real_file_equals_naive_reevaluation(case):
    from wiring_lab.damage import DamageConfig, damage_sweep

    rel, fmt, _ = CASES[case]
    ckpt = load_foreign(FIX / case / rel, fmt)
    x, _ = _expected(case)
    data = _synthetic(x.shape[-1], ckpt.config.num_classes)
    kw = dict(remove="both", stages=(0,), limit=6, bootstrap=10)
    fast = damage_sweep(ckpt, DamageConfig(**kw, variant_batch=4), data=data, device="cpu", progress=False)
    slow = damage_sweep(ckpt, DamageConfig(**kw, naive=True), data=data, device="cpu", progress=False)
    st = ckpt.model.stages[0]
    assert len(fast) == 1 + st.dag.n + len(st.graph.to_dag().edges)
    assert fast["top1"].tolist() == slow["top1"].tolist()
    torch.testing.assert_close(torch.tensor(fast["loss"].tolist()), torch.tensor(slow["loss"].tolist()), atol=1e-5, rtol=1e-5)
    assert fast["loss"].nunique() > 1


def test_generator_recorded_in_file_names_becomes_the_stage_generator():
    swp = load_foreign(FIX / "seungwonpark" / CASES["seungwonpark"][0])
    assert {(g.generator, tuple(sorted(g.params.items()))) for g in swp.graphs} == {("ws", (("k", 4), ("p", 0.75)))}
    lj = load_foreign(FIX / "leaderj1001/CIFAR10" / CASES["leaderj1001/CIFAR10"][0])
    assert lj.config.generator == "ws" and lj.config.params == {"k": 4, "p": 0.75}
    assert all(g.generator == "ws" and g.seed is None for g in lj.graphs)


@pytest.mark.parametrize("case,size", [("leaderj1001/CIFAR10", "32x32"), ("jiaminren/small", "224x224"), ("hebo1221/nx19-small", "input size unknown")])
def test_inspect_shows_real_input_size_and_unknown_seed(case, size):
    res = CliRunner().invoke(app, ["inspect", str(FIX / case / CASES[case][0]), "--format", "auto"])
    assert res.exit_code == 0, res.output
    first = res.output.splitlines()[0]
    assert size in first and "seed unknown" in first
    res = CliRunner().invoke(app, ["inspect", str(FIX / case / CASES[case][0]), "--format", "auto", "--json"])
    summary = json.loads(res.output)
    assert summary["seed"] is None and all(s["seed"] is None for s in summary["stages"])


# --- networkx 1.9 dumps ----------------------------------------------------------------------
def test_networkx_19_and_25_dumps_of_one_graph_give_the_same_edges():
    dumps = FIX / "networkx_dumps"
    truth = json.loads((dumps / "ws8.edges.json").read_text())  # written by networkx 1.9 itself
    edges = tuple(sorted((min(u, v), max(u, v)) for u, v in truth["edges"]))
    for name in ("ws8_nx19.yaml", "ws8_nx25.yaml", "ws8_dag_nx19.yaml", "ws8_dag_nx25.yaml"):
        spec = read_networkx_yaml(dumps / name)
        assert (spec.n, spec.edges) == (len(truth["nodes"]), edges), name
    assert "\nadj:" in (dumps / "ws8_nx19.yaml").read_text() and "\nsucc:" in (dumps / "ws8_dag_nx19.yaml").read_text()


def test_networkx_19_dump_is_read_without_building_objects(tmp_path):
    marker = tmp_path / "ran"
    text = (FIX / "networkx_dumps" / "ws8_nx19.yaml").read_text()
    evil = text.replace("graph:", f"graph: !!python/object/apply:os.system ['touch {marker}']\ngraph_:", 1)
    (tmp_path / "evil.yaml").write_text(evil)
    read_networkx_yaml(tmp_path / "evil.yaml")  # the tag becomes plain data; nothing runs
    assert not marker.exists()


# --- errors a user meets with real files -----------------------------------------------------
def _seungwonpark_copy(tmp_path, graph_nodes=None):
    repo = tmp_path / "repo"
    shutil.copytree(FIX / "seungwonpark", repo)
    if graph_nodes:  # the repository's own 32-node ws-4-075-*.txt instead of the ones trained with
        for f in (repo / "model/graphs/generated").glob("*.txt"):
            ring = [(i, i + 1) for i in range(graph_nodes - 1)]
            f.write_text(f"{graph_nodes}\n{len(ring)}\n" + "".join(f"{u} {v}\n" for u, v in ring))
    return repo / CASES["seungwonpark"][0]


def test_node_count_mismatch_is_named_before_any_format_question(tmp_path):
    path = _seungwonpark_copy(tmp_path, graph_nodes=32)
    with pytest.raises(UserError) as err:
        load_foreign(path)
    assert "stage 0: the graph has 32 nodes, the checkpoint 8" in str(err.value) and "--format" not in str(err.value)
    one = FIX / "jiaminren/small/checkpoint/tiny/conv3.yaml"
    for case in ("seungwonpark", "jiaminren/small", "leaderj1001/SMALL_REGIME"):
        with pytest.raises(UserError) as err:
            load_foreign(FIX / case / CASES[case][0], graphs=[one])
        assert "3 stages, 1 graph file" in str(err.value) and "--format" not in str(err.value), case


def test_auto_detects_layouts_behind_a_dataparallel_prefix(tmp_path):
    for case in ("seungwonpark", "leaderj1001/CIFAR10", "jiaminren/small"):
        rel = CASES[case][0]
        run = tmp_path / case
        shutil.copytree(FIX / case, run)
        obj = torch.load(run / rel, weights_only=True)
        key = "state_dict" if "state_dict" in obj else "model"
        obj[key] = {f"module.{k}": v for k, v in obj[key].items()}
        torch.save(obj, run / rel)
        assert detect_format(run / rel) == CASES[case][1]
        x, want = _expected(case)
        assert (_logits(load_foreign(run / rel).model, x) - want).abs().max().item() <= ATOL


def test_ironjr_format_on_a_file_without_graphs_says_what_it_is():
    with pytest.raises(UserError) as err:
        load_foreign(FIX / "seungwonpark" / CASES["seungwonpark"][0], "ironjr")
    msg = str(err.value)
    assert "not an ironjr" in msg and "--layout seungwonpark" in msg and "\n" not in msg


def test_ironjr_file_is_refused_with_the_export_recipe():
    assert detect_format(IRONJR) == "ironjr"
    for fmt in ("auto", "ironjr"):
        with pytest.raises(UserError) as err:
            load_foreign(IRONJR, fmt)
        assert "export_pickled" in str(err.value) and "\n" not in str(err.value)


class _Payload:
    def __reduce__(self):
        return (os.system, ("true",))


@pytest.mark.parametrize("extra,named", [(argparse.Namespace(lr=0.1), "argparse.Namespace"), (_Payload(), "system")])
def test_ironjr_like_file_with_other_globals_never_gets_an_unpickling_hint(tmp_path, extra, named):
    g = nx.DiGraph([(0, 1), (1, 2)])
    path = tmp_path / "ckpt_evil.pth"
    torch.save({"model": {}, "graphs": [g], "args": extra}, path)
    for fmt in ("auto", "ironjr"):
        with pytest.raises(UserError) as err:
            load_foreign(path, fmt)
        msg = str(err.value)
        assert named in msg and "export_pickled" not in msg and "weights_only=False" not in msg


def test_ironjr_export_recipe_on_ironjrs_own_file(tmp_path):
    """The recipe (run as the user would, in a subprocess) writes graph files metrics and export-graphs read."""
    out = tmp_path / "graphs"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    # the recipe's command line, then the original DiGraphs as plain int edge lists (our own fixture)
    code = (
        "import sys, json, runpy, torch; sys.argv = ['export_pickled', sys.argv[1], sys.argv[2]]; "
        "runpy.run_module('wiring_lab.importers.export_pickled', run_name='__main__'); "
        "c = torch.load(sys.argv[1], weights_only=False); "
        "print(json.dumps([[[int(u), int(v)] for u, v in g.edges] for g in c['graphs']]))"
    )
    res = subprocess.run([sys.executable, "-c", code, str(IRONJR), str(out)], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("wrote ") == 3
    original = json.loads(res.stdout.splitlines()[-1])
    files = sorted(out.glob("stage*.json"))
    assert [f.name for f in files] == [f"stage{i}.json" for i in range(len(original))]
    manifest = json.loads((FIX / "manifest.json").read_text())
    assert any("numpy" in t for t in manifest["runs"]["ironjr"]["node_label_types"])  # the recipe had ints to convert
    for f, edges in zip(files, original):
        doc = json.loads(f.read_text())
        assert all(u < v for u, v in doc["edges"])  # topological ids
        assert nx.is_isomorphic(nx.DiGraph([tuple(e) for e in doc["edges"]]), nx.DiGraph([tuple(e) for e in edges]))
    runner = CliRunner()
    res = runner.invoke(app, ["metrics", str(files[0])])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["export-graphs", str(out), "--out", str(tmp_path / "exported"), "--as", "graphml"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "exported").iterdir()) == [f"stage{i}.graphml" for i in range(len(files))]
