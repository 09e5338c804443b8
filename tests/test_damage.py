"""Damage studies: engine vs naive, semantics of removals, cascade, BN recalibration, resume, CLI."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time

import networkx as nx
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from wiring_lab import _damage_engine as engine
from wiring_lab.cli import app
from wiring_lab.attack import AttackConfig, attack_curve
from wiring_lab.damage import (
    DAMAGE_COLUMNS,
    DamageConfig,
    dag_edges,
    damage_sweep,
    enumerate_variants,
)
from wiring_lab.evaluate import evaluate, per_image

LIMIT = 120  # test images: enough to separate variants, small enough to be quick
CONTRACT = [
    "model", "generator", "setting", "stage", "kind", "node", "source", "target", "in_degree_graph", "out_degree_graph",
    "in_degree_dag", "out_degree_dag", "target_in_degree_dag", "top1", "top5", "loss", "delta_top1",
    "delta_top1_lo", "delta_top1_hi", "seed", "wall_s", "cascade", "recalibrate_bn",
]  # fmt: skip


def _sweep(ckpt, digits, **kw):
    kw.setdefault("limit", LIMIT)
    kw.setdefault("bootstrap", 200)
    return damage_sweep(ckpt, DamageConfig(**kw), data=digits, device="cpu", progress=False)


def _damaged_top1_loss(model, digits, damage, limit=LIMIT):
    """Accuracy (%) and mean loss of a damaged network, run naively through the engine's forward."""
    x, y = digits.test.tensors[0][:limit], digits.test.tensors[1][:limit]
    masks = {s: engine.stage_edits(model.stages[s], d, torch.device("cpu")) for s, d in damage.items()}
    with torch.no_grad():
        top1, _, loss = per_image(engine.run_variant(model, damage, masks, x=x), y)
    return 100 * top1.double().mean().item(), loss.double().mean().item()


@pytest.mark.parametrize("ablation", ["drop", "zero", "mean"])
@pytest.mark.parametrize("cascade", [False, True])
def test_engine_equals_naive_for_every_node_and_edge(tiny_ckpt, digits, cascade, ablation):
    """The cached engine (with variants stacked) reproduces naive re-evaluation exactly, for every ablation."""
    kw = dict(remove="both", cascade=cascade, ablation=ablation, mean_images=100)
    fast = _sweep(tiny_ckpt, digits, variant_batch=8, chunk=50, **kw)
    slow = _sweep(tiny_ckpt, digits, naive=True, **kw)
    assert (fast["ablation"] == ablation).all() and (fast["cascade"] == cascade).all()
    expected = sum(st.dag.n + len(dag_edges(st.dag)) for st in tiny_ckpt.model.stages)
    assert len(fast) == expected + 1 and (fast["kind"] == "intact").sum() == 1
    for col in ("top1", "top5", "loss", "delta_top1", "delta_top1_lo", "delta_top1_hi"):
        assert fast[col].tolist() == slow[col].tolist(), col
    assert set(CONTRACT) <= set(fast.columns)
    # some variants must actually hurt, or the comparison would be vacuous
    assert fast["delta_top1"].min() < -5
    # edges are listed in DAG ids, input and output edges included
    edges = fast[(fast["kind"] == "edge") & (fast["stage"] == 0)][["source", "target"]]
    assert sorted(map(tuple, edges.to_numpy().tolist())) == sorted(tiny_ckpt.graphs[0].to_dag().edges())


def test_degree_columns_match_the_dag(tiny_ckpt, digits):
    """Node rows carry degrees in the generated graph and in the DAG with input/output nodes."""
    df = _sweep(tiny_ckpt, digits, remove="both", stages=(1,), limit=40)
    g = tiny_ckpt.graphs[1].to_dag()
    n = tiny_ckpt.graphs[1].n
    for _, r in df[df["kind"] == "node"].iterrows():
        v = int(r["node"])
        assert r["in_degree_dag"] == g.in_degree(v) and r["out_degree_dag"] == g.out_degree(v)
        assert r["in_degree_graph"] == sum(1 for u in g.predecessors(v) if u < n)
        assert r["out_degree_graph"] == sum(1 for u in g.successors(v) if u < n)
    for _, r in df[df["kind"] == "edge"].iterrows():
        assert r["target_in_degree_dag"] == g.in_degree(int(r["target"]))
    # the node-metrics table names (and counts) the same degrees the same way
    from wiring_lab.metrics import node_metrics

    nm = node_metrics(tiny_ckpt.graphs[1], backend="networkx").set_index("node")
    nodes = df[df["kind"] == "node"].set_index("node")
    for col in ("in_degree_graph", "out_degree_graph", "in_degree_dag", "out_degree_dag"):
        assert nodes[col].astype(int).tolist() == nm.loc[nodes.index, col].tolist(), col


