"""``agent convert --from compose``: the manifest on stdout, the notes on stderr, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main
from agent.manifest import Manifest
from agent.parse import parse_document

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
    assert main(["convert", "--from", "compose", str(tmp_path / "docker-compose.yml")]) == 0
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
