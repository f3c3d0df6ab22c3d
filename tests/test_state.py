"""What the agent keeps on the host: restart counts, and the one-agent-per-namespace lock."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from agent.state.lock import NamespaceLocked, namespace_lock
from agent.state.restarts import RestartLedger
from backends.timestamps import parse_rfc3339


def test_restart_counts_survive_a_new_ledger_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ns.restarts.json"
    ledger = RestartLedger(str(path))
    ledger.record("abc", 3)
    ledger.record("def", 1)
    assert RestartLedger(str(path)).counts() == {"abc": 3, "def": 1}
    assert json.loads(path.read_text()) == {"abc": 3, "def": 1}


def test_forget_drops_removed_containers_and_keeps_the_others(tmp_path: Path) -> None:
    ledger = RestartLedger(str(tmp_path / "r.json"))
    ledger.record("abc", 3)
    ledger.record("def", 1)
    ledger.record("ghi", 2)
    ledger.forget(iter(["abc", "not-known"]))
    assert RestartLedger(str(tmp_path / "r.json")).counts() == {"def": 1, "ghi": 2}


@pytest.mark.parametrize(
    "content",
    ["not json", "[1, 2]", '{"abc": "three", "def": 2}'],
    ids=["not JSON", "not a mapping", "a count that is not a number"],
)
def test_an_unreadable_ledger_starts_afresh(tmp_path: Path, content: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(content)
    expected = {"def": 2} if "def" in content else {}
    assert RestartLedger(str(path)).counts() == expected


def test_a_ledger_that_cannot_be_written_keeps_counts_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    ledger = RestartLedger(str(blocker / "r.json"))
    ledger.record("abc", 2)
    assert ledger.counts() == {"abc": 2}


def _try_lock(state_dir: str, queue: multiprocessing.Queue[str]) -> None:
    try:
        with namespace_lock(state_dir, "web"):
            queue.put("locked")
    except NamespaceLocked as exc:
        queue.put(str(exc))


def test_a_second_holder_of_a_namespace_is_refused_with_the_first_ones_pid(
    tmp_path: Path,
) -> None:
    queue: multiprocessing.Queue[str] = multiprocessing.Queue()
    with namespace_lock(str(tmp_path), "web") as path:
        other = multiprocessing.Process(target=_try_lock, args=(str(tmp_path), queue))
        other.start()
        other.join(30)
        message = queue.get(timeout=5)
        assert message.startswith(f"another agent (pid {Path(path).read_text().strip()}) ")
        assert "already manages namespace 'web' on this host" in message
    # Released with its holder: the next one gets it.
    other = multiprocessing.Process(target=_try_lock, args=(str(tmp_path), queue))
    other.start()
    other.join(30)
    assert queue.get(timeout=5) == "locked"


def test_other_namespaces_are_not_locked(tmp_path: Path) -> None:
    with namespace_lock(str(tmp_path), "web"), namespace_lock(str(tmp_path), "db"):
        pass


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T18:50:01.123456789Z", 1795805401.123456789),
        ("2026-11-27T19:50:01+01:00", 1795805401.0),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
        ("yesterday", None),
    ],
)
def test_engine_timestamps(text: str, expected: float | None) -> None:
    assert parse_rfc3339(text) == pytest.approx(expected)
