"""Turning the bytes of a manifest file into plain data, safely and at a bounded cost.

Every file, YAML or JSON, is refused with a :class:`~agent.errors.ManifestError`
naming the file (and, where known, the line) when it is

- larger than ``MAX_BYTES`` (10 MB, 10,485,760 bytes), binary (a NUL byte), not
  UTF-8, or empty;
- nested deeper than ``MAX_DEPTH`` (100) lists and mappings;
- made of more than ``MAX_VALUES`` (250,000) values, counting every scalar,
  list, mapping and key as one and every YAML alias as the values it stands
  for (so an alias bomb, "billion laughs", is refused like a long list).

YAML is read with a safe loader only: explicit tags other than ``!!str``,
``!!seq`` and ``!!map`` (``!!python/...``, ``!include``, ``!!binary``, ...),
duplicate keys and anchors, undefined aliases, an alias inside the value it
names, and control characters are refused. JSON is read as is, refusing
duplicate keys.

The limits are checked before anything past them is built, in passes whose cost is
bounded by the limits themselves. For YAML, one pass over the events of libyaml's
parser (PyYAML's pure-Python parser when PyYAML lacks libyaml, about ten times
slower) checks each event and builds the document from the events checked so far,
as PyYAML's composer and SafeConstructor would (an alias is the object it names,
never a copy), stopping at the first limit passed. A document that needs more of
the constructor than lists, mappings and scalars (a merge key ``<<``), or that it
would refuse (a key twice, ``2024-13-45``, a second document), is composed and
constructed by PyYAML after that pass, so that its value and its messages are
PyYAML's own. For JSON, byte counts and the strings blanked out (by splitting at
the quotes when no string holds an escape, else by a regular expression).
``benchmarks/parse_limits.py`` measures them; ``benchmarks/load_plan.py`` the
whole of loading many containers.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import Node

from agent.errors import FieldError, ManifestError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_VALUES", "decode_text", "parse_document", "read_bounded"]

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 100
MAX_VALUES = 250_000

_ALLOWED_TAGS = frozenset(
    {"tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"}
)
_STARTS = frozenset({yaml.SequenceStartEvent, yaml.MappingStartEvent})
_ENDS = frozenset({yaml.SequenceEndEvent, yaml.MappingEndEvent})
# What the YAML 1.1 reader accepts; anything else is a control character.
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# libyaml keeps %TAG directives in a list it searches for each new one: quadratic.
_TAG_DIRECTIVE = re.compile("(?:\\A|[\r\n\x85\u2028\u2029])\ufeff?%TAG")
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_SEPARATORS = b" \t\r\n[]{},:"
# Maps JSON structure to b" " and everything else to b"x": each b"x" run is one scalar.
_JSON_TOKENS = bytes(32 if i in _JSON_SEPARATORS else 120 for i in range(256))
_JSON_NOT_BRACKETS = bytes(i for i in range(256) if i not in b"[]{}")
_JSON_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class _Refused(Exception):
    """A document past one of the limits, or otherwise not acceptable."""


class _StrictConstructor(SafeConstructor):
    """SafeConstructor that refuses duplicate keys and reports unreadable scalars by line."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # e.g. 2024-13-45, or an int of 5000 digits
            if not isinstance(node, yaml.ScalarNode):
                raise
            kind = node.tag.rsplit(":", 1)[-1]
            reason = str(exc).split(";")[0]
            raise ConstructorError(
                None, None, f"cannot read {_short(node.value)} as {kind}: {reason}", node.start_mark
            ) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Refuse a key given twice in one mapping; keys merged in with ``<<`` may be overridden."""
        if not isinstance(node, yaml.MappingNode):  # !!map on a scalar or a list
            return super().construct_mapping(node, deep)  # "expected a mapping node, but ..."
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue
            if duplicate:
                line = key_node.start_mark.line + 1
                raise _Refused(f"line {line}: key {_short(key)} appears twice in one mapping")
        return super().construct_mapping(node, deep)


class _PyLoader(_StrictConstructor, yaml.SafeLoader):
    """The pure-Python safe loader, for a PyYAML built without libyaml."""


_Loader: type[_PyLoader] | type[yaml.CSafeLoader]
if yaml.__with_libyaml__:

    class _CLoader(_StrictConstructor, yaml.CSafeLoader):
        """libyaml's safe loader: the parser and composer in C, the constructor in Python."""

    _Loader = _CLoader
