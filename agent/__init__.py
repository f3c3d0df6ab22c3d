"""container-agent: keep the containers on one host exactly as a manifest says.

The library API: load manifests, build engine specs, plan purely, execute
through a backend, and render plans.
"""

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

from agent.actions import (
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
from agent.backoff import CRASH_LOOP, Backoff
from agent.errors import (
    AgentError,
    FieldError,
    ImageNotPresent,
    ManifestError,
    MultiSourceError,
    SettingsError,
    VolumeError,
)
from agent.health import Health
from agent.load import DesiredSet, load_file, load_sources, merge
from agent.manifest import Container, EnvVar, Manifest, Port, Volume, VolumeMount
from agent.network import NetworkConflict, ObservedNetwork, network_name
from agent.observed import ObservedContainer
from agent.planner import PlanOptions, plan
from agent.probes import ExecCheck, HttpCheck, Probe, TcpCheck
from agent.render import (
    apply_to_dict,
    plan_to_dict,
    render_json,
    render_results,
    render_status,
    render_text,
    status_to_dict,
)
from agent.settings import Settings
from agent.signatures import SignatureError
from agent.spec import RunSpec, build_specs
from agent.status import ContainerStatus, statuses

if TYPE_CHECKING:
    from agent.compose import from_compose
    from agent.executor import ActionResult, execute
    from agent.kube import to_kubernetes
    from agent.reconcile import converge, observe_network, plan_against, plan_for

# The parts that call a backend load on first use: importing the pure core (or a
# backend, which imports agent.errors) never imports the backends package.
_ON_FIRST_USE = {
    "ActionResult": "agent.executor",
    "execute": "agent.executor",
    "converge": "agent.reconcile",
    "plan_for": "agent.reconcile",
    "plan_against": "agent.reconcile",
    "observe_network": "agent.reconcile",
    "from_compose": "agent.compose",
    "to_kubernetes": "agent.kube",
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
