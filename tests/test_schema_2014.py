"""The manifest's resources and the rest of what 2014 manifests say, as tables over the
small valid manifest of :mod:`tests.test_schema`: each refused case states every error
line it expects, each accepted case one value of the built models."""

from __future__ import annotations

from typing import Any

import pytest

from agent.manifest.models import Container, EmptyDir, HostDir, Manifest, Volume, VolumeMount
from agent.manifest.schema import parse_manifest
from tests.test_schema import (
    SOURCE,
    Change,
    add_container,
    case,
    errors_of,
    manifest_with,
    mount,
    port,
    top,
    web,
)


def limits(**amounts: Any) -> Change:
    return web(resources={"limits": amounts})


def volumes(*items: dict[str, Any]) -> Change:
    return top(volumes=list(items))


def first(manifest: Manifest) -> Container:
    return manifest.containers[0]


MIN = "must be at least 6Mi, the smallest memory limit Docker and Podman accept"
CPU_MIN = "must be at least 10m: the kernel's smallest CPU quota is 1 ms of each 100 ms period"
QUANTITY = (
    "must be a quantity: a number with an optional suffix Ki, Mi, Gi, Ti, Pi, Ei (powers of "
    "1024), k, M, G, T, P, E (of 1000), m (milli) or an exponent (1e3)"
)
NOT_SUPPORTED = "is not supported by container-agent: "

