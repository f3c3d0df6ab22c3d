"""Every validation rule of the manifest, as tables of sentences over one small valid manifest.

Each case deep-copies ``BASE`` and applies one change. Refused cases state every
line of the error they expect (``SOURCE: path: message``), in order; accepted
cases state one value of the built models.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agent.errors import ManifestError, MultiSourceError
from agent.manifest.models import Container, EnvVar, Manifest, Port, Volume, VolumeMount
from agent.manifest.ports import HostClaims, port_conflict
from agent.manifest.schema import MAX_ERRORS, parse_manifest
from agent.sources.conflicts import settle
from agent.sources.load import merge

SOURCE = "shop.yaml"
DIGEST = "sha256:" + "0123456789abcdef" * 4

BASE: dict[str, Any] = {
    "version": "v1beta1",
    "id": "shop.example.com",
    "volumes": [{"name": "data"}],
    "containers": [
        {
            "name": "web",
            "image": "nginx:1.25",
            "ports": [{"containerPort": 80}],
            "volumeMounts": [{"name": "data", "path": "/data"}],
            "env": [{"key": "MODE", "value": "prod"}],
        }
    ],
}

Change = Callable[[dict[str, Any]], None]


def manifest_with(*changes: Change) -> dict[str, Any]:
    """A deep copy of ``BASE`` with ``changes`` applied in order."""
    data = copy.deepcopy(BASE)
    for change in changes:
        change(data)
    return data


def top(**fields: Any) -> Change:
    """Set top-level fields."""
    return lambda m: m.update(fields)


def drop(*keys: str) -> Change:
    """Remove top-level fields."""

    def change(m: dict[str, Any]) -> None:
        for key in keys:
            del m[key]

    return change


def web(**fields: Any) -> Change:
    """Set fields of the container ``web``."""
    return lambda m: m["containers"][0].update(fields)


def web_without(*keys: str) -> Change:
    """Remove fields of the container ``web``."""

    def change(m: dict[str, Any]) -> None:
        for key in keys:
            del m["containers"][0][key]

    return change


def port(**fields: Any) -> Change:
    """Set fields of the first port of ``web``."""
    return lambda m: m["containers"][0]["ports"][0].update(fields)


def ports(*items: dict[str, Any]) -> Change:
    """Replace the ports of ``web``."""
    return web(ports=list(items))


def mount(**fields: Any) -> Change:
    """Replace the first volume mount of ``web``."""
    return lambda m: m["containers"][0]["volumeMounts"].__setitem__(0, fields)


def env(*items: dict[str, Any]) -> Change:
    """Replace the env of ``web``."""
    return web(env=list(items))


def add_container(**fields: Any) -> Change:
    return lambda m: m["containers"].append(fields)


def rfc1035(value: str) -> str:
    return (
        "must be an RFC 1035 name (lower case letters, digits and '-', starting with a letter, "
        f"at most 63 characters), got {value!r}"
    )


def path_message(value: str) -> str:
    return (
        "must not contain a comma, a double quote or a control character (such as a line "
        f"break), got {value!r}"
    )


def image_message(value: str) -> str:
    return f"must be an image reference like 'registry/name:tag', got {value!r}"


def errors_of(data: Any) -> list[str]:
    """The lines of the ManifestError that ``data`` raises."""
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data, SOURCE)
    assert caught.value.source == SOURCE
    return str(caught.value).splitlines()


def case(sentence: str, *changes: Change, expect: Any) -> Any:
    return pytest.param(changes, expect, id=sentence)


# --- refused: each case states every error line it expects ---------------------------------

REFUSED = [
    # version
    case("version missing -> required", drop("version"), expect="version: is required"),
    case(
        "unsupported version -> lists the supported ones",
        top(version="v2"),
        expect="version: unsupported 'v2', supported: v1beta1",
    ),
    case(
        "version given as a number -> must be a string",
        top(version=1),
        expect="version: must be a string, got 1 (an integer)",
    ),
    # id
    case(
        "id with upper case -> not a DNS subdomain",
        top(id="Shop"),
        expect="id: must be a DNS subdomain name, got 'Shop'",
    ),
    case(
        "id with an empty label -> not a DNS subdomain",
        top(id="shop..example"),
        expect="id: must be a DNS subdomain name, got 'shop..example'",
    ),
    case(
        "id starting with '-' -> not a DNS subdomain",
        top(id="-shop"),
        expect="id: must be a DNS subdomain name, got '-shop'",
    ),
    case(
        "id of 254 characters -> not a DNS subdomain",
        top(id="a" * 254),
        expect=f"id: must be a DNS subdomain name, got {'a' * 254!r}",
    ),
    # container name
    case(
        "container without a name -> required",
        web_without("name"),
        expect="containers[0].name: is required",
    ),
    case(
        "container name in upper case -> RFC 1035",
        web(name="Web"),
        expect=f"containers[0].name: {rfc1035('Web')}",
    ),
    case(
        "container name starting with a digit -> RFC 1035",
        web(name="1web"),
        expect=f"containers[0].name: {rfc1035('1web')}",
    ),
    case(
        "container name of 64 characters -> RFC 1035",
        web(name="w" * 64),
        expect=f"containers[0].name: {rfc1035('w' * 64)}",
    ),
    case(
        "container name with an underscore -> RFC 1035",
        web(name="my_web"),
        expect=f"containers[0].name: {rfc1035('my_web')}",
    ),
    case(
        "container name ending in '-' -> RFC 1035",
        web(name="web-"),
        expect=f"containers[0].name: {rfc1035('web-')}",
    ),
    case(
        "two containers named web -> not unique",
        add_container(name="web", image="redis"),
        expect="containers[1].name: container name 'web' is not unique",
    ),
    case(
        "three containers named web -> each repeat at its index",
        add_container(name="web", image="redis"),
        add_container(name="web", image="redis"),
        expect=(
            "containers[1].name: container name 'web' is not unique",
            "containers[2].name: container name 'web' is not unique",
        ),
    ),
    case(
        "two containers named web -> each named by its index, not by the name they share",
        web(workingDir="srv"),
        add_container(name="web"),
        expect=(
            "containers[0].workingDir: must be an absolute path, got 'srv'",
            "containers[1].image: is required",
        ),
    ),
    # image
    case(
        "container without image -> required",
        web_without("image"),
        expect=("containers[web].image: is required"),
    ),
    case(
        "image starting with '-' -> not a reference",
        web(image="-nginx"),
        expect=f"containers[web].image: {image_message('-nginx')}",
    ),
    case(
        "image with a space -> not a reference",
        web(image="my nginx"),
        expect=f"containers[web].image: {image_message('my nginx')}",
    ),
    case(
        "image repository in upper case -> not a reference",
        web(image="library/Nginx:1.25"),
        expect=f"containers[web].image: {image_message('library/Nginx:1.25')}",
    ),
    case(
        "image with an empty tag -> not a reference",
        web(image="nginx:"),
        expect=f"containers[web].image: {image_message('nginx:')}",
    ),
    case(
        "empty image -> not a reference",
        web(image=""),
        expect=f"containers[web].image: {image_message('')}",
    ),
    case(
        "image of 256 characters -> not a reference",
        web(image="n" * 256),
        expect=f"containers[web].image: {image_message('n' * 256)}",
    ),
    case(
        "image as a number -> must be a string",
        web(image=123),
        expect="containers[web].image: must be a string, got 123 (an integer)",
    ),
    # command
    case(
        "command as a string -> must be a list",
        web(command="nginx -g"),
        expect="containers[web].command: must be a list, got 'nginx -g' (a string)",
    ),
    case(
        "command with an integer item -> must be a string",
        web(command=["sleep", 10]),
        expect="containers[web].command[1]: must be a string, got 10 (an integer)",
    ),
    case(
        "command item with a NUL -> refused",
        web(command=["echo", "a\x00b"]),
        expect="containers[web].command[1]: must not contain a NUL character",
    ),
    case(
        "command item with a lone surrogate -> refused (no process can be given it)",
        web(command=["echo", "a\ud800"]),
        expect="containers[web].command[1]: must be valid Unicode (it holds a lone surrogate "
        "code point)",
    ),
    # workingDir
    case(
        "relative workingDir -> must be absolute",
        web(workingDir="srv/app"),
        expect="containers[web].workingDir: must be an absolute path, got 'srv/app'",
    ),
    case(
        "workingDir of 513 characters -> too long",
        web(workingDir="/" + "d" * 512),
        expect="containers[web].workingDir: must be at most 512 characters, got 513",
    ),
    case(
        "workingDir with a comma -> refused",
        web(workingDir="/srv,app"),
        expect="containers[web].workingDir: " + path_message("/srv,app"),
    ),
    case(
        "workingDir with a line break -> refused",
        web(workingDir="/srv\napp"),
        expect="containers[web].workingDir: " + path_message("/srv\napp"),
    ),
    case(
        "workingDir with a double quote -> refused",
        web(workingDir='/srv"app'),
        expect="containers[web].workingDir: " + path_message('/srv"app'),
    ),
    case(
        "workingDir with a tab -> refused",
        web(workingDir="/srv\tapp"),
        expect="containers[web].workingDir: " + path_message("/srv\tapp"),
    ),
    case(
        "workingDir with a NUL -> refused",
        web(workingDir="/srv\x00"),
        expect="containers[web].workingDir: must not contain a NUL character",
    ),
    case(
        "workingDir starting with '-' -> must be absolute",
        web(workingDir="-v"),
        expect="containers[web].workingDir: must be an absolute path, got '-v'",
    ),
    case(
        "workingDir null -> must be a string",
        web(workingDir=None),
        expect="containers[web].workingDir: must be a string, got null",
    ),
    # ports: numbers
    case(
        "port without containerPort -> required",
        ports({"hostPort": 8080}),
        expect="containers[web].ports[0].containerPort: is required",
    ),
    case(
        "containerPort 0 -> out of range",
        port(containerPort=0),
        expect="containers[web].ports[0].containerPort: must be between 1 and 65535, got 0",
    ),
    case(
        "containerPort 70000 -> out of range",
        port(containerPort=70000),
        expect="containers[web].ports[0].containerPort: must be between 1 and 65535, got 70000",
    ),
    case(
        "containerPort as the string '80' -> must be an integer",
        port(containerPort="80"),
        expect="containers[web].ports[0].containerPort: must be an integer, got '80' (a string)",
    ),
    case(
        "containerPort 10**5000 -> out of range, not printed",
        port(containerPort=10**5000),
        expect="containers[web].ports[0].containerPort: must be between 1 and 65535, "
        "got a very large integer",
    ),
    case(
        "image as a very large integer -> must be a string, not printed",
        web(image=-(10**5000)),
        expect="containers[web].image: must be a string, got a very large integer",
    ),
    case(
        "containerPort true -> must be an integer, not a bool",
        port(containerPort=True),
        expect="containers[web].ports[0].containerPort: must be an integer, got true (a boolean)",
    ),
    case(
        "containerPort 80.0 -> must be an integer",
        port(containerPort=80.0),
        expect="containers[web].ports[0].containerPort: must be an integer, got 80.0 (a number)",
    ),
    case(
        "hostPort 0 -> out of range",
        port(hostPort=0),
        expect="containers[web].ports[0].hostPort: must be between 1 and 65535, got 0",
    ),
    case(
        "hostPort 65536 -> out of range",
        port(hostPort=65536),
        expect="containers[web].ports[0].hostPort: must be between 1 and 65535, got 65536",
    ),
    # ports: hostIp and protocol
    case(
        "hostIp 300.1.1.1 -> not an address",
        port(hostIp="300.1.1.1"),
        expect="containers[web].ports[0].hostIp: must be an IPv4 or IPv6 address, got '300.1.1.1'",
    ),
    case(
        "hostIp localhost -> not an address",
        port(hostIp="localhost"),
        expect="containers[web].ports[0].hostIp: must be an IPv4 or IPv6 address, got 'localhost'",
    ),
    case(
        "hostIp as a number -> must be a string",
        port(hostIp=2130706433),
        expect="containers[web].ports[0].hostIp: must be a string, got 2130706433 (an integer)",
    ),
    case(
        "protocol SCTP -> TCP or UDP only",
        port(protocol="SCTP"),
        expect="containers[web].ports[0].protocol: must be TCP or UDP, got 'SCTP'",
    ),
    # ports: names
    case(
        "port name in upper case -> RFC 1035",
        port(name="HTTP"),
        expect=f"containers[web].ports[0].name: {rfc1035('HTTP')}",
    ),
    case(
        "two ports named http in one container -> not unique",
        ports(
            {"name": "http", "containerPort": 80},
            {"name": "http", "containerPort": 8080},
        ),
        expect="containers[web].ports[1].name: port name 'http' is not unique",
    ),
    # ports: bindings in one container
    case(
        "same host port twice in one container -> published twice",
        ports({"containerPort": 80}, {"containerPort": 8080, "hostPort": 80}),
        expect="containers[web].ports[1]: host port *:80/TCP is published twice",
    ),
    case(
        "same specific IP and port twice in one container -> published twice",
        ports(
            {"containerPort": 80, "hostIp": "127.0.0.1"},
            {"containerPort": 81, "hostPort": 80, "hostIp": "127.0.0.1"},
        ),
        expect="containers[web].ports[1]: host port 127.0.0.1:80/TCP is published twice",
    ),
    case(
        "a specific IP after a wildcard that clashed -> published twice, both",
        ports(
            {"containerPort": 80, "hostIp": "127.0.0.1"},
            {"containerPort": 81, "hostPort": 80},
            {"containerPort": 82, "hostPort": 80, "hostIp": "127.0.0.2"},
        ),
        expect=(
            "containers[web].ports[1]: host port *:80/TCP is published twice",
            "containers[web].ports[2]: host port 127.0.0.2:80/TCP is published twice",
        ),
    ),
    case(
        "wildcard after a specific IP on the same port -> published twice",
        ports({"containerPort": 80, "hostIp": "127.0.0.1"}, {"containerPort": 81, "hostPort": 80}),
        expect="containers[web].ports[1]: host port *:80/TCP is published twice",
    ),
    case(
        "an IPv6 address written two ways -> published twice, shown in brackets",
        ports(
            {"containerPort": 80, "hostIp": "::1"},
            {"containerPort": 81, "hostPort": 80, "hostIp": "0:0:0:0:0:0:0:1"},
        ),
        expect="containers[web].ports[1]: host port [::1]:80/TCP is published twice",
    ),
    case(
        "UDP port twice, spelled in two cases -> published twice",
        ports(
            {"containerPort": 53, "protocol": "udp"},
            {"containerPort": 54, "hostPort": 53, "protocol": "UDP"},
        ),
        expect="containers[web].ports[1]: host port *:53/UDP is published twice",
    ),
    case(
        "same host port twice after an invalid port -> the repeat at its own index",
        ports({"containerPort": 0}, {"containerPort": 80}, {"containerPort": 81, "hostPort": 80}),
        expect=(
            "containers[web].ports[0].containerPort: must be between 1 and 65535, got 0",
            "containers[web].ports[2]: host port *:80/TCP is published twice",
        ),
    ),
    case(
        "same port name twice after an invalid port -> the repeat at its own index",
        ports(
            {"containerPort": 0},
            {"name": "http", "containerPort": 80},
            {"name": "http", "containerPort": 8080},
        ),
        expect=(
            "containers[web].ports[0].containerPort: must be between 1 and 65535, got 0",
            "containers[web].ports[2].name: port name 'http' is not unique",
        ),
    ),
    # ports: bindings across containers
    case(
        "host port of web claimed again by db -> also published",
        add_container(
            name="db", image="postgres:16", ports=[{"containerPort": 5432, "hostPort": 80}]
        ),
        expect="containers[db].ports[0]: host port *:80/TCP is also published by container 'web'",
    ),
    case(
        "the second port of db on the port of web -> also published, at its index",
        add_container(
            name="db",
            image="postgres:16",
            ports=[{"containerPort": 5432}, {"containerPort": 8080, "hostPort": 80}],
        ),
        expect="containers[db].ports[1]: host port *:80/TCP is also published by container 'web'",
    ),
    case(
        "a port of the second of two containers named db -> at the container's index",
        add_container(name="db", image="postgres:16"),
        add_container(name="db", image="postgres:16", ports=[{"containerPort": 80}]),
        expect=(
            "containers[2].name: container name 'db' is not unique",
            "containers[2].ports[0]: host port *:80/TCP is also published by container 'web'",
        ),
    ),
    case(
        "specific IP in db on the wildcard port of web -> also published",
        add_container(
            name="db", image="postgres:16", ports=[{"containerPort": 80, "hostIp": "10.0.0.1"}]
        ),
        expect="containers[db].ports[0]: host port 10.0.0.1:80/TCP is also published by "
        "container 'web'",
    ),
    case(
        "a port claimed by web and by db -> the first claimer is named",
        add_container(name="db", image="postgres:16", ports=[{"containerPort": 5432}]),
        add_container(
            name="cache",
            image="redis",
            ports=[{"containerPort": 80}, {"containerPort": 5432}],
        ),
        expect=(
            "containers[cache].ports[0]: host port *:80/TCP is also published by container 'web'",
            "containers[cache].ports[1]: host port *:5432/TCP is also published by container 'db'",
        ),
    ),
    case(
        "wildcard in db on a specific-IP port of web -> also published",
        port(hostIp="10.0.0.1"),
        add_container(name="db", image="postgres:16", ports=[{"containerPort": 80}]),
        expect="containers[db].ports[0]: host port *:80/TCP is also published by container 'web'",
    ),
    # volumeMounts
    case(
        "mount of an undeclared volume -> names no declared volume",
        mount(name="logs", path="/logs"),
        expect="containers[web].volumeMounts[0].name: names no declared volume: 'logs'",
    ),
    case(
        "mount with both path and mountPath -> given twice",
        mount(name="data", path="/data", mountPath="/srv"),
        expect='containers[web].volumeMounts[0].mountPath: is given twice, as "path" and as '
        '"mountPath"',
    ),
    case(
        "mount without a path -> required",
        mount(name="data"),
        expect="containers[web].volumeMounts[0].path: is required",
    ),
    case(
        "relative mount path -> must be absolute",
        mount(name="data", path="data"),
        expect="containers[web].volumeMounts[0].path: must be an absolute path, got 'data'",
    ),
    case(
        "mount path starting with '-' -> must be absolute",
        mount(name="data", path="-x"),
        expect="containers[web].volumeMounts[0].path: must be an absolute path, got '-x'",
    ),
    case(
        "mount path with a comma -> refused (it would add a --mount option)",
        mount(name="data", path="/a,b"),
        expect="containers[web].volumeMounts[0].path: " + path_message("/a,b"),
    ),
    case(
        "mount path with a double quote -> refused (--mount is CSV)",
        mount(name="data", path='/a"b'),
        expect="containers[web].volumeMounts[0].path: " + path_message('/a"b'),
    ),
    case(
        "mount path with a line break -> refused",
        mount(name="data", path="/data\n/etc"),
        expect="containers[web].volumeMounts[0].path: " + path_message("/data\n/etc"),
    ),
    case(
        "relative mountPath -> reported at path",
        mount(name="data", mountPath="data"),
        expect="containers[web].volumeMounts[0].path: must be an absolute path, got 'data'",
    ),
    case(
        "readOnly 'yes' -> must be a bool",
        mount(name="data", path="/data", readOnly="yes"),
        expect="containers[web].volumeMounts[0].readOnly: must be true or false, "
        "got 'yes' (a string)",
    ),
    case(
        "readOnly 1 -> must be a bool",
        mount(name="data", path="/data", readOnly=1),
        expect="containers[web].volumeMounts[0].readOnly: must be true or false, "
        "got 1 (an integer)",
    ),
    case(
        "two mounts at one path -> not unique",
        web(
            volumeMounts=[
                {"name": "data", "path": "/data"},
                {"name": "data", "mountPath": "/data"},
            ]
        ),
        expect="containers[web].volumeMounts[1].path: mount path '/data' is not unique",
    ),
    case(
        "mount of an undeclared volume after an invalid mount -> at its own index",
        web(volumeMounts=[{"name": "data"}, {"name": "logs", "path": "/logs"}]),
        expect=(
            "containers[web].volumeMounts[0].path: is required",
            "containers[web].volumeMounts[1].name: names no declared volume: 'logs'",
        ),
    ),
    case(
        "mount name in upper case -> RFC 1035",
        mount(name="Data", path="/data"),
        expect=f"containers[web].volumeMounts[0].name: {rfc1035('Data')}",
    ),
    # env
    case(
        "env with both key and name -> given twice",
        env({"key": "MODE", "name": "MODE", "value": "prod"}),
        expect='containers[web].env[0].name: is given twice, as "key" and as "name"',
    ),
    case(
        "env key starting with a digit -> not a C identifier",
        env({"key": "1MODE", "value": "prod"}),
        expect="containers[web].env[0].key: must be a C identifier (letters, digits, '_'), "
        "got '1MODE'",
    ),
    case(
        "env name with a dash -> not a C identifier",
        env({"name": "MY-MODE", "value": "prod"}),
        expect="containers[web].env[0].key: must be a C identifier (letters, digits, '_'), "
        "got 'MY-MODE'",
    ),
    case(
        "env without a key -> required",
        env({"value": "prod"}),
        expect="containers[web].env[0].key: is required",
    ),
    case(
        "env without a value -> required",
        env({"key": "MODE"}),
        expect="containers[web].env[MODE].value: is required",
    ),
    case(
        "env entry with a valid key -> named by its key",
        env({"key": "MODE", "value": "prod"}, {"key": "TOKEN"}),
        expect="containers[web].env[TOKEN].value: is required",
    ),
    case(
        "env entry with a valid key given as name -> named by its key",
        env({"name": "TOKEN", "value": 1}),
        expect="containers[web].env[TOKEN].value: must be a string, got an integer",
    ),
    case(
        "env key of 65 characters -> named by its index",
        env({"key": "K" * 65}),
        expect="containers[web].env[0].value: is required",
    ),
    case(
        "env key that is no string -> named by its index",
        env({"key": 7}),
        expect=(
            "containers[web].env[0].key: must be a string, got 7 (an integer)",
            "containers[web].env[0].value: is required",
        ),
    ),
    case(
        "env value as an integer -> must be a string",
        env({"key": "WORKERS", "value": 4}),
        expect="containers[web].env[WORKERS].value: must be a string, got an integer",
    ),
    case(
        "env value true -> must be a string, the value not shown",
        env({"key": "DEBUG", "value": True}),
        expect="containers[web].env[DEBUG].value: must be a string, got a boolean",
    ),
    case(
        "env value as a float -> must be a string, the value not shown",
        env({"key": "PIN", "value": 1234.5}),
        expect="containers[web].env[PIN].value: must be a string, got a number",
    ),
    case(
        "env value with a lone surrogate -> refused",
        env({"key": "MODE", "value": "\udcff"}),
        expect="containers[web].env[MODE].value: must be valid Unicode (it holds a lone surrogate "
        "code point)",
    ),
    case(
        "env value with a NUL -> refused",
        env({"key": "MODE", "value": "a\x00b"}),
        expect="containers[web].env[MODE].value: must not contain a NUL character",
    ),
    case(
        "same env key twice, once as name -> not unique",
        env({"key": "MODE", "value": "prod"}, {"name": "MODE", "value": "dev"}),
        expect="containers[web].env[1].key: env key 'MODE' is not unique",
    ),
    case(
        "same env key twice -> each entry named by its index, not by the key they share",
        env({"key": "MODE", "value": 1}, {"key": "MODE"}),
        expect=(
            "containers[web].env[0].value: must be a string, got an integer",
            "containers[web].env[1].value: is required",
        ),
    ),
    case(
        "same env key twice after an invalid entry -> the repeat at its own index",
        env(
            {"key": "1MODE", "value": "a"},
            {"key": "MODE", "value": "prod"},
            {"name": "MODE", "value": "dev"},
        ),
        expect=(
            "containers[web].env[0].key: must be a C identifier (letters, digits, '_'), "
            "got '1MODE'",
            "containers[web].env[2].key: env key 'MODE' is not unique",
        ),
    ),
    # volumes
    case(
        "volume name in upper case -> RFC 1035",
        top(volumes=[{"name": "Data"}]),
        expect=(
            f"volumes[0].name: {rfc1035('Data')}",
            "containers[web].volumeMounts[0].name: names no declared volume: 'data'",
        ),
    ),
    case(
        "two volumes named data -> not unique",
        top(volumes=[{"name": "data"}, {"name": "data"}]),
        expect="volumes[1].name: volume name 'data' is not unique",
    ),
    case(
        "volume named '..' -> RFC 1035 (no escape from the volumes root)",
        top(volumes=[{"name": "data"}, {"name": ".."}]),
        expect=f"volumes[1].name: {rfc1035('..')}",
    ),
    case(
        "volume named '.' -> RFC 1035 (not the volumes root itself)",
        top(volumes=[{"name": "data"}, {"name": "."}]),
        expect=f"volumes[1].name: {rfc1035('.')}",
    ),
    case(
        "volume named '/' -> RFC 1035",
        top(volumes=[{"name": "data"}, {"name": "/"}]),
        expect=f"volumes[1].name: {rfc1035('/')}",
    ),
    case(
        "volume named '../etc' -> RFC 1035",
        top(volumes=[{"name": "data"}, {"name": "../etc"}]),
        expect=f"volumes[1].name: {rfc1035('../etc')}",
    ),
    case(
        "volume named '/etc' -> RFC 1035",
        top(volumes=[{"name": "data"}, {"name": "/etc"}]),
        expect=f"volumes[1].name: {rfc1035('/etc')}",
    ),
    case(
        "volume named 'a/b' -> RFC 1035",
        top(volumes=[{"name": "data"}, {"name": "a/b"}]),
        expect=f"volumes[1].name: {rfc1035('a/b')}",
    ),
    case(
        "volume name with a line break -> RFC 1035",
        top(volumes=[{"name": "data"}, {"name": "logs\n"}]),
        expect="volumes[1].name: " + rfc1035("logs\n"),
    ),
    case(
        "volume without a name -> required",
        top(volumes=[{"name": "data"}, {}]),
        expect="volumes[1].name: is required",
    ),
    # unknown fields, at every level
    case(
        "unknown top-level field -> did you mean",
        top(volumess=[]),
        expect='volumess: unknown field, did you mean "volumes"?',
    ),
    case(
        "unknown container field -> did you mean",
        web(imag="nginx"),
        expect='containers[web].imag: unknown field, did you mean "image"?',
    ),
    case(
        "unknown container field unlike any -> no suggestion",
        web(xyzzy=True),
        expect="containers[web].xyzzy: unknown field",
    ),
    case(
        "unknown port field -> did you mean",
        port(hostport=8080),
        expect='containers[web].ports[0].hostport: unknown field, did you mean "hostPort"?',
    ),
    case(
        "unknown mount field -> did you mean the alias",
        mount(name="data", mountpath="/data"),
        expect=(
            'containers[web].volumeMounts[0].mountpath: unknown field, did you mean "mountPath"?',
            "containers[web].volumeMounts[0].path: is required",
        ),
    ),
    case(
        "unknown env field -> did you mean",
        env({"key": "MODE", "vaule": "prod"}),
        expect=(
            'containers[web].env[MODE].vaule: unknown field, did you mean "value"?',
            "containers[web].env[MODE].value: is required",
        ),
    ),
    case(
        "unknown volume field -> did you mean",
        top(volumes=[{"name": "data", "nmae": "x"}]),
        expect='volumes[0].nmae: unknown field, did you mean "name"?',
    ),
    case(
        "unknown field with a line break -> the key quoted in the path",
        web(**{"image\nsuperuser": True}),
        expect="containers[web]['image\\nsuperuser']: unknown field",
    ),
    case(
        "unknown field with a terminal escape -> the key quoted in the path",
        web(**{"\x1b[2J": 1}),
        expect="containers[web]['\\x1b[2J']: unknown field",
    ),
    case(
        "unknown field of 1000 characters -> shortened in the path",
        web(**{"x" * 1000: 1}),
        expect=f"containers[web][{'x' * 40!r}...]: unknown field",
    ),
    case(
        "a container key that is not a string -> keys must be strings",
        lambda m: m["containers"][0].update({1: "x"}),
        expect="containers[web]: keys must be strings, got 1 (an integer)",
    ),
    # restartPolicy and imagePullPolicy
    case(
        "top-level restartPolicy in lower case -> one of the choices",
        top(restartPolicy="always"),
        expect="restartPolicy: must be one of Always, OnFailure, Never, got 'always'",
    ),
    case(
        "container restartPolicy unknown -> one of the choices",
        web(restartPolicy="UnlessStopped"),
        expect="containers[web].restartPolicy: must be one of Always, OnFailure, Never, "
        "got 'UnlessStopped'",
    ),
    case(
        "imagePullPolicy unknown -> one of the choices",
        web(imagePullPolicy="Sometimes"),
        expect="containers[web].imagePullPolicy: must be one of IfNotPresent, Always, Never, "
        "got 'Sometimes'",
    ),
    # wrong shapes: always a ManifestError
    case(
        "containers as a mapping -> must be a list",
        top(containers={"web": {"image": "nginx"}}),
        expect="containers: must be a list, got a mapping",
    ),
    case(
        "containers null -> must be a list",
        top(containers=None),
        expect="containers: must be a list, got null",
    ),
    case(
        "a container given as a list -> must be a mapping",
        top(containers=[["web", "nginx"]]),
        expect="containers[0]: must be a mapping, got a list",
    ),
    case(
        "a container given as a string -> must be a mapping",
        top(containers=["web"]),
        expect="containers[0]: must be a mapping, got 'web' (a string)",
    ),
    case(
        "a container null -> must be a mapping",
        top(containers=[None]),
        expect="containers[0]: must be a mapping, got null",
    ),
    case(
        "ports as a mapping -> must be a list",
        web(ports={"http": 80}),
        expect="containers[web].ports: must be a list, got a mapping",
    ),
    case(
        "a port given as a number -> must be a mapping",
        web(ports=[80]),
        expect="containers[web].ports[0]: must be a mapping, got 80 (an integer)",
    ),
    case(
        "env as a mapping -> must be a list",
        web(env={"MODE": "prod"}),
        expect="containers[web].env: must be a list, got a mapping",
    ),
    case(
        "volumes as a list of strings -> items must be mappings",
        top(volumes=["data"]),
        expect=(
            "volumes[0]: must be a mapping, got 'data' (a string)",
            "containers[web].volumeMounts[0].name: names no declared volume: 'data'",
        ),
    ),
]


REFUSED += [
    case(
        "aliases not a list -> the field",
        web(aliases="www"),
        expect="containers[web].aliases: must be a list, got 'www' (a string)",
    ),
    case(
        "aliases that are no DNS labels -> each at its index, all at once",
        web(aliases=["www", "Front_End", 7, "x" * 64]),
        expect=(
            f"containers[web].aliases[1]: {rfc1035('Front_End')}",
            "containers[web].aliases[2]: must be a string, got 7 (an integer)",
            f"containers[web].aliases[3]: {rfc1035('x' * 64)}",
        ),
    ),
    case(
        "an alias that is another container's name, or its own, or given twice",
        web(aliases=["db", "www", "www", "web"]),
        add_container(name="db", image="postgres:16", aliases=["web", "www", "store"]),
        expect=(
            "containers[web].aliases[0]: alias 'db' is already the name of container 'db'",
            "containers[web].aliases[2]: alias 'www' is already an alias of container 'web'",
            "containers[web].aliases[3]: alias 'web' is already the name of container 'web'",
            "containers[db].aliases[0]: alias 'web' is already the name of container 'web'",
            "containers[db].aliases[1]: alias 'www' is already an alias of container 'web'",
        ),
    ),
]


@pytest.mark.parametrize(("changes", "expected"), REFUSED)
def test_refused(changes: tuple[Change, ...], expected: str | tuple[str, ...]) -> None:
    lines = (expected,) if isinstance(expected, str) else expected
    assert errors_of(manifest_with(*changes)) == [f"{SOURCE}: {line}" for line in lines]


# --- across files: BASE as shop.yaml, then other.yaml, merged (agent.sources.load.merge) ----------

OTHER = "other.yaml"


def other(*containers: dict[str, Any]) -> dict[str, Any]:
    """A manifest of ``containers`` alone, to merge after ``BASE``."""
    return {"version": "v1beta1", "containers": list(containers)}


ACROSS_FILES = [
    pytest.param(
        other({"name": "web", "image": "redis"}),
        "containers[web].name: 'web' is also defined in shop.yaml",
        id="a container name of shop.yaml again -> also defined",
    ),
    pytest.param(
        other({"name": "api", "image": "api", "ports": [{"containerPort": 80}]}),
        "containers[api].ports[0]: host port *:80/TCP is also published by container 'web' "
        "in shop.yaml",
        id="the host port of web again -> also published, at the port's index",
    ),
    pytest.param(
        other(
            {
                "name": "api",
                "image": "api",
                "ports": [{"containerPort": 443}, {"containerPort": 80, "hostIp": "::1"}],
            }
        ),
        "containers[api].ports[1]: host port [::1]:80/TCP is also published by container "
        "'web' in shop.yaml",
        id="a specific IP on the wildcard port of web, as a second port -> at index 1",
    ),
]


ACROSS_FILES += [
    pytest.param(
        other({"name": "api", "image": "api", "aliases": ["shelf", "web"]}),
        "containers[api].aliases[1]: alias 'web' is also the name of container 'web' in shop.yaml",
        id="an alias that is a container's name in another file -> at the alias",
    ),
    pytest.param(
        other({"name": "api", "image": "api", "aliases": ["store"]}),
        "containers[api].aliases[0]: alias 'store' is also an alias of container 'web' in "
        "shop.yaml",
        id="an alias of a container in another file again -> at the alias",
    ),
]


def test_a_container_named_as_an_alias_of_another_file_is_refused() -> None:
    aliased = manifest_with(web(aliases=["store"]))
    settled = settle({SOURCE: parse_manifest(aliased, SOURCE)}, [{OTHER: parse_manifest(other(
        {"name": "store", "image": "redis"}), OTHER)}])  # fmt: skip
    assert str(settled.refused[OTHER]).splitlines() == [
        f"{OTHER}: containers[store].name: 'store' is also an alias of container 'web' in {SOURCE}"
    ]


def test_aliases_are_kept_in_order() -> None:
    manifest = parse_manifest(manifest_with(web(aliases=["www", "front"])), SOURCE)
    assert first_container(manifest).aliases == ("www", "front")
    assert first_container(parse_manifest(BASE, SOURCE)).aliases == ()


@pytest.mark.parametrize(("data", "expected"), ACROSS_FILES)
def test_refused_across_files(data: dict[str, Any], expected: str) -> None:
    """other.yaml arrives while shop.yaml is in force: other.yaml alone is refused."""
    base = manifest_with(web(aliases=["store"])) if "store" in str(data) else BASE
    settled = settle({SOURCE: parse_manifest(base, SOURCE)}, [{OTHER: parse_manifest(data, OTHER)}])
    assert list(settled.in_force) == [SOURCE]
    assert str(settled.refused[OTHER]).splitlines() == [f"{OTHER}: {expected}"]


@pytest.mark.parametrize(("data", "expected"), ACROSS_FILES)
def test_refused_across_files_that_arrive_together(data: dict[str, Any], expected: str) -> None:
    """Merged together (``agent validate shop.yaml other.yaml``), both files are refused."""
    base = manifest_with(web(aliases=["store"])) if "store" in str(data) else BASE
    manifests = [parse_manifest(base, SOURCE), parse_manifest(data, OTHER)]
    with pytest.raises(MultiSourceError) as caught:
        merge(manifests)
    assert [p.source for p in caught.value.problems] == [SOURCE, OTHER]
    assert str(caught.value.problems[1]).splitlines() == [f"{OTHER}: {expected}"]


def test_the_same_host_port_on_another_protocol_merges_across_files() -> None:
    data = other(
        {"name": "dns", "image": "dns", "ports": [{"containerPort": 80, "protocol": "UDP"}]}
    )
    merged = merge([parse_manifest(BASE, SOURCE), parse_manifest(data, OTHER)])
    assert [c.name for c in merged.containers] == ["web", "dns"]


# --- the host-port rule: one index that answers as every pair would ----------------------

CLAIMED = [
    Port(80, host_port, protocol, host_ip)
    for host_port in (80, 81)
    for protocol in ("TCP", "UDP")
    for host_ip in ("", "0.0.0.0", "::", "127.0.0.1", "127.0.0.2", "::1")
]


@pytest.mark.parametrize("seed", range(5))
def test_host_claims_find_the_first_earlier_owner_port_conflict_finds(seed: int) -> None:
    """Owners claim ports in a shuffled order, several each; each lookup, skipping the
    port's own owner, names the owner of the first earlier port it conflicts with."""
    ports = CLAIMED * 2
    random.Random(seed).shuffle(ports)
    owners = [index % 3 for index in range(len(ports))]
    claims: HostClaims[int] = HostClaims()
    for index, (port, owner) in enumerate(zip(ports, owners, strict=True)):
        expected = next(
            (
                owners[i]
                for i, earlier in enumerate(ports[:index])
                if owners[i] != owner and port_conflict(port, earlier)
            ),
            None,
        )
        assert claims.first_conflict(port, other_than=owner) == expected, (index, port)
        claims.add(port, owner)


