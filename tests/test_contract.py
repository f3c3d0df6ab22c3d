"""The contract suite: every backend on every engine it drives, against real engines.

Each test reads as what a user would check after running the agent.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from agent.daemon.reconcile import converge, plan_for
from agent.output.render import render_text
from agent.planning.actions import CreateNetwork, Remove, RemoveNetwork, Restart, Start
from agent.planning.network import network_name
from agent.planning.spec import build_specs
from agent.sources.load import load_sources
from agent.testing import AGENT, Target, Workspace, wait_for
from backends.base import BackendOptions, load_backend
from backends.errors import Conflict, EngineUnreachable, ImageUnavailable, NotFound
from tests.contract import TARGETS
from tests.engines import BUSYBOX_TAG, Engine, free_port, http_get, list_networks
from tests.proxy import SocketProxy


def manifest(body: str) -> str:
    return "version: v1beta1\n" + textwrap.dedent(body).replace("IMAGE", BUSYBOX_TAG)


def web(port: int, greeting: str = "hello") -> str:
    """A web container serving its environment and a read-write volume on 127.0.0.1:port."""
    return manifest(
        f"""
        containers:
          - name: web
            image: IMAGE
            command:
              - sh
              - -c
              - >-
                echo boot; env > /srv/env.txt; pwd > /srv/pwd.txt; hostname > /srv/host.txt;
                exec httpd -f -p 8080 -h /srv
            workingDir: /srv
            ports:
              - {{containerPort: 8080, hostPort: {port}, hostIp: 127.0.0.1}}
            volumeMounts:
              - {{name: site, path: /srv}}
              - {{name: conf, mountPath: /conf, readOnly: true}}
            env:
              - {{key: GREETING, value: "{greeting}"}}
        volumes:
          - name: site
          - name: conf
        """
    )


def sleeper(*names: str) -> str:
    items = "".join(
        f"""
          - name: {name}
            image: IMAGE
            command: [sh, -c, 'echo boot; exec sleep 600']"""
        for name in names
    )
    return manifest(f"\ncontainers:{items}\n")


def test_apply_starts_the_container_as_the_manifest_says(ws: Workspace) -> None:
    port = free_port()
    ws.write(web(port))
    plan, results = ws.apply()
    assert [type(a) for a in plan.actions] == [CreateNetwork, Start]
    assert all(r.ok for r in results), results

    status, body = http_get(port, "/env.txt")
    assert status == 200
    assert "GREETING=hello" in body.decode()
    assert http_get(port, "/pwd.txt")[1].decode().strip() == "/srv"
    assert http_get(port, "/host.txt")[1].decode().strip() == "web"

    info = ws.container("web")
    labels = info["Config"]["Labels"]
    assert labels["io.container-agent.namespace"] == ws.namespace
    assert labels["io.container-agent.name"] == "web"
    assert info["Name"].lstrip("/") == f"{ws.namespace}-web-{labels['io.container-agent.hash'][:8]}"
    assert info["Config"]["Hostname"] == "web"
    assert info["Config"]["WorkingDir"] == "/srv"
    assert info["Config"]["Cmd"][:2] == ["sh", "-c"]
    # The read-write volume is the host directory <volumes-root>/site.
    assert (ws.volumes / "site" / "env.txt").read_text().count("GREETING=hello") == 1


def test_a_read_only_mount_is_read_only(ws: Workspace) -> None:
    ws.write(web(free_port()))
    ws.apply()
    cid = ws.container("web")["Id"]
    denied = ws.cli("exec", cid, "touch", "/conf/x", check=False)
    assert denied.returncode != 0
    assert "Read-only file system" in denied.stderr
    allowed = ws.cli("exec", cid, "touch", "/srv/x", check=False)
    assert allowed.returncode == 0, allowed.stderr
    assert (ws.volumes / "site" / "x").exists()


def test_a_udp_port_is_published_on_127_0_0_1(ws: Workspace) -> None:
    port = free_port()
    ws.write(
        manifest(
            f"""
            containers:
              - name: dns
                image: IMAGE
                command: [sleep, "600"]
                ports:
                  - {{containerPort: 53, hostPort: {port}, hostIp: 127.0.0.1, protocol: UDP}}
            """
        )
    )
    assert all(r.ok for r in ws.apply()[1])
    bindings = ws.container("dns")["HostConfig"]["PortBindings"]
    assert bindings["53/udp"][0]["HostPort"] == str(port)
    assert bindings["53/udp"][0]["HostIp"] == "127.0.0.1"


def test_a_second_apply_does_nothing(ws: Workspace) -> None:
    ws.write(web(free_port()))
    ws.apply()
    before = ws.container("web")
    plan, results = ws.apply()
    assert plan.actions == ()
    assert results == ()
    after = ws.container("web")
    assert after["Id"] == before["Id"]
    assert after["State"]["StartedAt"] == before["State"]["StartedAt"]


def test_an_edited_container_is_replaced(ws: Workspace) -> None:
    port = free_port()
    ws.write(web(port, greeting="hello"))
    ws.apply()
    old = ws.container("web")["Id"]
    ws.write(web(port, greeting="bonjour"))
    plan, results = ws.apply()
    assert [type(a) for a in plan.actions] == [Remove, Start]
    assert all(r.ok for r in results), results
    new = ws.container("web")
    assert new["Id"] != old
    assert "GREETING=bonjour" in new["Config"]["Env"]
    assert "GREETING=bonjour" in http_get(port, "/env.txt")[1].decode()


def test_a_dropped_container_is_removed_not_only_stopped(ws: Workspace) -> None:
    ws.write(sleeper("keep", "drop"))
    ws.apply()
    ws.write(sleeper("keep"))
    plan, results = ws.apply()
    assert [(type(a), a.name) for a in plan.actions] == [(Remove, "drop")]
    assert all(r.ok for r in results)
    names = [c["Config"]["Labels"]["io.container-agent.name"] for c in ws.containers()]
    assert names == ["keep"]


def test_an_exited_container_is_restarted_and_keeps_its_logs(ws: Workspace) -> None:
    ws.write(sleeper("worker"))
    ws.apply()
    cid = ws.container("worker")["Id"]
    ws.cli("kill", cid)
    wait_for(lambda: not ws.container("worker")["State"]["Running"], what="the kill")
    plan, results = ws.apply()
    assert [(type(a), a.reason) for a in plan.actions] == [(Restart, "exited 137")]
    assert all(r.ok for r in results)
    info = ws.container("worker")
    assert info["Id"] == cid
    assert info["State"]["Running"]
    wait_for(lambda: ws.cli("logs", cid).stdout.count("boot") == 2, what="two boots in the logs")


def test_a_foreign_container_with_an_agent_like_name_is_untouched(ws: Workspace) -> None:
    foreign = f"{ws.namespace}-web-1234abcd"
    ws.cli("run", "-d", "--name", foreign, BUSYBOX_TAG, "sleep", "600")
    try:
        ws.write(sleeper("other"))
        plan, _ = ws.apply()
        net = network_name(ws.namespace)
        assert [a.name for a in plan.actions] == [net, "other"]
        ws.write(manifest("containers: []\n"))
        plan, _ = ws.apply()
        assert [a.name for a in plan.actions] == ["other", net]
        state = ws.cli("inspect", "--format", "{{.State.Running}}", foreign).stdout.strip()
        assert state == "true"
    finally:
        ws.cli("rm", "-f", foreign, check=False)


def test_plan_changes_nothing(ws: Workspace) -> None:
    ws.write(sleeper("a", "b"))
    ws.apply()
    ws.cli("kill", ws.container("a")["Id"])
    wait_for(lambda: not ws.container("a")["State"]["Running"], what="the kill")
    ws.write(sleeper("b", "c"))
    before = {c["Id"]: c["State"]["Status"] for c in ws.containers()}

    done = ws.agent("plan")
    assert done.returncode == 0, done.stderr
    assert "Plan: 1 to start, 0 to restart, 1 to remove." in done.stdout
    assert ws.agent("plan", "--detailed-exitcode").returncode == 3
    assert {c["Id"]: c["State"]["Status"] for c in ws.containers()} == before


def test_one_failing_action_does_not_stop_the_others(ws: Workspace) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        ws.write(
            manifest(
                f"""
                containers:
                  - name: blocked
                    image: IMAGE
                    command: [sleep, "600"]
                    ports: [{{containerPort: 80, hostPort: {taken}, hostIp: 127.0.0.1}}]
                  - name: missing-image
                    image: localhost/ca-test/no-such-image:1
                  - name: fine
                    image: IMAGE
                    command: [sleep, "600"]
                """
            )
        )
        done = ws.agent("apply")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = {line.split(" (")[0]: line for line in done.stdout.splitlines() if ": " in line}
    assert re.search(r": started in \d+\.\d\ds$", lines["+ fine"]), lines["+ fine"]
    assert "FAILED" in lines["+ blocked"] and "address already in use" in lines["+ blocked"].lower()
    assert "--help" not in lines["+ blocked"]  # the engine's words, not the CLI's usage hint
    assert "FAILED" in lines["+ missing-image"]
    assert "Apply failed: 1 started, 0 restarted, 0 removed, 2 failed." in done.stdout
    # Nothing half-made is left behind for the failed ones.
    names = sorted(c["Config"]["Labels"]["io.container-agent.name"] for c in ws.containers())
    assert names == ["fine"]


def test_an_invalid_manifest_changes_nothing_and_exits_2(ws: Workspace) -> None:
    ws.write(sleeper("a"))
    ws.apply()
    before = [c["Id"] for c in ws.containers()]
    ws.write(manifest("containers:\n  - name: a\n    imag: x\n"))
    done = ws.agent("apply")
    assert done.returncode == 2
    assert f'{ws.manifest}: containers[a].imag: unknown field, did you mean "image"?' in done.stderr
    assert "Traceback" not in done.stderr
    assert [c["Id"] for c in ws.containers()] == before


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


def test_an_engine_that_goes_away_is_reported_and_the_next_pass_recovers(ws: Workspace) -> None:
    proxy = SocketProxy(ws.root / "engine.sock", ws.target.engine.socket)
    proxy.start()
    through = ws.target.via(proxy.url)
    ws.write(sleeper("a", "b"))
    log = ws.root / "agent.log"
    argv = [*AGENT, "run", *through.cli_args(), f"--namespace={ws.namespace}", "--reload=0.3"]
    with log.open("w") as out:
        agent = subprocess.Popen(
            [*argv, str(ws.manifest)], stdout=out, stderr=subprocess.STDOUT, env=ws.env()
        )
    try:
        wait_for(lambda: _running(ws) == ["a", "b"], what="a and b running")
        healthy = ws.container("b")

        proxy.stop()
        wait_for(lambda: "pass skipped" in log.read_text(), what="the outage in the log")
        assert str(proxy.path) in log.read_text().split("pass skipped", 1)[1].splitlines()[0]
        ws.cli("kill", ws.container("a")["Id"])
        wait_for(lambda: _running(ws) == ["b"], what="a killed during the outage")
        assert agent.poll() is None, "the agent keeps running through an outage"

        proxy.start()
        wait_for(lambda: _running(ws) == ["a", "b"], what="a restarted once the engine is back")
        again = ws.container("b")
        assert (again["Id"], again["State"]["StartedAt"]) == (
            healthy["Id"],
            healthy["State"]["StartedAt"],
        ), "a healthy container is not restarted"
    finally:
        agent.send_signal(signal.SIGTERM)
        code = agent.wait(timeout=60)
        proxy.stop()
    assert code == 0
    assert "Traceback" not in log.read_text()


def _running(ws: Workspace) -> list[str]:
    return sorted(
        c["Config"]["Labels"]["io.container-agent.name"]
        for c in ws.containers()
        if c["State"]["Running"]
    )


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
        wait_for(lambda ws=ws: _running(ws) == ["a", "d"], what="b killed")  # type: ignore[misc]
        ws.write(sleeper("a", "b", "c"))
        for target in targets:
            if target.engine is engine:
                texts[target.id] = render_text(Workspace(target, namespace, ws.root).plan())
    assert len(texts) == len(TARGETS)
    first = next(iter(texts.values()))
    assert "Plan: 1 to start, 1 to restart, 1 to remove." in first
    assert "      # exited 137" in first
    assert all(text == first for text in texts.values()), texts


def test_two_namespaces_on_one_engine_never_touch_each_other(ws: Workspace) -> None:
    other = Workspace(ws.target, f"{ws.namespace}-other", ws.root / "other")
    other.root.mkdir()
    try:
        ws.write(sleeper("web"))
        other.write(sleeper("web"))
        assert all(r.ok for r in [*ws.apply()[1], *other.apply()[1]])
        theirs = other.container("web")
        ws.write(manifest("containers: []\n"))
        plan, _ = ws.apply()
        net = network_name(ws.namespace)
        assert [(type(a), a.name) for a in plan.actions] == [(Remove, "web"), (RemoveNetwork, net)]
        assert ws.containers() == []
        assert list_networks(ws.target.engine, other.namespace) == [network_name(other.namespace)]
        assert other.container("web")["Id"] == theirs["Id"]
        assert other.container("web")["State"]["Running"]
        assert other.plan().actions == ()
    finally:
        other.write(manifest("containers: []\n"))
        other.apply()


def test_each_kind_of_engine_failure_is_told_by_its_type(ws: Workspace, tmp_path: Path) -> None:
    ws.write(sleeper("a"))
    ws.apply()
    backend = ws.target.backend()
    [a] = backend.list(ws.namespace)
    spec = build_specs(load_sources([str(ws.manifest)]).containers, ws.namespace, "/x")[0]

    with pytest.raises(Conflict) as taken:
        backend.create(spec)  # the name is a's
    assert a.engine_name in taken.value.message
    with pytest.raises(NotFound):
        backend.start("0" * 64)
    missing = f"127.0.0.1:{free_port()}/ca-test/missing-{ws.namespace}:1"
    assert backend.image_id(missing) is None
    with pytest.raises(ImageUnavailable) as refused:
        backend.pull(missing, None)
    assert missing.split("/")[0] in refused.value.message

    nowhere = load_backend(
        ws.target.backend_name,
        BackendOptions(f"unix://{tmp_path}/nothing.sock", ws.target.docker_cmd, timeout=10),
    )
    with pytest.raises(EngineUnreachable):
        nowhere.list(ws.namespace)
    assert [c.id for c in backend.list(ws.namespace)] == [a.id], "nothing else was made"


def test_a_dry_run_through_the_read_only_view_plans_as_apply_would(ws: Workspace) -> None:
    ws.write(sleeper("a", "b"))
    ws.apply()
    ws.cli("kill", ws.container("a")["Id"])
    wait_for(lambda: not ws.container("a")["State"]["Running"], what="the kill")
    ws.write(sleeper("a", "c"))
    desired = load_sources([str(ws.manifest)])
    view = ws.target.backend().reader()
    dry = plan_for(desired, view, ws.settings, time.time())
    assert [(a.verb, a.name) for a in dry.actions] == [
        ("remove", "b"),
        ("restart", "a"),
        ("start", "c"),
    ]
    assert sorted(c["Config"]["Labels"]["io.container-agent.name"] for c in ws.containers()) == [
        "a",
        "b",
    ]


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


def test_a_plan_after_an_edit_names_each_changed_field_and_no_env_value(ws: Workspace) -> None:
    secret = f"s3cret-{ws.namespace}"
    port, other = free_port(), free_port()
    body = """
        containers:
          - name: web
            image: IMAGE
            command: [sleep, "600"]
            ports: [{{containerPort: 8080, hostPort: {port}, hostIp: 127.0.0.1}}]
            env:
              - {{key: GREETING, value: hello}}
              - {{key: TOKEN, value: "{token}"}}
        """
    ws.write(manifest(body.format(port=port, token=secret)))
    done = ws.agent("apply")
    assert done.returncode == 0, done.stderr
    record = ws.container("web")["Config"]["Labels"]["io.container-agent.record"]
    assert secret not in record and "hello" not in record
    assert json.loads(record)["command"] == ["sleep", "600"], "the record survives the engine"

    edited = body.replace('[sleep, "600"]', '[sleep, "601"]').replace(
        "{{key: GREETING, value: hello}}", "{{key: GREETING, value: bye}}"
    )
    edited = edited.replace(
        "ports: [{{containerPort: 8080, hostPort: {port}, hostIp: 127.0.0.1}}]",
        "ports: [{{containerPort: 8080, hostPort: {port}, hostIp: 127.0.0.1}}, "
        "{{containerPort: 9090, hostPort: {other}, hostIp: 127.0.0.1}}]",
    )
    ws.write(manifest(edited.format(port=port, other=other, token=secret)))
    planned = ws.agent("plan")
    assert planned.returncode == 0, planned.stderr
    assert "# spec changed: command, env, port" in planned.stdout
    assert '        ~ command: ["sleep", "600"] -> ["sleep", "601"]\n' in planned.stdout
    assert "        ~ env GREETING: (value changed, hidden)\n" in planned.stdout
    assert f"        + port 127.0.0.1:{other}->9090/tcp\n" in planned.stdout
    as_json = ws.agent("plan", "--output=json")
    fields = [c["field"] for c in json.loads(as_json.stdout)["actions"][0]["changes"]]
    assert fields == ["command", "env", "port"]
    applied = ws.agent("apply")
    assert applied.returncode == 0, applied.stderr
    for text in (planned.stdout, planned.stderr, as_json.stdout, applied.stdout, applied.stderr):
        assert secret not in text and "bye" not in text
