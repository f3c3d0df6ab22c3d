"""Pull policies, retries and registry credentials, against the in-memory backend."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from agent.engine.images import Images
from agent.errors import ImageNotPresent
from agent.manifest.reference import registry_of
from backends.base import BackendError
from backends.credentials import RegistryAuth, lookup
from tests.fakes import FakeBackend

IMAGE = "127.0.0.1:5000/app:1"


def backend(local: dict[str, str], remote: dict[str, str] | None = None) -> FakeBackend:
    fake = FakeBackend()
    fake.local = dict(local)
    fake.remote = dict(remote or {})
    return fake


def images(fake: FakeBackend, sleeps: list[float] | None = None) -> Images:
    return Images(fake, sleep=(sleeps if sleeps is not None else []).append)


POLICIES = [
    pytest.param(
        "IfNotPresent", {IMAGE: "sha256:old"}, {IMAGE: "sha256:new"}, "sha256:old", [],
        id="IfNotPresent with the image present -> no pull",
    ),
    pytest.param(
        "IfNotPresent", {}, {IMAGE: "sha256:new"}, "sha256:new", [IMAGE],
        id="IfNotPresent with the image missing -> pull",
    ),
    pytest.param(
        "Always", {IMAGE: "sha256:old"}, {IMAGE: "sha256:new"}, "sha256:new", [IMAGE],
        id="Always with the image present -> pull the new one",
    ),
    pytest.param(
        "Never", {IMAGE: "sha256:old"}, {IMAGE: "sha256:new"}, "sha256:old", [],
        id="Never with the image present -> use it",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("policy", "local", "remote", "expected", "pulls"), POLICIES)
def test_policy(
    policy: str, local: dict[str, str], remote: dict[str, str], expected: str, pulls: list[str]
) -> None:
    fake = backend(local, remote)
    assert images(fake).ensure(IMAGE, policy) == expected
    assert [call[1] for call in fake.calls if call[0] == "pull"] == pulls


def test_never_with_the_image_missing_fails_without_pulling() -> None:
    fake = backend({}, {IMAGE: "sha256:new"})
    with pytest.raises(ImageNotPresent) as caught:
        images(fake).ensure(IMAGE, "Never")
    assert not isinstance(caught.value, BackendError), "the agent's own rule, not the engine's"
    assert str(caught.value) == f"image {IMAGE} is not present and its imagePullPolicy is Never"
    assert fake.calls == []


def test_an_image_is_pulled_once_a_pass_however_many_containers_use_it() -> None:
    fake = backend({}, {IMAGE: "sha256:new"})
    cache = images(fake)
    assert [cache.ensure(IMAGE, "Always") for _ in range(3)] == ["sha256:new"] * 3
    assert fake.calls == [("pull", IMAGE)]


def test_a_failing_pull_is_retried_with_back_off_and_reports_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    fake = backend({})
    sleeps: list[float] = []
    cache = images(fake, sleeps)
    with pytest.raises(BackendError) as caught:
        cache.ensure(IMAGE, "IfNotPresent")
    assert caught.value.message == (
        f"pull of {IMAGE} failed after 3 attempts: manifest for {IMAGE} not found"
        f" (no credentials for 127.0.0.1:5000 in {tmp_path}/config.json)"
    )
    assert fake.calls == [("pull", IMAGE)] * 3
    assert sleeps == [1.0, 2.0]
    # The failure is remembered for the rest of the pass: no second round of pulls.
    with pytest.raises(BackendError):
        cache.ensure(IMAGE, "IfNotPresent")
    assert len(fake.calls) == 3


def test_a_pull_that_succeeds_on_a_retry_is_used() -> None:
    fake = backend({}, {IMAGE: "sha256:new"})
    fake.fail("pull", IMAGE, "connection reset")
    sleeps: list[float] = []
    cache = images(fake, sleeps)
    fake_pull = fake.pull
    attempts: list[int] = []

    def flaky(image: str, auth: RegistryAuth | None) -> None:
        attempts.append(1)
        if len(attempts) == 2:
            fake._failures.clear()
        fake_pull(image, auth)

    fake.pull = flaky  # type: ignore[method-assign]
    assert cache.ensure(IMAGE, "Always") == "sha256:new"
    assert len(attempts) == 2
    assert sleeps == [1.0]


# --- credentials from the Docker config file ------------------------------------------------


def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: object) -> Path:
    (tmp_path / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    return tmp_path / "config.json"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


REGISTRIES = [
    pytest.param("nginx", "docker.io", id="a short name is on Docker Hub"),
    pytest.param("library/nginx:1", "docker.io", id="a path without a host is on Docker Hub"),
    pytest.param("127.0.0.1:5000/a/b:1", "127.0.0.1:5000", id="host and port"),
    pytest.param("registry.example/a", "registry.example", id="a dotted host"),
    pytest.param("localhost/busybox", "localhost", id="localhost"),
]


@pytest.mark.parametrize(("image", "registry"), REGISTRIES)
def test_registry_of(image: str, registry: str) -> None:
    assert registry_of(image) == registry


CONFIGS = [
    pytest.param(
        {"auths": {"127.0.0.1:5000": {"auth": b64("alice:s3cret")}}}, ("alice", "s3cret"),
        id="auth as docker login leaves it",
    ),
    pytest.param(
        {"auths": {"https://127.0.0.1:5000": {"auth": b64("alice:a:b")}}}, ("alice", "a:b"),
        id="a URL key, a colon in the password",
    ),
    pytest.param(
        {"auths": {"127.0.0.1:5000": {"username": "bob", "password": "pw"}}}, ("bob", "pw"),
        id="username and password fields",
    ),
    pytest.param(
        {"auths": {"other:5000": {"auth": b64("alice:s3cret")}}}, None,
        id="another registry's login",
    ),
    pytest.param(
        {"auths": {"127.0.0.1:5000": {"auth": "%%%"}}}, None, id="a broken auth string"
    ),
    pytest.param(
        {"auths": {"127.0.0.1:5000": {"auth": b64("nocolon")}}}, None, id="an auth with no colon"
    ),
    pytest.param(["not", "a", "mapping"], None, id="a config that is not a mapping"),
]  # fmt: skip


@pytest.mark.parametrize(("config", "expected"), CONFIGS)
def test_lookup(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    config: object,
    expected: tuple[str, str] | None,
) -> None:
    write_config(tmp_path, monkeypatch, config)
    found = lookup(IMAGE)
    assert (found.username, found.password) == expected if found else expected is None


def test_no_config_file_gives_no_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "absent"))
    assert lookup(IMAGE) is None


def test_a_credential_helper_is_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    helper = tmp_path / "docker-credential-test"
    answer = '{\\"Username\\": \\"carol\\", \\"Secret\\": \\"tok-$server\\"}'
    helper.write_text(f'#!/bin/sh\nread server\necho "{answer}"\n')
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    write_config(tmp_path, monkeypatch, {"credHelpers": {"127.0.0.1:5000": "test"}})
    assert lookup(IMAGE) == RegistryAuth("127.0.0.1:5000", "carol", "tok-127.0.0.1:5000")


def test_the_password_never_shows_in_a_repr_or_a_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    write_config(tmp_path, monkeypatch, {"auths": {"127.0.0.1:5000": {"auth": b64("a:s3cret")}}})
    fake = backend({}, {IMAGE: "sha256:new"})
    caplog.set_level("DEBUG")
    images(fake).ensure(IMAGE, "Always")
    assert fake.pull_auth == [RegistryAuth("127.0.0.1:5000", "a", "s3cret")]
    assert "s3cret" not in repr(fake.pull_auth[0])
    assert "s3cret" not in caplog.text
