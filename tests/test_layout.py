"""The shape of the tree, as a newcomer relies on it: sub-packages that import downward
only, and no module or class too long to read in one sitting.

The layers, from the ground up, and what each may import (besides :mod:`agent.errors` and
:mod:`agent.lazy`, which import nothing of the agent). The command line and the package's face
(``agent/__init__.py``) sit on top and may import anything; so does :mod:`agent.testing`,
the contract suite's kit for backends, which nothing of the agent or the backends imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

AGENT = Path(__file__).resolve().parent.parent / "agent"
BACKENDS = AGENT.parent / "backends"

MAY_IMPORT: dict[str, set[str]] = {
    "manifest": set(),
    "convert": {"manifest"},
    "planning": {"manifest"},
    "state": {"manifest", "planning"},
    "sources": {"manifest", "planning", "state"},
    "engine": {"manifest", "planning", "state"},
    "output": {"manifest", "planning", "engine"},
    "daemon": {"manifest", "planning", "state", "sources", "engine"},
}
MAY_IMPORT["testing"] = set(MAY_IMPORT)  # the top: for tests only, nothing imports it
MAX_FILE_LINES = 600
MAX_CLASS_LINES = 300


def _agent_imports(path: Path) -> set[str]:
    """The parts of the agent that ``path`` imports: a sub-package, or a top module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "agent":
                names = [f"agent.{alias.name}" for alias in node.names]
            else:
                names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "agent" and len(parts) > 1:
                found.add(parts[1])
    return found


def _package_files(package: str) -> list[Path]:
    return sorted((AGENT / package).glob("*.py"))


def test_every_module_of_the_agent_lives_in_a_layer() -> None:
    top = {path.stem for path in AGENT.glob("*.py")}
    assert top == {"__init__", "__main__", "errors", "lazy"}
    packages = {path.parent.name for path in AGENT.glob("*/__init__.py")}
    assert packages - {"cli"} == set(MAY_IMPORT)


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_a_layer_imports_only_the_layers_below_it(package: str) -> None:
    allowed = MAY_IMPORT[package] | {package, "errors", "lazy", "__version__"}
    wrong = {
        f"{path.name} imports agent.{name}"
        for path in _package_files(package)
        for name in _agent_imports(path) - allowed
    }
    assert not wrong


def test_errors_imports_nothing_of_the_agent() -> None:
    assert _agent_imports(AGENT / "errors.py") == set()


def test_nothing_of_the_agent_or_the_backends_imports_the_testing_kit() -> None:
    importers = [
        path.relative_to(AGENT.parent).as_posix()
        for path in _sources()
        if AGENT / "testing" not in path.parents and "testing" in _agent_imports(path)
    ]
    assert importers == []


def test_the_layers_form_no_cycle() -> None:
    seen: list[str] = []
    remaining = dict(MAY_IMPORT)
    while remaining:
        ready = [name for name, below in remaining.items() if below <= set(seen)]
        assert ready, f"a cycle among {sorted(remaining)}"
        seen.extend(sorted(ready))
        for name in ready:
            del remaining[name]


def _sources() -> list[Path]:
    return sorted([*AGENT.rglob("*.py"), *BACKENDS.rglob("*.py")])


def test_no_module_is_longer_than_a_sitting() -> None:
    long = {
        f"{path.relative_to(AGENT.parent)}: {lines} lines"
        for path in _sources()
        if (lines := len(path.read_text().splitlines())) > MAX_FILE_LINES
    }
    assert not long


def test_no_class_is_longer_than_a_sitting() -> None:
    long = set()
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_CLASS_LINES:
                    long.add(f"{path.relative_to(AGENT.parent)}: {node.name}, {lines} lines")
    assert not long
