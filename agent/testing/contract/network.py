"""The namespace's network on every target: containers reach each other by name.

Traffic stays between containers on the network the test's engine made: a container
fetches from another by name with busybox ``wget``, run through the engine's exec.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import attrs

from agent.daemon.reconcile import converge
from agent.daemon.settings import Settings
from agent.planning.actions import Action, CreateNetwork, Join, Start
from agent.planning.network import network_name
from agent.sources.load import load_sources
from agent.testing import EngineAccess, Workspace
from agent.testing.namespaces import list_networks, remove_namespace

Image = Callable[[EngineAccess], str]

FETCH_TIMEOUT = 30.0


def server(name: str, body: str, image: str, aliases: str = "") -> str:
    """A container that serves ``body`` on port 8080 (busybox httpd) and can fetch too."""
    return (
        f"  - name: {name}\n    image: {image}\n"
        f'    command: [sh, -c, "echo {body} > /tmp/index.html; '
        f'exec httpd -f -p 8080 -h /tmp"]\n' + (f"    aliases: [{aliases}]\n" if aliases else "")
    )


def manifest(*containers: str) -> str:
    """Replaced at once on an edit (Recreate): these tests check names across replacements,
    not rollouts, during which the previous container answers to the name too."""
    return "version: v1beta1\nupdateStrategy: {type: Recreate}\ncontainers:\n" + "".join(containers)


def fetch(ws: Workspace, engine_name: str, url: str) -> tuple[int, str]:
    """``wget -O- URL`` inside the container: its exit code and output."""
    done = ws.cli("exec", engine_name, "wget", "-O-", url, check=False)
    return done.returncode, done.stdout + done.stderr


def reaches(ws: Workspace, engine_name: str, url: str, body: str) -> None:
    """Fetch until ``body`` comes back, for at most FETCH_TIMEOUT seconds."""
    deadline = time.monotonic() + FETCH_TIMEOUT
    while True:
        code, output = fetch(ws, engine_name, url)
        if code == 0 and body in output:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{engine_name} did not get {body!r} from {url}: {output!r}")
        time.sleep(0.3)


def podman_major(ws: Workspace) -> int:
    version = ws.cli("version", "--format", "{{.Server.Version}}").stdout.strip()
    return int(version.split(".")[0])


def dns_names(network: str, container_id: str) -> set[str]:
    """The names aardvark-dns (rootful Podman) answers for the container on ``network``:
    its record file holds a line ``ID IPv4 IPv6 NAME,ALIAS,...`` for each container."""
    records = Path("/run/containers/networks/aardvark-dns") / network
    for line in records.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == container_id:
            return set(fields[-1].split(","))
    return set()


def engine_name_of(ws: Workspace, name: str) -> str:
    return str(ws.container(name)["Name"]).lstrip("/")


def apply(ws: Workspace, *files: Path, settings: Settings | None = None) -> tuple[Action, ...]:
    desired = load_sources([str(f) for f in files])
    the_plan, results = converge(desired, ws.target.backend(), settings or ws.settings, time.time())
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return the_plan.actions


def test_containers_reach_each_other_by_name_across_files_and_replacements(
    ws: Workspace, busybox_image: Image
) -> None:
    image = busybox_image(ws.target.engine)
    first = ws.write(manifest(server("db", "db-one", image, "store"), server("web", "web", image)))
    second = ws.root / "more.yaml"
    second.write_text(manifest(server("probe", "probe", image)))
    actions = apply(ws, first, second)
    assert [type(a) for a in actions].count(CreateNetwork) == 1
    assert sorted(a.name for a in actions if isinstance(a, Start)) == ["db", "probe", "web"]
    net = network_name(ws.namespace)
    assert list_networks(ws.target.engine, ws.namespace) == [net]

    web = engine_name_of(ws, "web")
    reaches(ws, web, "http://db:8080/", "db-one")
    reaches(ws, web, "http://store:8080/", "db-one")  # db's alias
    reaches(ws, engine_name_of(ws, "probe"), "http://web:8080/", "web")  # from the other file

    # db changes: it is replaced, and its name leads to the new one.
    ws.write(manifest(server("db", "db-two", image, "store"), server("web", "web", image)))
    actions = apply(ws, first, second)
    assert sorted((a.verb, a.name) for a in actions) == [("remove", "db"), ("start", "db")]
    if ws.target.engine.kind == "podman" and podman_major(ws) < 5:
        # Podman 4.3's aardvark-dns (1.4) can take 30 s and more to answer for a replaced
        # container, through the service's API and through the CLI alike (never on Podman 5):
        # what the agent asks of the engine is checked, the engine's name records of the
        # network, and the lookup is left to dockerd and Podman 5 (a lookup that fails
        # meanwhile would be asked of the host's resolvers).
        assert dns_names(net, ws.container("db")["Id"]) >= {"db", "store"}
    else:
        reaches(ws, web, "http://db:8080/", "db-two")

    # Another agent run finds the network again: nothing to do, no second network.
    assert apply(ws, first, second) == ()
    done = ws.agent("apply")
    assert done.returncode == 0, done.stderr
    assert list_networks(ws.target.engine, ws.namespace) == [net]

    # A container of another namespace is not on it: it is on its own namespace's network
    # alone, which holds no container of this one, so no resolver it asks knows their names.
    # (The lookup itself is not tried: an engine's resolver forwards a name it does not know
    # to the host's resolvers, beyond this machine.)
    other = attrs.evolve(ws.settings, namespace=f"{ws.namespace}-o")
    lone = ws.root / "other.yaml"
    lone.write_text(manifest(server("lone", "lone", image)))
    try:
        apply(ws, lone, settings=other)
        (lone_container,) = Workspace(ws.target, other.namespace, ws.root).containers()
        assert set(lone_container["NetworkSettings"]["Networks"]) == {network_name(other.namespace)}
        for ours in ws.containers():
            assert set(ours["NetworkSettings"]["Networks"]) == {net}
    finally:
        remove_namespace(ws.target.engine, other.namespace)

    # agent down leaves no container and no network behind.
    done = ws.agent("down", "--yes", manifest=False)
    assert done.returncode == 0, done.stderr
    assert f"- network {net}: removed" in done.stdout
    assert ws.containers() == []
    assert list_networks(ws.target.engine, ws.namespace) == []


def test_a_network_of_that_name_the_agent_did_not_make_is_refused(
    ws: Workspace, busybox_image: Image
) -> None:
    image = busybox_image(ws.target.engine)
    ws.write(manifest(server("db", "db", image)))
    net = network_name(ws.namespace)
    ws.cli("network", "create", net)
    try:
        done = ws.agent("apply")
        assert done.returncode == 1
        assert f"network '{net}' exists and has no io.container-agent.namespace label" in (
            done.stderr
        )
        assert "--no-network" in done.stderr
        assert ws.containers() == []
        plan = ws.agent("plan")
        assert plan.returncode == 1 and "container-agent did not make it" in plan.stderr
    finally:
        ws.cli("network", "rm", net)


def test_containers_of_an_older_agent_join_in_place(ws: Workspace, busybox_image: Image) -> None:
    image = busybox_image(ws.target.engine)
    ws.write(manifest(server("db", "db", image, "store"), server("web", "web", image)))
    done = ws.agent("apply", "--no-network")
    assert done.returncode == 0, done.stderr
    assert list_networks(ws.target.engine, ws.namespace) == []
    before = {c["Config"]["Labels"]["io.container-agent.name"]: c["Id"] for c in ws.containers()}
    # On the engine's default network, where no name of the namespace is known (not looked
    # up: a name the engine's resolver does not know is asked of the host's resolvers).
    net = network_name(ws.namespace)
    assert all(net not in c["NetworkSettings"]["Networks"] for c in ws.containers())

    plan = ws.agent("plan")
    assert plan.returncode == 0, plan.stderr
    assert "> db " in plan.stdout and "> web " in plan.stdout
    assert "Plan: 0 to start, 0 to restart, 0 to remove, 2 to join." in plan.stdout

    actions = apply(ws, ws.manifest)
    assert sorted(type(a).__name__ for a in actions) == ["CreateNetwork", "Join", "Join"]
    assert {a.name: a.aliases for a in actions if isinstance(a, Join)} == {
        "db": ("db", "store"),
        "web": ("web",),
    }
    after = {c["Config"]["Labels"]["io.container-agent.name"]: c["Id"] for c in ws.containers()}
    assert after == before  # the same containers, joined in place
    reaches(ws, engine_name_of(ws, "web"), "http://store:8080/", "db")
    assert apply(ws, ws.manifest) == ()