# --- accepted: each case states one value of the built models ------------------------------


def first_container(m: Manifest) -> Container:
    return m.containers[0]


def first_port(m: Manifest) -> Port:
    return m.containers[0].ports[0]


ACCEPTED = [
    case("the base manifest", expect=(lambda m: m.id, "shop.example.com")),
    case("no id -> None", drop("id"), expect=(lambda m: m.id, None)),
    case("id of 253 characters", top(id="a" * 253), expect=(lambda m: m.id, "a" * 253)),
    case(
        "container name of 63 characters",
        web(name="w" * 63),
        expect=(lambda m: first_container(m).name, "w" * 63),
    ),
    case(
        "container name with digits and dashes",
        web(name="web-2-b"),
        expect=(lambda m: first_container(m).name, "web-2-b"),
    ),
    case(
        "image with a registry port and a path",
        web(image="localhost:5000/a/b:tag"),
        expect=(lambda m: first_container(m).image, "localhost:5000/a/b:tag"),
    ),
    case(
        "image by digest",
        web(image=f"nginx@{DIGEST}"),
        expect=(lambda m: first_container(m).image, f"nginx@{DIGEST}"),
    ),
    case(
        "image with a registry, a tag and a digest",
        web(image=f"registry.example.com/team/app:1.2@{DIGEST}"),
        expect=(lambda m: first_container(m).image, f"registry.example.com/team/app:1.2@{DIGEST}"),
    ),
    case(
        "image with an upper-case registry host",
        web(image="Registry.Example.com/app"),
        expect=(lambda m: first_container(m).image, "Registry.Example.com/app"),
    ),
    case(
        "command as a list of strings -> tuple",
        web(command=["nginx", "-g", "daemon off;"]),
        expect=(lambda m: first_container(m).command, ("nginx", "-g", "daemon off;")),
    ),
    case(
        "workingDir of 512 characters",
        web(workingDir="/" + "d" * 511),
        expect=(lambda m: first_container(m).working_dir, "/" + "d" * 511),
    ),
    case(
        "containerPort 1",
        port(containerPort=1),
        expect=(lambda m: first_port(m), Port(1, 1)),
    ),
    case(
        "containerPort 65535",
        port(containerPort=65535),
        expect=(lambda m: first_port(m), Port(65535, 65535)),
    ),
    case(
        "no hostPort -> defaults to containerPort",
        expect=(lambda m: first_port(m).host_port, 80),
    ),
    case(
        "explicit hostPort",
        port(hostPort=8080),
        expect=(lambda m: first_port(m), Port(80, 8080)),
    ),
    case("hostIp ::1", port(hostIp="::1"), expect=(lambda m: first_port(m).host_ip, "::1")),
    case(
        "hostIp written long -> normalised",
        port(hostIp="0:0:0:0:0:0:0:1"),
        expect=(lambda m: first_port(m).host_ip, "::1"),
    ),
    case(
        "hostIp IPv4",
        port(hostIp="127.0.0.1"),
        expect=(lambda m: first_port(m).host_ip, "127.0.0.1"),
    ),
    case(
        "protocol udp -> UDP",
        port(protocol="udp"),
        expect=(lambda m: first_port(m).protocol, "UDP"),
    ),
    case(
        "protocol Tcp -> TCP",
        port(protocol="Tcp"),
        expect=(lambda m: first_port(m).protocol, "TCP"),
    ),
    case("port name http", port(name="http"), expect=(lambda m: first_port(m).name, "http")),
    case(
        "same host port, different protocol",
        ports({"containerPort": 53}, {"containerPort": 53, "protocol": "UDP"}),
        expect=(lambda m: len(first_container(m).ports), 2),
    ),
    case(
        "same host port on two specific IPs",
        ports(
            {"containerPort": 80, "hostIp": "127.0.0.1"},
            {"containerPort": 81, "hostPort": 80, "hostIp": "127.0.0.2"},
        ),
        expect=(lambda m: len(first_container(m).ports), 2),
    ),
    case(
        "same host port in two containers on two specific IPs",
        port(hostIp="10.0.0.1"),
        add_container(name="db", image="postgres", ports=[{"containerPort": 80, "hostIp": "::1"}]),
        expect=(lambda m: len(m.containers), 2),
    ),
    case(
        "same host port in two containers, different protocol",
        add_container(
            name="dns", image="coredns", ports=[{"containerPort": 80, "protocol": "UDP"}]
        ),
        expect=(lambda m: len(m.containers), 2),
    ),
    case(
        "same port name in two containers",
        port(name="http"),
        add_container(name="api", image="api", ports=[{"name": "http", "containerPort": 8080}]),
        expect=(lambda m: len(m.containers), 2),
    ),
    case(
        "mountPath alias",
        mount(name="data", mountPath="/srv"),
        expect=(lambda m: first_container(m).volume_mounts, (VolumeMount("data", "/srv"),)),
    ),
    case(
        "readOnly true",
        mount(name="data", path="/data", readOnly=True),
        expect=(lambda m: first_container(m).volume_mounts, (VolumeMount("data", "/data", True),)),
    ),
    case(
        "env name alias",
        env({"name": "MODE", "value": "prod"}),
        expect=(lambda m: first_container(m).env, (EnvVar("MODE", "prod"),)),
    ),
    case(
        "env value empty",
        env({"key": "_EMPTY", "value": ""}),
        expect=(lambda m: first_container(m).env, (EnvVar("_EMPTY", ""),)),
    ),
    case(
        "top-level restartPolicy is every container's default",
        top(restartPolicy="OnFailure"),
        expect=(lambda m: first_container(m).restart_policy, "OnFailure"),
    ),
    case(
        "container restartPolicy overrides the top-level one",
        top(restartPolicy="OnFailure"),
        web(restartPolicy="Never"),
        expect=(lambda m: first_container(m).restart_policy, "Never"),
    ),
    case(
        "imagePullPolicy Always",
        web(imagePullPolicy="Always"),
        expect=(lambda m: first_container(m).image_pull_policy, "Always"),
    ),
    case("no containers at all", drop("containers"), expect=(lambda m: m.containers, ())),
    case(
        "unused volume",
        top(volumes=[{"name": "data"}, {"name": "spare"}]),
        expect=(lambda m: m.volumes, (Volume("data"), Volume("spare"))),
    ),
]


