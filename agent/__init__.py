"""container-agent: keep the containers on one host exactly as a manifest says.

The library API: load manifests, build engine specs, plan purely, execute
through a backend, and render plans.
"""

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

from agent.daemon.settings import Settings
from agent.errors import (
    AgentError,
    FieldError,
    ImageNotPresent,
    ManifestError,
    MultiSourceError,
    SettingsError,
    VolumeError,
)
from agent.manifest.models import Container, EnvVar, Manifest, Port, Volume, VolumeMount
from agent.manifest.probes import ExecCheck, HttpCheck, Probe, TcpCheck
from agent.output.render import (
    apply_to_dict,
    plan_to_dict,
    render_json,
    render_results,
    render_status,
    render_text,
    status_to_dict,
)
from agent.output.status import ContainerStatus, statuses
from agent.planning.actions import (
    Action,
    CreateNetwork,
    Join,
    Plan,
    Remove,
    RemoveNetwork,
    Restart,
    Start,
    Wait,
)
from agent.planning.backoff import CRASH_LOOP, Backoff
from agent.planning.health import Health
from agent.planning.network import NetworkConflict, ObservedNetwork, network_name
from agent.planning.observed import ObservedContainer
from agent.planning.planner import PlanOptions, plan
from agent.planning.spec import RunSpec, build_specs
from agent.sources.load import DesiredSet, load_file, load_sources, merge
from agent.sources.signatures import SignatureError

if TYPE_CHECKING:
    from agent.convert.compose import from_compose
    from agent.convert.kube import to_kubernetes
    from agent.daemon.reconcile import converge, observe_network, plan_against, plan_for
    from agent.engine.executor import ActionResult, execute

# The parts that call a backend load on first use: importing the pure core (or a
# backend, which imports agent.errors) never imports the backends package.
_ON_FIRST_USE = {
    "ActionResult": "agent.engine.executor",
    "execute": "agent.engine.executor",
    "converge": "agent.daemon.reconcile",
    "plan_for": "agent.daemon.reconcile",
    "plan_against": "agent.daemon.reconcile",
    "observe_network": "agent.daemon.reconcile",
    "from_compose": "agent.convert.compose",
    "to_kubernetes": "agent.convert.kube",
}


def __getattr__(name: str) -> Any:
    if name in _ON_FIRST_USE:
        return getattr(importlib.import_module(_ON_FIRST_USE[name]), name)
    raise AttributeError(f"module 'agent' has no attribute {name!r}")


__all__ = [
    "CRASH_LOOP",
    "Action",
    "ActionResult",
    "AgentError",
    "Backoff",
    "Container",
    "ContainerStatus",
    "CreateNetwork",
    "DesiredSet",
    "EnvVar",
    "ExecCheck",
    "FieldError",
    "Health",
    "HttpCheck",
    "ImageNotPresent",
    "Join",
    "Manifest",
    "ManifestError",
    "MultiSourceError",
    "NetworkConflict",
    "ObservedContainer",
    "ObservedNetwork",
    "Plan",
    "PlanOptions",
    "Port",
    "Probe",
    "Remove",
    "RemoveNetwork",
    "Restart",
    "RunSpec",
    "Settings",
    "SettingsError",
    "SignatureError",
    "Start",
    "TcpCheck",
    "Volume",
    "VolumeError",
    "VolumeMount",
    "Wait",
    "__version__",
    "apply_to_dict",
    "build_specs",
    "converge",
    "execute",
    "from_compose",
    "load_file",
    "load_sources",
    "merge",
    "network_name",
    "observe_network",
    "plan",
    "plan_against",
    "plan_for",
    "plan_to_dict",
    "render_json",
    "render_results",
    "render_status",
    "render_text",
    "status_to_dict",
    "statuses",
    "to_kubernetes",
]
