"""The contract every backend keeps: a read-only part, the calls that change an engine,
and selection by name.

A backend translates these few calls to one engine API and nothing more: the
planner decides, the executor calls, the backend talks to the engine. A dry run
holds an :class:`EngineReader`, which has no method that changes anything; the
type checker proves that the planning path cannot reach one, and
:class:`ReadOnly` makes it so at run time too. Backends register under the
entry-point group ``container_agent.backends`` so that another package can add one.
"""

from __future__ import annotations

import abc
import builtins
from collections.abc import Iterator, Mapping, Sequence
from typing import ClassVar

import attrs

from agent.planning.network import ObservedNetwork
from agent.planning.observed import ContainerEvent, ObservedContainer
from agent.planning.spec import RunSpec
from backends.credentials import RegistryAuth
from backends.errors import (
    BackendError,  # re-exported: third-party backends raise it
    Unsupported,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Backend",
    "BackendError",
    "BackendOptions",
    "EngineReader",
    "EventStream",
    "ReadOnly",
    "available_backends",
    "load_backend",
]

ENTRY_POINT_GROUP = "container_agent.backends"


@attrs.frozen
class BackendOptions:
    """What the operator said about the engine: its address and, for CLIs, the binary."""

    host: str | None = None
    docker_cmd: str = "docker"
    timeout: float = 60.0


class EngineReader(abc.ABC):
    """What may be asked of an engine without changing it. Every method raises
    :class:`~backends.errors.BackendError` on failure."""

    @property
    @abc.abstractmethod
    def address(self) -> str:
        """Where the engine is, for messages: a socket URL or a binary."""

    @abc.abstractmethod
    def version(self) -> str:
        """The engine's version; fails when the engine does not answer."""

    @abc.abstractmethod
    def list(self, namespace: str, *, run_times: bool = False) -> builtins.list[ObservedContainer]:
        """Every container labelled with ``namespace``: one engine call, and one more
        where the engine's listing lacks the run times of containers that exited.

        With ``run_times`` every container that ran carries ``started_at`` too, running
        or not (and ``finished_at`` when it exited), at the cost of inspects where the
        listing lacks them: for ``agent status``, not for the converging pass.
        """

    @abc.abstractmethod
    def image_id(self, image: str) -> str | None:
        """The id of the local image ``image`` names, or None when it is not present."""

    def updates_in_place(self) -> bool:
        """Whether ``update_limits`` changes a container's limits for good: its
        inspect shows them and they outlive a restart. Podman 4 changes only the running
        cgroup (its inspect keeps the old limits, a restart brings them back)."""
        return True

    def network(self, name: str) -> ObservedNetwork | None:
        """The network called ``name`` (its id and namespace label), or None when the engine
        has none of that name; one engine call. A backend that makes no networks raises
        :class:`~backends.errors.Unsupported`."""
        raise Unsupported("this backend makes no networks: run with --no-network", self.address)

    @abc.abstractmethod
    def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        tail: int | None = None,
        since: float | None = None,
    ) -> Iterator[bytes]:
        """The container's output, stdout and stderr as the engine gives them, in chunks.

        ``tail``: only the last lines, that many; ``since``: only what was printed from
        then on (seconds since the epoch). With ``follow`` it keeps yielding until the
        container stops. A generator: the engine is first asked on the first ``next``,
        and closing it releases the connection or ends the CLI it reads.
        :class:`~backends.errors.NotFound` when the container is gone.
        """


class EventStream(abc.ABC):
    """The engine's events of one namespace's containers, as they happen.

    Iterating blocks until the next event; it ends, or raises a BackendError
    (``EngineUnreachable`` when the engine went away), only when the stream breaks.
    :meth:`close`, from any thread, ends it: the iteration then stops quietly.
    """

    @abc.abstractmethod
    def __iter__(self) -> Iterator[ContainerEvent]: ...

    @abc.abstractmethod
    def close(self) -> None: ...