REFUSED = [
    # resources
    case(
        "memory in milli -> whole bytes, with the hint",
        limits(memory="256m"),
        expect="containers[web].resources.limits.memory: must be a whole number of bytes "
        "('m' is milli; mebibytes are 256Mi), got '256m'",
    ),
    case(
        "memory below the engines' minimum -> says why",
        limits(memory="4Mi"),
        expect=f"containers[web].resources.limits.memory: {MIN}, got '4Mi'",
    ),
    case(
        "memory zero",
        limits(memory=0),
        expect="containers[web].resources.limits.memory: must be more than 0 (leave it out for "
        "no limit), got 0",
    ),
    case(
        "memory negative",
        limits(memory="-1Gi"),
        expect="containers[web].resources.limits.memory: must be more than 0 (leave it out for "
        "no limit), got '-1Gi'",
    ),
    case(
        "memory absurd",
        limits(memory="2Ei"),
        expect="containers[web].resources.limits.memory: must be at most 1Pi, got '2Ei'",
    ),
    case(
        "memory with a lower-case suffix",
        limits(memory="256mi"),
        expect=f"containers[web].resources.limits.memory: {QUANTITY}, got '256mi'",
    ),
    case(
        "memory with a space",
        limits(memory="256 Mi"),
        expect=f"containers[web].resources.limits.memory: {QUANTITY}, got '256 Mi'",
    ),
    case(
        "memory as a boolean",
        limits(memory=True),
        expect=f"containers[web].resources.limits.memory: {QUANTITY}, got a boolean",
    ),
    case(
        "an exponent out of range",
        limits(memory="1e99"),
        expect="containers[web].resources.limits.memory: must have an exponent of at most 30, "
        "got '1e99'",
    ),
    case(
        "cpu finer than 1m",
        limits(cpu="0.0105"),
        expect="containers[web].resources.limits.cpu: must be a whole number of millicores "
        "(1m at the finest), got '0.0105'",
    ),
    case(
        "cpu below the kernel's quota",
        limits(cpu="5m"),
        expect=f"containers[web].resources.limits.cpu: {CPU_MIN}, got '5m'",
    ),
    case(
        "cpu zero",
        limits(cpu="0"),
        expect="containers[web].resources.limits.cpu: must be more than 0 (leave it out for no "
        "limit), got '0'",
    ),
    case(
        "an unknown resource -> did you mean",
        limits(memroy="1Gi"),
        expect='containers[web].resources.limits.memroy: unknown field, did you mean "memory"?',
    ),
    case(
        "ephemeral-storage -> not supported",
        limits(**{"ephemeral-storage": "1Gi"}),
        expect="containers[web].resources.limits.ephemeral-storage: "
        f"{NOT_SUPPORTED}the engines' storage drivers have no per-container size limit that "
        "works everywhere",
    ),
    case(
        "unknown field of resources",
        web(resources={"limit": {"cpu": 1}}),
        expect='containers[web].resources.limit: unknown field, did you mean "limits"?',
    ),
    case(
        "resources not a mapping",
        web(resources=["1Gi"]),
        expect="containers[web].resources: must be a mapping, got a list",
    ),
    case(
        "a request above its limit",
        web(resources={"limits": {"memory": "64Mi"}, "requests": {"memory": "128Mi"}}),
        expect="containers[web].resources.requests.memory: must not be more than the limit "
        "(128Mi > 64Mi)",
    ),
    case(
        "a request above the 2014 cpu",
        web(cpu=500, resources={"requests": {"cpu": 1}}),
        expect="containers[web].resources.requests.cpu: must not be more than the limit (1 > 500m)",
    ),
    # the 2014 memory and cpu
    case(
        "2014 memory disagreeing with resources.limits.memory -> at the field",
        web(memory=134217728, resources={"limits": {"memory": "256Mi"}}),
        expect="containers[web].memory: is 128Mi but resources.limits.memory is 256Mi: give "
        "one of them, or the same value",
    ),
    case(
        "2014 cpu disagreeing with resources.limits.cpu",
        web(cpu=250, resources={"limits": {"cpu": "500m"}}),
        expect="containers[web].cpu: is 250m but resources.limits.cpu is 500m: give one of "
        "them, or the same value",
    ),
    case(
        "2014 memory as a quantity string",
        web(memory="256Mi"),
        expect="containers[web].memory: must be an integer (bytes), got a quantity string",
    ),
    case(
        "2014 cpu as a float",
        web(cpu=0.5),
        expect="containers[web].cpu: must be an integer (millicores), got 0.5",
    ),
    case(
        "2014 cpu below the kernel's quota -> its value as given",
        web(cpu=5),
        expect=f"containers[web].cpu: {CPU_MIN}, got 5",
    ),
    case(
        "2014 memory below the minimum",
        web(memory=1024),
        expect=f"containers[web].memory: {MIN}, got 1024",
    ),
    # terminationGracePeriodSeconds
    case(
        "grace period negative",
        web(terminationGracePeriodSeconds=-1),
        expect="containers[web].terminationGracePeriodSeconds: must be between 0 and 86400 (a "
        "day), got -1",
    ),
    case(
        "grace period as a string",
        web(terminationGracePeriodSeconds="30"),
        expect="containers[web].terminationGracePeriodSeconds: must be an integer, got '30' "
        "(a string)",
    ),
    # restartPolicy as a mapping
    case(
        "restartPolicy mapping with two keys",
        top(restartPolicy={"always": {}, "never": {}}),
        expect="restartPolicy: must have exactly one of always, onFailure, never",
    ),
    case(
        "restartPolicy empty mapping",
        web(restartPolicy={}),
        expect="containers[web].restartPolicy: must have exactly one of always, onFailure, never",
    ),
    case(
        "restartPolicy mapping with an unknown key -> did you mean",
        top(restartPolicy={"onfailure": {}}),
        expect='restartPolicy.onfailure: unknown field, did you mean "onFailure"?',
    ),
    case(
        "restartPolicy mapping whose value is not empty",
        web(restartPolicy={"onFailure": {"maxRetries": 3}}),
        expect="containers[web].restartPolicy.onFailure: must be an empty mapping ({})",
    ),
    case(
        "restartPolicy as an unknown word",
        web(restartPolicy="always"),
        expect="containers[web].restartPolicy: must be one of Always, OnFailure, Never, got "
        "'always'",
    ),
    # imagePullPolicy
    case(
        "imagePullPolicy as an unknown word",
        web(imagePullPolicy="PullSometimes"),
        expect="containers[web].imagePullPolicy: must be one of IfNotPresent, Always, Never, "
        "got 'PullSometimes'",
    ),
    # hostIP
    case(
        "hostIP and hostIp both",
        port(hostIp="127.0.0.1", hostIP="127.0.0.1"),
        expect='containers[web].ports[0].hostIP: is given twice, as "hostIp" and as "hostIP"',
    ),
    case(
        "hostIP not an address -> at hostIp",
        port(hostIP="localhost"),
        expect="containers[web].ports[0].hostIp: must be an IPv4 or IPv6 address, got 'localhost'",
    ),
    # uuid
    case(
        "uuid not a UUID",
        top(uuid="1234"),
        expect="uuid: must be a UUID such as 8c3b6d52-4bb3-4f38-9d6c-2a3e0c9d1f00, got '1234'",
    ),
    case(
        "uuid not a string",
        top(uuid=5),
        expect="uuid: must be a string, got 5 (an integer)",
    ),
    # volume sources
    case(
        "a source with two kinds",
        volumes({"name": "data", "source": {"emptyDir": {}, "hostDir": {"path": "/srv"}}}),
        expect="volumes[0].source: must have exactly one of emptyDir, hostDir",
    ),
    case(
        "an empty source",
        volumes({"name": "data", "source": {}}),
        expect="volumes[0].source: must have exactly one of emptyDir, hostDir",
    ),
    case(
        "a hostDir without a path",
        volumes({"name": "data", "source": {"hostDir": {}}}),
        expect="volumes[0].source.hostDir.path: is required",
    ),
    case(
        "a relative hostDir",
        volumes({"name": "data", "source": {"hostDir": {"path": "srv/data"}}}),
        expect="volumes[0].source.hostDir.path: must be an absolute path, got 'srv/data'",
    ),
    case(
        "a hostDir with '..'",
        volumes({"name": "data", "source": {"hostDir": {"path": "/srv/../etc"}}}),
        expect="volumes[0].source.hostDir.path: must be a normal path (no '.', '..' or '//' in "
        "it), got '/srv/../etc'",
    ),
    case(
        "a hostDir with a comma",
        volumes({"name": "data", "source": {"hostDir": {"path": "/srv/a,b"}}}),
        expect="volumes[0].source.hostDir.path: must not contain a comma, a double quote or a "
        "control character (such as a line break), got '/srv/a,b'",
    ),
    case(
        "an emptyDir of another medium than Memory",
        volumes({"name": "data", "source": {"emptyDir": {"medium": "Disk"}}}),
        expect="volumes[0].source.emptyDir.medium: must be Memory (a tmpfs) or left out (an "
        "engine volume), got 'Disk'",
    ),
    case(
        "a gcePersistentDisk -> not supported",
        volumes({"name": "data", "source": {"gcePersistentDisk": {"pdName": "x"}}}),
        expect=f"volumes[0].source.gcePersistentDisk: {NOT_SUPPORTED}there is no cloud disk to "
        "attach on one host; use hostDir",
    ),
    case(
        "a gitRepo -> not supported",
        volumes({"name": "data", "source": {"gitRepo": {"repository": "x"}}}),
        expect=f"volumes[0].source.gitRepo: {NOT_SUPPORTED}the agent clones nothing; check the "
        "repository out on the host and use hostDir",
    ),
    case(
        "an emptyDir mounted by two containers",
        volumes({"name": "data", "source": {"emptyDir": {}}}),
        add_container(
            name="api", image="api", volumeMounts=[{"name": "data", "mountPath": "/scratch"}]
        ),
        expect="containers[api].volumeMounts[0].name: emptyDir volume 'data' is mounted already "
        "at containers[web].volumeMounts[0]: an emptyDir is the scratch space of one mount of "
        "one container (a volume without a source is a shared host directory)",
    ),
    case(
        "volumeMounts[].mountType -> not supported",
        mount(name="data", path="/data", mountType="LOCAL"),
        expect=f"containers[web].volumeMounts[0].mountType: {NOT_SUPPORTED}it was deprecated in "
        "v1beta1: the volume's source says what is mounted",
    ),
    # refused on purpose
    case(
        "privileged that is not a boolean",
        web(privileged="yes"),
        expect="containers[web].privileged: must be true or false, got 'yes' (a string)",
    ),
    case(
        "lifecycle",
        web(lifecycle={"preStop": {"exec": {"command": ["x"]}}}),
        expect=f"containers[web].lifecycle: {NOT_SUPPORTED}postStart and preStop hooks are not "
        "run (the container's own process handles SIGTERM; terminationGracePeriodSeconds sets "
        "how long it gets)",
    ),
    case(
        "capabilities",
        web(capabilities={"add": ["NET_ADMIN"]}),
        expect=f"containers[web].capabilities: {NOT_SUPPORTED}the engine's default capabilities "
        "are used; adding some is not offered",
    ),
    case(
        "securityContext",
        web(securityContext={}),
        expect=f"containers[web].securityContext: {NOT_SUPPORTED}the engine's default security "
        "settings are used; privileged is a container's field here (allowed with "
        "--allow-privileged)",
    ),
    case(
        "readinessProbe",
        web(readinessProbe={}),
        expect=f"containers[web].readinessProbe: {NOT_SUPPORTED}readiness gates traffic behind "
        "a Service, and there is none here",
    ),
    case(
        "terminationMessagePath",
        web(terminationMessagePath="/dev/termination-log"),
        expect=f"containers[web].terminationMessagePath: {NOT_SUPPORTED}termination messages "
        "are not collected (see the engine's logs)",
    ),
    case(
        "dnsPolicy at the top",
        top(dnsPolicy="Default"),
        expect=f"dnsPolicy: {NOT_SUPPORTED}containers use the engine's DNS settings",
    ),
    case(
        "hostNetwork at the top",
        top(hostNetwork=True),
        expect=f"hostNetwork: {NOT_SUPPORTED}it is a container's field here "
        "(containers[].hostNetwork, allowed with --allow-host-network)",
    ),
    case(
        "a near miss of a refused field is still a did-you-mean of known ones",
        web(imagePulPolicy="Always"),
        expect='containers[web].imagePulPolicy: unknown field, did you mean "imagePullPolicy"?',
    ),
]


