"""The shipped probe checks of :mod:`agent.testing.contract.probes` on each of the agent's
four targets, and one that holds all four at once: healthy containers probed every second for
two minutes, none restarted."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agent.testing import Target, Workspace, wait_for
from agent.testing.contract.probes import *  # noqa: F403
from agent.testing.contract.probes import containers, flag, healthy, listener, started, status, web
from agent.testing.namespaces import remove_namespace
from tests.contract import TARGETS
from tests.engines import Engine, free_port

HOLD = 120.0
"""Seconds a healthy set is probed, every second, without a restart."""


@pytest.mark.parametrize("unused", [None], ids=["all-targets-at-once"])
def test_healthy_containers_are_never_restarted_across_minutes_of_probing(
    unused: None,
    docker_engine: Engine,
    podman_engine: Engine,
    namespace: str,
    tmp_path: Path,
) -> None:
    """Every target at once, each with an http, an exec and a tcp probe checked every
    second for two minutes: no restart, every one healthy all along."""
    engines = {"docker": docker_engine, "podman": podman_engine}
    spaces = []
    for index, (backend, kind, _) in enumerate(TARGETS):
        engine = engines[kind]
        target = Target(backend, engine, engine.cli if backend == "docker-cli" else "docker")
        root = tmp_path / str(index)
        root.mkdir()
        ws = Workspace(target, f"{namespace}{index}", root)
        ws.write(containers(web(free_port()), flag(), listener(free_port())))
        spaces.append(ws)
    try:
        with ThreadPoolExecutor(len(spaces)) as pool:
            list(pool.map(_hold_healthy, spaces))
    finally:
        for ws in spaces:  # their containers and networks: the namespace fixture knows neither
            remove_namespace(ws.target.engine, ws.namespace)


def _hold_healthy(ws: Workspace) -> None:
    with ws.running("--reload=30") as (agent, log):
        wait_for(lambda: healthy(ws, "web", "flag", "tcp"), timeout=90, what="all healthy")
        # With no initialDelaySeconds a probe may run before its server has bound its port
        # (as the kubelet's would): that first failure is expected. From the moment all are
        # healthy, nothing may fail again.
        healthy_from = len(log.read_text())
        first = {name: started(ws, name) for name in ("web", "flag", "tcp")}
        deadline = time.monotonic() + HOLD
        while time.monotonic() < deadline:
            time.sleep(10)
            assert agent.poll() is None
            rows = status(ws)
            assert {n: rows[n]["health"] for n in first} == dict.fromkeys(first, "healthy")
        assert {name: started(ws, name) for name in first} == first
        assert {rows[n]["restarts"] for n in first} == {0}
        text = log.read_text()[healthy_from:]
        assert "unhealthy" not in text and "probe failed" not in text, text[-2000:]
        assert "restart " not in text, text[-2000:]
