"""The library's API as a caller meets it: a small front in ``agent``, the rest in the
sub-packages, every name of every ``__all__`` importable, every type a public function takes,
returns or raises importable from a public place, one error to catch, and imports that load
nothing before it is used.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import agent
import backends
from agent.errors import AgentError
from tests.engines import CLI_TIMEOUT, Engine, list_namespace

ROOT = Path(__file__).resolve().parent.parent
SUBPACKAGES = ("manifest", "planning", "state", "sources", "engine", "output", "daemon", "convert")
PLACES = ("agent", "agent.errors", "backends", *(f"agent.{name}" for name in SUBPACKAGES))
"""Where a caller imports from: the package, its sub-packages, the errors, the backends."""
LAZY = tuple(place for place in PLACES if place != "agent.errors")

NOT_EXPORTED: dict[str, str] = {}
"""Types of public signatures that no public place exports yet, each with the reason."""

INTERNAL_EXCEPTIONS = {
    "agent.manifest.fields.TooManyErrors": "ends a reading; the schema reports what it found",
    "agent.convert.compose_binds.NotBound": "a bind mount not mapped; the import makes it a note",
    "agent.convert.compose_common.Refused": "a service left out; the import makes it a note",
}
"""Exceptions that never leave the library: each is caught where it is raised."""

PUBLIC_ERRORS = [
    ("agent", "AgentError"),
    ("agent", "ManifestError"),
    ("agent", "SettingsError"),
    ("agent", "BackendError"),
    ("agent", "EngineUnreachable"),
    ("agent.errors", "MultiSourceError"),
    ("agent.errors", "VolumeError"),
    ("agent.errors", "ImageNotPresent"),
    ("agent.manifest", "QuantityError"),
    ("agent.planning", "BackoffError"),
    ("agent.planning", "NetworkConflict"),
    ("agent.state", "NamespaceLocked"),
    ("agent.sources", "SignatureError"),
    ("agent.sources", "UrlFetchError"),
    ("agent.engine", "UnknownContainer"),
    ("agent.daemon", "MetricsError"),
    ("agent.convert", "ComposeError"),
    ("agent.convert", "InterpolationError"),
    ("agent.convert", "ConversionError"),
    ("agent.testing", "EngineFailed"),
    ("backends", "BackendError"),
    ("backends", "EngineUnreachable"),
    ("backends", "NotFound"),
    ("backends", "ImageUnavailable"),
    ("backends", "Unsupported"),
    ("backends", "Conflict"),
]


def _all(place: str) -> list[str]:
    names: list[str] = importlib.import_module(place).__all__
    return names


@pytest.mark.parametrize(
    ("place", "name"), [(place, name) for place in PLACES for name in _all(place)]
)
def test_every_name_of_every_all_resolves(place: str, name: str) -> None:
    assert getattr(importlib.import_module(place), name) is not None


def test_the_front_is_small() -> None:
    assert len(agent.__all__) <= 21


@pytest.mark.parametrize("place", LAZY)
def test_a_lazy_name_is_listed_where_mypy_and_the_reader_see_it(place: str) -> None:
    """``__all__``, the names imported for type checkers and the names loaded on first use
    are the same list: no name is typed but not loadable, or loadable but not listed."""
    module = importlib.import_module(place)
    path = Path(module.__file__ or "")
    typed = {
        alias.asname or alias.name
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
        for child in node.body
        if isinstance(child, ast.ImportFrom)
        for alias in child.names
    }
    eager = {name for name in module.__all__ if name in vars(module)} - typed
    assert set(module.__all__) - eager == typed == set(module._HOMES)


@pytest.mark.parametrize("place", LAZY)
def test_importing_a_place_loads_none_of_its_modules(place: str) -> None:
    """A sub-package loads a module when one of its names is first used, so that a command
    pays only for what it runs (``agent validate`` loads no engine code)."""
    code = f"import sys, {place}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    ours = {m for m in done.stdout.split() if m.split(".")[0] in ("agent", "backends")}
    assert ours <= {"agent", "agent.errors", "agent.lazy", place}


def _modules() -> Iterator[types.ModuleType]:
    for package in (agent, backends):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not info.name.endswith("__main__"):
                yield importlib.import_module(info.name)


def _exported() -> set[int]:
    return {id(getattr(importlib.import_module(p), n)) for p in PLACES for n in _all(p)}


def _ours(kind: type) -> bool:
    return kind.__module__.split(".")[0] in ("agent", "backends")


@pytest.mark.parametrize(("place", "name"), PUBLIC_ERRORS, ids=[n for _, n in PUBLIC_ERRORS])
def test_each_public_error_is_an_agent_error(place: str, name: str) -> None:
    error = getattr(importlib.import_module(place), name)
    assert issubclass(error, AgentError)


def test_every_error_of_the_library_is_a_public_agent_error() -> None:
    """Every exception class of ``agent`` and ``backends`` is in the table above (so it is
    an AgentError and importable from its place), or one of the internal ones."""
    listed = {getattr(importlib.import_module(place), name) for place, name in PUBLIC_ERRORS}
    found = {
        f"{kind.__module__}.{kind.__qualname__}": kind
        for module in _modules()
        for kind in vars(module).values()
        if isinstance(kind, type) and issubclass(kind, BaseException) and _ours(kind)
    }
    unlisted = {
        name
        for name, kind in found.items()
        if kind not in listed and name not in INTERNAL_EXCEPTIONS and "._" not in name
    }
    assert unlisted == set()
    assert set(INTERNAL_EXCEPTIONS) <= set(found)


def test_agent_errors_lists_every_public_error() -> None:
    """The one list a caller reads: agent/errors.py's docstring names each public error."""
    listed = agent.errors.__doc__ or ""
    assert {name for _, name in PUBLIC_ERRORS if f"``{name}``" not in listed} == set()


