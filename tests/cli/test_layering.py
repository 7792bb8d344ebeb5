"""The CLI is a thin layer: no command module imports another command module (shared options and printing live
in cli/common.py), and nothing outside `stationary.cli` imports the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "stationary"
ALLOWED_IN_CLI = {"stationary.cli", "stationary.cli.common"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n == "stationary.cli" or n.startswith("stationary.cli.")}


def test_command_modules_import_no_other_command_module() -> None:
    bad = {p.name: sorted(_imports(p) - ALLOWED_IN_CLI) for p in (SRC / "cli").glob("*.py")}
    assert not {k: v for k, v in bad.items() if v}


def test_nothing_outside_the_cli_imports_it() -> None:
    outside = [p for p in SRC.rglob("*.py") if "cli" not in p.relative_to(SRC).parts and p.name != "__main__.py"]
    assert outside
    bad = {str(p.relative_to(SRC)): sorted(_imports(p)) for p in outside if _imports(p)}
    assert not bad
