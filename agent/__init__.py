"""container-agent: keep the containers on one host exactly as a manifest says.

The library's front: load and check manifests, plan against an engine (a dry run)
or converge it, print a plan, and the errors to catch. Everything else lives in the
sub-package that owns it, each with its ``__all__``: :mod:`agent.manifest` (the
models as written), :mod:`agent.planning` (the pure planner, its specs and
actions), :mod:`agent.sources` (loading, URLs, signatures, watching),
:mod:`agent.state`, :mod:`agent.engine` (executing, pulling, events, logs),
:mod:`agent.output` (text and JSON), :mod:`agent.daemon` (a pass, the run loop,
settings, probes, metrics) and :mod:`agent.convert` (Compose in, Kubernetes and
konlet's declaration out); :mod:`agent.errors` lists every error.

Each name but the errors loads its module on first use (PEP 562), so that ``import
agent`` loads :mod:`agent.errors` alone and a command imports only what it runs.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from agent.errors import AgentError, FieldError, ManifestError, SettingsError
from agent.lazy import on_first_use

if TYPE_CHECKING:
    from agent.daemon.reconcile import converge, plan_for
    from agent.daemon.settings import Settings
    from agent.engine.executor import ActionResult
    from agent.manifest.models import Container, Manifest
    from agent.output.render import render_json, render_text
    from agent.planning.actions import Action, Plan
    from agent.sources.allowances import check_desired
    from agent.sources.load import DesiredSet, load_sources
    from backends.errors import BackendError, EngineUnreachable

__all__ = [
    "Action",
    "ActionResult",
    "AgentError",
    "BackendError",
    "Container",
    "DesiredSet",
    "EngineUnreachable",
    "FieldError",
    "Manifest",
    "ManifestError",
    "Plan",
    "Settings",
    "SettingsError",
    "__version__",
    "check_desired",
    "converge",
    "load_sources",
    "plan_for",
    "render_json",
    "render_text",
]

_HOMES = {
    "load_sources": "agent.sources.load",
    "DesiredSet": "agent.sources.load",
    "check_desired": "agent.sources.allowances",
    "Manifest": "agent.manifest.models",
    "Container": "agent.manifest.models",
    "Settings": "agent.daemon.settings",
    "plan_for": "agent.daemon.reconcile",
    "converge": "agent.daemon.reconcile",
    "Plan": "agent.planning.actions",
    "Action": "agent.planning.actions",
    "ActionResult": "agent.engine.executor",
    "render_text": "agent.output.render",
    "render_json": "agent.output.render",
    "BackendError": "backends.errors",
    "EngineUnreachable": "backends.errors",
}


__getattr__ = on_first_use(__name__, _HOMES)
