"""What a namespace holds on an engine, by the engine's own CLI: its containers and networks,
listed and force-removed after a check."""

from __future__ import annotations

import time

from agent.planning.spec import LABEL_NAMESPACE
from agent.testing.workspace import EngineAccess, EngineFailed, run_cli


def list_networks(engine: EngineAccess, namespace: str) -> list[str]:
    """Names of the networks labelled with NAMESPACE (the agent's network of it)."""
    label = f"label={LABEL_NAMESPACE}={namespace}"
    out = run_cli(engine, "network", "ls", "--quiet", "--format", "{{.Name}}", "--filter", label)
    return out.stdout.split()


def list_namespace(engine: EngineAccess, namespace: str) -> list[str]:
    """Ids of all containers (any state) labelled with NAMESPACE."""
    label = f"label={LABEL_NAMESPACE}={namespace}"
    return run_cli(engine, "ps", "-aq", "--no-trunc", "--filter", label).stdout.split()


def remove_namespace(engine: EngineAccess, namespace: str) -> list[str]:
    """Force-remove the containers labelled with NAMESPACE, then its networks; returns the
    containers' ids, or raises :class:`EngineFailed` if some are left. An engine may still be
    taking the removed containers' endpoints off a network for a moment ("has active
    endpoints"): that removal is retried for 30 s."""
    ids = list_namespace(engine, namespace)
    if ids:
        wait = ["-t", "0"] if engine.kind == "podman" else []  # podman rm -f waits 10 s otherwise
        run_cli(engine, "rm", "-f", "-v", *wait, *ids, check=False)
        left = list_namespace(engine, namespace)
        if left:
            raise EngineFailed(
                f"{engine.kind}: containers of namespace {namespace} not removed: {left}"
            )
    deadline = time.monotonic() + 30.0
    while networks := list_networks(engine, namespace):
        run_cli(engine, "network", "rm", *networks, check=False)
        left = list_networks(engine, namespace)
        if not left:
            break
        if time.monotonic() > deadline:
            raise EngineFailed(f"{engine.kind}: networks of namespace {namespace} left: {left}")
        time.sleep(0.5)
    return ids