@pytest.mark.parametrize(("changes", "expected"), REFUSED)
def test_refused(changes: tuple[Change, ...], expected: str | tuple[str, ...]) -> None:
    lines = (expected,) if isinstance(expected, str) else expected
    assert errors_of(manifest_with(*changes)) == [f"{SOURCE}: {line}" for line in lines]


ACCEPTED = [
    case(
        "resources.limits with Kubernetes quantities",
        limits(memory="256Mi", cpu="500m"),
        expect=(lambda m: (first(m).memory, first(m).cpu), (268435456, 500)),
    ),
    case(
        "decimal and exponent quantities",
        limits(memory="1e9", cpu="1.5"),
        expect=(lambda m: (first(m).memory, first(m).cpu), (10**9, 1500)),
    ),
    case(
        "numbers as YAML gives them",
        limits(memory=67108864, cpu=0.25),
        expect=(lambda m: (first(m).memory, first(m).cpu), (67108864, 250)),
    ),
    case(
        "decimal suffixes: 128M, 2k of a core in milli is 2 cores",
        limits(memory="128M", cpu="2000m"),
        expect=(lambda m: (first(m).memory, first(m).cpu), (128 * 10**6, 2000)),
    ),
    case(
        "the 2014 fields: memory in bytes, cpu in millicores",
        web(memory=268435456, cpu=250),
        expect=(lambda m: (first(m).memory, first(m).cpu), (268435456, 250)),
    ),
    case(
        "the 2014 field and the limit agreeing",
        web(memory=268435456, resources={"limits": {"memory": "256Mi"}}),
        expect=(lambda m: first(m).memory, 268435456),
    ),
    case(
        "requests, checked and kept",
        web(resources={"limits": {"cpu": 1}, "requests": {"cpu": "250m", "memory": "64Mi"}}),
        expect=(lambda m: (first(m).cpu_request, first(m).memory_request), (250, 67108864)),
    ),
    case(
        "no resources -> no limits",
        expect=(lambda m: (first(m).memory, first(m).cpu), (None, None)),
    ),
    case(
        "terminationGracePeriodSeconds 0",
        web(terminationGracePeriodSeconds=0),
        expect=(lambda m: first(m).termination_grace_period, 0),
    ),
    case(
        "restartPolicy {onFailure: {}} at the top",
        top(restartPolicy={"onFailure": {}}),
        expect=(lambda m: first(m).restart_policy, "OnFailure"),
    ),
    case(
        "restartPolicy {never: {}} on the container",
        web(restartPolicy={"never": {}}),
        expect=(lambda m: first(m).restart_policy, "Never"),
    ),
    case(
        "restartPolicy `never:` with nothing after it",
        web(restartPolicy={"never": None}),
        expect=(lambda m: first(m).restart_policy, "Never"),
    ),
    case(
        "restartPolicy {always: {}} overriding the manifest's",
        top(restartPolicy="Never"),
        web(restartPolicy={"always": {}}),
        expect=(lambda m: first(m).restart_policy, "Always"),
    ),
    case(
        "imagePullPolicy PullAlways",
        web(imagePullPolicy="PullAlways"),
        expect=(lambda m: first(m).image_pull_policy, "Always"),
    ),
    case(
        "imagePullPolicy PullNever",
        web(imagePullPolicy="PullNever"),
        expect=(lambda m: first(m).image_pull_policy, "Never"),
    ),
    case(
        "imagePullPolicy PullIfNotPresent",
        web(imagePullPolicy="PullIfNotPresent"),
        expect=(lambda m: first(m).image_pull_policy, "IfNotPresent"),
    ),
    case(
        "hostIP as hostIp",
        port(hostIP="127.0.0.1"),
        expect=(lambda m: first(m).ports[0].host_ip, "127.0.0.1"),
    ),
    case(
        "uuid",
        top(uuid="8C3B6D52-4bb3-4f38-9d6c-2a3e0c9d1f00"),
        expect=(lambda m: m.uuid, "8C3B6D52-4bb3-4f38-9d6c-2a3e0c9d1f00"),
    ),
    case(
        "an emptyDir, carried by its mount",
        volumes({"name": "data", "source": {"emptyDir": {}}}),
        expect=(
            lambda m: (m.volumes, first(m).volume_mounts),
            (
                (Volume("data", EmptyDir()),),
                (VolumeMount("data", "/data", False, EmptyDir()),),
            ),
        ),
    ),
    case(
        "an emptyDir written `emptyDir:` with nothing after it",
        volumes({"name": "data", "source": {"emptyDir": None}}),
        expect=(lambda m: m.volumes, (Volume("data", EmptyDir()),)),
    ),
    case(
        "a hostDir, its trailing slash dropped",
        volumes({"name": "data", "source": {"hostDir": {"path": "/srv/data/"}}}),
        expect=(lambda m: first(m).volume_mounts[0].source, HostDir("/srv/data")),
    ),
    case(
        "a null source is none",
        volumes({"name": "data", "source": None}),
        expect=(lambda m: m.volumes, (Volume("data"),)),
    ),
]


