"""A call that must answer within a deadline, for engine APIs that cannot be given one.

An exec through the Docker SDK or podman-py blocks until the command ends (or the
client's socket time-out, a minute later). :func:`within` runs such a call on a
thread of its own and gives up waiting after ``timeout`` seconds: the call is
abandoned, not killed, and its thread ends when the engine answers. Callers keep
such calls few (the prober runs at most one per container).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["within"]

_T = TypeVar("_T")


def within(timeout: float, call: Callable[[], _T], name: str = "agent-deadline") -> _T:
    """``call()``'s result, or TimeoutError after ``timeout`` seconds; its error is raised."""
    done = threading.Event()
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # handed to the caller, whatever it is
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError(f"no answer within {timeout:g}s")
    if failure:
        raise failure[0]
    return outcome[0]
