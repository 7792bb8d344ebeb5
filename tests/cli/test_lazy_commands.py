"""A run of one command imports only that command's module (cli.COMMANDS says which); `--help` still lists every
command, in COMMANDS' order; the studies of `stationary.api` load on first use and keep their names."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

from stationary import cli
from tests.clirun import ENV, run_cli


def _module_of(info: object, modules: dict[str, ModuleType]) -> str:
    """The command module that registered a typer command or command group."""
    callback = getattr(info, "callback", None)
    if getattr(info, "typer_instance", None) is not None:
        return next(name for name, mod in modules.items() if info.typer_instance in vars(mod).values())  # type: ignore[attr-defined]
    assert callback is not None
    return str(callback.__module__).rsplit(".", 1)[-1]


def test_the_command_table_names_the_module_that_registers_each_command() -> None:
    import importlib

    app = cli.load_commands()
    modules = {name: importlib.import_module(f"stationary.cli.{name}") for name in cli.COMMAND_MODULES}
    registered = {cli._command_name(c): _module_of(c, modules) for c in app.registered_commands}
    registered |= {str(g.name): _module_of(g, modules) for g in app.registered_groups}
    assert registered == cli.COMMANDS


def _modules_after(code: str) -> set[str]:
    """The stationary modules a fresh interpreter holds after running `code`."""
    probe = code + "\nimport sys\nprint(' '.join(m for m in sys.modules if m.startswith('stationary')))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=dict(ENV), timeout=300,
                          check=True)
    return set(done.stdout.split())


def test_evaluate_imports_only_its_command_module() -> None:
    mods = _modules_after("from stationary.cli import run\nrun(['evaluate', '--help'])")
    assert {m for m in mods if m.startswith("stationary.cli.")} == {"stationary.cli.common", "stationary.cli.mapper"}
    assert not mods & {"stationary.api.sweep", "stationary.api.systolic", "stationary.api.codesign",
                       "stationary.report.html", "stationary.report.plots"}


def test_help_lists_every_command_in_table_order() -> None:
    """Typer lists plain commands first, then command groups (`transforms`), each in registration order."""
    groups = [str(g.name) for g in cli.load_commands().registered_groups]
    done = run_cli("--help", timeout_s=300)
    assert done.returncode == 0, done.stderr
    listed = [line.split()[1] for line in done.stdout.splitlines()
              if line.startswith("│ ") and len(line.split()) > 1 and line.split()[1] in cli.COMMANDS]
    assert listed == [c for c in cli.COMMANDS if c not in groups] + groups


def test_a_misspelt_command_still_gets_a_suggestion() -> None:
    done = run_cli("evalu", timeout_s=300)
    assert done.returncode == 2 and "evaluate" in done.stderr


def test_api_studies_load_on_first_use_and_keep_their_names() -> None:
    assert "stationary.api.sweep" not in _modules_after("import stationary.api.network")
    code = ("import stationary.api.sweep, stationary.api.systolic\n"
            "from stationary import api\n"
            "from stationary.api import SweepResult, codesign, sweep, systolic\n"
            "assert callable(sweep) and sweep is api.sweep and sweep.__module__ == 'stationary.api.sweep'\n"
            "assert callable(systolic) and systolic.__module__ == 'stationary.api.systolic'\n"
            "assert codesign.__name__ == 'codesign' and SweepResult.__name__ == 'SweepResult'\n"
            "assert set(api.__all__) <= set(dir(api)) | set(api._STUDIES)")
    assert "stationary.api.codesign" in _modules_after(code)


def test_commands_loaded_one_by_one_are_listed_in_table_order() -> None:
    code = ("from stationary import cli\n"
            "cli.load_commands(['evaluate']); cli.load_commands(['bound']); app = cli.load_commands()\n"
            "print(' '.join(cli._command_name(c) for c in app.registered_commands))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(ENV), timeout=300,
                          check=True)
    groups = {"transforms"}
    assert done.stdout.split() == [c for c in cli.COMMANDS if c not in groups]
