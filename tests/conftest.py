"""Session fixtures for real engines; the logic lives in tests/engines.py."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import engines
from tests.contract import TARGETS, Target, Workspace
from tests.engines import Engine, EngineKind, Registry


@pytest.fixture(scope="session")
def engines_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Logs and configs of the engines started in this session."""
    return tmp_path_factory.mktemp("engines")


@pytest.fixture(scope="session")
def started_engines() -> list[Engine]:
    """Engines the engine fixtures have handed out so far (for namespace cleanup)."""
    return []


def _engine(kind: EngineKind, root: Path, started: list[Engine]) -> Iterator[Engine]:
    try:
        engine = engines.start_engine(kind, root)
    except (engines.EngineError, OSError) as exc:
        message = f"{kind} engine unavailable (see contrib/setup-engines.sh): {exc}"
        raise pytest.fail.Exception(message, pytrace=False) from None
    started.append(engine)
    yield engine
    engines.stop(engine)


@pytest.fixture(scope="session")
def docker_engine(engines_root: Path, started_engines: list[Engine]) -> Iterator[Engine]:
    yield from _engine("docker", engines_root, started_engines)


@pytest.fixture(scope="session")
def podman_engine(engines_root: Path, started_engines: list[Engine]) -> Iterator[Engine]:
    yield from _engine("podman", engines_root, started_engines)


@pytest.fixture(params=["docker", "podman"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Each test using it runs once on dockerd and once on podman."""
    started: Engine = request.getfixturevalue(f"{request.param}_engine")
    return started


@pytest.fixture(scope="session")
def busybox_image() -> Callable[[Engine], str]:
    """busybox_image(engine) -> tag of the busybox image on that engine (imported if missing)."""
    return engines.build_busybox_image


@pytest.fixture(scope="session")
def registry(engines_root: Path) -> Iterator[Registry]:
    """Plain-HTTP registry on 127.0.0.1:REGISTRY_PORT (podman_engine trusts that port)."""
    try:
        reg = engines.start_registry(engines_root)
    except (engines.EngineError, OSError) as exc:
        raise pytest.fail.Exception(f"start_registry failed: {exc}", pytrace=False) from None
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
