"""What the engine reports about the agent's containers: one listing, as data."""

from __future__ import annotations

import attrs

from agent.planning.spec import PortBinding

__all__ = ["ContainerEvent", "ObservedContainer", "short_image_id"]


@attrs.frozen
class ObservedContainer:
    """A container as listed by a backend.

    ``state`` is the engine's word (``running``, ``exited``, ``created``,
    ``paused``, ``restarting``, ``removing``, ``dead``); ``name`` and ``hash``
    come from the agent's labels and are empty on containers it did not make;
    so is ``image_id``, the id of the image when the agent created the container.
    ``started_at`` and ``finished_at`` (of the last run, seconds since the epoch)
    are given for containers that exited (``started_at`` for running ones too, from
    ``list(namespace, run_times=True)``). ``ports`` are the host ports the
    container publishes, as the engine lists them (a container that does not run
    holds none of them); None where the listing does not say. ``record`` is the label
    :mod:`agent.planning.record` reads: what the agent made the container from. How often the agent
    restarted a container is not observed but kept by the agent: see
    :mod:`agent.state.restarts`. ``stop_timeout`` is the terminationGracePeriodSeconds it was made
    with (its label), None when it had none. ``networks`` names the engine networks the
    container is attached to; None where the listing does not say.
    """

    id: str
    engine_name: str
    namespace: str
    name: str
    hash: str
    state: str
    exit_code: int | None = None
    finished_at: float | None = None
    image: str = ""
    image_id: str = ""
    started_at: float | None = None
    ports: tuple[PortBinding, ...] | None = None
    record: str = ""
    stop_timeout: int | None = None
    networks: tuple[str, ...] | None = None

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused", "restarting")


@attrs.frozen
class ContainerEvent:
    """Something the engine reports that happened to one of the agent's containers.

    ``action`` is in Docker's words (``die``, ``oom``, ``stop``, ``kill``,
    ``destroy``, ``start``, ``create``, ...); ``name`` is the agent's name label;
    ``time`` is when it happened (seconds since the epoch).
    """

    id: str
    name: str
    action: str
    time: float


def short_image_id(image_id: str) -> str:
    """An image's id or digest as people read it: ``sha256:`` and the first 12 hex digits
    (``sha256:0123456789ab``); an id without its algorithm is taken as sha256's."""
    algorithm, _, digits = image_id.rpartition(":")
    return f"{algorithm or 'sha256'}:{digits[:12]}"
