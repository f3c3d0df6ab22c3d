"""The agent at work: one converge pass (``reconcile``) and the loop that repeats
it (``runloop``), liveness probing (``prober``, ``checks``), metrics, ``/healthz``,
systemd notification, and the agent's settings.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.daemon.healthz import ServiceHealth
    from agent.daemon.metrics import Metrics, MetricsError, MetricsServer
    from agent.daemon.notify import Notifier
    from agent.daemon.prober import Prober, Target, probe_targets
    from agent.daemon.reconcile import converge, observe_network, plan_against, plan_for
    from agent.daemon.report import PassReport
    from agent.daemon.runloop import RunLoop
    from agent.daemon.settings import Settings, default_state_dir

__all__ = [
    "Metrics",
    "MetricsError",
    "MetricsServer",
    "Notifier",
    "PassReport",
    "Prober",
    "RunLoop",
    "ServiceHealth",
    "Settings",
    "Target",
    "converge",
    "default_state_dir",
    "observe_network",
    "plan_against",
    "plan_for",
    "probe_targets",
]

_HOMES = {
    "converge": "reconcile",
    "observe_network": "reconcile",
    "plan_against": "reconcile",
    "plan_for": "reconcile",
    "Settings": "settings",
    "default_state_dir": "settings",
    "RunLoop": "runloop",
    "PassReport": "report",
    "Prober": "prober",
    "Target": "prober",
    "probe_targets": "prober",
    "Metrics": "metrics",
    "MetricsError": "metrics",
    "MetricsServer": "metrics",
    "ServiceHealth": "healthz",
    "Notifier": "notify",
}


def __getattr__(name: str) -> Any:
    """A name of ``__all__``, imported from its module on first use (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
