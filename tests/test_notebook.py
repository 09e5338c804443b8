"""examples/quickstart.ipynb runs from top to bottom, and is committed without outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


def test_notebook_committed_without_outputs():
    """Outputs are stripped in the repository (diffs stay readable, no stale figures)."""
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert dirty == [], (f"cells {dirty} of {NOTEBOOK.name} hold outputs; strip them with: python -c \"import nbformat as n; "
                         f"nb = n.read('{NOTEBOOK.relative_to(NOTEBOOK.parents[1])}', 4); "
                         "[c.update(outputs=[], execution_count=None) for c in nb.cells if c.cell_type == 'code']; "
                         f"n.write(nb, '{NOTEBOOK.relative_to(NOTEBOOK.parents[1])}')\"")


def test_notebook_runs(tmp_path, monkeypatch):
    """Executed by nbclient on a kernel of this very interpreter (a kernelspec written into tmp_path,
    found through JUPYTER_PATH: no installed kernel and no network needed), in a scratch folder; it
    writes only into a temporary folder of its own and shows no NaN interval."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / "wiring-lab-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "wiring-lab tests", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    work, scratch = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # the kernel's tempfile.mkdtemp() lands here
    examples = sorted(p.name for p in NOTEBOOK.parent.iterdir())
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="wiring-lab-test", timeout=600,
                                     resources={"metadata": {"path": str(work)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # graphs, damage (Fig. 5), metric vs damage, drawn inline
    # Nothing written beside the notebook (nor into the kernel's working folder): into a temporary folder.
    assert list(work.iterdir()) == [] and sorted(p.name for p in NOTEBOOK.parent.iterdir()) == examples
    (made,) = scratch.glob("wiring-lab-quickstart-*")  # the notebook's one folder (the kernel may leave others)
    assert made.name.startswith("wiring-lab-quickstart-") and (made / "quickstart_ws.pt").is_file() and (made / "damage.csv").is_file()
    assert len(list(made.glob("*.pt"))) == 8
    tables = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("n_networks" in t and "n_negative" in t for t in tables)  # the correlation table, over 8 networks
    shown = [o.get("text", "") + "".join(o.get("data", {}).get(k, "") for k in ("text/html", "text/plain")) for o in outputs]
    assert not [t for t in shown if "NaN" in t or "nan" in t.split()]  # every interval shown is a number
