"""How often the agent restarted each container in its current crash loop.

Engines keep a container's finish time but give no place to write a counter
(labels are fixed at creation), so the count lives in a small JSON file of the
agent's, keyed by container id: an agent restarted by its supervisor picks the
back-off up where it was. Losing the file only restarts the back-off from its
start; a replaced container (a new id) starts afresh, as a spec change should.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.state.json_file import read_mapping, write_mapping

__all__ = ["RestartLedger"]


class RestartLedger:
    """Restart counts by container id, kept in ``path`` (or only in memory when None)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._counts: dict[str, int] | None = None

    def counts(self) -> dict[str, int]:
        if self._counts is None:
            self._counts = self._load()
        return dict(self._counts)

    def record(self, container_id: str, attempt: int) -> None:
        counts = self.counts()
        counts[container_id] = attempt
        self._save(counts)

    def forget(self, container_ids: Iterable[str]) -> None:
        """Drop the counts of containers that were removed."""
        counts = self.counts()
        gone = set(container_ids) & counts.keys()
        if gone:
            self._save({cid: n for cid, n in counts.items() if cid not in gone})

    def _load(self) -> dict[str, int]:
        data = read_mapping(self.path, "restart counts")
        return {k: v for k, v in data.items() if isinstance(k, str) and type(v) is int}

    def _save(self, counts: dict[str, int]) -> None:
        self._counts = counts
        write_mapping(self.path, dict(counts), "restart counts")
