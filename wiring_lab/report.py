"""A self-contained HTML report of a run directory: findings, figures inline, tables, configuration, timings.

The page fits a 1,400 px window: a wide table scrolls inside its own box, not the page. Columns
of raw lists (the stage graphs' edge lists) are not rendered: each table's heading links its
file, where they stay. Timings come last, after the figures and the tables.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from wiring_lab._io import atomic_write_text, read_table, to_jsonable
from wiring_lab.figures import RECIPES
from wiring_lab.rundir import TABLES, table_path
from wiring_lab.sensitivity import SENSITIVITY_COLUMNS, findings, format_sensitivity

MAX_ROWS = 40  # longer tables are summarised, the full table stays in RUN_DIR/tables
_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".pdf": "application/pdf"}

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #444; } .skipped { color: #8a6d3b; }
.table-wrap { max-width: 100%; overflow-x: auto; margin: .5em 0 1.5em; }
table { border-collapse: collapse; font-size: .85em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; } th { background: #f5f5f5; }
td:first-child, th:first-child { text-align: left; }
pre { background: #f7f7f7; padding: .8em; overflow-x: auto; font-size: .85em; }
code { overflow-wrap: anywhere; }
"""


def _esc(x: Any) -> str:
    """HTML-escape any value."""
    return html.escape(str(x))


def _html_table(df, caption: str = "") -> str:
    """A DataFrame as an HTML table (numbers with 4 significant digits) in a box that scrolls
    sideways when the table is wider than the page."""
    body = df.to_html(index=False, border=0, na_rep="", float_format=lambda v: f"{v:.4g}", escape=True)
    head, sep, rest = body.partition("</thead>")  # a long column name may break after its underscores
    body = re.sub(r"(<th[^>]*>)([^<]*)(</th>)", lambda m: m[1] + m[2].replace("_", "_<wbr>") + m[3], head) + sep + rest
    return (f"<p>{_esc(caption)}</p>\n" if caption else "") + f'<div class="table-wrap">\n{body}\n</div>'


def _is_raw_list(v: Any) -> bool:
    """A list, a dict or the JSON text of one (as a CSV holds it): data for a file, not a table cell."""
    if isinstance(v, (list, tuple, dict)):
        return True
    return isinstance(v, str) and len(v) > 40 and v.lstrip()[:1] in ("[", "{")


def raw_list_columns(df) -> list[str]:
    """The columns of ``df`` that hold raw lists (e.g. ``graphs``' ``graph``, each stage's JSON with
    its edge list): not shown in the report."""
    text = [c for c in df.columns if pd.api.types.is_object_dtype(df[c]) or pd.api.types.is_string_dtype(df[c])]
    return [c for c in text if df[c].map(_is_raw_list).any()]


