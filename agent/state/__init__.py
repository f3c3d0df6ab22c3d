"""What the agent keeps in its state dir between runs: restart counts, liveness
records, the lock that keeps two agents apart, each one small JSON file.
Imports :mod:`agent.planning` (for the health model) and below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.state.health_file import HealthFile
    from agent.state.lock import NamespaceLocked, namespace_lock
    from agent.state.restarts import RestartLedger
    from agent.state.rollouts import RolloutBook

__all__ = [
    "HealthFile",
    "NamespaceLocked",
    "RestartLedger",
    "RolloutBook",
    "namespace_lock",
]

_HOMES = {
    "RolloutBook": "rollouts",
    "RestartLedger": "restarts",
    "HealthFile": "health_file",
    "NamespaceLocked": "lock",
    "namespace_lock": "lock",
}


def __getattr__(name: str) -> Any:
    """A name of ``__all__``, imported from its module on first use (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
