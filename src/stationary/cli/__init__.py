"""The `stationary` command line: thin commands that parse, call the library and print.

Each command lives in its own module and registers itself on `app`. Exit status, and nothing else: 0 success,
2 bad input (StationaryError, a usage error or an unreadable path: one line, never a traceback), 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM), 141 when stdout is closed early (a pipe into `head`; the shell's code for
SIGPIPE). A traceback (exit 1) is a bug in stationary.

Ctrl-C is handled from the moment `main` starts: the command modules (most of the start-up time) are imported
inside it, so an interrupt while they load exits 130 too. A process started with SIGINT ignored (a background
job of a non-interactive shell: `cmd &` in a script, and what it starts) keeps ignoring it, as CPython and every
Unix tool do; SIGTERM is caught either way.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import typer
from rich.console import Console

from stationary.errors import StationaryError

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE, EXIT_TERMINATED = 0, 2, 130, 141, 143

_app = typer.Typer(
    name="stationary",
    help="What a DNN costs to run, how to schedule it on an accelerator, and what algorithm changes buy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, soft_wrap=True)  # one error, one line


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like Ctrl-C (pools and stores clean up in their `finally`), then exit 143."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """Library warnings as one 'warning:' line on stderr (no source path)."""
    err_console.print(f"[yellow]warning:[/] {message}", highlight=False, markup=True)


def _print_version(value: bool) -> None:
    """`--version`: the package version (one place: stationary.__version__) and exit."""
    if value:
        from stationary import __version__

        typer.echo(f"stationary {__version__}")
        raise typer.Exit()


@_app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="print the version and exit")) -> None:
    """What a DNN costs to run, how to schedule it on an accelerator, and what algorithm changes buy."""

# The module that registers each command (or command group), in the order `--help` lists them. A run of one
# command imports only its module (the others, and what they import, cost start-up time for nothing);
# `--help`, no command or an unknown one load them all. tests/cli/test_lazy_commands.py checks this table
# against what the modules register.
COMMANDS: dict[str, str] = {
    "stats": "stats", "model": "model", "map": "mapper", "evaluate": "mapper", "dataflows": "mapper",
    "report": "report", "sweep": "sweep", "systolic": "systolic", "transforms": "transforms", "codesign": "codesign",
    "neardata": "neardata", "validate": "validate", "llm": "llm", "bound": "bound",
}
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))

_loaded: set[str] = set()  # command modules imported so far (each registered its commands on _app)
_loading = False  # True while command modules import: their `from stationary.cli import app` gets _app as is


def command_of(args: Sequence[str]) -> str | None:
    """The command `args` run (their first word when it names one), else None (help, --version, a typo)."""
    return args[0] if args and args[0] in COMMANDS else None


def load_commands(args: Sequence[str] | None = None) -> typer.Typer:
    """The app with the command `args` run registered, or every command when they name none (None: all).

    Imports the command modules not yet imported (each registers itself on the app); `from stationary.cli
    import app` loads them all, and `run` loads what its arguments need inside its Ctrl-C handling. A module
    whose import failed (or was interrupted) is retried by the next call."""
    global _loading
    if _loading:
        return _app
    command = command_of(args) if args is not None else None
    wanted = [name for name in ((COMMANDS[command],) if command else COMMAND_MODULES) if name not in _loaded]
    if wanted:
        _loading = True
        try:
            for name in wanted:
                importlib.import_module(f"stationary.cli.{name}")
                _loaded.add(name)
        finally:
            _loading = False
        if _loaded.issuperset(COMMAND_MODULES):  # list them in COMMANDS' order whatever order they loaded in
            rank = {name: k for k, name in enumerate(COMMANDS)}
            _app.registered_commands.sort(key=lambda c: rank.get(_command_name(c), len(rank)))
    return _app


def _command_name(info: Any) -> str:
    """The name a registered typer command is invoked by (its explicit name, else its function's, dashed)."""
    return info.name or info.callback.__name__.replace("_", "-")


def __getattr__(name: str) -> typer.Typer:
    """`stationary.cli.app`: the app with all its commands (loaded on first use, so `main` starts fast)."""
    if name == "app":
        return load_commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(args: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status (see the module docstring); never raises for bad input."""
    try:
        argv = list(args) if args is not None else sys.argv[1:]
        rv = load_commands(argv)(args=argv, standalone_mode=False)
    except StationaryError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # typer turns most into Exit(130); this one came from outside the command (while
        # the command modules loaded, or while typer set up or tore down the context)
        err_console.print("interrupted")
        return EXIT_INTERRUPTED
    except Terminated:
        err_console.print("terminated")
        return EXIT_TERMINATED
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            return EXIT_BROKEN_PIPE
        # a path the user gave cannot be read or written (missing folder, permissions, ...)
        where = f"{exc.filename}: " if exc.filename else ""
        err_console.print(f"[bold red]error:[/] {where}{exc.strerror or exc}", highlight=False, markup=True)
        return EXIT_BAD_INPUT
    except typer.Exit as exc:
        return _status(exc.exit_code)
    except SystemExit as exc:  # rich and typer exit 1 themselves when stdout is a closed pipe
        if exc.code == 1 and _stdout_was_closed():
            return EXIT_BROKEN_PIPE
        return _status(exc.code)
    except typer.Abort:  # end of input at a prompt: the user stopped it
        err_console.print("aborted")
        return EXIT_INTERRUPTED
    except typer.TyperException as exc:  # usage errors (typer vendors click's) print themselves
        if not hasattr(exc, "show"):
            raise
        exc.show()
        return EXIT_BAD_INPUT
    return _status(rv)


def _stdout_was_closed() -> bool:
    """Whether rich (fd 1 pointed at /dev/null) or typer (stdout wrapped) reacted to a closed pipe."""
    if type(sys.stdout).__name__ == "PacifyFlushWrapper":
        return True
    try:
        return os.path.samestat(os.fstat(1), os.stat(os.devnull))
    except OSError:
        return False


def _status(code: object) -> int:
    """Typer's return value in non-standalone mode: an exit code (130 after Ctrl-C) or a command's None."""
    if code is None or code == 0 or not isinstance(code, int):
        return EXIT_OK
    if code == EXIT_INTERRUPTED:
        err_console.print("interrupted")
    return code if code in (EXIT_INTERRUPTED, EXIT_BROKEN_PIPE, EXIT_TERMINATED) else EXIT_BAD_INPUT


def main() -> None:
    """Entry point: SIGTERM unwinds like Ctrl-C; the exit status is one of the module docstring's."""
    signal.signal(signal.SIGTERM, _raise_terminated)
    warnings.showwarning = _show_warning
    try:
        code = run()
        try:
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            code = EXIT_BROKEN_PIPE if code == EXIT_OK else code
    except KeyboardInterrupt:  # a second Ctrl-C while run reported the first, or one after the command returned
        code = EXIT_INTERRUPTED
        err_console.print("interrupted")
    except Terminated:
        code = EXIT_TERMINATED
        err_console.print("terminated")
    if code == EXIT_BROKEN_PIPE:  # don't let the interpreter's own flush at exit print a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        # the command has unwound (pools killed, stores closed); exit now: CPython re-kills itself with SIGINT
        # at exit when a KeyboardInterrupt once crossed C-level code (seen as status -2 instead of 130)
        for stream in (sys.stderr, sys.stdout):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)
