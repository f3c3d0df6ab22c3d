"""Engine specs: a hash that is stable across spellings and processes, and names and labels."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import attrs
import pytest

from agent.daemon.settings import Settings
from agent.manifest.models import (
    DEFAULT_LOGS,
    KONLET_LOGS,
    Container,
    EnvVar,
    LogLimits,
    Manifest,
    Port,
    VolumeMount,
)
from agent.manifest.parse import parse_document
from agent.manifest.ports import Binding, HostClaims, describe_binding, port_conflict
from agent.planning.spec import (
    LABEL_HASH,
    LABEL_NAME,
    LABEL_NAMESPACE,
    Mount,
    PortBinding,
    RunSpec,
    build_specs,
    engine_name,
)

NS = "ns"
ROOT = "/export"

GOLDEN = Container("web", "busybox:1.36", command=("sleep", "3600"))
GOLDEN_HASH = "dd2dc202e4bc53cac3f3239f7088f30a132a3ba9a4964c9c0b5940a0501cc6fd"

YAML = b"""\
version: v1beta1
volumes:
  - name: data
containers:
  - name: web
    image: nginx:1.25
    command: [nginx, -g, "daemon off;"]
    workingDir: /srv
    env:
      - key: MODE
        value: prod
    ports:
      - containerPort: 80
        hostPort: 8080
        protocol: TCP
    volumeMounts:
      - name: data
        path: /data
        readOnly: true
"""

YAML_REORDERED = b"""\
# The same manifest: keys in another order, comments, flow style, odd spacing.
containers:
  -   volumeMounts:   [ {readOnly: true, path: /data, name: data} ]   # read-only data
      ports:
        - {hostPort: 8080,   containerPort: 80}   # protocol defaults to TCP
      env:
        - value: "prod"
          key: MODE
      workingDir: "/srv"
      command:
        - nginx
        - "-g"
        - daemon off;
      image: 'nginx:1.25'
      name: web

volumes: [{name: data}]
version: "v1beta1"
"""

JSON = json.dumps(
    {
        "containers": [
            {
                "env": [{"value": "prod", "key": "MODE"}],
                "volumeMounts": [{"path": "/data", "readOnly": True, "name": "data"}],
                "name": "web",
                "ports": [{"protocol": "tcp", "hostPort": 8080, "containerPort": 80}],
                "command": ["nginx", "-g", "daemon off;"],
                "image": "nginx:1.25",
                "workingDir": "/srv",
            }
        ],
        "version": "v1beta1",
        "volumes": [{"name": "data"}],
    },
    indent=4,
).encode()


def spec_of(raw: bytes, json_only: bool = False) -> RunSpec:
    """The one spec of a manifest file's bytes, read as the agent reads files."""
    manifest = Manifest.from_dict(parse_document(raw, "test", json_only), source="test")
    (the_spec,) = build_specs(manifest.containers, NS, ROOT)
    return the_spec


def hash_of(container: Container, namespace: str = NS, volumes_root: str = ROOT) -> str:
    return build_specs([container], namespace, volumes_root)[0].hash


@pytest.mark.parametrize(
    ("raw", "json_only"),
    [
        pytest.param(YAML_REORDERED, False, id="YAML with other key order, comments, spacing"),
        pytest.param(JSON, True, id="JSON"),
        pytest.param(JSON, False, id="JSON read as YAML"),
    ],
)
def test_the_same_manifest_spelled_differently_has_the_same_hash(
    raw: bytes, json_only: bool
) -> None:
    assert spec_of(raw, json_only) == spec_of(YAML)


def test_the_parsed_manifest_resolves_to_this_spec() -> None:
    the_spec = spec_of(YAML)
    assert the_spec == RunSpec(
        namespace=NS,
        name="web",
        image="nginx:1.25",
        hash=the_spec.hash,
        command=("nginx", "-g", "daemon off;"),
        working_dir="/srv",
        env=(("MODE", "prod"),),
        ports=(PortBinding(80, 8080, "tcp", ""),),
        mounts=(Mount("/export/data", "/data", read_only=True),),
    )


def test_golden_hash() -> None:
    assert hash_of(GOLDEN) == GOLDEN_HASH


