"""The code that talks to a backend to change or read containers: the
``executor`` carries out a plan (the only code that changes a container or a network),
``images`` pulls, ``events`` follows the engine's event stream, ``logs`` reads a
container's logs. Besides these, a pass (:mod:`agent.daemon.reconcile`) and ``agent
status`` list through a read-only :class:`~backends.base.EngineReader`, and the prober
runs exec checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.lazy import on_first_use

if TYPE_CHECKING:
    from agent.engine.events import EventFollower
    from agent.engine.executor import ActionResult, execute
    from agent.engine.images import Images
    from agent.engine.logs import UnknownContainer, write_logs

__all__ = [
    "ActionResult",
    "EventFollower",
    "Images",
    "UnknownContainer",
    "execute",
    "write_logs",
]

_HOMES = {
    "ActionResult": ".executor",
    "execute": ".executor",
    "Images": ".images",
    "EventFollower": ".events",
    "UnknownContainer": ".logs",
    "write_logs": ".logs",
}


__getattr__ = on_first_use(__name__, _HOMES)