def test_removing_a_node_with_no_path_to_the_output_changes_nothing(tiny_ckpt, digits):
    """Once its successors are gone, a node reaches nothing: removing it too changes no logit."""
    model = tiny_ckpt.model
    dag = model.stages[1].dag
    v = next(u for u in range(dag.n) if dag.succs[u])  # not output-fed: it reaches the output only through succs
    succ = list(dag.succs[v])
    x = digits.test.tensors[0][:LIMIT]
    cpu = torch.device("cpu")
    outs = []
    for nodes in (succ, succ + [v]):
        d = {1: engine.stage_damage(dag, nodes=nodes)}
        with torch.no_grad():
            outs.append(engine.run_variant(model, d, {1: engine.stage_edits(model.stages[1], d[1], cpu)}, x=x))
    assert torch.equal(outs[0], outs[1])


def test_edge_removal_equals_the_hand_masked_network(tiny_ckpt, digits):
    """Dropping edge u->w equals setting w's weight for u to sigmoid(-inf) = 0 in a copy of the network."""
    model = tiny_ckpt.model
    s = 2
    dag = model.stages[s].dag
    w = next(t for t in range(dag.n) if len(dag.preds[t]) > 1)
    u = dag.preds[w][0]
    row = _sweep(tiny_ckpt, digits, remove="edge", stages=(s,), nodes=(w,), limit=None)
    row = row[(row["source"] == u) & (row["target"] == w)].iloc[0]
    hand = copy.deepcopy(model)
    with torch.no_grad():
        hand.stages[s].nodes[w].weight[0] = float("-inf")
    res = evaluate(hand, digits.test, "cpu")
    assert row["top1"] == pytest.approx(res.top1, abs=1e-9) and row["loss"] == pytest.approx(res.loss, abs=1e-9)
    assert row["loss"] != evaluate(model, digits.test, "cpu").loss


def _input_closure(dag, removed):
    """Nodes left without any input once ``removed`` are gone, recursively (networkx reference)."""
    g = nx.DiGraph()
    g.add_nodes_from(range(dag.n))
    g.add_edges_from((u, w) for w in range(dag.n) for u in dag.preds[w])
    out = set(removed)
    changed = True
    while changed:
        changed = False
        for w in g.nodes:
            preds = list(g.predecessors(w))
            if w not in out and preds and all(p in out for p in preds):
                out.add(w)
                changed = True
    return out


def test_cascade_removes_nodes_left_without_input(tiny_ckpt, digits):
    """--cascade removes, recursively, every node all of whose inputs were removed."""
    model = tiny_ckpt.model
    found = [
        (s, v, _input_closure(st.dag, {v}))
        for s, st in enumerate(model.stages)
        for v in range(st.dag.n)
        if len(_input_closure(st.dag, {v})) > 1
    ]
    assert found, "the tiny network should have a node whose successor has in-degree 1"
    s, v, closure = found[0]
    casc = _sweep(tiny_ckpt, digits, stages=(s,), nodes=(v,), cascade=True)
    plain = _sweep(tiny_ckpt, digits, stages=(s,), nodes=(v,), cascade=False)
    rc, rp = casc.iloc[1], plain.iloc[1]
    assert rc["n_removed"] == len(closure) and rp["n_removed"] == 1
    top1, loss = _damaged_top1_loss(model, digits, {s: engine.stage_damage(model.stages[s].dag, nodes=closure)})
    assert rc["top1"] == pytest.approx(top1, abs=1e-9) and rc["loss"] == pytest.approx(loss, abs=1e-9)
    # without cascade the orphan still runs on zeros (BN shift), which is a different network
    assert rc["loss"] != rp["loss"]


