"""Every "docs/references.md §N" the code cites names a section that exists, and no citation points at the
REFERENCES.md that lives outside the repository (a user's clone does not have it)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _sources() -> list[Path]:
    return sorted([*(ROOT / "src").rglob("*.py"), *(ROOT / "tests").rglob("*.py")])


def test_cited_sections_exist() -> None:
    sections = set(re.findall(r"^## (\d+)\.", (ROOT / "docs" / "references.md").read_text(), flags=re.M))
    cited = {(p.relative_to(ROOT), n) for p in _sources()
             for n in re.findall(r"docs/references\.md §(\d+)", p.read_text())}
    assert cited, "no file cites docs/references.md"
    missing = sorted(str(c) for c in cited if c[1] not in sections)
    assert not missing, missing


def test_no_citation_of_a_file_outside_the_repository() -> None:
    stale = [str(p.relative_to(ROOT)) for p in _sources() if p != Path(__file__)
             and re.search(r"(?<![\w/])REFERENCES\.md", p.read_text())]
    assert not stale, stale
