"""Image pulls from real registries on 127.0.0.1, on every backend and engine (issue 3, Images).

Each test pushes its own repository (``ca-test/<namespace>``) with the engine's own CLI and
then removes the image locally, so that only the agent's pull can bring it back. The images
are busybox imported with ``ENV X=<n>``: every push of a new ``n`` is a new image id.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.engine.executor import ActionResult
from agent.output.render import plan_to_dict, render_text
from agent.planning.actions import CreateNetwork, Remove, RemoveNetwork, Start
from agent.testing import Workspace
from agent.testing.image import write_busybox_rootfs
from tests import engines
from tests.engines import BUSYBOX_TAG, AuthRegistry, Registry

PULL_MESSAGE = re.compile(r"pulling (\S+) \(attempt \d+ of \d+\)")
AUTH_ERROR = re.compile(
    r"unauthori[sz]ed|authentication|basic auth credentials|no credentials for", re.IGNORECASE
)


def manifest(*containers: str) -> str:
    return "version: v1beta1\ncontainers:\n" + "".join(containers)


def container(name: str, image: str, policy: str | None = None) -> str:
    lines = [f"  - name: {name}\n", f"    image: {image}\n"]
    if policy:
        lines.append(f"    imagePullPolicy: {policy}\n")
    lines.append("    command: [sleep, '600']\n")
    return "".join(lines)


def errors(results: tuple[ActionResult, ...]) -> dict[str, str | None]:
    """Each container action's error by the container's name (the namespace's network's own
    actions, made or removed beside them, are left out)."""
    return {
        result.action.name: result.error
        for result in results
        if not isinstance(result.action, (CreateNetwork, RemoveNetwork))
    }


def pulls(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The images the agent pulled (one entry per attempt), from its log."""
    found = (PULL_MESSAGE.fullmatch(r.getMessage()) for r in caplog.records)
    return [match.group(1) for match in found if match]


def bare(image_id: str) -> str:
    """An image id as both engines can compare it: without ``sha256:``."""
    return image_id.removeprefix("sha256:")


class EngineImages:
    """The test's images on its target's engine: made, pushed, and removed again at the end."""

    def __init__(self, ws: Workspace, rootfs: Path) -> None:
        self.ws = ws
        self.rootfs = rootfs
        self.made: list[str] = []
        self.refs: set[str] = set()

    def publish(self, ref: str, x: str, config: Path | None = None) -> str:
        """A new busybox image with ``ENV X=x``, pushed as ``ref`` and removed locally; its id."""
        engine = self.ws.target.engine
        self.refs.add(ref)
        changes = ["--change", "ENV PATH=/bin", "--change", f"ENV X={x}"]
        image_id = bare(
            engines.run_cli(engine, "import", *changes, str(self.rootfs)).stdout.strip()
        )
        self.made.append(image_id)
        assert engines.push_image(engine, image_id, ref, config) == image_id
        engines.run_cli(engine, "rmi", ref)
        assert self.local(ref) is None
        return image_id

    def local(self, ref: str) -> str | None:
        """The id ``ref`` names on the engine, or None when it is not there."""
        found = self.ws.cli("image", "inspect", "--format", "{{.Id}}", ref, check=False)
        return bare(found.stdout.strip()) if found.returncode == 0 else None

    def running(self, name: str) -> str:
        """The image id of the container ``name``, which must be running."""
        inspected = self.ws.container(name)
        assert inspected["State"]["Running"], inspected["State"]
        return bare(inspected["Image"])

    def clean(self) -> None:
        engine = self.ws.target.engine
        engines.remove_namespace(engine, self.ws.namespace)
        for image in sorted(self.refs) + self.made:
            engines.run_cli(engine, "rmi", "--force", image, check=False)


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_busybox_rootfs(tmp_path_factory.mktemp("rootfs") / "busybox.tar")


@pytest.fixture
def images(ws: Workspace, rootfs: Path) -> Iterator[EngineImages]:
    made = EngineImages(ws, rootfs)
    yield made
    made.clean()


@pytest.fixture
def repo(ws: Workspace, registry: Registry) -> str:
    """This test's repository on the plain-HTTP registry."""
    assert engines.trusts_registry(ws.target.engine, registry), (
        f"{ws.target.engine.kind} refuses plain HTTP to {registry.address}"
    )
    return f"{registry.address}/ca-test/{ws.namespace}"