def test_recalibrate_bn_matches_hand_recalibration_and_changes_no_weights(tiny_ckpt_path, tiny_ckpt, digits):
    """The intact+recalibrated control equals BN statistics re-estimated by hand; the model is untouched."""
    from wiring_lab.data import batches

    k = 3
    before = {n: t.clone() for n, t in tiny_ckpt.model.state_dict().items()}
    fast = _sweep(tiny_ckpt, digits, remove="node", stages=(2,), recalibrate_bn=k, batch_size=64, seed=4)
    slow = _sweep(tiny_ckpt, digits, remove="node", stages=(2,), recalibrate_bn=k, batch_size=64, seed=4, naive=True)
    assert fast["top1"].tolist() == slow["top1"].tolist() and fast["loss"].tolist() == slow["loss"].tolist()
    after = tiny_ckpt.model.state_dict()
    assert all(torch.equal(before[n], after[n]) for n in before)

    intact = fast[fast["kind"] == "intact"].set_index("recalibrate_bn")
    assert list(intact.index) == [0, k]
    hand = copy.deepcopy(tiny_ckpt.model)
    bns = [m for part in (hand.stages, hand.head) for m in part.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for b in bns:
        b.reset_running_stats()
        b.momentum = None
        b.train()
    with torch.no_grad():
        for i, (x, _) in enumerate(batches(digits.train, 64, shuffle_seed=4)):
            if i == k:
                break
            hand(x)
    hand.eval()
    res = evaluate(hand, digits.test, "cpu", limit=LIMIT)
    assert intact.loc[k, "top1"] == pytest.approx(res.top1, abs=1e-9)
    assert intact.loc[k, "loss"] == pytest.approx(res.loss, abs=1e-9)
    # recalibrated variants are compared with the recalibrated control
    nodes = fast[fast["kind"] == "node"]
    assert (nodes["recalibrate_bn"] == k).all()
    assert ((nodes["top1"] - intact.loc[k, "top1"] - nodes["delta_top1"]).abs() < 1e-9).all()


def _hooked_top1_loss(model, digits, replace, limit=LIMIT):
    """Accuracy and loss of a copy of the network whose node modules' outputs are replaced by forward hooks.

    ``replace``: {(stage, node): f(output) -> tensor}. The network runs its own ``forward``, so this
    is independent of the damage engine: a replaced node's successors and the output node (which
    keeps dividing by every output-fed node) read whatever the hook returns.
    """
    m = copy.deepcopy(model)
    for (s, v), f in replace.items():
        m.stages[s].nodes[v].register_forward_hook(lambda mod, inp, out, f=f: f(out))
    res = evaluate(m, digits.test, "cpu", limit=limit)
    return res.top1, res.loss


def _hook_means(model, images):
    """Mean output of every node over ``images`` (forward hooks; float64 sums), {(stage, node): (1, C, H, W)}."""
    sums: dict = {}
    hooks = []
    for s, st in enumerate(model.stages):
        for v, node in enumerate(st.nodes):
            def grab(mod, inp, out, key=(s, v)):
                sums[key] = sums.get(key, 0) + out.double().sum(0, keepdim=True)
            hooks.append(node.register_forward_hook(grab))
    n = 0
    with torch.no_grad():
        for x in images:
            model(x)
            n += x.shape[0]
    for h in hooks:
        h.remove()
    return {k: (t / n).float() for k, t in sums.items()}


@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_node_ablation_equals_the_hooked_network(tiny_ckpt, digits, ablation):
    """zero / mean node removal equals the network whose node output is replaced by zeros / its mean (forward hook)."""
    from wiring_lab.damage import reference_images

    model = tiny_ckpt.model
    s = 1
    dag = model.stages[s].dag
    df = _sweep(tiny_ckpt, digits, stages=(s,), ablation=ablation, mean_images=64, seed=5)
    means = _hook_means(model, reference_images(digits, 64, 256, 5, torch.device("cpu"))[0]) if ablation == "mean" else None
    checked = 0
    for v in range(dag.n):
        fill = (lambda out: torch.zeros_like(out)) if ablation == "zero" else (lambda out, m=means[(s, v)]: m.expand_as(out))
        top1, loss = _hooked_top1_loss(model, digits, {(s, v): fill})
        row = df[(df["kind"] == "node") & (df["node"] == v)].iloc[0]
        assert row["top1"] == pytest.approx(top1, abs=1e-9), v
        assert row["loss"] == pytest.approx(loss, rel=1e-5), v
        checked += 1
    assert checked == dag.n
    # zero differs from drop exactly where the removed node is output-fed (the denominator is kept)
    drop = _sweep(tiny_ckpt, digits, stages=(s,))
    for v in range(dag.n):
        a = df[(df["kind"] == "node") & (df["node"] == v)]["loss"].item()
        b = drop[(drop["kind"] == "node") & (drop["node"] == v)]["loss"].item()
        if ablation == "zero" and v not in dag.output_fed:
            assert a == pytest.approx(b, rel=1e-6)
        if v in dag.output_fed and len(dag.output_fed) > 1:
            assert a != b


@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_edge_ablation_equals_the_hooked_network(tiny_ckpt, digits, ablation):
    """Edge u->w under zero / mean: only w's read of u is replaced (hook on w's input), nothing else."""
    from wiring_lab.damage import reference_images

    model = tiny_ckpt.model
    s = 2
    dag = model.stages[s].dag
    w = next(t for t in range(dag.n) if len(dag.preds[t]) > 1)
    pos = 0
    u = dag.preds[w][pos]
    df = _sweep(tiny_ckpt, digits, remove="edge", stages=(s,), nodes=(w,), ablation=ablation, mean_images=64, seed=5)
    row = df[(df["source"] == u) & (df["target"] == w)].iloc[0]
    if ablation == "mean":
        fill = _hook_means(model, reference_images(digits, 64, 256, 5, torch.device("cpu"))[0])[(s, u)]
    hooked = copy.deepcopy(model)

    def pre(mod, args):
        (inputs,) = args
        inputs = list(inputs)
        inputs[pos] = torch.zeros_like(inputs[pos]) if ablation == "zero" else fill.expand_as(inputs[pos])
        return (inputs,)

    hooked.stages[s].nodes[w].register_forward_pre_hook(pre)
    res = evaluate(hooked, digits.test, "cpu", limit=LIMIT)
    assert row["top1"] == pytest.approx(res.top1, abs=1e-9) and row["loss"] == pytest.approx(res.loss, rel=1e-5)


def test_zero_on_the_only_output_fed_node_gives_a_zero_stage_output(digits):
    """In a chain stage the last node alone feeds the output node: zero (and drop) removal of it outputs zeros, mean its mean."""
    from wiring_lab.model import build_model
    from wiring_lab.train import model_config_for

    torch.manual_seed(0)
    model = build_model(model_config_for(digits, channels=8, nodes=4, head_channels=16, generator="chain", seed=0)).eval()
    st = model.stages[1]
    last = st.dag.n - 1
    assert st.dag.output_fed == (last,) or list(st.dag.output_fed) == [last]
    x = digits.test.tensors[0][:16]
    cpu = torch.device("cpu")
    with torch.no_grad():
        cache = engine.run_intact(model, x)
        means = engine.mean_activations(model, [digits.train.tensors[0][:32]])
        for ablation in ("zero", "drop", "mean"):
            d = engine.stage_damage(st.dag, nodes=[last], ablation=ablation)
            edits = engine.stage_edits(st, d, cpu, means[1])
            for cached in (cache.outs[1], None):  # engine and naive
                y = engine.run_damaged_stage(st, cache.inputs[1], d, edits, cached)
                assert y.shape == cache.outs[1][last].shape
                if ablation == "mean":
                    assert torch.equal(y, means[1].nodes[last].expand_as(y))
                else:
                    assert torch.count_nonzero(y) == 0
        assert torch.count_nonzero(cache.outs[1][last]) > 0  # the intact stage output is not zero


def test_mean_ablation_uses_the_seeded_reference_set(tiny_ckpt, digits):
    """Same seed: same reference images and the same numbers; another seed: other images, other numbers."""
    from wiring_lab.damage import reference_images

    cpu = torch.device("cpu")
    xa, ia = reference_images(digits, 50, 16, 3, cpu)
    xb, ib = reference_images(digits, 50, 16, 3, cpu)
    _, ic = reference_images(digits, 50, 16, 4, cpu)
    assert ia == ib != ic and len(ia) == len(set(ia)) == 50 and ia == sorted(ia)
    assert torch.equal(torch.cat(xa), digits.train.tensors[0][ia])
    # the engine's means are the hooked network's means over those images
    means = engine.mean_activations(tiny_ckpt.model, xa)
    hooked = _hook_means(tiny_ckpt.model, xa)
    for (s, v), m in hooked.items():
        assert torch.allclose(means[s].nodes[v], m, atol=1e-6)
    kw = dict(stages=(2,), ablation="mean", mean_images=50)
    a = _sweep(tiny_ckpt, digits, seed=3, **kw)
    b = _sweep(tiny_ckpt, digits, seed=3, **kw)
    c = _sweep(tiny_ckpt, digits, seed=4, **kw)
    assert a["loss"].tolist() == b["loss"].tolist()
    assert a["loss"].tolist()[1:] != c["loss"].tolist()[1:]
    # the means are taken over training images, not the test images evaluated
    assert len(digits.train) > 50


def test_cli_ablation_flags_produce_columns_and_sidecar(tiny_ckpt_path, tmp_path):
    """--ablation / --cascade / --mean-images reach every row and the sidecar; a bad name is one line, exit 2."""
    out = tmp_path / "d.csv"
    args = ["damage", str(tiny_ckpt_path), "--out", str(out), "--limit", "40", "--sample", "4", "--no-progress"]
    res = CliRunner().invoke(app, [*args, "--ablation", "mean", "--cascade", "--mean-images", "30"])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert (df["ablation"] == "mean").all() and df["cascade"].all()
    side = json.loads((tmp_path / "d.csv.json").read_text())
    assert side["ablation"] == "mean" and side["cascade"] is True and side["mean_reference_images"] == 30
    assert side["config"]["mean_images"] == 30
    res = CliRunner().invoke(app, [*args, "--ablation", "half"])
    assert res.exit_code == 2 and "ablation must be one of drop, zero, mean" in res.output
    att = tmp_path / "a.csv"
    res = CliRunner().invoke(app, ["attack", str(tiny_ckpt_path), "--out", str(att), "--fractions", "0,0.5", "--repeats", "1",
                                   "--limit", "30", "--no-progress", "--ablation", "zero", "--cascade"])  # fmt: skip
    assert res.exit_code == 0, res.output
    a = pd.read_csv(att)
    assert (a["ablation"] == "zero").all() and a["cascade"].all()
    side = json.loads((tmp_path / "a.csv.json").read_text())
    assert side["ablation"] == "zero" and side["cascade"] is True


def test_attack_ablations_equal_naive(tiny_ckpt, digits):
    """Attack curves: the cached engine equals naive re-evaluation under zero and mean with cascade."""
    for ablation in ("zero", "mean"):
        cfg = dict(fractions=(0.25, 0.5), repeats=1, limit=60, seed=2, cascade=True, ablation=ablation, mean_images=40)
        fast = attack_curve(tiny_ckpt, AttackConfig(**cfg), data=digits, device="cpu", progress=False)
        slow = attack_curve(tiny_ckpt, AttackConfig(naive=True, **cfg), data=digits, device="cpu", progress=False)
        assert fast["top1"].tolist() == slow["top1"].tolist() and fast["loss"].tolist() == slow["loss"].tolist()


def test_cli_writes_table_and_sidecar(tiny_ckpt_path, tmp_path):
    """`wiring-lab damage` writes the tidy table, a JSON sidecar with the config, and prints the drops."""
    out = tmp_path / "damage.csv"
    res = CliRunner().invoke(
        app, ["damage", str(tiny_ckpt_path), "--remove", "node", "--out", str(out), "--limit", "60", "--sample", "5", "--seed", "2", "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    assert "largest drops" in res.output
    df = pd.read_csv(out)
    assert len(df) == 6 and list(df.columns[: len(DAMAGE_COLUMNS)]) == DAMAGE_COLUMNS
    assert (df["model"] == "tiny_ws").all() and (df["seed"] == 2).all()
    side = json.loads((tmp_path / "damage.csv.json").read_text())
    assert side["config"]["sample"] == 5 and side["dataset"] == "digits" and side["intact"][0]["kind"] == "intact"
    assert not (tmp_path / "damage.csv.partial.jsonl").exists()


def test_parquet_output(tiny_ckpt, digits, tmp_path):
    """An --out ending in .parquet writes Parquet."""
    pytest.importorskip("pyarrow", exc_type=ImportError)
    out = tmp_path / "d.parquet"
    damage_sweep(tiny_ckpt, DamageConfig(sample=3, limit=30), data=digits, device="cpu", out=out, progress=False)
    assert len(pd.read_parquet(out)) == 4


@pytest.mark.parametrize(
    "args, message",
    [
        (["--stage", "7"], "unknown stage 7"),
        (["--node", "99"], "node id 99 is out of range"),
        (["--remove", "vertex"], "remove must be one of"),
        (["--sample", "0"], "sample must be an integer"),
    ],
)
def test_bad_arguments_give_one_line_errors(tiny_ckpt_path, tmp_path, args, message):
    """Unknown stage, node id out of range, bad options: exit code 2 and one `error:` line."""
    res = CliRunner().invoke(app, ["damage", str(tiny_ckpt_path), "--out", str(tmp_path / "d.csv"), *args])
    assert res.exit_code == 2
    assert message in res.output and len(res.output.strip().splitlines()) == 1


def test_checkpoint_without_graphs_is_refused(tiny_ckpt_path, tmp_path):
    """A checkpoint saved without its stage graphs gives a one-line error naming the file."""
    obj = torch.load(tiny_ckpt_path, weights_only=True)
    obj.pop("graphs")
    bare = tmp_path / "bare.pt"
    torch.save(obj, bare)
    res = CliRunner().invoke(app, ["damage", str(bare), "--out", str(tmp_path / "d.csv")])
    assert res.exit_code == 2 and "no stage graphs" in res.output and str(bare) in res.output


def test_resume_after_kill(tiny_ckpt_path, tmp_path):
    """A run killed with SIGKILL and restarted with the same arguments ends with one row per variant."""
    out = tmp_path / "d.csv"
    partial = tmp_path / "d.csv.partial.jsonl"
    cmd = [sys.executable, "-m", "wiring_lab", "damage", str(tiny_ckpt_path), "--remove", "both", "--out", str(out),
           "--limit", "60", "--chunk", "2", "--naive", "--no-progress", "--device", "cpu", "--bootstrap", "50"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if partial.exists() and partial.read_text().count("\n") >= 4:  # header + three rows
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    done = partial.read_text().count("\n") - 1
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    df = pd.read_csv(out)
    assert not df.duplicated(subset=["kind", "stage", "node", "source", "target"]).any()
    assert (df["kind"] == "intact").sum() == 1
    side = json.loads((tmp_path / "d.csv.json").read_text())
    assert side["resumed_rows"] >= done >= 3 and len(df) == side["variants"] + 1
    assert not partial.exists()
    # a restart with other arguments over a stale partial file is refused
    partial.write_text(json.dumps({"checkpoint": "x"}) + "\n")
    res = CliRunner().invoke(app, ["damage", str(tiny_ckpt_path), "--out", str(out), "--limit", "10"])
    assert res.exit_code == 2 and "unfinished run with other arguments" in res.output


def test_attack_curve(tiny_ckpt, digits):
    """Attack tolerance: fraction 0 is the intact network; counts round; orders are repeated and seeded."""
    n_total = sum(st.dag.n for st in tiny_ckpt.model.stages)
    rnd = attack_curve(tiny_ckpt, AttackConfig(fractions=(0, 0.25, 0.5), repeats=2, limit=LIMIT, seed=3), data=digits, device="cpu", progress=False)
    assert len(rnd) == 6 and sorted(rnd["repeat"].unique()) == [0, 1]
    assert rnd["removed"].tolist() == [0, round(0.25 * n_total), round(0.5 * n_total)] * 2
    intact = evaluate(tiny_ckpt.model, digits.test, "cpu", limit=LIMIT)
    assert rnd[rnd["fraction"] == 0]["top1"].tolist() == pytest.approx([intact.top1] * 2)
    assert rnd[rnd["fraction"] == 0.5]["top1"].mean() < intact.top1
    deg = attack_curve(tiny_ckpt, AttackConfig(order="degree", fractions=(0.5,), limit=LIMIT), data=digits, device="cpu", progress=False)
    assert deg["order"].tolist() == ["degree"] and deg["repeat"].tolist() == [0]


def test_attack_cli(tiny_ckpt_path, tmp_path):
    """`wiring-lab attack` writes the attack table and prints mean and std per fraction."""
    out = tmp_path / "attack.csv"
    res = CliRunner().invoke(
        app, ["attack", str(tiny_ckpt_path), "--out", str(out), "--fractions", "0,0.5", "--repeats", "2", "--limit", "40", "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    assert "top1_std" in res.output
    df = pd.read_csv(out)
    assert list(df.columns) == ["model", "generator", "setting", "order", "repeat", "fraction", "removed", "top1", "top5", "loss", "seed", "ablation", "cascade"]


def test_sample_is_seeded(tiny_ckpt):
    """--sample K --seed S picks the same K variants every time, a different set for another seed."""
    a = enumerate_variants(tiny_ckpt, DamageConfig(remove="both", sample=7, seed=1))
    b = enumerate_variants(tiny_ckpt, DamageConfig(remove="both", sample=7, seed=1))
    c = enumerate_variants(tiny_ckpt, DamageConfig(remove="both", sample=7, seed=2))
    assert [v.key for v in a] == [v.key for v in b] != [v.key for v in c] and len(a) == 7


def test_docstring_examples():
    """The module's docstring example runs."""
    import doctest

    import wiring_lab.damage

    result = doctest.testmod(wiring_lab.damage)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.gpu
def test_engine_equals_naive_on_cuda(tiny_ckpt, digits):
    """On CUDA the engine agrees with naive re-evaluation (top-1 exactly, loss to float precision)."""
    fast = damage_sweep(tiny_ckpt, DamageConfig(remove="both", limit=LIMIT), data=digits, device="cuda", progress=False)
    slow = damage_sweep(tiny_ckpt, DamageConfig(remove="both", limit=LIMIT, naive=True), data=digits, device="cuda", progress=False)
    assert fast["top1"].tolist() == slow["top1"].tolist()
    assert (fast["loss"] - slow["loss"]).abs().max() < 1e-5


def test_old_degree_column_names_still_load(tmp_path):
    """A table written with the old degree names reads back under the *_graph / *_dag names; old metric names still select."""
    from wiring_lab._io import read_table
    from wiring_lab.columns import LEGACY_COLUMNS
    from wiring_lab.graphs import generate_graph
    from wiring_lab.metrics import node_metrics
    from wiring_lab.damage_plots import plot_damage

    old = pd.DataFrame({"model": ["m"] * 3, "generator": ["ws"] * 3, "kind": ["intact", "node", "edge"], "stage": [0, 0, 0],
                        "node": [None, 1, None], "in_degree": [None, 0, None], "out_degree": [None, 2, None],
                        "in_degree_io": [None, 1, None], "out_degree_io": [None, 2, None], "target_in_degree": [None, None, 3],
                        "delta_top1": [0.0, -1.0, -0.5]})  # fmt: skip
    path = tmp_path / "damage.csv"
    old.to_csv(path, index=False)
    new = read_table(path)
    assert {"in_degree_graph", "out_degree_graph", "in_degree_dag", "out_degree_dag", "target_in_degree_dag"} <= set(new.columns)
    assert not set(LEGACY_COLUMNS) & set(new.columns)
    assert new.loc[1, "out_degree_dag"] == 2 and new.loc[2, "target_in_degree_dag"] == 3
    # a table holding both spellings keeps the new column and leaves the old one alone
    both = pd.DataFrame({"degree": [1], "degree_graph": [2]})
    assert list(read_table_from(both, tmp_path).columns) == ["degree", "degree_graph"]
    spec = generate_graph("ws", 8, seed=1, k=4, p=0.5)
    a = node_metrics(spec, backend="networkx", metrics=["degree", "out_degree"])
    b = node_metrics(spec, backend="networkx", metrics=["degree_graph", "out_degree_graph"])
    assert list(a.columns) == ["node", "degree_graph", "out_degree_graph"] and a.equals(b)
    fig = plot_damage(old)  # old in-memory tables draw as well
    assert fig.axes[0].get_xlabel() == "out-degree of removed node (graph)"  # the degree the slopes use
    import doctest

    import wiring_lab.columns

    res = doctest.testmod(wiring_lab.columns)
    assert res.attempted > 0 and res.failed == 0


def read_table_from(df, tmp_path):
    """``df`` written to CSV and read back with the project's table reader."""
    from wiring_lab._io import read_table

    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    return read_table(path)
