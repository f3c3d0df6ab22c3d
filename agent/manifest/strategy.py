"""A manifest's ``updateStrategy``: how its changed containers are replaced.

The names are Kubernetes Deployment's where it has them (``type``, ``rollingUpdate``,
``maxUnavailable``, ``minReadySeconds``); ``onFailure`` is Swarm's ``failure_action``
(``Rollback`` or ``Pause``). Pure: the model and its reader, nothing of the rollout itself
(see :mod:`agent.planning.rollout`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from agent.manifest.fields import FieldReader

__all__ = [
    "DEFAULT_STRATEGY",
    "MAX_READY_SECONDS",
    "ON_FAILURE",
    "RECREATE",
    "ROLLING_UPDATE",
    "STRATEGY_TYPES",
    "UpdateStrategy",
    "read_update_strategy",
]

ROLLING_UPDATE = "RollingUpdate"
RECREATE = "Recreate"
STRATEGY_TYPES = (ROLLING_UPDATE, RECREATE)
ON_FAILURE = ("Rollback", "Pause")
MAX_READY_SECONDS = 3600
_FIELDS = frozenset({"type", "rollingUpdate", "minReadySeconds", "onFailure"})
_ROLLING_FIELDS = frozenset({"maxUnavailable"})


@attrs.frozen
class UpdateStrategy:
    """``type``: ``RollingUpdate`` replaces changed containers ``max_unavailable`` at a
    time, each kept beside its predecessor until it has run ``min_ready_seconds`` (and
    passed its liveness probe, when it has one), and on failure (``on_failure``) rolls it
    back or pauses; ``Recreate`` removes and starts at once, as the agent always did."""

    type: str = ROLLING_UPDATE
    max_unavailable: int = 1
    min_ready_seconds: int = 10
    on_failure: str = "Rollback"

    @property
    def rolling(self) -> bool:
        return self.type == ROLLING_UPDATE


DEFAULT_STRATEGY = UpdateStrategy()
"""The agent-wide default, unless ``--update-strategy`` and its fellows say otherwise."""


def read_update_strategy(
    reader: FieldReader, top: Mapping[str, Any], default: UpdateStrategy | None = None
) -> UpdateStrategy | None:
    """The manifest's ``updateStrategy``; None when it has none (the agent's default holds).
    Each field left out is the agent's default's (``default``, or :data:`DEFAULT_STRATEGY`)."""
    if top.get("updateStrategy") is None:
        return None
    base = default or DEFAULT_STRATEGY
    data = reader.mapping(top["updateStrategy"], "updateStrategy", _FIELDS)
    if data is None:
        return None
    kind = reader.choice(data, "type", "updateStrategy", STRATEGY_TYPES, base.type)
    on_failure = reader.choice(data, "onFailure", "updateStrategy", ON_FAILURE, base.on_failure)
    ready = _whole(reader, data, "minReadySeconds", "updateStrategy", 0, MAX_READY_SECONDS)
    at_once = None
    if data.get("rollingUpdate") is not None:
        where = "updateStrategy.rollingUpdate"
        rolling = reader.mapping(data["rollingUpdate"], where, _ROLLING_FIELDS)
        if rolling is not None:
            at_once = _whole(reader, rolling, "maxUnavailable", where, 1, 1000)
    return UpdateStrategy(
        kind,
        base.max_unavailable if at_once is None else at_once,
        base.min_ready_seconds if ready is None else ready,
        on_failure,
    )


def _whole(
    reader: FieldReader, data: Mapping[str, Any], key: str, path: str, low: int, high: int
) -> int | None:
    """An optional whole number from ``low`` to ``high``."""
    if data.get(key) is None:
        return None
    value = reader.typed(data[key], int, f"{path}.{key}")
    if value is not None and not low <= value <= high:
        reader.error(f"{path}.{key}", f"must be between {low} and {high}, got {value}")
        return None
    return value
