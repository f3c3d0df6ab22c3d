"""The engine harness itself works, on real dockerd and podman."""

from __future__ import annotations

from collections.abc import Callable

from tests import engines
from tests.engines import NAMESPACE_LABEL, Engine, Registry, run_cli


def test_engine_answers(engine: Engine) -> None:
    assert engines.ping(engine.socket)
    assert run_cli(engine, "version").returncode == 0


def test_busybox_echo(
    engine: Engine, busybox_image: Callable[[Engine], str], namespace: str
) -> None:
    label = f"{NAMESPACE_LABEL}={namespace}"
    out = run_cli(engine, "run", "--rm", "--label", label, busybox_image(engine), "echo", "hi")
    assert out.stdout == "hi\n"


def test_published_port_answers(
    engine: Engine, busybox_image: Callable[[Engine], str], namespace: str
) -> None:
    port = engines.free_port()
    script = "echo hi > /tmp/index.html && exec httpd -f -p 80 -h /tmp"
    run = ["run", "-d", "--label", f"{NAMESPACE_LABEL}={namespace}", "-p", f"127.0.0.1:{port}:80"]
    run_cli(engine, *run, busybox_image(engine), "sh", "-c", script)
    assert engines.http_get(port, "/index.html", timeout=30) == (200, b"hi\n")
    assert len(engines.remove_namespace(engine, namespace)) == 1
    assert engines.list_namespace(engine, namespace) == []


def test_registry_push_pull(
    docker_engine: Engine, podman_engine: Engine, registry: Registry
) -> None:
    for engine in (docker_engine, podman_engine):
        assert engines.trusts_registry(engine, registry), (
            f"{engine.kind} on {engine.host} (owned={engine.owned}) refuses plain HTTP to"
            f" {registry.address}: restart it with the registries.conf of tests/engines.py"
        )
    ref = engines.push_to_registry(docker_engine, engines.BUSYBOX_TAG, registry)
    run_cli(docker_engine, "rmi", ref)
    run_cli(docker_engine, "pull", ref)
    run_cli(podman_engine, "pull", ref)  # plain HTTP allowed by the registries.conf of start_podman
    assert run_cli(podman_engine, "run", "--rm", ref, "echo", "pulled").stdout == "pulled\n"
    run_cli(podman_engine, "rmi", ref)
    run_cli(docker_engine, "rmi", ref)
