"""Foreign checkpoints: build each layout's state dict and graph files from the format description,
import them, and compare logits with an independent forward written here from that layout's rules."""

from __future__ import annotations

import argparse
import random
import re

import networkx as nx
import pytest
import torch
import torch.nn.functional as F
import yaml
from typer.testing import CliRunner

from wiring_lab._io import UserError
from wiring_lab.cli import app
from wiring_lab.importers import convert_checkpoint, detect_format, load_foreign
from wiring_lab.loading import load_checkpoint

ATOL = 1e-4


# --- foreign tensors and reference ops ---------------------------------------------------------
def _put_bn(sd, prefix, c, g):
    sd[f"{prefix}.weight"] = torch.rand(c, generator=g) + 0.5
    sd[f"{prefix}.bias"] = torch.randn(c, generator=g) * 0.1
    sd[f"{prefix}.running_mean"] = torch.randn(c, generator=g) * 0.1
    sd[f"{prefix}.running_var"] = torch.rand(c, generator=g) + 0.5
    sd[f"{prefix}.num_batches_tracked"] = torch.tensor(7)


def _put_conv(sd, prefix, cout, cin, k, bias, g):
    sd[f"{prefix}.weight"] = torch.randn(cout, cin, k, k, generator=g) * (2.0 / (cin * k * k)) ** 0.5
    if bias:
        sd[f"{prefix}.bias"] = torch.randn(cout, generator=g) * 0.1


def _bn(x, sd, p):
    return F.batch_norm(x, sd[f"{p}.running_mean"], sd[f"{p}.running_var"], sd[f"{p}.weight"], sd[f"{p}.bias"], False, 0.0, 1e-5)


def _conv(x, sd, p, stride=1, pad=1, groups=1):
    return F.conv2d(x, sd[f"{p}.weight"], sd.get(f"{p}.bias"), stride, pad, 1, groups)


def _sep(x, sd, dw, pw, stride):
    return _conv(_conv(x, sd, dw, stride, 1, groups=x.shape[1]), sd, pw, 1, 0)


def _ws(n, seed):
    """A connected WS graph as the projects make them (networkx)."""
    return nx.connected_watts_strogatz_graph(n, 2, 0.6, tries=200, seed=seed)


def _lower(g, v):
    return sorted(u for u in g.neighbors(v) if u < v)


def _higher(g, v):
    return [u for u in g.neighbors(v) if u > v]


def _write_yaml(g, path):
    """What ``nx.write_yaml`` wrote: a yaml.dump of the graph object."""
    list(g.nodes), g.adj  # the cached views appear in real dumps too
    path.write_text(yaml.dump(g))


