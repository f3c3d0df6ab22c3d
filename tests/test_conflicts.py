"""Two sources that claim one container name or host port: the change that made the conflict
is refused, and everything else stays as it was (agent/sources/conflicts.py and
source_set.py).

Each case of the table is a story of passes of a running agent over a directory of two
files, X and Y. Every story runs twice: with X named ``b.yaml`` and Y ``c.yaml``, and the
other way round, so that no outcome can depend on the order of the files' names. After each
pass the table says which container is in force from which file (its image tells the file
and the version), whether the set is complete (a set that is not removes nothing), and which
files are refused.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import attrs
import pytest
import yaml

from agent.manifest.models import Manifest
from agent.manifest.schema import parse_manifest
from agent.sources.conflicts import settle
from agent.sources.load import DesiredSet
from agent.sources.source_set import SourceSet


def text(*containers: str, port: int | None = None) -> str:
    """A manifest of containers given as ``name=image``; the first publishes ``port``."""
    lines = ["version: v1beta1", "containers:"]
    for index, spec in enumerate(containers):
        name, image = spec.split("=")
        lines += [f"  - name: {name}", f"    image: {image}"]
        if port is not None and index == 0:
            lines.append(f"    ports: [{{containerPort: 80, hostPort: {port}}}]")
    return "\n".join(lines) + "\n"


DELETE = None


@attrs.frozen
class Pass:
    """One pass: the files written (``DELETE`` removes one), then what is in force."""

    write: dict[str, str | None]
    expect: dict[str, str]  # container -> image in force
    refused: tuple[str, ...] = ()  # X or Y
    complete: bool = True


X_DB = text("db=x-db:1")
Y_AUTH_LOG = text("auth=y-auth:1", "log=y-log:1")
X_DB_AUTH = text("db=x-db:2", "auth=x-auth:2")
IN_FORCE = {"db": "x-db:1", "auth": "y-auth:1", "log": "y-log:1"}

STORIES = [
    pytest.param(
        [
            Pass({"X": X_DB, "Y": Y_AUTH_LOG}, IN_FORCE),
            Pass({"X": X_DB_AUTH}, IN_FORCE, refused=("X",)),
            Pass({}, IN_FORCE, refused=("X",)),
            Pass({"X": text("db=x-db:3")}, {**IN_FORCE, "db": "x-db:3"}),
        ],
        id="X edited to claim Y's auth -> X refused and keeps its db, Y keeps auth and log",
    ),
    pytest.param(
        [
            Pass({"X": X_DB, "Y": Y_AUTH_LOG}, IN_FORCE),
            Pass({"X": X_DB_AUTH}, IN_FORCE, refused=("X",)),
            Pass(
                {"Y": text("log=y-log:2")}, {"db": "x-db:2", "auth": "x-auth:2", "log": "y-log:2"}
            ),
        ],
        id="Y gives auth up -> X's refused edit comes into force in the same pass",
    ),
    pytest.param(
        [
            Pass({"X": X_DB, "Y": Y_AUTH_LOG}, IN_FORCE),
            Pass({"X": X_DB_AUTH}, IN_FORCE, refused=("X",)),
            Pass({"X": DELETE, "Y": DELETE}, IN_FORCE, refused=("X",), complete=False),
            Pass({}, {}, complete=False),
        ],
        id="both deleted -> dropped at the second look, the refusal with them",
    ),
    pytest.param(
        [
            Pass({"X": X_DB, "Y": Y_AUTH_LOG}, IN_FORCE),
            Pass({"X": DELETE}, IN_FORCE),
            Pass({}, {"auth": "y-auth:1", "log": "y-log:1"}),
            Pass(
                {"X": X_DB_AUTH},
                {"auth": "y-auth:1", "log": "y-log:1"},
                refused=("X",),
                complete=False,
            ),
        ],
        id="X deleted, then written again claiming auth -> refused, nothing of it loaded",
    ),
    pytest.param(
        [
            Pass({"X": X_DB, "Y": Y_AUTH_LOG}, IN_FORCE),
            Pass({"X": DELETE}, IN_FORCE),
            Pass({"X": X_DB_AUTH}, IN_FORCE, refused=("X",)),
        ],
        id="X saved by rename with a claim on auth -> refused, its old db kept",
    ),
    pytest.param(
        [Pass({"X": X_DB_AUTH, "Y": Y_AUTH_LOG}, {}, refused=("X", "Y"), complete=False)],
        id="both new with auth (a first start) -> both refused, nothing removed",
    ),
    pytest.param(
        [
            Pass({"X": X_DB, "Y": text("log=y-log:1")}, {"db": "x-db:1", "log": "y-log:1"}),
            Pass(
                {"X": text("db=x-db:2", "auth=x-auth:2"), "Y": Y_AUTH_LOG},
                {"db": "x-db:1", "log": "y-log:1"},
                refused=("X", "Y"),
            ),
            Pass({"X": X_DB}, IN_FORCE),
        ],
        id="both changed in one pass to claim auth -> both keep their old content",
    ),
    pytest.param(
        [
            Pass({"Y": Y_AUTH_LOG}, {"auth": "y-auth:1", "log": "y-log:1"}),
            Pass(
                {"X": X_DB_AUTH},
                {"auth": "y-auth:1", "log": "y-log:1"},
                refused=("X",),
                complete=False,
            ),
        ],
        id="a new file claiming a name in force -> the new file refused",
    ),
    pytest.param(
        [
            Pass(
                {"X": X_DB, "Y": text("auth=y-auth:1", port=8080)},
                {"db": "x-db:1", "auth": "y-auth:1"},
            ),
            Pass(
                {"X": text("db=x-db:2", port=8080)},
                {"db": "x-db:1", "auth": "y-auth:1"},
                refused=("X",),
            ),
        ],
        id="X edited to publish Y's host port -> X refused",
    ),
    pytest.param(
        [
            Pass({"X": X_DB, "Y": Y_AUTH_LOG}, IN_FORCE),
            Pass({"X": X_DB_AUTH}, IN_FORCE, refused=("X",)),
            Pass({"X": "version: v2\n"}, IN_FORCE),
            Pass({"X": text("db=x-db:4")}, {**IN_FORCE, "db": "x-db:4"}),
        ],
        id="a refused X turned invalid, then valid -> Y untouched throughout",
    ),
]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()


_stamps = iter(range(1, 10_000))


def _write(path: Path, content: str | None) -> None:
    if content is None:
        path.unlink()
        return
    path.write_text(content)
    stamp = 1_700_000_000_000_000_000 + next(_stamps) * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def _images(desired: DesiredSet) -> dict[str, str]:
    return {c.name: c.image for c in desired.containers}


def _refused(sources: SourceSet, files: dict[str, str]) -> tuple[str, ...]:
    role = {f"conf/{name}": r for r, name in files.items()}
    refused = [role[s.path] for s in sources.status() if s.error and "also defined" in s.error]
    refused += [role[s.path] for s in sources.status() if s.error and "also published" in s.error]
    return tuple(sorted(refused))


@pytest.mark.parametrize(
    "files",
    [{"X": "b.yaml", "Y": "c.yaml"}, {"X": "c.yaml", "Y": "b.yaml"}],
    ids=["X named first", "X named last"],
)
@pytest.mark.parametrize("story", STORIES)
def test_the_change_that_makes_a_conflict_is_refused(
    story: list[Pass], files: dict[str, str]
) -> None:
    sources = SourceSet(["conf"])
    for number, step in enumerate(story, start=1):
        for role, content in step.write.items():
            _write(Path("conf") / files[role], content)
        desired = sources.refresh()
        seen = (_images(desired), _refused(sources, files), desired.complete)
        assert seen == (step.expect, step.refused, step.complete), f"pass {number}"


def test_the_log_names_the_edited_file_and_the_other(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="agent.sources")
    _write(Path("conf/b.yaml"), X_DB)
    _write(Path("conf/c.yaml"), Y_AUTH_LOG)
    sources = SourceSet(["conf"])
    sources.refresh()
    _write(Path("conf/b.yaml"), X_DB_AUTH)
    for _ in range(3):
        sources.refresh()
    counts = {s.path: (s.errors, s.error is not None) for s in sources.status()}
    assert counts == {"conf/b.yaml": (1, True), "conf/c.yaml": (0, False)}, "counted once"
    _write(Path("conf/b.yaml"), text("db=x-db:3"))
    sources.refresh()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "ERROR",
            "conflict with another source (its last valid content stays in force):\n"
            "conf/b.yaml: containers[auth].name: 'auth' is also defined in conf/c.yaml",
        ),
        ("INFO", "conf/b.yaml: no longer in conflict"),
    ]


# --- the rule alone, on parsed manifests ---------------------------------------------------


def manifest(source: str, *containers: str) -> Manifest:
    return parse_manifest(yaml.safe_load(text(*containers)), source)


SETTLE = [
    pytest.param(
        {"a": ["web=web:1"]},
        [{"b": ["web=web:2"]}],
        {"a": ["web"]},
        ["b"],
        id="a newer claim on a name in force -> refused",
    ),
    pytest.param(
        {},
        [{"a": ["web=web:1"], "b": ["web=web:2"], "c": ["api=api:1"]}],
        {"c": ["api"]},
        ["a", "b"],
        id="claims that arrive together -> all refused, the others taken",
    ),
    pytest.param(
        {},
        [{"a": ["web=web:1"]}, {"b": ["web=web:2"]}],
        {"a": ["web"]},
        ["b"],
        id="an older batch first -> the later claim refused",
    ),
    pytest.param(
        {"a": ["web=web:1"], "b": ["api=api:1"]},
        [{"a": ["web=web:1", "api=api:2"], "b": ["web=web:2"]}],
        {"a": ["web"], "b": ["api"]},
        ["a", "b"],
        id="two sources swapping names in one pass -> both keep their old content",
    ),
    pytest.param(
        {"a": ["web=web:1"], "b": ["api=api:1"]},
        [{"c": ["api=api:3"]}, {"b": ["cache=cache:2"]}],
        {"a": ["web"], "b": ["cache"], "c": ["api"]},
        [],
        id="a claim refused, then given up by a later change -> taken in the same call",
    ),
    pytest.param(
        {"a": ["web=web:1"], "b": ["api=api:1"]},
        [{"b": ["api=api:1", "db=db:1"], "c": ["db=db:2", "x=x:1"]}],
        {"a": ["web"], "b": ["api"]},
        ["b", "c"],
        id="a refused change's old content stays, and a third change must agree with it",
    ),
]


@pytest.mark.parametrize(("in_force", "batches", "expect", "refused"), SETTLE)
def test_settle(
    in_force: dict[str, list[str]],
    batches: list[dict[str, list[str]]],
    expect: dict[str, list[str]],
    refused: list[str],
) -> None:
    def parsed(entries: dict[str, list[str]]) -> dict[str, Manifest]:
        return {key: manifest(key, *specs) for key, specs in entries.items()}

    settled = settle(parsed(in_force), [parsed(b) for b in batches])
    in_force_names = {k: [c.name for c in m.containers] for k, m in settled.in_force.items()}
    assert in_force_names == expect
    assert sorted(settled.refused) == refused
