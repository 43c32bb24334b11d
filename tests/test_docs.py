"""The docs a newcomer reads: a short README, and every relative link in README, MODEL_CARD and docs/ resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from facial_emotion.data.locate import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
DOCS = [README, PROJECT_ROOT / "MODEL_CARD.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
MAX_README_LINES, MAX_README_WIDTH = 150, 120

FENCED_CODE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
EXTERNAL = ("http://", "https://", "mailto:")


def relative_links(markdown: str) -> list[str]:
    """Link targets outside code that point into the repository (not web addresses)."""
    prose = INLINE_CODE.sub("", FENCED_CODE.sub("", markdown))
    return [target for target in LINK.findall(prose) if not target.startswith(EXTERNAL)]


def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", FENCED_CODE.sub("", markdown), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def broken_links(page: Path) -> list[str]:
    """The relative links of `page` whose file, or heading anchor, does not exist."""
    broken = []
    for target in relative_links(page.read_text()):
        file_part, _, anchor = target.partition("#")
        resolved = (page.parent / file_part).resolve() if file_part else page
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in heading_anchors(resolved.read_text()):
            broken.append(f"{target} (no heading #{anchor} in {resolved.name})")
    return broken


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert page.is_file(), f"{page.name} is missing"
    broken = broken_links(page)
    assert not broken, f"{page.name}: broken links {broken}"


def test_the_docs_are_there() -> None:
    names = {p.name for p in DOCS}
    assert {"training.md", "evaluation.md", "video.md", "sweeps.md", "hack.md", "speed.md"} <= names


def test_readme_is_short_and_narrow() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines"
    wide = [f"line {n}: {len(line)} chars" for n, line in enumerate(lines, start=1) if len(line) > MAX_README_WIDTH]
    assert wide == []


def test_link_check_finds_a_broken_link_and_ignores_code(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## A section, with punctuation!\n")
    page = tmp_path / "page.md"
    page.write_text(
        "See [other](other.md), [its section](other.md#a-section-with-punctuation) and [the web](https://x.org).\n"
        "A [gone](missing.md) page, a [bad anchor](other.md#nowhere), `[in code](nowhere.md)`.\n"
        "```\n[also code](nowhere.md)\n```\n"
    )
    assert broken_links(page) == ["missing.md (no such file)", "other.md#nowhere (no heading #nowhere in other.md)"]
