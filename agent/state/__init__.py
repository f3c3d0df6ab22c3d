"""What the agent keeps in its state dir between runs: restart counts, liveness
records, the lock that keeps two agents apart, each one small JSON file.
Imports :mod:`agent.planning` (for the health model) and below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.lazy import on_first_use

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
    "RolloutBook": ".rollouts",
    "RestartLedger": ".restarts",
    "HealthFile": ".health_file",
    "NamespaceLocked": ".lock",
    "namespace_lock": ".lock",
}


__getattr__ = on_first_use(__name__, _HOMES)
