"""The contract every backend keeps, its one error, and selection by name.

A backend translates these few calls to one engine API and nothing more: the
planner decides, the executor calls, the backend talks to the engine. Backends
register under the entry-point group ``container_agent.backends`` so that
another package can add one.
"""

from __future__ import annotations

import abc
from importlib.metadata import entry_points
from typing import ClassVar

import attrs

from agent.errors import AgentError
from agent.observed import ObservedContainer
from agent.spec import RunSpec
from backends.credentials import RegistryAuth

__all__ = [
    "ENTRY_POINT_GROUP",
    "Backend",
    "BackendError",
    "BackendOptions",
    "available_backends",
    "load_backend",
]

ENTRY_POINT_GROUP = "container_agent.backends"


class BackendError(AgentError):
    """An engine call that failed, with the engine's own message and address."""

    def __init__(self, message: str, engine: str = "") -> None:
        self.message = message.strip() or "unknown engine error"
        self.engine = engine
        super().__init__(f"{engine}: {self.message}" if engine else self.message)


@attrs.frozen
class BackendOptions:
    """What the operator said about the engine: its address and, for CLIs, the binary."""

    host: str | None = None
    docker_cmd: str = "docker"
    timeout: float = 60.0


class Backend(abc.ABC):
    """One engine API. Every method raises :class:`BackendError` on failure."""

    name: ClassVar[str]

    @classmethod
    @abc.abstractmethod
    def from_options(cls, options: BackendOptions) -> Backend:
        """Build the backend, or raise BackendError saying what is missing."""

    @property
    @abc.abstractmethod
    def address(self) -> str:
        """Where the engine is, for messages: a socket URL or a binary."""

    @abc.abstractmethod
    def version(self) -> str:
        """The engine's version; fails when the engine does not answer."""

    @abc.abstractmethod
    def list(self, namespace: str) -> list[ObservedContainer]:
        """Every container labelled with ``namespace``, in one engine call."""

    @abc.abstractmethod
    def image_id(self, image: str) -> str | None:
        """The id of the local image ``image`` names, or None when it is not present."""

    @abc.abstractmethod
    def pull(self, image: str, auth: RegistryAuth | None) -> None:
        """Pull ``image``, with ``auth`` when the registry wants a login."""

    @abc.abstractmethod
    def create(self, spec: RunSpec) -> str:
        """Create the container (not started) and return its id."""

    @abc.abstractmethod
    def start(self, container_id: str) -> None: ...

    @abc.abstractmethod
    def stop(self, container_id: str, timeout: int = 10) -> None: ...

    @abc.abstractmethod
    def remove(self, container_id: str) -> None: ...


def available_backends() -> list[str]:
    """The names of the registered backends (none of them is imported)."""
    return sorted({entry.name for entry in entry_points(group=ENTRY_POINT_GROUP)})


def load_backend(name: str, options: BackendOptions) -> Backend:
    """The backend registered as ``name``, built from ``options``."""
    for entry in entry_points(group=ENTRY_POINT_GROUP, name=name):
        backend_class: type[Backend] = entry.load()
        return backend_class.from_options(options)
    known = ", ".join(available_backends()) or "none (is container-agent installed?)"
    raise BackendError(f"unknown backend {name!r}; known: {known}")
