"""One agent per namespace on a host: a lock file that the kernel releases when the agent dies."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from agent.errors import AgentError

__all__ = ["NamespaceLocked", "namespace_lock"]


class NamespaceLocked(AgentError):
    """Another agent already manages this namespace."""


@contextlib.contextmanager
def namespace_lock(state_dir: str, namespace: str) -> Iterator[str]:
    """Hold ``<state_dir>/<namespace>.lock`` (flock) for the duration; yields its path.

    Two agents for one namespace would undo each other's work, so the second one
    refuses to start, naming the first one's pid. A lock left by a killed agent
    holds nothing: flock locks die with their process.
    """
    path = os.path.join(state_dir, f"{namespace}.lock")
    try:
        os.makedirs(state_dir, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise AgentError(f"cannot open the lock {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise NamespaceLocked(
                f"another agent (pid {holder}) already manages namespace {namespace!r} "
                f"on this host (lock {path}); stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)
