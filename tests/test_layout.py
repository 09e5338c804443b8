"""The package's shape: no import cycle (function-level imports count), a lazy public API."""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import subprocess
import sys
import types
from pathlib import Path

import wiring_lab

PACKAGE = Path(wiring_lab.__file__).parent


def _modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the package."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its file (top level or inside functions).

    A module importing its own package (``wiring_lab.importers.x`` -> ``wiring_lab.importers``)
    is not an edge: a package's ``__init__`` runs before its children in any case.
    """
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = name.split(".") if is_pkg else name.split(".")[:-1]
                    here = here[: len(here) - node.level + 1]
                    base = ".".join(here + ([node.module] if node.module else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                if t in modules and t != name and not name.startswith(t + "."):
                    edges[name].add(t)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph ``edges`` as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        path.append(v)
        for w in sorted(edges[v]):
            if state.get(w) == 1:
                return path[path.index(w):] + [w]
            if w not in state:
                found = visit(w)
                if found:
                    return found
        path.pop()
        state[v] = 2
        return None

    for v in sorted(edges):
        if v not in state:
            found = visit(v)
            if found:
                return found
    return None


def test_cycle_finder_finds_a_planted_cycle_and_accepts_a_dag():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    cycle = find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}


def test_edges_count_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from pkg import b\n")
    (pkg / "b.py").write_text("from .sub import c\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("import pkg.a\nfrom pkg.sub import d\n")
    (pkg / "sub" / "d.py").write_text("from pkg import sub\n")  # its own package: no edge
    mods = {"pkg": pkg / "__init__.py", "pkg.a": pkg / "a.py", "pkg.b": pkg / "b.py", "pkg.sub": pkg / "sub" / "__init__.py",
            "pkg.sub.c": pkg / "sub" / "c.py", "pkg.sub.d": pkg / "sub" / "d.py"}
    edges = import_edges(mods)
    assert edges["pkg.a"] == {"pkg.b"} and edges["pkg.b"] == {"pkg.sub", "pkg.sub.c"}
    assert edges["pkg.sub.c"] == {"pkg.a", "pkg.sub.d"} and edges["pkg.sub.d"] == set()
    assert find_cycle(edges) is not None  # a -> b -> sub.c -> a


def test_wiring_lab_has_no_import_cycle():
    modules = _modules()
    assert len(modules) > 30 and "wiring_lab.checkpoint" in modules
    edges = import_edges(modules)
    assert "wiring_lab.checkpoint" in edges["wiring_lab.importers"]  # the walk sees real edges
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges) or [])


def test_checkpoint_never_imports_the_importers():
    edges = import_edges(_modules())
    assert not any(t.startswith("wiring_lab.importers") for t in edges["wiring_lab.checkpoint"])


def test_all_lists_every_public_name_and_each_resolves_to_its_definition():
    assert wiring_lab.__all__ == sorted(set(wiring_lab.__all__))
    expected = {"generate_graph", "build_model", "ModelConfig", "load_checkpoint", "train_network", "damage_sweep",
                "attack_curve", "graph_metrics", "population_metrics", "correlate", "run_study"}
    assert expected <= set(wiring_lab.__all__)
    for name in wiring_lab.__all__:
        value = getattr(wiring_lab, name)
        assert not isinstance(value, types.ModuleType), name
        assert value.__module__.startswith("wiring_lab."), name
        assert name in dir(wiring_lab)


def test_no_public_name_is_a_submodule_name():
    submodules = {m.name for m in pkgutil.iter_modules([str(PACKAGE)])}
    assert {"train", "correlation", "loading", "tasks"} <= submodules
    assert not submodules & set(wiring_lab.__all__)
    for sub in sorted(submodules - {"cli", "__main__"}):  # importing every submodule replaces no public name
        importlib.import_module(f"wiring_lab.{sub}")
    assert callable(wiring_lab.correlate) and wiring_lab.correlate is importlib.import_module("wiring_lab.correlation").correlate
    assert wiring_lab.train_network is importlib.import_module("wiring_lab.train").train_network


def test_unknown_name_raises_attribute_error():
    try:
        wiring_lab.no_such_thing  # noqa: B018
    except AttributeError as e:
        assert "no_such_thing" in str(e)
    else:
        raise AssertionError("expected AttributeError")


def test_import_wiring_lab_imports_nothing_heavy():
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    code = "import sys, wiring_lab; print(sorted(m for m in ('torch', 'pandas', 'matplotlib', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == "[]"
    code = "import sys, wiring_lab as wl; wl.generate_graph; print('torch' in sys.modules, 'wiring_lab.graphs' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split() == ["False", "True"]


def test_plots_only_draw():
    """plots.py imports no statistics or loading code: analysis.py computes, figures.py reads the tables."""
    tree = ast.parse((PACKAGE / "plots.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported |= {node.module or ""} | {f"{node.module}.{a.name}" for a in node.names}
    forbidden = ("scipy", "statsmodels", "sklearn", "torch", "wiring_lab.correlation", "wiring_lab.metrics", "wiring_lab.checkpoint",
                 "wiring_lab.loading", "wiring_lab._io.read_table")
    assert not [m for m in imported if m.startswith(forbidden)]
