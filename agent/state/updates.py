"""The containers whose limits the agent changed in place, and what they match since.

A container's labels are fixed at creation: after ``docker update`` its hash and record
labels still name the spec it was made from. The agent keeps, by container id, the hash
and record of the spec it was updated to, so that the next pass plans it as that spec
(no change). Losing the file costs one more update in place, never a container: the
record still tells that only the limits differ.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.state.json_file import read_mapping, write_mapping

__all__ = ["UpdateLedger"]


class UpdateLedger:
    """Hash and record by container id, kept in ``path`` (or only in memory when None)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._found: dict[str, tuple[str, str]] | None = None

    def updated(self) -> dict[str, tuple[str, str]]:
        if self._found is None:
            data = read_mapping(self.path, "containers updated in place")
            self._found = {
                cid: (value[0], value[1])
                for cid, value in data.items()
                if isinstance(cid, str)
                and isinstance(value, list)
                and len(value) == 2
                and all(isinstance(part, str) for part in value)
            }
        return dict(self._found)

    def record(self, container_id: str, hash: str, record: str) -> None:
        found = self.updated()
        found[container_id] = (hash, record)
        self._save(found)

    def forget(self, container_ids: Iterable[str]) -> None:
        """Drop the containers that were removed."""
        found = self.updated()
        gone = set(container_ids) & found.keys()
        if gone:
            self._save({cid: v for cid, v in found.items() if cid not in gone})

    def _save(self, found: dict[str, tuple[str, str]]) -> None:
        self._found = found
        write_mapping(self.path, {cid: list(v) for cid, v in found.items()}, "updates")
