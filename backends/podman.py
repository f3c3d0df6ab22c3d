"""The Podman backend: Podman's own (libpod) REST API through the ``podman`` package (podman-py).

podman-py is imported when the backend is built, never when this module is. The
client is made on first use, after asking the service its version: podman-py
puts its own release in every URL (``/v5.8.0/libpod/...``) whatever the server
is, so the client is made for the server's API version instead. The requests
that carry fields are written here rather than by podman-py's helpers, so that
only the fields needed go out, in types Podman 4.3 to 5 accept: podman-py renders
its create payload for its own release, and its ``images.pull`` asks for
``compatMode`` (which Podman 4.3 ignores) and drops an error reported in the
pull stream (Podman answers a failed pull with 200). Every podman-py and
transport error becomes a :class:`BackendError`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from agent.observed import ObservedContainer
from agent.spec import LABEL_HASH, LABEL_IMAGE_ID, LABEL_NAME, LABEL_NAMESPACE, RunSpec
from backends.base import Backend, BackendError, BackendOptions
from backends.credentials import RegistryAuth
from backends.docker_sdk import unreachable

if TYPE_CHECKING:
    import podman

__all__ = ["PodmanBackend", "observed_from_libpod"]

INSTALL_HINT = "the podman backend needs podman-py: pip install 'container-agent[podman]'"

# Podman's states in Docker's words (ObservedContainer.state); the others are the same.
_STATES = {
    "configured": "created",
    "initialized": "created",
    "stopping": "running",
    "stopped": "exited",
    "unknown": "dead",
}


class PodmanBackend(Backend):
    """A Podman service (``podman system service``) through podman-py.

    ``host`` is the service's URL; without it ``CONTAINER_HOST``, else Podman's
    default socket (``/run/podman/podman.sock`` as root).
    """

    name = "podman"

    def __init__(self, host: str | None = None, timeout: float = 60.0) -> None:
        try:
            import podman
        except ImportError as exc:
            raise BackendError(INSTALL_HINT) from exc
        self._sdk = podman
        self.timeout = timeout
        self._address = host or os.environ.get("CONTAINER_HOST") or default_address()
        self._client: podman.PodmanClient | None = None

    @classmethod
    def from_options(cls, options: BackendOptions) -> PodmanBackend:
        return cls(options.host, options.timeout)

    @property
    def address(self) -> str:
        return self._address

    def version(self) -> str:
        with self._engine_errors():
            return str(self._connect().system.version()["Version"])

    def list(self, namespace: str) -> list[ObservedContainer]:
        filters = {"label": f"{LABEL_NAMESPACE}={namespace}"}
        with self._engine_errors():
            found = self._connect().containers.list(all=True, sparse=True, filters=filters)
        return [observed_from_libpod(container.attrs) for container in found]

    def image_id(self, image: str) -> str | None:
        with self._engine_errors():
            try:
                return str(self._connect().images.get(image).id)
            except self._sdk.errors.ImageNotFound:
                return None

    def pull(self, image: str, auth: RegistryAuth | None) -> None:
        """Pull ``image``; the service answers 200 and reports a failure in the stream."""
        headers = {}
        if auth:
            encoded = json.dumps(auth.as_auth_config()).encode()
            headers["X-Registry-Auth"] = base64.urlsafe_b64encode(encoded).decode()
        with self._engine_errors():
            api = self._connect().api
            response = api.post(
                "/images/pull", params={"reference": image}, headers=headers, stream=True
            )
            response.raise_for_status()
            for line in response.iter_lines():
                event = json.loads(line) if line.strip() else {}
                if event.get("error"):
                    raise BackendError(event["error"], self.address)

    def create(self, spec: RunSpec) -> str:
        """Create, never pull (as ``podman create --pull=never``): a missing image fails."""
        with self._engine_errors():
            response = self._connect().api.post(
                "/containers/create",
                data=json.dumps(spec_generator(spec)),
                headers={"Content-Type": "application/json"},
            )
            response.raise_for_status()
            return str(response.json()["Id"])

    def start(self, container_id: str) -> None:
        with self._engine_errors():
            response = self._connect().api.post(f"/containers/{quote(container_id, safe='')}/start")
            response.raise_for_status()

    def stop(self, container_id: str, timeout: int = 10) -> None:
        with self._engine_errors():
            response = self._connect().api.post(
                f"/containers/{quote(container_id, safe='')}/stop",
                params={"timeout": timeout},
                timeout=self.timeout + timeout,
            )
            response.raise_for_status()

    def remove(self, container_id: str) -> None:
        """Kill at once and remove, as ``docker rm -f``; a container gone already is fine.

        ``timeout=0``: without it Podman first waits the container's stop timeout (10 s).
        """
        with self._engine_errors():
            response = self._connect().api.delete(
                f"/containers/{quote(container_id, safe='')}",
                params={"force": True, "timeout": 0},
            )
            if response.status_code == 404:
                return
            response.raise_for_status()
            for report in response.json() or []:
                if report.get("Err"):
                    raise BackendError(report["Err"], self.address)

    def _connect(self) -> podman.PodmanClient:
        """The client for the service's API version, made on first use."""
        if self._client is None:
            with self._sdk.PodmanClient(base_url=self._address, timeout=self.timeout) as probe:
                info = probe.system.version()
            self._client = self._sdk.PodmanClient(
                base_url=self._address, version=_api_version(info), timeout=self.timeout
            )
        return self._client

    @contextlib.contextmanager
    def _engine_errors(self) -> Iterator[None]:
        """Turn every podman-py and transport error into a BackendError naming this service."""
        errors = self._sdk.errors
        try:
            yield
        except errors.APIError as exc:
            if exc.response is None:  # podman-py wraps a failed connection in an APIError
                raise unreachable(exc.__cause__ or exc, self.address, self.timeout) from exc
            raise BackendError(str(exc.explanation or exc), self.address) from exc
        except errors.PodmanError as exc:
            raise BackendError(str(exc), self.address) from exc
        except OSError as exc:  # requests' and urllib3's errors are OSErrors too
            raise unreachable(exc, self.address, self.timeout) from exc
        except ValueError as exc:  # podman-py's answer to a URL it cannot use
            raise BackendError(str(exc), self.address) from exc


