"""``agent convert --to kubernetes`` played by Podman's own ``podman kube play``: the same
containers come up as under the agent, with the same env, ports (answering on 127.0.0.1)
and mounts. Podman builds a pod's pause image locally (with catatonit), so this needs no
registry."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent import cli
from agent.daemon.reconcile import converge
from agent.daemon.settings import Settings
from agent.sources.load import load_sources
from backends.base import BackendOptions, load_backend
from tests import engines
from tests.engines import Engine, run_cli
from tests.test_kube import check_document

PAGE = "served from the volume\n"


def manifest(image: str, port: int) -> str:
    return f"""\
version: v1beta1
containers:
  - name: web
    image: {image}
    command: [httpd, -f, -p, "8080", -h, /www]
    ports: [{{name: http, containerPort: 8080, hostPort: {port}, hostIp: 127.0.0.1}}]
    volumeMounts: [{{name: www, path: /www, readOnly: true}}]
  - name: env
    image: {image}
    command: [sleep, "3600"]
    workingDir: /tmp
    env:
      - {{key: GREETING, value: hello world}}
      - {{key: MODE, value: "y"}}
volumes: [{{name: www}}]
"""


@pytest.fixture
def pods(podman_engine: Engine) -> Iterator[list[str]]:
    """Names of the pods a test plays; force-removed afterwards (as ``kube down`` does,
    without its stop timeout: sleep ignores SIGTERM as PID 1)."""
    names: list[str] = []
    yield names
    if names:
        run_cli(podman_engine, "pod", "rm", "-f", "-t", "0", "--ignore", *names, check=False)


def _inspect(engine: Engine, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = json.loads(run_cli(engine, "inspect", name).stdout)
    return found[0]


def _env(engine: Engine, name: str) -> dict[str, str]:
    out = run_cli(engine, "exec", name, "env").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _mounts(found: dict[str, Any]) -> set[tuple[str, str, bool]]:
    return {(m["Source"], m["Destination"], not m["RW"]) for m in found["Mounts"]}


def _wait_running(engine: Engine, name: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = _inspect(engine, name)
        if found["State"]["Status"] == "running" or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_kube_play_runs_what_the_agent_runs(
    podman_engine: Engine,
    busybox_image: Callable[[Engine], str],
    pods: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = busybox_image(podman_engine)
    namespace = f"t-{secrets.token_hex(4)}"
    root = tmp_path / "volumes"
    (root / "www").mkdir(parents=True)
    (root / "www" / "index.html").write_text(PAGE)
    port = engines.free_port()
    source = tmp_path / "containers.yaml"
    source.write_text(manifest(image, port))

    argv = ["convert", "--to", "kubernetes", "--namespace", namespace, "--volumes-root"]
    assert cli.main([*argv, str(root), str(source)]) == cli.EXIT_OK
    out, err = capsys.readouterr()
    documents = list(yaml.safe_load_all(out))
    for document in documents:
        check_document(document)
    assert err.splitlines()[0].startswith("note: agent convert: a Service for each container")
    played = tmp_path / "pods.yaml"
    played.write_text(out)
    pods += [f"{namespace}-web", f"{namespace}-env"]
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("Service", "web"),
        ("Pod", pods[0]),
        ("Pod", pods[1]),
    ]

    run_cli(podman_engine, "kube", "play", str(played))
    # kube play names a pod's container <pod>-<container>
    web = _wait_running(podman_engine, f"{namespace}-web-web")
    env = _wait_running(podman_engine, f"{namespace}-env-env")
    assert web["State"]["Status"] == env["State"]["Status"] == "running"
    assert engines.http_get(port, "/index.html") == (200, PAGE.encode())
    assert (str(root / "www"), "/www", True) in _mounts(web)
    played_env = _env(podman_engine, f"{namespace}-env-env")
    assert played_env["GREETING"] == "hello world" and played_env["MODE"] == "y"
    assert env["Config"]["WorkingDir"] == "/tmp"
    assert env["Config"]["Hostname"] == "env"
    # the pods own their ports: each container its own network namespace
    assert web["HostConfig"]["PortBindings"] == {}  # published by the pod's infra container
    run_cli(podman_engine, "pod", "rm", "-f", "-t", "0", *pods)

    # ... and the agent's own apply of the same manifest, for comparison
    backend = load_backend("podman", BackendOptions(host=podman_engine.host))
    settings = Settings(namespace=namespace, volumes_root=str(root))
    try:
        _, results = converge(load_sources([str(source)]), backend, settings, time.time())
        # the namespace's network, then the two containers
        assert [(r.action.verb, r.ok) for r in results] == [
            ("create-network", True),
            ("start", True),
            ("start", True),
        ]
        assert engines.http_get(port, "/index.html") == (200, PAGE.encode())
        by_name = {r.action.name: r.container_id for r in results if r.action.verb == "start"}
        agent_web = _inspect(podman_engine, str(by_name["web"]))
        assert (str(root / "www"), "/www", True) in _mounts(agent_web)
        agent_env = _env(podman_engine, str(by_name["env"]))
        assert {k: agent_env[k] for k in ("GREETING", "MODE")} == {
            k: played_env[k] for k in ("GREETING", "MODE")
        }
    finally:
        engines.remove_namespace(podman_engine, namespace)
