"""``agent logs``: the engine's logs of one of the namespace's containers, by its manifest name.

The name is the one in the manifest (the agent's name label), or the container's engine
name (``<namespace>-<name>-<hash8>``); only the namespace's own containers are looked
at, so a container the agent did not make is never read, whatever its name. While a
change is under way two containers may carry the name, the old one and its replacement:
the one that runs is read, else the newest. ``--since`` takes what ``docker logs
--since`` takes: a duration back from now, a timestamp, or seconds since the epoch.
"""

from __future__ import annotations

import contextlib
import re
import signal
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import TYPE_CHECKING, BinaryIO

from agent.errors import AgentError
from agent.manifest.gotime import parse_duration, parse_rfc3339

if TYPE_CHECKING:
    from agent.planning.observed import ObservedContainer
    from backends.base import EngineReader

__all__ = ["UnknownContainer", "choose", "parse_since", "parse_tail", "write_logs"]

_EPOCH = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)")


class UnknownContainer(AgentError):
    """No container of the namespace carries the name asked for."""


def parse_since(text: str, now: float) -> float:
    """``--since`` as seconds since the epoch: ``10m``, ``1h30m``, ``90s`` (Go's durations,
    back from ``now``); ``2026-01-02T03:04:05Z`` and the rest of RFC 3339 (without a zone,
    or a date alone, in local time); ``1767322800`` or ``1767322800.5`` (epoch seconds).

    Raises ValueError saying what is accepted.
    """
    value = text.strip()
    seconds = parse_duration(value)
    if seconds is not None:
        return now - float(seconds)
    if _EPOCH.fullmatch(value):
        return float(value)
    stamp = parse_rfc3339(value)
    if stamp is not None:
        return stamp
    raise ValueError(
        f"{text!r} is not a duration (10m, 90s, 2h), an RFC 3339 timestamp "
        "(2026-01-02T03:04:05Z) or seconds since the epoch"
    )


def parse_tail(text: str) -> int | None:
    """``--tail``: a number of lines (0 or more), or ``all``, which is None."""
    if text.strip().lower() == "all":
        return None
    if not text.strip().isdigit():
        raise ValueError(f"{text!r} is not a number of lines (or 'all')")
    return int(text)


def choose(containers: Sequence[ObservedContainer], name: str, namespace: str) -> ObservedContainer:
    """The container the user means by ``name``: its manifest name or its engine name.

    Of several, the one that runs; else the newest: one never started (the agent creates
    a replacement after it stopped the old one), else the last to start.
    """
    ours = [c for c in containers if c.name]
    matches = [c for c in ours if name in (c.name, c.engine_name)]
    if not matches:
        known = ", ".join(sorted({c.name for c in ours})) or "none"
        raise UnknownContainer(
            f"no container named {name!r} in namespace {namespace!r}; known: {known}"
        )
    return max(matches, key=lambda c: (c.running, c.state == "created", c.started_at or 0.0))


def write_logs(
    reader: EngineReader,
    namespace: str,
    name: str,
    out: BinaryIO,
    *,
    follow: bool = False,
    tail: int | None = None,
    since: float | None = None,
) -> None:
    """Write the logs of the container ``name`` to ``out`` as the engine gives them,
    flushing each chunk when following. SIGTERM ends it as Ctrl-C does (KeyboardInterrupt),
    so that the engine's stream is closed and a CLI that reads it is ended; Ctrl-C does so
    even in a process started with SIGINT ignored."""
    container = choose(reader.list(namespace), name, namespace)
    chunks = reader.logs(container.id, follow=follow, tail=tail, since=since)
    with _terminate_as_interrupt():
        try:
            for chunk in chunks:
                out.write(chunk)
                if follow:
                    out.flush()
            out.flush()
        finally:
            close = getattr(chunks, "close", None)  # a generator's: the engine's stream ends
            if close is not None:
                close()


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGINT raise KeyboardInterrupt while inside (in the main thread only),
    SIGINT even when the process was started with it ignored (by ``nohup`` or a shell's
    background job), as the daemon ends on both."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread: signals are not ours to take
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
