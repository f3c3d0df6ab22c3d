"""Property-based fuzzing of manifest reading (hypothesis), structure-aware.

A strategy builds valid manifests; another mutates them: a wrong type or garbage
anywhere, a key removed or added, a value wrapped in a list or a mapping, extreme
integers, huge, unicode and control-character strings, null. Each result is read
as data (``Manifest.from_dict``) and as the JSON and YAML files it dumps to
(``parse_document``). The property: it either becomes a manifest, which then
plans, renders and gives an argv every process can take, or it is refused with
a :class:`~agent.errors.ManifestError` whose every error has a message and a
field path (only document-level errors have none). Nothing else is ever raised.
A valid manifest reads the same from its JSON and its YAML.

A second property throws token soup (anchors, tags, flow and block syntax,
numbers and dates) at the YAML reader. A third one holds the one pass of
agent.manifest.parse, which builds a document from the parser's events, to what PyYAML's
composer and constructor build from the same text, on token soup and on data
that yaml.dump writes in each of its styles.

Profiles: ``fast`` (the default, a few hundred examples each, for CI) and
``long`` (100,000 examples each)::

    HYPOTHESIS_PROFILE=long python -m pytest -q -p no:cacheprovider tests/test_fuzz.py
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agent.errors import ManifestError
from agent.manifest import parse as parsing
from agent.manifest.models import Manifest
from agent.manifest.parse import parse_document
from agent.output.render import render_json, render_text
from agent.planning.actions import Start
from agent.planning.planner import PlanOptions, plan
from agent.planning.spec import build_specs
from backends.docker_cli import create_args
from tests.test_parse import same

settings.register_profile(
    "fast",
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("long", settings.get_profile("fast"), max_examples=100_000)
FUZZ = settings(settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast")))

SOURCE = "fuzz.yaml"
# Errors about the whole document, which have no field path.
DOCUMENT_LEVEL = ("must be a mapping, got", "keys must be strings, got", "more problems")
FIELDS = [
    *("version", "id", "containers", "volumes", "restartPolicy", "name", "image", "command"),
    *("workingDir", "ports", "volumeMounts", "env", "imagePullPolicy", "containerPort"),
    *("hostPort", "hostIp", "protocol", "path", "mountPath", "readOnly", "key", "value"),
]

# --- valid manifests -----------------------------------------------------------------------

# Cheap to draw (no regular expressions, no filters): 100,000 examples take minutes.
names = st.builds(
    str.__add__,
    st.sampled_from("abwxyz"),
    st.text("ab09-", max_size=6).map(lambda tail: tail.rstrip("-")),
)
identifiers = st.builds(str.__add__, st.sampled_from("AZ_az"), st.text("AZaz09_", max_size=6))
paths = st.text("az09_./- ", max_size=14).map("/".__add__)
images = st.sampled_from(
    [
        "nginx",
        "nginx:1.25",
        "localhost:5000/a/b:tag",
        "registry.example.com/team/app-2_x:1.2",
        "busybox@sha256:" + "0" * 64,
    ]
)
# Any text but NUL; hypothesis leaves out surrogates unless asked for them.
data_text = st.text(st.characters(exclude_characters="\x00"), max_size=12)
host_ips = st.sampled_from(["127.0.0.1", "::1", "0.0.0.0", "10.1.2.3", "fe80::1"])


@st.composite
def containers(draw: st.DrawFn, name: str, host_ports: list[int], volumes: list[str]) -> Any:
    container: dict[str, Any] = {"name": name, "image": draw(images)}
    if draw(st.booleans()):
        container["command"] = draw(st.lists(data_text, max_size=4))
    if draw(st.booleans()):
        container["workingDir"] = draw(paths)
    ports = []
    for host_port in host_ports:
        port: dict[str, Any] = {"containerPort": draw(st.integers(1, 65535))}
        if draw(st.booleans()):
            port["hostPort"] = host_port
        else:
            port["containerPort"] = host_port
        if draw(st.booleans()):
            port["hostIp"] = draw(host_ips)
        if draw(st.booleans()):
            port["protocol"] = draw(st.sampled_from(["TCP", "UDP", "tcp", "udp"]))
        ports.append(port)
    empty_list = draw(st.booleans())
    if ports or empty_list:
        container["ports"] = ports
    mounts = draw(st.lists(st.sampled_from(volumes), max_size=2)) if volumes else []
    targets = draw(st.lists(paths, min_size=len(mounts), max_size=len(mounts), unique=True))
    container["volumeMounts"] = [
        {"name": volume, draw(st.sampled_from(["path", "mountPath"])): target}
        | ({"readOnly": draw(st.booleans())} if draw(st.booleans()) else {})
        for volume, target in zip(mounts, targets, strict=True)
    ]
    keys = draw(st.lists(identifiers, max_size=3, unique=True))
    container["env"] = [
        {draw(st.sampled_from(["key", "name"])): key, "value": draw(data_text)} for key in keys
    ]
    for field, choices in (
        ("imagePullPolicy", ["IfNotPresent", "Always", "Never"]),
        ("restartPolicy", ["Always", "OnFailure", "Never"]),
    ):
        if draw(st.booleans()):
            container[field] = draw(st.sampled_from(choices))
    return container


@st.composite
def valid_manifests(draw: st.DrawFn) -> dict[str, Any]:
    volumes = draw(st.lists(names, max_size=3, unique=True))
    container_names = draw(st.lists(names, max_size=3, unique=True))
    base, step = draw(st.integers(0, 65534)), draw(st.integers(1, 10_000))
    host_ports = [(base + i * step) % 65535 + 1 for i in range(6)]  # six different ports
    manifest: dict[str, Any] = {"version": "v1beta1"}
    if draw(st.booleans()):
        manifest["id"] = draw(st.sampled_from(["shop", "shop.example.com", "a-1.b-2"]))
    if draw(st.booleans()):
        manifest["restartPolicy"] = draw(st.sampled_from(["Always", "OnFailure", "Never"]))
    manifest["volumes"] = [{"name": volume} for volume in volumes]
    manifest["containers"] = [
        draw(containers(name, host_ports[2 * i : 2 * i + draw(st.integers(0, 2))], volumes))
        for i, name in enumerate(container_names)
    ]
    return manifest


# --- mutations -----------------------------------------------------------------------------

EXTREME_INTS = [0, -1, 1, 65535, 65536, 2**31, -(2**63), 2**64, 10**100]
NASTY_STRINGS = [
    *("", " ", "-", "--privileged", "../etc", ".", "/", "/a,b", '/a"b', "-x", "a\nb", "\x00"),
    *("\ud800", "\udcff", "\u202e", "\x1b[2J", "v1beta1", "nginx", "2024-13-45", "0x_", "~"),
    *("null", "true", "1e400", "%TAG", "*a", "&a", "!!python/name:os.system", "<<", "x" * 300),
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(EXTREME_INTS),
    st.integers(4300, 5000).map(lambda digits: -(10**digits)),  # too long for str()
    st.floats(),
    st.text(max_size=20),
    st.text(st.characters(categories=["Cc", "Cs", "Cf", "Zl", "Zp", "Co"]), max_size=8),
    st.sampled_from(NASTY_STRINGS),
    st.integers(0, 100_000).map(lambda n: "a" * n),
)
keys = st.one_of(
    st.sampled_from(FIELDS), st.text(max_size=10), st.integers(), st.none(), st.booleans()
)
garbage = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=8,
)


def places(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a manifest: the places a mutation can hit."""
    found: list[tuple[Any, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in pairs:
            found.append((item, key))
            if isinstance(child, (dict, list)):
                stack.append(child)
    return found


@st.composite
def mutated_manifests(draw: st.DrawFn) -> Any:
    data: Any = draw(valid_manifests())
    for _ in range(draw(st.integers(0, 3))):
        spots = places(data) if isinstance(data, (dict, list)) else []
        if not spots or draw(st.integers(0, 40)) == 0:
            data = draw(garbage)
            continue
        parent, key = draw(st.sampled_from(spots))
        mutation = draw(st.sampled_from(["replace", "replace", "delete", "add", "wrap"]))
        if mutation == "replace":
            parent[key] = draw(garbage)
        elif mutation == "delete":
            del parent[key]
        elif mutation == "add" and isinstance(parent[key], dict):
            parent[key][draw(keys)] = draw(garbage)
        elif mutation == "add" and isinstance(parent[key], list):
            parent[key].append(draw(garbage))
        else:
            parent[key] = [parent[key]] if draw(st.booleans()) else {draw(keys): parent[key]}
    return data


# --- the properties ------------------------------------------------------------------------


def read(data: Any) -> Manifest | None:
    """The manifest of ``data``, or None when it is refused as it must be: nothing else escapes.

    Every error has a message, and a field path unless it concerns the whole document.
    """
    try:
        manifest = Manifest.from_dict(data, SOURCE)
    except ManifestError as exc:
        assert exc.errors
        for error in exc.errors:
            assert error.message
            assert error.path or error.message.startswith(DOCUMENT_LEVEL), error
        assert str(exc).startswith(f"{SOURCE}: ")
        return None
    assert isinstance(manifest, Manifest)
    return manifest


def read_file(raw: bytes, json_only: bool) -> Manifest | None:
    """As :func:`read`, from a file's bytes; a refused file has one error, about all of it."""
    kind = "JSON" if json_only else "YAML"
    try:
        data = parse_document(raw, SOURCE, json_only)
    except ManifestError as exc:
        (error,) = exc.errors
        assert not error.path
        assert error.message
        event(f"{kind} file: refused as a document")
        return None
    manifest = read(data)
    event(f"{kind} file: {'valid' if manifest else 'refused by validation'}")
    return manifest


def check_plans(manifest: Manifest) -> None:
    """A valid manifest plans (all starts, nothing observed), renders, and gives clean argv."""
    specs = build_specs(manifest.containers, "fuzz", "/export")
    result = plan(specs, [], 0.0, PlanOptions(namespace="fuzz"))
    starts = [action.spec for action in result.actions if isinstance(action, Start)]
    assert sorted(starts, key=lambda spec: spec.name) == sorted(specs, key=lambda spec: spec.name)
    render_text(result)
    json.loads(render_json(result))
    for spec in specs:
        for item in create_args(spec):
            assert b"\x00" not in os.fsencode(item)  # fsencode raised on lone surrogates


def documents(data: Any) -> list[tuple[bytes, bool]]:
    """The JSON and YAML files ``data`` dumps to (some data has no YAML or JSON form)."""
    found = []
    with contextlib.suppress(ValueError):  # an int too long for str()
        found.append((json.dumps(data).encode(), True))
    try:
        text = yaml.dump(data, Dumper=yaml.CSafeDumper, allow_unicode=True)
        found.append((text.encode("utf-8", "surrogatepass"), False))
    except (ValueError, yaml.YAMLError):
        pass
    return found


@FUZZ
@given(mutated_manifests())
def test_a_mutated_manifest_plans_or_is_refused_with_paths(data: Any) -> None:
    manifest = read(data)
    event(f"data: {'valid' if manifest else 'refused'}")
    if manifest is not None:
        check_plans(manifest)
    for raw, json_only in documents(data):
        from_file = read_file(raw, json_only)
        if from_file is not None:
            check_plans(from_file)
        if manifest is not None:
            assert from_file == manifest, raw


TOKENS = [
    *("a", "b", ": ", ":", "- ", "-", "? ", ", ", "[", "]", "{", "}", "\n", "\n  ", "\n    "),
    *("&x ", "*x", "&y ", "*y", "<<: ", "!!str ", "!!int ", "!!binary ", "!foo ", "! ", "--- "),
    *("...", "%YAML 1.1\n", "%TAG !e! tag:e,2000:\n", "'q''s'", '"d\\n\\u00e9\\x41"', '"\\ud800"'),
    *("|\n  t\n", ">-\n  f\n", "# c\n", "1", "0x_", "0o7", "1_000", "1:2:3", "-.inf", ".nan"),
    *("2024-02-30", "2001-12-14t21:59:43.10-05:00", "99" * 2200, "~", "true", "Yes", "\t"),
    *("\x85", "\u2028", "\ufeff", "\x1b", "é", "v1beta1", "version", "containers"),
]


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_yaml_token_soup_is_read_or_refused(text: str) -> None:
    manifest = read_file(text.encode("utf-8", "surrogatepass"), json_only=False)
    if manifest is not None:
        check_plans(manifest)


# --- the one pass of agent.manifest.parse builds what PyYAML composes and constructs ---------

MORE_TOKENS = [
    *("0b101", "017", "+12", "-0", "1.5e+3", ".5", "190:20:30.15", "null", "Null", "NULL"),
    *("off", "On", "y", "n", "=", "<<", "2002-12-14", "2001-12-14 21:59:43.10 -5", "''", '""'),
    *("&x [1, 2]", "&y {a: 1}", "!!seq ", "!!map ", "? [a]", "1.0", "True", "12345678901234567890"),
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.dates(),
    st.datetimes(),
)
trees = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.one_of(st.text(max_size=6), st.integers(), st.none()), inner, max_size=4
        )
    ),
    max_leaves=20,
)


