"""The `stationary` command line: thin commands that parse, call the library and print.

Each command lives in its own module and registers itself on `app`; bad input (StationaryError) is
printed as one line and exits with status 2, never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from stationary.errors import StationaryError

app = typer.Typer(
    name="stationary",
    help="What a DNN costs to run, how to schedule it on an accelerator, and what algorithm changes buy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, soft_wrap=True)  # one error, one line


@app.callback()
def _root() -> None:
    """What a DNN costs to run, how to schedule it on an accelerator, and what algorithm changes buy."""

# One module per command (or command group); each registers itself on `app` when imported.
COMMAND_MODULES = (
    "stats", "model", "mapper", "report", "sweep", "systolic", "transforms", "codesign", "neardata", "validate", "bound",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"stationary.cli.{_name}")


def main() -> None:
    """Entry point: run the app, turning bad input into one clear message and exit status 2."""
    try:
        app(standalone_mode=False)
    except StationaryError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)
    except OSError as exc:  # a path the user gave cannot be read or written (missing folder, permissions, ...)
        where = f"{exc.filename}: " if exc.filename else ""
        err_console.print(f"[bold red]error:[/] {where}{exc.strerror or exc}", highlight=False, markup=True)
        sys.exit(2)
    except (typer.Exit, SystemExit) as exc:  # typer.Exit from commands
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code or 0)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except Exception as exc:  # click's usage errors (typer vendors click) print themselves, exit 2
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        raise
