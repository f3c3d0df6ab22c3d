"""Resources, volume sources and grace periods on every backend and engine, read back with
the engine's own inspect. Each test reads as what a user would check."""

from __future__ import annotations

import json
import time
from typing import Any

import attrs

from agent.daemon.reconcile import converge
from agent.daemon.settings import Settings
from agent.engine.executor import ActionResult
from agent.planning.actions import Remove, RemoveNetwork, Restart, Start, Update
from agent.planning.record import Change
from agent.sources.load import load_sources
from agent.testing import Workspace, wait_for
from agent.testing.contract.manifests import manifest

MI = 1024 * 1024


def apply(ws: Workspace, **settings: Any) -> tuple[Any, tuple[ActionResult, ...]]:
    """``converge`` once with the workspace's settings and ``settings`` on top."""
    desired = load_sources([str(ws.manifest)])
    the_settings: Settings = attrs.evolve(ws.settings, **settings)
    return converge(desired, ws.target.backend(), the_settings, time.time())


def limited(memory: str = "64Mi", cpu: str = "500m") -> str:
    return manifest(
        f"""
        containers:
          - name: app
            image: IMAGE
            command: [sleep, "600"]
            resources:
              limits: {{memory: {memory}, cpu: {cpu}}}
        """
    )


def cpu_limit(host_config: dict[str, Any]) -> float:
    """The CPU limit in cores, as the engine reports it: NanoCpus, else quota / period."""
    if host_config.get("NanoCpus"):
        return float(host_config["NanoCpus"]) / 1e9
    return float(host_config["CpuQuota"]) / float(host_config["CpuPeriod"])


def test_limits_are_the_engines_memory_limit_no_swap_and_cpu_quota(ws: Workspace) -> None:
    ws.write(limited("64Mi", "500m"))
    _, results = ws.apply()
    assert all(r.ok for r in results), results
    host = ws.container("app")["HostConfig"]
    assert host["Memory"] == 64 * MI
    assert host["MemorySwap"] == 64 * MI  # the swap limit is the memory limit: no swap
    assert cpu_limit(host) == 0.5


def test_the_2014_memory_and_cpu_fields_are_limits_too(ws: Workspace) -> None:
    ws.write(
        manifest(
            """
            containers:
              - name: app
                image: IMAGE
                command: [sleep, "600"]
                memory: 33554432
                cpu: 250
            """
        )
    )
    assert all(r.ok for r in ws.apply()[1])
    host = ws.container("app")["HostConfig"]
    assert (host["Memory"], host["MemorySwap"]) == (32 * MI, 32 * MI)
    assert cpu_limit(host) == 0.25


def test_no_limits_are_no_limits(ws: Workspace) -> None:
    ws.write(manifest("containers:\n  - {name: app, image: IMAGE, command: [sleep, '600']}\n"))
    assert all(r.ok for r in ws.apply()[1])
    host = ws.container("app")["HostConfig"]
    assert host["Memory"] == 0
    assert not host.get("NanoCpus") and host.get("CpuQuota", 0) in (0, -1)


def test_a_changed_limit_replaces_the_container_and_the_plan_says_why(ws: Workspace) -> None:
    ws.write(limited("64Mi", "500m"))
    ws.apply()
    old = ws.container("app")["Id"]
    ws.write(limited("128Mi", "500m"))
    plan, results = ws.apply()
    if ws.target.backend().updates_in_place():  # dockerd: an update in place since issue 20
        (update,) = plan.actions
        assert isinstance(update, Update) and all(r.ok for r in results), results
        assert update.changes == (
            Change("resources.limits.memory", "~", before="64Mi", after="128Mi"),
        )
        kept = ws.container("app")
        assert (kept["Id"], kept["HostConfig"]["Memory"]) == (old, 128 * MI)
        return
    removal, start = plan.actions
    assert isinstance(removal, Remove) and isinstance(start, Start)
    assert removal.changes == (
        Change("resources.limits.memory", "~", before="64Mi", after="128Mi"),
    )
    assert all(r.ok for r in results), results
    new = ws.container("app")
    assert new["Id"] != old
    assert new["HostConfig"]["Memory"] == 128 * MI


def scratch(restart: str = "Always") -> str:
    return manifest(
        f"""
        volumes:
          - name: scratch
            source: {{emptyDir: {{}}}}
        containers:
          - name: app
            image: IMAGE
            restartPolicy: {restart}
            command: [sleep, "600"]
            volumeMounts:
              - {{name: scratch, mountPath: /scratch}}
        """
    )


def volume_exists(ws: Workspace, name: str) -> bool:
    return ws.cli("volume", "inspect", name, check=False).returncode == 0


