"""``agent convert --to kubernetes`` without an engine: every field of the conversion, the
notes, the YAML, and every document checked against the Kubernetes client's own models,
strictly (a field name Kubernetes does not know fails)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from agent import cli
from agent.convert.kube import Conversion, documents, to_kubernetes
from agent.manifest.models import Manifest

PART_OF = "app.kubernetes.io/part-of"
INSTANCE = "app.kubernetes.io/instance"
LABELS = {
    "app.kubernetes.io/managed-by": "container-agent",
    INSTANCE: "ns",
    "app.kubernetes.io/name": "web",
}


def convert(data: dict[str, Any], namespace: str = "ns", root: str = "/export") -> Conversion:
    return to_kubernetes([Manifest.from_dict(data, source="m.yaml")], namespace, root)


def one(container: dict[str, Any], **top: Any) -> dict[str, Any]:
    """The Pod of a manifest of the one container ``container`` (named web, image x)."""
    data = {"version": "v1beta1", "containers": [{"name": "web", "image": "x", **container}]}
    pods = convert({**data, **top}).pods
    assert len(pods) == 1
    return pods[0]


def notes_of(container: dict[str, Any], **top: Any) -> list[str]:
    data = {"version": "v1beta1", "containers": [{"name": "web", "image": "x", **container}]}
    return [str(n) for n in convert({**data, **top}).notes if n.where == "m.yaml"]


# --- the strict walk against the client's models ------------------------------------------

_LIST = re.compile(r"List\[(.+)\]\Z")
_DICT = re.compile(r"Dict\[str, (.+)\]\Z")
_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "bool": (bool,),
    "float": (int, float),
    "object": (int, str),  # IntOrString, as ports and quantities are
}


def strict_problems(value: Any, kind: str, path: str = "") -> list[str]:
    """Every key of ``value`` that the model ``kind`` (V1Pod, List[V1EnvVar], ...) has no
    field of, and every value of the wrong type, recursively. The client's own
    deserializer drops unknown keys without a word; this does not."""
    if (match := _LIST.match(kind)) is not None:
        if not isinstance(value, list):
            return [f"{path}: a list expected, got {value!r}"]
        return [
            p for i, v in enumerate(value) for p in strict_problems(v, match[1], f"{path}[{i}]")
        ]
    if (match := _DICT.match(kind)) is not None:
        if not isinstance(value, dict):
            return [f"{path}: a mapping expected, got {value!r}"]
        return [p for k, v in value.items() for p in strict_problems(v, match[1], f"{path}.{k}")]
    if kind in _PRIMITIVES:
        if (isinstance(value, bool) and kind != "bool") or not isinstance(value, _PRIMITIVES[kind]):
            return [f"{path}: {kind} expected, got {value!r}"]
        return []
    model = getattr(k8s, kind)
    if not isinstance(value, dict):
        return [f"{path}: a {kind} mapping expected, got {value!r}"]
    fields = {key: attribute for attribute, key in model.attribute_map.items()}
    problems = []
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in fields:
            problems.append(f"{where}: {kind} has no field {key!r}")
        else:
            problems.extend(strict_problems(item, model.openapi_types[fields[key]], where))
    return problems


def check_pod(document: dict[str, Any]) -> k8s.V1Pod:
    """The document as the client's V1Pod, after the strict walk found nothing."""
    assert strict_problems(document, "V1Pod") == []
    pod = k8s.ApiClient().deserialize(json.dumps(document), "V1Pod", "application/json")
    assert isinstance(pod, k8s.V1Pod)
    return pod


def check_service(document: dict[str, Any]) -> k8s.V1Service:
    """The document as the client's V1Service, after the strict walk found nothing."""
    assert strict_problems(document, "V1Service") == []
    service = k8s.ApiClient().deserialize(json.dumps(document), "V1Service", "application/json")
    assert isinstance(service, k8s.V1Service)
    return service


def check_document(document: dict[str, Any]) -> k8s.V1Pod | k8s.V1Service:
    """A Pod or a Service, as its ``kind`` says, checked strictly."""
    assert document["kind"] in ("Pod", "Service")
    return check_pod(document) if document["kind"] == "Pod" else check_service(document)


