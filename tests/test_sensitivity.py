"""The sensitivity of the damage findings to the ablation choice, the study file's damage sweeps
and seeded data subsets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from wiring_lab.cli import app
from wiring_lab.sensitivity import findings, format_sensitivity, sensitivity_table


def planted(slopes: dict[tuple[str, bool], dict[str, float]], nets: int = 10, seed: int = 0) -> pd.DataFrame:
    """Node-damage rows: delta = slope[choice][generator] * out-degree + network effect + noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for (ablation, cascade), by_gen in slopes.items():
        for gen, slope in by_gen.items():
            for i in range(nets):
                effect = rng.normal(0, 1.0)
                for stage in range(3):
                    for node in range(12):
                        out = int(rng.integers(1, 6))
                        rows.append({"model": f"{gen}{i}", "generator": gen, "setting": gen.upper(), "stage": stage, "node": node,
                                     "kind": "node", "ablation": ablation, "cascade": cascade, "out_degree_graph": out,
                                     "delta_top1": slope * out + effect + rng.normal(0, 0.5)})
    return pd.DataFrame(rows)


def test_planted_slopes_and_trends():
    df = planted({("drop", False): {"er": -2.0, "ws": 0.0}, ("zero", False): {"er": -2.0, "ws": 1.5}})
    t = sensitivity_table(df).set_index(["ablation", "generator"])
    assert len(t) == 4 and (t["n_networks"] == 10).all() and (t["n_rows"] == 360).all()
    er = t.loc[("drop", "er")]
    assert er["slope_lo"] < -2.0 < er["slope_hi"] and er["trend"] == "holds"
    assert t.loc[("drop", "ws"), "trend"] == "not shown" and t.loc[("zero", "ws"), "trend"] == "reversed"
    # the mean loss: the mean of the per-network means, with a t interval over the 10 networks
    per_net = df[(df["ablation"] == "drop") & (df["generator"] == "er")].groupby("model")["delta_top1"].mean()
    assert er["mean_delta"] == pytest.approx(per_net.mean())
    from scipy import stats

    half = stats.t.ppf(0.975, 9) * per_net.std(ddof=1) / np.sqrt(10)
    assert er["mean_hi"] - er["mean_lo"] == pytest.approx(2 * half)
    text = findings(sensitivity_table(df))
    assert text[0].startswith("ER (10 networks, 360 node removals): damage grows with out-degree under drop")
    assert "The answer is the same under the other choice." in text[0]
    assert "It changes under zero: reversed" in text[1]
    shown = format_sensitivity(sensitivity_table(df))
    assert list(shown["choice"]) == ["drop", "drop", "zero", "zero"] and shown["Fig. 5 trend"].iloc[0] == "holds"


def test_findings_read_the_same_from_the_written_table(tmp_path):
    """The report reads the sensitivity table back from CSV, where an empty note or method is NaN:
    the sentences must be those of the table in memory (no "Caution: nan")."""
    from wiring_lab._io import read_table, write_table

    table = sensitivity_table(planted({("drop", False): {"er": -2.0}}, nets=16))
    assert (table["note"] == "").all()  # 16 networks: nothing to caution about
    said = findings(read_table(write_table(table, tmp_path / "sensitivity.csv")))
    assert said == findings(table) and "nan" not in said[0]


def test_legacy_names_and_missing_choice_columns():
    df = planted({("drop", False): {"er": -1.0}}).drop(columns=["ablation", "cascade"]).rename(columns={"out_degree_graph": "out_degree"})
    t = sensitivity_table(df)
    assert list(t["ablation"]) == ["drop"] and not t["cascade"].iloc[0] and t["trend"].iloc[0] == "holds"


