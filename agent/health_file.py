"""The daemon's health records in its state dir, for ``agent status`` and ``agent plan``."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

import attrs

from agent.health import Health

__all__ = ["HealthFile"]

log = logging.getLogger("agent.health")


class HealthFile:
    """The daemon's health records by container id, in a JSON file of the state dir
    (or nowhere when ``path`` is None). Unreadable means unknown, never an error."""

    def __init__(self, path: str | None) -> None:
        self.path = path

    def read(self) -> dict[str, Health]:
        if self.path is None:
            return {}
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("health records unreadable, ignored: %s: %s", self.path, exc)
            return {}
        if not isinstance(data, dict):
            return {}
        found = {}
        for container_id, raw in data.items():
            health = _health(raw)
            if isinstance(container_id, str) and health is not None:
                found[container_id] = health
        return found

    def write(self, records: Mapping[str, Health]) -> None:
        if self.path is None:
            return
        temporary = f"{self.path}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump({k: attrs.asdict(v) for k, v in records.items()}, handle, sort_keys=True)
            os.replace(temporary, self.path)
        except OSError as exc:
            log.warning("cannot keep health records in %s: %s", self.path, exc)


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
