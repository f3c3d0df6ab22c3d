"""The Podman backend: Podman's own (libpod) REST API through the ``podman`` package (podman-py).

podman-py is imported when the backend is built, never when this module is. The
client is made on first use, after asking the service its API version: podman-py
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
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import attrs

from agent.planning.network import ObservedNetwork
from agent.planning.observed import ObservedContainer
from agent.planning.spec import LABEL_NAMESPACE, RunSpec
from backends.base import Backend, BackendOptions, EventStream
from backends.credentials import RegistryAuth
from backends.deadline import within
from backends.docker_rows import event_from_docker, network_from_row
from backends.errors import BackendError, ImageUnavailable, kind_of, pulling, sdk_required
from backends.libpod_rows import LASTING_UPDATE, observed_from_libpod, podman_version
from backends.sockets import may_answer, podman_address, podman_addresses
from backends.streams import RowEvents, interrupt, json_lines
from backends.transport import CONNECTIONS, unreachable

if TYPE_CHECKING:
    import podman

__all__ = ["CPU_PERIOD", "PodmanBackend", "spec_generator"]

CPU_PERIOD = 100_000
"""The CFS period of a CPU limit, in microseconds: the engines' default (100 ms)."""


class PodmanBackend(Backend):
    """A Podman service (``podman system service``) through podman-py.

    ``host`` is the service's URL; without it ``CONTAINER_HOST``, else Podman's
    default socket (``/run/podman/podman.sock`` as root).
    """

    name = "podman"
    auto_order = 20

    def __init__(self, host: str | None = None, timeout: float = 60.0) -> None:
        with sdk_required("podman", "podman-py"):
            import podman
        self._sdk = podman
        self.timeout = timeout
        self._address = host or podman_address()
        self._client: podman.PodmanClient | None = None
        self._lock = threading.Lock()
        self._libpod_version = ""

    @classmethod
    def from_options(cls, options: BackendOptions) -> PodmanBackend:
        return cls(options.host, options.timeout)

    @classmethod
    def auto_candidates(cls, options: BackendOptions) -> Iterator[tuple[str, BackendOptions]]:
        """The address given; else each of Podman's sockets that exists."""
        if options.host:
            yield f"podman-py at {options.host}", options
            return
        for host in filter(may_answer, podman_addresses()):
            yield f"podman-py at {host}", attrs.evolve(options, host=host)

    @property
    def address(self) -> str:
        return self._address

    def updates_in_place(self) -> bool:
        """By the libpod API version the connection was made with: no call of its own."""
        self._connect()
        return podman_version(self._libpod_version) >= LASTING_UPDATE

    def version(self) -> str:
        with self._engine_errors():
            return str(self._connect().system.version()["Version"])

    def list(self, namespace: str, *, run_times: bool = False) -> list[ObservedContainer]:
        """libpod's listing, which carries every run time: one call, whatever is asked."""
        filters = {"label": f"{LABEL_NAMESPACE}={namespace}"}
        with self._engine_errors():
            found = self._connect().containers.list(all=True, sparse=True, filters=filters)
        return [observed_from_libpod(container.attrs, run_times) for container in found]

    def image_id(self, image: str) -> str | None:
        with self._engine_errors():
            try:
                return str(self._connect().images.get(image).id)
            except self._sdk.errors.ImageNotFound:
                return None

    def network(self, name: str) -> ObservedNetwork | None:
        """libpod's network inspect (netavark's fields: ``name``, ``id``, ``labels``)."""
        with self._engine_errors():
            response = self._connect().api.get(f"/networks/{quote(name, safe='')}/json")
            if response.status_code == 404:
                return None
            response.raise_for_status()
            return network_from_row(response.json(), name)

    def create_network(self, name: str, labels: Mapping[str, str]) -> str:
        """A bridge with DNS: each container resolves the others' names and aliases."""
        body = {"name": name, "driver": "bridge", "labels": dict(labels), "dns_enabled": True}
        with self._engine_errors():
            response = self._connect().api.post(
                "/networks/create",
                data=json.dumps(body),
                headers={"Content-Type": "application/json"},
            )
            response.raise_for_status()
            return str(response.json().get("id") or name)

    def connect(self, network: str, container_id: str, aliases: Sequence[str]) -> None:
        body = {"container": container_id, "aliases": list(aliases)}
        with self._engine_errors():
            response = self._connect().api.post(
                f"/networks/{quote(network, safe='')}/connect",
                data=json.dumps(body),
                headers={"Content-Type": "application/json"},
            )
            response.raise_for_status()

    def remove_network(self, name: str) -> None:
        with self._engine_errors():
            response = self._connect().api.delete(f"/networks/{quote(name, safe='')}")
            if response.status_code == 404:
                return
            response.raise_for_status()
            for report in response.json() or []:
                if report.get("Err"):
                    raise BackendError(report["Err"], self.address)

    def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        tail: int | None = None,
        since: float | None = None,
    ) -> Iterator[bytes]:
        """libpod's log stream, read frame by frame by podman-py. The request is made here,
        as ``Container.logs`` makes it but with no read time-out (a followed container
        may be quiet for hours) and without the inspect that getting a ``Container`` costs."""
        params: dict[str, Any] = {"stdout": True, "stderr": True, "follow": follow}
        if tail is not None:
            params["tail"] = tail
        if since is not None and since > 0:
            params["since"] = f"{since:.9f}"
        with self._engine_errors():
            response = self._connect().api.get(
                f"/containers/{quote(container_id, safe='')}/logs",
                params=params,
                stream=True,
                timeout=(self.timeout, None),
            )
        try:
            with self._engine_errors():
                response.raise_for_status()
                for frame in self._sdk.api.stream_frames(response):
                    if isinstance(frame, bytes):  # always, without demux
                        yield frame
        finally:
            response.close()

    def exec(self, container_id: str, command: Sequence[str], timeout: float) -> tuple[int, bytes]:
        """libpod's exec, as podman-py's ``exec_run`` makes it (create, start attached,
        inspect for the exit code) but without the inspect that getting a ``Container``
        costs; given ``timeout`` seconds by :func:`~backends.deadline.within`."""
        target = quote(container_id, safe="")
        body = {"Cmd": list(command), "AttachStdout": True, "AttachStderr": True}

        def run() -> tuple[int, bytes]:
            with self._engine_errors():
                api = self._connect().api
                created = api.post(f"/containers/{target}/exec", data=json.dumps(body))
                created.raise_for_status()
                exec_id = quote(str(created.json()["Id"]), safe="")
                started = api.post(
                    f"/exec/{exec_id}/start",
                    data=json.dumps({"Detach": False, "Tty": False}),
                    stream=True,
                )
                started.raise_for_status()
                try:
                    frames = self._sdk.api.stream_frames(started)
                    output = b"".join(f for f in frames if isinstance(f, bytes))
                finally:
                    started.close()
                inspected = api.get(f"/exec/{exec_id}/json")
                inspected.raise_for_status()
                code = inspected.json().get("ExitCode")
            return (-1 if code is None else int(code)), output

        return within(timeout, run, "agent-exec")

    def pull(self, image: str, auth: RegistryAuth | None) -> None:
        """Pull ``image``; the service answers 200 and reports a failure in the stream."""
        headers = {}
        if auth:
            encoded = json.dumps(auth.as_auth_config()).encode()
            headers["X-Registry-Auth"] = base64.urlsafe_b64encode(encoded).decode()
        with pulling(), self._engine_errors():
            api = self._connect().api
            response = api.post(
                "/images/pull", params={"reference": image}, headers=headers, stream=True
            )
            response.raise_for_status()
            for line in response.iter_lines():
                event = json.loads(line) if line.strip() else {}
                if event.get("error"):
                    raise ImageUnavailable(event["error"], self.address)

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

    def update_limits(self, container_id: str, spec: RunSpec) -> None:
        """libpod's update (Podman 4.3 and later) takes the OCI resources as its body."""
        limits = resource_limits(spec)
        if limits:
            with self._engine_errors():
                response = self._connect().api.post(
                    f"/containers/{quote(container_id, safe='')}/update",
                    data=json.dumps(limits),
                )
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
        """Kill at once and remove, with its anonymous volumes (emptyDirs), as ``docker rm
        -f -v``; a container gone already is fine.

        ``timeout=0``: without it Podman first waits the container's stop timeout (10 s).
        libpod's word for Docker's ``v`` is ``volumes`` (it ignores ``v``, as podman-py's
        ``remove(v=True)`` sends it).
        """
        with self._engine_errors():
            response = self._connect().api.delete(
                f"/containers/{quote(container_id, safe='')}",
                params={"force": True, "timeout": 0, "volumes": True},
            )
            if response.status_code == 404:
                return
            response.raise_for_status()
            for report in response.json() or []:
                if report.get("Err"):
                    raise BackendError(report["Err"], self.address)

    def events(self, namespace: str) -> EventStream:
        """libpod's event stream (in Docker's format), with no read time-out: it may be
        quiet for hours."""
        filters = {"type": ["container"], "label": [f"{LABEL_NAMESPACE}={namespace}"]}
        with self._engine_errors():
            response = self._connect().api.get(
                "/events",
                params={"stream": True, "filters": json.dumps(filters)},
                stream=True,
                timeout=(self.timeout, None),
            )
            response.raise_for_status()
        rows = json_lines(response.iter_lines())
        return RowEvents(rows, event_from_docker, lambda: interrupt(response), self._engine_errors)

    def _connect(self) -> podman.PodmanClient:
        """The client for the service's API version, made once, on first use."""
        with self._lock:
            if self._client is None:
                with self._sdk.PodmanClient(base_url=self._address, timeout=self.timeout) as probe:
                    version = _api_version(probe)
                self._libpod_version = version
                self._client = self._sdk.PodmanClient(
                    base_url=self._address,
                    version=version,
                    timeout=self.timeout,
                    max_pool_size=CONNECTIONS,
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
            message = str(exc.explanation or exc)
            raise kind_of(message, exc.response.status_code)(message, self.address) from exc
        except errors.PodmanError as exc:
            raise BackendError(str(exc), self.address) from exc
        except OSError as exc:  # requests' and urllib3's errors are OSErrors too
            raise unreachable(exc, self.address, self.timeout) from exc
        except ValueError as exc:  # podman-py's answer to a URL it cannot use
            raise BackendError(str(exc), self.address) from exc


def spec_generator(spec: RunSpec) -> dict[str, Any]:
    """The libpod create body (a SpecGenerator) for ``spec``: only the fields it needs."""
    body: dict[str, Any] = {
        "name": spec.engine_name,
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
            if mount.bound
        ],
    }
    body["mounts"] += [
        {
            "type": "tmpfs",
            "source": "tmpfs",
            "destination": mount.target,
            "options": ["ro"] if mount.read_only else [],
        }
        for mount in spec.mounts
        if mount.kind == "tmpfs"
    ]
    anonymous = [mount for mount in spec.mounts if mount.kind == "emptyDir"]
    if anonymous:  # emptyDirs: volumes without a name, removed with the container
        body["volumes"] = [
            {"Name": "", "Dest": mount.target, "Options": ["ro"] if mount.read_only else []}
            for mount in anonymous
        ]
    limits = resource_limits(spec)
    if limits:
        body["resource_limits"] = limits
    if spec.hostname is not None:
        body["hostname"] = spec.hostname
    if spec.host_network:
        body["netns"] = {"nsmode": "host"}
    if spec.privileged:
        body["privileged"] = True
    if spec.stdin:
        body["stdin"] = True
    if spec.tty:
        body["terminal"] = True
    if spec.log_limits is not None:  # Podman's json-file (k8s-file) keeps one file
        body["log_configuration"] = {"driver": "json-file", "size": spec.log_limits.size_bytes}
    if spec.entrypoint:  # which drops the image's CMD, as on dockerd
        body["entrypoint"] = list(spec.entrypoint)
    if spec.network:  # libpod's PerNetworkOptions: the container's names on the network
        body["netns"] = {"nsmode": "bridge"}
        body["Networks"] = {spec.network: {"aliases": list(spec.network_aliases)}}
    if spec.command:
        body["command"] = list(spec.command)
    if spec.working_dir:  # made when missing, as Docker does (and the podman CLI asks)
        body["work_dir"] = spec.working_dir
        body["create_working_dir"] = True
    return body


def _api_version(probe: podman.PodmanClient) -> str:
    """The service's libpod API version (not its Docker API version): the header of
    ``GET /_ping`` (a few milliseconds), else ``GET /version`` (Podman 4.3 takes about
    0.3 s to answer that one, which made every pass of a new agent process slow)."""
    response = probe.api.get("/_ping")
    response.raise_for_status()
    pinged = response.headers.get("Libpod-API-Version")
    if pinged:
        return str(pinged)
    info = probe.system.version()
    for component in info.get("Components") or []:
        if component.get("Name") == "Podman Engine":
            return str(component.get("Details", {}).get("APIVersion") or component["Version"])
    return str(info["Version"])


def resource_limits(spec: RunSpec) -> dict[str, Any]:
    """The memory and CPU limits as OCI resources, as ``create`` and ``update`` send them."""
    limits: dict[str, Any] = {}
    if spec.memory is not None:  # the OCI swap limit is memory + swap: no swap beyond it
        limits["memory"] = {"limit": spec.memory, "swap": spec.memory}
    if spec.cpu is not None:  # as ``podman create --cpus`` sets it: a quota of each period
        limits["cpu"] = {"quota": spec.cpu * CPU_PERIOD // 1000, "period": CPU_PERIOD}
    return limits
