"""The docs stay true: every relative link and anchor in README.md and docs/ leads somewhere,
and every `make` target and repository path they name exists."""

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").rglob("*.md")),
    *sorted(ROOT.glob("roles/*/README.md")),
]
LINK = re.compile(
    r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|<a [^>]*href=\"([^\"]+)\"|<img [^>]*src=\"([^\"]+)\""
)
HEADING = re.compile(r"^(#{1,6}) +(.+?) *#*$")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
MAKE_TARGET = re.compile(r"\bmake +((?:[a-z][\w-]* *)+)")
TOP_FOLDERS = (
    "app/",
    "roles/",
    "tests/",
    "ansible/",
    "inventory/",
    "docs/",
    "requirements/",
    "group_vars/",
    "tools/",
)
# Paths the operator makes (their inventory) or a run writes (build/) are not in the tree.
MADE_LATER = ("inventory/production/", "inventory/production ")


def anchor_of(heading: str) -> str:
    """The forge's anchor for a heading: lower case, punctuation gone, spaces to dashes."""
    text = re.sub(r"`|\*\*|\*", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found, in_code = set(), False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (match := HEADING.match(line)):
            found.add(anchor_of(match.group(2)))
    return found


def links(page: Path):
    in_code = False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        for match in LINK.finditer(line):
            yield next(group for group in match.groups() if group)


def names(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("page", PAGES, ids=names)
def test_every_relative_link_and_anchor_leads_somewhere(page):
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target) or target.startswith("<"):
            continue  # another site, a mail address, a placeholder
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(ROOT)}")
    assert not broken, f"{names(page)} has broken links:\n" + "\n".join(broken)


def code_of(page: Path):
    """What a reader would type: code spans and the lines of fenced code blocks."""
    in_block = False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            in_block = not in_block
        elif in_block:
            yield line.split("#")[0]
        else:
            yield from CODE_SPAN.findall(line)


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][\w-]*):", text, re.M))


@pytest.mark.parametrize("page", PAGES, ids=names)
def test_every_make_target_named_exists(page):
    known = make_targets()
    named = {
        word
        for code in code_of(page)
        for match in MAKE_TARGET.finditer(code)
        for word in match.group(1).split()
    }
    missing = sorted(named - known)
    assert not missing, f"{names(page)} names make targets the Makefile lacks: {missing}"


def named_paths(page: Path):
    for match in CODE_SPAN.finditer(page.read_text()):
        for word in match.group(1).split():
            word = word.rstrip(".,;:)").split(":")[0]
            if word.startswith(TOP_FOLDERS) and not re.search(r"[<>*…{}$]|\.\.\.", word):
                yield word


@pytest.mark.parametrize("page", PAGES, ids=names)
def test_every_repository_path_named_exists(page):
    missing = sorted(
        {
            path
            for path in named_paths(page)
            if not (ROOT / path).exists() and not (path + " ").startswith(MADE_LATER)
        }
    )
    assert not missing, f"{names(page)} names paths that do not exist: {missing}"


def test_the_checks_find_a_broken_link_a_missing_target_and_path(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n[gone](nowhere.md) [self](#title) [bad](#untitled)\n"
        "`make nosuch` `app/nosuch.py`\n"
    )
    assert list(links(page)) == ["nowhere.md", "#title", "#untitled"]
    assert anchors(page) == {"title"}
    assert [m.group(1) for code in code_of(page) for m in MAKE_TARGET.finditer(code)] == ["nosuch"]
    assert list(named_paths(page)) == ["app/nosuch.py"]
