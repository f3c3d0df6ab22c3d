"""Session fixtures for real engines; the logic lives in tests/engines.py.

A test that needs a real engine carries the ``engine`` mark. It is given by what the test
asks for: every test whose fixtures include an engine, a contract target or the registry
(:data:`ENGINE_FIXTURES`) is marked at collection, and a file that reaches engines in
another way says ``pytestmark = pytest.mark.engine``. So ``pytest -m "not engine"`` runs
the offline suite: no root, no engine, a few seconds. In that run an engine fixture that
is reached anyway skips with the reason; in a full run (CI, ``contrib/test.sh``) an
engine that cannot start fails the test, never skips it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

# The shipped checks' failures are told as a test module's are (before anything imports them).
pytest.register_assert_rewrite("agent.testing.contract")

from agent.testing import EngineAccess, Target, Workspace  # noqa: E402
from tests import engines  # noqa: E402
from tests.contract import TARGETS  # noqa: E402
from tests.engines import Engine, EngineKind, Registry  # noqa: E402

ENGINE_FIXTURES = frozenset({"docker_engine", "podman_engine", "engine", "target", "registry"})
"""Fixtures that start or hand out a real engine (or the registry beside them)."""


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if ENGINE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.engine)


def _offline(config: pytest.Config) -> bool:
    """Whether this run left the engine tests out (``-m "not engine"``)."""
    return "not engine" in (config.getoption("markexpr") or "")


def _unavailable(config: pytest.Config, what: str, exc: BaseException) -> NoReturn:
    message = f"{what} unavailable (see contrib/setup-engines.sh): {exc}"
    if _offline(config):
        pytest.skip(f"needs a real engine, and this run is offline: {message}")
    raise pytest.fail.Exception(message, pytrace=False) from None


@pytest.fixture(scope="session")
def engines_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Logs and configs of the engines started in this session."""
    return tmp_path_factory.mktemp("engines")


@pytest.fixture(scope="session")
def started_engines() -> list[Engine]:
    """Engines the engine fixtures have handed out so far (for namespace cleanup)."""
    return []


def _engine(
    kind: EngineKind, root: Path, started: list[Engine], config: pytest.Config
) -> Iterator[Engine]:
    if _offline(config):
        pytest.skip(f"needs the {kind} engine, and this run is offline (-m 'not engine')")
    try:
        engine = engines.start_engine(kind, root)
    except (engines.EngineError, OSError) as exc:
        _unavailable(config, f"{kind} engine", exc)
    started.append(engine)
    yield engine
    engines.stop(engine)


@pytest.fixture(scope="session")
def docker_engine(
    engines_root: Path, started_engines: list[Engine], pytestconfig: pytest.Config
) -> Iterator[Engine]:
    yield from _engine("docker", engines_root, started_engines, pytestconfig)


@pytest.fixture(scope="session")
def podman_engine(
    engines_root: Path, started_engines: list[Engine], pytestconfig: pytest.Config
) -> Iterator[Engine]:
    yield from _engine("podman", engines_root, started_engines, pytestconfig)


@pytest.fixture(params=["docker", "podman"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Each test using it runs once on dockerd and once on podman."""
    started: Engine = request.getfixturevalue(f"{request.param}_engine")
    return started


@pytest.fixture(scope="session")
def busybox_image() -> Callable[[EngineAccess], str]:
    """busybox_image(engine) -> tag of the busybox image on that engine (imported if missing)."""
    return engines.build_busybox_image


@pytest.fixture(scope="session")
def registry(engines_root: Path, pytestconfig: pytest.Config) -> Iterator[Registry]:
    """Plain-HTTP registry on 127.0.0.1:REGISTRY_PORT (podman_engine trusts that port)."""
    if _offline(pytestconfig):
        pytest.skip("needs the test registry, and this run is offline (-m 'not engine')")
    try:
        reg = engines.start_registry(engines_root)
    except (engines.EngineError, OSError) as exc:
        _unavailable(pytestconfig, "the test registry", exc)
    yield reg
    engines.stop(reg)


@pytest.fixture
def namespace(started_engines: list[Engine]) -> Iterator[str]:
    """A fresh ``t-<8 hex>`` namespace; its containers are force-removed afterwards."""
    name = f"t-{secrets.token_hex(4)}"
    yield name
    for engine in started_engines:
        engines.remove_namespace(engine, name)


@pytest.fixture(params=[pytest.param(t[:2], id=t[2]) for t in TARGETS])
def target(request: pytest.FixtureRequest) -> Target:
    """Each contract test runs once per backend and engine in TARGETS."""
    backend_name, kind = request.param
    engine: Engine = request.getfixturevalue(f"{kind}_engine")
    docker_cmd = engine.cli if backend_name == "docker-cli" else "docker"
    return Target(backend_name, engine, docker_cmd)


@pytest.fixture
def ws(target: Target, namespace: str, tmp_path: Path) -> Workspace:
    """A namespace, a manifest file and a volumes root on one target."""
    return Workspace(target, namespace, tmp_path)
