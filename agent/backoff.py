"""Exponential back-off: how long to wait after a run of failures. Pure.

One value object serves the three places that back off: a container in a crash
loop (the kubelet's numbers, :data:`CRASH_LOOP`), the daemon while its engine
does not answer, and the retries of an image pull.
"""

from __future__ import annotations

import math

import attrs

__all__ = ["CRASH_LOOP", "Backoff"]


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be more than 0, got {value!r}")


@attrs.frozen
class Backoff:
    """Wait ``initial`` seconds after the first failure, doubling after each one up to
    ``max``. A success that lasted ``reset`` seconds starts the count afresh."""

    initial: float = attrs.field(validator=_positive)
    max: float = attrs.field(validator=_positive)
    reset: float = attrs.field(default=math.inf, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.max < self.initial:
            raise ValueError(f"max ({self.max:g}) must not be less than initial ({self.initial:g})")

    def delay(self, failures: int) -> float:
        """The wait after ``failures`` failures in a row: none after none."""
        if failures <= 0:
            return 0.0
        return float(min(self.initial * 2 ** min(failures - 1, 32), self.max))


CRASH_LOOP = Backoff(initial=10.0, max=300.0, reset=600.0)
"""The kubelet's crash-loop back-off: 10 s, doubling to 5 minutes, reset after 10 minutes."""