@pytest.mark.parametrize(("changes", "expected"), ACCEPTED)
def test_accepted(
    changes: tuple[Change, ...], expected: tuple[Callable[[Manifest], Any], Any]
) -> None:
    read, value = expected
    manifest = parse_manifest(manifest_with(*changes), SOURCE)
    assert read(manifest) == value


# --- fixed bugs, kept so that they stay fixed ---------------------------------------------


def test_unspecified_ipv4_conflicts_with_a_specific_ip() -> None:
    data = manifest_with(
        ports(
            {"containerPort": 80, "hostIp": "0.0.0.0"},
            {"containerPort": 81, "hostPort": 80, "hostIp": "127.0.0.1"},
        )
    )
    assert errors_of(data) == [
        f"{SOURCE}: containers[web].ports[1]: host port 127.0.0.1:80/TCP is published twice"
    ]


def test_image_tag_with_a_non_ascii_letter_is_refused() -> None:
    data = manifest_with(web(image="nginx:t\u00e4g"))
    assert errors_of(data) == [f"{SOURCE}: containers[web].image: {image_message('nginx:täg')}"]


def test_name_then_key_names_both_spellings() -> None:
    data = manifest_with(env({"name": "MODE", "key": "MODE", "value": "prod"}))
    assert errors_of(data) == [
        f'{SOURCE}: containers[web].env[0].key: is given twice, as "name" and as "key"'
    ]


