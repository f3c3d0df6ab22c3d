"""The Docker SDK and Podman backends against real engines, no mocks: one backend call at a time.

Engine addresses come from CA_DOCKER_HOST and CA_PODMAN_HOST. When one is unset, the
engine of tests/engines.py is used (on the same default socket under /run/ca-test,
reused when it answers, started otherwise), with its busybox image imported. Every
container is made in a fresh ``sdk-smoke-<hex>`` namespace and removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent.planning.spec import Mount, PortBinding, RunSpec
from backends.base import Backend, BackendError
from backends.credentials import RegistryAuth
from backends.docker_sdk import DockerSDKBackend
from backends.podman import PodmanBackend
from tests.engines import BUSYBOX_TAG, Engine, Registry, free_port, http_get, run_cli

pytestmark = pytest.mark.engine  # reaches engines without the engine fixtures

ADDRESSES = {
    "docker": ("CA_DOCKER_HOST", "unix:///run/ca-test/docker.sock"),
    "podman": ("CA_PODMAN_HOST", "unix:///run/ca-test/podman.sock"),
}
BACKENDS: dict[str, type[DockerSDKBackend] | type[PodmanBackend]] = {
    "docker": DockerSDKBackend,
    "podman": PodmanBackend,
}
OTHER_LABEL = "io.container-agent.test.sdk-smoke"  # marks the containers made without the agent

# Writes what the container sees into /www, then serves /www on 8080 as PID 1.
WEB_SCRIPT = (
    "mkdir -p /www && env > /www/env && pwd > /www/pwd && hostname > /www/hostname"
    " && cat /data/hello > /www/hello; touch /data/x 2> /www/ro; exec httpd -f -p 8080 -h /www"
)


@dataclass
class Smoke:
    """One backend on one engine, a fresh namespace, and the ids to remove afterwards."""

    kind: str
    host: str
    backend: Backend
    namespace: str
    others: list[str] = field(default_factory=list)

    def spec(self, name: str, **fields: Any) -> RunSpec:
        """A spec in this namespace: busybox sleeping, unless ``fields`` say otherwise."""
        defaults: dict[str, Any] = {"image": BUSYBOX_TAG, "command": ("sleep", "600")}
        return RunSpec(
            namespace=self.namespace,
            name=name,
            hash=secrets.token_hex(32),
            **{**defaults, **fields},
        )

    def sdk(self) -> Any:
        """The SDK's own client for this engine, for what the agent never does."""
        if self.kind == "docker":
            import docker

            return docker.DockerClient(base_url=self.host, timeout=60)
        import podman

        return podman.PodmanClient(base_url=self.host, timeout=60)

    def create_without_agent_labels(self) -> str:
        """A container without the namespace label (marked for clean-up by OTHER_LABEL)."""
        with contextlib.closing(self.sdk()) as client:
            made = client.containers.create(
                BUSYBOX_TAG, ["sleep", "600"], labels={OTHER_LABEL: self.namespace}
            )
        self.others.append(made.id)
        return str(made.id)

    def remove_image(self, image: str) -> None:
        with contextlib.closing(self.sdk()) as client:
            client.images.remove(image)

    def port_bindings(self, container_id: str) -> dict[str, Any]:
        """HostConfig.PortBindings of an inspect, which both engines give in Docker's shape."""
        with contextlib.closing(self.sdk()) as client:
            bindings: dict[str, Any] = client.containers.get(container_id).attrs["HostConfig"][
                "PortBindings"
            ]
        return bindings

    def count_requests(self) -> list[str]:
        """Every HTTP request the backend makes from now on, as ``METHOD URL``."""
        client = getattr(self.backend, "_client", None)
        assert client is not None, "make one backend call first"
        seen: list[str] = []
        client.api.hooks["response"].append(
            lambda response, *args, **kwargs: seen.append(
                f"{response.request.method} {response.request.url}"
            )
        )
        return seen


@pytest.fixture(params=["docker", "podman"])
def smoke(request: pytest.FixtureRequest) -> Iterator[Smoke]:
    kind: str = request.param
    variable, default = ADDRESSES[kind]
    host = os.environ.get(variable)
    if host is None:
        host = request.getfixturevalue(f"{kind}_engine").host
    backend = BACKENDS[kind](host, timeout=60)
    assert backend.image_id(BUSYBOX_TAG), f"{BUSYBOX_TAG} is missing on {host} ({default=})"
    state = Smoke(kind, host, backend, f"sdk-smoke-{secrets.token_hex(4)}")
    yield state
    for container in backend.list(state.namespace):
        backend.remove(container.id)
    for container_id in state.others:
        backend.remove(container_id)
    assert backend.list(state.namespace) == []


def test_version_is_the_servers(smoke: Smoke) -> None:
    version = smoke.backend.version()
    assert version[0].isdigit(), version
    assert smoke.backend.address == smoke.host