@pytest.mark.parametrize(("changes", "expected"), ACCEPTED)
def test_accepted(changes: tuple[Change, ...], expected: tuple[Any, Any]) -> None:
    read, value = expected
    assert read(parse_manifest(manifest_with(*changes), SOURCE)) == value


def test_a_2014_manifest_reads_whole() -> None:
    """A manifest as Google's 2014 container-agent took it, with every field it ran."""
    data = {
        "version": "v1beta1",
        "id": "guestbook",
        "uuid": "8c3b6d52-4bb3-4f38-9d6c-2a3e0c9d1f00",
        "restartPolicy": {"onFailure": {}},
        "volumes": [
            {"name": "scratch", "source": {"emptyDir": {}}},
            {"name": "logs", "source": {"hostDir": {"path": "/var/log/guestbook"}}},
        ],
        "containers": [
            {
                "name": "redis",
                "image": "redis",
                "memory": 134217728,
                "cpu": 500,
                "imagePullPolicy": "PullIfNotPresent",
                "terminationGracePeriodSeconds": 5,
                "ports": [{"containerPort": 6379, "hostPort": 6379, "hostIP": "127.0.0.1"}],
                "volumeMounts": [
                    {"name": "scratch", "mountPath": "/data"},
                    {"name": "logs", "mountPath": "/logs", "readOnly": True},
                ],
            }
        ],
    }
    manifest = parse_manifest(data, SOURCE)
    (redis,) = manifest.containers
    assert manifest.uuid == "8c3b6d52-4bb3-4f38-9d6c-2a3e0c9d1f00"
    assert (redis.memory, redis.cpu, redis.termination_grace_period) == (134217728, 500, 5)
    assert redis.restart_policy == "OnFailure"
    assert redis.image_pull_policy == "IfNotPresent"
    assert redis.ports[0].host_ip == "127.0.0.1"
    assert [m.source for m in redis.volume_mounts] == [EmptyDir(), HostDir("/var/log/guestbook")]