# --- all errors at once --------------------------------------------------------------------


def test_every_error_of_a_file_is_reported_at_once() -> None:
    data = manifest_with(
        top(version="v2"),
        web(imag="nginx", workingDir="srv"),
        port(containerPort=70000),
        env({"key": "1MODE", "value": 4}),
        add_container(name="Db", image="postgres"),
    )
    assert errors_of(data) == [
        f"{SOURCE}: version: unsupported 'v2', supported: v1beta1",
        f'{SOURCE}: containers[web].imag: unknown field, did you mean "image"?',
        f"{SOURCE}: containers[web].workingDir: must be an absolute path, got 'srv'",
        f"{SOURCE}: containers[web].ports[0].containerPort: must be between 1 and 65535, got 70000",
        f"{SOURCE}: containers[web].env[0].key: must be a C identifier (letters, digits, '_'), "
        "got '1MODE'",
        f"{SOURCE}: containers[web].env[0].value: must be a string, got an integer",
        f"{SOURCE}: containers[1].name: {rfc1035('Db')}",
    ]


# --- wrong shapes anywhere: never anything but a ManifestError -----------------------------

JUNK: list[Any] = [None, True, 0, -1, 1.5, "", "x", "\x00", [], [None], {}, {"": None}, {1: 2}]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths(child, (*prefix, index))


