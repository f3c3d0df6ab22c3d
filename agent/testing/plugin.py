"""A pytest plugin: the contract fixtures on a backend and an engine named on the command line.

Load it with ``-p agent.testing.plugin`` (or ``pytest_plugins = ["agent.testing.plugin"]`` in
a conftest.py) and name the target::

    --contract-backend=NAME   the backend's name under the container_agent.backends entry point
    --contract-host=URL       the running engine's address, as ``agent --host`` takes it
    --contract-engine=KIND    docker or podman: the engine's own CLI checks what the agent did
    --contract-docker-cmd=CMD for a CLI-driven backend, the command it runs (default docker)

Each test then asks for ``ws`` (a :class:`~agent.testing.Workspace` in a fresh namespace,
whose containers are force-removed afterwards), or ``target`` and ``namespace`` alone. A test
that asks for them without ``--contract-backend`` fails and says which option is missing.
A conftest.py that defines fixtures of the same names (as the agent's own tests do, to run
on four targets) takes precedence over these.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# The shipped checks' failures are told as a test module's are (before a test file imports them).
pytest.register_assert_rewrite("agent.testing.contract")

from agent.testing.image import build_busybox_image  # noqa: E402
from agent.testing.namespaces import remove_namespace  # noqa: E402
from agent.testing.workspace import CliEngine, EngineAccess, Target, Workspace  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("container-agent contract")
    group.addoption("--contract-backend", help="backend name (container_agent.backends)")
    group.addoption("--contract-host", help="engine address, e.g. unix:///run/docker.sock")
    group.addoption(
        "--contract-engine", choices=("docker", "podman"), default="docker", help="engine kind"
    )
    group.addoption("--contract-docker-cmd", default="docker", help="CLI for CLI backends")


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    """The backend under test, on the engine the options name."""
    backend = pytestconfig.getoption("contract_backend")
    host = pytestconfig.getoption("contract_host")
    if not backend or not host:
        missing = "--contract-backend" if not backend else "--contract-host"
        raise pytest.UsageError(f"the contract fixtures need {missing} (agent.testing.plugin)")
    kind = pytestconfig.getoption("contract_engine")
    variable = "DOCKER_HOST" if kind == "docker" else "CONTAINER_HOST"
    engine = CliEngine(kind, host, kind, {variable: host})  # CONTAINER_HOST: podman --remote
    return Target(backend, engine, pytestconfig.getoption("contract_docker_cmd"))


@pytest.fixture
def namespace(target: Target) -> Iterator[str]:
    """A fresh ``t-<8 hex>`` namespace; its containers and networks are removed afterwards."""
    name = f"t-{secrets.token_hex(4)}"
    yield name
    remove_namespace(target.engine, name)


@pytest.fixture(scope="session")
def busybox_image() -> Callable[[EngineAccess], str]:
    """busybox_image(engine) -> tag of the busybox image on that engine (imported if missing)."""
    return build_busybox_image


@pytest.fixture(scope="session")
def checks_image(target: Target) -> str:
    """The checks' image on the target's engine, imported once from the host's busybox."""
    return build_busybox_image(target.engine)


@pytest.fixture
def ws(target: Target, namespace: str, tmp_path: Path, checks_image: str) -> Workspace:
    """A namespace, a manifest file and a volumes root on the target, whose engine has the
    checks' image."""
    return Workspace(target, namespace, tmp_path)
