"""Signed manifests: ssh-keygen signatures over URL and metadata bodies, on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import cli
from agent.errors import SettingsError
from agent.sources.signatures import read_signature_keys, serial_of
from agent.sources.source_set import SourceSet
from agent.sources.urls import UrlOptions
from tests.metadata_server import MetadataServer
from tests.url_server import Route, UrlServer


def manifest(name: str, serial: int) -> bytes:
    return (
        f"# serial: {serial}\nversion: v1beta1\ncontainers:\n"
        f"  - name: {name}\n    image: busybox:latest\n"
    ).encode()


class Key:
    """An ed25519 key pair made by ssh-keygen, signing as an operator would."""

    def __init__(self, directory: Path, name: str) -> None:
        self.private = directory / name
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(self.private)],
            check=True,
            timeout=30,
        )
        self.public = Path(f"{self.private}.pub")

    def sign(self, body: bytes, namespace: str = "container-agent") -> bytes:
        done = subprocess.run(
            ["ssh-keygen", "-q", "-Y", "sign", "-f", str(self.private), "-n", namespace],
            input=body,
            capture_output=True,
            check=True,
            timeout=30,
        )
        return done.stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Key]:
    directory = tmp_path_factory.mktemp("keys")
    return {name: Key(directory, name) for name in ("old", "new", "stranger")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UrlServer]:
    started = UrlServer(tmp_path_factory.mktemp("tls"))
    yield started
    started.close()


def serve(server: UrlServer, body: bytes, signature: bytes | None) -> None:
    server.routes["/m.yaml"] = Route(body)
    if signature is None:
        server.routes.pop("/m.yaml.sig", None)
    else:
        server.routes["/m.yaml.sig"] = Route(signature)


def signed_set(server: UrlServer, *key: Key) -> SourceSet:
    options = UrlOptions(
        ca_file=str(server.ca),
        read_timeout=2.0,
        signature_keys=read_signature_keys([str(k.public) for k in key]),
    )
    return SourceSet([server.url("/m.yaml")], urls=options)


def names(sources: SourceSet) -> list[str]:
    return [c.name for c in sources.refresh().containers]


def refused(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_good_signature_is_accepted(server: UrlServer, keys: dict[str, Key]) -> None:
    body = manifest("web", 1)
    serve(server, body, keys["old"].sign(body))
    sources = signed_set(server, keys["old"])
    assert names(sources) == ["web"]
    assert sources.status()[0].error is None and not sources.status()[0].unsigned
    assert server.requests[-1][0] == "/m.yaml.sig"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "signature missing"),
        ("stranger", "does not verify against any configured key"),
        ("tampered", "does not verify against any configured key"),
        ("namespace", "does not verify against any configured key"),
        ("garbage", "not an SSH signature"),
        ("no serial", "'# serial: N'"),
    ],
)
def test_a_refused_signature_keeps_the_content_in_force(
    server: UrlServer,
    keys: dict[str, Key],
    caplog: pytest.LogCaptureFixture,
    case: str,
    message: str,
) -> None:
    first = manifest("web", 1)
    serve(server, first, keys["old"].sign(first))
    sources = signed_set(server, keys["old"])
    assert names(sources) == ["web"]
    edited = manifest("web2", 2)
    signature = {
        "missing": None,
        "stranger": keys["stranger"].sign(edited),
        "tampered": keys["old"].sign(manifest("web3", 2)),
        "namespace": keys["old"].sign(edited, namespace="file"),
        "garbage": b"not a signature",
        "no serial": keys["old"].sign(b"\n".join(edited.splitlines()[1:])),
    }[case]
    body = b"\n".join(edited.splitlines()[1:]) if case == "no serial" else edited
    serve(server, body, signature)
    caplog.clear()
    for _ in range(3):  # refused again and again, logged once
        desired = sources.refresh()
        assert [c.name for c in desired.containers] == ["web"] and desired.complete
    (status,) = sources.status()
    assert status.error is not None and message in status.error and status.errors >= 3
    assert status.signature_refusals == 1 and status.unsigned
    (logged,) = refused(caplog)
    assert logged.startswith("signature refused (its last valid content stays in force)")
    assert f"{server.url('/m.yaml')}: signature: " in logged and message in logged
    # Signed as it should be, the edit comes into force at the next fetch:
    serve(server, edited, keys["old"].sign(edited))
    assert names(sources) == ["web2"]


def test_a_rotated_key_overlaps_the_old_one(server: UrlServer, keys: dict[str, Key]) -> None:
    first = manifest("web", 1)
    serve(server, first, keys["old"].sign(first))
    sources = signed_set(server, keys["old"], keys["new"])
    assert names(sources) == ["web"]
    rotated = manifest("web2", 2)
    serve(server, rotated, keys["new"].sign(rotated))
    assert names(sources) == ["web2"]
    only_new = signed_set(server, keys["new"])
    serve(server, first, keys["old"].sign(first))
    assert names(only_new) == []  # the old key, once dropped, is refused
    assert "does not verify" in str(only_new.status()[0].error)


def test_a_replayed_older_body_does_not_roll_back(
    server: UrlServer, keys: dict[str, Key], caplog: pytest.LogCaptureFixture
) -> None:
    old, current = manifest("web", 1), manifest("web2", 2)
    serve(server, old, keys["old"].sign(old))
    sources = signed_set(server, keys["old"])
    assert names(sources) == ["web"]
    serve(server, current, keys["old"].sign(current))
    assert names(sources) == ["web2"]
    caplog.clear()
    serve(server, old, keys["old"].sign(old))  # validly signed, but older
    assert names(sources) == ["web2"] and names(sources) == ["web2"]
    (logged,) = refused(caplog)
    assert "serial 1 is not above 2" in logged
    other = manifest("web3", 2)  # another body under the serial in force: refused too
    serve(server, other, keys["old"].sign(other))
    assert names(sources) == ["web2"]
    newer = manifest("web4", 3)
    serve(server, newer, keys["old"].sign(newer))
    assert names(sources) == ["web4"]


def test_the_metadata_source_reads_its_signature_attribute(
    keys: dict[str, Key], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = MetadataServer()
    monkeypatch.setenv("GCE_METADATA_HOST", fake.host)
    try:
        body = manifest("web", 1)
        fake.set("gce-container-declaration", body)
        options = UrlOptions(signature_keys=read_signature_keys([str(keys["old"].public)]))
        sources = SourceSet(["gce-metadata:"], urls=options)
        assert names(sources) == []
        assert "gce-container-declaration-signature is not set" in str(sources.status()[0].error)
        fake.set("gce-container-declaration-signature", keys["old"].sign(body))
        assert names(sources) == ["web"]
        fake.set("gce-container-declaration", manifest("web2", 2))  # the old signature
        assert names(sources) == ["web"]
    finally:
        fake.close()


def test_validate_with_a_signature_key(
    server: UrlServer, keys: dict[str, Key], capsys: pytest.CaptureFixture[str]
) -> None:
    body = manifest("web", 1)
    common = ["--ca-file", str(server.ca), "--signature-key", str(keys["old"].public)]
    serve(server, body, keys["old"].sign(body))
    assert cli.main(["validate", server.url("/m.yaml"), *common]) == 0
    serve(server, body, keys["stranger"].sign(body))
    assert cli.main(["validate", server.url("/m.yaml"), *common]) == cli.EXIT_INVALID
    out = capsys.readouterr()
    assert f"{server.url('/m.yaml')}: signature: does not verify" in out.out + out.err


def test_key_files_and_serials(tmp_path: Path, keys: dict[str, Key]) -> None:
    assert read_signature_keys([str(keys["old"].public)])[0].startswith("ssh-ed25519 AAAA")
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key\n")
    with pytest.raises(SettingsError, match="must hold OpenSSH public keys"):
        read_signature_keys([str(bad)])
    with pytest.raises(SettingsError, match="cannot read"):
        read_signature_keys([str(tmp_path / "none.pub")])
    assert serial_of(b"# serial: 42\nversion: v1beta1\n") == 42
    assert serial_of(b"version: v1beta1\n") is None
    assert serial_of(b"# serial: 1\n# serial: 2\n") is None  # ambiguous


def test_a_restart_remembers_the_serial_in_force(
    server: UrlServer, keys: dict[str, Key], tmp_path: Path
) -> None:
    kept = tmp_path / "state" / "ns.serials.json"
    old, current = manifest("web", 1), manifest("web2", 2)
    serve(server, current, keys["old"].sign(current))
    options = UrlOptions(
        ca_file=str(server.ca), signature_keys=read_signature_keys([str(keys["old"].public)])
    )
    first = SourceSet([server.url("/m.yaml")], urls=options, serials_path=str(kept))
    assert names(first) == ["web2"]
    assert json.loads(kept.read_text()) == {server.url("/m.yaml"): 2}
    restarted = SourceSet([server.url("/m.yaml")], urls=options, serials_path=str(kept))
    serve(server, old, keys["old"].sign(old))  # the replay comes while the agent restarts
    assert names(restarted) == []  # nothing in force, so nothing is removed either
    assert not restarted.refresh().complete
    assert "serial 1 is not above 2" in str(restarted.status()[0].error)
    newer = manifest("web3", 3)
    serve(server, newer, keys["old"].sign(newer))
    assert names(restarted) == ["web3"]
    assert json.loads(kept.read_text()) == {server.url("/m.yaml"): 3}
