"""The documentation stays a user's README plus docs/ (issue 26): a short README whose quick start is two
commands, and links in README.md, CHANGELOG.md and docs/ that all land on a file (and heading) inside the
repository. Pure text checks: no network, no imports of our code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

REPO_ROOT = REPO_ROOT
README = REPO_ROOT / "README.md"
README_MAX_LINES = 250
QUICK_START_COMMANDS = ["make demo", "make test"]

FENCE = re.compile(r"^\s{0,3}(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]*)>")
BARE_URL = re.compile(r"\b(?:https?://|www\.)[^\s)>\]]+", re.IGNORECASE)
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def doc_files() -> list[Path]:
    """README.md, CHANGELOG.md and every Markdown page under docs/."""
    files = [README, REPO_ROOT / "CHANGELOG.md"]
    files += sorted((REPO_ROOT / "docs").rglob("*.md"))
    return [f for f in files if f.exists()]


def outside_fences(text: str) -> tuple[list[tuple[int, str]], bool]:
    """(line number, line as written) of every line outside fenced code blocks, and whether a fenced block
    runs to the end of the file: the one walk over the fences every check below reads."""
    out: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if match:
            fence = match.group(1) if fence is None else (None if match.group(1) == fence else fence)
            continue
        if fence is None:
            out.append((number, line))
    return out, fence is not None


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with inline code spans blanked out."""
    return [
        (number, CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line))
        for number, line in outside_fences(text)[0]
    ]


def fence_left_open(text: str) -> bool:
    """True when a fenced code block runs to the end of the file."""
    return outside_fences(text)[1]


def code_spans(text: str) -> list[tuple[int, str]]:
    """(line number, content) of every inline code span outside fenced blocks."""
    return [
        (number, m.group(2).strip())
        for number, line in outside_fences(text)[0]
        for m in CODE_SPAN.finditer(line)
    ]


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every inline link, image, reference definition and autolink in prose."""
    found: list[tuple[int, str]] = []
    for number, line in prose_lines(text):
        found += [(number, m.group(1)) for m in INLINE_LINK.finditer(line)]
        found += [(number, m.group(1)) for m in AUTOLINK.finditer(line)]
        definition = REFERENCE_DEFINITION.match(line)
        if definition:
            found.append((number, definition.group(1)))
    return found


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: rendered text, lowercased, punctuation dropped, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link renders as its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML renders as nothing here
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, with GitHub's -1, -2 ... suffixes for repeated headings."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for _, line in outside_fences(path.read_text(encoding="utf-8"))[0]:
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def inside_repo(path: Path) -> bool:
    return path.resolve().is_relative_to(REPO_ROOT)


def exists_in_repo(path: Path) -> bool:
    return path.exists()


def link_problems(source: Path) -> list[str]:
    """What is wrong with each link of one file: external, escaping the repo, missing file or heading."""
    problems: list[str] = []
    text = source.read_text(encoding="utf-8")
    where = source.relative_to(REPO_ROOT).as_posix()
    for number, line in prose_lines(text):
        prose = AUTOLINK.sub("", INLINE_LINK.sub("", line))  # links are checked below, as links
        problems += [f"{where}:{number}: URL outside code: {m.group(0)}" for m in BARE_URL.finditer(prose)]
    for number, target in links(text):
        if not target:
            problems.append(f"{where}:{number}: empty link")
            continue
        if SCHEME.match(target) or target.startswith("//"):
            problems.append(f"{where}:{number}: link outside the repository: {target}")
            continue
        if target.startswith("/"):
            problems.append(f"{where}:{number}: absolute link (write it relative to the file): {target}")
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (source.parent / file_part).resolve() if file_part else source
        if not inside_repo(resolved):
            problems.append(f"{where}:{number}: link escapes the repository: {target}")
        elif not exists_in_repo(resolved):
            problems.append(f"{where}:{number}: no such file: {target}")
        elif anchor and resolved.suffix == ".md" and resolved.is_file() and anchor not in anchors(resolved):
            problems.append(f"{where}:{number}: no heading #{anchor} in {file_part or where}")
    if fence_left_open(text):
        problems.append(f"{where}: a code fence is never closed (everything after it reads as code)")
    for number, span in code_spans(text):
        if span.startswith("../") and not inside_repo(source.parent / span.split()[0]):
            problems.append(f"{where}:{number}: path outside the repository: {span}")
    return problems


def section(text: str, title: str) -> str:
    """The body of the level-2 section with that title, up to the next level-1 or level-2 heading."""
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^#{{1,2}} |\Z)", text, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def commands_in(markdown: str) -> list[str]:
    """The commands of every fenced block: non-blank lines, prompts and trailing comments removed."""
    commands: list[str] = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", markdown, re.M | re.S):
        for line in block.splitlines():
            command = re.sub(r"\s+#.*$", "", line).removeprefix("$ ").strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def test_readme_is_at_most_250_lines():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail into docs/"


def test_the_quick_start_is_exactly_make_demo_and_make_test():
    quick_start = section(README.read_text(encoding="utf-8"), "Quick start")
    assert commands_in(quick_start) == QUICK_START_COMMANDS


@pytest.mark.parametrize("source", doc_files(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_every_link_resolves_inside_the_repository(source: Path):
    assert link_problems(source) == []


def test_the_docs_this_test_guards_exist():
    names = {p.relative_to(REPO_ROOT).as_posix() for p in doc_files()}
    assert {"README.md", "CHANGELOG.md", "docs/architecture.md", "docs/local-runtime.md"} <= names
