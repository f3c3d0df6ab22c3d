"""``livenessProbe`` in a manifest: what is accepted, and each refusal at its field."""

from __future__ import annotations

from typing import Any

import pytest

from agent.errors import ManifestError
from agent.manifest.models import Manifest
from agent.manifest.probes import ExecCheck, HttpCheck, Probe, TcpCheck

PORTS = [
    {"containerPort": 8080, "hostPort": 18080, "hostIp": "127.0.0.1", "name": "http"},
    {"containerPort": 53, "protocol": "UDP", "name": "dns"},
]


def probe_of(probe: Any, **container: Any) -> Probe | None:
    raw = {"name": "web", "image": "busybox", "ports": PORTS, "livenessProbe": probe, **container}
    manifest = Manifest.from_dict({"version": "v1beta1", "containers": [raw]}, "m.yaml")
    return manifest.containers[0].liveness_probe


def errors_of(probe: Any, **container: Any) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        probe_of(probe, **container)
    return [f"{e.path}: {e.message}" for e in caught.value.errors]


GOOD = [
    ({"exec": {"command": ["cat", "/tmp/ok"]}}, Probe(ExecCheck(("cat", "/tmp/ok")))),
    (
        {"httpGet": {"path": "/healthz", "port": "http",
                     "httpHeaders": [{"name": "X-Probe", "value": "1"}]},
         "initialDelaySeconds": 5, "periodSeconds": 2, "timeoutSeconds": 3,
         "failureThreshold": 4, "successThreshold": 1},
        Probe(HttpCheck(8080, "/healthz", (("X-Probe", "1"),)), 5, 2, 3, 4),
    ),
    ({"httpGet": {"port": 8080}}, Probe(HttpCheck(8080, "/"))),
    ({"tcpSocket": {"port": 8080}}, Probe(TcpCheck(8080))),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "probe"), GOOD)
def test_a_probe_is_read_with_kubernetes_defaults(raw: Any, probe: Probe) -> None:
    assert probe_of(raw) == probe


P = "containers[web].livenessProbe"
BAD = {
    "no check": ({"periodSeconds": 3}, [f"{P}: must have exactly one of exec, httpGet, "
                                        "tcpSocket; got none"]),
    "two checks": (
        {"exec": {"command": ["true"]}, "tcpSocket": {"port": 8080}},
        [f"{P}: must have exactly one of exec, httpGet, tcpSocket; got exec and tcpSocket"],
    ),
    "a port the container does not publish": (
        {"tcpSocket": {"port": 9090}},
        [f"{P}.tcpSocket.port: 9090 is not a containerPort this container publishes over "
         "TCP; the agent probes the container only through this host's published port, so "
         "add it to ports (a hostIp of 127.0.0.1 keeps it private)"],
    ),
    "a UDP port by name": (
        {"httpGet": {"port": "dns"}},
        [f"{P}.httpGet.port: names no TCP port of this container: 'dns' (named: http)"],
    ),
    "another host": (
        {"httpGet": {"port": 8080, "host": "10.0.0.1"}},
        [f"{P}.httpGet.host: is not supported: the agent probes the container only through "
         "this host's published port"],
    ),
    "a relative path": ({"httpGet": {"port": 8080, "path": "healthz"}},
                        [f"{P}.httpGet.path: must be a URL path starting with '/' (no spaces), "
                         "got 'healthz'"]),
    "a header with a line break": (
        {"httpGet": {"port": 8080, "httpHeaders": [{"name": "X", "value": "a\r\nB: c"}]}},
        [f"{P}.httpGet.httpHeaders[0].value: must not hold a line break or a control "
         "character"],
    ),
    "an empty command": ({"exec": {"command": []}}, [f"{P}.exec.command: must not be empty"]),
    "timing out of range": (
        {"exec": {"command": ["true"]}, "timeoutSeconds": 0, "periodSeconds": 10**9,
         "initialDelaySeconds": -1, "successThreshold": 2},
        [f"{P}.initialDelaySeconds: must be between 0 and 86400, got -1",
         f"{P}.periodSeconds: must be between 1 and 86400, got 1000000000",
         f"{P}.timeoutSeconds: must be between 1 and 86400, got 0",
         f"{P}.successThreshold: must be 1 for a liveness probe"],
    ),
    "a typo": ({"exec": {"command": ["true"]}, "periodSecond": 3},
               [f'{P}.periodSecond: unknown field, did you mean "periodSeconds"?']),
}  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), list(BAD.values()), ids=list(BAD))
def test_a_bad_probe_is_refused_at_its_field(raw: Any, expected: list[str]) -> None:
    assert errors_of(raw) == expected


def test_a_probe_cannot_restart_a_container_that_must_never_restart() -> None:
    assert errors_of({"exec": {"command": ["true"]}}, restartPolicy="Never") == [
        f"{P}: cannot be used with restartPolicy Never: a container that fails its liveness "
        "probe is restarted"
    ]


def test_a_probe_is_not_part_of_the_hash() -> None:
    from agent.planning.spec import build_specs

    with_probe = Manifest.from_dict(
        {
            "version": "v1beta1",
            "containers": [
                {"name": "w", "image": "b", "livenessProbe": {"exec": {"command": ["true"]}}}
            ],
        }
    )
    without = Manifest.from_dict(
        {"version": "v1beta1", "containers": [{"name": "w", "image": "b"}]}
    )
    (a,) = build_specs(with_probe.containers, "ns", "/x")
    (b,) = build_specs(without.containers, "ns", "/x")
    assert a.hash == b.hash and a.liveness_probe is not None
