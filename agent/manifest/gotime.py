"""Go's time formats, as the engines and Compose write them: durations (``1h30m``,
``500ms``, as ``time.ParseDuration`` reads them, without a sign) and RFC 3339 timestamps
(``2026-01-02T03:04:05.5Z``, and as ``docker logs --since`` also takes them: a space for
the ``T``, no zone or a date alone in local time)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from fractions import Fraction

__all__ = ["DURATION_UNITS", "parse_duration", "parse_rfc3339"]

DURATION_UNITS: dict[str, Fraction] = {
    "ns": Fraction(1, 10**9),
    "us": Fraction(1, 10**6),
    "µs": Fraction(1, 10**6),  # U+00B5, micro sign
    "μs": Fraction(1, 10**6),  # U+03BC, Greek mu
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_UNIT = "(?:ns|us|µs|μs|ms|s|m|h)"
_DURATION = re.compile(rf"(?:{_NUMBER}{_UNIT})+")
_DURATION_PART = re.compile(rf"({_NUMBER})({_UNIT})")
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)"
    r"(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?"
    r"(?:([Zz])|([+-])(\d\d):?(\d\d))?"
)


def parse_duration(text: str) -> Fraction | None:
    """``1h30m``, ``2.5s``, ``500ms``, ``.5h`` in seconds; None when ``text`` is not one
    (a sign, a unit missing or unknown, spaces)."""
    if not _DURATION.fullmatch(text):
        return None
    return sum(
        (Fraction(number) * DURATION_UNITS[unit] for number, unit in _DURATION_PART.findall(text)),
        Fraction(0),
    )


def parse_rfc3339(text: str) -> float | None:
    """An RFC 3339 timestamp as seconds since the epoch (without a zone, or a date alone,
    in local time); None when ``text`` is not of that form. Raises ValueError for one
    that is, but names no date (a 13th month, a 32nd day)."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, utc, sign, zh, zm = match.groups()
    zone: timezone | None = None
    if utc:
        zone = timezone.utc
    elif sign:
        offset = timedelta(hours=int(zh), minutes=int(zm))
        zone = timezone(-offset if sign == "-" else offset)
    try:
        when = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError as exc:
        raise ValueError(f"{match.group(0)!r} is not a date: {exc}") from exc
    # A naive datetime's timestamp() is in local time, as docker reads a zoneless one.
    stamp = when.replace(tzinfo=zone).timestamp()
    return stamp + float(f"0.{fraction}") if fraction else stamp
