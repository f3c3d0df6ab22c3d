"""URL sources against a real HTTPS server on 127.0.0.1 (self-signed CA from openssl)."""

from __future__ import annotations

import logging
import random
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

import agent.sources.load
from agent import cli
from agent.errors import ManifestError
from agent.manifest.parse import MAX_BYTES
from agent.sources.source_set import SourceSet
from agent.sources.url_poller import UrlPoller
from agent.sources.url_source import UrlSource
from agent.sources.urls import UrlFetchError, UrlOptions, is_url
from tests.url_server import Route, UrlServer

TOKEN = "s3cr3t-t0ken-value"
MANIFEST = b"""\
version: v1beta1
containers:
  - name: web
    image: busybox:latest
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UrlServer]:
    started = UrlServer(tmp_path_factory.mktemp("tls"))
    yield started
    started.close()


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UrlServer]:
    """A second server: the same host, another port, so another origin."""
    started = UrlServer(tmp_path_factory.mktemp("tls2"))
    yield started
    started.close()


@pytest.fixture(autouse=True)
def _fresh(server: UrlServer) -> None:
    server.routes.clear()
    server.requests.clear()


def options(server: UrlServer, **changes: Any) -> UrlOptions:
    return UrlOptions(**{"ca_file": str(server.ca), "read_timeout": 2.0, **changes})


def test_is_url() -> None:
    assert is_url("https://h/m.yaml") and is_url("HTTP://h/m.yaml")
    assert not is_url("m.yaml") and not is_url("./https:/x") and not is_url("-")


def test_etag_then_304_costs_no_body(server: UrlServer) -> None:
    server.routes["/m.yaml"] = Route(MANIFEST, etag='"v1"')
    source = UrlSource(server.url("/m.yaml"), options(server))
    assert source.fetch() == MANIFEST
    assert source.fetch() is None
    assert source.not_modified == 1
    assert server.requests[1][1].get("If-None-Match") == '"v1"'
    server.routes["/m.yaml"] = Route(MANIFEST + b"# edited\n", etag='"v2"')
    assert source.fetch() == MANIFEST + b"# edited\n"


def test_last_modified_is_sent_back(server: UrlServer) -> None:
    stamp = "Wed, 21 Oct 2015 07:28:00 GMT"
    server.routes["/m.yaml"] = Route(MANIFEST, headers={"Last-Modified": stamp})
    source = UrlSource(server.url("/m.yaml"), options(server))
    source.fetch()
    source.fetch()
    assert server.requests[1][1].get("If-Modified-Since") == stamp


def test_server_error_is_a_fetch_error(server: UrlServer) -> None:
    server.routes["/m.yaml"] = Route(b"boom", 500)
    with pytest.raises(UrlFetchError, match=r"https://127\.0\.0\.1:\d+/m\.yaml: HTTP 500"):
        UrlSource(server.url("/m.yaml"), options(server)).fetch()


def test_slow_response_times_out(server: UrlServer) -> None:
    server.routes["/slow.yaml"] = Route(MANIFEST, delay=3.0)
    began = time.monotonic()
    with pytest.raises(UrlFetchError, match=r"read timed out after 0\.5s"):
        UrlSource(server.url("/slow.yaml"), options(server, read_timeout=0.5)).fetch()
    assert time.monotonic() - began < 2.5


def test_trickling_body_is_bounded_by_the_read_timeout(server: UrlServer) -> None:
    def trickle(handler: Any) -> None:
        for _ in range(20):
            handler.wfile.write(b"# x\n")
            handler.wfile.flush()
            time.sleep(0.2)

    server.routes["/trickle.yaml"] = Route(stream=trickle)
    began = time.monotonic()
    with pytest.raises(UrlFetchError, match=r"body not read within 1s"):
        UrlSource(server.url("/trickle.yaml"), options(server, read_timeout=1.0)).fetch()
    assert time.monotonic() - began < 3.0


def test_body_over_the_cap_stops_reading(server: UrlServer) -> None:
    sent = [0]

    def endless(handler: Any) -> None:  # no Content-Length: only the stream shows the size
        chunk = b"#" * 65535 + b"\n"
        while sent[0] < 4 * MAX_BYTES:
            handler.wfile.write(chunk)
            sent[0] += len(chunk)

    server.routes["/big.yaml"] = Route(stream=endless)
    source = UrlSource(server.url("/big.yaml"), options(server))
    with pytest.raises(ManifestError, match=r"/big\.yaml: body is larger than 10 MB"):
        source.fetch()
    assert sent[0] < 2 * MAX_BYTES  # the agent stopped reading; the server could send no more


def test_content_length_over_the_cap_is_refused_unread(server: UrlServer) -> None:
    def announced(handler: Any) -> None:
        handler.wfile.write(b"#" * 1024)

    server.routes["/big.yaml"] = Route(
        stream=announced, headers={"Content-Length": str(MAX_BYTES + 1)}
    )
    with pytest.raises(ManifestError, match=rf"larger than 10 MB \({MAX_BYTES + 1} bytes\)"):
        UrlSource(server.url("/big.yaml"), options(server)).fetch()


def test_same_host_redirect_is_followed(server: UrlServer) -> None:
    server.routes["/old.yaml"] = Route(status=301, headers={"Location": "/new.yaml"})
    server.routes["/new.yaml"] = Route(MANIFEST)
    source = UrlSource(server.url("/old.yaml"), options(server, token=TOKEN))
    assert source.fetch() == MANIFEST
    assert server.requests[1][1].get("Authorization") == f"Bearer {TOKEN}"


def test_redirect_to_another_host_is_refused(server: UrlServer) -> None:
    target = server.url("/m.yaml", host="localhost")
    server.routes["/away.yaml"] = Route(status=302, headers={"Location": target})
    with pytest.raises(UrlFetchError, match=r"/away\.yaml: redirect to another host \(localhost\)"):
        UrlSource(server.url("/away.yaml"), options(server)).fetch()
    assert len(server.requests) == 1


def test_redirect_to_an_allowed_host_gets_no_token(
    server: UrlServer, other: UrlServer, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(server.ca.read_bytes() + other.ca.read_bytes())
    other.routes["/m.yaml"] = Route(MANIFEST)
    server.routes["/away.yaml"] = Route(status=307, headers={"Location": other.url("/m.yaml")})
    refused = UrlSource(server.url("/away.yaml"), options(server, ca_file=str(bundle)))
    with pytest.raises(UrlFetchError, match=r"another host \(127\.0\.0\.1\)"):
        refused.fetch()
    allowed = options(server, ca_file=str(bundle), allow_redirect_hosts=("127.0.0.1",), token=TOKEN)
    assert UrlSource(server.url("/away.yaml"), allowed).fetch() == MANIFEST
    assert server.requests[-1][1].get("Authorization") == f"Bearer {TOKEN}"
    assert "Authorization" not in other.requests[-1][1]


def test_redirect_to_http_is_refused(server: UrlServer) -> None:
    server.routes["/down.yaml"] = Route(
        status=302, headers={"Location": f"http://127.0.0.1:{server.port}/m.yaml"}
    )
    with pytest.raises(UrlFetchError, match="refused: not https"):
        UrlSource(server.url("/down.yaml"), options(server, allow_http=True)).fetch()


def test_redirect_loop_is_bounded(server: UrlServer) -> None:
    server.routes["/loop.yaml"] = Route(status=302, headers={"Location": "/loop.yaml"})
    with pytest.raises(UrlFetchError, match="more than 5 redirects"):
        UrlSource(server.url("/loop.yaml"), options(server)).fetch()
    assert len(server.requests) == 6


def test_certificate_needs_the_ca_file(server: UrlServer) -> None:
    server.routes["/m.yaml"] = Route(MANIFEST)
    with pytest.raises(UrlFetchError, match=r"TLS: .*CERTIFICATE_VERIFY_FAILED"):
        UrlSource(server.url("/m.yaml"), UrlOptions()).fetch()
    assert UrlSource(server.url("/m.yaml"), options(server)).fetch() == MANIFEST


def test_a_ca_without_key_usage_is_named_with_what_python_313_requires(tmp_path: Path) -> None:
    """Python 3.13 verifies strictly by default (VERIFY_X509_STRICT); the same verification
    on an older Python, given by the pool, fails the same way."""
    server = UrlServer(tmp_path, ca_key_usage=False)
    try:
        server.routes["/m.yaml"] = Route(MANIFEST)
        context = urllib3.util.create_urllib3_context()
        context.verify_flags |= ssl.VERIFY_X509_STRICT
        context.load_verify_locations(server.ca)
        strict = urllib3.PoolManager(ssl_context=context, cert_reqs="CERT_REQUIRED")
        with pytest.raises(UrlFetchError) as refused:
            UrlSource(server.url("/m.yaml"), options(server), strict).fetch()
    finally:
        server.close()
    said = str(refused.value)
    assert f"the CA in --ca-file {server.ca}" in said
    assert "no keyUsage extension, which Python 3.13 and later require" in said
    assert "keyUsage = critical, keyCertSign, cRLSign" in said


def test_the_agent_on_python_313_refuses_a_ca_without_key_usage_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = UrlServer(tmp_path, ca_key_usage=False)
    try:
        server.routes["/m.yaml"] = Route(MANIFEST)
        code, out = run_agent(
            ["validate", "--ca-file", str(server.ca), server.url("/m.yaml")], capsys
        )
    finally:
        server.close()
    if sys.version_info >= (3, 13):
        assert code == cli.EXIT_FAILURE
        assert "no keyUsage extension, which Python 3.13 and later require of a CA" in out
        assert f"the CA in --ca-file {server.ca}" in out
    else:  # verification is not strict by default before 3.13
        assert code == cli.EXIT_OK, out


def test_plain_http_needs_the_option() -> None:
    with pytest.raises(ManifestError, match="pass --allow-http"):
        UrlSource("http://127.0.0.1:1/m.yaml", UrlOptions())
    UrlSource("http://127.0.0.1:1/m.yaml", UrlOptions(allow_http=True))


def test_unreachable_server_is_a_stable_error() -> None:
    source = UrlSource("https://127.0.0.1:1/m.yaml", UrlOptions(connect_timeout=1.0))
    messages = set()
    for _ in range(2):
        with pytest.raises(UrlFetchError) as caught:
            source.fetch()
        messages.add(str(caught.value))
    assert messages == {"https://127.0.0.1:1/m.yaml: cannot connect: Connection refused"}


def test_token_is_sent_and_never_logged(
    server: UrlServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.routes["/m.yaml"] = Route(MANIFEST)
    server.routes["/bad.yaml"] = Route(b"no", 403)
    source = UrlSource(server.url("/m.yaml"), options(server, token=TOKEN))
    source.fetch()
    assert server.requests[-1][1]["Authorization"] == f"Bearer {TOKEN}"
    with pytest.raises(UrlFetchError) as caught:
        UrlSource(server.url("/bad.yaml"), options(server, token=TOKEN)).fetch()
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(options(server, token=TOKEN))
    assert TOKEN not in caplog.text


# --- SourceSet: last-known-good, logged once, never a removal ------------------------------

INVALID = MANIFEST.replace(b"busybox:latest", b'"Not An Image!"')


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_source_set_keeps_the_last_valid_content(
    server: UrlServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.url("/m.yaml")
    server.routes["/m.yaml"] = Route(MANIFEST, etag='"v1"')
    sources = SourceSet([url], urls=options(server, read_timeout=0.5))
    assert [c.name for c in sources.refresh().containers] == ["web"]
    for body, route, error in [
        ("500", Route(b"boom", 500), "HTTP 500"),
        ("invalid", Route(INVALID, etag='"v2"'), "containers[web].image"),
        ("slow", Route(MANIFEST, delay=2.0), "read timed out"),
    ]:
        caplog.clear()
        server.routes["/m.yaml"] = route
        for _ in range(3):
            desired = sources.refresh()
            assert desired.complete, body
            assert [c.name for c in desired.containers] == ["web"], body
        logged = errors_logged(caplog)
        assert len(logged) == 1 and error in logged[0], (body, logged)
        assert "its last valid content stays in force" in logged[0]
        assert f"{url}: " in logged[0]
    (status,) = sources.status()
    assert status.path == url and status.loaded is not None
    assert status.error is not None and "read timed out" in status.error
    assert status.errors == 7  # 3 x 500, 1 invalid body (then 304s), 3 timeouts
    server.routes["/m.yaml"] = Route(MANIFEST, etag='"v1"')
    assert sources.refresh().complete
    assert sources.status()[0].error is None


def test_a_url_never_loaded_blocks_removals(server: UrlServer, tmp_path: Path) -> None:
    server.routes["/m.yaml"] = Route(b"boom", 503)
    other = tmp_path / "other.yaml"
    other.write_bytes(MANIFEST.replace(b"web", b"db"))
    sources = SourceSet([str(other), server.url("/m.yaml")], urls=options(server))
    desired = sources.refresh()
    assert not desired.complete
    assert [c.name for c in desired.containers] == ["db"]


def test_a_url_edited_to_claim_a_files_name_is_refused(
    server: UrlServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The URL's change made the conflict: the URL is refused and keeps its content in force,
    the file keeps its own; the same rule as between two files (tests/test_conflicts.py)."""
    url = server.url("/m.yaml")
    server.routes["/m.yaml"] = Route(MANIFEST.replace(b"web", b"api"), etag='"v1"')
    file = tmp_path / "web.yaml"
    file.write_bytes(MANIFEST.replace(b"busybox", b"web-image"))
    sources = SourceSet([url, str(file)], urls=options(server))
    assert {c.name: c.image for c in sources.refresh().containers}["web"].startswith("web-image")
    server.routes["/m.yaml"] = Route(MANIFEST, etag='"v2"')
    for _ in range(2):
        desired = sources.refresh()
        assert desired.complete
        assert sorted(c.name for c in desired.containers) == ["api", "web"]
        assert {c.name: c.image for c in desired.containers}["web"].startswith("web-image")
    (logged,) = errors_logged(caplog)
    assert f"{url}: containers[web].name: 'web' is also defined in {file}" in logged
    by_path = {status.path: status.error for status in sources.status()}
    assert by_path[str(file)] is None
    assert "also defined" in str(by_path[url])


