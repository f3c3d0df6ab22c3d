"""agent.documents.parse_document as two tables of sentences: what it reads, what it refuses.

A refused document raises one ManifestError naming the file, with one message
and no field path; the message is stated in full.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from agent.documents import MAX_BYTES, MAX_DEPTH, parse_document
from agent.errors import FieldError, ManifestError

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


def nested_value(depth: int) -> Any:
    value: list[Any] = []
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
        "invalid YAML: line 1: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'",
        id="python/object/apply tag",
    ),
    pytest.param(
        b"a: !!python/name:os.system\n",
        False,
        "invalid YAML: line 1: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/name:os.system'",
        id="python/name tag",
    ),
    pytest.param(
        b"version: v1beta1\ncontainers: !include web.yaml\n",
        False,
        "invalid YAML: line 2: could not determine a constructor for the tag '!include'",
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
        "invalid YAML: line 2: mapping values are not allowed here",
        id="YAML indentation error reports its line",
    ),
    pytest.param(
        b"version: v1beta1\ncontainers: [{name: web}\n",
        False,
        "invalid YAML: line 3: while parsing a flow sequence; "
        "expected ',' or ']', but got '<stream end>'",
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
    pytest.param(nested(100_000), True, "nesting too deep", id="JSON nested 100000 deep"),
    pytest.param(
        billion_laughs(),
        False,
        "more than 1000000 values once aliases are expanded",
        id="billion laughs alias bomb",
    ),
    pytest.param(b"a: &a [*a]\n", False, "nesting too deep", id="an alias inside its own anchor"),
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