FULL = {
    "version": "v1beta1",
    "id": "my-app",
    "uuid": "8c3b6d52-4bb3-4f38-9d6c-2a3e0c9d1f00",
    "containers": [
        {
            "name": "web",
            "image": "localhost/web:1",
            "imagePullPolicy": "Always",
            "restartPolicy": "OnFailure",
            "command": ["httpd", "-f", "-p", "8080"],
            "workingDir": "/srv",
            "resources": {"limits": {"memory": "256Mi", "cpu": "500m"}, "requests": {"cpu": 0.1}},
            "terminationGracePeriodSeconds": 30,
            "ports": [
                {"name": "http", "containerPort": 8080, "hostPort": 18080, "hostIp": "127.0.0.1"},
                {"containerPort": 53, "protocol": "UDP"},
            ],
            "volumeMounts": [
                {"name": "data", "path": "/data", "readOnly": True},
                {"name": "scratch", "mountPath": "/tmp/s"},
                {"name": "logs", "path": "/logs"},
            ],
            "env": [{"key": "GREETING", "value": "hello"}],
            "livenessProbe": {
                "httpGet": {"path": "/healthz", "port": "http", "httpHeaders": [
                    {"name": "X-Probe", "value": "agent"}
                ]},
                "periodSeconds": 5,
            },
        },
        {
            "name": "worker",
            "image": "localhost/worker:1",
            "memory": 64 * 1024 * 1024,
            "livenessProbe": {"exec": {"command": ["cat", "/tmp/ok"]}},
            "restartPolicy": "Always",
        },
        {
            "name": "tcp",
            "image": "x",
            "ports": [{"containerPort": 8080, "hostPort": 18081}],
            "livenessProbe": {"tcpSocket": {"port": 8080}, "initialDelaySeconds": 3},
        },
    ],
    "volumes": [
        {"name": "data"},
        {"name": "scratch", "source": {"emptyDir": {}}},
        {"name": "logs", "source": {"hostDir": {"path": "/var/log/web"}}},
    ],
}  # fmt: skip


def test_every_field_of_a_full_manifest() -> None:
    pods = convert(FULL, "shop", "/srv/volumes").pods
    assert [p["metadata"]["name"] for p in pods] == ["shop-web", "shop-worker", "shop-tcp"]
    assert pods[0] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "shop-web",
            "labels": {**LABELS, INSTANCE: "shop", PART_OF: "my-app"},
        },
        "spec": {
            "hostname": "web",
            "restartPolicy": "OnFailure",
            "terminationGracePeriodSeconds": 30,
            "containers": [
                {
                    "name": "web",
                    "image": "localhost/web:1",
                    "imagePullPolicy": "Always",
                    "args": ["httpd", "-f", "-p", "8080"],
                    "workingDir": "/srv",
                    "env": [{"name": "GREETING", "value": "hello"}],
                    "ports": [
                        {"containerPort": 8080, "hostPort": 18080, "protocol": "TCP",
                         "hostIP": "127.0.0.1", "name": "http"},
                        {"containerPort": 53, "hostPort": 53, "protocol": "UDP"},
                    ],
                    "volumeMounts": [
                        {"name": "data", "mountPath": "/data", "readOnly": True},
                        {"name": "scratch", "mountPath": "/tmp/s"},
                        {"name": "logs", "mountPath": "/logs"},
                    ],
                    "resources": {"limits": {"memory": "256Mi", "cpu": "500m"},
                                  "requests": {"cpu": "100m"}},
                    "livenessProbe": {
                        "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP",
                                    "httpHeaders": [{"name": "X-Probe", "value": "agent"}]},
                        "initialDelaySeconds": 0, "periodSeconds": 5, "timeoutSeconds": 1,
                        "failureThreshold": 3, "successThreshold": 1,
                    },
                }
            ],
            "volumes": [
                {"name": "data",
                 "hostPath": {"path": "/srv/volumes/data", "type": "DirectoryOrCreate"}},
                {"name": "scratch", "emptyDir": {}},
                {"name": "logs", "hostPath": {"path": "/var/log/web"}},
            ],
        },
    }  # fmt: skip
    worker = pods[1]["spec"]["containers"][0]
    assert worker["resources"] == {"limits": {"memory": "64Mi"}}
    assert worker["livenessProbe"]["exec"] == {"command": ["cat", "/tmp/ok"]}
    assert "args" not in worker and "ports" not in worker and "volumes" not in pods[1]["spec"]
    tcp = pods[2]["spec"]["containers"][0]["livenessProbe"]
    assert tcp["tcpSocket"] == {"port": 8080} and tcp["initialDelaySeconds"] == 3
    for pod in pods:
        check_pod(pod)


