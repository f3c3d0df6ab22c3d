"""Container declarations of konlet's form, and what they ask of the engine, on every backend
and engine: entrypoint and arguments, env, host network, privileged mode, tmpfs, host paths,
stdin and tty, log limits and restart policies, read back with the engine's own inspect."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from agent.daemon.reconcile import converge, plan_for
from agent.daemon.settings import Settings
from agent.engine.executor import ActionResult
from agent.planning.actions import Plan, Remove, Restart, Start
from agent.planning.spec import build_specs
from agent.sources.allowances import Allowances, check_desired
from agent.sources.load import load_sources
from agent.testing import Workspace, wait_for
from agent.testing.contract.manifests import manifest
from agent.testing.image import BUSYBOX_TAG

MIB = 1024 * 1024


def declaration(body: str) -> str:
    return textwrap.dedent(body).replace("IMAGE", BUSYBOX_TAG)


def apply(ws: Workspace, *files: Path, **settings: Any) -> tuple[Plan, tuple[ActionResult, ...]]:
    """``converge`` once on ``files`` (the workspace's manifest by default), with the
    workspace's settings and ``settings`` on top."""
    desired = load_sources([str(f) for f in files or (ws.manifest,)])
    the_settings: Settings = attrs.evolve(ws.settings, **settings)
    return converge(desired, ws.target.backend(), the_settings, time.time())


def argv(info: dict[str, Any]) -> list[str]:
    """The process the engine runs: its entrypoint and its arguments. Podman 4.3's inspect
    shows the entrypoint as one string, its items joined by spaces."""
    entrypoint = info["Config"]["Entrypoint"] or []
    if isinstance(entrypoint, str):
        entrypoint = entrypoint.split(" ") if entrypoint else []
    return [*entrypoint, *(info["Config"]["Cmd"] or [])]


def logs(ws: Workspace, container_id: str) -> str:
    found = ws.cli("logs", container_id)
    return found.stdout + found.stderr


def mounts_in(ws: Workspace, container_id: str) -> dict[str, tuple[str, str]]:
    """What the container's /proc/mounts says: mount point -> (file system, options)."""
    table = ws.cli("exec", container_id, "cat", "/proc/mounts").stdout
    return {f[1]: (f[2], f[3]) for f in (line.split() for line in table.splitlines())}


WEB = """
    spec:
      containers:
        - name: web
          image: IMAGE
          command: [sh, -c]
          args: ['echo "mode=$MODE empty=[$EMPTY]"; exec sleep 600']
          env:
            - {name: MODE, value: prod}
            - {name: EMPTY}
          stdin: true
          tty: true
      restartPolicy: Always
    """


def test_a_declaration_runs_command_as_the_entrypoint_and_args_as_its_arguments(
    ws: Workspace,
) -> None:
    ws.write(declaration(WEB))
    _, results = apply(ws)
    assert all(r.ok for r in results), results
    info = ws.container("web")
    assert argv(info) == ["sh", "-c", 'echo "mode=$MODE empty=[$EMPTY]"; exec sleep 600']
    assert argv(info)[:1] == ["sh"] and info["Config"]["Entrypoint"]
    wait_for(lambda: "mode=prod empty=[]" in logs(ws, info["Id"]), what="the container's output")
    assert "MODE=prod" in info["Config"]["Env"]
    assert (info["Config"]["OpenStdin"], info["Config"]["Tty"]) == (True, True)
    # konlet's: the host's network, and json-file logs bounded at 500 MB (x 3 on dockerd).
    host = info["HostConfig"]
    assert host["NetworkMode"] == "host"
    assert host["LogConfig"]["Type"] in ("json-file", "k8s-file")
    if ws.target.engine.kind == "docker":
        assert host["LogConfig"]["Config"] == {"max-size": "500m", "max-file": "3"}
    else:  # Podman keeps one file, cut at the size: 500 MiB, as dockerd reads 500m
        assert host["LogConfig"]["Size"] == "524.3MB"
    assert host["Privileged"] is False


def test_a_command_without_args_drops_the_images_cmd(ws: Workspace) -> None:
    # The image's CMD is ["sh"]: kept, it would be an argument of echo.
    ws.write(
        declaration(
            """
            spec:
              containers:
                - {name: once, image: IMAGE, command: [echo, only-the-entrypoint]}
              restartPolicy: Never
            """
        )
    )
    assert all(r.ok for r in apply(ws)[1])
    info = ws.container("once")
    assert argv(info) == ["echo", "only-the-entrypoint"]
    wait_for(lambda: not ws.container("once")["State"]["Running"], what="the exit")
    assert logs(ws, info["Id"]).strip() == "only-the-entrypoint"


def test_args_without_command_keep_the_entrypoint_and_replace_the_cmd(ws: Workspace) -> None:
    ws.write(
        declaration(
            """
            spec:
              containers:
                - {name: app, image: IMAGE, args: [sh, -c, "echo from-args; exec sleep 600"]}
            """
        )
    )
    assert all(r.ok for r in apply(ws)[1])
    info = ws.container("app")
    assert not info["Config"]["Entrypoint"]
    assert info["Config"]["Cmd"] == ["sh", "-c", "echo from-args; exec sleep 600"]
    wait_for(lambda: "from-args" in logs(ws, info["Id"]), what="the container's output")


def test_a_v1beta1_entrypoint_with_a_command(ws: Workspace) -> None:
    ws.write(
        manifest(
            """
            containers:
              - name: app
                image: IMAGE
                entrypoint: [sh, -c]
                command: ["echo v1beta1-entrypoint; exec sleep 600"]
            """
        )
    )
    assert all(r.ok for r in apply(ws)[1])
    info = ws.container("app")
    assert argv(info) == ["sh", "-c", "echo v1beta1-entrypoint; exec sleep 600"]
    wait_for(lambda: "v1beta1-entrypoint" in logs(ws, info["Id"]), what="the output")
    assert info["HostConfig"]["NetworkMode"] != "host"


def test_memory_empty_dirs_are_tmpfs_and_host_paths_are_bound(
    ws: Workspace, tmp_path: Path
) -> None:
    allowed = tmp_path / "allowed"
    (allowed / "data").mkdir(parents=True)
    (allowed / "conf").mkdir()
    (allowed / "conf" / "app.conf").write_text("setting=1\n")
    ws.write(
        declaration(
            f"""
            spec:
              containers:
                - name: app
                  image: IMAGE
                  command: [sh, -c, "echo written > /data/note; exec sleep 600"]
                  volumeMounts:
                    - {{name: data, mountPath: /data}}
                    - {{name: conf, mountPath: /conf, readOnly: true}}
                    - {{name: cache, mountPath: /cache}}
              volumes:
                - {{name: data, hostPath: {{path: {allowed / "data"}}}}}
                - {{name: conf, hostPath: {{path: {allowed / "conf"}}}}}
                - {{name: cache, emptyDir: {{medium: Memory}}}}
            """
        )
    )
    assert all(r.ok for r in apply(ws, allow_host_path=(str(allowed),))[1])
    info = ws.container("app")
    found = mounts_in(ws, info["Id"])
    assert found["/cache"][0] == "tmpfs"
    binds = {m["Destination"]: m for m in info["Mounts"] if m["Type"] == "bind"}
    assert binds["/data"]["Source"] == str(allowed / "data") and binds["/data"]["RW"]
    assert binds["/conf"]["Source"] == str(allowed / "conf") and not binds["/conf"]["RW"]
    wait_for(lambda: (allowed / "data" / "note").exists(), what="the file written inside")
    assert (allowed / "data" / "note").read_text() == "written\n"
    assert ws.cli("exec", info["Id"], "cat", "/conf/app.conf").stdout == "setting=1\n"
    refused = ws.cli("exec", info["Id"], "sh", "-c", "echo x > /conf/new", check=False)
    assert refused.returncode != 0
    assert not (allowed / "conf" / "new").exists()


def test_a_host_path_outside_the_allowed_prefixes_is_refused_and_nothing_starts(
    ws: Workspace,
) -> None:
    ws.write(
        declaration(
            """
            spec:
              containers:
                - name: app
                  image: IMAGE
                  volumeMounts: [{name: etc, mountPath: /host-etc}]
              volumes:
                - {name: etc, hostPath: {path: /etc}}
            """
        )
    )
    done = ws.agent("apply")
    assert done.returncode == 2, done.stderr
    assert f"{ws.manifest}: spec.volumes[0].hostPath.path: host path '/etc' is not allowed" in (
        done.stderr
    )
    assert "--allow-host-path PREFIX" in done.stderr
    assert ws.containers() == []


PRIVILEGED = """
    spec:
      containers:
        - name: app
          image: IMAGE
          command: [sleep, "600"]
          securityContext: {privileged: true}
    """


def test_privileged_runs_only_when_allowed(ws: Workspace) -> None:
    ws.write(declaration(PRIVILEGED))
    refused = ws.agent("apply")
    assert refused.returncode == 2, refused.stderr
    assert (
        f"{ws.manifest}: spec.containers[app].securityContext.privileged: a privileged "
        "container is not allowed"
    ) in refused.stderr
    assert "--allow-privileged" in refused.stderr
    assert ws.containers() == []

    # What the engine is asked for: created (not started), its inspect says privileged.
    desired = check_desired(load_sources([str(ws.manifest)]), Allowances(privileged=True))
    (spec,) = build_specs(desired.containers, ws.namespace, str(ws.volumes))
    created = ws.target.backend().create(spec)
    assert ws.cli("inspect", created, "--format", "{{.HostConfig.Privileged}}").stdout == "true\n"
    ws.cli("rm", "-f", created)

    done = ws.agent("apply", "--allow-privileged")
    if done.returncode == 1 and ws.target.engine.kind == "docker" and not _every_capability():
        # dockerd 20.10 gives a privileged container every capability, and its runc cannot
        # apply one that the engine's own bounding set lacks (this sandbox has no
        # CAP_SYS_RESOURCE); Docker 26 keeps to the bounding set and starts it. Where it
        # fails, the engine's error is reported and the container that did not start removed.
        assert "unable to apply caps" in done.stderr
        assert ws.containers() == []
        return
    assert done.returncode == 0, done.stderr
    info = ws.container("app")
    assert info["HostConfig"]["Privileged"] is True
    # The host's devices are there, where an unprivileged container has a handful.
    devices = ws.cli("exec", info["Id"], "sh", "-c", "echo /dev/*").stdout.split()
    assert len(devices) > 20, devices


def _every_capability() -> bool:
    """Whether this process's bounding set has every capability the kernel knows."""
    status = Path("/proc/self/status").read_text()
    (bounding,) = [line.split()[1] for line in status.splitlines() if line.startswith("CapBnd")]
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    return int(bounding, 16) == (1 << (last + 1)) - 1


HOST_NETWORK = """
    containers:
      - name: app
        image: IMAGE
        command: [sleep, "600"]
        hostNetwork: true
    """


def test_host_network_in_v1beta1_runs_only_when_allowed(ws: Workspace) -> None:
    ws.write(manifest(HOST_NETWORK))
    refused = ws.agent("apply")
    assert refused.returncode == 2, refused.stderr
    assert (
        f"{ws.manifest}: containers[app].hostNetwork: the host's network is not allowed"
    ) in refused.stderr
    assert "--allow-host-network" in refused.stderr
    assert ws.containers() == []

    done = ws.agent("apply", "--allow-host-network")
    assert done.returncode == 0, done.stderr
    info = ws.container("app")
    assert info["HostConfig"]["NetworkMode"] == "host"
    inside = ws.cli("exec", info["Id"], "cat", "/proc/net/dev").stdout
    host = Path("/proc/net/dev").read_text()
    # The host's interfaces, not a network namespace of its own (lo and eth0); the veth
    # ends of other containers come and go meanwhile.
    assert _interfaces(host) <= _interfaces(inside)
    assert "eth0" not in _interfaces(inside) or "eth0" in _interfaces(host)


def _interfaces(table: str) -> set[str]:
    names = {line.split(":")[0].strip() for line in table.splitlines()[2:]}
    return {name for name in names if not name.startswith("veth")}


@pytest.mark.parametrize(
    ("policy", "code", "restarted"),
    [
        ("Always", 0, True),
        ("OnFailure", 0, False),
        ("OnFailure", 3, True),
        ("Never", 3, False),
    ],
    ids=["Always-exit-0", "OnFailure-exit-0", "OnFailure-exit-3", "Never-exit-3"],
)
def test_restart_policies_of_a_declaration(
    ws: Workspace, policy: str, code: int, restarted: bool
) -> None:
    ws.write(
        declaration(
            f"""
            spec:
              containers:
                - {{name: job, image: IMAGE, command: [sh, -c, "echo ran; exit {code}"]}}
              restartPolicy: {policy}
            """
        )
    )
    assert all(r.ok for r in apply(ws)[1])
    wait_for(lambda: not ws.container("job")["State"]["Running"], what="the exit")
    assert ws.container("job")["State"]["ExitCode"] == code
    plan, _ = apply(ws)
    assert [type(a) for a in plan.actions] == ([Restart] if restarted else [])


def test_a_new_declaration_replaces_the_container(ws: Workspace) -> None:
    ws.write(declaration(WEB))
    assert all(r.ok for r in apply(ws)[1])
    old = ws.container("web")["Id"]
    ws.write(declaration(WEB.replace("value: prod", "value: staging")))
    plan, results = apply(ws)
    assert [type(a) for a in plan.actions] == [Remove, Start]
    assert all(r.ok for r in results), results
    new = ws.container("web")
    assert new["Id"] != old
    wait_for(lambda: "mode=staging" in logs(ws, new["Id"]), what="the new container's output")
    again = plan_for(
        load_sources([str(ws.manifest)]), ws.target.backend(), ws.settings, time.time()
    )
    assert again.actions == ()
    status = ws.agent("status")
    assert status.returncode == 0, status.stderr
    (row,) = [line for line in status.stdout.splitlines() if line.startswith("web ")]
    assert "in sync" in row and "running" in row


def test_the_daemon_runs_a_declaration_and_replaces_its_container_on_an_edit(
    ws: Workspace,
) -> None:
    ws.write(declaration(WEB))
    with ws.running("--reload=30") as (agent, log):
        wait_for(lambda: ws.running_names() == ["web"], what="the first start")
        old = ws.container("web")["Id"]
        ws.write(declaration(WEB.replace("value: prod", "value: edited")))
        began = time.monotonic()

        def replaced() -> bool:
            try:
                running = [c["Id"] for c in ws.containers() if c["State"]["Running"]]
            except AssertionError:  # the old one removed between the listing and its inspect
                return False
            return running not in ([], [old])

        wait_for(replaced, what="the replacement")
        took = time.monotonic() - began
        assert agent.poll() is None, log.read_text()

        def alone() -> bool:
            try:
                return len(ws.containers()) == 1
            except AssertionError:  # the old one removed between the listing and its inspect
                return False

        # A rolling update keeps the previous container until the new one has run its
        # minimum healthy time (10 s by default), then removes it.
        wait_for(alone, what="the previous container removed")
    (new,) = ws.containers()
    assert new["Id"] != old
    assert "MODE=edited" in new["Config"]["Env"]
    assert took < 15, f"the edit took {took:.1f}s to be applied"