def test_an_image_pushed_to_the_registry_is_pulled_and_started(
    ws: Workspace, images: EngineImages, repo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ref = f"{repo}:1"
    pushed = images.publish(ref, "1")
    ws.write(manifest(container("app", ref)))

    _, results = ws.apply()

    assert errors(results) == {"app": None}
    assert pulls(caplog) == [ref]
    assert images.local(ref) == pushed
    assert images.running("app") == pushed


def test_always_replaces_the_container_when_a_new_image_is_pushed_under_its_tag(
    ws: Workspace, images: EngineImages, repo: str
) -> None:
    ref = f"{repo}:1"
    first = images.publish(ref, "1")
    ws.write(manifest(container("app", ref, "Always")))
    _, results = ws.apply()
    assert errors(results) == {"app": None}
    assert images.running("app") == first
    old = ws.container("app")["Id"]

    second = images.publish(ref, "2")
    plan, results = ws.apply()

    assert [(type(a), a.name) for a in plan.actions] == [(Remove, "app"), (Start, "app")]
    remove = plan.actions[0]
    assert isinstance(remove, Remove)
    assert remove.container.id == old
    assert remove.reason.startswith("image changed"), remove.reason
    assert second[:12] in remove.reason
    assert errors(results) == {"app": None}
    assert images.running("app") == second
    assert "X=2" in ws.container("app")["Config"]["Env"]
    assert [c["Id"] for c in ws.containers()] != [old]
    # The next pass pulls again, finds the same image and leaves the new container alone.
    assert ws.apply()[0].actions == ()


def test_a_new_digest_rolls_out_and_one_that_fails_is_rolled_back_and_held_back(
    ws: Workspace, images: EngineImages, repo: str
) -> None:
    # The same command under every image: the image whose X is "bad" exits at once.
    ref = f"{repo}:1"
    app = (
        "version: v1beta1\nupdateStrategy: {minReadySeconds: 2}\ncontainers:\n"
        f"  - name: app\n    image: {ref}\n    imagePullPolicy: Always\n"
        """    command: [sh, -c, 'test "$X" = bad && exit 3; exec sleep 600']\n"""
    )
    first = images.publish(ref, "good")
    ws.write(app)
    assert ws.agent("apply").returncode == 0
    old = ws.container("app")["Id"]

    bad = images.publish(ref, "bad")
    failed = ws.agent("apply")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"image changed: sha256:{first[:12]} -> sha256:{bad[:12]}" in failed.stdout
    assert "exited 3 after" in failed.stdout and "back to" in failed.stdout, failed.stdout
    assert [c["Id"] for c in ws.containers()] == [old]
    assert images.running("app") == first

    held = ws.agent("apply")
    assert held.returncode == 0, held.stdout + held.stderr
    assert "held back" in held.stdout and "1 held back" in held.stdout, held.stdout
    assert [c["Id"] for c in ws.containers()] == [old]
    status = json.loads(ws.agent("status", "--output", "json").stdout)
    assert "held back" in status["containers"][0]["reason"], status

    newer = images.publish(ref, "good2")
    rolled = ws.agent("apply")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert f"sha256:{first[:12]} -> sha256:{newer[:12]}" in rolled.stdout
    assert images.running("app") == newer
    assert [c["Id"] for c in ws.containers()] != [old]
    assert ws.agent("apply").stdout.strip().startswith("No changes")


def test_if_not_present_keeps_the_container_when_a_new_image_is_pushed_under_its_tag(
    ws: Workspace, images: EngineImages, repo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ref = f"{repo}:1"
    first = images.publish(ref, "1")
    ws.write(manifest(container("app", ref, "IfNotPresent")))
    _, results = ws.apply()
    assert errors(results) == {"app": None}
    old = ws.container("app")["Id"]

    images.publish(ref, "2")
    caplog.clear()
    plan, results = ws.apply()

    assert (plan.actions, results) == ((), ())
    assert pulls(caplog) == []
    assert images.local(ref) is None
    assert ws.container("app")["Id"] == old
    assert images.running("app") == first


def test_never_with_the_image_absent_fails_without_a_pull_and_the_others_start(
    ws: Workspace, images: EngineImages, repo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ref = f"{repo}:1"
    images.publish(ref, "1")
    ws.write(manifest(container("never", ref, "Never"), container("fine", BUSYBOX_TAG)))

    _, results = ws.apply()

    assert errors(results) == {
        "fine": None,
        "never": f"image {ref} is not present and its imagePullPolicy is Never",
    }
    assert pulls(caplog) == []
    assert images.local(ref) is None
    assert [c["Config"]["Labels"]["io.container-agent.name"] for c in ws.containers()] == ["fine"]
    assert images.running("fine")


def test_a_failed_pull_gives_the_registrys_message_and_the_pass_goes_on(
    ws: Workspace, images: EngineImages, repo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    missing = f"{repo}/never-pushed:1"
    ws.write(manifest(container("ghost", missing), container("fine", BUSYBOX_TAG)))

    _, results = ws.apply()

    error = errors(results)["ghost"] or ""
    assert error.startswith(f"pull of {missing} failed after 3 attempts: "), error
    assert "manifest unknown" in error, error  # the registry's own words
    assert pulls(caplog) == [missing] * 3
    retries = [
        r.getMessage()
        for r in caplog.records
        if r.name == "agent.images" and r.levelno == logging.WARNING
    ]
    assert [m.rpartition("; ")[2] for m in retries] == ["retrying in 1s", "retrying in 2s"]
    assert errors(results)["fine"] is None
    assert [c["Config"]["Labels"]["io.container-agent.name"] for c in ws.containers()] == ["fine"]
    assert images.running("fine")


# ------------------------------------------------------------------- a registry with a login


@pytest.fixture(scope="session")
def auth_registry(engines_root: Path) -> Iterator[AuthRegistry]:
    """A TLS registry with htpasswd auth on a free port, its CA in the engines' certs.d."""
    try:
        started = engines.start_auth_registry(engines_root, engines.free_port())
    except (engines.EngineError, OSError) as exc:
        raise pytest.fail.Exception(f"start_auth_registry failed: {exc}", pytrace=False) from None
    yield started
    engines.stop_auth_registry(started)


@pytest.fixture
def private(
    ws: Workspace, images: EngineImages, auth_registry: AuthRegistry, tmp_path: Path
) -> tuple[str, str, Path]:
    """An image pushed to the login registry: (its reference, its id, a Docker config file
    that logs in there)."""
    login = {auth_registry.address: (auth_registry.username, auth_registry.password)}
    config = engines.write_docker_config(tmp_path / "docker-config", login)
    ref = f"{auth_registry.address}/ca-test/{ws.namespace}:1"
    return ref, images.publish(ref, "1", config), config


@pytest.fixture
def no_credentials(
    private: tuple[str, str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the push (and the engines' start): DOCKER_CONFIG is an empty directory."""
    (tmp_path / "no-docker-config").mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))


def assert_no_secret(auth: AuthRegistry, *texts: str) -> None:
    basic = base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode()
    for text in texts:
        assert auth.password not in text
        assert basic not in text


def test_a_registry_that_wants_a_login_is_pulled_from_with_the_config_files_credentials(
    ws: Workspace,
    images: EngineImages,
    auth_registry: AuthRegistry,
    private: tuple[str, str, Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ref, pushed, config = private
    monkeypatch.setenv("DOCKER_CONFIG", str(config.parent))
    ws.write(manifest(container("private", ref)))

    plan, results = ws.apply()

    assert errors(results) == {"private": None}
    assert pulls(caplog) == [ref]
    assert images.running("private") == pushed
    texts = (render_text(plan), json.dumps(plan_to_dict(plan)), repr(plan), repr(results))
    assert_no_secret(auth_registry, *texts, caplog.text)


@pytest.mark.usefixtures("no_credentials")
def test_a_registry_that_wants_a_login_refuses_a_pull_without_credentials(
    ws: Workspace,
    images: EngineImages,
    auth_registry: AuthRegistry,
    private: tuple[str, str, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ref, _, _ = private
    ws.write(manifest(container("private", ref), container("fine", BUSYBOX_TAG)))

    plan, results = ws.apply()

    error = errors(results)["private"] or ""
    assert error.startswith(f"pull of {ref} failed after 3 attempts: "), error
    assert errors(results)["fine"] is None
    assert images.local(ref) is None
    assert [c["Config"]["Labels"]["io.container-agent.name"] for c in ws.containers()] == ["fine"]
    texts = (render_text(plan), json.dumps(plan_to_dict(plan)), repr(plan), repr(results))
    assert_no_secret(auth_registry, *texts, caplog.text)
    assert AUTH_ERROR.search(error), f"the error does not say that a login is needed: {error}"