class Backend(EngineReader):
    """One engine API: the reading calls and the ones that change the engine."""

    name: ClassVar[str]
    auto_order: ClassVar[int | None] = None
    """Where ``--backend auto`` tries this backend, lowest first; None: never."""

    @classmethod
    @abc.abstractmethod
    def from_options(cls, options: BackendOptions) -> Backend:
        """Build the backend, or raise BackendError saying what is missing."""

    @classmethod
    def auto_candidates(cls, options: BackendOptions) -> Iterator[tuple[str, BackendOptions]]:
        """The engines ``--backend auto`` tries this backend on, each with a description:
        by default the options as given."""
        yield f"{cls.name} at {options.host or 'its default address'}", options

    def reader(self) -> ReadOnly:
        """This backend seen through its reading calls only, for a dry run."""
        return ReadOnly(self)

    def events(self, namespace: str) -> EventStream:
        """Follow the events of the containers labelled with ``namespace``; a backend
        without an event stream raises :class:`~backends.errors.Unsupported`."""
        raise Unsupported(f"the {self.name} backend follows no events", self.address)

    def exec(self, container_id: str, command: Sequence[str], timeout: float) -> tuple[int, bytes]:
        """Run ``command`` inside the running container (as ``docker exec``): its exit
        code and its output (stdout and stderr). Raises TimeoutError when it has not
        ended after ``timeout`` seconds (the command may go on running; it is not
        waited for), a BackendError when the engine refuses; a backend that cannot exec
        raises :class:`~backends.errors.Unsupported`. Liveness probes use it."""
        raise Unsupported(f"the {self.name} backend runs no exec", self.address)

    def create_network(self, name: str, labels: Mapping[str, str]) -> str:
        """Make a user-defined network ``name`` with ``labels`` on which containers resolve
        each other's names and aliases (a bridge on dockerd, netavark's on Podman); its id.
        A backend that makes no networks raises :class:`~backends.errors.Unsupported`."""
        raise Unsupported(f"the {self.name} backend makes no networks", self.address)

    def connect(self, network: str, container_id: str, aliases: Sequence[str]) -> None:
        """Attach an existing container (running or not) to ``network``, in place, answering
        there to ``aliases``."""
        raise Unsupported(f"the {self.name} backend makes no networks", self.address)

    def remove_network(self, name: str) -> None:
        """Remove the network ``name``; one that is gone already is fine."""
        raise Unsupported(f"the {self.name} backend makes no networks", self.address)

    @abc.abstractmethod
    def pull(self, image: str, auth: RegistryAuth | None) -> None:
        """Pull ``image``, with ``auth`` when the registry wants a login."""

    @abc.abstractmethod
    def create(self, spec: RunSpec) -> str:
        """Create the container (not started) and return its id."""

    @abc.abstractmethod
    def start(self, container_id: str) -> None: ...

    @abc.abstractmethod
    def update_limits(self, container_id: str, spec: RunSpec) -> None:
        """Set the container's memory limit (its swap limit too: no swap) and CPU limit to
        ``spec``'s, in place: the container keeps its id and, running, keeps running.
        Only limits ``spec`` sets are set: lifting one is a replacement."""

    def run(self, spec: RunSpec) -> str:
        """Create the container, start it and return its id: :meth:`create` then
        :meth:`start`, unless a backend does both in one call (the CLI's ``run``). A
        container that was created but did not start is named by the raised error's
        ``created``, for the caller to remove."""
        container_id = self.create(spec)
        try:
            self.start(container_id)
        except BackendError as exc:
            exc.created = container_id
            raise
        return container_id

    @abc.abstractmethod
    def stop(self, container_id: str, timeout: int = 10) -> None: ...

    @abc.abstractmethod
    def remove(self, container_id: str) -> None: ...


class ReadOnly(EngineReader):
    """A backend's reading calls, and nothing else: what ``agent plan`` is given."""

    def __init__(self, backend: EngineReader) -> None:
        self._backend = backend

    @property
    def address(self) -> str:
        return self._backend.address

    def version(self) -> str:
        return self._backend.version()

    def list(self, namespace: str, *, run_times: bool = False) -> builtins.list[ObservedContainer]:
        return self._backend.list(namespace, run_times=run_times)

    def image_id(self, image: str) -> str | None:
        return self._backend.image_id(image)

    def updates_in_place(self) -> bool:
        return self._backend.updates_in_place()

    def network(self, name: str) -> ObservedNetwork | None:
        return self._backend.network(name)

    def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        tail: int | None = None,
        since: float | None = None,
    ) -> Iterator[bytes]:
        return self._backend.logs(container_id, follow=follow, tail=tail, since=since)


def available_backends() -> list[str]:
    """The names of the registered backends (none of them is imported)."""
    from importlib.metadata import entry_points  # a command that runs no engine pays nothing

    return sorted({entry.name for entry in entry_points(group=ENTRY_POINT_GROUP)})


def load_backend(name: str, options: BackendOptions) -> Backend:
    """The backend registered as ``name``, built from ``options``."""
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP, name=name):
        backend_class: type[Backend] = entry.load()
        return backend_class.from_options(options)
    known = ", ".join(available_backends()) or "none (is container-agent installed?)"
    raise BackendError(f"unknown backend {name!r}; known: {known}")