def test_damage_sweeps_in_a_study(tmp_path):
    from wiring_lab.damage import DamageConfig, damage_sweep_configs

    configs = damage_sweep_configs({"bootstrap": 10, "sweeps": [{"remove": "node", "ablation": "zero", "cascade": True}, {"remove": "edge", "sample": 5}]})
    assert configs == [DamageConfig(remove="node", ablation="zero", cascade=True, bootstrap=10), DamageConfig(remove="edge", sample=5, bootstrap=10)]
    assert damage_sweep_configs({"remove": "node", "stages": [0, 1]}) == [DamageConfig(remove="node", stages=(0, 1))]
    with pytest.raises(ValueError, match="same sweep twice"):
        damage_sweep_configs({"sweeps": [{"remove": "node"}, {"remove": "node"}]})
    with pytest.raises(ValueError, match="ablation"):
        damage_sweep_configs({"sweeps": [{"ablation": "shuffle"}]})
    study = tmp_path / "s.yaml"
    study.write_text("name: s\nnetworks:\n  - generator: ws\n    k: 2\n    p: 0.5\ndamage:\n  sweeps:\n    - {remove: node, ablation: nope}\n"
                     "scales:\n  demo:\n    dataset: digits\n    channels: 4\n    nodes: 6\n    epochs: 1\n")
    res = CliRunner().invoke(app, ["ablate", str(study), "--dry-run"])
    assert res.exit_code == 2 and f"{study}:6: damage (scale demo)" in res.output and len(res.output.strip().splitlines()) == 1


def test_seeded_subsets_of_each_split(tmp_path):
    from wiring_lab import tasks

    first = tasks.task_data("digits", None, None, {"train": 50, "test": 20})
    seeded = tasks.task_data("digits", None, None, {"train": 50, "test": 20, "seed": 3})
    again = tasks.task_data("digits", None, None, {"train": 50, "test": 20, "seed": 3})
    full = tasks.task_data("digits", None, None, None)
    assert (len(first.train), len(first.test), len(seeded.train), len(seeded.test)) == (50, 20, 50, 20)
    assert np.array_equal(seeded.train.tensors[0], again.train.tensors[0])  # same seed, same images
    assert not np.array_equal(seeded.train.tensors[0], first.train.tensors[0])  # not the first 50
    assert len(full.test) > 20 and len(tasks.task_data("digits", None, None, {"test": 30}).train) == len(full.train)
    for bad, message in (("{train: 0}", "train must be a positive integer"), ("{tests: 5}", "unknown key 'tests'"), ("{seed: -1}", "seed must be a non-negative")):
        study = tmp_path / "s.yaml"
        study.write_text(f"name: s\nnetworks:\n  - generator: ws\n    k: 2\n    p: 0.5\nscales:\n  demo:\n    dataset: digits\n    limit: {bad}\n")
        res = CliRunner().invoke(app, ["ablate", str(study), "--dry-run"])
        assert res.exit_code == 2 and message in res.output and f"{study}:" in res.output, res.output


def test_fashion_mnist_study_file_runs_at_its_demo_scale(tmp_path):
    """The real-data study's file, end to end on digits: six node sweeps and the edge sample per
    network, the sensitivity table, and a report that opens with its findings."""
    res = CliRunner().invoke(app, ["ablate", "ablations/fashion_mnist_damage.yaml", "--scale", "demo", "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    damage = pd.read_csv(tmp_path / "run" / "tables" / "damage.csv")
    nodes = damage[damage["kind"] == "node"]
    assert set(zip(nodes["ablation"], nodes["cascade"])) == {(a, c) for a in ("drop", "zero", "mean") for c in (False, True)}
    assert set(damage.loc[damage["kind"] == "edge", "ablation"]) == {"drop"}
    sens = pd.read_csv(tmp_path / "run" / "tables" / "sensitivity.csv")
    assert len(sens) == 6 * 3 and (sens["n_networks"] == 2).all()
    html = (tmp_path / "run" / "report.html").read_text()
    assert html.index("<h2>Findings</h2>") < html.index("<h2>Figures</h2>") and "error_edf" in html  # skipped, with its reason


def test_study_tables_appear_all_or_none(tmp_path, monkeypatch):
    """A failure while collecting (here: the sensitivity table) leaves no table of the run written."""
    import wiring_lab.study as S
    from wiring_lab.study import load_study, run_study

    def boom(*args, **kwargs):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(S, "sensitivity_table", boom)
    with pytest.raises(RuntimeError, match="disk gone"):
        run_study(load_study("ablations/fashion_mnist_damage.yaml"), "demo", tmp_path / "run", progress=False)
    assert list((tmp_path / "run" / "results" / "train").glob("*.json"))  # the tasks' results stay: a re-run resumes
    assert not list((tmp_path / "run").glob("tables/*.csv"))  # models.csv was staged, not written
