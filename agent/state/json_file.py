"""A small JSON file of the agent's state dir: read as a mapping, written atomically.

The restart counts (:mod:`agent.state.restarts`) and the liveness records
(:mod:`agent.state.health_file`) are each one such file. A file that is missing or unreadable
is an empty mapping (logged when unreadable): losing it costs only what it remembered.
A write goes to a temporary file first and replaces the old one, so a reader never
sees half a file; a write that fails is logged, and the caller keeps its state in memory.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

__all__ = ["read_mapping", "write_mapping"]

log = logging.getLogger("agent.state")


def read_mapping(path: str | None, what: str) -> dict[Any, Any]:
    """The JSON object in ``path``; empty when there is none (``path`` None: kept nowhere)."""
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s unreadable, starting afresh: %s: %s", what, path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def write_mapping(path: str | None, data: dict[str, Any], what: str) -> None:
    """Replace ``path`` with ``data`` as JSON; a failure is logged, never raised."""
    if path is None:
        return
    temporary = f"{path}.tmp"
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(data, handle, sort_keys=True)
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("cannot keep %s in %s (%s); keeping them in memory", what, path, exc)
