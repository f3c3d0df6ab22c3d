"""agent.manifest.parse.parse_document as two tables of sentences: what it reads, what it refuses.

A refused document raises one ManifestError naming the file, with one message
and no field path; the message is stated in full. The limits are tested at
their edges with small limits patched in, and again with the pure-Python loader.
"""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest

from agent.errors import FieldError, ManifestError
from agent.manifest import parse as parsing
from agent.manifest.parse import MAX_BYTES, MAX_DEPTH, MAX_VALUES, parse_document

SOURCE = "shop.yaml"

MANIFEST_YAML = b"""\
version: v1beta1
containers:
  - name: web
    image: nginx:1.25
    ports:
      - containerPort: 80
"""
MANIFEST_DATA = {
    "version": "v1beta1",
    "containers": [{"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}],
}
MANIFEST_JSON = b"""\
{
  "version": "v1beta1",
  "containers": [
    {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}
  ]
}
"""

ANCHORS_YAML = b"""\
version: v1beta1
containers:
  - name: web
    image: &image shop/app:1.0
    env: &env
      - {key: MODE, value: prod}
      - {key: WORKERS, value: "4"}
  - name: worker
    image: *image
    env: *env
"""
SHARED_ENV = [{"key": "MODE", "value": "prod"}, {"key": "WORKERS", "value": "4"}]
ANCHORS_DATA = {
    "version": "v1beta1",
    "containers": [
        {"name": "web", "image": "shop/app:1.0", "env": SHARED_ENV},
        {"name": "worker", "image": "shop/app:1.0", "env": SHARED_ENV},
    ],
}


def billion_laughs() -> bytes:
    """Nine levels of nine aliases each: under 1 kB on disk, 9**9 values once expanded."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    names = "abcdefghi"
    for previous, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines).encode() + b"\n"


def nested(depth: int) -> bytes:
    """``depth`` flow sequences, one inside the other (valid YAML and JSON)."""
    return b"[" * depth + b"]" * depth


def nested_value(depth: int, *inside: Any) -> Any:
    """``depth`` lists, one inside the other, the innermost holding ``inside``."""
    value: list[Any] = list(inside)
    for _ in range(depth - 1):
        value = [value]
    return value


ACCEPTED = [
    pytest.param(MANIFEST_YAML, False, MANIFEST_DATA, id="a YAML manifest"),
    pytest.param(MANIFEST_JSON, True, MANIFEST_DATA, id="a JSON manifest read as JSON"),
    pytest.param(MANIFEST_JSON, False, MANIFEST_DATA, id="a JSON manifest read as YAML"),
    pytest.param(b"\xef\xbb\xbf" + MANIFEST_YAML, False, MANIFEST_DATA, id="YAML with a UTF-8 BOM"),
    pytest.param(
        b"---\n" + MANIFEST_YAML + b"...\n",
        False,
        MANIFEST_DATA,
        id="one YAML document with start and end markers",
    ),
    pytest.param(
        "env: [{key: GREETING, value: gr\u00fc\u00df dich}]\n".encode(),
        False,
        {"env": [{"key": "GREETING", "value": "gr\u00fc\u00df dich"}]},
        id="non-ASCII UTF-8 text",
    ),
    pytest.param(ANCHORS_YAML, False, ANCHORS_DATA, id="anchors and aliases used moderately"),
    pytest.param(
        nested(MAX_DEPTH), False, nested_value(MAX_DEPTH), id="YAML nested exactly at the limit"
    ),
    pytest.param(b"---\n", False, None, id="a YAML document that is null (the schema refuses it)"),
    pytest.param(
        b"[" * MAX_DEPTH + b"1" + b"]" * MAX_DEPTH,
        False,
        nested_value(MAX_DEPTH, 1),
        id="a scalar inside lists nested exactly at the limit",
    ),
    pytest.param(
        b"a: !!str 8080\nb: !!seq [1]\nc: !!map {d: 1}\nf: !<tag:yaml.org,2002:str> 1\n",
        False,
        {"a": "8080", "b": [1], "c": {"d": 1}, "f": "1"},
        id="the tags !!str, !!seq and !!map, also written in full",
    ),
    pytest.param(b"value: 2024-01-31\n", False, {"value": datetime.date(2024, 1, 31)}, id="a date"),
    pytest.param(
        b'a: "%TAG"\nb: |\n  %TAG is text here\n',
        False,
        {"a": "%TAG", "b": "%TAG is text here\n"},
        id="%TAG inside values",
    ),
    pytest.param(
        b'"' + b"x" * (MAX_BYTES - 2) + b'"',
        True,
        "x" * (MAX_BYTES - 2),
        id="a file of exactly 10 MB",
    ),
]


@pytest.mark.parametrize(("raw", "json_only", "expected"), ACCEPTED)
def test_accepted(raw: bytes, json_only: bool, expected: Any) -> None:
    assert parse_document(raw, SOURCE, json_only=json_only) == expected


REFUSED = [
    # duplicate keys
    pytest.param(
        MANIFEST_YAML + b"version: v1\n",
        False,
        "line 7: key 'version' appears twice in one mapping",
        id="YAML key twice at the top",
    ),
    pytest.param(
        b"containers:\n  - name: web\n    image: nginx\n    image: redis\n",
        False,
        "line 4: key 'image' appears twice in one mapping",
        id="YAML key twice in a nested mapping",
    ),
    pytest.param(
        b'{"version": "v1beta1", "version": "v1"}',
        True,
        "key 'version' appears twice in one object",
        id="JSON key twice",
    ),
    pytest.param(
        b'{"version": "v1beta1",\n "version": "v1"}',
        False,
        "line 2: key 'version' appears twice in one mapping",
        id="JSON key twice, read as YAML",
    ),
    # tags
    pytest.param(
        b"a: !!python/object/apply:os.system ['true']\n",
        False,
        "invalid YAML: line 1: tag 'tag:yaml.org,2002:python/object/apply:os.system' is not "
        "allowed (only !!str, !!seq, !!map)",
        id="python/object/apply tag",
    ),
    pytest.param(
        b"a: !!python/name:os.system\n",
        False,
        "invalid YAML: line 1: tag 'tag:yaml.org,2002:python/name:os.system' is not allowed "
        "(only !!str, !!seq, !!map)",
        id="python/name tag",
    ),
    pytest.param(
        b"version: v1beta1\ncontainers: !include web.yaml\n",
        False,
        "invalid YAML: line 2: tag '!include' is not allowed (only !!str, !!seq, !!map)",
        id="custom tag",
    ),
    # empty, encoding, binary
    pytest.param(b"", False, "file is empty", id="empty file"),
    pytest.param(b" \n\t\n  \n", False, "file is empty", id="whitespace-only file"),
    pytest.param(b"", True, "file is empty", id="empty JSON file"),
    pytest.param(b"# nothing yet\n", False, "file holds no document", id="comment-only file"),
    pytest.param(
        "name: caf\u00e9\n".encode("latin-1"),
        False,
        "file is not valid UTF-8 (byte 9)",
        id="Latin-1 text",
    ),
    pytest.param(b"\xff\xfe", False, "file is not valid UTF-8 (byte 0)", id="invalid UTF-8"),
    pytest.param(
        b"version: v1beta1\x00\n",
        False,
        "file is binary (contains NUL bytes), not YAML or JSON",
        id="a NUL byte",
    ),
    pytest.param(
        "version: v1beta1\n".encode("utf-16"),
        False,
        "file is binary (contains NUL bytes), not YAML or JSON",
        id="UTF-16 text",
    ),
    pytest.param(
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
        False,
        "file is binary (contains NUL bytes), not YAML or JSON",
        id="gzip data",
    ),
    # structure and syntax
    pytest.param(
        MANIFEST_YAML + b"---\n" + MANIFEST_YAML,
        False,
        "invalid YAML: line 7: expected a single document in the stream; "
        "but found another document",
        id="two YAML documents",
    ),
    pytest.param(
        b"version: v1beta1\n  containers: []\n",
        False,
        "invalid YAML: line 2: mapping values are not allowed in this context",
        id="YAML indentation error reports its line",
    ),
    pytest.param(
        b"version: v1beta1\ncontainers: [{name: web}\n",
        False,
        "invalid YAML: line 3: while parsing a flow sequence; did not find expected ',' or ']'",
        id="unclosed YAML bracket reports its line",
    ),
    pytest.param(
        b'{\n  "version": "v1beta1",\n  "containers": \n}\n',
        True,
        "invalid JSON at line 4 column 1: Expecting value",
        id="JSON syntax error reports line and column",
    ),
    pytest.param(
        MANIFEST_YAML,
        True,
        "invalid JSON at line 1 column 1: Expecting value",
        id="YAML in a file read as JSON",
    ),
    pytest.param(
        b"version: v1beta1\ncontainers: *web\n",
        False,
        "invalid YAML: line 2: found undefined alias 'web'",
        id="undefined alias",
    ),
    # limits
    pytest.param(
        b"a: '" + b"x" * MAX_BYTES + b"'\n",
        False,
        f"file is larger than 10 MB ({MAX_BYTES + 6} bytes)",
        id="over 10 MB",
    ),
    pytest.param(
        b'"' + b"x" * (MAX_BYTES - 1) + b'"',
        True,
        f"file is larger than 10 MB ({MAX_BYTES + 1} bytes)",
        id="one byte over 10 MB",
    ),
    pytest.param(
        nested(MAX_DEPTH + 1),
        False,
        "nesting deeper than 100 levels",
        id="YAML nested one level past the limit",
    ),
    pytest.param(
        b"a:\n" + b"".join(b"  " * i + b"b:\n" for i in range(1, 150)),
        False,
        "nesting deeper than 100 levels",
        id="YAML block mappings nested 150 deep",
    ),
    pytest.param(
        nested(100_000), False, "nesting deeper than 100 levels", id="YAML nested 100000 deep"
    ),
    pytest.param(
        nested(100_000), True, "nesting deeper than 100 levels", id="JSON nested 100000 deep"
    ),
    pytest.param(
        billion_laughs(),
        False,
        f"more than {MAX_VALUES} values once aliases are expanded",
        id="billion laughs alias bomb",
    ),
    pytest.param(
        b"a: &a [*a]\n",
        False,
        "invalid YAML: line 1: alias 'a' is used inside the value it names",
        id="an alias inside its own anchor",
    ),
    pytest.param(
        b"a: &a 1\nb: &a 2\n",
        False,
        "invalid YAML: line 2: anchor 'a' is defined twice",
        id="an anchor defined twice",
    ),
    # tags that construct more than plain data, and directives
    pytest.param(
        b"a: !!binary aGVsbG8=\n",
        False,
        "invalid YAML: line 1: tag 'tag:yaml.org,2002:binary' is not allowed "
        "(only !!str, !!seq, !!map)",
        id="!!binary",
    ),
    pytest.param(
        b"a: !!set {x, y}\n",
        False,
        "invalid YAML: line 1: tag 'tag:yaml.org,2002:set' is not allowed "
        "(only !!str, !!seq, !!map)",
        id="!!set",
    ),
    pytest.param(
        b"a: !!bool maybe\n",
        False,
        "invalid YAML: line 1: tag 'tag:yaml.org,2002:bool' is not allowed "
        "(only !!str, !!seq, !!map)",
        id="!!bool (whose constructor fails on a bad value)",
    ),
    pytest.param(
        b"a: !!map b\n",
        False,
        "invalid YAML: line 1: expected a mapping node, but found scalar",
        id="!!map on a scalar",
    ),
    pytest.param(
        b"a: !!map [b]\n",
        False,
        "invalid YAML: line 1: expected a mapping node, but found sequence",
        id="!!map on a list",
    ),
    pytest.param(
        b"a: !!seq b\n",
        False,
        "invalid YAML: line 1: expected a sequence node, but found scalar",
        id="!!seq on a scalar",
    ),
    pytest.param(
        b"%TAG !e! tag:example.com,2000:\n--- !e!x a\n",
        False,
        "invalid YAML: line 1: %TAG directives are not allowed",
        id="a %TAG directive (libyaml handles many of them in quadratic time)",
    ),
    pytest.param(
        b"a: 1\n...\n%TAG !e! tag:example.com,2000:\n--- b\n",
        False,
        "invalid YAML: line 3: %TAG directives are not allowed",
        id="a %TAG directive after a document",
    ),
    # scalars that Python cannot hold
    pytest.param(
        b"created: 2024-13-45\n",
        False,
        "invalid YAML: line 1: cannot read '2024-13-45' as timestamp: month must be in 1..12",
        id="a date that does not exist",
    ),
    pytest.param(
        b"port: 0x_\n",
        False,
        "invalid YAML: line 1: cannot read '0x_' as int: "
        "invalid literal for int() with base 16: ''",
        id="a hexadecimal int without digits",
    ),
    pytest.param(
        b"port: " + b"1" * 5000 + b"\n",
        False,
        f"invalid YAML: line 1: cannot read '{'1' * 36}... as int: Exceeds the limit "
        "(4300 digits) for integer string conversion: value has 5000 digits",
        id="a YAML int of 5000 digits",
    ),
    pytest.param(
        b"[" + b"1" * 5000 + b"]",
        True,
        "invalid JSON: Exceeds the limit (4300 digits) for integer string conversion: "
        "value has 5000 digits",
        id="a JSON int of 5000 digits",
    ),
    # control characters
    pytest.param(
        b"version: v1beta1\nid: \x1b[31mred\n",
        False,
        "line 2: control character U+001B is not allowed in YAML",
        id="an escape character",
    ),
    pytest.param(
        b"a: \x7f\n", False, "line 1: control character U+007F is not allowed in YAML", id="DEL"
    ),
    pytest.param(
        "a: \x9b\n".encode(),
        False,
        "line 1: control character U+009B is not allowed in YAML",
        id="a C1 control character",
    ),
    pytest.param(
        b'{"a": "\x1b"}',
        True,
        "invalid JSON at line 1 column 8: Invalid control character at",
        id="a raw control character in a JSON string",
    ),
]


@pytest.mark.parametrize(("raw", "json_only", "message"), REFUSED)
def test_refused(raw: bytes, json_only: bool, message: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_document(raw, SOURCE, json_only=json_only)
    assert caught.value.source == SOURCE
    assert caught.value.errors == (FieldError("", message),)
    assert str(caught.value) == f"{SOURCE}: {message}"


def test_merge_key_is_accepted() -> None:
    raw = b"base: &base {image: nginx, restartPolicy: Always}\nweb:\n  <<: *base\n  name: web\n"
    assert parse_document(raw, SOURCE) == {
        "base": {"image": "nginx", "restartPolicy": "Always"},
        "web": {"image": "nginx", "restartPolicy": "Always", "name": "web"},
    }


# --- the limits at their edges, with small limits patched in -------------------------------


def flow_list(values: int) -> bytes:
    """A flow list holding ``values`` values, the list itself included."""
    return b"[" + b",".join([b"1"] * (values - 1)) + b"]"


EDGES = [
    pytest.param(flow_list(10), False, None, id="YAML list of exactly the limit"),
    pytest.param(flow_list(11), False, "more than 10 values", id="YAML list one value over"),
    pytest.param(flow_list(10), True, None, id="JSON list of exactly the limit"),
    pytest.param(flow_list(11), True, "more than 10 values", id="JSON list one value over"),
    pytest.param(b"{a: 1, b: 2, c: 3, d: 4, e: 5}\n", False, "more than 10 values", id="YAML keys"),
    pytest.param(b'{"a": 1, "b": 2, "c": 3, "d": [5]}', False, None, id="JSON keys, 10 values"),
    pytest.param(
        b'{"a": 1, "b": 2, "c": 3, "d": [5, 6]}', True, "more than 10 values", id="JSON 11"
    ),
    pytest.param(
        b'["a,b,c,d,e,f,g,h,i,j,k", "[[[{{{:::"]', True, None, id="JSON structure in strings"
    ),
    pytest.param(
        b'["\\\\", "\\"[", 1, 2, 3, 4, 5, 6, 7]', True, None, id="JSON escapes, 10 values"
    ),
    pytest.param(
        b'["x", "y", "z", "", "", "", "", "", "", "", ""]',
        True,
        "more than 10 values",
        id="JSON strings, 12 values",
    ),
    pytest.param(
        b"a: &a [1]\nb: *a\nc: *a\n",
        False,
        None,
        id="YAML aliases expanding to exactly the limit",
    ),
    pytest.param(
        b"a: &a [1]\nb: *a\nc: *a\nd: 1\n",
        False,
        "more than 10 values",
        id="YAML aliases and one more value",
    ),
    pytest.param(
        b"a: &a [1, 2]\nb: *a\nc: *a\n",
        False,
        "more than 10 values once aliases are expanded",
        id="YAML aliases expanding past the limit",
    ),
    pytest.param(b"[[[[1]]]]", False, None, id="YAML nested exactly 4 deep"),
    pytest.param(b"[[[[[1]]]]]", False, "nesting deeper than 4 levels", id="YAML nested 5"),
    pytest.param(b"- - - - 1\n", False, None, id="YAML block lists nested 4 deep"),
    pytest.param(b"- - - - - 1\n", False, "nesting deeper than 4 levels", id="YAML block 5"),
    pytest.param(b"[[[[1]]]]", True, None, id="JSON nested exactly 4 deep"),
    pytest.param(b'[[[[{"a": 1}]]]]', True, "nesting deeper than 4 levels", id="JSON nested 5"),
    pytest.param(b'[[[["]]]]]]]", [1]]]]]', True, "nesting deeper than 4 levels", id="JSON hidden"),
]


@pytest.mark.parametrize(("raw", "json_only", "refused"), EDGES)
def test_limits_at_their_edges(
    raw: bytes, json_only: bool, refused: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsing, "MAX_VALUES", 10)
    monkeypatch.setattr(parsing, "MAX_DEPTH", 4)
    if refused is None:
        parse_document(raw, SOURCE, json_only=json_only)
        return
    with pytest.raises(ManifestError) as caught:
        parse_document(raw, SOURCE, json_only=json_only)
    assert caught.value.errors == (FieldError("", refused),)


# --- the same checks without libyaml --------------------------------------------------------

PURE_PYTHON = [
    pytest.param(
        billion_laughs(), "more than 1000 values once aliases are expanded", id="alias bomb"
    ),
    pytest.param(nested(100_000), "nesting deeper than 100 levels", id="nested 100000 deep"),
    pytest.param(b"- 1\n" * 1000, "more than 1000 values", id="a long list"),
    pytest.param(b"a: 1\na: 2\n", "line 2: key 'a' appears twice in one mapping", id="key twice"),
    pytest.param(
        b"a: !!python/name:os.system\n",
        "invalid YAML: line 1: tag 'tag:yaml.org,2002:python/name:os.system' is not allowed "
        "(only !!str, !!seq, !!map)",
        id="python tag",
    ),
    pytest.param(b"a: *b\n", "invalid YAML: line 1: found undefined alias 'b'", id="alias"),
    pytest.param(
        b"a: 2024-02-30\n",
        "invalid YAML: line 1: cannot read '2024-02-30' as timestamp: day is out of range for "
        "month",
        id="a date that does not exist",
    ),
]


@pytest.mark.parametrize(("raw", "message"), PURE_PYTHON)
def test_pure_python_loader_keeps_every_check(
    raw: bytes, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsing, "_Loader", parsing._PyLoader)
    monkeypatch.setattr(parsing, "MAX_VALUES", 1000)
    with pytest.raises(ManifestError) as caught:
        parse_document(raw, SOURCE)
    assert caught.value.errors == (FieldError("", message),)


def test_pure_python_loader_reads_a_manifest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "_Loader", parsing._PyLoader)
    assert parse_document(ANCHORS_YAML, SOURCE) == ANCHORS_DATA


# --- one pass: the document built from the parser's events, as PyYAML would build it -------


def composed(raw: bytes, loader: type[Any] = parsing._Loader) -> Any:
    """The document as PyYAML's composer and the strict constructor build it: the reference."""
    text = raw.decode("utf-8")
    reader = loader(text)
    try:
        return reader.construct_document(reader.get_single_node())
    finally:
        reader.dispose()


def read_in_one_pass(raw: bytes, loader: type[Any] = parsing._Loader) -> Any:
    reader = loader(raw.decode("utf-8"))
    try:
        return parsing._read_events(reader)
    finally:
        reader.dispose()


def same(built: Any, reference: Any, shared: dict[int, int] | None = None) -> bool:
    """Equal, of the same types all the way down (``1``, ``1.0`` and ``True`` differ; NaN is
    NaN), with the same lists and mappings shared (an alias is the object it names)."""
    shared = {} if shared is None else shared
    if type(built) is not type(reference):
        return False
    if isinstance(built, (list, dict)):
        if id(built) in shared or id(reference) in shared.values():
            return shared.get(id(built)) == id(reference)
        shared[id(built)] = id(reference)
        if len(built) != len(reference):
            return False
        if isinstance(built, dict):
            pairs = zip(built.items(), reference.items(), strict=True)
            return all(same(k, rk, shared) and same(v, rv, shared) for (k, v), (rk, rv) in pairs)
        return all(same(b, r, shared) for b, r in zip(built, reference, strict=True))
    if isinstance(built, float) and built != built:
        return bool(reference != reference)
    return bool(built == reference)


BUILT_IN_ONE_PASS = [
    pytest.param(MANIFEST_YAML, id="a manifest"),
    pytest.param(ANCHORS_YAML, id="anchors and aliases: the same objects"),
    pytest.param(
        b"ints: [0, 7, 10, -3, +4, 0b101, 0x1F, 017, 1_000, 190:20:30, 12345678901234567890]\n",
        id="ints in every base, signs, underscores, sexagesimal, long",
    ),
    pytest.param(
        b"floats: [1.5, -0.5, .5, 1.0e+3, 6.8523015e+5, 190:20:30.15, .inf, -.Inf, .NaN]\n",
        id="floats, infinities and NaN",
    ),
    pytest.param(
        b"bools: [true, False, yes, No, on, OFF, y, n]\nnulls: [~, null, Null, NULL, ]\nnone:\n",
        id="YAML 1.1 booleans and nulls (y and n are strings)",
    ),
    pytest.param(
        b"dates: [2024-01-31, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10 -5, "
        b"2001-12-15T02:59:43.1Z, 2002-12-14]\n",
        id="dates and timestamps",
    ),
    pytest.param(
        b"quoted: ['1', \"true\", '~', '']\nblock: |\n  1\nfolded: >-\n  2024-01-31\n",
        id="quoted and block scalars are strings",
    ),
    pytest.param(b"a: !!str 1\nb: !!seq [1]\nc: !!map {1: 2}\nd: !!str\n", id="the allowed tags"),
    pytest.param(
        b"1: int\n1.5: float\nnull: none\n2024-01-31: date\nfalse: bool\n? x\n: y\n",
        id="keys of every scalar kind",
    ),
    pytest.param(b"&k key: &v [&w {a: *k}]\nother: *v\nthird: *w\n", id="anchors on keys"),
    pytest.param(b"- - - []\n  - {}\n- [[], {a: [{}]}]\n", id="nested and empty collections"),
    pytest.param(b"--- 1\n...\n", id="a scalar document"),
    pytest.param(b"---\n", id="a null document"),
    pytest.param(b"{a: 1, b: [x, y], c: {d: e}}", id="flow style"),
    pytest.param(b"'=': 1\n'<<': 2\n", id="quoted = and <<, plain strings"),
]


@pytest.mark.parametrize("loader", sorted({parsing._Loader, parsing._PyLoader}, key=str))
@pytest.mark.parametrize("raw", BUILT_IN_ONE_PASS)
def test_one_pass_builds_what_pyyaml_composes_and_constructs(raw: bytes, loader: type[Any]) -> None:
    built = read_in_one_pass(raw, loader)
    assert built is not parsing._UNUSUAL
    assert same(built, composed(raw, loader))
    assert same(parse_document(raw, SOURCE), composed(raw))


LEFT_TO_PYYAML = [
    pytest.param(b"base: &b {a: 1}\nweb:\n  <<: *b\n  c: 2\n", id="a merge key"),
    pytest.param(b"a: 1\n= : 2\n", id="the value key '='"),
    pytest.param(b"a: =\n", id="'=' as a value"),
    pytest.param(b"a: 1\na: 2\n", id="a key twice"),
    pytest.param(b"1: a\n1.0: b\n", id="a key twice, as an int and as a float"),
    pytest.param(b"? [a]\n: b\n", id="a list as a key"),
    pytest.param(b"a: &l [1]\n? *l\n: b\n", id="an alias of a list as a key"),
    pytest.param(b"a: 2024-02-30\n", id="a date that does not exist"),
    pytest.param(b"a: " + b"1" * 5000 + b"\n", id="an int Python will not read"),
    pytest.param(b"a: !!seq b\n", id="!!seq on a scalar"),
    pytest.param(b"a: !!str [b]\n", id="!!str on a list"),
    pytest.param(b"a: !!map [b]\n", id="!!map on a list"),
    pytest.param(b"a: 1\n---\nb: 2\n", id="two documents"),
    pytest.param(b"# no document\n", id="no document"),
]


@pytest.mark.parametrize("loader", sorted({parsing._Loader, parsing._PyLoader}, key=str))
@pytest.mark.parametrize("raw", LEFT_TO_PYYAML)
def test_one_pass_leaves_what_the_constructor_must_do_to_pyyaml(
    raw: bytes, loader: type[Any]
) -> None:
    """Merge keys and every problem the constructor reports: checked in the one pass, but
    composed and constructed by PyYAML, which gives its own value or its own message."""
    assert read_in_one_pass(raw, loader) is parsing._UNUSUAL