def _signatures(obj: Any) -> list[Any]:
    """The callables and attrs classes whose annotations make up ``obj``'s public face."""
    if not inspect.isclass(obj):
        return [obj] if inspect.isfunction(obj) else []
    found: list[Any] = [obj] if attrs.has(obj) else []
    for name, member in vars(obj).items():
        if name.startswith("_") and name != "__init__":
            continue
        if isinstance(member, (classmethod, staticmethod)):
            found.append(member.__func__)
        elif isinstance(member, property) and member.fget is not None:
            found.append(member.fget)
        elif inspect.isfunction(member):
            found.append(member)
    return found


def _classes(hint: Any) -> Iterator[type]:
    if isinstance(hint, type):
        if _ours(hint):
            yield hint
        return
    for argument in typing.get_args(hint):
        yield from _classes(argument)


def test_every_type_of_a_public_signature_is_importable_from_a_public_place() -> None:
    """What a public function takes or returns, and the fields of a public model, can be
    named by a caller without reaching into a module."""
    names = {k: v for m in _modules() for k, v in vars(m).items() if isinstance(v, type)}
    exported = _exported()
    missing: dict[str, set[str]] = {}
    for place in PLACES:
        for name in _all(place):
            for target in _signatures(getattr(importlib.import_module(place), name)):
                scope = {**names, **vars(sys.modules[target.__module__])}
                for hint in typing.get_type_hints(target, globalns=scope).values():
                    for kind in _classes(hint):
                        if id(kind) not in exported:
                            where = f"{kind.__module__}.{kind.__qualname__}"
                            missing.setdefault(where, set()).add(f"{place}.{name}")
    assert set(missing) - set(NOT_EXPORTED) == set(), missing
    assert set(NOT_EXPORTED) <= set(missing), "an entry of NOT_EXPORTED is exported now"


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## As a library\n", 1)[1]
    return section.split("```python\n", 1)[1].split("\n```", 1)[0]


def test_the_readme_example_imports_only_public_names() -> None:
    for node in ast.walk(ast.parse(_readme_example())):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            assert node.module in PLACES, node.module
            assert {a.name for a in node.names} <= set(_all(node.module)), node.module


def test_the_readme_example_runs(
    docker_engine: Engine,
    busybox_image: Callable[[Engine], str],
    namespace: str,
    tmp_path: Path,
) -> None:
    """The README's example, as printed, in a namespace of its own on dockerd: it prints the
    plan, then one line per action, and the container runs."""
    image = busybox_image(docker_engine)
    (tmp_path / "containers.yaml").write_text(
        "version: v1beta1\ncontainers:\n"
        f"  - name: web\n    image: {image}\n    command: [sleep, '3600']\n"
    )
    code = _readme_example().replace('namespace="my-tool"', f'namespace="{namespace}"')
    environ = {k: v for k, v in docker_engine.environ().items() if k != "CONTAINER_HOST"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, cwd=tmp_path, timeout=CLI_TIMEOUT,
        env={**environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "+ web" in done.stdout
    assert done.stdout.splitlines()[-1] == "start web ok"
    assert list_namespace(docker_engine, namespace)
