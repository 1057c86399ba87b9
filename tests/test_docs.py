"""The documentation's references hold: every relative link or image in a markdown file points at
a file that exists (and at one of its headings, where the link names one), and every
``docs/NAME.md, "Section"`` that the code, the tests and the docs cite names a file that exists
with a heading that begins so."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: where the repository's own text lives (not .venv, not the benchmarks' outputs)
TEXT_DIRS = ("docs", "blender_smplify", "benchmarks", "tools", "tests", "onnx_models")
SKIPPED_DIRS = {"out", "__pycache__", "node_modules"}
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CITATION = re.compile(r"docs/(\w+\.md)`*,\s*\"([^\"]+)\"")
MENTION = re.compile(r"docs/(\w+\.md)")


def text_files(suffixes: tuple[str, ...]) -> list[Path]:
    """The repository's files ending in one of ``suffixes``: at the top and under TEXT_DIRS
    (not descending into SKIPPED_DIRS, which may hold thousands of renders)."""
    found = [path for path in ROOT.iterdir() if path.suffix in suffixes]
    for folder in TEXT_DIRS:
        for top, dirs, files in os.walk(ROOT / folder):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
            found += [Path(top, name) for name in files if Path(name).suffix in suffixes]
    return sorted(found)


def headings(path: Path) -> list[str]:
    """The markdown headings of ``path`` (outside fenced code), without their #'s and backticks."""
    found, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            found.append(line.lstrip("#").strip().replace("`", ""))
    return found


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.replace("*", "").lower()).replace(" ", "-")


def flat(text: str) -> str:
    """``text`` on one line: comment markers at line starts dropped, whitespace runs as one space,
    so that a citation wrapped over comment or docstring lines reads as one."""
    return re.sub(r"\s+", " ", re.sub(r"(?m)^\s*#:?", " ", text))


def test_markdown_links_reach_files_and_headings():
    broken = []
    for page in text_files((".md",)):
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, fragment = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif fragment and fragment not in {anchor(h) for h in headings(linked)}:
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_cited_docs_and_sections_exist():
    broken = []
    for source in text_files((".md", ".py")):
        if source == Path(__file__).resolve():
            continue
        text = flat(source.read_text(encoding="utf-8"))
        for name in set(MENTION.findall(text)):
            if not (ROOT / "docs" / name).exists():
                broken.append(f"{source.relative_to(ROOT)}: docs/{name} (no such file)")
        for name, section in CITATION.findall(text):
            page = ROOT / "docs" / name
            wanted = section.replace("`", "").rstrip(".,;")
            if page.exists() and not any(h.startswith(wanted) for h in headings(page)):
                broken.append(f'{source.relative_to(ROOT)}: docs/{name}, "{section}"')
    assert not broken, "citations of missing files or sections:\n" + "\n".join(broken)


def test_the_checks_see_a_broken_link_and_a_stale_citation():
    """The patterns find what they are for (a check that matches nothing passes vacuously)."""
    assert LINK.findall('see ![x](a.png) and [b](docs/fit.md#the-method "t")') == [
        "a.png",
        "docs/fit.md#the-method",
    ]
    cited = flat('(``docs/fit.md``, "The stalled\n    #: stage")')
    assert CITATION.findall(cited) == [("fit.md", "The stalled stage")]
    heading = "Where issue 9 stands: the `fit`'s (step 2)"
    assert anchor(heading) == "where-issue-9-stands-the-fits-step-2"
