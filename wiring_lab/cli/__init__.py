"""The ``wiring-lab`` command line: each command parses its options, calls the library, says what it wrote.

Command modules are imported inside each command, so ``wiring-lab --help`` answers without
importing torch (over a second on its own). The commands live by concern: graphs
(``graph_commands``), networks (``network_commands``), damage (``damage_commands``), studies
(``study_commands``); ``_app`` holds the app and what they share.

Bad input (a ``ValueError`` from the library, a missing file) is printed as one line,
``error: ...``, on stderr with exit code 2; never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import typer

from wiring_lab.cli import damage_commands, graph_commands, network_commands, study_commands  # noqa: F401  (each registers its commands)
from wiring_lab.cli._app import app, fail, user_errors  # noqa: F401  (the names callers use)

__all__ = ["app", "command", "fail", "main", "user_errors"]

_METAVARS = {"<int>": "INTEGER", "<float>": "NUMBER", "<str>": "TEXT", "<path>": "PATH", "<list[Path]>": "PATH"}


def _tidy_help(cmd: Any) -> Any:
    """``cmd`` (the click command typer builds from ``app``) with plain metavars in its help, recursively."""
    import typer.core

    for sub in getattr(cmd, "commands", {}).values():
        _tidy_help(sub)

    def help_option(ctx: Any, made: Callable = cmd.get_help_option) -> Any:
        option = made(ctx)
        if option is not None:
            option.display_type_rich = lambda ctx: None  # a flag
        return option

    cmd.get_help_option = help_option
    for param in cmd.params:
        if param.metavar is not None:
            continue
        shown = type(param).display_type(param, None) if hasattr(type(param), "display_type") else None
        word = _METAVARS.get(shown or "", "TEXT")
        if isinstance(param, typer.core.TyperArgument):
            label = param.name.upper().replace("_", "-")
            usage = label if param.required else f"[{label}]"
            param._usage_display_name = lambda usage=usage: usage  # type: ignore[method-assign]
            param.display_type_rich = lambda ctx, word=word: word  # type: ignore[method-assign]
        elif getattr(param, "is_flag", False):
            param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
        else:
            param.display_type_rich = lambda ctx, word=word: word  # type: ignore[method-assign]
    return cmd


def command() -> Any:
    """The click command behind ``wiring-lab`` (what the console script runs), help tidied."""
    return _tidy_help(typer.main.get_command(app))


def main() -> None:
    """Console-script entry point."""
    command()()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
