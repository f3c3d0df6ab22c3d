"""Turning the bytes of a manifest file into plain data, safely.

YAML is read with a safe loader only, refusing duplicate keys, non-standard
tags, documents past the size, depth and alias-expansion limits below; JSON is
read as is, refusing duplicate keys. Every failure is a ManifestError naming
the file and, where known, the line.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from agent.errors import FieldError, ManifestError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "parse_document"]

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 100
MAX_NODES = 1_000_000


class _Refused(Exception):
    """A document past one of the limits."""


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader that counts nesting and expanded size, and refuses duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"nesting deeper than {MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def expanded_size(self, node: yaml.Node) -> int:
        """How many nodes the document has once every alias is expanded."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self.expanded_size(item) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self.expanded_size(k) + self.expanded_size(v) for k, v in node.value)
        if size > MAX_NODES:
            raise _Refused(f"more than {MAX_NODES} values once aliases are expanded")
        self._sizes[id(node)] = size
        return size

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Refuse a key given twice in one mapping; keys merged in with ``<<`` may be overridden."""
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
                raise _Refused(f"line {line}: key {key!r} appears twice in one mapping")
        return super().construct_mapping(node, deep)


def parse_document(raw: bytes, source: str, json_only: bool = False) -> Any:
    """The plain data of one manifest file (or standard input)."""
    if len(raw) > MAX_BYTES:
        _fail(source, f"file is larger than {MAX_BYTES // (1024 * 1024)} MB ({len(raw)} bytes)")
    if b"\x00" in raw:
        _fail(source, "file is binary (contains NUL bytes), not YAML or JSON")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        _fail(source, f"file is not valid UTF-8 (byte {exc.start})")
    if not text.strip():
        _fail(source, "file is empty")
    return _json(text, source) if json_only else _yaml(text, source)


def _json(text: str, source: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise _Refused(f"key {key!r} appears twice in one object")
            result[key] = value
        return result

    try:
        data = json.loads(text, object_pairs_hook=pairs)
        if _depth(data) > MAX_DEPTH:
            raise _Refused(f"nesting deeper than {MAX_DEPTH} levels")
        return data
    except json.JSONDecodeError as exc:
        _fail(source, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
    except _Refused as exc:
        _fail(source, str(exc))
    except RecursionError:
        _fail(source, "nesting too deep")


def _yaml(text: str, source: str) -> Any:
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return _fail(source, "file holds no document")
        loader.expanded_size(node)
        return loader.construct_document(node)
    except _Refused as exc:
        _fail(source, str(exc))
    except yaml.MarkedYAMLError as exc:
        where = f"line {exc.problem_mark.line + 1}: " if exc.problem_mark else ""
        what = "; ".join(part for part in (exc.context, exc.problem) if part)
        _fail(source, f"invalid YAML: {where}{what}")
    except yaml.YAMLError as exc:
        _fail(source, f"invalid YAML: {exc}")
    except RecursionError:
        _fail(source, "nesting too deep")
    finally:
        loader.dispose()


def _depth(data: Any) -> int:
    """How deeply lists and mappings nest in plain data (iteratively: no recursion limit)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _fail(source: str, message: str) -> Any:
    raise ManifestError(source, [FieldError("", message)])
