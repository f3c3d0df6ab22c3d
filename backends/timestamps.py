"""The engines' timestamps as seconds since the epoch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.manifest import gotime

__all__ = ["event_time", "parse_rfc3339"]


def parse_rfc3339(text: str) -> float | None:
    """``2026-11-27T18:50:01.123456789Z`` (nanoseconds, as Go writes it) -> epoch seconds
    (:func:`agent.manifest.gotime.parse_rfc3339`).

    Go's zero time (``0001-01-01T00:00:00Z``, "never") and anything unreadable give None.
    """
    if not text or text.startswith("0001-"):
        return None
    try:
        return gotime.parse_rfc3339(text)
    except ValueError:
        return None


def _number(value: Any) -> int | float | None:
    """A JSON number (not a boolean), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def event_time(row: Mapping[str, Any]) -> float:
    """When an engine event happened, in whichever field its engine wrote it, the most
    precise first: ``timeNano`` (Docker's API and CLI, libpod's API, Podman 5's CLI),
    ``time`` (epoch seconds, the same ones), or ``Time`` (RFC 3339: Podman 4's CLI, which
    has neither of the others). 0.0 when none is readable."""
    nanoseconds = _number(row.get("timeNano"))
    if nanoseconds:
        return nanoseconds / 1e9
    seconds = _number(row.get("time"))
    if seconds:
        return float(seconds)
    return parse_rfc3339(str(row.get("Time") or "")) or 0.0
