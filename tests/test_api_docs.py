"""The examples in docs/api.md run as they are, print what the page says, and write their files."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from facial_emotion.data.locate import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "api.md"
SHARED = PROJECT_ROOT.parent / "shared"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def expected_output(block: str) -> list[str]:
    """The `# ...` lines that end a block: what its prints show."""
    lines = block.rstrip().splitlines()
    tail: list[str] = []
    while lines and lines[-1].startswith("# "):
        tail.insert(0, lines.pop()[2:])
    return tail


@pytest.mark.skipif(not (SHARED / "faces").is_dir(), reason=f"real photos not found in {SHARED}")
def test_the_api_page_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = BLOCK.findall(DOC.read_text())
    assert len(blocks) >= 5
    project = tmp_path / "project"  # run from a "project root" whose ../shared is the real one
    project.mkdir()
    (tmp_path / "shared").symlink_to(SHARED)
    monkeypatch.chdir(project)
    namespace: dict = {}
    for number, block in enumerate(blocks, start=1):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block, f"{DOC.name} block {number}", "exec"), namespace)
        for line in expected_output(block):
            assert line in printed.getvalue().splitlines(), f"block {number} did not print {line!r}"
    assert (project / "emotions.csv").stat().st_size > 0
    assert (project / "timeline.png").read_bytes()[:4] == b"\x89PNG"
    assert (project / "annotated.mp4").stat().st_size > 0
    assert namespace["label"] == "Happy" and len(namespace["same"]) == 1