def test_an_empty_dir_lives_through_restarts_and_dies_with_the_container(ws: Workspace) -> None:
    ws.write(scratch())
    assert all(r.ok for r in ws.apply()[1])
    info = ws.container("app")
    (mount,) = [m for m in info["Mounts"] if m["Destination"] == "/scratch"]
    assert mount["Type"] == "volume"
    volume = mount["Name"]
    ws.cli("exec", info["Id"], "sh", "-c", "echo kept > /scratch/note")

    # The container exits and the agent starts it again: the same container, the same files.
    ws.cli("kill", info["Id"])
    wait_for(lambda: not ws.container("app")["State"]["Running"], what="the kill")
    plan, results = ws.apply()
    assert [type(a) for a in plan.actions] == [Restart]
    assert all(r.ok for r in results), results
    assert ws.cli("exec", info["Id"], "cat", "/scratch/note").stdout == "kept\n"

    # Removed with its container.
    assert volume_exists(ws, volume)
    ws.write(manifest("containers: []\n"))
    assert all(r.ok for r in ws.apply()[1])
    assert ws.containers() == []
    assert not volume_exists(ws, volume)


def host_dir(path: str) -> str:
    return manifest(
        f"""
        volumes:
          - name: site
          - name: shared
            source:
              hostDir: {{path: "{path}"}}
        containers:
          - name: app
            image: IMAGE
            command: [sleep, "600"]
            volumeMounts:
              - {{name: shared, mountPath: /shared, readOnly: true}}
        """
    )


def test_a_host_dir_under_an_allowed_prefix_is_bound(ws: Workspace) -> None:
    allowed = ws.root / "allowed"
    (allowed / "data").mkdir(parents=True)
    (allowed / "data" / "hello.txt").write_text("from the host\n")
    ws.write(host_dir(str(allowed / "data")))
    _, results = apply(ws, allow_host_path=(str(allowed),))
    assert all(r.ok for r in results), results
    info = ws.container("app")
    (mount,) = [m for m in info["Mounts"] if m["Destination"] == "/shared"]
    assert (mount["Type"], mount["Source"], mount["RW"]) == ("bind", str(allowed / "data"), False)
    assert ws.cli("exec", info["Id"], "cat", "/shared/hello.txt").stdout == "from the host\n"


def test_a_host_file_is_bound_and_a_missing_host_dir_is_made(ws: Workspace) -> None:
    allowed = ws.root / "allowed"
    allowed.mkdir()
    (allowed / "app.conf").write_text("listen 8080;\n")
    ws.write(
        manifest(
            f"""
            volumes:
              - name: conf
                source:
                  hostDir: {{path: "{allowed / "app.conf"}"}}
              - name: data
                source:
                  hostDir: {{path: "{allowed / "made" / "data"}"}}
            containers:
              - name: app
                image: IMAGE
                command: [sleep, "600"]
                volumeMounts:
                  - {{name: conf, mountPath: /etc/app.conf, readOnly: true}}
                  - {{name: data, mountPath: /data}}
            """
        )
    )
    assert not (allowed / "made").exists()
    _, results = apply(ws, allow_host_path=(str(allowed),))
    assert all(r.ok for r in results), results
    cid = ws.container("app")["Id"]
    assert ws.cli("exec", cid, "cat", "/etc/app.conf").stdout == "listen 8080;\n"
    denied = ws.cli("exec", cid, "sh", "-c", "echo x > /etc/app.conf", check=False)
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr
    ws.cli("exec", cid, "sh", "-c", "echo written > /data/note")
    assert (allowed / "made" / "data" / "note").read_text() == "written\n"
    assert (allowed / "app.conf").read_text() == "listen 8080;\n"


def test_a_host_dir_outside_the_allowed_prefixes_is_refused_and_nothing_changes(
    ws: Workspace,
) -> None:
    allowed = ws.root / "allowed"
    allowed.mkdir()
    (allowed / "escape").symlink_to("/etc")
    ws.write(manifest("containers:\n  - {name: app, image: IMAGE, command: [sleep, '600']}\n"))
    ws.apply()
    before = [c["Id"] for c in ws.containers()]

    for path, option in (("/etc", []), ("/etc", [f"--allow-host-path={allowed}"])):
        ws.write(host_dir(path))
        done = ws.agent("apply", *option)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        assert f"{ws.manifest}: volumes[1].source.hostDir.path: host path '/etc' is not " in (
            done.stderr
        )
        assert "--allow-host-path PREFIX" in done.stderr
    # A symbolic link under an allowed prefix that leads out of it is refused as well.
    ws.write(host_dir(str(allowed / "escape")))
    done = ws.agent("apply", f"--allow-host-path={allowed}")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "is not allowed" in done.stderr
    assert [c["Id"] for c in ws.containers()] == before


