"""The ``wiring-lab`` app and what every command shares: one-line errors, input checks, the
options several commands take (generator, layout, graphs), the deprecated ``--format`` spelling."""

from __future__ import annotations

import dataclasses
import functools
import inspect as _inspect
import json
import logging
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer

from wiring_lab.generators import list_generators
from wiring_lab.recipe import TrainConfig
from wiring_lab.search.config import SearchConfig

# the defaults --help shows, read from the configs (neither module imports torch)
RECIPE = TrainConfig()
SEARCH = {f.name: f.default for f in dataclasses.fields(SearchConfig) if f.default is not dataclasses.MISSING}
SEARCH_RECIPE = SearchConfig.__dataclass_fields__["train"].default_factory()

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Study trained randomly wired neural networks (RandWire): graphs, training, damage, metrics, figures.",
)


# An error line quotes untrusted values; it never grows past this many characters.
MAX_MESSAGE = 400


class _EchoHandler(logging.Handler):
    """Library log records as plain lines: INFO and below on stdout, warnings on stderr."""

    held: list[str] | None = None  # while a command runs, its warnings wait: a refusal prints its error line alone

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING and _EchoHandler.held is not None:
            _EchoHandler.held.append(self.format(record))
        else:
            typer.echo(self.format(record), err=record.levelno >= logging.WARNING)


def _show_held(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line, err=True)


def fail(message: str, code: int = 2) -> None:
    """Print one ``error:`` line on stderr and exit."""
    typer.echo(f"error: {message[:MAX_MESSAGE]}{'...' if len(message) > MAX_MESSAGE else ''}", err=True)
    raise typer.Exit(code)


# parameter -> what its path names; a missing one is refused before any heavy import
_INPUTS = {
    "checkpoint": "checkpoint file",
    "foreign": "checkpoint file",
    "file": "checkpoint or graph file",
    "table": "table file",
    "graphs": "graph file or directory",
    "run_dir": "run directory",
}


