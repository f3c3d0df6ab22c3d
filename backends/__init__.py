"""Engine backends for container-agent: one small module per engine API."""

from backends.base import (
    Backend,
    BackendOptions,
    EngineReader,
    ReadOnly,
    available_backends,
    load_backend,
)
from backends.errors import BackendError, Conflict, EngineUnreachable, ImageUnavailable, NotFound

__all__ = [
    "Backend",
    "BackendError",
    "BackendOptions",
    "Conflict",
    "EngineReader",
    "EngineUnreachable",
    "ImageUnavailable",
    "NotFound",
    "ReadOnly",
    "available_backends",
    "load_backend",
]