@pytest.mark.parametrize(
    ("container", "top", "path", "expected"),
    [
        ({}, {}, ("spec", "restartPolicy"), "Always"),
        ({}, {"restartPolicy": "Never"}, ("spec", "restartPolicy"), "Never"),
        ({}, {"restartPolicy": {"onFailure": {}}}, ("spec", "restartPolicy"), "OnFailure"),
        ({"restartPolicy": "Never"}, {"restartPolicy": "Always"}, ("spec", "restartPolicy"),
         "Never"),
        ({}, {}, ("c", "imagePullPolicy"), "IfNotPresent"),
        ({"imagePullPolicy": "PullNever"}, {}, ("c", "imagePullPolicy"), "Never"),
        ({"command": ["sh", "-c", "exit 0"]}, {}, ("c", "args"), ["sh", "-c", "exit 0"]),
        ({"workingDir": "/w"}, {}, ("c", "workingDir"), "/w"),
        ({"env": [{"name": "A", "value": ""}]}, {}, ("c", "env"), [{"name": "A", "value": ""}]),
        ({"ports": [{"containerPort": 80}]}, {}, ("c", "ports"),
         [{"containerPort": 80, "hostPort": 80, "protocol": "TCP"}]),
        ({"ports": [{"containerPort": 80, "hostPort": 81, "hostIP": "::1"}]}, {}, ("c", "ports"),
         [{"containerPort": 80, "hostPort": 81, "protocol": "TCP", "hostIP": "::1"}]),
        ({"cpu": 2000}, {}, ("c", "resources"), {"limits": {"cpu": "2"}}),
        ({"resources": {"limits": {"memory": "1G"}}}, {}, ("c", "resources"),
         {"limits": {"memory": "1G"}}),
        ({"resources": {"limits": {"memory": 1500 * 4096 * 3}}}, {}, ("c", "resources"),
         {"limits": {"memory": "18432k"}}),
        ({"resources": {"requests": {"memory": "64Mi"}}}, {}, ("c", "resources"),
         {"requests": {"memory": "64Mi"}}),
        ({"terminationGracePeriodSeconds": 0}, {}, ("spec", "terminationGracePeriodSeconds"), 0),
        ({}, {"id": "a.b-c"}, ("metadata", "labels"), {**LABELS, PART_OF: "a.b-c"}),
        ({}, {}, ("metadata", "labels"), LABELS),
        ({}, {}, ("spec", "hostname"), "web"),
    ],
)  # fmt: skip
def test_field(
    container: dict[str, Any], top: dict[str, Any], path: tuple[str, str], expected: Any
) -> None:
    pod = one(container, **top)
    where = pod["spec"]["containers"][0] if path[0] == "c" else pod[path[0]]
    assert where[path[1]] == expected
    check_pod(pod)


@pytest.mark.parametrize(
    "absent",
    ["args", "workingDir", "env", "ports", "volumeMounts", "resources", "livenessProbe"],
)
def test_a_field_not_given_is_left_out(absent: str) -> None:
    pod = one({})
    assert absent not in pod["spec"]["containers"][0]
    assert "terminationGracePeriodSeconds" not in pod["spec"] and "volumes" not in pod["spec"]


def test_one_pod_per_container_keeps_two_listeners_on_the_same_port() -> None:
    data = {
        "version": "v1beta1",
        "containers": [
            {"name": "a", "image": "x", "ports": [{"containerPort": 8080, "hostPort": 1}]},
            {"name": "b", "image": "x", "ports": [{"containerPort": 8080, "hostPort": 2}]},
        ],
    }
    pods = convert(data, "t").pods
    assert [len(p["spec"]["containers"]) for p in pods] == [1, 1]
    assert [p["spec"]["containers"][0]["ports"][0]["hostPort"] for p in pods] == [1, 2]