def _check_inputs(kwargs: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the first bad comma-separated number list, then the first input
    path (see ``_INPUTS``) that does not exist: option values first, as the number checks."""
    fractions = kwargs.get("fractions")
    if isinstance(fractions, str):
        from wiring_lab._validate import check_float_list

        try:
            values = [float(t) for t in fractions.split(",") if t.strip()]
        except ValueError:
            raise ValueError(f"--fractions takes comma-separated numbers (got {fractions[:60]!r})") from None
        check_float_list("--fractions", values, 0.0, 1.0)
    for name, what in _INPUTS.items():
        value = kwargs.get(name)
        for path in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(path, Path) and not path.exists():
                raise ValueError(f"{path}: no such {what}")


def user_errors(fn: Callable) -> Callable:
    """Turn the library's ``ValueError``s and file errors into a one-line message, exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import warnings

        _EchoHandler.held = []
        try:
            from wiring_lab._validate import check_cli_numbers

            with warnings.catch_warnings(record=True) as caught:  # shown after success, dropped on a refusal
                check_cli_numbers(fn.__name__, kwargs)  # every number finite and in range before any work
                _check_inputs(kwargs)  # input files exist, before torch or pandas is imported (seconds)
                result = fn(*args, **kwargs)
            _show_held(_EchoHandler.held + [f"warning: {w.message}" for w in caught])
            return result
        except typer.Exit as e:
            if e.exit_code not in (2, 130):  # not a refusal (e.g. a study with failed tasks): its warnings count
                _show_held(_EchoHandler.held)
            raise
        except (ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as e:
            msg = str(e).splitlines()[0] if str(e) else e.__class__.__name__
            fail(msg)
        except OSError as e:  # a file-system failure outside the write helpers: still one line
            fail(f"{e.filename or 'file system'}: {e.strerror or e.__class__.__name__}")
        except (MemoryError, RecursionError) as e:  # a limit the budget checks did not foresee
            fail(f"ran out of {'memory' if isinstance(e, MemoryError) else 'stack'}; lower the sizes asked for or --max-memory")
        except KeyboardInterrupt:
            fail("interrupted; finished work is saved, re-run the same command to continue", code=130)
        finally:
            _EchoHandler.held = None

    return wrapper


def renamed_option(old: str, param: str, new: str) -> Callable:
    """Accept ``old`` (hidden from --help, deprecated) as another spelling of option ``new`` (parameter ``param``)."""

    def deco(fn: Callable) -> Callable:
        key = f"_deprecated_{param}"
        sig = _inspect.signature(fn, eval_str=True)
        alias = _inspect.Parameter(key, _inspect.Parameter.KEYWORD_ONLY, default=typer.Option(None, old, hidden=True), annotation=Optional[str])

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            value = kwargs.pop(key, None)
            if value is not None:  # silently: scripts and notebooks written for the old name keep working
                kwargs[param] = value
            return fn(*args, **kwargs)

        params = list(sig.parameters.values())
        wrapper.__signature__ = sig.replace(parameters=params + [alias])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {**fn.__annotations__, key: Optional[str]}
        return wrapper

    return deco


@app.callback()
def _options(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="also show each task's outcome and other details"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="only warnings, errors and the command's result"),
    max_memory: Optional[str] = typer.Option(None, help="memory budget, e.g. 8G (default: half of this machine's memory)"),
    max_work: Optional[int] = typer.Option(None, help="work limit in graph nodes processed (default 10**9)"),
) -> None:
    """Study trained randomly wired neural networks (RandWire): graphs, training, damage, metrics, figures."""
    from wiring_lab._limits import parse_size, set_overrides

    if verbose and quiet:
        fail("choose one of --verbose and --quiet")
    logger = logging.getLogger("wiring_lab")  # the library logs; this layer decides what is shown
    logger.handlers = [h for h in logger.handlers if not isinstance(h, _EchoHandler)] + [_EchoHandler()]
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    if max_memory is not None:
        try:
            parse_size(max_memory)
        except ValueError as e:
            fail(str(e))
    if max_work is not None and max_work < 1:
        fail(f"--max-work must be positive (got {max_work})")
    set_overrides(max_memory, max_work)  # this command only; worker processes read WIRING_LAB_MAX_*


def _echo_json(obj: Any) -> None:
    from wiring_lab._io import to_jsonable

    typer.echo(json.dumps(to_jsonable(obj), indent=2, sort_keys=True))


# --- generate --------------------------------------------------------------------------------
GeneratorOpt = typer.Option("ws", "--generator", "-g", help=" | ".join(list_generators()) + " (wiring_lab.generators)")
# a generator's parameters: --p/--k/--m, typed by its record (WS's K an integer, WS-flex's any number), or --param
PARAM_HELP = {
    "p": "ER/WS/WS-flex probability (default ER 0.2, WS 0.75)",
    "k": "WS neighbours, even (default 4); WS-flex average degree, any number",
    "m": "BA edges per new node (default 5)",
}
ParamOpt = typer.Option(None, "--param", help="NAME=VALUE: any parameter of the generator (repeat)")


def _generator_params(generator: str, p: Optional[str], k: Optional[str], m: Optional[str], more: Optional[List[str]]) -> dict[str, Any]:
    """The given parameters of ``generator``, parsed and checked by its record (omitted ones: its defaults)."""
    from wiring_lab.generators import get_generator

    gen = get_generator(generator)
    given = {name: text for name, text in (("p", p), ("k", k), ("m", m)) if text is not None}
    for item in more or ():
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--param takes NAME=VALUE (got {item[:60]!r})")
        given[name.strip()] = text.strip()
    schema = {q.name: q for q in gen.params}
    unknown = [name for name in given if name not in schema]
    if unknown:
        raise ValueError(f"generator {generator!r} takes no parameter {unknown[0]!r} (its parameters: {', '.join(schema) or 'none'})")
    params = {name: schema[name].parse(text) for name, text in given.items()}
    from wiring_lab._validate import CLI_BOUNDS, check_number

    for name, value in params.items():  # the command line's own bounds (an integer K's as an integer's)
        if name in CLI_BOUNDS and (name == "p" or schema[name].kind is int):
            check_number(f"--{name}", value, *CLI_BOUNDS[name])
    gen.resolve(**params)  # the generator's bounds, before anything heavy is imported
    return params
# Every command that takes a checkpoint also takes one written by another RandWire implementation.
LayoutOpt = typer.Option(
    "native",
    "--layout",
    help="checkpoint layout: native | auto | seungwonpark | jiaminren | hebo1221 | leaderj1001 | ironjr (refused)",
)
GraphsOpt = typer.Option(
    None,
    "--graphs",
    help="stage graphs: a native graph JSON file or directory; for a foreign checkpoint its graph files "
    "(repeat, in stage order) or their directory",
)


def _checkpoint_source(checkpoint: Path, layout: str, graphs: Optional[List[Path]]) -> Any:
    """The path itself for a plain native checkpoint, else the loaded (foreign or re-graphed) checkpoint."""
    if layout == "native" and not graphs:
        return checkpoint
    from wiring_lab.loading import load_checkpoint

    return load_checkpoint(checkpoint, graphs=graphs or None, format=layout)


def _write_with_sidecar(df: Any, out: Path, record: dict) -> None:
    """Write a table and its JSON sidecar (``<out>.json``, as the damage tables) holding the config."""
    from wiring_lab._io import write_json, write_table

    side = out.with_name(out.name + ".json")
    write_table(df, out)
    write_json(side, record)
    typer.echo(f"wrote {out} ({len(df)} rows) and {side}")
