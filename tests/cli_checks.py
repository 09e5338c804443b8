"""What every refusal test asserts, in one place: run the real command, one ``error:`` line, nothing written.

Imported by the fail-closed, hardening and hostile-input tests (pytest puts ``tests/`` on the path).
"""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from wiring_lab.cli import app

RUNNER = CliRunner()


def tree(root: Path) -> dict[str, object]:
    """Every entry under ``root``: bytes of regular files, the target of links, the kind of anything else."""
    out: dict[str, object] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = ("link", os.readlink(p))
        elif p.is_file():
            out[rel] = p.read_bytes()
        else:
            out[rel] = "dir" if p.is_dir() else "special"
    return out


def one_line_error(args: list[str], *fragments: str, root: Path | None = None) -> str:
    """Run the CLI: exit 2, the whole output one ``error:`` line holding every fragment, no traceback,
    nothing under ``root`` created, changed or removed. Returns the line."""
    before = tree(root) if root is not None else None
    result = RUNNER.invoke(app, args)
    out = result.output.strip()
    assert result.exit_code == 2, (result.exit_code, out, result.exception)
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out
    assert "Traceback" not in out
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])
    if root is not None:
        assert tree(root) == before, "a refused command wrote, changed or removed files"
    return lines[0]