def test_a_shared_volume_is_the_same_host_directory_in_each_pod() -> None:
    data = {
        "version": "v1beta1",
        "containers": [
            {"name": "a", "image": "x", "volumeMounts": [{"name": "d", "path": "/d"}]},
            {"name": "b", "image": "x", "volumeMounts": [{"name": "d", "path": "/e"}]},
        ],
        "volumes": [{"name": "d"}],
    }
    pods = convert(data, root="/v").pods
    assert [p["spec"]["volumes"] for p in pods] == 2 * [
        [{"name": "d", "hostPath": {"path": "/v/d", "type": "DirectoryOrCreate"}}]
    ]


# --- Services --------------------------------------------------------------------------------


def test_a_service_per_container_with_ports_named_as_the_container() -> None:
    conversion = convert(FULL, "shop", "/srv/volumes")
    assert conversion.services == (
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "web",
                "labels": {**LABELS, INSTANCE: "shop", PART_OF: "my-app"},
            },
            "spec": {
                "selector": {INSTANCE: "shop", "app.kubernetes.io/name": "web"},
                "ports": [
                    {"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP"},
                    {"name": "udp-53", "port": 53, "targetPort": 53, "protocol": "UDP"},
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "tcp",
                "labels": {**LABELS, INSTANCE: "shop", "app.kubernetes.io/name": "tcp",
                           PART_OF: "my-app"},
            },
            "spec": {
                "selector": {INSTANCE: "shop", "app.kubernetes.io/name": "tcp"},
                "ports": [{"name": "tcp-8080", "port": 8080, "targetPort": 8080,
                           "protocol": "TCP"}],
            },
        },
    )  # fmt: skip
    assert conversion.documents == conversion.services + conversion.pods
    for service in conversion.services:
        check_service(service)


def test_each_service_selects_its_own_pod_and_no_other() -> None:
    conversion = convert(FULL, "shop")
    for service in conversion.services:
        selector = service["spec"]["selector"].items()
        chosen = [
            p["metadata"]["name"]
            for p in conversion.pods
            if selector <= p["metadata"]["labels"].items()
        ]
        assert chosen == [f"shop-{service['metadata']['name']}"]
        (pod,) = [p for p in conversion.pods if p["metadata"]["name"] in chosen]
        (container,) = pod["spec"]["containers"]
        assert {(p["port"], p["protocol"]) for p in service["spec"]["ports"]} == {
            (p["containerPort"], p["protocol"]) for p in container["ports"]
        }
        assert all(p["targetPort"] == p["port"] for p in service["spec"]["ports"])


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ([{"containerPort": 80}], [("tcp-80", 80, "TCP")]),
        ([{"containerPort": 80, "name": "web"}], [("web", 80, "TCP")]),
        ([{"containerPort": 80, "hostPort": 8080, "hostIp": "127.0.0.1"},
          {"containerPort": 80, "hostPort": 8080, "hostIp": "::1"}],
         [("tcp-80", 80, "TCP")]),
        ([{"containerPort": 80, "hostPort": 8080, "hostIp": "127.0.0.1"},
          {"containerPort": 80, "hostPort": 8081, "name": "web"}],
         [("web", 80, "TCP")]),
        ([{"containerPort": 53}, {"containerPort": 53, "protocol": "UDP"}],
         [("tcp-53", 53, "TCP"), ("udp-53", 53, "UDP")]),
        ([{"containerPort": 80, "name": "averyveryverylongname"}], [("tcp-80", 80, "TCP")]),
        ([{"containerPort": 81, "name": "tcp-80"}, {"containerPort": 80, "hostPort": 8080}],
         [("tcp-80", 81, "TCP"), ("tcp-80-2", 80, "TCP")]),
    ],
)  # fmt: skip
def test_service_ports(ports: list[dict[str, Any]], expected: list[tuple[str, int, str]]) -> None:
    """One Service port per containerPort and protocol, named (a Service of several ports
    must name each, uniquely), at the containerPort's own number."""
    data = {"version": "v1beta1", "containers": [{"name": "web", "image": "x", "ports": ports}]}
    (service,) = convert(data).services
    check_service(service)
    assert [(p["name"], p["port"], p["protocol"]) for p in service["spec"]["ports"]] == expected
    assert all(p["targetPort"] == p["port"] for p in service["spec"]["ports"])


