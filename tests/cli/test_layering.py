"""The CLI is a thin layer: no command module imports another command module (shared options and printing live
in cli/common.py), and nothing outside `stationary.cli` imports the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "stationary"
ALLOWED_IN_CLI = {"stationary.cli", "stationary.cli.common"}


def _imports(path: Path, package: str = "stationary.cli") -> set[str]:
    """The modules of `package` (or the package itself) that `path` imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n == package or n.startswith(package + ".")}


def test_command_modules_import_no_other_command_module() -> None:
    bad = {p.name: sorted(_imports(p) - ALLOWED_IN_CLI) for p in (SRC / "cli").glob("*.py")}
    assert not {k: v for k, v in bad.items() if v}


def test_nothing_outside_the_cli_imports_it() -> None:
    outside = [p for p in SRC.rglob("*.py") if "cli" not in p.relative_to(SRC).parts and p.name != "__main__.py"]
    assert outside
    bad = {str(p.relative_to(SRC)): sorted(_imports(p)) for p in outside if _imports(p)}
    assert not bad


def test_the_nouns_never_import_the_studies() -> None:
    """Studies depend on the five nouns, never the reverse (docs/concepts.md)."""
    nouns = [p for noun in ("workload", "arch", "mapping", "model", "mapper") for p in (SRC / noun).rglob("*.py")]
    assert nouns
    bad = {str(p.relative_to(SRC)): sorted(_imports(p, "stationary.studies")) for p in nouns
           if _imports(p, "stationary.studies")}
    assert not bad
