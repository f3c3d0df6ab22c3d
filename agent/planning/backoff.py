"""Exponential back-off: how long to wait after a run of failures. Pure.

One value object serves the three places that back off: a container in a crash
loop (the kubelet's numbers, :data:`CRASH_LOOP`), the daemon while its engine
does not answer, and the retries of an image pull.
"""

from __future__ import annotations

import math

import attrs

from agent.errors import AgentError

__all__ = ["CRASH_LOOP", "Backoff", "BackoffError"]


class BackoffError(AgentError, ValueError):
    """A back-off that cannot work; ``field`` names the number that is wrong. A ValueError
    too, as attrs validators raise."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field} {problem}")


def _not_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0:
        raise BackoffError(attribute.name, f"must be at least 0, got {value!r}")


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise BackoffError(attribute.name, f"must be more than 0, got {value!r}")


@attrs.frozen
class Backoff:
    """Wait ``initial`` seconds after the first failure, doubling after each one up to
    ``max``. A success that lasted ``reset`` seconds starts the count afresh. An
    ``initial`` of 0 backs off not at all."""

    initial: float = attrs.field(validator=_not_negative)
    max: float = attrs.field(validator=_positive)
    reset: float = attrs.field(default=math.inf, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.max < self.initial:
            raise BackoffError(
                "max",
                f"must not be less than the initial back-off ({self.initial:g}), got {self.max:g}",
            )

    def delay(self, failures: int) -> float:
        """The wait after ``failures`` failures in a row: none after none."""
        if failures <= 0:
            return 0.0
        return float(min(self.initial * 2 ** min(failures - 1, 32), self.max))


CRASH_LOOP = Backoff(initial=10.0, max=300.0, reset=600.0)
"""The kubelet's crash-loop back-off: 10 s, doubling to 5 minutes, reset after 10 minutes."""