def _replaced(path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return copy.deepcopy(value)
    data = copy.deepcopy(BASE)
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = copy.deepcopy(value)
    return data


SHAPES = [
    pytest.param(path, value, id=f"{'.'.join(map(str, path)) or 'manifest'} = {value!r}")
    for path in _paths(BASE)
    for value in JUNK
]


@pytest.mark.parametrize(("path", "value"), SHAPES)
def test_junk_anywhere_is_a_manifest_error_or_a_manifest(path: tuple[Any, ...], value: Any) -> None:
    try:
        manifest = parse_manifest(_replaced(path, value), SOURCE)
    except ManifestError as exc:
        assert exc.errors
        assert all(line.startswith(f"{SOURCE}: ") for line in str(exc).splitlines())
    else:
        assert isinstance(manifest, Manifest)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(None, "must be a mapping, got null", id="null manifest"),
        pytest.param([BASE], "must be a mapping, got a list", id="a list of manifests"),
        pytest.param("v1beta1", "must be a mapping, got 'v1beta1' (a string)", id="a string"),
        pytest.param({1: 2}, "keys must be strings, got 1 (an integer)", id="an integer key"),
    ],
)
def test_a_manifest_that_is_not_a_mapping(data: Any, expected: str) -> None:
    assert errors_of(data)[0] == f"{SOURCE}: {expected}"


