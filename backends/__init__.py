"""Engine backends for container-agent: one small module per engine API."""

from backends.base import Backend, BackendError, BackendOptions, available_backends, load_backend

__all__ = ["Backend", "BackendError", "BackendOptions", "available_backends", "load_backend"]
