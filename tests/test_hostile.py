"""Hostile manifests, as one table of sentences: each input and what becomes of it.

Every input goes the way a file does (``parse_document``, then ``Manifest.from_dict``)
and is either refused with the error stated, or accepted. Inputs that could cost
time or memory must be refused well under a second. An accepted input whose values
look like options or shell (``--rm``, ``$(reboot)``, line breaks) must reach the
engine as data: the Docker CLI backend's argv is checked element by element, and
then handed to a stand-in ``docker`` that records the argv it was given.
"""

from __future__ import annotations

import itertools
import json
import stat
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from agent.errors import ManifestError
from agent.manifest.models import Manifest
from agent.manifest.parse import MAX_BYTES, MAX_VALUES, parse_document
from agent.planning.spec import RunSpec, build_specs
from backends.docker_cli import DockerCLIBackend, create_args

SOURCE = "hostile.yaml"
NAMESPACE = "ns"
VOLUMES_ROOT = "/export"
CREATE_OPTIONS = {"name", "hostname", "restart", "pull", "label", "workdir", "env", "publish"}
CREATE_OPTIONS |= {"mount"}


def manifest(container: str = "", volumes: str = "", top: str = "") -> bytes:
    """A YAML manifest of one container ``web``, with extra lines in it (already indented)."""
    text = "version: v1beta1\n" + top
    if volumes:
        text += "volumes:\n" + volumes
    text += "containers:\n  - name: web\n    image: nginx:1.25\n" + container
    return text.encode()


def billion_laughs() -> bytes:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in itertools.pairwise("abcdefghi"):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines).encode() + b"\n"


def outcome(raw: bytes, json_only: bool = False) -> Manifest | list[str]:
    """The manifest read from ``raw``, or the lines of the error it is refused with."""
    try:
        return Manifest.from_dict(parse_document(raw, SOURCE, json_only), SOURCE)
    except ManifestError as exc:
        return str(exc).splitlines()


def case(sentence: str, raw: bytes, refused: str | None, json_only: bool = False) -> Any:
    """``refused``: the first error line without the file name; None: accepted."""
    return pytest.param(raw, json_only, refused, id=sentence)


def tag_refused(line: int, tag: str) -> str:
    return f"invalid YAML: line {line}: tag {tag!r} is not allowed (only !!str, !!seq, !!map)"