# --- a full manifest: every value of the models, defaults filled in ------------------------

FULL: dict[str, Any] = {
    "version": "v1beta1",
    "id": "shop",
    "restartPolicy": "OnFailure",
    "volumes": [{"name": "data"}, {"name": "logs"}],
    "containers": [
        {
            "name": "web",
            "image": "registry.example.com:5000/shop/web:2.1",
            "command": ["web", "--port", "8080"],
            "workingDir": "/srv/web",
            "ports": [
                {"name": "http", "containerPort": 8080, "hostPort": 80, "hostIp": "127.0.0.1"},
                {"containerPort": 9090, "protocol": "udp"},
            ],
            "volumeMounts": [
                {"name": "data", "mountPath": "/srv/data", "readOnly": True},
                {"name": "logs", "path": "/var/log/web"},
            ],
            "env": [{"name": "MODE", "value": "prod"}, {"key": "WORKERS", "value": "4"}],
            "imagePullPolicy": "Always",
            "restartPolicy": "Always",
        },
        {"name": "cache", "image": "redis"},
    ],
}


def test_full_manifest_builds_every_model_with_defaults() -> None:
    assert parse_manifest(FULL, SOURCE) == Manifest(
        version="v1beta1",
        id="shop",
        source=SOURCE,
        volumes=(Volume("data"), Volume("logs")),
        containers=(
            Container(
                name="web",
                image="registry.example.com:5000/shop/web:2.1",
                command=("web", "--port", "8080"),
                working_dir="/srv/web",
                ports=(
                    Port(8080, 80, "TCP", "127.0.0.1", "http"),
                    Port(9090, 9090, "UDP", "", None),
                ),
                volume_mounts=(
                    VolumeMount("data", "/srv/data", True),
                    VolumeMount("logs", "/var/log/web", False),
                ),
                env=(EnvVar("MODE", "prod"), EnvVar("WORKERS", "4")),
                image_pull_policy="Always",
                restart_policy="Always",
            ),
            Container(
                name="cache",
                image="redis",
                command=(),
                working_dir=None,
                ports=(),
                volume_mounts=(),
                env=(),
                image_pull_policy="IfNotPresent",
                restart_policy="OnFailure",
            ),
        ),
    )


