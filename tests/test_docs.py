"""The documentation: every Python example on the README and the docs pages runs, and the site builds strictly."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md") if "_ext" not in p.parts)]
FENCE = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def _importable(module: str) -> bool:
    """Whether ``module`` can be imported here (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def python_blocks(path: Path) -> list[str]:
    """The ```python blocks of a Markdown file, in order."""
    return FENCE.findall(path.read_text(encoding="utf-8"))


def test_pages_have_examples():
    """Every topic page carries at least one runnable Python example (the brief of the docs site)."""
    topics = ["graphs", "networks", "data", "training", "damage", "metrics", "figures", "studies",
              "importers", "search", "robustness", "performance"]
    assert [t for t in topics if not python_blocks(ROOT / "docs" / f"{t}.md")] == []


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(ROOT / p)])
def test_page_examples_run(page, tmp_path, monkeypatch):
    """A page's blocks run in order in one namespace, in a temporary directory (the repository's
    files such as ablations/ are reachable there), so what a reader copies works."""
    for name in ("ablations", "figures"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for i, block in enumerate(python_blocks(ROOT / page)):
        exec(compile(block, f"{page}[block {i}]", "exec"), namespace)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The documentation site, built once with `mkdocs build --strict` (skipped without the docs extra)."""
    missing = [m for m in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python") if not _importable(m)]
    if missing:
        pytest.skip(f"the docs extra is not installed ({', '.join(missing)}): pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("docs") / "site"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"}
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return out


def test_site_builds_strict(site):
    """`mkdocs build --strict`: a broken link, a missing page or an unresolved API reference fails."""
    built = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    for page in ("graphs", "damage", "metrics", "api", "results/index"):
        assert f"{page}.html" in built
    api = (site / "api.html").read_text()
    assert "generate_graph" in api and "damage_sweep" in api  # mkdocstrings rendered the docstrings
    # Every internal link names a file (use_directory_urls: false): a link to a folder shows a
    # directory listing when the site is opened from files, as the README says to open it.
    folders = sorted({h for p in site.rglob("*.html") for h in re.findall(r'href="([^"#:?]*/)"', p.read_text())})
    assert folders == []


def test_site_browses_from_files(site, chromium):
    """The README's way in: open site/index.html from files, click "Damage" in the navigation,
    and the damage page is shown (not a directory listing)."""
    from selenium.webdriver.common.by import By

    chromium.get((site / "index.html").as_uri())
    assert chromium.title.startswith("wiring-lab")
    links = [a for a in chromium.find_elements(By.CSS_SELECTOR, "nav a") if a.text.strip() == "Damage"]
    assert links, "no Damage link in the navigation"
    chromium.execute_script("arguments[0].click()", links[0])  # the link itself, even where a collapsed menu hides it
    assert chromium.current_url == (site / "damage.html").as_uri()
    assert chromium.execute_script("return document.readyState") == "complete"
    assert "Index of" not in chromium.title and not chromium.find_elements(By.CSS_SELECTOR, "#parentDirLinkBox, table#table")
    h1 = chromium.find_element(By.TAG_NAME, "h1").text
    assert h1.startswith("Damage"), h1
    assert "--ablation" in chromium.find_element(By.TAG_NAME, "article").text  # the page's own text, styled by its theme
    assert chromium.execute_script(
        "return Array.from(document.styleSheets).some(s => s.href && s.href.includes('assets/stylesheets'))")
