"""The HTTP transport's failures (requests, urllib3), which the two SDK backends share.

An engine that cannot be reached (a refused or missing socket, a connection that
times out) becomes :class:`~backends.errors.EngineUnreachable`, with the innermost
OS-level reason. An answer that is slow to come (a read time-out: a long pull, a
container slow to stop) is a plain :class:`~backends.errors.BackendError`: the
engine is there.
"""

from __future__ import annotations

from backends.errors import BackendError, EngineUnreachable

__all__ = ["CONNECTIONS", "transport_cause", "unreachable"]

CONNECTIONS = 64
"""Connections an SDK client keeps to its engine: enough for the executor's workers and the
event stream at once (past its pool, urllib3 makes and drops connections, logging each)."""


def unreachable(exc: BaseException, address: str, timeout: float) -> BackendError:
    """The error for a transport failure: an engine that cannot be reached (refused,
    missing socket, a connection timed out), or one whose answer is late."""
    import requests
    import urllib3

    cause = transport_cause(exc) or exc
    reads = (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError)
    if isinstance(cause, reads) or isinstance(getattr(cause, "reason", None), reads):
        return BackendError(f"no answer from the engine at {address} within {timeout:g}s", address)
    timeouts = (TimeoutError, requests.exceptions.Timeout, urllib3.exceptions.TimeoutError)
    if isinstance(cause, timeouts) or isinstance(getattr(cause, "reason", None), timeouts):
        return EngineUnreachable(
            f"no answer from the engine at {address} within {timeout:g}s", address
        )
    return EngineUnreachable(f"cannot reach the engine at {address}: {_reason(cause)}", address)


def transport_cause(exc: BaseException) -> BaseException | None:
    """The first OSError (requests and urllib3 errors included) in ``exc``'s chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            return current
        current = current.__cause__ or current.__context__
    return None


def _reason(exc: BaseException) -> str:
    """The innermost OS-level reason ("No such file or directory") in a transport error."""
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending:
        item = pending.pop(0)
        if id(item) in seen or not isinstance(item, BaseException):
            continue
        seen.add(id(item))
        if isinstance(item, OSError) and item.strerror:
            return item.strerror
        pending.extend(
            [*item.args, getattr(item, "reason", None), item.__cause__, item.__context__]
        )
    return str(exc)