HOSTILE = [
    # YAML that would run code or build objects
    case(
        "a python/object/apply tag -> refused, nothing constructed",
        b"a: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
        tag_refused(1, "tag:yaml.org,2002:python/object/apply:os.system"),
    ),
    case(
        "a python/object/new tag -> refused",
        b"a: !!python/object/new:subprocess.Popen [[reboot]]\n",
        tag_refused(1, "tag:yaml.org,2002:python/object/new:subprocess.Popen"),
    ),
    case(
        "a python/name tag -> refused",
        b"a: !!python/name:os.system\n",
        tag_refused(1, "tag:yaml.org,2002:python/name:os.system"),
    ),
    case(
        "!!binary, a standard tag no field takes -> refused",
        manifest("    command: [!!binary aGVsbG8=]\n"),
        tag_refused(5, "tag:yaml.org,2002:binary"),
    ),
    case(
        "a %TAG directive making !! mean python/ -> refused",
        b"%TAG !! tag:yaml.org,2002:python/\n--- !!object/apply:os.system [reboot]\n",
        "invalid YAML: line 1: %TAG directives are not allowed",
    ),
    # cost: size, aliases, depth, length
    case(
        "a file of 10 MB + 1 byte -> refused before reading it",
        b"#" * (MAX_BYTES + 1),
        f"file is larger than 10 MB ({MAX_BYTES + 1} bytes)",
    ),
    case(
        "billion laughs (9**9 values from 414 bytes) -> refused",
        billion_laughs(),
        f"more than {MAX_VALUES} values once aliases are expanded",
    ),
    case(
        "lists nested 1,000,000 deep -> refused",
        b"[" * 1_000_000 + b"]" * 1_000_000,
        "nesting deeper than 100 levels",
    ),
    case(
        "lists nested 1,000,000 deep, never closed -> refused",
        b"[" * 1_000_000,
        "nesting deeper than 100 levels",
    ),
    case(
        "block lists nested 200 deep -> refused",
        b"".join(b"  " * i + b"-\n" for i in range(200)),
        "nesting deeper than 100 levels",
    ),
    case(
        "JSON nested 200,000 deep -> refused",
        b"[" * 200_000 + b"]" * 200_000,
        "nesting deeper than 100 levels",
        json_only=True,
    ),
    case(
        "a block list of 2,000,000 items -> refused",
        b"- 1\n" * 2_000_000,
        f"more than {MAX_VALUES} values",
    ),
    case(
        "a flow list of 2,000,000 items -> refused",
        b"[" + b"1," * 1_999_999 + b"1]",
        f"more than {MAX_VALUES} values",
    ),
    case(
        "2,000,000 items inside 100 open lists -> refused",
        b"[" * 100 + b"1," * 2_000_000,
        f"more than {MAX_VALUES} values",
    ),
    case(
        "a JSON list of 2,000,000 items -> refused",
        b"[" + b"1," * 1_999_999 + b"1]",
        f"more than {MAX_VALUES} values",
        json_only=True,
    ),
    case(
        "a JSON list of 3,000,000 empty strings -> refused",
        b"[" + b'"",' * 2_999_999 + b'""]',
        f"more than {MAX_VALUES} values",
        json_only=True,
    ),
    case(
        "20,000 %TAG directives (quadratic in libyaml) -> refused",
        b"".join(b"%%TAG !t%d! tag:x.org,2000:\n" % i for i in range(20_000)) + b"--- a\n",
        "invalid YAML: line 1: %TAG directives are not allowed",
    ),
    case(
        "an alias inside the value it names -> refused",
        b"a: &a [*a]\n",
        "invalid YAML: line 1: alias 'a' is used inside the value it names",
    ),
    # ambiguity and encoding
    case(
        "a key given twice -> refused",
        manifest("    image: evil/miner:1\n"),
        "line 5: key 'image' appears twice in one mapping",
    ),
    case(
        "a JSON key given twice -> refused",
        b'{"version": "v1beta1", "containers": [], "containers": [{"name": "x"}]}',
        "key 'containers' appears twice in one object",
        json_only=True,
    ),
    case(
        "invalid UTF-8 -> refused",
        b"version: v1beta1\nid: \xc3\x28\n",
        "file is not valid UTF-8 (byte 21)",
    ),
    case(
        "a NUL byte -> refused as binary",
        b"version: v1beta1\x00\n",
        "file is binary (contains NUL bytes), not YAML or JSON",
    ),
    case(
        "an ELF binary -> refused",
        b"\x7fELF\x02\x01\x01\x00",
        "file is binary (contains NUL bytes), not YAML or JSON",
    ),
    case(
        "a terminal escape in YAML -> refused",
        b"version: v1beta1\nid: \x1b]0;owned\x07\n",
        "line 2: control character U+001B is not allowed in YAML",
    ),
    case("an empty file -> refused", b"", "file is empty"),
    case("a file of blanks -> refused", b"\n\n   \n", "file is empty"),
    case(
        "a top level that is a list -> refused",
        b"- version: v1beta1\n",
        "must be a mapping, got a list",
    ),
    case(
        "a top level that is a scalar -> refused",
        b"v1beta1\n",
        "must be a mapping, got 'v1beta1' (a string)",
    ),
    case("a top level that is null -> refused", b"~\n", "must be a mapping, got null"),
    # values Python cannot hold
    case(
        "an int of 5000 digits -> refused",
        manifest("    ports: [{containerPort: " + "9" * 5000 + "}]\n"),
        "invalid YAML: line 5: cannot read '999999999999999999999999999999999999... as int: "
        "Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits",
    ),
    case(
        "a date that does not exist -> refused",
        manifest("    env: [{key: SINCE, value: 2024-02-30}]\n"),
        "invalid YAML: line 5: cannot read '2024-02-30' as timestamp: day is out of range for "
        "month",
    ),
    case(
        "a lone surrogate in a JSON command -> refused (no process can be given it)",
        b'{"version": "v1beta1", "containers": [{"name": "web", "image": "nginx",'
        b' "command": ["echo", "\\ud800"]}]}',
        "containers[web].command[1]: must be valid Unicode (it holds a lone surrogate code point)",
        json_only=True,
    ),
    # null where a list belongs
    case(
        "containers: null -> refused",
        b"version: v1beta1\ncontainers:\n",
        "containers: must be a list, got null",
    ),
    case(
        "volumes: null -> refused",
        manifest(top="volumes: ~\n"),
        "volumes: must be a list, got null",
    ),
    case(
        "command: null -> refused",
        manifest("    command:\n"),
        "containers[web].command: must be a list, got null",
    ),
    case(
        "env: null -> refused",
        manifest("    env: null\n"),
        "containers[web].env: must be a list, got null",
    ),
    case(
        "ports: null -> refused",
        manifest("    ports: ~\n"),
        "containers[web].ports: must be a list, got null",
    ),
    case(
        "volumeMounts: null -> refused",
        manifest("    volumeMounts:\n"),
        "containers[web].volumeMounts: must be a list, got null",
    ),
    # options, commands and paths from the manifest
    case(
        "image '--privileged' -> refused by the reference grammar",
        manifest().replace(b"nginx:1.25", b"--privileged"),
        "containers[web].image: must be an image reference like 'registry/name:tag', "
        "got '--privileged'",
    ),
    case(
        "image with a line break and an option -> refused",
        manifest().replace(b"nginx:1.25", b'"nginx\\n--privileged"'),
        "containers[web].image: must be an image reference like 'registry/name:tag', "
        "got 'nginx\\n--privileged'",
    ),
    case(
        "image with a right-to-left override -> refused",
        manifest().replace(b"nginx:1.25", "nginx:1\u202e".encode()),
        "containers[web].image: must be an image reference like 'registry/name:tag', "
        "got 'nginx:1\\u202e'",
    ),
    case(
        "container name '--privileged' -> refused",
        manifest().replace(b"name: web", b"name: --privileged"),
        "containers[0].name: must be an RFC 1035 name (lower case letters, digits and '-', "
        "starting with a letter, at most 63 characters), got '--privileged'",
    ),
    case(
        "volume name '../etc' -> refused",
        manifest(volumes="  - name: ../etc\n"),
        "volumes[0].name: must be an RFC 1035 name (lower case letters, digits and '-', "
        "starting with a letter, at most 63 characters), got '../etc'",
    ),
    case(
        "mount path '/a,b' (a second --mount field) -> refused",
        manifest("    volumeMounts: [{name: data, path: '/a,b'}]\n", volumes="  - name: data\n"),
        "containers[web].volumeMounts[0].path: must not contain a comma, a double quote or a "
        "control character (such as a line break), got '/a,b'",
    ),
    case(
        "mount path '-x' -> refused",
        manifest("    volumeMounts: [{name: data, path: -x}]\n", volumes="  - name: data\n"),
        "containers[web].volumeMounts[0].path: must be an absolute path, got '-x'",
    ),
    case(
        "mount path with a line break -> refused",
        manifest(
            '    volumeMounts: [{name: data, path: "/data\\n/etc"}]\n', volumes="  - name: data\n"
        ),
        "containers[web].volumeMounts[0].path: must not contain a comma, a double quote or a "
        "control character (such as a line break), got '/data\\n/etc'",
    ),
    case(
        "workingDir '--privileged' -> refused",
        manifest("    workingDir: --privileged\n"),
        "containers[web].workingDir: must be an absolute path, got '--privileged'",
    ),
    case(
        "env key 'LD_PRELOAD=/x' -> refused",
        manifest("    env: [{key: LD_PRELOAD=/x, value: y}]\n"),
        "containers[web].env[0].key: must be a C identifier (letters, digits, '_'), "
        "got 'LD_PRELOAD=/x'",
    ),
    case(
        "hostIp with an option after it -> refused",
        manifest("    ports: [{containerPort: 80, hostIp: 0.0.0.0 --privileged}]\n"),
        "containers[web].ports[0].hostIp: must be an IPv4 or IPv6 address, "
        "got '0.0.0.0 --privileged'",
    ),
    case(
        "privileged: 'true' (a string) -> refused, a boolean is wanted",
        manifest("    privileged: 'true'\n"),
        "containers[web].privileged: must be true or false, got 'true' (a string)",
    ),
    case(
        "hostNetwork with ports -> refused, a host-network container publishes none",
        manifest("    hostNetwork: true\n    ports: [{containerPort: 80}]\n"),
        "containers[web].hostNetwork: a container on the host's network publishes no ports: "
        "its processes listen on the host's own addresses (remove ports)",
    ),
    case(
        "a key with a line break forging a second error line -> quoted in the path",
        manifest('    "x\\nhostile.yaml: ok": 1\n'),
        "containers[web]['x\\nhostile.yaml: ok']: unknown field",
    ),
    # accepted, and passed as data (see test_values_reach_the_engine_as_data)
    case("command item '--rm' -> accepted", manifest("    command: [--rm]\n"), None),
    case("command item '$(reboot)' -> accepted", manifest("    command: [sh, $(reboot)]\n"), None),
    case(
        "command item with a line break -> accepted",
        manifest('    command: ["echo", "a\\n--privileged"]\n'),
        None,
    ),
    case(
        "env value with a line break and ';rm -rf /' -> accepted",
        manifest('    env: [{key: X, value: "a\\n;rm -rf /"}]\n'),
        None,
    ),
    case(
        "env value with a terminal escape, from JSON -> accepted",
        b'{"version": "v1beta1", "containers": [{"name": "web", "image": "nginx",'
        b' "env": [{"key": "X", "value": "\\u001b]0;owned\\u0007"}]}]}',
        None,
        json_only=True,
    ),
]


