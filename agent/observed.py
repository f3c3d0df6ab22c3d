"""What the engine reports about the agent's containers: one listing, as data."""

from __future__ import annotations

import attrs

__all__ = ["ObservedContainer"]


@attrs.frozen
class ObservedContainer:
    """A container as listed by a backend.

    ``state`` is the engine's word (``running``, ``exited``, ``created``,
    ``paused``, ``restarting``, ``removing``, ``dead``); ``name`` and ``hash``
    come from the agent's labels and are empty on containers it did not make;
    so is ``image_id``, the id of the image when the agent created the container.
    ``started_at`` and ``finished_at`` (of the last run, seconds since the epoch)
    are given for containers that exited. How often the agent restarted a
    container is not observed but kept by the agent: see :mod:`agent.restarts`.
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

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused", "restarting")
