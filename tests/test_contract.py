"""The contract suite on the agent's four targets: the shipped checks of
:mod:`agent.testing.contract.basics`, and those that hold the agent's own backends to more
than the contract asks (one engine call an idle pass, one client for many threads, the same
plan from every backend for the same state).
"""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from agent.daemon.reconcile import converge
from agent.output.render import render_text
from agent.planning.spec import build_specs
from agent.sources.load import load_sources
from agent.testing import Target, Workspace, wait_for
from agent.testing.contract.basics import *  # noqa: F403
from agent.testing.contract.manifests import manifest, sleeper
from tests.contract import TARGETS
from tests.engines import Engine


def test_a_pass_with_nothing_to_do_costs_one_engine_call(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write(sleeper("a", "b", "c"))
    ws.apply()
    backend = ws.target.backend()
    desired = load_sources([str(ws.manifest)])
    converge(desired, backend, ws.settings, time.time())  # the first call may ask a version

    calls = _engine_calls(monkeypatch)
    plan, results = converge(desired, backend, ws.settings, time.time())
    monkeypatch.undo()
    assert plan.actions == () and results == ()
    assert len(calls) == 1, calls


def _engine_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every engine call from now on (a CLI run or an HTTP request), until ``undo()``."""
    calls: list[str] = []
    real_run, real_send = subprocess.run, requests.Session.send

    def run(*args: Any, **kwargs: Any) -> Any:
        calls.append(f"exec {args[0][1:3]}")
        return real_run(*args, **kwargs)

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        calls.append(f"{request.method} {request.path_url}")
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(requests.Session, "send", send)
    return calls


def test_exited_containers_cost_a_bounded_number_of_calls_a_pass(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"x{i}" for i in range(4)]
    items = "".join(
        f"""
          - name: {name}
            image: IMAGE
            restartPolicy: Never
            command: [sh, -c, 'exit 3']"""
        for name in names
    )
    ws.write(manifest(f"\ncontainers:{items}\n"))
    ws.apply()
    wait_for(lambda: len(ws.containers()) == 4 and not ws.running_names(), what="all exited")
    backend = ws.target.backend()
    desired = load_sources([str(ws.manifest)])
    converge(desired, backend, ws.settings, time.time())  # the exits are new to this backend

    calls = _engine_calls(monkeypatch)
    plan, results = converge(desired, backend, ws.settings, time.time())
    monkeypatch.undo()
    assert plan.actions == () and results == ()
    # The listing; the docker CLI adds one inspect of every exited container; the SDK
    # inspected each once, at its exit; libpod's listing has the run times.
    docker_cli = (ws.target.backend_name, ws.target.engine.kind) == ("docker-cli", "docker")
    expected = 2 if docker_cli else 1
    assert len(calls) == expected, calls


def test_every_backend_gives_the_same_plan_for_the_same_state(
    docker_engine: Engine, podman_engine: Engine, namespace: str, tmp_path: Path
) -> None:
    targets = [
        Target(name, engine, engine.cli if name == "docker-cli" else "docker")
        for name, kind, _ in TARGETS
        for engine in (docker_engine, podman_engine)
        if engine.kind == kind
    ]
    texts = {}
    for engine in (docker_engine, podman_engine):
        ws = Workspace(Target("docker-cli", engine, engine.cli), namespace, tmp_path / engine.kind)
        ws.root.mkdir()
        ws.write(sleeper("a", "b", "d"))
        ws.apply()
        ws.cli("kill", ws.container("b")["Id"])
        wait_for(lambda ws=ws: ws.running_names() == ["a", "d"], what="b killed")  # type: ignore[misc]
        ws.write(sleeper("a", "b", "c"))
        for target in targets:
            if target.engine is engine:
                texts[target.id] = render_text(Workspace(target, namespace, ws.root).plan())
    assert len(texts) == len(TARGETS)
    first = next(iter(texts.values()))
    assert "Plan: 1 to start, 1 to restart, 1 to remove." in first
    assert "      # exited 137" in first
    assert all(text == first for text in texts.values()), texts


def test_one_backend_serves_many_threads_at_once(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    names = [f"t{i}" for i in range(16)]
    ws.write(sleeper(*names))
    specs = build_specs(load_sources([str(ws.manifest)]).containers, ws.namespace, "/x")
    backend = ws.target.backend()  # fresh: its client is made by whichever thread comes first
    made: list[str] = []
    sdk = getattr(backend, "_sdk", None)
    if sdk is not None:
        client_name = "DockerClient" if hasattr(sdk, "DockerClient") else "PodmanClient"
        real = getattr(sdk, client_name)

        def counting(*args: Any, **kwargs: Any) -> Any:
            made.append(client_name)
            return real(*args, **kwargs)

        monkeypatch.setattr(sdk, client_name, counting)
    with ThreadPoolExecutor(len(specs)) as pool:
        ids = list(pool.map(backend.create, specs))
        list(pool.map(backend.start, ids))
        listings = list(pool.map(lambda _: backend.list(ws.namespace), range(len(specs))))
    assert all(sorted(c.id for c in listing) == sorted(ids) for listing in listings)
    assert ws.running_names() == sorted(names)
    with ThreadPoolExecutor(len(specs)) as pool:
        list(pool.map(backend.remove, ids))
    assert backend.list(ws.namespace) == []
    # One client for all the threads (podman-py's is made after a probe of the version),
    # whose pool holds a connection for each.
    assert len(made) == {"docker": 1, "podman": 2}.get(ws.target.backend_name, 0), made
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]
