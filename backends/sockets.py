"""Where the engines listen by default: Docker's socket, Podman's rootful and rootless ones."""

from __future__ import annotations

import os

__all__ = [
    "DOCKER_SOCKET",
    "PODMAN_ROOT_SOCKET",
    "docker_address",
    "may_answer",
    "podman_address",
    "podman_addresses",
]

DOCKER_SOCKET = "unix:///var/run/docker.sock"
PODMAN_ROOT_SOCKET = "unix:///run/podman/podman.sock"


def docker_address() -> str:
    """``DOCKER_HOST``, else Docker's default socket."""
    return os.environ.get("DOCKER_HOST") or DOCKER_SOCKET


def podman_addresses() -> list[str]:
    """``CONTAINER_HOST`` alone when it is set; else Podman's standard sockets, the
    rootful one first, then the rootless one in the user's runtime directory."""
    if os.environ.get("CONTAINER_HOST"):
        return [os.environ["CONTAINER_HOST"]]
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.geteuid()}"
    return [PODMAN_ROOT_SOCKET, f"unix://{runtime}/podman/podman.sock"]


def podman_address() -> str:
    """Podman's own default for this process: ``CONTAINER_HOST``, else root's socket for
    root and the rootless one for any other user."""
    rootful, *rest = podman_addresses()
    return rootful if os.geteuid() == 0 or not rest else rest[0]


def may_answer(address: str) -> bool:
    """False for a ``unix://`` address whose socket file does not exist; True otherwise."""
    return not address.startswith("unix://") or os.path.exists(address.removeprefix("unix://"))