def test_a_container_without_ports_has_no_service() -> None:
    data = {
        "version": "v1beta1",
        "containers": [{"name": "worker", "image": "x"}, {"name": "web", "image": "x",
                       "ports": [{"containerPort": 80}]}],
    }  # fmt: skip
    conversion = convert(data)
    assert [s["metadata"]["name"] for s in conversion.services] == ["web"]
    assert [p["metadata"]["name"] for p in conversion.pods] == ["ns-worker", "ns-web"]
    assert convert({**data, "containers": data["containers"][:1]}).services == ()


# --- notes ---------------------------------------------------------------------------------


def test_the_notes_name_file_and_field() -> None:
    notes = [str(n) for n in convert(FULL).notes]
    assert notes == [
        "m.yaml: uuid: not converted: a Pod's uid is assigned by whatever creates it",
        "m.yaml: containers[web].resources.requests: converted, and they take effect now: the "
        "scheduler places the Pod by them (the agent only checked them)",
        "m.yaml: containers[web].livenessProbe: the kubelet knocks on the Pod's address at the "
        "containerPort; the agent knocked on the published host port",
        "m.yaml: volumes[logs].source.hostDir: hostPath /var/log/web of no type: a file or a "
        "directory, bound as it is, as the agent binds it (a missing one is made a directory "
        "by the agent, and by the node's runtime or not), without the agent's "
        "--allow-host-path check",
        "m.yaml: containers[tcp].livenessProbe: the kubelet knocks on the Pod's address at the "
        "containerPort; the agent knocked on the published host port",
        "agent convert: a Service for each container with ports, named as the container, at "
        "its containerPorts: the names resolve in the cluster's namespace (a container "
        "without ports has none, and its name does not resolve)",
        "agent convert: the Pods are named ns-<name> and labelled "
        "app.kubernetes.io/managed-by=container-agent; the agent's ownership by the label "
        "io.container-agent.namespace (what it removes, what it never touches) has no "
        "equivalent: whatever runs them owns them",
    ]


@pytest.mark.parametrize("name", ["averyveryverylongname", "a--b", "web"])
def test_a_port_name_kubernetes_refuses_is_left_out_with_a_note(name: str) -> None:
    ports = [{"name": name, "containerPort": 80}]
    pod = one({"ports": ports})
    notes = notes_of({"ports": ports})
    if name == "web":
        assert pod["spec"]["containers"][0]["ports"][0]["name"] == "web" and notes == []
    else:
        assert "name" not in pod["spec"]["containers"][0]["ports"][0]
        assert notes == [
            f"m.yaml: containers[web].ports[0].name: not converted: {name!r} is no Kubernetes "
            "port name (15 characters at most, a letter, no '--'); the probes name the port "
            "by number"
        ]


def test_an_id_too_long_for_a_label_is_a_note() -> None:
    long_id = "a" * 60 + ".example"
    pod = one({}, id=long_id)
    assert pod["metadata"]["labels"] == LABELS
    assert notes_of({}, id=long_id) == [
        "m.yaml: id: not converted: longer than a label value can be (63 characters), so no "
        "app.kubernetes.io/part-of label"
    ]


def test_a_plain_manifest_has_no_notes_of_its_own() -> None:
    assert notes_of({"command": ["true"], "env": [{"key": "A", "value": "1"}]}) == []


def test_no_containers_no_pods() -> None:
    result = convert({"version": "v1beta1", "containers": []})
    assert result.pods == ()
    assert [str(n) for n in result.notes] == ["m.yaml: containers: none: no Pod"]
    assert documents(result.pods) == ""


