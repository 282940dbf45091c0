"""The README and the documentation sources: the two commands, working links, citations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _local_links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def test_readme_has_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install . && neuroplast train --dataset digits --hidden 128 --epochs 30" in readme
    assert 'pip install ".[test]" && python -m pytest' in readme


@pytest.mark.parametrize(
    "page", [ROOT / "README.md", *PAGES], ids=lambda p: str(p.relative_to(ROOT))
)
def test_relative_links_resolve(page: Path) -> None:
    for target in _local_links(page):
        file = target.split("#", 1)[0]
        if file:
            assert (page.parent / file).exists(), f"{page.name}: broken link {target}"


@pytest.mark.parametrize(
    "page", [ROOT / "README.md", *PAGES], ids=lambda p: str(p.relative_to(ROOT))
)
def test_papers_are_cited_not_numbered(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"\bseed 00\d|\bthesis 003", text, flags=re.I), page.name


def test_every_api_module_has_a_page() -> None:
    pages = {p.read_text(encoding="utf-8") for p in (DOCS / "api").glob("*.md")}
    for module in ("neuroplast", "morph", "metrics", "search", "growth", "lp", "data"):
        name = "neuroplast" if module == "neuroplast" else f"neuroplast.{module}"
        assert any(f"::: {name}\n" in p for p in pages), name