def _embed(path: Path) -> str:
    """An <img> whose source is the file itself (base64), so the report needs no other file."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{_esc(path.stem)}" src="data:{_MIME.get(path.suffix.lower(), "image/png")};base64,{data}">'


def summarize_table(name: str, df):
    """The form of table ``name`` shown in the report: itself if short, else a per-group summary;
    columns of raw lists stay in the file (the caption names them)."""
    raw = raw_list_columns(df)
    if raw:
        shown, note = summarize_table(name, df.drop(columns=raw))
        return shown, f"{note}; column{'s' if len(raw) > 1 else ''} {', '.join(raw)} (raw lists) only in the file"
    if len(df) <= MAX_ROWS:
        return df, f"{len(df)} rows"
    if name == "damage" and {"model", "kind", "delta_top1"} <= set(df.columns):
        d = df[df["kind"] != "intact"]
        keys = ["model", "kind", *[c for c in ("ablation", "cascade") if c in d.columns and d[c].nunique() > 1]]
        s = d.groupby(keys)["delta_top1"].agg(variants="size", mean="mean", median="median", worst="min").reset_index()
        return s, f"{len(df)} rows; Δ top-1 (pp) per network and kind of removal"
    if name == "attack" and {"model", "order", "fraction", "top1"} <= set(df.columns):
        s = df.groupby(["model", "order", "fraction"])["top1"].mean().unstack("fraction").reset_index()
        s.columns = [c if isinstance(c, str) else f"{100 * c:.0f}% removed" for c in s.columns]
        return s, f"{len(df)} rows; mean top-1 (%) per network, order and fraction of nodes removed"
    if name == "history" and {"model", "epoch"} <= set(df.columns):
        s = df.sort_values("epoch").groupby("model").tail(1)
        return s, f"{len(df)} rows; last epoch of each network"
    if name == "population_metrics" and {"generator", "setting"} <= set(df.columns):
        cols = [c for c in ("avg_clustering", "avg_path_length", "depth", "n_io_paths") if c in df.columns]
        s = df.groupby(["generator", "setting", "p"], dropna=False)[cols].mean().reset_index()
        s = s.sort_values(["generator", "p"]) if len(s) <= MAX_ROWS else s.head(MAX_ROWS)
        return s, f"{len(df)} rows; means over the sampled graphs of each setting"
    if name == "correlations" and {"method", "r"} <= set(df.columns):
        s = df[df["method"] == "spearman"].assign(abs_r=lambda d: d["r"].abs()).sort_values("abs_r", ascending=False)
        return s.drop(columns="abs_r").head(MAX_ROWS), f"{len(df)} rows; Spearman rows, strongest first"
    if name == "node_metrics":
        num = df.select_dtypes("number").drop(columns=[c for c in ("stage", "node") if c in df.columns])
        s = num.describe().T.reset_index().rename(columns={"index": "metric"})
        return s, f"{len(df)} rows; distribution of each node metric"
    return df.head(MAX_ROWS), f"{len(df)} rows; first {MAX_ROWS} shown"


def write_report(
    run_dir: str | Path,
    path: str | Path | None = None,
    config: dict[str, Any] | None = None,
    timings: Sequence[dict[str, Any]] = (),
    outcomes: Sequence[Any] = (),
    title: str = "wiring-lab report",
) -> Path:
    """Write ``RUN_DIR/report.html`` (or ``path``): findings, figures inline, tables (each linking
    its file), configuration, timings."""
    run_dir = Path(run_dir)
    path = Path(path) if path is not None else run_dir / "report.html"
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_esc(title)}</title>",
             f"<style>{_CSS}</style></head><body>", f"<h1>{_esc(title)}</h1>",
             f"<p>Run directory <code>{_esc(run_dir.resolve())}</code>. Every number below comes from the tables in "
             "<code>tables/</code>; figures are also in <code>figures/</code>.</p>"]
    sens = table_path(run_dir, "sensitivity")
    table = read_table(sens) if sens.is_file() else None
    if table is not None and not set(SENSITIVITY_COLUMNS) <= set(table.columns):  # written by an earlier version
        parts += ["<h2>Findings</h2>", f"<p>{_esc(sens.name)} was written by an earlier version of wiring-lab, before the "
                  "statistics were at the network level; <code>wiring-lab reanalyse RUN_DIR</code> recomputes it from the tables.</p>"]
    elif table is not None:  # the report opens with its findings
        parts += ["<h2>Findings</h2>", "<p>Does RandWire's Fig. 5 trend (more out-degree, more accuracy lost when the node is "
                  "removed) hold, per generator, and does the answer move with the ablation semantics? The network is the "
                  "independent unit: each network's slope of the loss on the removed node's out-degree (stage as a factor) and "
                  "its Spearman rank correlation, averaged over the generator's networks with 95% t intervals on n - 1 degrees "
                  "of freedom and t tests over networks (Holm-adjusted over the table); beside them a mixed model with a random "
                  "intercept and slope per network; mean loss with a t interval over networks. The default ablation is drop: it is the "
                  "literal reading of the paper's \"remove one node\" (the node leaves the graph) and what earlier tables "
                  "computed; zero and mean are the controls, and cascade also removes the nodes a removal leaves without input.</p>",
                  "<ul>" + "".join(f"<li>{_esc(line)}</li>" for line in findings(table)) + "</ul>",
                  _html_table(format_sensitivity(table), "sensitivity of the node-damage findings to the ablation choice")]
    made = [o for o in outcomes if o.status == "made"]
    skipped = [o for o in outcomes if o.status != "made"]
    parts.append("<h2>Figures</h2>")
    for o in made:
        r = RECIPES.get(o.name)
        cap = f"<b>{_esc(r.title)}</b> ({_esc(r.paper)}). {_esc(r.axes[:1].upper() + r.axes[1:])}." if r else _esc(o.name)
        parts.append(f"<figure id=\"{_esc(o.name)}\">{_embed(Path(o.path))}<figcaption>{cap}</figcaption></figure>")
    if skipped:
        parts.append("<p>Not made from this run's data:</p><ul>")
        parts += [f"<li class=\"skipped\"><b>{_esc(o.name)}</b>: {_esc(o.reason)}</li>" for o in skipped]
        parts.append("</ul>")
    parts.append("<h2>Tables</h2>")
    for name, (rel, command) in TABLES.items():
        p = table_path(run_dir, name)
        if not p.is_file():
            continue
        shown, note = summarize_table(name, read_table(p))
        href = Path(os.path.relpath(p.resolve(), path.resolve().parent)).as_posix()  # the file, beside the report
        parts += [f"<h3><a href=\"{_esc(href)}\"><code>{_esc(rel)}</code></a></h3>",
                  f"<p><small>made by <code>{_esc(command)}</code></small></p>", _html_table(shown, note)]
    if config is not None:
        parts += ["<h2>Configuration</h2>", f"<pre>{_esc(json.dumps(to_jsonable(config), indent=2, sort_keys=True))}</pre>"]
    if timings:  # last: how long each step took is for whoever re-runs it, not the findings
        t = pd.DataFrame(list(timings))
        t = t[[c for c in ("step", "status", "seconds", "detail") if c in t] + [c for c in t if c not in ("step", "status", "seconds", "detail")]]
        steps = t[t["step"] != "total"] if "step" in t else t  # a "total" row is the wall time already
        total = float(t.loc[t["step"] == "total", "seconds"].iloc[0]) if "step" in t and (t["step"] == "total").any() \
            else float(steps["seconds"].sum()) if "seconds" in t else 0.0
        parts += ["<h2>Timings</h2>", _html_table(t, f"total {total:.1f} s")]
    parts.append("</body></html>\n")
    atomic_write_text(path, "\n".join(parts))
    path.chmod(0o644)  # a report is for sharing (the temporary file was private)
    return path
