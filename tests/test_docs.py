"""The docs a newcomer reads: a short README, every relative link in README, MODEL_CARD and docs/ resolves, and
every command they give (`python scripts/<name>.py key=value ...`, `make <target>`) names options that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from facial_emotion.api.option_names import unknown_option_message
from facial_emotion.data.locate import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
DOCS = [README, PROJECT_ROOT / "MODEL_CARD.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
COMMAND_PAGES = [*DOCS, PROJECT_ROOT / "data" / "README.md"]
CONFIGS = PROJECT_ROOT / "configs"
MAX_README_LINES, MAX_README_WIDTH = 150, 120

FENCED_CODE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
EXTERNAL = ("http://", "https://", "mailto:")
# `python scripts/<name>.py` and its arguments, up to the end of the line (a `\` continues it), a closing backtick,
# a table cell's `|` or a `#` comment.
SCRIPT_COMMAND = re.compile(r"python\s+scripts/([a-z_]+)\.py((?:[ \t]+(?:\\\n[ \t]*)?[^\s`|#;]+)*)")
MAKE_COMMAND = re.compile(r"^[ \t]*`?make ([a-z][\w-]*)", re.MULTILINE)  # read in code only: `code_of`
INDENTED_CODE = re.compile(r"^(?: {4}|\t).*$", re.MULTILINE)
# Options a script reads itself before Hydra composes its config (tasks/analyze_videos.py: sweep_arguments).
READ_BEFORE_HYDRA = {"analyze_videos": {"videos"}}


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


def script_commands(markdown: str) -> list[tuple[str, list[str]]]:
    """Each `python scripts/<name>.py ...` of the page: the script's name and its `key=value` arguments (and `-m`),
    without the placeholders a reader fills in (`[optional=...]`, `<run>`, `...`, `$clip`, `a|b` alternatives)."""
    commands = []
    for match in SCRIPT_COMMAND.finditer(markdown):
        text = match.group(2).replace("\\\n", " ")
        try:
            words = shlex.split(text)
        except ValueError:  # a quote the page wraps onto its next line
            words = text.split()
        arguments = [word for word in words if word == "-m" or is_typed_as_shown(word)]
        commands.append((match.group(1), arguments))
    return commands


def is_typed_as_shown(word: str) -> bool:
    """A `key=value` a reader types as it stands: not `[key=value]` (optional), nor one with a value to fill in."""
    return "=" in word and not word.startswith("[") and not any(mark in word for mark in ("<", "...", "$", "|"))


def command_problems(markdown: str) -> list[str]:
    """What is wrong with the page's script commands (a script without a config, an option its config lacks, a
    config group option that does not exist) and `make` targets (none in the Makefile)."""
    problems = []
    for name, arguments in script_commands(markdown):
        command = f"python scripts/{name}.py {' '.join(arguments)}".rstrip()
        if not (CONFIGS / f"{name}.yaml").is_file():
            problems.append(f"{command}: no configs/{name}.yaml")
            continue
        own = READ_BEFORE_HYDRA.get(name, set())
        hydra_arguments = [a for a in arguments if a.partition("=")[0] not in own]
        message = unknown_option_message(name, hydra_arguments)
        if message is not None:
            problems.append(f"{command}: {message}")
    targets = set(re.findall(r"^([a-z][\w-]*):", (PROJECT_ROOT / "Makefile").read_text(), re.MULTILINE))
    made = [target for code in code_of(markdown) for target in MAKE_COMMAND.findall(code)]
    return problems + [f"make {target}: no such target in the Makefile" for target in made if target not in targets]


def code_of(markdown: str) -> list[str]:
    """The page's code: fenced blocks, indented lines and inline spans (with their backticks)."""
    prose = FENCED_CODE.sub("", markdown)
    return [*FENCED_CODE.findall(markdown), *INDENTED_CODE.findall(prose), *INLINE_CODE.findall(prose)]


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


@pytest.mark.parametrize("page", COMMAND_PAGES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_documented_command_names_existing_options(page: Path) -> None:
    assert command_problems(page.read_text()) == []


def test_the_command_check_reads_the_docs_commands() -> None:
    commands = [command for page in COMMAND_PAGES for command in script_commands(page.read_text())]
    assert len(commands) >= 100  # the pages give well over a hundred: the pattern still finds them
    readme = dict(script_commands(README.read_text()))
    assert readme["average_models"] == ["model_paths=[A.pkl,B.pkl]", "output=C.pkl"]
    assert readme["train"] == ["-m", "hparams_search=fer_vgg_small_optuna", "experiment=fer_vgg_small"]
    made = {target for code in code_of(README.read_text()) for target in MAKE_COMMAND.findall(code)}
    assert {"run", "test", "serve"} <= made


def test_the_command_check_finds_a_misspelt_option_and_skips_placeholders() -> None:
    page = (
        "```bash\n"
        "python scripts/predict.py model_path=other.pkl tta=center plots_dir=null   # fine\n"
        "python scripts/predict_image.py pth=photos/ [log=FILE.csv] <more>\n"
        "python scripts/train.py experiment=fer_vgg_smal trainer.max_epoch=3 \\\n"
        "    trainer=cpu\n"
        "python scripts/no_such_script.py a=1\n"
        "make test && make tests\n"
        "make runn\n"
        "```\n"
        "| `python scripts/evaluate_faces.py path=../shared/faces/<set> tabel=x.md` | 50% |\n"
        "`python scripts/analyze_videos.py videos=clips/ every=2`, `make evaluate`, `make tests`\n"
        "    make bench\n"
    )
    problems = command_problems(page)
    assert [p.split(":")[0] for p in problems] == [
        "python scripts/predict_image.py pth=photos/",
        "python scripts/train.py experiment=fer_vgg_smal trainer.max_epoch=3 trainer=cpu",
        "python scripts/no_such_script.py a=1",
        "python scripts/evaluate_faces.py tabel=x.md",
        "make runn",
        "make tests",  # the backticked one; in the block, `make test && make tests` is read up to its first target
    ]
    assert "did you mean path=?" in problems[0]
    assert "has no experiment fer_vgg_smal (did you mean experiment=fer_vgg_small?)" in problems[1]
    assert problems[2].endswith("no configs/no_such_script.yaml")