def test_a_container_lives_and_dies_as_the_backend_says(smoke: Smoke, tmp_path: Path) -> None:
    backend = smoke.backend
    (tmp_path / "hello").write_text("from the host\n")
    port = free_port()
    spec = smoke.spec(
        "web",
        command=("sh", "-c", WEB_SCRIPT),
        working_dir="/srv",
        env=(("GREETING", "hello world"), ("EMPTY", "")),
        ports=(PortBinding(8080, port, "tcp", "127.0.0.1"),),
        mounts=(Mount(str(tmp_path), "/data", read_only=True),),
        image_id=backend.image_id(BUSYBOX_TAG),
    )
    container_id = backend.create(spec)
    [created] = backend.list(smoke.namespace)
    assert (created.id, created.state, created.exit_code) == (container_id, "created", None)

    backend.start(container_id)
    assert http_get(port, "/pwd", timeout=30) == (200, b"/srv\n")
    env = http_get(port, "/env")[1].decode().splitlines()
    assert "GREETING=hello world" in env
    assert "EMPTY=" in env
    assert http_get(port, "/hostname")[1] == b"web\n"
    assert http_get(port, "/hello")[1] == b"from the host\n"
    assert b"Read-only file system" in http_get(port, "/ro")[1]
    assert not (tmp_path / "x").exists()

    [running] = backend.list(smoke.namespace)
    assert running.id == container_id
    assert running.engine_name == spec.engine_name
    assert (running.namespace, running.name, running.hash) == (smoke.namespace, "web", spec.hash)
    assert (running.state, running.exit_code, running.running) == ("running", None, True)
    assert running.image == BUSYBOX_TAG
    assert running.image_id == spec.image_id

    backend.stop(container_id, timeout=1)  # httpd as PID 1 ignores SIGTERM: killed after 1 s
    [stopped] = backend.list(smoke.namespace)
    assert (stopped.state, stopped.exit_code, stopped.running) == ("exited", 137, False)
    assert stopped.finished_at is None or abs(stopped.finished_at - time.time()) < 300

    backend.start(container_id)
    [again] = backend.list(smoke.namespace)
    assert (again.id, again.state, again.exit_code) == (container_id, "running", None)
    assert http_get(port, "/pwd", timeout=30) == (200, b"/srv\n")

    backend.remove(container_id)
    assert backend.list(smoke.namespace) == []
    backend.remove(container_id)  # gone already: fine, as with ``docker rm -f``


def test_list_is_one_request_and_only_the_namespace(smoke: Smoke) -> None:
    backend = smoke.backend
    ids = {backend.create(smoke.spec(name)) for name in ("a", "b", "c")}
    backend.start(min(ids))
    other = smoke.create_without_agent_labels()
    requests = smoke.count_requests()

    listed = backend.list(smoke.namespace)

    assert len(requests) == 1, requests
    assert "/containers/json" in requests[0]
    assert {c.id for c in listed} == ids
    assert other not in {c.id for c in listed}
    assert {c.name for c in listed} == {"a", "b", "c"}
    assert sorted(c.state for c in listed) == ["created", "created", "running"]


def test_udp_and_ipv6_ports_are_published_as_asked(smoke: Smoke) -> None:
    udp, ipv6 = free_port(), free_port()
    spec = smoke.spec(
        "ports",
        ports=(
            PortBinding(53, udp, "udp", "127.0.0.1"),
            PortBinding(8080, ipv6, "tcp", "::1"),
        ),
    )
    container_id = smoke.backend.create(spec)
    bindings = smoke.port_bindings(container_id)
    assert bindings["53/udp"] == [{"HostIp": "127.0.0.1", "HostPort": str(udp)}]
    assert bindings["8080/tcp"] == [{"HostIp": "::1", "HostPort": str(ipv6)}]
    smoke.backend.start(container_id)
    [listed] = smoke.backend.list(smoke.namespace)
    assert listed.state == "running"


def test_a_missing_image_fails_with_the_engines_message(smoke: Smoke) -> None:
    # A registry address on this machine where nothing listens: the pull fails at once.
    missing = f"127.0.0.1:{free_port()}/ca-test/missing-{secrets.token_hex(4)}:1"
    assert smoke.backend.image_id(missing) is None

    with pytest.raises(BackendError) as created:
        smoke.backend.create(smoke.spec("ghost", image=missing))
    assert missing in created.value.message  # the engine's own words name the image
    assert created.value.engine == smoke.host
    assert smoke.backend.list(smoke.namespace) == []

    with pytest.raises(BackendError) as pulled:
        smoke.backend.pull(missing, None)
    assert "connection refused" in pulled.value.message.lower()
    assert pulled.value.engine == smoke.host


def test_pull_fetches_an_image_from_a_registry(
    smoke: Smoke, registry: Registry, docker_engine: Engine
) -> None:
    # Pushed through dockerd under a new name, then untagged there: no engine has it locally.
    image = f"{registry.address}/ca-test/sdk-smoke-{secrets.token_hex(4)}:1"
    run_cli(docker_engine, "tag", BUSYBOX_TAG, image)
    run_cli(docker_engine, "push", image)
    run_cli(docker_engine, "rmi", image)
    assert smoke.backend.image_id(image) is None

    # The registry wants no login: the credentials are sent and ignored.
    smoke.backend.pull(image, RegistryAuth(registry.address, "smoke", "not-checked"))
    try:
        assert smoke.backend.image_id(image)
        container_id = smoke.backend.create(smoke.spec("pulled", image=image))
        [listed] = smoke.backend.list(smoke.namespace)
        assert (listed.id, listed.image) == (container_id, image)
        smoke.backend.remove(container_id)
    finally:
        smoke.remove_image(image)


def test_an_unreachable_address_is_named(smoke: Smoke, tmp_path: Path) -> None:
    nowhere = f"unix://{tmp_path}/nothing.sock"
    backend = BACKENDS[smoke.kind](nowhere, timeout=5)
    assert backend.address == nowhere
    for call in (lambda: backend.list(smoke.namespace), backend.version):
        with pytest.raises(BackendError) as failed:
            call()
        assert failed.value.engine == nowhere
        assert nowhere in failed.value.message
        assert "No such file or directory" in failed.value.message
        assert failed.value.__cause__ is not None  # raised ``from`` the SDK's error
