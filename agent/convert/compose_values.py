"""Compose's durations as the manifest's whole seconds, and values past what the manifest
takes, each with a note when it cannot be carried over as it is."""

from __future__ import annotations

import math
from typing import Any

from agent.convert.notes import NoteTaker
from agent.manifest.gotime import parse_duration

__all__ = ["capped", "whole_seconds"]


def whole_seconds(
    name: str, field: str, value: Any, note: NoteTaker, least: int, cap: int
) -> int | None:
    """A Compose duration (``1m30s``, ``2.5s``: Go's, as Compose reads it) in whole seconds,
    rounded up, ``least`` at least and capped at ``cap``; None, with a note, when it is not
    a duration."""
    seconds = parse_duration(value) if isinstance(value, str) else None
    if seconds is None:
        note(name, field, "not mapped: not a duration such as 30s or 1m30s")
        return None
    return capped(name, field, max(math.ceil(seconds), least), cap, "s", note)


def capped(name: str, field: str, value: int, cap: int, unit: str, note: NoteTaker) -> int:
    """``value``, or ``cap`` with a note when it is more than the manifest takes."""
    if value <= cap:
        return value
    note(name, field, f"{value}{unit} is more than the manifest takes: {cap}{unit} instead")
    return cap
