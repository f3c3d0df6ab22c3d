"""URL sources on every target: the agent fetches its manifest from a real HTTPS server on
127.0.0.1 (a self-signed CA, passed with --ca-file)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.testing import Workspace, wait_for
from agent.testing.contract.manifests import sleeper
from tests.url_server import Route, UrlServer

TOKEN = "e2e-t0ken-never-logged"


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UrlServer]:
    started = UrlServer(tmp_path_factory.mktemp("tls"))
    yield started
    started.close()


def test_apply_and_run_from_a_url(ws: Workspace, server: UrlServer) -> None:
    url = server.url("/containers.yaml")
    ca = ["--ca-file", str(server.ca)]
    server.routes["/containers.yaml"] = Route(sleeper("a").encode(), etag='"1"')
    done = ws.agent("apply", *ca, url, manifest=False)
    assert done.returncode == 0, done.stderr
    assert ws.running_names() == ["a"]

    token = ws.root / "token"
    token.write_text(TOKEN)
    debug = ["-vv", "--log-format=json", f"--url-token-file={token}", "--url-interval=0.5"]
    argv = [*ws.agent_argv("run", *ca, *debug)[:-1], url]
    log = ws.root / "agent-run.log"
    with log.open("w") as out:
        agent = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=ws.env())
    try:
        wait_for(lambda: "pass done" in log.read_text() or len(server.requests) >= 2, 30, "a pass")
        server.routes["/containers.yaml"] = Route(sleeper("a", "b").encode(), etag='"2"')
        wait_for(lambda: ws.running_names() == ["a", "b"], 60, "the edit served to be applied")
        assert server.requests[-1][1]["Authorization"] == f"Bearer {TOKEN}"
        served = len(server.requests)
        server.routes["/containers.yaml"] = Route(b"boom", 500)
        wait_for(lambda: len(server.requests) >= served + 3, 30, "fetches of the failing URL")
        time.sleep(1.0)
        assert ws.running_names() == ["a", "b"]
        assert agent.poll() is None
    finally:
        agent.terminate()
        agent.wait(timeout=60)
    text = log.read_text()
    assert TOKEN not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    errors = [line["message"] for line in lines if line["level"] == "ERROR"]
    assert [m for m in errors if "HTTP 500 Internal Server Error" in m] == [
        f"cannot fetch (its last valid content stays in force):\n{url}: "
        "HTTP 500 Internal Server Error"
    ], errors
    assert agent.returncode == 0, text


def test_an_invalid_body_exits_2_and_an_unreachable_url_exits_1(
    ws: Workspace, server: UrlServer, tmp_path: Path
) -> None:
    ca = ["--ca-file", str(server.ca)]
    server.routes["/bad.yaml"] = Route(b"version: v1beta1\ncontainers: [{name: Web}]\n")
    bad = ws.agent("apply", *ca, server.url("/bad.yaml"), manifest=False)
    assert bad.returncode == 2 and f"{server.url('/bad.yaml')}: containers[" in bad.stderr
    gone = ws.agent("plan", *ca, "https://127.0.0.1:1/m.yaml", manifest=False)
    assert gone.returncode == 1 and "cannot connect" in gone.stderr
    assert ws.containers() == []
