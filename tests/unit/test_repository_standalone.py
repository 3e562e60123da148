"""The repository stands alone (仓库自成一体): no tracked file of README.md, docs/, src/, tests/, benchmarks/ or
pyproject.toml points outside it (the project's spec folder beside it, or its pages by name), and every relative link
of README.md and docs/ leads to a file that exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCOPES = ("README.md", "pyproject.toml", "Makefile", "docs", "src", "tests", "benchmarks", "scripts")
# built from parts so that this file does not trip its own check
OUTSIDE = re.compile("|".join(re.escape(p) for p in (
    "../" + "shared", "RULES" + ".md", "DOMAIN" + ".md", "CONTRACT" + ".md", "ENGINE-NOTES" + ".md",
    "ARCHITECTURE" + ".md", "STYLE" + ".md")))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
TEXT_SUFFIXES = {".py", ".md", ".toml", ".ini", ".cfg", ".txt", ".html", ".js", ".css", ".sh", ".mako", ".json",
                 ".yaml", ".yml", ".csv", ""}


def _tracked() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--", *SCOPES], cwd=ROOT, capture_output=True, check=True)
        files = [ROOT / name for name in out.stdout.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an unpacked archive): walk the tree
        files = [p for s in SCOPES for p in ((ROOT / s).rglob("*") if (ROOT / s).is_dir() else [ROOT / s])]
    return [f for f in files if f.is_file() and f.suffix in TEXT_SUFFIXES and "__pycache__" not in f.parts]


def outside_references(files: list[Path]) -> list[str]:
    found = []
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            m = OUTSIDE.search(line)
            if m:
                found.append(f"{f.relative_to(ROOT)}:{n}: {m.group(0)}")
    return found


def broken_links(pages: list[Path]) -> list[str]:
    broken = []
    for page in pages:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)  # no links in code
        for target in LINK.findall(text):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # http(s), mailto, in-page anchors
            path = unquote(target.split("#", 1)[0])
            if not (page.parent / path).resolve().exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    return broken


def test_no_tracked_file_points_outside_the_repository() -> None:
    assert outside_references(_tracked()) == []


def test_every_relative_link_in_readme_and_docs_exists() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    assert len(pages) > 20
    assert broken_links(pages) == []


def test_the_checks_catch_what_they_look_for() -> None:
    page = ROOT / "docs" / "en" / "_probe.md"
    try:
        page.write_text("See [x](nowhere.md), [ok](rules.md), [web](https://example.org), RULES" + ".md A4\n",
                        encoding="utf-8")
        assert broken_links([page]) == ["docs/en/_probe.md: nowhere.md"]
        assert outside_references([page]) == ["docs/en/_probe.md:1: RULES" + ".md"]
    finally:
        page.unlink()


@pytest.mark.parametrize("name", ["input", "expected"])
def test_the_worked_example_is_in_the_repository(name: str) -> None:
    folder = ROOT / "tests" / "data" / "county-2026" / name
    assert any(folder.glob("*.csv")), folder
