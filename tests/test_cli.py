"""The command line: outputs, exit codes and one-line errors, through CliRunner and the console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wiring_lab.cli import app
from wiring_lab.graphs import generate_graph, load_graph

runner = CliRunner()


def _err_line(result) -> str:
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_generate_writes_the_paper_graph_and_a_drawing(tmp_path):
    out, png = tmp_path / "g.json", tmp_path / "g.png"
    r = runner.invoke(app, ["generate", "--generator", "ws", "--k", "4", "--p", "0.75", "--nodes", "32", "--seed", "0", "--out", str(out), "--draw", str(png)])
    assert r.exit_code == 0, r.output
    assert load_graph(out) == generate_graph("ws", 32, seed=0, k=4, p=0.75)
    assert png.stat().st_size > 5000


@pytest.mark.parametrize(
    "args,match",
    [
        (["--generator", "ws", "--k", "3"], "even k"),
        (["--generator", "ws", "--k", "40"], "2 <= k < n"),
        (["--generator", "ba", "--m", "32"], "1 <= m < n"),
        (["--generator", "er", "--p", "2"], "--p must be a finite number in [0, 1]"),
        (["--generator", "er", "--nodes", "1"], "at least 2"),
        (["--generator", "nope"], "unknown generator"),
    ],
)
def test_generate_bad_parameters_exit_2_with_one_line(args, match, tmp_path):
    r = runner.invoke(app, ["generate", *args, "--out", str(tmp_path / "g.json")])
    assert r.exit_code == 2
    assert match in _err_line(r)
    assert not (tmp_path / "g.json").exists()


def test_inspect_builds_without_training_and_prints_json():
    r = runner.invoke(app, ["inspect", "--regime", "small", "--channels", "78", "--nodes", "32", "--generator", "ws", "--seed", "3", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert isinstance(d["params"], int) and isinstance(d["macs"], int)
    assert 5.3e6 < d["params"] < 5.9e6 and 5.5e8 < d["macs"] < 6.2e8
    assert len(d["stages"]) == 3 and all(s["n"] == 32 and s["edge_list"] for s in d["stages"])


def test_inspect_checkpoint_summary(tiny_ckpt_path):
    r = runner.invoke(app, ["inspect", str(tiny_ckpt_path)])
    assert r.exit_code == 0, r.output
    assert "WS(k=4, p=0.75)" in r.output and "test top-1" in r.output and "history" in r.output


def test_inspect_bad_checkpoint_exit_2(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80\x02not really")
    r = runner.invoke(app, ["inspect", str(bad)])
    assert r.exit_code == 2 and "bad.pt" in _err_line(r)
    r = runner.invoke(app, ["inspect", str(tmp_path / "missing.pt")])
    assert r.exit_code == 2 and "no such checkpoint" in _err_line(r)


def test_train_and_resume_through_the_cli(tmp_path):
    out = tmp_path / "n.pt"
    args = ["train", "--generator", "ba", "--m", "2", "--nodes", "5", "--channels", "4", "--head-channels", "16", "--epochs", "1", "--device", "cpu", "--out", str(out)]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "epoch   1" in r.output and out.exists()
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "--resume" in _err_line(r)
    r = runner.invoke(app, [*args, "--resume"])
    assert r.exit_code == 0


def test_train_missing_dataset_is_one_line(tmp_path):
    r = runner.invoke(app, ["train", "--dataset", "mnist", "--data-root", str(tmp_path / "none"), "--out", str(tmp_path / "x.pt")])
    assert r.exit_code == 2 and "expected IDX files" in _err_line(r)


def test_console_script(tmp_path):
    script = Path(sys.executable).parent / "wiring-lab"
    if not script.exists():
        script = shutil.which("wiring-lab")
    if not script:
        pytest.skip("console script not installed")
    out = tmp_path / "g.json"
    ok = subprocess.run([str(script), "generate", "-g", "er", "--seed", "1", "--out", str(out)], capture_output=True, text=True)
    assert ok.returncode == 0 and out.exists()
    bad = subprocess.run([str(script), "generate", "-g", "ws", "--k", "5"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error:") and "Traceback" not in bad.stderr


# --- a newcomer's day (issue 25) ---------------------------------------------------------------
def test_damage_without_out_writes_beside_the_checkpoint_and_never_over_a_finished_table(tiny_ckpt_path, tmp_path):
    ckpt = tmp_path / "net.pt"
    ckpt.write_bytes(tiny_ckpt_path.read_bytes())
    args = ["damage", str(ckpt), "--limit", "20", "--sample", "2", "--stage", "0", "--bootstrap", "10", "--no-progress"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    table = tmp_path / "net.damage-node.csv"
    assert f"writing {table}" in first.output and table.exists() and (tmp_path / "net.damage-node.csv.json").exists()
    before = table.read_bytes()
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert f"writing {tmp_path / 'net.damage-node-2.csv'}" in second.output and table.read_bytes() == before
    edge = runner.invoke(app, [*args[:2], "--remove", "edge", *args[2:]])
    assert edge.exit_code == 0 and (tmp_path / "net.damage-edge.csv").exists()


@pytest.mark.parametrize(
    "args,match",
    [
        (["damage", "missing.pt"], "missing.pt: no such checkpoint file"),
        (["damage", "CKPT", "--remove", "nodes"], "remove must be one of node, edge, both"),
        (["attack", "CKPT", "--ablation", "half"], "ablation must be one of drop, zero, mean"),
        (["train", "--out", "x.pt", "-g", "ws-flex", "--k", "-1"], "WS-flex needs 0 < k"),
        (["train", "--out", "x.pt", "--epochs", "-1"], "--epochs must be an integer"),
        (["metrics", "missing.pt"], "missing.pt: no such checkpoint or graph file"),
    ],
)
def test_input_errors_answer_before_torch_is_imported(args, match, tmp_path, tiny_ckpt_path):
    args = [str(tiny_ckpt_path) if a == "CKPT" else str(tmp_path / a) if a.endswith(".pt") else a for a in args]
    code = (
        "import sys\nfrom wiring_lab.cli import main\nsys.argv = ['wiring-lab', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    print('torch' in sys.modules, e.code)\n"
    )
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert res.stdout.split() == ["False", "2"], res.stdout + res.stderr
    assert res.stderr.startswith("error: ") and match in res.stderr and res.stderr.count("\n") == 1


def test_help_shows_plain_metavars_and_distinct_format_options():
    from click.testing import CliRunner as ClickRunner

    from wiring_lab.cli import command

    plain = ClickRunner()
    for args in ([], ["damage"], ["inspect"], ["train"], ["figures"], ["convert"], ["metrics"]):
        out = plain.invoke(command(), [*args, "--help"], terminal_width=200, env={'COLUMNS': '200'}).output
        for noise in ("<bool>", "<list[Path]>", "<str>", "<int>", "<float>", "<path>", "{checkpoint}", "{foreign}"):
            assert noise not in out, (args, noise)
    damage_help = plain.invoke(command(), ["damage", "--help"], terminal_width=200, env={'COLUMNS': '200'}).output
    assert "--layout" in damage_help and "--format" not in damage_help and "CHECKPOINT" in damage_help
    figures_help = plain.invoke(command(), ["figures", "--help"], terminal_width=200, env={'COLUMNS': '200'}).output
    assert "--image-format" in figures_help and "--format" not in figures_help
    assert "ws-flex" in plain.invoke(command(), ["generate", "--help"], terminal_width=200, env={'COLUMNS': '200'}).output


def test_the_old_format_spelling_still_works_hidden(tmp_path, tiny_ckpt_path):
    new = runner.invoke(app, ["inspect", str(tiny_ckpt_path), "--layout", "native", "--json"])
    old = runner.invoke(app, ["inspect", str(tiny_ckpt_path), "--format", "native", "--json"])
    assert new.exit_code == old.exit_code == 0 and new.output == old.output
