"""The demo's report.html opened in a real browser: headless Chromium driven by Selenium.

The report is what people share, so it is checked the way they see it: every figure decodes
(non-zero natural size), the browser logs no console error, every table of the run is there
with its header and a link to its file, no raw edge list, the page no wider than a
1,400 px window, timings last, and a screenshot is saved into the test's folder. Debian's ``chromium`` and
``chromium-driver`` are used as installed (nothing is downloaded); without them the test is
skipped with the reason (the ``chromium`` fixture is in conftest.py).
"""

from __future__ import annotations

from wiring_lab._io import read_table
from wiring_lab.report import raw_list_columns, summarize_table
from wiring_lab.rundir import TABLES, table_path


def test_report_in_browser(tiny_demo, chromium, tmp_path):
    run_dir, result, _ = tiny_demo
    report = run_dir / "report.html"
    chromium.get(report.resolve().as_uri())
    assert chromium.execute_script("return document.readyState") == "complete"
    assert chromium.title and chromium.title == chromium.execute_script("return document.querySelector('h1').textContent")

    # Every figure decoded: an <img> that failed to load has naturalWidth 0.
    images = chromium.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])")
    made = sorted(o.path.stem for o in result["figures"] if o.status == "made")
    assert sorted(alt for alt, *_ in images) == made
    assert [i for i in images if not (i[1] and i[2] > 0 and i[3] > 0)] == []

    # Every table of the run, under its heading, with the columns the report meant to show.
    tables = chromium.execute_script("""
        return Array.from(document.querySelectorAll('h3')).map(h => {
            let t = h.nextElementSibling;
            while (t && t.tagName !== 'H3' && !(t.tagName === 'TABLE' || t.querySelector('table'))) t = t.nextElementSibling;
            t = t && t.tagName !== 'H3' ? (t.tagName === 'TABLE' ? t : t.querySelector('table')) : null;
            return [h.textContent.trim(), t ? Array.from(t.querySelectorAll('thead th')).map(th => th.textContent.trim()) : null,
                    t ? t.querySelectorAll('tbody tr').length : 0];
        });""")
    shown = {name: (header, rows) for name, header, rows in tables}
    expected = {rel: summarize_table(name, read_table(table_path(run_dir, name)))[0]
                for name, (rel, _) in TABLES.items() if table_path(run_dir, name).is_file()}
    assert set(shown) == set(expected) and len(expected) >= 6
    for rel, df in expected.items():
        header, rows = shown[rel]
        assert header == [str(c) for c in df.columns], rel
        assert rows == len(df) > 0, rel
    sections = chromium.execute_script("return Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
    assert {"Timings", "Figures", "Tables", "Configuration"} <= set(sections)
    assert sections[-1] == "Timings" and sections.index("Figures") < sections.index("Tables")  # timings last

    # Each table's heading links its file (relative to the report), which exists.
    links = chromium.execute_script("return Array.from(document.querySelectorAll('h3 a')).map(a => a.getAttribute('href'))")
    assert sorted(links) == sorted(expected) and all((run_dir / href).is_file() for href in links)
    # Raw edge lists stay in tables/graphs.csv: no cell holds a list, the graphs table is there without them.
    raw = read_table(table_path(run_dir, "graphs"))
    assert raw_list_columns(raw) == ["graph"] and "graph" not in shown["tables/graphs.csv"][0]
    assert raw["graph"].str.contains('"edges": [[', regex=False).all()
    longest = chromium.execute_script("return Math.max(...Array.from(document.querySelectorAll('td')).map(td => td.textContent.length))")
    assert longest < 120

    # The page fits a 1,400 px window: a wide table scrolls inside its box, the page never sideways.
    chromium.set_window_size(1400, 1000)
    inner, page = chromium.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
    assert inner <= 1400 and page <= inner, (inner, page)

    # No console error (a broken image, a bad data: URI, a script error would log one).
    errors = [e for e in chromium.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []

    # A full-page screenshot, to look at.
    height = chromium.execute_script("return document.documentElement.scrollHeight")
    chromium.set_window_size(1400, min(int(height), 16000))
    shot = tmp_path / "report.png"
    assert chromium.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    print(f"screenshot of {report}: {shot}")
