"""The agent at work: one converge pass (``reconcile``) and the loop that repeats
it (``runloop``), liveness probing (``prober``, ``checks``), metrics, ``/healthz``,
systemd notification, and the agent's settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.lazy import on_first_use

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
    "converge": ".reconcile",
    "observe_network": ".reconcile",
    "plan_against": ".reconcile",
    "plan_for": ".reconcile",
    "Settings": ".settings",
    "default_state_dir": ".settings",
    "RunLoop": ".runloop",
    "PassReport": ".report",
    "Prober": ".prober",
    "Target": ".prober",
    "probe_targets": ".prober",
    "Metrics": ".metrics",
    "MetricsError": ".metrics",
    "MetricsServer": ".metrics",
    "ServiceHealth": ".healthz",
    "Notifier": ".notify",
}


__getattr__ = on_first_use(__name__, _HOMES)
