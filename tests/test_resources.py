"""Resources, volume sources and grace periods without an engine: the hash (and that an
upgrade replaces nothing), the record, what each backend is asked for, hostDir prefixes,
and the grace-period label read back."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path
from typing import Any

import attrs
import pytest

from agent.cli import main
from agent.daemon.settings import Settings
from agent.engine.executor import execute
from agent.errors import ManifestError
from agent.manifest.hostpaths import real_host_path
from agent.manifest.models import Container, EmptyDir, EnvVar, HostDir, Manifest, Port, VolumeMount
from agent.planning import record
from agent.planning.actions import Plan, Remove
from agent.planning.observed import ObservedContainer
from agent.planning.record import Change
from agent.planning.spec import LABEL_STOP_TIMEOUT, Mount, RunSpec, build_specs
from agent.sources.allowances import Allowances, allowed_manifest
from agent.sources.load import load_file
from agent.sources.source_set import SourceSet
from backends.docker_cli import create_args
from backends.docker_rows import observed_from_docker
from backends.libpod_rows import observed_from_libpod
from backends.podman import spec_generator
from tests.fakes import FakeBackend

NS = "container-agent"
ROOT = "/export"

# A container with every field of the agent before resources: its hash, as that agent
# computed it. A new agent must compute the same, or an upgrade would replace it.
OLD_STYLE = Container(
    name="web",
    image="localhost/web:1",
    command=("httpd", "-f"),
    working_dir="/srv",
    ports=(Port(8080, 8080, "TCP", "127.0.0.1", "http"),),
    volume_mounts=(VolumeMount("site", "/srv", False), VolumeMount("conf", "/conf", True)),
    env=(EnvVar("GREETING", "hello"),),
    image_pull_policy="Always",
    restart_policy="OnFailure",
)
OLD_STYLE_HASH = "fb025c691973e94f3bd59a46a3953a88109f3a41bc76ce3cda50a2cca6487f6e"


def spec(container: Container = OLD_STYLE) -> RunSpec:
    (the_spec,) = build_specs([container], NS, ROOT)
    return the_spec


def test_a_container_using_no_new_field_keeps_the_hash_the_agent_gave_it_before() -> None:
    assert spec().hash == OLD_STYLE_HASH


HASHED: dict[str, dict[str, Any]] = {
    "memory limit": {"memory": 64 * 2**20},
    "cpu limit": {"cpu": 500},
    "grace period": {"termination_grace_period": 5},
    "grace period 0": {"termination_grace_period": 0},
    "emptyDir": {"volume_mounts": (VolumeMount("site", "/srv", False, EmptyDir()),)},
    "hostDir": {"volume_mounts": (VolumeMount("site", "/srv", False, HostDir("/export/site")),)},
}


@pytest.mark.parametrize("changes", list(HASHED.values()), ids=list(HASHED))
def test_limits_grace_period_and_volume_sources_are_in_the_hash(changes: dict[str, Any]) -> None:
    assert spec(attrs.evolve(OLD_STYLE, **changes)).hash != OLD_STYLE_HASH


def test_each_of_them_gives_a_hash_of_its_own() -> None:
    hashes = {spec(attrs.evolve(OLD_STYLE, **changes)).hash for changes in HASHED.values()}
    assert len(hashes) == len(HASHED)


def test_a_changed_limit_is_a_new_hash() -> None:
    small = spec(attrs.evolve(OLD_STYLE, memory=64 * 2**20))
    big = spec(attrs.evolve(OLD_STYLE, memory=128 * 2**20))
    assert small.hash != big.hash


def test_requests_are_not_applied_and_not_hashed() -> None:
    requested = attrs.evolve(OLD_STYLE, memory_request=64 * 2**20, cpu_request=250)
    assert spec(requested).hash == OLD_STYLE_HASH


def test_the_spec_carries_limits_mounts_and_the_grace_period_label() -> None:
    container = attrs.evolve(
        OLD_STYLE,
        memory=64 * 2**20,
        cpu=1500,
        termination_grace_period=3,
        volume_mounts=(
            VolumeMount("scratch", "/tmp/scratch", False, EmptyDir()),
            VolumeMount("logs", "/logs", True, HostDir("/var/log/web")),
            VolumeMount("site", "/srv"),
        ),
    )
    the_spec = spec(container)
    assert (the_spec.memory, the_spec.cpu, the_spec.nano_cpus) == (64 * 2**20, 1500, 1.5e9)
    assert the_spec.cpus == "1.5"
    assert the_spec.mounts == (
        Mount("", "/tmp/scratch", False, "emptyDir"),
        Mount("/var/log/web", "/logs", True, "hostDir"),
        Mount("/export/site", "/srv", False, "volume"),
    )
    assert the_spec.labels[LABEL_STOP_TIMEOUT] == "3"
    assert LABEL_STOP_TIMEOUT not in spec().labels


@pytest.mark.parametrize(
    ("millis", "cpus"), [(500, "0.5"), (10, "0.01"), (2000, "2"), (1250, "1.25")]
)
def test_cpus_as_the_cli_takes_them(millis: int, cpus: str) -> None:
    assert spec(attrs.evolve(OLD_STYLE, cpu=millis)).cpus == cpus


def test_the_cli_is_asked_for_the_limits_no_swap_and_an_anonymous_volume() -> None:
    container = attrs.evolve(
        OLD_STYLE,
        memory=16 * 2**20,
        cpu=250,
        volume_mounts=(VolumeMount("scratch", "/scratch", False, EmptyDir()),),
    )
    argv = create_args(spec(container))
    assert "--memory=16777216" in argv and "--memory-swap=16777216" in argv
    assert "--cpus=0.25" in argv
    assert "--mount=type=volume,target=/scratch" in argv
    plain = create_args(spec())
    assert not [a for a in plain if a.startswith(("--memory", "--cpus", "--mount=type=volume"))]


def test_libpod_is_asked_for_a_memory_and_swap_limit_and_a_cpu_quota() -> None:
    container = attrs.evolve(
        OLD_STYLE,
        memory=16 * 2**20,
        cpu=250,
        volume_mounts=(VolumeMount("scratch", "/scratch", True, EmptyDir()),),
    )
    body = spec_generator(spec(container))
    assert body["resource_limits"] == {
        "memory": {"limit": 16 * 2**20, "swap": 16 * 2**20},
        "cpu": {"quota": 25_000, "period": 100_000},
    }
    assert body["volumes"] == [{"Name": "", "Dest": "/scratch", "Options": ["ro"]}]
    assert body["mounts"] == []
    assert "resource_limits" not in spec_generator(spec()) and "volumes" not in spec_generator(
        spec()
    )


# --- the record --------------------------------------------------------------------------


def test_a_changed_limit_is_explained_by_its_field() -> None:
    before = spec(attrs.evolve(OLD_STYLE, memory=64 * 2**20, cpu=500))
    after = spec(attrs.evolve(OLD_STYLE, memory=128 * 2**20, cpu=500))
    label = record.encode(before, "00" * 8)
    assert record.changes(label, after) == (
        Change("resources.limits.memory", "~", before="64Mi", after="128Mi"),
    )
    (change,) = record.changes(label, after) or ()
    assert change.text() == '~ resources.limits.memory: "64Mi" -> "128Mi"'


def test_added_and_dropped_limits_and_grace_periods_are_explained() -> None:
    plain = spec()
    limited = spec(attrs.evolve(OLD_STYLE, cpu=2000, termination_grace_period=0))
    assert record.changes(record.encode(plain, "ab" * 8), limited) == (
        Change("resources.limits.cpu", "~", before=None, after="2"),
        Change("terminationGracePeriodSeconds", "~", before=None, after=0),
    )
    assert record.changes(record.encode(limited, "ab" * 8), plain) == (
        Change("resources.limits.cpu", "~", before="2", after=None),
        Change("terminationGracePeriodSeconds", "~", before=0, after=None),
    )


def test_an_older_record_without_the_new_fields_shows_no_change_for_a_spec_without_them() -> None:
    older = (
        '{"command":["httpd","-f"],"env":{"GREETING":"%s"},"image":"localhost/web:1",'
        '"imagePullPolicy":"Always","mounts":["/export/conf:/conf:ro","/export/site:/srv"],'
        '"ports":["127.0.0.1:8080->8080/tcp"],"restartPolicy":"OnFailure","salt":"%s","v":1,'
        '"workingDir":"/srv"}'
    )
    salt = "cd" * 8
    digest = record.decode(record.encode(spec(), salt))["env"]["GREETING"]  # type: ignore[index]
    assert record.changes(older % (digest, salt), spec()) == ()
    assert record.encode(spec(), salt) == older % (digest, salt)


def test_an_empty_dir_is_recorded_as_such() -> None:
    scratch = spec(
        attrs.evolve(OLD_STYLE, volume_mounts=(VolumeMount("s", "/scratch", False, EmptyDir()),))
    )
    assert record.changes(record.encode(spec(), "ef" * 8), scratch) == (
        Change("mount", "-", "/export/conf:/conf:ro"),
        Change("mount", "-", "/export/site:/srv"),
        Change("mount", "+", "emptyDir:/scratch"),
    )


# --- hostDir prefixes --------------------------------------------------------------------


def host_manifest(path: str, source: str = "app.yaml") -> Manifest:
    return Manifest.from_dict(
        {
            "version": "v1beta1",
            "volumes": [{"name": "site"}, {"name": "data", "source": {"hostDir": {"path": path}}}],
            "containers": [
                {
                    "name": "app",
                    "image": "busybox",
                    "volumeMounts": [{"name": "data", "path": "/d"}],
                }
            ],
        },
        source=source,
    )


def test_a_host_dir_under_an_allowed_prefix_is_kept_with_its_real_path(tmp_path: Path) -> None:
    (tmp_path / "real" / "data").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    allowed = allowed_manifest(
        host_manifest(str(tmp_path / "link" / "data")), Allowances((str(tmp_path),))
    )
    (mount,) = allowed.containers[0].volume_mounts
    assert mount.source == HostDir(str(tmp_path / "real" / "data"))


def test_a_prefix_that_is_a_link_allows_what_is_under_its_target(tmp_path: Path) -> None:
    (tmp_path / "real" / "data").mkdir(parents=True)
    (tmp_path / "prefix").symlink_to(tmp_path / "real")
    found = real_host_path(str(tmp_path / "real" / "data"), [str(tmp_path / "prefix")])
    assert found == str(tmp_path / "real" / "data")


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/etc", []),
        ("/etc", ["/srv"]),
        ("/srvx/data", ["/srv"]),  # a prefix is a directory, not a string prefix
    ],
)
def test_a_host_dir_outside_every_prefix_is_refused_naming_the_option(
    path: str, allowed: list[str]
) -> None:
    with pytest.raises(ManifestError) as caught:
        allowed_manifest(host_manifest(path), Allowances(tuple(allowed)))
    shown = ", ".join(allowed) if allowed else "none"
    assert str(caught.value) == (
        f"app.yaml: volumes[1].source.hostDir.path: host path {path!r} is not allowed: "
        "host directories must be under a prefix given with --allow-host-path PREFIX "
        f"(allowed now: {shown}; symbolic links are followed first)"
    )


def test_a_link_under_a_prefix_that_leads_out_of_it_is_refused(tmp_path: Path) -> None:
    (tmp_path / "escape").symlink_to("/etc")
    with pytest.raises(ManifestError, match="is not allowed"):
        allowed_manifest(host_manifest(str(tmp_path / "escape")), Allowances((str(tmp_path),)))


def test_the_prefix_itself_is_allowed() -> None:
    assert real_host_path("/srv", ["/srv"]) == "/srv"


def write(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body))
    return path


def test_validate_refuses_a_host_dir_outside_the_prefixes_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write(
        tmp_path / "app.yaml",
        """\
        version: v1beta1
        volumes: [{name: etc, source: {hostDir: {path: /etc}}}]
        containers: [{name: app, image: busybox, volumeMounts: [{name: etc, path: /e}]}]
        """,
    )
    assert main(["validate", str(manifest)]) == 2
    err = capsys.readouterr().err
    assert f"{manifest}: volumes[0].source.hostDir.path: host path '/etc' is not allowed" in err
    assert "--allow-host-path PREFIX" in err
    assert main(["validate", "--allow-host-path", "/etc", str(manifest)]) == 0


def test_the_run_loop_keeps_the_last_valid_content_of_a_file_refused_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manifest = write(
        tmp_path / "app.yaml", "version: v1beta1\ncontainers: [{name: app, image: busybox}]\n"
    )
    sources = SourceSet([str(manifest)], Allowances((str(tmp_path / "allowed"),)))
    assert [c.name for c in sources.refresh().containers] == ["app"]
    write(
        manifest,
        """\
        version: v1beta1
        volumes: [{name: etc, source: {hostDir: {path: /etc}}}]
        containers: [{name: other, image: busybox, volumeMounts: [{name: etc, path: /e}]}]
        """,
    )
    with caplog.at_level(logging.ERROR):
        desired = sources.refresh(force=True)
    assert [c.name for c in desired.containers] == ["app"]
    assert desired.complete
    assert "--allow-host-path" in caplog.text


def test_a_file_refused_so_from_the_start_blocks_removals(tmp_path: Path) -> None:
    manifest = write(
        tmp_path / "app.yaml",
        """\
        version: v1beta1
        volumes: [{name: etc, source: {hostDir: {path: /etc}}}]
        containers: [{name: app, image: busybox, volumeMounts: [{name: etc, path: /e}]}]
        """,
    )
    assert load_file(str(manifest)).containers  # a valid manifest, refused by the settings
    desired = SourceSet([str(manifest)]).refresh()
    assert desired.containers == () and not desired.complete


def test_settings_take_prefixes_as_absolute_paths() -> None:
    assert Settings(allow_host_path=("srv", "/data/")).allow_host_path[1] == "/data"
    with pytest.raises(Exception, match="allow_host_path"):
        Settings(allow_host_path=("/a,b",))


# --- the grace period, kept on the container ----------------------------------------------


def docker_row(labels: dict[str, str]) -> dict[str, Any]:
    return {"Id": "c1", "Names": ["/x"], "State": "running", "Status": "Up", "Labels": labels}


LABELS = [("7", 7), ("0", 0), ("", None), ("x", None), ("-1", None), ("1e3", None),
          ("\u0661", None)]  # fmt: skip


@pytest.mark.parametrize(("label", "expected"), LABELS)
def test_the_grace_period_label_is_read_back(label: str, expected: int | None) -> None:
    labels = {LABEL_STOP_TIMEOUT: label} if label else {}
    assert observed_from_docker(docker_row(labels)).stop_timeout == expected
    libpod = {"Id": "c1", "Names": ["x"], "State": "running", "Labels": labels}
    assert observed_from_libpod(libpod).stop_timeout == expected


def test_a_removal_stops_with_the_grace_period_the_container_was_made_with() -> None:
    kept = ObservedContainer("c1", "ns-a-1", "ns", "a", "h1", "running", stop_timeout=1)
    plain = ObservedContainer("c2", "ns-b-2", "ns", "b", "h2", "running")
    backend = FakeBackend([kept, plain])
    plan = Plan((Remove(kept, "not in the manifest"), Remove(plain, "not in the manifest")))
    execute(plan, backend, stop_timeout=30)
    assert ("stop", "c1", "1") in backend.calls
    assert ("stop", "c2", "30") in backend.calls