def test_from_dict_is_parse_manifest() -> None:
    assert Manifest.from_dict(FULL, source=SOURCE) == parse_manifest(FULL, SOURCE)


# --- bounded cost: errors and many containers --------------------------------------------


def test_errors_stop_after_max_errors_with_a_line_saying_so() -> None:
    data = manifest_with(top(containers=[None] * (MAX_ERRORS + 50)))
    lines = errors_of(data)
    assert len(lines) == MAX_ERRORS + 1
    assert lines[0] == f"{SOURCE}: containers[0]: must be a mapping, got null"
    assert lines[-2] == f"{SOURCE}: containers[{MAX_ERRORS - 1}]: must be a mapping, got null"
    assert lines[-1] == f"{SOURCE}: more problems not listed: only the first {MAX_ERRORS} are"


def test_exactly_max_errors_are_all_listed_without_the_extra_line() -> None:
    lines = errors_of(manifest_with(top(containers=[None] * MAX_ERRORS)))
    assert len(lines) == MAX_ERRORS
    assert "more problems" not in lines[-1]


def test_twenty_thousand_containers_validate_in_linear_time() -> None:
    """Host ports are checked with an index, not pairwise (pairwise, 20,000 took 8 s)."""
    containers = [
        {"name": f"app-{i}", "image": "app:1", "ports": [{"containerPort": 80, "hostPort": i}]}
        for i in range(1, 20_001)
    ]
    started = time.perf_counter()
    manifest = parse_manifest({"version": "v1beta1", "containers": containers}, SOURCE)
    assert time.perf_counter() - started < 10
    assert len(manifest.containers) == 20_000