else:
    _Loader = _PyLoader


def read_bounded(path: str) -> bytes:
    """The bytes of the file at ``path``, up to one past ``MAX_BYTES`` (so that
    :func:`decode_text` can tell a file too large); raises OSError."""
    with open(path, "rb") as handle:
        return handle.read(MAX_BYTES + 1)


def decode_text(raw: bytes, source: str, kind: str = "YAML or JSON") -> str:
    """The text of a file's bytes: not larger than ``MAX_BYTES``, not binary (a NUL byte)
    and UTF-8, else a :class:`~agent.errors.ManifestError` naming ``source`` (and ``kind``,
    what the file should have been)."""
    if len(raw) > MAX_BYTES:
        _fail(source, f"file is larger than {MAX_BYTES // (1024 * 1024)} MB ({len(raw)} bytes)")
    if b"\x00" in raw:
        _fail(source, f"file is binary (contains NUL bytes), not {kind}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        _fail(source, f"file is not valid UTF-8 (byte {exc.start})")
    return text


def parse_document(raw: bytes, source: str, json_only: bool = False) -> Any:
    """The plain data of one manifest file (or standard input)."""
    text = decode_text(raw, source)
    if not text.strip():
        _fail(source, "file is empty")
    try:
        return _json(raw, text) if json_only else _yaml(text)
    except _Refused as exc:
        return _fail(source, str(exc))
    except json.JSONDecodeError as exc:
        return _fail(source, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in (exc.problem or ""):
            # Newer libyaml (PyYAML 6.0.4 and on) stops deep nesting itself, before our count.
            return _fail(source, f"nesting deeper than {MAX_DEPTH} levels")
        where = f"line {exc.problem_mark.line + 1}: " if exc.problem_mark else ""
        what = "; ".join(part for part in (exc.context, exc.problem) if part)
        return _fail(source, f"invalid YAML: {where}{what}")
    except yaml.YAMLError as exc:
        return _fail(source, f"invalid YAML: {exc}")


def _yaml(text: str) -> Any:
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise _Refused(
            f"line {line}: control character U+{ord(bad.group()):04X} is not allowed in YAML"
        )
    directive = _TAG_DIRECTIVE.search(text)
    if directive:
        line = text.count("\n", 0, directive.end()) + 1
        raise _Refused(f"invalid YAML: line {line}: %TAG directives are not allowed")
    loader = _Loader(text)
    try:
        data = _read_events(loader)
    finally:
        loader.dispose()
    if data is not _UNUSUAL:
        return data
    # Within the limits, but the constructor's to build: compose and construct, as PyYAML does.
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise _Refused("file holds no document")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _read_events(loader: Any) -> Any:
    """Check the limits, tags and anchors over the parser's events, and build the document
    from them in the same pass, as PyYAML's composer and SafeConstructor build it.

    Stops at the first problem, and at a second document (which the composer refuses).
    Returns ``_UNUSUAL`` (having checked every event all the same) for a document that
    holds anything but plain lists, mappings and scalars, to be composed and constructed
    by PyYAML instead, which reports its problems as it does: a key twice or a key that is
    a list or a mapping, a merge key (``<<``) or ``=``, a scalar Python cannot hold
    (``2024-13-45``), a tag on a node of another kind (``!!seq a``), no document or two.
    """
    values = 0
    documents = 0
    opened: list[tuple[int, str | None]] = []  # the values before each open collection
    anchors: dict[str, int | None] = {}  # the size of each anchored value, None while open
    # Path resolvers (none in SafeLoader) would tag nodes by where they are: not built here.
    builder = None if loader.yaml_path_resolvers else _Builder(loader)
    get_event = loader.get_event
    while (event := get_event()) is not None:
        kind = type(event)
        if kind in _ENDS:
            before, anchor = opened.pop()
            if anchor is not None:
                anchors[anchor] = values - before
            if builder is not None:
                builder.close()
            continue
        if kind is yaml.AliasEvent:
            values += _alias_size(event, anchors)
            if values > MAX_VALUES:
                raise _Refused(f"more than {MAX_VALUES} values once aliases are expanded")
            if builder is not None and not builder.alias(event.anchor):
                builder = None
            continue
        if kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                return _UNUSUAL
            continue
        if kind is not yaml.ScalarEvent and kind not in _STARTS:
            continue
        if event.tag is not None and event.tag not in _ALLOWED_TAGS:
            raise _invalid(event, f"tag {event.tag!r} is not allowed (only !!str, !!seq, !!map)")
        anchor = event.anchor
        if anchor is not None:
            _define(event, anchors)
        values += 1
        if values > MAX_VALUES:
            raise _Refused(f"more than {MAX_VALUES} values")
        if kind is yaml.ScalarEvent:
            if anchor is not None:
                anchors[anchor] = 1
            if builder is not None and not builder.scalar(event):
                builder = None
            continue
        opened.append((values - 1, anchor))
        if len(opened) > MAX_DEPTH:
            raise _Refused(f"nesting deeper than {MAX_DEPTH} levels")
        if builder is not None and not builder.open(event, kind is yaml.MappingStartEvent):
            builder = None
    if builder is None or documents == 0:
        return _UNUSUAL
    return builder.root


_UNUSUAL: Any = object()
_KEY: Any = object()  # in place of a mapping's key, while the next value is a key
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_INT = "tag:yaml.org,2002:int"
# The tags a scalar resolves to whose SafeConstructor function returns plain data.
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp")
)


class _Builder:
    """The document of one stream of events, built as SafeConstructor builds it.

    Each method takes the next node's event and returns False for a node it does not
    build exactly as the constructor does (the caller then stops building). Scalars
    resolve with the loader's own implicit resolvers, and are built by the
    constructor's own functions but for strings and plain decimal integers.
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        wildcard = loader.yaml_implicit_resolvers.get(None, [])
        self.resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {
            first: [*resolvers, *wildcard]
            for first, resolvers in loader.yaml_implicit_resolvers.items()
            if first is not None
        }
        self.wildcard: list[tuple[str, re.Pattern[str]]] = wildcard
        self.root: Any = None
        self.top: list[Any] | dict[Any, Any] | None = None  # the innermost open collection
        self.key: Any = _KEY  # when ``top`` is a mapping: the key awaiting its value
        self.outer: list[tuple[list[Any] | dict[Any, Any] | None, Any]] = []
        self.anchored: dict[str, Any] = {}
        # Each plain scalar's value by its text: it resolves and is built the same every time
        # (an immutable value, so one object serves every occurrence).
        self.plain: dict[str, Any] = {}

    def put(self, value: Any) -> bool:
        """Place a value: as the document, a list's next item, a mapping's key or value."""
        top = self.top
        if type(top) is list:
            top.append(value)
        elif top is None:
            self.root = value
        elif self.key is _KEY:
            try:
                if value in top:
                    return False  # a key twice
            except TypeError:  # a list or a mapping as a key
                return False
            self.key = value
        else:
            top[self.key] = value
            self.key = _KEY
        return True

    def scalar(self, event: yaml.ScalarEvent) -> bool:
        value: Any = event.value
        tag = event.tag
        if tag is None and event.implicit[0]:
            known = self.plain.get(value, _KEY)
            if known is not _KEY:
                value = known
            else:
                tag = self.resolve(value)
                if tag is not None:
                    if tag not in _SCALAR_TAGS:
                        return False  # merge keys, '=' and the like are the constructor's
                    try:
                        value = self.plain[value] = self.construct(tag, event)
                    except Exception:  # the constructor reports it, on its own pass
                        return False
                else:
                    self.plain[value] = value
        elif tag is not None and tag != _STR:
            return False  # !!seq or !!map on a scalar
        if event.anchor is not None:
            self.anchored[event.anchor] = value
        return self.put(value)

    def resolve(self, value: str) -> str | None:
        """The tag the loader's resolver gives a plain scalar, None for a string."""
        for tag, pattern in self.resolvers.get(value[0] if value else "", self.wildcard):
            if pattern.match(value):
                return tag
        return None

    def construct(self, tag: str, event: yaml.ScalarEvent) -> Any:
        """A resolved scalar's value, as the constructor's function for its tag gives it."""
        value = event.value
        if tag == _INT and value.isdecimal() and value[0] != "0":
            return int(value)  # what construct_yaml_int does with plain decimal digits
        node = yaml.ScalarNode(tag, value)  # no marks: a failure is reported on another pass
        return self.loader.yaml_constructors[tag](self.loader, node)

    def alias(self, anchor: str) -> bool:
        return self.put(self.anchored[anchor])

    def open(self, event: yaml.CollectionStartEvent, mapping: bool) -> bool:
        if event.tag is not None and event.tag != (_MAP if mapping else _SEQ):
            return False  # !!str on a collection, !!seq on a mapping, !!map on a list
        collection: list[Any] | dict[Any, Any] = {} if mapping else []
        if event.anchor is not None:
            self.anchored[event.anchor] = collection
        if not self.put(collection):
            return False
        self.outer.append((self.top, self.key))
        self.top, self.key = collection, _KEY
        return True

    def close(self) -> None:
        self.top, self.key = self.outer.pop()


def _define(event: yaml.NodeEvent, anchors: dict[str, int | None]) -> None:
    if event.anchor is None:
        return
    if event.anchor in anchors:
        raise _invalid(event, f"anchor {event.anchor!r} is defined twice")
    anchors[event.anchor] = None


def _alias_size(event: yaml.AliasEvent, anchors: dict[str, int | None]) -> int:
    if event.anchor not in anchors:
        raise _invalid(event, f"found undefined alias {event.anchor!r}")
    size = anchors[event.anchor]
    if size is None:
        raise _invalid(event, f"alias {event.anchor!r} is used inside the value it names")
    return size


def _invalid(event: yaml.Event, problem: str) -> _Refused:
    where = f"line {event.start_mark.line + 1}: " if event.start_mark else ""
    return _Refused(f"invalid YAML: {where}{problem}")


def _json(raw: bytes, text: str) -> Any:
    """JSON, once its structure (strings blanked out) is known to be within the limits."""
    escapes = b"\\" in raw
    unescaped = raw.replace(b"\\\\", b"") if escapes else raw
    quotes = unescaped.count(b'"') - (unescaped.count(b'\\"') if escapes else 0)
    if quotes // 2 > MAX_VALUES:
        raise _Refused(f"more than {MAX_VALUES} values")  # each string is a key or a value
    if escapes or quotes % 2:
        structure = _JSON_STRING.sub(b"0", raw)
    else:  # every '"' opens or closes a string: the same, without the regular expression
        structure = b"0".join(raw.split(b'"')[::2])
    tokens = structure.translate(_JSON_TOKENS)
    scalars = tokens.count(b" x") + tokens.startswith(b"x")
    if scalars + structure.count(b"[") + structure.count(b"{") > MAX_VALUES:
        raise _Refused(f"more than {MAX_VALUES} values")
    brackets = structure.translate(None, _JSON_NOT_BRACKETS)
    if max(itertools.accumulate(map(_JSON_STEP.__getitem__, brackets)), default=0) > MAX_DEPTH:
        raise _Refused(f"nesting deeper than {MAX_DEPTH} levels")

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise _Refused(f"key {key!r} appears twice in one object")
            result[key] = value
        return result

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # a number json reads but Python will not hold (5000 digits)
        raise _Refused(f"invalid JSON: {str(exc).split(';')[0]}") from None


def _short(value: Any) -> str:
    """``repr`` of a value, shortened to about 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fail(source: str, message: str) -> Any:
    raise ManifestError(source, [FieldError("", message)])
