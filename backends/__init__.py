"""Engine backends for container-agent: one small module per engine API.

The contract (:mod:`backends.base`), the errors every backend maps its engine's onto
(:mod:`backends.errors`; :class:`BackendError` is an :class:`agent.errors.AgentError`),
and selection by name through the entry points. Each name loads its module on first
use (PEP 562): a command that touches no engine imports none of it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backends.base import (
        Backend,
        BackendOptions,
        EngineReader,
        EventStream,
        ReadOnly,
        available_backends,
        load_backend,
    )
    from backends.credentials import RegistryAuth
    from backends.errors import (
        BackendError,
        Conflict,
        EngineUnreachable,
        ImageUnavailable,
        NotFound,
        Unsupported,
    )

__all__ = [
    "Backend",
    "BackendError",
    "BackendOptions",
    "Conflict",
    "EngineReader",
    "EngineUnreachable",
    "EventStream",
    "ImageUnavailable",
    "NotFound",
    "ReadOnly",
    "RegistryAuth",
    "Unsupported",
    "available_backends",
    "load_backend",
]

_HOMES = {
    "Backend": "base",
    "BackendOptions": "base",
    "EngineReader": "base",
    "EventStream": "base",
    "ReadOnly": "base",
    "available_backends": "base",
    "load_backend": "base",
    "RegistryAuth": "credentials",
    "BackendError": "errors",
    "Conflict": "errors",
    "EngineUnreachable": "errors",
    "ImageUnavailable": "errors",
    "NotFound": "errors",
    "Unsupported": "errors",
}


def __getattr__(name: str) -> Any:
    """A name of ``__all__``, imported from its module on first use (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