def default_address() -> str:
    """Podman's own default socket: rootful, or the user's runtime directory."""
    if os.geteuid() == 0:
        return "unix:///run/podman/podman.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.geteuid()}"
    return f"unix://{runtime}/podman/podman.sock"


def spec_generator(spec: RunSpec) -> dict[str, Any]:
    """The libpod create body (a SpecGenerator) for ``spec``: only the fields it needs."""
    body: dict[str, Any] = {
        "name": spec.engine_name,
        "hostname": spec.hostname,
        "image": spec.image,
        "labels": spec.labels,
        "env": dict(spec.env),
        "restart_policy": "no",
        "portmappings": [
            {
                "container_port": port.container_port,
                "host_port": port.host_port,
                "protocol": port.protocol,
                **({"host_ip": port.host_ip} if port.host_ip else {}),
            }
            for port in spec.ports
        ],
        "mounts": [
            {
                "type": "bind",
                "source": mount.source,
                "destination": mount.target,
                "options": ["ro"] if mount.read_only else [],
            }
            for mount in spec.mounts
        ],
    }
    if spec.command:
        body["command"] = list(spec.command)
    if spec.working_dir:  # made when missing, as Docker does (and the podman CLI asks)
        body["work_dir"] = spec.working_dir
        body["create_working_dir"] = True
    return body


def _api_version(info: dict[str, Any]) -> str:
    """The libpod API version of a ``GET /version`` answer (not its Docker API version)."""
    for component in info.get("Components") or []:
        if component.get("Name") == "Podman Engine":
            return str(component.get("Details", {}).get("APIVersion") or component["Version"])
    return str(info["Version"])


def observed_from_libpod(row: dict[str, Any]) -> ObservedContainer:
    """A container as libpod lists it (GET /libpod/containers/json, and ``podman ps
    --format json``, which prints the same rows), with no inspect."""
    labels = row.get("Labels") or {}
    state = _STATES.get(row.get("State", ""), row.get("State", ""))
    exited = state == "exited"
    finished, started = row.get("ExitedAt"), row.get("StartedAt")
    return ObservedContainer(
        id=row["Id"],
        engine_name=(row.get("Names") or [""])[0],
        namespace=labels.get(LABEL_NAMESPACE, ""),
        name=labels.get(LABEL_NAME, ""),
        hash=labels.get(LABEL_HASH, ""),
        state=state,
        exit_code=row.get("ExitCode") if exited else None,
        finished_at=float(finished) if exited and finished and finished > 0 else None,
        started_at=float(started) if exited and started and started > 0 else None,
        image=row.get("Image", ""),
        image_id=labels.get(LABEL_IMAGE_ID, ""),
    )
