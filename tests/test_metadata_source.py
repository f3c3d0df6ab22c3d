"""The GCE metadata server as a source, against a fake metadata server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from agent import cli
from agent.errors import ManifestError
from agent.sources.load import load_file
from agent.sources.metadata import attribute_of, metadata_host
from agent.sources.metadata_source import MetadataSource
from agent.sources.source_set import METADATA_BACKOFF, SourceSet
from agent.sources.urls import UrlFetchError, UrlOptions
from agent.sources.watch import _interests
from tests.metadata_server import MetadataServer

ATTRIBUTE = "gce-container-declaration"
MANIFEST = b"""\
version: v1beta1
containers:
  - name: web
    image: busybox:latest
"""
EDITED = MANIFEST.replace(b"web", b"web2")
INVALID = b"version: v1beta1\ncontainers:\n  - name: web\n    image: 'no spaces allowed'\n"


@pytest.fixture
def metadata(monkeypatch: pytest.MonkeyPatch) -> Iterator[MetadataServer]:
    started = MetadataServer()
    monkeypatch.setenv("GCE_METADATA_HOST", started.host)
    yield started
    started.close()


def names(sources: SourceSet) -> list[str]:
    return [c.name for c in sources.refresh().containers]


def wait_for(sources: SourceSet, wanted: list[str], seconds: float) -> float:
    """Refresh until the containers are ``wanted``; how long that took."""
    began = time.monotonic()
    while names(sources) != wanted:
        assert time.monotonic() - began < seconds, f"still {names(sources)}"
        time.sleep(0.02)
    return time.monotonic() - began


def test_source_names_and_the_server_address() -> None:
    assert attribute_of("gce-metadata:") == ATTRIBUTE
    assert attribute_of("gce-metadata:my-manifest") == "my-manifest"
    with pytest.raises(ManifestError, match="attribute name"):
        attribute_of("gce-metadata:../token")
    assert metadata_host({}) == "metadata.google.internal"
    assert metadata_host({"GCE_METADATA_ROOT": "10.0.0.1"}) == "10.0.0.1"
    assert metadata_host({"GCE_METADATA_HOST": "127.0.0.1:8080"}) == "127.0.0.1:8080"
    with pytest.raises(ManifestError, match="GCE_METADATA_HOST"):
        metadata_host({"GCE_METADATA_HOST": "http://evil/x"})
    assert _interests("gce-metadata:") == []  # polled, not a file to watch in the cwd


def test_the_header_is_sent_and_required(metadata: MetadataServer) -> None:
    metadata.set(ATTRIBUTE, MANIFEST)
    source = MetadataSource("gce-metadata:", UrlOptions())
    assert source.fetch() == MANIFEST
    path, headers = metadata.requests[-1]
    assert path == f"/computeMetadata/v1/instance/attributes/{ATTRIBUTE}"
    assert headers.get("Metadata-Flavor") == "Google"
    # The fake answers 403 without the header, as GCE does:
    with pytest.raises(urllib.error.HTTPError, match="403"):
        urllib.request.urlopen(f"http://{metadata.host}{path}", timeout=5)


def test_plain_http_needs_no_allow_http_for_metadata_only(metadata: MetadataServer) -> None:
    metadata.set(ATTRIBUTE, MANIFEST)
    options = UrlOptions(allow_http=False)
    assert MetadataSource("gce-metadata:", options).fetch() == MANIFEST
    with pytest.raises(ManifestError, match="--allow-http"):
        load_file(f"http://{metadata.host}/x", options)
    sources = SourceSet([f"http://{metadata.host}/x"], urls=options)
    sources.refresh()
    (status,) = sources.status()
    assert status.error is not None and "--allow-http" in status.error


def test_missing_attribute_is_a_clear_fetch_error(metadata: MetadataServer) -> None:
    with pytest.raises(UrlFetchError, match="instance attribute nope is not set"):
        MetadataSource("gce-metadata:nope", UrlOptions()).fetch()


def test_long_poll_sees_an_edit_within_a_second(metadata: MetadataServer) -> None:
    metadata.set(ATTRIBUTE, MANIFEST)
    sources = SourceSet(["gce-metadata:"], urls=UrlOptions(read_timeout=2.0))
    woken = threading.Event()
    sources.start(woken.set)
    try:
        wait_for(sources, ["web"], 5)
        time.sleep(1.5)  # the poller is now holding a wait_for_change request
        held = [p for p, _ in metadata.requests if "wait_for_change=true" in p]
        assert held and "last_etag=" in held[-1] and "timeout_sec=60" in held[-1]
        before = len(metadata.requests)
        metadata.set(ATTRIBUTE, EDITED)
        assert wait_for(sources, ["web2"], 1.5) < 1.5
        time.sleep(1.5)
        # No polling load: one answer for the edit and one new held request, not a stream.
        assert len(metadata.requests) - before <= 2
    finally:
        sources.close()


def test_timeout_answer_is_unchanged(metadata: MetadataServer) -> None:
    metadata.set(ATTRIBUTE, MANIFEST)
    source = MetadataSource("gce-metadata:", UrlOptions(), long_poll=True, timeout_sec=1)
    assert source.fetch() == MANIFEST
    began = time.monotonic()
    assert source.fetch() is None  # held for timeout_sec, answered with the same ETag
    assert 0.9 < time.monotonic() - began < 5


def test_read_timeout_exceeds_the_long_poll(metadata: MetadataServer) -> None:
    """A server that holds the request for all of timeout_sec is not taken for a hang."""
    metadata.set(ATTRIBUTE, MANIFEST)
    options = UrlOptions(read_timeout=1.0)
    source = MetadataSource("gce-metadata:", options, long_poll=True, timeout_sec=2)
    source.fetch()
    assert source.fetch() is None  # 2 s held, more than the read timeout of 1 s


@pytest.mark.parametrize("failure", ["5xx", "hang", "invalid", "refused"])
def test_failures_keep_the_last_content(
    metadata: MetadataServer, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    metadata.set(ATTRIBUTE, MANIFEST)
    sources = SourceSet(["gce-metadata:"], urls=UrlOptions(read_timeout=0.3))
    assert names(sources) == ["web"]
    if failure == "5xx":
        metadata.status = 503
    elif failure == "hang":
        metadata.hang = 1.0
    elif failure == "invalid":
        metadata.set(ATTRIBUTE, INVALID)
    else:
        metadata.close()
    for _ in range(2):
        desired = sources.refresh()
        assert [c.name for c in desired.containers] == ["web"] and desired.complete
    (status,) = sources.status()
    assert status.path == "gce-metadata:" and status.error and status.errors >= 1
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(logged) == 1 and "last valid content stays in force" in logged[0]
    expected = {"5xx": "HTTP 503", "hang": "read timed out", "invalid": "image"}
    assert expected.get(failure, "cannot connect") in logged[0]


def test_failing_metadata_server_backs_off(metadata: MetadataServer) -> None:
    assert [METADATA_BACKOFF.delay(n) for n in (1, 2, 3, 9, 20)] == [1, 2, 4, 256, 300]
    metadata.status = 500
    sources = SourceSet(["gce-metadata:"], urls=UrlOptions(read_timeout=1.0))
    sources.start(lambda: None)
    try:
        sources.refresh()
        time.sleep(3.5)  # tries at about 0 s, 1 s and 3 s (each wait jittered by 10%)
        assert names(sources) == []
    finally:
        sources.close()
    assert 2 <= len(metadata.requests) <= 4
    assert "HTTP 500" in str(sources.status()[0].error)


def test_validate_and_plan_fetch_once(
    metadata: MetadataServer, capsys: pytest.CaptureFixture[str]
) -> None:
    metadata.set("m", MANIFEST)
    code = cli.main(["validate", "gce-metadata:m"])
    assert (code, capsys.readouterr().out.strip()) == (0, "OK: 1 container(s) in 1 manifest(s).")
    assert len(metadata.requests) == 1 and "wait_for_change" not in metadata.requests[0][0]
    metadata.set("m", INVALID)
    code = cli.main(["validate", "gce-metadata:m"])
    out = capsys.readouterr()
    assert code == cli.EXIT_INVALID
    assert (out.out + out.err).startswith("gce-metadata:m: containers[web].image: ")
