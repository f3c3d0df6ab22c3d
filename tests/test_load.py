"""Manifest sources on disk: agent.sources.load (files, directories, globs, stdin, merging) and
agent.sources.source_set.SourceSet (what a running agent keeps in force when files change).

Every test works in its own temporary directory, made the current one, so that
the file names in messages read as ``conf/web.yaml``.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import sys
from pathlib import Path

import pytest

from agent.errors import MultiSourceError
from agent.manifest.models import Manifest
from agent.sources.load import DesiredSet, expand_sources, load_sources
from agent.sources.source_set import SourceSet

_mtimes = itertools.count(1)


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()


def manifest_text(name: str, image: str = "nginx:1.25", host_port: int | None = None) -> str:
    """A valid YAML manifest of one container, publishing ``host_port`` if given."""
    ports = f"\n    ports: [{{containerPort: 80, hostPort: {host_port}}}]" if host_port else ""
    return f"version: v1beta1\ncontainers:\n  - name: {name}\n    image: {image}{ports}\n"


INVALID = "version: v1beta1\ncontainers:\n  - name: web\n"
INVALID_ERROR = "containers[web].image: is required"


def write(path: str, text: str) -> None:
    """Write ``path`` and give it an mtime of its own, as a later edit would have."""
    Path(path).write_text(text)
    stamp = 1_700_000_000_000_000_000 + next(_mtimes) * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def names(desired: DesiredSet) -> list[str]:
    return [container.name for container in desired.containers]


def sources_of(desired: DesiredSet) -> list[str]:
    return [manifest.source for manifest in desired.manifests]


def error_lines(sources: list[str]) -> list[str]:
    with pytest.raises(MultiSourceError) as caught:
        load_sources(sources)
    return str(caught.value).splitlines()


# --- which files a directory gives ---------------------------------------------------------

DIRECTORY_ENTRIES = [
    pytest.param("b.yml", True, id="a .yml file is picked"),
    pytest.param("b.json", True, id="a .json file is picked"),
    pytest.param(".b.yaml", False, id="a dotfile is skipped"),
    pytest.param("b.yaml~", False, id="an editor backup ending in ~ is skipped"),
    pytest.param("b.yaml.swp", False, id="a vim swap file is skipped"),
    pytest.param(".b.yaml.swp", False, id="a hidden vim swap file is skipped"),
    pytest.param("b.yaml.bak", False, id="a .bak file is skipped"),
    pytest.param("b.yaml.tmp", False, id="a .tmp file is skipped"),
    pytest.param("#b.yaml#", False, id="an emacs autosave file is skipped"),
    pytest.param("README.md", False, id="a file of another kind is skipped"),
    pytest.param("b.YAML", False, id="an upper-case suffix is skipped"),
]


@pytest.mark.parametrize(("entry", "picked"), DIRECTORY_ENTRIES)
def test_directory_entry(entry: str, picked: bool) -> None:
    write("conf/a.yaml", manifest_text("web"))
    if entry.endswith(".json"):
        write(f"conf/{entry}", json.dumps({"version": "v1beta1"}))
    else:
        write(f"conf/{entry}", manifest_text("api") if picked else "not: [a manifest\n")
    expected = ["conf/a.yaml", f"conf/{entry}"] if picked else ["conf/a.yaml"]
    assert expand_sources(["conf"]) == expected
    assert sources_of(load_sources(["conf"])) == expected


def test_directory_is_not_read_recursively_and_skips_directories() -> None:
    write("conf/a.yaml", manifest_text("web"))
    os.makedirs("conf/sub.yaml")
    write("conf/sub.yaml/b.yaml", manifest_text("api"))
    assert expand_sources(["conf"]) == ["conf/a.yaml"]


def test_directory_files_come_in_name_order() -> None:
    for name in ("c.yaml", "a.json", "b.yml"):
        write(f"conf/{name}", manifest_text(name[0] + "x"))
    assert expand_sources(["conf/"]) == ["conf/a.json", "conf/b.yml", "conf/c.yaml"]


def test_json_file_is_read_as_json() -> None:
    write("conf/web.json", manifest_text("web"))
    assert error_lines(["conf"]) == [
        "conf/web.json: invalid JSON at line 1 column 1: Expecting value"
    ]


# --- globs ---------------------------------------------------------------------------------

GLOBS = [
    pytest.param("conf/*.yaml", ["conf/a.yaml", "conf/c.yaml"], id="*.yaml picks the yaml files"),
    pytest.param(
        "conf/*", ["conf/a.yaml", "conf/b.json", "conf/c.yaml"], id="* skips the leftovers"
    ),
    pytest.param("conf/[ab].*", ["conf/a.yaml", "conf/b.json"], id="a character class"),
    pytest.param("*/c.yaml", ["conf/c.yaml"], id="a wildcard directory"),
]


@pytest.mark.parametrize(("pattern", "expected"), GLOBS)
def test_glob(pattern: str, expected: list[str]) -> None:
    write("conf/a.yaml", manifest_text("a"))
    write("conf/b.json", json.dumps({"version": "v1beta1"}))
    write("conf/c.yaml", manifest_text("c"))
    write("conf/c.yaml~", "leftover")
    write("conf/c.yaml.swp", "leftover")
    assert expand_sources([pattern]) == expected
    assert sources_of(load_sources([pattern])) == expected


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("conf/*.yml", id="a glob matching nothing"),
        pytest.param("conf/*~", id="a glob matching only editor leftovers"),
        pytest.param("nowhere/*.yaml", id="a glob in a missing directory"),
    ],
)
def test_glob_matching_no_manifest_is_an_error(pattern: str) -> None:
    write("conf/a.yaml", manifest_text("web"))
    write("conf/a.yaml~", "leftover")
    assert error_lines([pattern]) == [f"{pattern}: pattern matches no manifest"]


def test_every_glob_matching_nothing_is_reported() -> None:
    write("conf/a.yaml", manifest_text("web"))
    assert error_lines(["conf/*.yml", "conf", "conf/*.json"]) == [
        "conf/*.yml: pattern matches no manifest",
        "conf/*.json: pattern matches no manifest",
    ]


# --- single files, duplicates and conflicts ------------------------------------------------


def test_missing_file_error_names_the_file() -> None:
    assert error_lines(["conf/missing.yaml"]) == [
        "conf/missing.yaml: cannot read: No such file or directory"
    ]


@pytest.mark.parametrize(
    "sources",
    [
        pytest.param(["conf/web.yaml", "conf/web.yaml"], id="the same file twice"),
        pytest.param(["conf", "conf/web.yaml"], id="a directory and a file in it"),
        pytest.param(["conf/*.yaml", "conf"], id="a glob and a directory"),
    ],
)
def test_a_file_given_twice_counts_once(sources: list[str]) -> None:
    write("conf/web.yaml", manifest_text("web", host_port=8080))
    assert sources_of(load_sources(sources)) == ["conf/web.yaml"]


def test_a_file_given_twice_under_two_spellings_counts_once() -> None:
    write("conf/web.yaml", manifest_text("web", host_port=8080))
    assert sources_of(load_sources(["conf/web.yaml", "./conf/web.yaml"])) == ["conf/web.yaml"]


def test_container_name_in_two_files_names_both() -> None:
    write("conf/a.yaml", manifest_text("web"))
    write("conf/b.yaml", manifest_text("web", image="redis"))
    assert error_lines(["conf"]) == [
        "conf/a.yaml: containers[web].name: 'web' is also defined in conf/b.yaml",
        "conf/b.yaml: containers[web].name: 'web' is also defined in conf/a.yaml",
    ]


def test_host_port_in_two_files_names_both() -> None:
    write("conf/a.yaml", manifest_text("web", host_port=8080))
    write("conf/b.yaml", manifest_text("api", host_port=8080))
    assert error_lines(["conf"]) == [
        "conf/a.yaml: containers[web].ports[0]: host port *:8080/TCP is also published by "
        "container 'api' in conf/b.yaml",
        "conf/b.yaml: containers[api].ports[0]: host port *:8080/TCP is also published by "
        "container 'web' in conf/a.yaml",
    ]


def test_different_host_ports_in_two_files_merge() -> None:
    write("conf/a.yaml", manifest_text("web", host_port=8080))
    write("conf/b.yaml", manifest_text("api", host_port=8081))
    assert names(load_sources(["conf"])) == ["web", "api"]


def test_errors_of_every_bad_file_are_reported_together() -> None:
    write("conf/a.yaml", manifest_text("web", host_port=8080))
    write("conf/b.yaml", "containers: []\n")
    write("conf/c.json", json.dumps({"version": "v1beta1", "contianers": []}))
    write("conf/d.yaml", manifest_text("api", host_port=8080))
    with pytest.raises(MultiSourceError) as caught:
        load_sources(["conf"])
    assert [problem.source for problem in caught.value.problems] == [
        "conf/a.yaml",
        "conf/b.yaml",
        "conf/c.json",
        "conf/d.yaml",
    ]
    assert str(caught.value).splitlines() == [
        "conf/a.yaml: containers[web].ports[0]: host port *:8080/TCP is also published by "
        "container 'api' in conf/d.yaml",
        "conf/b.yaml: version: is required",
        'conf/c.json: contianers: unknown field, did you mean "containers"?',
        "conf/d.yaml: containers[api].ports[0]: host port *:8080/TCP is also published by "
        "container 'web' in conf/a.yaml",
    ]


# --- standard input ------------------------------------------------------------------------


def fake_stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))


def test_stdin_source(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdin(monkeypatch, manifest_text("web", host_port=8080))
    desired = load_sources(["-"])
    assert sources_of(desired) == ["<stdin>"]
    assert names(desired) == ["web"]


def test_stdin_with_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdin(monkeypatch, manifest_text("web", host_port=8080))
    write("conf/api.yaml", manifest_text("api", host_port=8080))
    assert error_lines(["-", "conf/api.yaml"]) == [
        "<stdin>: containers[web].ports[0]: host port *:8080/TCP is also published by "
        "container 'api' in conf/api.yaml",
        "conf/api.yaml: containers[api].ports[0]: host port *:8080/TCP is also published by "
        "container 'web' in <stdin>",
    ]


def test_invalid_stdin_is_named_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdin(monkeypatch, INVALID)
    assert error_lines(["-"]) == [f"<stdin>: {INVALID_ERROR}"]


# --- SourceSet: last-known-good ------------------------------------------------------------


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="agent.sources")
    return caplog


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


def images(desired: DesiredSet) -> list[str]:
    return [container.image for container in desired.containers]


def test_a_file_that_turns_invalid_keeps_its_last_content_and_logs_once(
    logs: pytest.LogCaptureFixture,
) -> None:
    write("conf/web.yaml", manifest_text("web"))
    sources = SourceSet(["conf"])
    assert images(sources.refresh()) == ["nginx:1.25"]
    write("conf/web.yaml", INVALID)
    logs.clear()
    for force in (False, False, True, False):
        desired = sources.refresh(force=force)
        assert images(desired) == ["nginx:1.25"]
        assert desired.complete
    assert records(logs, logging.ERROR) == [
        f"invalid manifest (its last valid content stays in force):\nconf/web.yaml: {INVALID_ERROR}"
    ]


def test_a_new_error_in_an_invalid_file_is_logged_again(logs: pytest.LogCaptureFixture) -> None:
    write("conf/web.yaml", manifest_text("web"))
    sources = SourceSet(["conf"])
    sources.refresh()
    write("conf/web.yaml", INVALID)
    sources.refresh()
    write("conf/web.yaml", "version: v2\n")
    sources.refresh()
    assert records(logs, logging.ERROR) == [
        "invalid manifest (its last valid content stays in force):\n"
        f"conf/web.yaml: {INVALID_ERROR}",
        "invalid manifest (its last valid content stays in force):\n"
        "conf/web.yaml: version: unsupported 'v2', supported: v1beta1",
    ]


def test_a_file_that_becomes_valid_again_is_used(logs: pytest.LogCaptureFixture) -> None:
    write("conf/web.yaml", manifest_text("web"))
    sources = SourceSet(["conf"])
    sources.refresh()
    write("conf/web.yaml", INVALID)
    sources.refresh()
    write("conf/web.yaml", manifest_text("web", image="nginx:1.27"))
    desired = sources.refresh()
    assert images(desired) == ["nginx:1.27"]
    assert desired.complete
    assert records(logs, logging.INFO) == ["conf/web.yaml: valid again"]


def test_an_unchanged_file_is_not_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    write("conf/web.yaml", manifest_text("web"))
    sources = SourceSet(["conf"])
    sources.refresh()
    reads: list[str] = []

    def counting_load_file(path: str) -> Manifest:
        reads.append(path)
        raise AssertionError(f"{path} read again")

    monkeypatch.setattr("agent.sources.source_set.load_file", counting_load_file)
    assert images(sources.refresh()) == ["nginx:1.25"]
    assert reads == []


def test_a_deleted_file_drops_its_containers(logs: pytest.LogCaptureFixture) -> None:
    write("conf/web.yaml", manifest_text("web"))
    write("conf/api.yaml", manifest_text("api"))
    sources = SourceSet(["conf"])
    assert names(sources.refresh()) == ["api", "web"]
    os.remove("conf/web.yaml")
    assert names(sources.refresh()) == ["api", "web"], "kept at the first look: a save by rename"
    assert records(logs, logging.WARNING) == []
    desired = sources.refresh()
    assert names(desired) == ["api"]
    assert desired.complete
    assert records(logs, logging.WARNING) == [
        "conf/web.yaml: file is gone; its containers will be removed"
    ]


def test_a_deleted_named_file_drops_its_containers() -> None:
    write("conf/web.yaml", manifest_text("web"))
    write("conf/api.yaml", manifest_text("api"))
    sources = SourceSet(["conf/web.yaml", "conf/api.yaml"])
    assert names(sources.refresh()) == ["web", "api"]
    os.remove("conf/web.yaml")
    sources.refresh()
    desired = sources.refresh()
    assert names(desired) == ["api"]
    assert desired.complete


def test_a_file_saved_by_rename_keeps_its_containers() -> None:
    write("conf/web.yaml", manifest_text("web"))
    sources = SourceSet(["conf/web.yaml"])
    assert names(sources.refresh()) == ["web"]
    os.rename("conf/web.yaml", "conf/web.yaml~")
    assert names(sources.refresh()) == ["web"]
    write("conf/web.yaml", manifest_text("web", image="redis"))
    assert images(sources.refresh()) == ["redis"]
    assert names(sources.refresh()) == ["web"]


def test_a_file_that_never_loaded_makes_the_set_incomplete(
    logs: pytest.LogCaptureFixture,
) -> None:
    write("conf/api.yaml", manifest_text("api"))
    write("conf/web.yaml", INVALID)
    sources = SourceSet(["conf"])
    desired = sources.refresh()
    assert names(desired) == ["api"]
    assert not desired.complete
    assert records(logs, logging.ERROR) == [
        f"invalid manifest (nothing loaded):\nconf/web.yaml: {INVALID_ERROR}"
    ]
    write("conf/web.yaml", manifest_text("web"))
    desired = sources.refresh()
    assert names(desired) == ["api", "web"]
    assert desired.complete


def test_a_conflict_that_comes_back_is_logged_again(logs: pytest.LogCaptureFixture) -> None:
    write("conf/a.yaml", manifest_text("web"))
    sources = SourceSet(["conf"])
    sources.refresh()
    write("conf/b.yaml", manifest_text("web", image="redis"))
    sources.refresh()
    sources.refresh()
    write("conf/b.yaml", manifest_text("cache", image="redis"))
    sources.refresh()
    write("conf/b.yaml", manifest_text("web", image="redis"))
    sources.refresh()
    conflict = "conf/b.yaml: containers[web].name: 'web' is also defined in conf/a.yaml"
    assert records(logs, logging.ERROR) == [
        f"conflict with another source (nothing loaded):\n{conflict}",
        f"conflict with another source (its last valid content stays in force):\n{conflict}",
    ]
    assert records(logs, logging.INFO) == ["conf/b.yaml: no longer in conflict"]


def test_stdin_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdin(monkeypatch, manifest_text("web"))
    sources = SourceSet(["-"])
    assert names(sources.refresh()) == ["web"]
    desired = sources.refresh(force=True)
    assert names(desired) == ["web"]
    assert desired.complete


def test_a_directory_without_manifests_is_an_error_not_an_empty_set() -> None:
    os.makedirs("empty", exist_ok=True)
    write("empty/notes.txt", "not a manifest")
    assert error_lines(["empty"]) == ["empty: directory holds no manifest"]


def test_a_directory_that_empties_blocks_removals() -> None:
    write("conf/web.yaml", manifest_text("web"))
    sources = SourceSet(["conf"])
    desired = sources.refresh()
    assert names(desired) == ["web"]
    assert desired.complete
    os.remove("conf/web.yaml")
    sources.refresh()
    desired = sources.refresh()
    assert not desired.complete
