"""``--backend auto``: the first engine that answers.

In order: Docker at ``DOCKER_HOST`` or the default socket (Docker SDK); Podman at
``CONTAINER_HOST`` or its standard sockets, root then rootless (podman-py); then
the ``docker`` and ``podman`` binaries (CLI backend). With ``--host``, only that
address is tried. When none answers, the error lists everything that was tried
and why it failed (an SDK that is not installed says which extra to install).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator

from backends.base import Backend, BackendError, BackendOptions, load_backend

__all__ = ["AutoBackend", "candidates"]

DOCKER_SOCKET = "unix:///var/run/docker.sock"
PODMAN_ROOT_SOCKET = "unix:///run/podman/podman.sock"

log = logging.getLogger("agent.backends")


def _podman_sockets() -> list[str]:
    sockets = [PODMAN_ROOT_SOCKET]
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    sockets.append(f"unix://{runtime}/podman/podman.sock")
    return sockets


def candidates(options: BackendOptions) -> Iterator[tuple[str, Callable[[], Backend]]]:
    """(description, build) for every engine worth trying, in order.

    With ``--host``, only that address is tried, through each backend that can reach it.
    """

    def make(
        name: str, host: str | None, command: str = options.docker_cmd
    ) -> Callable[[], Backend]:
        return lambda: load_backend(name, BackendOptions(host, command, options.timeout))

    if options.host:
        yield f"Docker SDK at {options.host}", make("docker", options.host)
        yield f"podman-py at {options.host}", make("podman", options.host)
        yield f"{options.docker_cmd} CLI at {options.host}", make("docker-cli", options.host)
        return
    docker_host = os.environ.get("DOCKER_HOST") or DOCKER_SOCKET
    yield f"Docker SDK at {docker_host}", make("docker", docker_host)
    podman_hosts = (
        [os.environ["CONTAINER_HOST"]] if os.environ.get("CONTAINER_HOST") else (_podman_sockets())
    )
    for host in podman_hosts:
        if _socket_exists(host):
            yield f"podman-py at {host}", make("podman", host)
    yield f"the {options.docker_cmd} binary", make("docker-cli", None)
    yield "the podman binary", make("docker-cli", None, "podman")


def _socket_exists(host: str) -> bool:
    return not host.startswith("unix://") or os.path.exists(host.removeprefix("unix://"))


class AutoBackend:
    """Not a backend itself: it builds the first registered backend whose engine answers."""

    name = "auto"

    @classmethod
    def from_options(cls, options: BackendOptions) -> Backend:
        tried: list[str] = []
        for description, build in candidates(options):
            try:
                backend = build()
                backend.version()
            except BackendError as exc:
                tried.append(f"  {description}: {exc.message}")
                continue
            log.info("backend auto: using %s", description)
            return backend
        raise BackendError("no container engine answered; tried:\n" + "\n".join(tried))