def test_a_304_is_not_parsed_again(server: UrlServer, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real = agent.sources.load.manifest_of

    def counting(raw: bytes, source: str, json_only: bool = False) -> Any:
        parsed.append(source)
        return real(raw, source, json_only)

    monkeypatch.setattr("agent.sources.source_set.manifest_of", counting)
    server.routes["/m.yaml"] = Route(MANIFEST, etag='"v1"')
    sources = SourceSet([server.url("/m.yaml")], urls=options(server))
    for _ in range(3):
        sources.refresh()
    assert len(parsed) == 1
    assert [r[1].get("If-None-Match") for r in server.requests] == [None, '"v1"', '"v1"']
    sources.refresh(force=True)  # SIGHUP: fetched unconditionally and parsed, as a file is
    assert server.requests[-1][1].get("If-None-Match") is None and len(parsed) == 2


def test_polled_sources_never_wait_for_the_server(server: UrlServer) -> None:
    server.routes["/m.yaml"] = Route(MANIFEST, etag='"v1"')
    sources = SourceSet([server.url("/m.yaml")], urls=options(server), url_interval=0.2)
    woken = threading.Event()
    sources.start(woken.set)
    try:
        sources.refresh()  # makes the poller; its first fetch is on its own thread
        assert woken.wait(5)
        assert [c.name for c in sources.refresh().containers] == ["web"]
        server.routes["/m.yaml"] = Route(MANIFEST, delay=1.5)
        time.sleep(0.4)  # a fetch is now hanging on the slow server
        began = time.monotonic()
        assert [c.name for c in sources.refresh().containers] == ["web"]
        assert time.monotonic() - began < 0.2
        woken.clear()
        edited = MANIFEST.replace(b"web", b"web2")
        server.routes["/m.yaml"] = Route(edited, etag='"v2"')
        assert woken.wait(5)
        deadline = time.monotonic() + 5
        while sources.refresh().containers[0].name != "web2":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        sources.close()
    assert len(server.requests) < 60  # polling is bounded by the interval


def test_failing_url_backs_off() -> None:
    poller = UrlPoller(UrlSource("https://127.0.0.1:1/m.yaml", UrlOptions()), 30.0)
    assert [poller.backoff.delay(n) for n in (1, 2, 3, 5, 9)] == [30, 60, 120, 300, 300]


# --- the command line: fetch once, exit codes, the token never shown -----------------------


def run_agent(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_validate_a_url(server: UrlServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.routes["/m.yaml"] = Route(MANIFEST)
    server.routes["/bad.yaml"] = Route(INVALID)
    server.routes["/down.yaml"] = Route(b"boom", 500)
    ca = ["--ca-file", str(server.ca)]
    code, out = run_agent(["validate", server.url("/m.yaml"), *ca], capsys)
    assert (code, out.strip()) == (0, "OK: 1 container(s) in 1 manifest(s).")
    code, out = run_agent(["validate", server.url("/bad.yaml"), *ca], capsys)
    assert code == cli.EXIT_INVALID
    assert out.startswith(f"{server.url('/bad.yaml')}: containers[web].image: ")
    code, out = run_agent(["validate", server.url("/down.yaml"), *ca], capsys)
    assert (code, out.strip()) == (
        1,
        f"agent: {server.url('/down.yaml')}: HTTP 500 Internal Server Error",
    )
    code, out = run_agent(["validate", server.url("/m.yaml")], capsys)
    assert code == cli.EXIT_FAILURE and "CERTIFICATE_VERIFY_FAILED" in out


def test_plain_http_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_agent(["validate", "http://127.0.0.1:1/m.yaml"], capsys)
    assert code == cli.EXIT_INVALID and "--allow-http" in out


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_token_is_never_shown(
    server: UrlServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], log_format: str
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    server.routes["/m.yaml"] = Route(MANIFEST)
    server.routes["/no.yaml"] = Route(b"denied", 401)
    common = ["--ca-file", str(server.ca), "--url-token-file", str(token_file), "-vv"]
    common += ["--log-format", log_format]
    code, out = run_agent(["validate", server.url("/m.yaml"), *common], capsys)
    assert code == 0 and server.requests[-1][1]["Authorization"] == f"Bearer {TOKEN}"
    code, out = run_agent(["validate", server.url("/no.yaml"), *common], capsys)
    assert code == cli.EXIT_FAILURE and "HTTP 401" in out and TOKEN not in out
    token_file.write_text("two words\n")
    code, out = run_agent(["validate", server.url("/m.yaml"), *common], capsys)
    assert code == cli.EXIT_INVALID and "--url-token-file" in out and "two" not in out


def test_polling_is_jittered_so_hosts_spread_out() -> None:
    """A thousand hosts with the same interval: their waits spread over [27 s, 33 s]."""
    source = UrlSource("https://127.0.0.1:1/m.yaml", UrlOptions())
    waits = [UrlPoller(source, 30.0, rng=random.Random(seed)).delay(0) for seed in range(1000)]
    assert all(27.0 <= w <= 33.0 for w in waits)
    assert max(waits) - min(waits) > 5.0  # spread over most of the range, not one second
    assert len({round(w) for w in waits}) == 7  # every second from 27 to 33 is hit
    backed_off = UrlPoller(source, 30.0, rng=random.Random(1)).delay(3)
    assert 108.0 <= backed_off <= 132.0 and backed_off != 120.0
