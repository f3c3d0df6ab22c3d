"""The code that talks to a backend to change or read containers: the
``executor`` carries out a plan (the only code that changes a container or a network),
``images`` pulls, ``events`` follows the engine's event stream, ``logs`` reads a
container's logs. Besides these, a pass (:mod:`agent.daemon.reconcile`) and ``agent
status`` list through a read-only :class:`~backends.base.EngineReader`, and the prober
runs exec checks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    "ActionResult": "executor",
    "execute": "executor",
    "Images": "images",
    "EventFollower": "events",
    "UnknownContainer": "logs",
    "write_logs": "logs",
}


def __getattr__(name: str) -> Any:
    """A name of ``__all__``, imported from its module on first use (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