def test_golden_hash_in_another_process() -> None:
    script = (
        "from agent.manifest.models import Container\n"
        "from agent.planning.spec import build_specs\n"
        "c = Container('web', 'busybox:1.36', command=('sleep', '3600'))\n"
        "print(build_specs([c], 'ns', '/export')[0].hash)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout == GOLDEN_HASH + "\n"


FULL = Container(
    "web",
    "nginx:1.25",
    command=("nginx", "-g", "daemon off;"),
    working_dir="/srv",
    ports=(Port(80, 8080, name="http"),),
    volume_mounts=(VolumeMount("data", "/data"),),
    env=(EnvVar("MODE", "prod"),),
)

HASHED_CHANGES: dict[str, dict[str, Any]] = {
    "image tag": {"image": "nginx:1.27"},
    "command argument": {"command": ("nginx", "-g", "daemon on;")},
    "command dropped": {"command": ()},
    "workingDir": {"working_dir": "/"},
    "workingDir dropped": {"working_dir": None},
    "env value": {"env": (EnvVar("MODE", "dev"),)},
    "env key": {"env": (EnvVar("MODE2", "prod"),)},
    "env added": {"env": (EnvVar("MODE", "prod"), EnvVar("DEBUG", "1"))},
    "host port": {"ports": (Port(80, 8081, name="http"),)},
    "container port": {"ports": (Port(81, 8080, name="http"),)},
    "port protocol": {"ports": (Port(80, 8080, "UDP", name="http"),)},
    "port host address": {"ports": (Port(80, 8080, host_ip="127.0.0.1", name="http"),)},
    "port dropped": {"ports": ()},
    "mount path": {"volume_mounts": (VolumeMount("data", "/data2"),)},
    "mount volume": {"volume_mounts": (VolumeMount("logs", "/data"),)},
    "mount readOnly": {"volume_mounts": (VolumeMount("data", "/data", read_only=True),)},
    "mount dropped": {"volume_mounts": ()},
}

UNHASHED_CHANGES: dict[str, dict[str, Any]] = {
    "restartPolicy OnFailure": {"restart_policy": "OnFailure"},
    "restartPolicy Never": {"restart_policy": "Never"},
    "imagePullPolicy Always": {"image_pull_policy": "Always"},
    "imagePullPolicy Never": {"image_pull_policy": "Never"},
    "port name": {"ports": (Port(80, 8080, name="web"),)},
}


@pytest.mark.parametrize("changes", list(HASHED_CHANGES.values()), ids=list(HASHED_CHANGES))
def test_a_change_the_engine_sees_changes_the_hash(changes: dict[str, Any]) -> None:
    assert hash_of(attrs.evolve(FULL, **changes)) != hash_of(FULL)


def test_every_such_change_gives_a_hash_of_its_own() -> None:
    hashes = {hash_of(attrs.evolve(FULL, **changes)) for changes in HASHED_CHANGES.values()}
    assert len(hashes | {hash_of(FULL)}) == len(HASHED_CHANGES) + 1


@pytest.mark.parametrize("changes", list(UNHASHED_CHANGES.values()), ids=list(UNHASHED_CHANGES))
def test_a_change_the_engine_does_not_see_keeps_the_hash(changes: dict[str, Any]) -> None:
    assert hash_of(attrs.evolve(FULL, **changes)) == hash_of(FULL)


def test_a_volumes_root_moves_the_mounts_and_changes_the_hash() -> None:
    assert hash_of(FULL, volumes_root="/srv/volumes") != hash_of(FULL)


def test_the_namespace_is_in_the_hash_so_joined_names_never_collide() -> None:
    (ours,) = build_specs([attrs.evolve(FULL, name="web-api")], "prod", ROOT)
    (theirs,) = build_specs([attrs.evolve(FULL, name="api")], "prod-web", ROOT)
    assert theirs.hash != ours.hash
    assert theirs.engine_name != ours.engine_name
    assert ours.engine_name.startswith("prod-web-api-")
    assert theirs.engine_name.startswith("prod-web-api-")


def test_reordering_env_ports_and_mounts_keeps_the_hash() -> None:
    many = attrs.evolve(
        FULL,
        env=(EnvVar("A", "1"), EnvVar("B", "2")),
        ports=(Port(80, 8080), Port(53, 5353, "UDP")),
        volume_mounts=(VolumeMount("data", "/data"), VolumeMount("logs", "/logs", True)),
    )
    shuffled = attrs.evolve(
        many,
        env=tuple(reversed(many.env)),
        ports=tuple(reversed(many.ports)),
        volume_mounts=tuple(reversed(many.volume_mounts)),
    )
    assert build_specs([shuffled], NS, ROOT)[0].hash == build_specs([many], NS, ROOT)[0].hash


def test_engine_name_is_namespace_name_and_eight_hash_digits() -> None:
    (the_spec,) = build_specs([GOLDEN], "agent-1", ROOT)
    assert the_spec.engine_name == f"agent-1-web-{the_spec.hash[:8]}"
    assert the_spec.hash != GOLDEN_HASH, "the namespace is part of the hash"
    assert re.fullmatch(r"[0-9a-f]{64}", the_spec.hash)
    assert engine_name("ns", "db", "0123456789abcdef") == "ns-db-01234567"


def test_labels_name_the_namespace_container_and_full_hash() -> None:
    (the_spec,) = build_specs([GOLDEN], NS, ROOT)
    assert the_spec.labels == {
        LABEL_NAMESPACE: "ns",
        LABEL_NAME: "web",
        LABEL_HASH: GOLDEN_HASH,
    }
    assert (LABEL_NAMESPACE, LABEL_NAME, LABEL_HASH) == (
        "io.container-agent.namespace",
        "io.container-agent.name",
        "io.container-agent.hash",
    )


def test_hostname_is_the_container_name() -> None:
    assert build_specs([GOLDEN], NS, ROOT)[0].hostname == "web"


def test_specs_keep_manifest_order_and_policies() -> None:
    containers = [
        attrs.evolve(GOLDEN, name="b", restart_policy="Never", image_pull_policy="Always"),
        attrs.evolve(GOLDEN, name="a"),
    ]
    specs = build_specs(containers, NS, ROOT)
    assert [(s.name, s.restart_policy, s.image_pull_policy) for s in specs] == [
        ("b", "Never", "Always"),
        ("a", "Always", "IfNotPresent"),
    ]
    assert specs[0].hash != specs[1].hash, "the name is part of the hash"


# --- the host-port rule over the bindings the engine is asked for ---------------------------

BINDINGS = [
    PortBinding(80, host_port, protocol, host_ip)
    for host_port in (80, 81)
    for protocol in ("tcp", "udp")
    for host_ip in ("", "0.0.0.0", "::", "127.0.0.1", "::1", "0:0::1")
]


def as_port(binding: PortBinding) -> Port:
    return Port(
        binding.container_port, binding.host_port, binding.protocol.upper(), binding.host_ip
    )


@pytest.mark.parametrize("a", BINDINGS, ids=str)
def test_bindings_conflict_as_the_manifest_ports_they_are_built_from(a: PortBinding) -> None:
    for b in BINDINGS:
        expected = port_conflict(as_port(a), as_port(b))
        assert port_conflict(a, b) == expected, b
        assert port_conflict(a, as_port(b)) == expected, "tcp and TCP are one protocol"


def test_bindings_conflict_on_the_same_address_spelled_otherwise_and_on_the_wildcard() -> None:
    loopback = PortBinding(80, 8080, "tcp", "::1")
    assert port_conflict(loopback, PortBinding(81, 8080, "tcp", "0:0::1"))
    assert port_conflict(loopback, PortBinding(81, 8080, "tcp", "::"))
    assert port_conflict(PortBinding(80, 8080, "tcp", ""), PortBinding(80, 8080, "tcp", "10.0.0.1"))
    assert not port_conflict(loopback, PortBinding(80, 8080, "udp", "::1"))
    assert not port_conflict(loopback, PortBinding(80, 8081, "tcp", "::1"))
    assert not port_conflict(loopback, PortBinding(80, 8080, "tcp", "127.0.0.1"))


def test_a_built_spec_binding_conflicts_with_its_manifest_port() -> None:
    port = Port(8080, 18080, "UDP", "127.0.0.1")
    (spec,) = build_specs([Container("web", "nginx", ports=(port,))], NS, ROOT)
    (binding,) = spec.ports
    assert binding.protocol == "udp"
    assert port_conflict(binding, port) and port_conflict(port, binding)


def test_host_claims_take_bindings_and_ports_alike() -> None:
    claims: HostClaims[str] = HostClaims()
    claims.add(PortBinding(80, 8080, "tcp", "127.0.0.1"), "web")
    claims.add(Port(53, 53, "UDP"), "dns")
    assert claims.first_conflict(Port(80, 8080, "TCP", "127.0.0.1")) == "web"
    assert claims.first_conflict(PortBinding(80, 8080, "tcp", "")) == "web"
    assert claims.first_conflict(PortBinding(53, 53, "udp", "::1")) == "dns"
    assert claims.first_conflict(PortBinding(53, 53, "tcp", "::1")) is None
    assert claims.first_conflict(PortBinding(80, 8080, "tcp"), other_than="web") is None


@pytest.mark.parametrize(
    ("binding", "text"),
    [
        (PortBinding(80, 8080, "tcp", "127.0.0.1"), "127.0.0.1:8080/TCP"),
        (PortBinding(53, 53, "udp", "::1"), "[::1]:53/UDP"),
        (PortBinding(80, 80, "tcp"), "*:80/TCP"),
    ],
)
def test_a_binding_reads_as_a_manifest_port_does(binding: PortBinding, text: str) -> None:
    assert describe_binding(binding) == text == describe_binding(as_port(binding))


def test_ports_and_bindings_are_bindings_to_the_type_checker() -> None:
    bindings: list[Binding] = [Port(80, 80), PortBinding(80, 80)]
    assert [b.protocol for b in bindings] == ["TCP", "tcp"]


@pytest.mark.parametrize(
    ("given", "default", "kept"),
    [
        pytest.param(None, DEFAULT_LOGS, DEFAULT_LOGS, id="the agent's default"),
        pytest.param(None, LogLimits(2, 5), LogLimits(2, 5), id="the agent's setting"),
        pytest.param(None, None, None, id="unbounded (0)"),
        pytest.param(KONLET_LOGS, DEFAULT_LOGS, KONLET_LOGS, id="the manifest's own"),
    ],
)
def test_logs_are_bounded_by_the_manifest_else_the_agent_and_only_the_manifests_hashed(
    given: LogLimits | None, default: LogLimits | None, kept: LogLimits | None
) -> None:
    container = Container("web", "nginx", log_limits=given)
    (spec,) = build_specs([container], NS, ROOT, None, default)
    (plain,) = build_specs([container], NS, ROOT)
    assert spec.log_limits == kept
    assert spec.hash == plain.hash
    assert Settings().log_limits == DEFAULT_LOGS == LogLimits(10, 3)
    assert Settings(log_max_size=0).log_limits is None
