"""The Docker SDK backend: the Docker Engine API through the ``docker`` package (SDK 7.x).

The SDK is imported when the backend is built, never when this module is, so
container-agent runs without it until someone picks this backend. The client is
made on first use, not when the backend is built: the SDK asks the engine for its
API version as it makes a client, and an engine that is down when the agent starts
must not stop the agent. Every SDK, requests and urllib3 error becomes a
:class:`BackendError` with the engine's own message and the engine's address.

One backend serves many threads (the executor's workers, the event follower):
the SDK's client is made once under a lock, and its connection pool is shared.
The listing has no run times: each exited container is inspected once per exit,
and the times are kept until it runs again; the others only when run times are asked for.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from agent.planning.network import ObservedNetwork
from agent.planning.observed import ContainerEvent, ObservedContainer
from agent.planning.spec import LABEL_NAMESPACE, RunSpec
from backends.base import Backend, BackendOptions, EventStream
from backends.credentials import RegistryAuth
from backends.deadline import within
from backends.docker_rows import (
    event_from_docker,
    network_from_row,
    observed_from_docker,
    with_run_times,
)
from backends.errors import BackendError, ImageUnavailable, kind_of, pulling, sdk_required
from backends.sockets import docker_address
from backends.streams import RowEvents
from backends.transport import CONNECTIONS, transport_cause, unreachable

if TYPE_CHECKING:
    import docker

__all__ = ["DockerSDKBackend"]


class DockerSDKBackend(Backend):
    """The Docker Engine API (dockerd, or Podman's Docker-compatible API) through the Docker SDK.

    ``host`` is the engine's URL; without it the SDK's ``from_env`` rules apply:
    ``DOCKER_HOST``, ``DOCKER_TLS_VERIFY`` and ``DOCKER_CERT_PATH``, else the default socket.
    """

    name = "docker"
    auto_order = 10

    def __init__(self, host: str | None = None, timeout: float = 60.0) -> None:
        with sdk_required("docker", "the Docker SDK"):
            import docker
        self._sdk = docker
        self.timeout = timeout
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()
        self._exits: dict[str, ObservedContainer] = {}
        self._address = host or docker_address()
        with self._engine_errors():
            self._client_kwargs: dict[str, Any] = docker.utils.kwargs_from_env()
        if host:
            self._client_kwargs["base_url"] = host

    @classmethod
    def from_options(cls, options: BackendOptions) -> DockerSDKBackend:
        return cls(options.host, options.timeout)

    @classmethod
    def auto_candidates(cls, options: BackendOptions) -> Iterator[tuple[str, BackendOptions]]:
        host = options.host or docker_address()
        yield f"Docker SDK at {host}", attrs.evolve(options, host=host)

    @property
    def address(self) -> str:
        return self._address

    def version(self) -> str:
        with self._engine_errors():
            return str(self._api().version()["Version"])

    def list(self, namespace: str, *, run_times: bool = False) -> list[ObservedContainer]:
        """The listing; with ``run_times``, one inspect more for each container that does
        not lie exited (those are known already, inspected once per exit)."""
        label = f"{LABEL_NAMESPACE}={namespace}"
        with self._engine_errors():
            rows = self._api().containers(all=True, filters={"label": label})
            found = [self._with_run_times(observed_from_docker(row)) for row in rows]
            if not run_times:
                return found
            return [c if c.state == "exited" else self._inspected(c) for c in found]

    def _inspected(self, container: ObservedContainer) -> ObservedContainer:
        """``container`` with the times inspect gives; as listed when it went meanwhile."""
        try:
            return with_run_times(container, self._api().inspect_container(container.id))
        except self._sdk.errors.NotFound:
            return container

    def _with_run_times(self, container: ObservedContainer) -> ObservedContainer:
        """An exited container with the times of its last run (an inspect, once per exit)."""
        if container.state != "exited":
            self._forget(container.id)
            return container
        with self._lock:
            known = self._exits.get(container.id)
        if known is None or known.exit_code != container.exit_code:
            known = with_run_times(container, self._api().inspect_container(container.id))
            with self._lock:
                self._exits[container.id] = known
        return attrs.evolve(container, started_at=known.started_at, finished_at=known.finished_at)

    def _forget(self, container_id: str) -> None:
        """The container runs again (or is gone): its last exit is over."""
        with self._lock:
            self._exits.pop(container_id, None)

    def image_id(self, image: str) -> str | None:
        with self._engine_errors():
            try:
                return str(self._api().inspect_image(image)["Id"])
            except self._sdk.errors.NotFound:
                return None

    def network(self, name: str) -> ObservedNetwork | None:
        with self._engine_errors():
            try:
                return network_from_row(self._api().inspect_network(name), name)
            except self._sdk.errors.NotFound:
                return None

    def create_network(self, name: str, labels: Mapping[str, str]) -> str:
        """A bridge; ``check_duplicate``, or dockerd 20.10 makes a second network of a name."""
        with self._engine_errors():
            created = self._api().create_network(
                name, driver="bridge", labels=dict(labels), check_duplicate=True
            )
            return str(created["Id"])

    def connect(self, network: str, container_id: str, aliases: Sequence[str]) -> None:
        with self._engine_errors():
            self._api().connect_container_to_network(container_id, network, aliases=list(aliases))

    def remove_network(self, name: str) -> None:
        with self._engine_errors(), contextlib.suppress(self._sdk.errors.NotFound):
            self._api().remove_network(name)

    def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        tail: int | None = None,
        since: float | None = None,
    ) -> Iterator[bytes]:
        """The SDK's log stream: the frames of stdout and stderr as they come, with no read
        time-out while following (the SDK lifts it on a streamed answer)."""
        options: dict[str, Any] = {"stream": True, "follow": follow}
        if tail is not None:
            options["tail"] = tail
        if since is not None and since > 0:
            options["since"] = since
        with self._engine_errors():
            stream = self._api().logs(container_id, **options)
        try:
            with self._engine_errors():
                yield from stream
        finally:
            with contextlib.suppress(Exception):  # closing what the engine closed already
                stream.close()

    def exec(self, container_id: str, command: Sequence[str], timeout: float) -> tuple[int, bytes]:
        """The Engine API's exec (create, start attached, inspect for the exit code),
        given ``timeout`` seconds by :func:`~backends.deadline.within`."""

        def run() -> tuple[int, bytes]:
            with self._engine_errors():
                api = self._api()
                created = api.exec_create(container_id, list(command), stdout=True, stderr=True)
                output = api.exec_start(created["Id"])
                code = api.exec_inspect(created["Id"]).get("ExitCode")
            return (-1 if code is None else int(code)), bytes(output or b"")

        return within(timeout, run, "agent-exec")

    def pull(self, image: str, auth: RegistryAuth | None) -> None:
        """Pull ``image``; the engine reports a failure by status or in the progress stream."""
        auth_config = auth.as_auth_config() if auth else None
        with pulling(), self._engine_errors():
            for event in self._api().pull(image, stream=True, decode=True, auth_config=auth_config):
                if event.get("error"):
                    detail = event.get("errorDetail") or {}
                    message = detail.get("message") or event["error"]
                    raise ImageUnavailable(message, self.address)

    def create(self, spec: RunSpec) -> str:
        """Create, never pull (as ``docker create --pull=never``): a missing image fails."""
        bindings: dict[str, list[tuple[str, str]]] = {}
        for port in spec.ports:
            key = f"{port.container_port}/{port.protocol}"
            bindings.setdefault(key, []).append((port.host_ip, str(port.host_port)))
        with self._engine_errors():
            api = self._api()
            mounts = [
                self._sdk.types.Mount(m.target, m.source, type="bind", read_only=m.read_only)
                if m.bound
                else self._sdk.types.Mount(
                    m.target,
                    None,
                    type="tmpfs" if m.kind == "tmpfs" else "volume",
                    read_only=m.read_only,
                )
                for m in spec.mounts
            ]
            logs = spec.log_limits
            host_config = api.create_host_config(
                port_bindings=bindings,
                mounts=mounts,
                restart_policy={"Name": "no"},
                # The memory limit is the swap limit too: no swap beyond it.
                mem_limit=spec.memory,
                memswap_limit=spec.memory,
                nano_cpus=spec.nano_cpus,
                network_mode="host" if spec.host_network else spec.network,
                privileged=spec.privileged,
                log_config=None
                if logs is None
                else {
                    "Type": "json-file",
                    "Config": {"max-size": logs.max_size, "max-file": str(logs.max_files)},
                },
            )
            networking = (
                api.create_networking_config(
                    {spec.network: api.create_endpoint_config(aliases=list(spec.network_aliases))}
                )
                if spec.network
                else None
            )
            created = api.create_container(
                spec.image,
                # Given, an entrypoint drops the image's CMD too: an empty Cmd is sent.
                command=list(spec.command) or ([] if spec.entrypoint else None),
                entrypoint=list(spec.entrypoint) if spec.entrypoint else None,
                stdin_open=spec.stdin,
                tty=spec.tty,
                name=spec.engine_name,
                hostname=spec.hostname,
                labels=spec.labels,
                working_dir=spec.working_dir or None,
                environment=[f"{key}={value}" for key, value in spec.env],
                ports=[(port.container_port, port.protocol) for port in spec.ports],
                host_config=host_config,
                networking_config=networking,
            )
            return str(created["Id"])

    def start(self, container_id: str) -> None:
        self._forget(container_id)
        with self._engine_errors():
            self._api().start(container_id)

    def update_limits(self, container_id: str, spec: RunSpec) -> None:
        """The API's update, as docker-py's ``update_container`` lacks NanoCpus."""
        limits: dict[str, int] = {}
        if spec.memory is not None:  # the memory limit is the swap limit too: no swap
            limits |= {"Memory": spec.memory, "MemorySwap": spec.memory}
        if spec.nano_cpus is not None:
            limits["NanoCpus"] = spec.nano_cpus
        if limits:
            with self._engine_errors():
                api = self._api()
                url = api._url("/containers/{0}/update", container_id)
                api._raise_for_status(api._post_json(url, data=limits))

    def events(self, namespace: str) -> EventStream:
        filters = {"type": "container", "label": [f"{LABEL_NAMESPACE}={namespace}"]}
        with self._engine_errors():
            stream = self._api().events(filters=filters, decode=True)

        def read(row: Mapping[str, Any]) -> ContainerEvent | None:
            event = event_from_docker(row)
            if event is not None and event.action in ("start", "destroy"):
                self._forget(event.id)
            return event

        return RowEvents(stream, read, stream.close, self._engine_errors)

    def stop(self, container_id: str, timeout: int = 10) -> None:
        with self._engine_errors():
            self._api().stop(container_id, timeout=timeout)

    def remove(self, container_id: str) -> None:
        """Kill and remove, with its anonymous volumes (emptyDirs), as ``docker rm -f -v``;
        a container that is gone already is fine."""
        self._forget(container_id)
        with self._engine_errors(), contextlib.suppress(self._sdk.errors.NotFound):
            self._api().remove_container(container_id, force=True, v=True)

    def _api(self) -> Any:
        """The SDK's low-level client, made on first use (the SDK asks the engine's API version)."""
        with self._lock:
            if self._client is None:
                self._client = self._sdk.DockerClient(
                    **self._client_kwargs, timeout=self.timeout, max_pool_size=CONNECTIONS
                )
            return self._client.api

    @contextlib.contextmanager
    def _engine_errors(self) -> Iterator[None]:
        """Turn every SDK and transport error into a BackendError naming this engine."""
        errors = self._sdk.errors
        try:
            yield
        except errors.APIError as exc:
            message = _explanation(exc)
            raise kind_of(message, exc.status_code)(message, self.address) from exc
        except errors.DockerException as exc:
            if transport_cause(exc) is not None:
                raise unreachable(exc, self.address, self.timeout) from exc
            raise BackendError(str(exc), self.address) from exc
        except OSError as exc:  # requests' and urllib3's errors are OSErrors too
            raise unreachable(exc, self.address, self.timeout) from exc


def _explanation(exc: Any) -> str:
    """The engine's own message of an SDK APIError (it may come as bytes)."""
    explanation = exc.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode(errors="replace")
    return str(explanation or exc)
