"""YAML read with the safe loader, keeping the line of every key and item for error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from wiring_lab._io import UserError, read_text_file


class Map(dict):
    """A YAML mapping: a dict that also knows its own line and the line of each key (1-based)."""

    line: int = 0
    lines: dict[str, int]


class Seq(list):
    """A YAML sequence: a list that also knows its own line and the line of each item (1-based)."""

    line: int = 0
    lines: list[int]


# Aliases let a few lines of YAML name 10**8 values ("billion laughs"); a study file has a few
# hundred, so conversion stops long before such a file could exhaust time or memory.
MAX_NODES = 100_000


def _convert(node: yaml.Node, constructor: yaml.constructor.SafeConstructor, where: str, budget: list[int] | None = None) -> Any:
    line = node.start_mark.line + 1
    budget = budget if budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise UserError(f"{where}:{line}: too many YAML values (more than {MAX_NODES:,}; aliases that expand a list over and over?)")
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
            out[key] = _convert(value_node, constructor, where, budget)
            out.lines[key] = key_line
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = Seq(_convert(item, constructor, where, budget) for item in node.value)
        seq.line, seq.lines = line, [item.start_mark.line + 1 for item in node.value]
        return seq
    return constructor.construct_object(node, deep=True)


def load_yaml_with_lines(path: str | Path) -> Any:
    """Parse a YAML file (safe loader: plain data only) into :class:`Map` / :class:`Seq` / scalars."""
    path = Path(path)
    text = read_text_file(path, "study file")
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
    except RecursionError:
        raise UserError(f"{path}: invalid YAML (nested too deeply)") from None
