"""The basic contract: apply, replace, restart, remove, plan and the engine's failures, on
the target the fixtures give, against a real engine.

Each test reads as what a user would check after running the agent.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from agent.daemon.reconcile import plan_for
from agent.planning.actions import CreateNetwork, Remove, RemoveNetwork, Restart, Start
from agent.planning.network import network_name
from agent.planning.spec import build_specs
from agent.sources.load import load_sources
from agent.testing import AGENT, Workspace, wait_for
from agent.testing.contract.manifests import manifest, sleeper, web
from agent.testing.image import BUSYBOX_TAG
from agent.testing.namespaces import list_networks
from agent.testing.ports import free_port, http_get
from agent.testing.proxy import SocketProxy
from backends.base import BackendOptions, load_backend
from backends.errors import Conflict, EngineUnreachable, ImageUnavailable, NotFound


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
        wait_for(lambda: ws.running_names() == ["a", "b"], what="a and b running")
        healthy = ws.container("b")

        proxy.stop()
        wait_for(lambda: "pass skipped" in log.read_text(), what="the outage in the log")
        assert str(proxy.path) in log.read_text().split("pass skipped", 1)[1].splitlines()[0]
        ws.cli("kill", ws.container("a")["Id"])
        wait_for(lambda: ws.running_names() == ["b"], what="a killed during the outage")
        assert agent.poll() is None, "the agent keeps running through an outage"

        proxy.start()
        wait_for(
            lambda: ws.running_names() == ["a", "b"], what="a restarted once the engine is back"
        )
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
