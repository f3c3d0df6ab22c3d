"""``agent convert --from compose``: the manifest on stdout, the notes on stderr, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main
from agent.manifest.models import Manifest
from agent.manifest.parse import parse_document

COMPOSE = """\
services:
  web:
    image: nginx:1.25
    command: nginx -g 'daemon off;'
    ports: ["127.0.0.1:8080:80"]
    environment: ["GREETING=${GREETING:-hello}"]
    depends_on: [db]
  db:
    image: postgres:16
    entrypoint: [docker-entrypoint.sh]
"""


def test_a_compose_file_becomes_a_manifest_and_the_rest_is_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GREETING", raising=False)
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    path = tmp_path / "docker-compose.yml"
    assert main(["convert", "--from", "compose", str(path)]) == 0
    out, err = capsys.readouterr()
    manifest = Manifest.from_dict(parse_document(out.encode(), "out"), "out")
    web, db = manifest.containers
    assert (web.name, web.command, web.env[0].value) == (
        "web", ("nginx", "-g", "daemon off;"), "hello"
    )  # fmt: skip
    assert "note: web: depends_on: not mapped" in err
    assert (db.name, db.entrypoint, db.command) == ("db", ("docker-entrypoint.sh",), ())
    assert "entrypoint" not in err


def test_one_file_only_and_a_broken_one_is_invalid_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "c.yml"
    broken.write_text('services:\n  web:\n    image: x\n    environment: ["A=${NEED:?set it}"]\n')
    assert main(["convert", "--from", "compose", str(broken), str(broken)]) == 2
    assert main(["convert", "--from", "compose", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "exactly one compose file" in err and "NEED" in err


OK_SERVICE = "  ok:\n    image: localhost/busybox:1\n"


@pytest.mark.parametrize(
    ("services", "argv", "code", "last"),
    [
        ("", [], 0, "note: "),
        ("  a:\n    build: .\n", [], 3,
         "agent: {path}: a partial conversion, left out: a (see the notes); exit 3, or 0 "
         "with --allow-partial"),
        ("  a:\n    build: .\n", ["--allow-partial"], 0,
         "agent: {path}: left out (--allow-partial): a"),
        ("  a:\n    image: x\n  b:\n    extends: {service: a}\n", [], 3,
         "agent: {path}: a partial conversion, left out: b (see the notes); exit 3, or 0 "
         "with --allow-partial"),
        ("  dbg:\n    image: x\n    profiles: [debug]\n", [], 3,
         "agent: {path}: a partial conversion, left out: dbg (see the notes); exit 3, or 0 "
         "with --allow-partial"),
        ("  bad:\n    image: 'Not An Image'\n  e:\n    image: x\n    entrypoint: ''\n",
         [], 3,
         "agent: {path}: a partial conversion, left out: bad, e (see the notes); exit 3, or 0 "
         "with --allow-partial"),
    ],
)  # fmt: skip
def test_a_partial_conversion_exits_3_unless_allowed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    services: str,
    argv: list[str],
    code: int,
    last: str,
) -> None:
    """A script can tell a file converted whole (0) from one whose services were left out
    (3, the manifest of the rest printed all the same), and accept it with --allow-partial."""
    path = tmp_path / "docker-compose.yml"
    path.write_text(f"services:\n{OK_SERVICE}{services}x-note: 1\n")
    assert main(["convert", "--from", "compose", *argv, str(path)]) == code
    out, err = capsys.readouterr()
    manifest = Manifest.from_dict(parse_document(out.encode(), "out"), "out")
    assert [c.name for c in manifest.containers] == (["ok", "a"] if "b:" in services else ["ok"])
    assert err.splitlines()[-1].startswith(last.format(path=path))
    if code == 3:
        assert out.splitlines()[1].startswith("# Left out: ")


def test_include_is_said_not_read_and_the_conversion_is_partial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "docker-compose.yml"
    path.write_text(f"include: [db.yml, {{path: [cache.yml, more.yml]}}]\nservices:\n{OK_SERVICE}")
    assert main(["convert", "--from", "compose", str(path)]) == 3
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "note: include: the included files (db.yml, cache.yml, more.yml) not read (the agent "
        "reads no included file), so their services are left out: convert each file on its own",
        f"agent: {path}: a partial conversion, left out: include (see the notes); exit 3, or 0 "
        "with --allow-partial",
    ]
    assert [
        c.name for c in Manifest.from_dict(parse_document(out.encode(), "o"), "o").containers
    ] == ["ok"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("include: [db.yml]\n",
         "{path}: include: the included files (db.yml) not read (the agent reads no included "
         "file): convert each file on its own; this one has no services of its own"),
        ("include:\n  - path: db.yml\nservices: {}\n",
         "{path}: include: the included files (db.yml) not read (the agent reads no included "
         "file): convert each file on its own; this one has no services of its own"),
        ("services:\n  a:\n    build: .\n", "{path}: no service could be converted:"),
    ],
)  # fmt: skip
def test_a_file_with_nothing_converted_exits_2_and_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "docker-compose.yml"
    path.write_text(text)
    for argv in ([], ["--allow-partial"]):
        assert main(["convert", "--from", "compose", *argv, str(path)]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert err.startswith(f"agent: {message.format(path=path)}")
        assert "Traceback" not in err
