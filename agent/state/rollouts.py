"""The rollouts under way and the failed revisions, kept in the state dir.

``<state-dir>/<namespace>.rollouts.json`` holds ``{"rollouts": {name: record}, "failed":
{name: revision}}`` (see :mod:`agent.planning.rollout`). A record is written before its
rollout touches the engine, so that an agent killed at any point leaves a file from which
the next one finishes or rolls back; a revision that failed is kept until a rollout of
its name succeeds or ``--retry-failed`` drops it. Written by the executor's workers, so
every change is made under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import attrs

from agent.planning.rollout import FailedRevision, RolloutRecord
from agent.state.json_file import read_mapping, write_mapping

__all__ = ["RolloutBook"]

_WHAT = "rollout records"


class RolloutBook:
    """Rollout records and failed revisions by container name, kept in ``path`` (or only in
    memory when None)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        data = read_mapping(path, _WHAT)
        self._records = _read(data.get("rollouts"), RolloutRecord)
        self._failed = _read(data.get("failed"), FailedRevision)

    def records(self) -> dict[str, RolloutRecord]:
        with self._lock:
            return dict(self._records)

    def failed(self) -> dict[str, FailedRevision]:
        with self._lock:
            return dict(self._failed)

    def begin(self, name: str, record: RolloutRecord) -> None:
        """A rollout of ``name`` begins (or begins again): before the engine is touched."""
        with self._lock:
            self._records[name] = record
            self._save()

    def succeeded(self, name: str) -> None:
        """The rollout of ``name`` is done: its record and any failure of the name go."""
        with self._lock:
            self._records.pop(name, None)
            self._failed.pop(name, None)
            self._save()

    def fail(self, name: str, revision: FailedRevision) -> None:
        """The rollout of ``name`` failed: its revision is held back (its record stays until
        the rollback is done: :meth:`forget`)."""
        with self._lock:
            self._failed[name] = revision
            self._save()

    def forget(self, names: Iterable[str], failed: bool = False) -> None:
        """Drop the records of ``names`` (and their failed revisions, when ``failed``)."""
        with self._lock:
            gone = set(names)
            found = gone & (self._records.keys() | (self._failed.keys() if failed else set()))
            if not found:
                return
            self._records = {k: v for k, v in self._records.items() if k not in gone}
            if failed:
                self._failed = {k: v for k, v in self._failed.items() if k not in gone}
            self._save()

    def _save(self) -> None:
        data = {
            "rollouts": {k: attrs.asdict(v) for k, v in self._records.items()},
            "failed": {k: attrs.asdict(v) for k, v in self._failed.items()},
        }
        write_mapping(self.path, data, _WHAT)


def _read(raw: Any, kind: Any) -> dict[str, Any]:
    """The entries of ``raw`` that are well-formed ``kind``s; others are dropped."""
    found: dict[str, Any] = {}
    if not isinstance(raw, dict):
        return found
    for name, fields in raw.items():
        try:
            found[str(name)] = kind(**fields)
        except TypeError:
            continue
    return found
