"""Go's durations and RFC 3339 timestamps (agent/manifest/gotime.py), as ``agent logs
--since``, the engines' timestamps and Compose's durations all read them."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction

import pytest

from agent.manifest.gotime import parse_duration, parse_rfc3339

DURATIONS = [
    ("90s", Fraction(90)),
    ("1m30s", Fraction(90)),
    ("1h30m", Fraction(5400)),
    ("1.5h", Fraction(5400)),
    ("2.5s", Fraction(5, 2)),
    (".5s", Fraction(1, 2)),
    ("1.s", Fraction(1)),
    ("500ms", Fraction(1, 2)),
    ("250us", Fraction(1, 4000)),
    ("250µs", Fraction(1, 4000)),
    ("250μs", Fraction(1, 4000)),
    ("10ns", Fraction(1, 10**8)),
    ("1h1m1s1ms", Fraction(3661001, 1000)),
]


@pytest.mark.parametrize(("text", "seconds"), DURATIONS, ids=[t for t, _ in DURATIONS])
def test_a_duration_in_seconds(text: str, seconds: Fraction) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "-10m", "10d", "10 m", "m", "1e9s", " 10m", "1h-5m"])
def test_what_is_no_duration(text: str) -> None:
    assert parse_duration(text) is None


def test_a_timestamp_with_a_zone_or_without_one() -> None:
    assert parse_rfc3339("2026-01-02T03:04:05Z") == 1_767_323_045.0
    assert parse_rfc3339("2026-01-02T04:04:05.5+01:00") == 1_767_323_045.5
    assert parse_rfc3339("2026-01-02") == datetime(2026, 1, 2).timestamp()


def test_a_timestamp_of_no_date_is_an_error_and_no_timestamp_is_none() -> None:
    with pytest.raises(ValueError, match="not a date"):
        parse_rfc3339("2026-02-30T00:00:00Z")
    assert parse_rfc3339("yesterday") is None
