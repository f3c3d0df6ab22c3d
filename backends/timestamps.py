"""The engines' timestamps as seconds since the epoch."""

from __future__ import annotations

import re
from datetime import datetime, timezone

__all__ = ["parse_rfc3339"]

_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)\Z")


def parse_rfc3339(text: str) -> float | None:
    """``2026-11-27T18:50:01.123456789Z`` (nanoseconds, as Go writes it) -> epoch seconds.

    Go's zero time (``0001-01-01T00:00:00Z``, "never") and anything unreadable give None.
    """
    match = _RFC3339.match(text or "")
    if match is None or text.startswith("0001-"):
        return None
    whole, fraction, zone = match.groups()
    zone = "+00:00" if zone == "Z" else zone
    stamp = datetime.fromisoformat(whole + zone).astimezone(timezone.utc).timestamp()
    return stamp + float(f"0.{fraction}") if fraction else stamp
