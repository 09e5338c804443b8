"""A griffe extension for the API reference: render the docstrings' reST habits as Markdown.

The library's docstrings are plain text with doctest examples (run by tests/test_doctests.py),
``literals`` and :class:`roles`. Without this, mkdocstrings shows a doctest as a paragraph and
reads ``['done']`` as a Markdown link. Only the rendered copy changes; the source does not.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|obj|exc):`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def _fence_doctests(text: str) -> str:
    """Wrap each run of doctest lines (``>>>``/``...`` and their outputs) in a pycon fence."""
    out: list[str] = []
    in_block = False
    for line in text.split("\n"):
        starts = line.lstrip().startswith((">>>", "... ")) or line.strip() == "..."
        if starts and not in_block:
            out.append("```pycon")
            in_block = True
        elif in_block and not line.strip():
            out.append("```")
            in_block = False
        out.append(line)
    if in_block:
        out.append("```")
    return "\n".join(out)


def markdown_docstring(text: str) -> str:
    """The docstring with doctests fenced and reST literals/roles as Markdown code spans."""
    parts = re.split(r"(```pycon\n.*?\n```)", _fence_doctests(text), flags=re.S)
    for i in range(0, len(parts), 2):  # prose only, never inside a fence
        parts[i] = _LITERAL.sub(r"`\1`", _ROLE.sub(lambda m: f"`{m.group(1).split('.')[-1]}`", parts[i]))
    return "".join(parts)


class ReSTDocstrings(griffe.Extension):
    """Rewrite every loaded object's docstring for Markdown rendering."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)
