"""The daemon's health records in its state dir, for ``agent status`` and ``agent plan``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from agent.planning.health import Health
from agent.state.json_file import read_mapping, write_mapping

__all__ = ["HealthFile"]


class HealthFile:
    """The daemon's health records by container id, in a JSON file of the state dir
    (or nowhere when ``path`` is None). Unreadable means unknown, never an error."""

    def __init__(self, path: str | None) -> None:
        self.path = path

    def read(self) -> dict[str, Health]:
        found = {}
        for container_id, raw in read_mapping(self.path, "health records").items():
            health = _health(raw)
            if isinstance(container_id, str) and health is not None:
                found[container_id] = health
        return found

    def write(self, records: Mapping[str, Health]) -> None:
        data = {k: attrs.asdict(v) for k, v in records.items()}
        write_mapping(self.path, data, "health records")


def _health(raw: Any) -> Health | None:
    try:
        return Health(
            probe=str(raw["probe"]),
            failures=int(raw["failures"]),
            last=str(raw["last"]),
            unhealthy_since=_number(raw.get("unhealthy_since")),
            checked_at=_number(raw.get("checked_at")),
            checks=int(raw.get("checks", 0)),
            watched_since=_number(raw.get("watched_since")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