@st.composite
def dumped(draw: st.DrawFn) -> str:
    """Data as yaml.dump writes it, in one of its styles, sometimes with an alias or two."""
    value = draw(trees)
    shared = draw(st.lists(st.integers(0, 3), max_size=2))
    if shared and isinstance(value, list):
        value = [*value, *(value[:1] * len(shared))]  # the same object twice: an alias
    style = draw(st.sampled_from([None, "'", '"']))
    flow = draw(st.sampled_from([None, True, False]))
    return yaml.dump(value, Dumper=yaml.SafeDumper, default_style=style, default_flow_style=flow)


def one_pass_and_reference(text: str, loader: type[Any]) -> tuple[Any, Any] | None:
    """What the one pass builds, and what PyYAML composes and constructs, where the one pass
    builds anything at all (else None: it refused, or left the document to PyYAML)."""
    try:
        reader = loader(text)  # the pure-Python reader refuses control characters here
    except yaml.YAMLError:
        return None
    try:
        built = parsing._read_events(reader)
    except (yaml.YAMLError, parsing._Refused):
        return None
    finally:
        reader.dispose()
    if built is parsing._UNUSUAL:
        return None
    reader = loader(text)
    try:
        return built, reader.construct_document(reader.get_single_node())
    finally:
        reader.dispose()


def loaders() -> list[type[Any]]:
    return sorted({parsing._Loader, parsing._PyLoader}, key=str)


@FUZZ
@given(
    st.one_of(
        st.lists(st.sampled_from(TOKENS + MORE_TOKENS), max_size=40).map("".join),
        dumped(),
    )
)
def test_the_one_pass_builds_what_pyyaml_builds(text: str) -> None:
    manifest = read_file(text.encode("utf-8", "surrogatepass"), json_only=False)
    if manifest is not None:
        check_plans(manifest)
    for loader in loaders():
        found = one_pass_and_reference(text, loader)
        event(f"{loader.__name__}: {'built in one pass' if found else 'left to PyYAML'}")
        if found is not None:
            built, reference = found
            assert same(built, reference), (built, reference)