def test_the_grace_period_of_a_container_is_used_when_it_is_removed(ws: Workspace) -> None:
    ws.write(
        manifest(
            """
            containers:
              - name: stubborn
                image: IMAGE
                command: [sh, -c, 'trap "" TERM; sleep 600']
                terminationGracePeriodSeconds: 1
            """
        )
    )
    assert all(r.ok for r in ws.apply()[1])
    labels = ws.container("stubborn")["Config"]["Labels"]
    assert labels["io.container-agent.stop-timeout"] == "1"
    # The container is no longer in any manifest: its own grace period, not --stop-timeout.
    ws.write(manifest("containers: []\n"))
    began = time.monotonic()
    plan, results = apply(ws, stop_timeout=30)
    elapsed = time.monotonic() - began
    # The namespace's network goes with its last container.
    assert [type(a) for a in plan.actions] == [Remove, RemoveNetwork]
    assert all(r.ok for r in results), results
    assert ws.containers() == []
    assert elapsed < 10, f"the removal took {elapsed:.1f}s, as if --stop-timeout 30 applied"


def hog(restart: str) -> str:
    """A container over its memory limit: a shell that doubles a string until it is killed."""
    return manifest(
        f"""
        containers:
          - name: hog
            image: IMAGE
            restartPolicy: {restart}
            command: [sh, -c, 'x=a; while true; do x=$x$x; done']
            resources:
              limits: {{memory: 16Mi}}
        """
    )


def oom_killed(ws: Workspace) -> dict[str, Any] | None:
    """The hog's state once the kernel killed it (OOMKilled, or exit 137 where the engine
    does not tell), else None."""
    state: dict[str, Any] = ws.container("hog")["State"]
    if state["Running"] or state["Status"] not in ("exited", "stopped"):
        return None
    return state if state.get("OOMKilled") or state["ExitCode"] == 137 else None


def test_a_container_over_its_memory_limit_is_killed_and_restarted_under_always(
    ws: Workspace,
) -> None:
    ws.write(hog("Always"))
    assert all(r.ok for r in ws.apply()[1])
    wait_for(lambda: oom_killed(ws) is not None, timeout=60, what="the OOM kill")
    state = oom_killed(ws)
    assert state is not None and state["ExitCode"] == 137, json.dumps(state)
    first_start = state["StartedAt"]

    plan, results = ws.apply()
    assert [(type(a), a.reason) for a in plan.actions] == [(Restart, "exited 137")]
    assert all(r.ok for r in results), results
    wait_for(
        lambda: ws.container("hog")["State"]["StartedAt"] != first_start,
        timeout=30,
        what="the restart",
    )
    wait_for(lambda: oom_killed(ws) is not None, timeout=60, what="the second OOM kill")


def test_a_container_over_its_memory_limit_is_left_exited_under_never(ws: Workspace) -> None:
    ws.write(hog("Never"))
    assert all(r.ok for r in ws.apply()[1])
    wait_for(lambda: oom_killed(ws) is not None, timeout=60, what="the OOM kill")
    before = ws.container("hog")
    plan, results = ws.apply()
    assert plan.actions == () and results == ()
    after = ws.container("hog")
    # Podman moves a killed container from "stopped" to "exited" once its cleanup runs, so
    # what is compared is what a user checks: the same container, not running, not started
    # again.
    assert after["Id"] == before["Id"]
    assert not after["State"]["Running"]
    assert after["State"]["StartedAt"] == before["State"]["StartedAt"]


def test_a_limit_change_is_made_in_place_where_the_engine_keeps_it(ws: Workspace) -> None:
    ws.write(limited("64Mi", "500m"))
    assert all(r.ok for r in ws.apply()[1])
    before = ws.container("app")
    ws.write(limited("96Mi", "250m"))
    the_plan, results = ws.apply()
    assert all(r.ok for r in results), results
    after = ws.container("app")
    assert after["State"]["Running"]
    assert (after["HostConfig"]["Memory"], after["HostConfig"]["MemorySwap"]) == (96 * MI, 96 * MI)
    assert cpu_limit(after["HostConfig"]) == 0.25
    if ws.target.backend().updates_in_place():  # dockerd; Podman 5
        assert after["Id"] == before["Id"]
        assert [a.verb for a in the_plan.actions] == ["update"]
    else:  # Podman 4.3 changes the cgroup alone, its inspect the old limits: replaced
        assert after["Id"] != before["Id"]
        assert "cannot change them in place" in the_plan.actions[0].reason
    again, _ = ws.apply()
    assert not again.changes, again
    done = ws.agent("plan")
    assert done.returncode == 0 and "No changes." in done.stdout, done.stdout
