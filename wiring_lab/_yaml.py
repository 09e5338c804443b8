"""YAML read with the safe loader, keeping the line of every key and item for error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from wiring_lab._io import UserError


class Map(dict):
    """A YAML mapping: a dict that also knows its own line and the line of each key (1-based)."""

    line: int = 0
    lines: dict[str, int]


class Seq(list):
    """A YAML sequence: a list that also knows its own line and the line of each item (1-based)."""

    line: int = 0
    lines: list[int]


def _convert(node: yaml.Node, constructor: yaml.constructor.SafeConstructor, where: str) -> Any:
    line = node.start_mark.line + 1
    plain_tag = {yaml.MappingNode: "map", yaml.SequenceNode: "seq"}.get(type(node))
    if plain_tag and node.tag != f"tag:yaml.org,2002:{plain_tag}":  # e.g. !!python/object: refused
        raise UserError(f"{where}:{line}: invalid YAML (tag {node.tag!r} is not allowed; study files hold plain data)")
    if isinstance(node, yaml.MappingNode):
        out = Map()
        out.line, out.lines = line, {}
        constructor.flatten_mapping(node)  # YAML merge keys (<<)
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            key_line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise UserError(f"{where}:{key_line}: keys must be strings (got {key!r})")
            if key in out:
                raise UserError(f"{where}:{key_line}: duplicate key {key!r} (first on line {out.lines[key]})")
            out[key] = _convert(value_node, constructor, where)
            out.lines[key] = key_line
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = Seq(_convert(item, constructor, where) for item in node.value)
        seq.line, seq.lines = line, [item.start_mark.line + 1 for item in node.value]
        return seq
    return constructor.construct_object(node, deep=True)


def load_yaml_with_lines(path: str | Path) -> Any:
    """Parse a YAML file (safe loader: plain data only) into :class:`Map` / :class:`Seq` / scalars."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such study file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read the file ({e.__class__.__name__})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            raise UserError(f"{path}:1: the file is empty")
        return _convert(node, yaml.SafeLoader(""), str(path))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise UserError(f"{path}:{line}: invalid YAML ({e.problem or e.context})") from None
    except yaml.YAMLError as e:
        raise UserError(f"{path}: invalid YAML ({str(e).splitlines()[0]})") from None
