"""The agent's own contract targets; the workspace and helpers are :mod:`agent.testing`'s."""

from __future__ import annotations

# Every backend on every engine it drives: (backend name, engine kind, test id).
TARGETS = [
    ("docker-cli", "docker", "docker-cli@dockerd"),
    ("docker", "docker", "docker-sdk@dockerd"),
    ("podman", "podman", "podman-py@podman"),
    ("docker-cli", "podman", "podman-cli@podman"),
]
