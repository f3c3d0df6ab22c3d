"""The contract suite: every backend on every engine it drives, against real engines.

Each test reads as what a user would check after running the agent.
"""

from __future__ import annotations

import socket
import textwrap

from agent.actions import Remove, Restart, Start
from tests.contract import Workspace, wait_for
from tests.engines import BUSYBOX_TAG, free_port, http_get


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
    assert [type(a) for a in plan.actions] == [Start]
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
        assert [a.name for a in plan.actions] == ["other"]
        ws.write(manifest("containers: []\n"))
        plan, _ = ws.apply()
        assert [a.name for a in plan.actions] == ["other"]
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
    assert lines["+ fine"].endswith("started")
    assert "FAILED" in lines["+ blocked"] and "address already in use" in lines["+ blocked"].lower()
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
