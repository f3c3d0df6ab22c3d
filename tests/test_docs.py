"""The documents a newcomer reads: every relative link of the README and of docs/ leads to a
file that exists and, when it names a heading, to that heading; the README keeps the two
commands it promises; and the layout in docs/architecture.md names every module (a
sub-package's ``__init__.py`` by its folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("benchmarks/*.md")])
_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} +(.+?) *#* *$", re.MULTILINE)


def _prose(path: Path) -> str:
    """The text of a document without its code, where brackets are no links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", path.read_text(encoding="utf-8")))


def anchors(path: Path) -> set[str]:
    """The anchors of a document's headings, spelt as GitHub makes them: lower case,
    punctuation dropped, spaces as hyphens, and ``-1``, ``-2`` after repeats."""
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for heading in _HEADING.findall(text):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        unique, count = slug, 0
        while unique in found:
            count += 1
            unique = f"{slug}-{count}"
        found.add(unique)
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """The relative links of ``path`` that lead nowhere, with the reason (paths from ``root``)."""
    broken = []
    for target in _LINK.findall(_prose(path)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            broken.append(f"{target}: no file {dest.relative_to(root)}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.relative_to(root)}")
    return broken


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading(path: Path) -> None:
    assert broken_links(path) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("[a](docs/konlet.md)", [], id="a file that exists"),
        pytest.param("[a](docs/konlet.md#converting)", [], id="a heading that exists"),
        pytest.param("[a](#usage)", [], id="a heading of the same file"),
        pytest.param("[a](https://example.com/x.md)", [], id="an address is not checked"),
        pytest.param("`[a](nowhere.md)`", [], id="code is no link"),
        pytest.param("[a](nowhere.md)", ["nowhere.md: no file nowhere.md"], id="no such file"),
        pytest.param(
            "[a](docs/konlet.md#gone)",
            ["docs/konlet.md#gone: no heading #gone in docs/konlet.md"],
            id="no such heading",
        ),
    ],
)
def test_a_broken_link_is_found(tmp_path: Path, text: str, expected: list[str]) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "konlet.md").write_text("# Konlet\n\n## Converting\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(f"# Usage\n\n{text}\n", encoding="utf-8")
    assert broken_links(page, tmp_path) == expected


def test_anchors_are_spelt_as_github_spells_them(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# The manifest (`v1beta1`)\n## Metrics, health, logs and systemd\n## Notes\n## Notes\n"
        "```\n# not a heading\n```\n",
        encoding="utf-8",
    )
    assert anchors(page) == {
        "the-manifest-v1beta1",
        "metrics-health-logs-and-systemd",
        "notes",
        "notes-1",
    }


def test_the_readme_keeps_its_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert "    bash contrib/quickstart.sh" in lines
    assert "    bash contrib/test.sh" in lines


def test_the_layout_names_every_module() -> None:
    layout = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = sorted([*(ROOT / "agent").rglob("*.py"), *(ROOT / "backends").rglob("*.py")])
    missing = []
    for path in modules:
        names = {f"`{path.relative_to(ROOT)}`"}
        if path.name == "__init__.py":
            names.add(f"`{path.parent.relative_to(ROOT)}/`")
        if not any(name in layout for name in names):
            missing.append(str(path.relative_to(ROOT)))
    assert missing == []