# --- the strict walk itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda p: p["spec"]["containers"][0]["ports"][0].update(hostIp="127.0.0.1"),
         "spec.containers[0].ports[0].hostIp: V1ContainerPort has no field 'hostIp'"),
        (lambda p: p["spec"]["containers"][0].update(workdir="/srv"),
         "spec.containers[0].workdir: V1Container has no field 'workdir'"),
        (lambda p: p["spec"]["volumes"][0]["hostPath"].update(kind="Directory"),
         "spec.volumes[0].hostPath.kind: V1HostPathVolumeSource has no field 'kind'"),
        (lambda p: p["metadata"].update(label={}),
         "metadata.label: V1ObjectMeta has no field 'label'"),
        (lambda p: p["spec"]["containers"][0]["ports"][0].update(hostPort="80"),
         "spec.containers[0].ports[0].hostPort: int expected, got '80'"),
        (lambda p: p["spec"]["containers"][0]["env"][0].update(value=True),
         "spec.containers[0].env[0].value: str expected, got True"),
    ],
)  # fmt: skip
def test_the_strict_walk_fails_on_a_misspelt_field(edit: Any, problem: str) -> None:
    pod = one(
        {
            "ports": [{"containerPort": 80, "hostIp": "127.0.0.1"}],
            "env": [{"key": "A", "value": "1"}],
            "volumeMounts": [{"name": "d", "path": "/d"}],
        },
        volumes=[{"name": "d"}],
    )
    assert strict_problems(pod, "V1Pod") == []
    edit(pod)
    assert strict_problems(pod, "V1Pod") == [problem]
    text = json.dumps(pod)
    if "field" in problem:  # which the client's own deserializer lets through without a word
        assert isinstance(k8s.ApiClient().deserialize(text, "V1Pod", "application/json"), k8s.V1Pod)
    else:  # a wrong type it refuses too
        with pytest.raises(ValueError):
            k8s.ApiClient().deserialize(text, "V1Pod", "application/json")


# --- YAML and the command line ---------------------------------------------------------------


def test_documents_read_back_and_quote_what_go_takes_for_booleans() -> None:
    env = [
        {"key": k, "value": v}
        for k, v in zip("ABCDEF", ["y", "N", "yes", "on", "8080", "~"], strict=True)
    ]
    pods = convert(
        {
            "version": "v1beta1",
            "containers": [
                {"name": "a", "image": "x", "env": env, "command": ["echo", "x" * 200]},
                {"name": "b", "image": "x"},
            ],
        }
    ).pods
    text = documents(pods)
    assert text.count("\n---\n") == 1 and not text.startswith("---")
    assert list(yaml.safe_load_all(text)) == list(pods)
    for value in ("y", "N"):
        assert f'value: "{value}"' in text
    assert "x" * 200 in text  # one line: no folding


MANIFEST = """\
version: v1beta1
containers:
  - name: web
    image: localhost/web:1
    command: [httpd, -f]
    ports: [{containerPort: 8080, hostPort: 18080, hostIp: 127.0.0.1}]
    volumeMounts: [{name: data, path: /data}]
volumes: [{name: data}]
"""


def test_cli_prints_the_pods_and_the_notes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST + "uuid: 8c3b6d52-4bb3-4f38-9d6c-2a3e0c9d1f00\n")
    argv = ["convert", "--to", "kubernetes", "--namespace", "shop", "--volumes-root", "/v"]
    assert cli.main([*argv, str(path)]) == cli.EXIT_OK
    out, err = capsys.readouterr()
    service, pod = yaml.safe_load_all(out)  # the Service first
    check_service(service)
    check_pod(pod)
    assert service["metadata"]["name"] == "web"
    assert pod["metadata"]["name"] == "shop-web"
    assert pod["spec"]["volumes"][0]["hostPath"]["path"] == "/v/data"
    lines = err.splitlines()
    assert (
        lines[0]
        == f"note: {path}: uuid: not converted: a Pod's uid is assigned by whatever creates it"
    )
    assert lines[1].startswith("note: agent convert: a Service for each container with ports")
    assert lines[2].startswith("note: agent convert: the Pods are named shop-<name>")
    assert len(lines) == 3


def test_cli_an_invalid_manifest_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(MANIFEST.replace("image:", "imag:"))
    assert cli.main(["convert", "--to", "kubernetes", str(path)]) == cli.EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{path}: containers[web].imag: unknown field" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["convert", "m.yaml"], "one of the arguments --to --from is required"),
        (["convert", "--to", "compose", "m.yaml"], "argument --to: invalid choice: 'compose'"),
        (["convert", "--to", "kubernetes"], "the following arguments are required: FILE"),
    ],
)
def test_cli_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == cli.EXIT_INVALID
    assert message in capsys.readouterr().err


def test_the_command_may_come_after_options() -> None:
    argv = ["--namespace", "x", "convert", "--to", "kubernetes", "m.yaml"]
    assert cli._with_command_first(argv) == [
        "convert",
        "--namespace",
        "x",
        "--to",
        "kubernetes",
        "m.yaml",
    ]