@pytest.mark.parametrize(("raw", "json_only", "refused"), HOSTILE)
def test_hostile_input(raw: bytes, json_only: bool, refused: str | None) -> None:
    started = time.perf_counter()
    result = outcome(raw, json_only)
    seconds = time.perf_counter() - started
    if refused is None:
        assert isinstance(result, Manifest)
    else:
        assert isinstance(result, list)
        assert result[0] == f"{SOURCE}: {refused}"
    # Not a speed target (benchmarks/parse_limits.py measures that): a bound that only a
    # parse running away with the input (a hang, a quadratic blow-up) can reach, on a
    # machine busy with other work.
    assert seconds < 10.0, f"took {seconds:.2f}s"


def test_refusing_a_long_list_takes_little_memory() -> None:
    raw = b"- 1\n" * 2_000_000
    tracemalloc.start()
    try:
        with pytest.raises(ManifestError):
            parse_document(raw, SOURCE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024  # the decoded text is 8 MB; the old loader took 1.3 GB


# --- values that pass validation reach the engine as data ---------------------------------

AS_DATA: dict[str, Any] = {
    "version": "v1beta1",
    "volumes": [{"name": "data"}],
    "containers": [
        {
            "name": "web",
            "image": "nginx:1.25",
            "command": ["--rm", "$(touch PWNED)", "a\n--privileged", "`touch PWNED`", "-v=/:/h"],
            "workingDir": "/srv/--privileged $(touch PWNED)",
            "env": [
                {"key": "SHELLY", "value": "a\n;rm -rf / ; touch PWNED"},
                {"key": "OPTION", "value": "--privileged"},
                {"key": "EMPTY", "value": ""},
                {"key": "QUOTES", "value": "'\"\\ \t"},
            ],
            "volumeMounts": [{"name": "data", "path": "/data --privileged=true"}],
            "ports": [{"containerPort": 80, "hostIp": "::1"}],
        }
    ],
}


def hostile_spec() -> RunSpec:
    (spec,) = build_specs(Manifest.from_dict(AS_DATA).containers, NAMESPACE, VOLUMES_ROOT)
    return spec


def test_values_reach_the_engine_as_data() -> None:
    """Each value is one ``--option=value`` item; the image follows ``--``, the command it."""
    spec = hostile_spec()
    argv = create_args(spec)
    separator = argv.index("--")
    assert argv[0] == "create"
    options = argv[1:separator]
    assert all(item.startswith("--") and "=" in item for item in options)
    assert {item[2:].split("=", 1)[0] for item in options} <= CREATE_OPTIONS
    assert argv[separator + 1 :] == ["nginx:1.25", *AS_DATA["containers"][0]["command"]]
    assert "--workdir=/srv/--privileged $(touch PWNED)" in options
    assert "--env=SHELLY=a\n;rm -rf / ; touch PWNED" in options
    assert "--env=OPTION=--privileged" in options
    assert "--env=EMPTY=" in options  # not "--env=EMPTY", which copies the agent's own variable
    assert "--env=QUOTES='\"\\ \t" in options
    assert "--mount=type=bind,source=/export/data,target=/data --privileged=true" in options
    assert "--publish=[::1]:80:80/tcp" in options


def test_a_stand_in_docker_receives_exactly_that_argv_and_no_shell_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "docker"
    fake.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.chdir(tmp_path)  # where "touch PWNED" would leave its file
    spec = hostile_spec()
    assert json.loads(DockerCLIBackend(str(fake)).create(spec)) == create_args(spec)
    assert not (tmp_path / "PWNED").exists()