# --- seungwonpark ------------------------------------------------------------------------------
def _seungwonpark(tmp_path, c=4, classes=5, head=8):
    gen = torch.Generator().manual_seed(0)
    rng = random.Random(0)
    sd, stages, names = {}, [], []
    _put_conv(sd, "conv1", c // 2, 3, 3, True, gen)
    _put_bn(sd, "bn1", c // 2, gen)
    _put_conv(sd, "conv2", c, c // 2, 3, True, gen)
    _put_bn(sd, "bn2", c, gen)
    cin = c
    for s, (mult, n) in enumerate(zip((1, 2, 4), (5, 6, 5))):
        g = _ws(n, seed=s + 3)
        edges = sorted((min(e), max(e)) for e in g.edges)
        rng.shuffle(edges)  # hand-written files need not be sorted; weights follow file order
        name = f"ws-2-06-{s}.txt"
        (tmp_path / name).write_text(f"{n}\n{len(edges)}\n" + "".join(f"{u} {v}\n" for u, v in edges))
        names.append(name)
        preds = [[] for _ in range(n)]
        for u, v in edges:
            preds[v].append(u)
        cout = c * mult
        for v in range(n):
            p = f"dagly{s + 3}.nodes.{v}"
            if len(preds[v]) > 1:
                sd[f"{p}.agg_weight"] = torch.randn(len(preds[v]), generator=gen)
            ci = cin if not preds[v] else cout
            _put_conv(sd, f"{p}.conv.conv1", ci, 1, 3, False, gen)
            _put_conv(sd, f"{p}.conv.pointwise", cout, ci, 1, False, gen)
            _put_bn(sd, f"{p}.bn", cout, gen)
        stages.append((f"dagly{s + 3}", n, edges, preds))
        cin = cout
    assert any(len(q) > 1 and q != sorted(q) for *_, pr in stages for q in pr)  # weights need reordering
    _put_conv(sd, "convlast", head, 4 * c, 1, True, gen)
    _put_bn(sd, "bnlast", head, gen)
    sd["fc.weight"] = torch.randn(classes, head, generator=gen) * 0.3
    sd["fc.bias"] = torch.randn(classes, generator=gen) * 0.1
    hp_str = "data:\n  batch_size: 2\n---\nmodel:\n  channel: %d\n  classes: %d\n  input_maps: 3\n" % (c, classes)
    hp_str += "".join(f"  graph{i}: '{nm}'\n" for i, nm in enumerate(names)) + "---\nlog:\n  chkpt_dir: 'chkpt'\n"
    path = tmp_path / "chkpt_003.pt"
    optim = {"state": {}, "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0, 1]}]}
    torch.save({"model": sd, "optimizer": optim, "lr_scheduler": {"last_epoch": 3}, "step": 40, "epoch": 3, "hp_str": hp_str}, path)

    def reference(x):
        y = _bn(_conv(x, sd, "conv1", 2), sd, "bn1")
        y = _bn(_conv(F.relu(y), sd, "conv2", 2), sd, "bn2")
        for p, n, edges, preds in stages:
            out = [None] * n
            for v in range(n):  # ids are topological (edges low -> high)
                if not preds[v]:
                    agg = y
                elif len(preds[v]) == 1:
                    agg = out[preds[v][0]]
                else:  # torch.matmul over the stacked inputs, in file order
                    agg = torch.matmul(torch.stack([out[u] for u in preds[v]], -1), torch.sigmoid(sd[f"{p}.nodes.{v}.agg_weight"]))
                h = _sep(F.relu(agg), sd, f"{p}.nodes.{v}.conv.conv1", f"{p}.nodes.{v}.conv.pointwise", 1 if preds[v] else 2)
                out[v] = _bn(h, sd, f"{p}.nodes.{v}.bn")
            sinks = [v for v in range(n) if not any(u == v for u, _ in edges)]
            y = torch.mean(torch.stack([out[v] for v in sinks]), 0)
        y = _bn(_conv(F.relu(y), sd, "convlast", 1, 0), sd, "bnlast")
        y = F.adaptive_avg_pool2d(y, 1).flatten(1)
        return F.log_softmax(F.linear(y, sd["fc.weight"], sd["fc.bias"]), 1)

    return path, reference


def test_seungwonpark_logits_match(tmp_path):
    path, reference = _seungwonpark(tmp_path)
    assert detect_format(path) == "seungwonpark"
    ckpt = load_foreign(path)  # graphs named in hp_str, found beside the checkpoint
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(ckpt.model(x), reference(x), atol=ATOL, rtol=1e-4)
    assert ckpt.graphs[0].generator == "ws" and ckpt.graphs[0].params == {"k": 2, "p": 0.6}
    assert ckpt.metadata["imported_from"]["epoch"] == 3


def test_seungwonpark_graphs_option_and_errors(tmp_path):
    path, _ = _seungwonpark(tmp_path)
    other = tmp_path / "elsewhere"
    other.mkdir()
    for f in tmp_path.glob("ws-*.txt"):
        f.rename(other / f.name)
    with pytest.raises(UserError, match="not found.*--graphs"):
        load_foreign(path, "seungwonpark")
    assert load_foreign(path, "seungwonpark", graphs=other).model is not None
    bad = other / "ws-2-06-1.txt"
    bad.write_text("6\n2\n0 1\n1 x\n")
    with pytest.raises(UserError, match=r"line 4: expected two integer node ids"):
        load_foreign(path, "seungwonpark", graphs=other)
    bad.write_text("6\n3\n0 1\n")
    with pytest.raises(UserError, match="header says 3 edges"):
        load_foreign(path, "seungwonpark", graphs=other)
    bad.write_text("4\n1\n0 1\n")  # a graph that does not belong to the checkpoint
    with pytest.raises(UserError) as err:
        load_foreign(path, "seungwonpark", graphs=other)
    assert "\n" not in str(err.value) and "the graph has 4 nodes, the checkpoint" in str(err.value)


# --- JiaminRen family --------------------------------------------------------------------------
def _jiamin_family(tmp_path, layout, regime, c=4, classes=6, head=8, size=224):
    """JiaminRen (``depthwise``/``pointwise``) or hebo1221 (long names, ``classifier.<i>``) layouts."""
    hebo = layout == "hebo1221"
    dw, pw = ("depthwise_separable_conv_3x3", "pointwise_conv_1x1") if hebo else ("depthwise", "pointwise")
    c1, b1 = ("conv1.0", "conv1.1") if hebo else ("conv1", "bn1")
    gen = torch.Generator().manual_seed(2)
    sd, stages = {}, []
    _put_conv(sd, f"{c1}.{dw}", 3, 1, 3, True, gen)
    _put_conv(sd, f"{c1}.{pw}", c // 2, 3, 1, True, gen)
    _put_bn(sd, b1, c // 2, gen)
    if regime == "small":
        _put_conv(sd, f"conv2.conv.{dw}", c // 2, 1, 3, True, gen)
        _put_conv(sd, f"conv2.conv.{pw}", c, c // 2, 1, True, gen)
        _put_bn(sd, "conv2.bn", c, gen)
        plan, cin = [("conv3", 5, c), ("conv4", 6, 2 * c), ("conv5", 5, 4 * c)], c
    else:
        plan, cin = [("conv2", 4, c), ("conv3", 5, 2 * c), ("conv4", 6, 4 * c), ("conv5", 5, 8 * c)], c // 2
    graph_dir = tmp_path / ("graph" if hebo else "model_dir")
    graph_dir.mkdir()
    for i, (name, n, cout) in enumerate(plan):
        g = _ws(n, seed=10 + i)
        _write_yaml(g, graph_dir / f"{name}.yaml")
        for v in range(n):
            p, ins = f"{name}.nodeop.{v}", _lower(g, v)
            if len(ins) > 1:
                sd[f"{p}.mean_weight"] = torch.randn(len(ins), generator=gen)
            ci = cin if not ins else cout
            _put_conv(sd, f"{p}.conv.conv.{dw}", ci, 1, 3, True, gen)
            _put_conv(sd, f"{p}.conv.conv.{pw}", cout, ci, 1, True, gen)
            _put_bn(sd, f"{p}.conv.bn", cout, gen)
        stages.append((name, g))
        cin = cout
    hc, hb = ("classifier.1", "classifier.2") if hebo and regime == "small" else ("classifier.2", "classifier.3") if hebo else ("conv", "bn2")
    _put_conv(sd, hc, head, cin, 1, True, gen)
    _put_bn(sd, hb, head, gen)
    sd["fc.weight"] = torch.randn(classes, head, generator=gen) * 0.3
    sd["fc.bias"] = torch.randn(classes, generator=gen) * 0.1
    if hebo:  # raw state dict saved from nn.DataParallel
        path = tmp_path / "model" / "ImageNet_003_01.cpt"
        path.parent.mkdir()
        torch.save({f"module.{k}": v for k, v in sd.items()}, path)
    else:
        path = graph_dir / "model-best.pth"
        torch.save({"epoch": 9, "model": "config_small", "state_dict": sd, "best_prec1": 12.5}, path)

    def triplet(x, p, stride):
        return _bn(_sep(F.relu(x), sd, f"{p}.conv.{dw}", f"{p}.conv.{pw}", stride), sd, f"{p}.bn")

    def reference(x):
        y = _bn(_sep(x, sd, f"{c1}.{dw}", f"{c1}.{pw}", 2), sd, b1)
        if regime == "small":
            y = triplet(y, "conv2", 1 if hebo else 2)
        for name, g in stages:
            res = {}
            for v in range(g.number_of_nodes()):
                ins = _lower(g, v)
                if not ins:
                    res[v] = triplet(y, f"{name}.nodeop.{v}.conv", 2)
                    continue
                if hebo or len(ins) == 1:  # hebo1221's released forward keeps only the first input
                    agg = res[ins[0]]
                else:
                    w = torch.sigmoid(sd[f"{name}.nodeop.{v}.mean_weight"])
                    agg = sum(w[i] * res[u] for i, u in enumerate(ins))
                res[v] = triplet(agg, f"{name}.nodeop.{v}.conv", 1)
            outs = [v for v in range(g.number_of_nodes()) if not _higher(g, v)]
            y = sum(res[v] for v in outs) / len(outs)
        y = F.relu(_bn(_conv(F.relu(y), sd, hc, 1, 0), sd, hb))
        y = F.avg_pool2d(y, size // 32 if regime == "regular" or not hebo else size // 16, stride=1).flatten(1)
        return F.linear(y, sd["fc.weight"], sd["fc.bias"])

    return path, reference


@pytest.mark.parametrize("layout,regime,size", [("jiaminren", "regular", 224), ("jiaminren", "small", 224), ("hebo1221", "small", 112)])
def test_jiaminren_family_logits_match(tmp_path, layout, regime, size):
    path, reference = _jiamin_family(tmp_path, layout, regime, size=size)
    assert detect_format(path) == layout
    ckpt = load_foreign(path, "auto")
    assert ckpt.config.regime == regime and len(ckpt.graphs) == (4 if regime == "regular" else 3)
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(ckpt.model(x), reference(x), atol=ATOL, rtol=1e-4)


def test_networkx_yaml_is_parsed_without_running_anything(tmp_path):
    from wiring_lab.importers._common import read_networkx_yaml

    # the layout networkx 2.x wrote (python/name factories, a NodeView), by hand
    text = (
        "!!python/object:networkx.classes.graph.Graph\n_adj:\n  0:\n    1: &id001 {}\n    2: &id002 {}\n"
        "  1:\n    0: *id001\n  2:\n    0: *id002\n_node: &id003\n  0: {}\n  1: {}\n  2: {}\n"
        "adjlist_inner_dict_factory: &id004 !!python/name:builtins.dict ''\nedge_attr_dict_factory: *id004\n"
        "graph: {}\nnodes: !!python/object:networkx.classes.reportviews.NodeView\n  _nodes: *id003\n"
    )
    (tmp_path / "g.yaml").write_text(text)
    spec = read_networkx_yaml(tmp_path / "g.yaml")
    assert (spec.n, spec.edges) == (3, ((0, 1), (0, 2)))
    marker = tmp_path / "ran"
    evil = f"!!python/object/apply:os.system ['touch {marker}']\n"
    (tmp_path / "evil.yaml").write_text(evil)
    with pytest.raises(UserError, match="not a networkx graph dump"):
        read_networkx_yaml(tmp_path / "evil.yaml")
    assert not marker.exists()
    (tmp_path / "bad.yaml").write_text("_adj: {0: {1: {}}\n")
    with pytest.raises(UserError, match="not a YAML graph file"):
        read_networkx_yaml(tmp_path / "bad.yaml")


# --- leaderj1001 -------------------------------------------------------------------------------
LEADERJ = {  # mode: key prefix, stem [(conv, cin, cout, relu after)], stages [(stage, nodes, cin, cout)]
    "CIFAR10": ("CIFAR", lambda c, i=3: [("conv1", i, c, True), ("conv2", c, c, False)], lambda c: [(3, 5, c, 2 * c), (4, 6, 2 * c, 4 * c)]),
    "REGULAR": ("REGULAR", lambda c, i=3: [("conv1", i, c // 2, False)], lambda c: [(2, 3, c // 2, c), (3, 5, c, 2 * c), (4, 5, 2 * c, 4 * c), (5, 4, 4 * c, 8 * c)]),
}


def _leaderj(tmp_path, mode, c=4, classes=10, head=8, in_ch=3):
    prefix, stem, plan = LEADERJ[mode]
    gen = torch.Generator().manual_seed(4)
    sd, stages = {}, []
    for name, ci, co, _ in stem(c, in_ch):
        _put_conv(sd, f"{prefix}_{name}.0", co, ci, 3, True, gen)
        _put_bn(sd, f"{prefix}_{name}.1", co, gen)
    (tmp_path / "saved_graph").mkdir()
    (tmp_path / "checkpoint").mkdir()
    for i, (s, n, ci, co) in enumerate(plan(c)):
        g = nx.erdos_renyi_graph(n, 0.4, seed=20 + i)  # may hold isolated nodes: both input- and output-fed
        _write_yaml(g, tmp_path / "saved_graph" / f"{mode}_conv{s}")
        base = f"{prefix}_conv{s}.0.module_list"
        in_edges = {0: []}
        for v in range(n):
            in_edges[v + 1] = [u + 1 for u in _lower(g, v)] or [0]
        in_edges[n + 1] = [v + 1 for v in range(n) if not _higher(g, v)]
        for j in range(n + 2):  # input node, N graph nodes, the built-but-unused output node
            if len(in_edges[j]) > 1:
                sd[f"{base}.{j}.weights"] = torch.randn(len(in_edges[j]), generator=gen)
            cin = ci if j == 0 else co
            _put_conv(sd, f"{base}.{j}.unit.unit.1.conv", cin, 1, 3, True, gen)  # Node.unit is a Unit; Unit.unit the Sequential
            _put_conv(sd, f"{base}.{j}.unit.unit.1.pointwise", co, cin, 1, True, gen)
            _put_bn(sd, f"{base}.{j}.unit.unit.2", co, gen)
        stages.append((base, n, in_edges))
    _put_conv(sd, f"{prefix}_classifier.0", head, plan(c)[-1][3], 1, True, gen)
    _put_bn(sd, f"{prefix}_classifier.1", head, gen)
    sd["output.1.weight"] = torch.randn(classes, head, generator=gen) * 0.3
    sd["output.1.bias"] = torch.randn(classes, generator=gen) * 0.1
    path = tmp_path / "checkpoint" / "c_4_p_0.75_graph_mode_WS_dataset_CIFAR10ckpt.t7"
    torch.save({"model": sd, "acc": 91.5, "epoch": 12}, path)

    def unit(x, p, stride):
        return _bn(_sep(F.relu(x), sd, f"{p}.unit.unit.1.conv", f"{p}.unit.unit.1.pointwise", stride), sd, f"{p}.unit.unit.2")

    def reference(x):
        y = x
        for name, _, _, relu in stem(c):
            y = _bn(_conv(y, sd, f"{prefix}_{name}.0"), sd, f"{prefix}_{name}.1")
            y = F.relu(y) if relu else y
        for base, n, in_edges in stages:
            memory = {0: unit(y, f"{base}.0", 2)}
            for j in range(1, n + 1):
                ins = in_edges[j]
                if len(ins) > 1:
                    w = torch.sigmoid(sd[f"{base}.{j}.weights"])
                    agg = sum(memory[u] * w[i] for i, u in enumerate(ins))
                else:
                    agg = memory[ins[0]]
                memory[j] = unit(agg, f"{base}.{j}", 1)
            ends = in_edges[n + 1]
            y = sum(memory[j] for j in ends) / len(ends)
        y = _bn(_conv(y, sd, f"{prefix}_classifier.0", 1, 0), sd, f"{prefix}_classifier.1")
        y = F.avg_pool2d(y, kernel_size=list(y.shape[2:])).flatten(1)
        return F.linear(y, sd["output.1.weight"], sd["output.1.bias"])

    return path, reference


@pytest.mark.parametrize("mode", ["CIFAR10", "REGULAR"])
def test_leaderj1001_logits_match(tmp_path, mode):
    path, reference = _leaderj(tmp_path, mode)
    assert detect_format(path) == "leaderj1001"
    ckpt = load_foreign(path)  # graphs found in ../saved_graph
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        torch.testing.assert_close(ckpt.model(x), reference(x), atol=ATOL, rtol=1e-4)
    assert len(ckpt.graphs) == len(LEADERJ[mode][2](4))


def test_input_node_conv_drives_node_by_node(tmp_path):
    """The damage engine's interface (stem, node_inputs, aggregate, transform, combine, classify) reproduces forward."""
    path, _ = _leaderj(tmp_path, "CIFAR10")
    model = load_foreign(path).model
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        h = model.stem(x)
        for stage in model.stages:
            outs = [None] * stage.graph.n
            for v in range(stage.graph.n):
                node = stage.nodes[v]
                outs[v] = node.transform(node.aggregate(stage.node_inputs(v, h, outs)))
            h = stage.combine(outs)
        torch.testing.assert_close(model.classify(h), model(x), atol=1e-5, rtol=1e-5)


# --- refusals and malformed files --------------------------------------------------------------
def test_pickled_graphs_are_refused_with_export_advice(tmp_path):
    path = tmp_path / "ckpt_test3.pth"
    g = nx.DiGraph([(0, 1), (1, 2)])
    torch.save({"model": {"conv1.weight": torch.zeros(1)}, "graphs": [g], "epoch": 3}, path)
    assert detect_format(path) == "ironjr"
    for fmt in ("auto", "ironjr"):
        with pytest.raises(UserError) as err:
            load_foreign(path, fmt)
        msg = str(err.value)
        assert "\n" not in msg and "pickled" in msg and "networkx" in msg and "export_pickled" in msg


def test_pickled_objects_are_refused(tmp_path):
    path, _ = _seungwonpark(tmp_path)
    obj = torch.load(path, weights_only=True)
    obj["args"] = argparse.Namespace(lr=0.1)
    torch.save(obj, path)
    with pytest.raises(UserError, match=r"refused: .*argparse\.Namespace"):
        load_foreign(path, "seungwonpark")


def test_malformed_foreign_files_give_one_line_errors(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    unknown = tmp_path / "unknown.pt"
    torch.save({"weights": {"a.weight": torch.zeros(2)}}, unknown)
    for call, pattern in [
        (lambda: load_foreign(junk), "junk.pt"),
        (lambda: load_foreign(unknown), "not a checkpoint layout wiring-lab knows"),
        (lambda: load_foreign(unknown, "nosuch"), "unknown checkpoint format 'nosuch'"),
        (lambda: load_foreign(unknown, "leaderj1001"), "no state dict found"),
        (lambda: load_foreign(tmp_path / "missing.pt"), "no such checkpoint file"),
    ]:
        with pytest.raises(UserError, match=pattern) as err:
            call()
        assert "\n" not in str(err.value)


@pytest.mark.parametrize("module", ["wiring_lab.importers", "wiring_lab.export"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


# --- native round trip, CLI, export ------------------------------------------------------------
def test_convert_round_trips_through_native_checkpoint(tmp_path):
    path, reference = _leaderj(tmp_path, "CIFAR10")
    out = convert_checkpoint(path, tmp_path / "native.pt")
    native = load_checkpoint(out)
    assert native.config.layout.origin == "leaderj1001" and native.config.layout.input_node_conv
    assert native.metadata["imported_from"]["acc"] == 91.5
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        torch.testing.assert_close(native.model(x), reference(x), atol=ATOL, rtol=1e-4)
    assert load_checkpoint(out, format="auto").config == native.config


def test_native_checkpoints_unchanged(tmp_path):
    from wiring_lab.checkpoint import save_checkpoint
    from wiring_lab.model import ModelConfig, build_model

    model = build_model(ModelConfig(regime="digits", channels=4, nodes=5, num_classes=3, in_channels=1, head_channels=8))
    path = save_checkpoint(tmp_path / "native.pt", model.eval(), {"dataset": "digits"})
    cfg = load_checkpoint(path).config
    assert cfg.layout.origin == "native" and not cfg.layout.stem and not cfg.layout.stages and not hasattr(model, "fc_dropout")
    assert not any(hasattr(s, "input_node") for s in model.stages)
    assert detect_format(path) == "native"
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        torch.testing.assert_close(load_checkpoint(path, format="auto").model(x), model(x))


def test_cli_convert_inspect_export(tmp_path):
    path, _ = _seungwonpark(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["convert", str(path), "--out", str(tmp_path / "n.pt")])
    assert res.exit_code == 0, res.output
    assert "seungwonpark" in res.output
    res = runner.invoke(app, ["inspect", str(path), "--layout", "seungwonpark", "--json"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["inspect", str(path)])  # a foreign file without --format
    assert res.exit_code == 2 and "--layout" in res.output
    res = runner.invoke(app, ["convert", str(path), "--format", "jiaminren", "--out", str(tmp_path / "x.pt")])
    assert res.exit_code == 2 and res.output.startswith("error: ") and res.output.count("\n") == 1
    for kind in ("json", "graphml", "dot"):
        res = runner.invoke(app, ["export-graphs", str(tmp_path / "n.pt"), "--out", str(tmp_path / kind), "--as", kind])
        assert res.exit_code == 0, res.output
        assert len(list((tmp_path / kind).iterdir())) == 3


def test_export_formats_round_trip():
    from wiring_lab.export import graph_to_dot, graph_to_node_link
    from wiring_lab.graphs import generate_graph

    spec = generate_graph("ws", 10, seed=3, k=4, p=0.5)
    dag = spec.to_dag()
    back = nx.node_link_graph(graph_to_node_link(spec), edges="edges")
    assert set(back.edges) == set(dag.edges) and back.nodes[10]["role"] == "input" and back.graph["n"] == 10
    dot = graph_to_dot(spec)
    edges = {tuple(map(int, m)) for m in re.findall(r"^\s+(\d+) -> (\d+);$", dot, flags=re.M)}
    assert edges == set(dag.edges)


def test_export_graphml_readable(tmp_path):
    from wiring_lab.export import export_graph
    from wiring_lab.graphs import generate_graph

    spec = generate_graph("ba", 8, seed=1, m=2)
    g = nx.read_graphml(export_graph(spec, tmp_path / "g.graphml"), node_type=int)
    assert set(g.edges) == set(spec.to_dag().edges) and g.graph["generator"] == "ba"
    with pytest.raises(UserError, match="cannot tell the export format"):
        export_graph(spec, tmp_path / "g.txt")


def test_cli_native_checkpoint_with_graphs_option(tmp_path):
    from wiring_lab.checkpoint import checkpoint_dict
    from wiring_lab.graphs import save_graph
    from wiring_lab.model import ModelConfig, build_model

    model = build_model(ModelConfig(regime="digits", channels=4, nodes=5, num_classes=3, in_channels=1, head_channels=8))
    obj = checkpoint_dict(model, {})
    obj.pop("graphs")
    torch.save(obj, tmp_path / "bare.pt")
    for i, spec in enumerate(model.graphs):
        save_graph(spec, tmp_path / "g" / f"stage{i}.json")
    runner = CliRunner()
    res = runner.invoke(app, ["inspect", str(tmp_path / "bare.pt"), "--graphs", str(tmp_path / "g"), "--json"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["inspect", str(tmp_path / "bare.pt"), "--graphs", str(tmp_path / "g"), "--graphs", str(tmp_path)])
    assert res.exit_code == 2 and "one --graphs" in res.output


@pytest.mark.gpu
def test_imported_network_runs_on_cuda(tmp_path):
    path, reference = _leaderj(tmp_path, "CIFAR10")
    model = load_foreign(path, device="cuda").model
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        torch.testing.assert_close(model(x.cuda()).cpu(), reference(x), atol=1e-3, rtol=1e-3)


def test_damage_engine_on_an_imported_input_node_network(tmp_path, digits):
    """leaderj1001's extra input node: the cached damage engine agrees with naive re-evaluation; CLI --format."""
    from wiring_lab.damage import DamageConfig, damage_sweep

    path, _ = _leaderj(tmp_path, "CIFAR10", in_ch=1)
    ckpt = load_foreign(path)
    kw = dict(remove="both", stages=(0,), limit=32, bootstrap=20, dataset="digits")
    fast = damage_sweep(ckpt, DamageConfig(**kw, variant_batch=4), data=digits, device="cpu", progress=False)
    slow = damage_sweep(ckpt, DamageConfig(**kw, naive=True), data=digits, device="cpu", progress=False)
    st = ckpt.model.stages[0]
    assert len(fast) == 1 + st.dag.n + len(st.graph.to_dag().edges)
    assert fast["top1"].tolist() == slow["top1"].tolist()
    torch.testing.assert_close(torch.tensor(fast["loss"].tolist()), torch.tensor(slow["loss"].tolist()), atol=1e-5, rtol=1e-5)
    assert fast["loss"].nunique() > 1  # removals change the function
    out = tmp_path / "damage.csv"
    args = ["damage", str(path), "--format", "leaderj1001", "--dataset", "digits", "--limit", "20", "--stage", "0",
            "--bootstrap", "20", "--out", str(out), "--no-progress", "--device", "cpu"]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert out.is_file()
