"""``--backend auto``: the first engine that answers, through any registered backend.

Every backend registered under ``container_agent.backends`` with an
``auto_order`` is tried, lowest order first (ties by name), on each engine its
``auto_candidates`` names. The built-in ones: the Docker SDK (10) at
``DOCKER_HOST`` or the default socket; podman-py (20) at ``CONTAINER_HOST`` or
Podman's standard sockets, rootful then rootless; the docker CLI (30), with the
``docker`` and then the ``podman`` binary. With ``--host``, only that address is
tried. When none answers, the error lists everything that was tried and why it
failed (an SDK that is not installed says which extra to install).
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

import attrs

from backends.base import ENTRY_POINT_GROUP, Backend, BackendOptions
from backends.errors import BackendError, EngineUnreachable

__all__ = ["AutoBackend", "Candidate", "candidates"]

log = logging.getLogger("agent.backends")


@attrs.frozen
class Candidate:
    """One engine that auto may try, through one backend."""

    description: str
    backend: type[Backend] | None
    options: BackendOptions
    problem: str = ""
    """Why the backend cannot be tried at all (its package failed to load)."""

    def build(self) -> Backend:
        if self.backend is None:
            raise BackendError(self.problem)
        return self.backend.from_options(self.options)


def candidates(options: BackendOptions) -> list[Candidate]:
    """Every engine worth trying, in order; a backend that cannot be loaded is listed
    too, so that the error says why it was not tried."""
    found: list[type[Backend]] = []
    broken: list[Candidate] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
        except Exception as exc:  # a third party's broken package must not stop auto
            problem = f"cannot be loaded: {exc}"
            broken.append(Candidate(f"backend {entry.name!r}", None, options, problem))
            continue
        tried = isinstance(loaded, type) and issubclass(loaded, Backend)
        if tried and loaded.auto_order is not None:
            found.append(loaded)
    found.sort(key=lambda backend: (backend.auto_order or 0, backend.name))
    ordered: list[Candidate] = []
    for backend in found:
        try:
            ordered += [Candidate(d, backend, e) for d, e in backend.auto_candidates(options)]
        except Exception as exc:  # a third party's, again
            problem = f"cannot name its engines: {exc}"
            broken.append(Candidate(f"backend {backend.name!r}", None, options, problem))
    return ordered + broken


class AutoBackend:
    """Not a backend itself: it builds the first registered backend whose engine answers."""

    name = "auto"

    @classmethod
    def from_options(cls, options: BackendOptions) -> Backend:
        tried: list[str] = []
        for candidate in candidates(options):
            try:
                backend = candidate.build()
                backend.version()
            except BackendError as exc:
                tried.append(f"  {candidate.description}: {exc.message}")
                continue
            log.info("backend auto: using %s", candidate.description)
            return backend
        raise EngineUnreachable("no container engine answered; tried:\n" + "\n".join(tried))
