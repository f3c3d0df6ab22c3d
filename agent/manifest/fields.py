"""Reading raw data field by field, every problem kept with the path of its field.

:class:`FieldReader` is what :mod:`agent.manifest.schema` reads a manifest with: each of its
methods checks one kind of value (a string, a number, a name, a path, a choice...),
reports a problem at the field's path and goes on, so that a file's every problem is
found in one reading. Nothing here raises but :class:`TooManyErrors`, whatever the input.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from agent.errors import FieldError

__all__ = [
    "MAX_ERRORS",
    "MAX_PATH_LENGTH",
    "MAX_PORT",
    "NOT_TEXT",
    "FieldReader",
    "TooManyErrors",
    "each",
    "is_rfc1035_name",
    "item_paths",
    "quote",
    "text_problem",
]

MAX_PATH_LENGTH = 512
MAX_PORT = 65535
"""The highest port number; ports are 1 to this."""
MAX_ERRORS = 100
_QUOTED_LENGTH = 256
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_SURROGATE = re.compile("[\ud800-\udfff]")
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")  # what text_problem finds a problem in
_NOT_IN_PATHS = re.compile('[,"\x00-\x1f\x7f]')
_RFC1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?\Z")

_T = TypeVar("_T")
_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
    float: "a number",
}
# Types YAML gives that no field takes, by name (the planner's imports stay clock-free).
_OTHER_TYPE_NAMES = {"date": "a date", "datetime": "a timestamp"}


def is_rfc1035_name(value: str) -> bool:
    """A DNS label: lower case letters, digits and '-', starting with a letter, 63 at most."""
    return len(value) <= 63 and _RFC1035.match(value) is not None


def _describe(value: Any, secret: bool = False) -> str:
    """What a value is, for a message; a secret's kind only, never its value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean" if secret else f"{str(value).lower()} (a boolean)"
    name = type(value).__name__
    kind = _TYPE_NAMES.get(type(value)) or _OTHER_TYPE_NAMES.get(name, name)
    if secret or not isinstance(value, (str, int, float)):
        return kind
    if isinstance(value, int) and value.bit_length() > 64:
        return "a very large integer"  # repr() refuses ints of more than 4300 digits
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({kind})"


def quote(value: str, length: int = _QUOTED_LENGTH) -> str:
    """``repr`` of a value for a message, shortened when long; control characters escaped."""
    if len(value) <= length:
        return repr(value)
    return repr(value[:length]) + "..."


def _field_path(path: str, key: str) -> str:
    """``path.key``, or ``path['a key']`` for a key that is not a plain word."""
    if _PLAIN_KEY.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{quote(key, 40)}]"


def text_problem(value: str) -> str | None:
    """Why a string cannot be handed to an engine, if it cannot."""
    if "\x00" in value:
        return "must not contain a NUL character"
    if _SURROGATE.search(value):
        return "must be valid Unicode (it holds a lone surrogate code point)"
    return None


class TooManyErrors(Exception):
    """More than MAX_ERRORS problems were found: reading stops."""


class FieldReader:
    """Collects the errors of one manifest while reading its fields."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))
        if len(self.errors) > MAX_ERRORS:
            raise TooManyErrors

    def typed(self, value: Any, kind: type[_T], path: str, secret: bool = False) -> _T | None:
        if type(value) is kind or (
            isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        ):
            return value
        self.error(path, f"must be {_TYPE_NAMES[kind]}, got {_describe(value, secret)}")
        return None

    def mapping(
        self,
        value: Any,
        path: str,
        fields: frozenset[str],
        aliases: Mapping[str, str] = {},
        refused: Mapping[str, str] = {},
    ) -> dict[str, Any] | None:
        """A mapping with known fields only; aliases are folded into their field. A field
        of ``refused`` (a well-known one that is not run on purpose) is reported with its
        reason instead of as unknown."""
        data = self.typed(value, dict, path)
        if data is None:
            return None
        if data.keys() <= fields:
            return data  # known fields (strings, each once), none by an alias: as it is
        result: dict[str, Any] = {}
        spelled: dict[str, str] = {}
        for key, item in data.items():
            field = aliases.get(key, key) if aliases else key
            if type(key) is str and field in fields and field not in result:
                result[field] = item
                spelled[field] = key
                continue
            if not isinstance(key, str):
                self.error(path, f"keys must be strings, got {_describe(key)}")
                continue
            where = _field_path(path, key)
            if key in refused:
                self.error(where, f"is not supported by container-agent: {refused[key]}")
            elif field not in fields:
                hint = (
                    difflib.get_close_matches(key, sorted([*fields, *aliases]), n=1)
                    if len(key) < 64
                    else []
                )
                suggestion = f', did you mean "{hint[0]}"?' if hint else ""
                self.error(where, f"unknown field{suggestion}")
            elif field in result:
                self.error(where, f'is given twice, as "{spelled[field]}" and as "{key}"')
            else:
                result[field] = item
                spelled[field] = key
        return result

    def items(self, data: Mapping[str, Any], key: str, path: str) -> list[Any]:
        """An optional list field: absent means empty, anything else must be a list."""
        if key not in data:
            return []
        value = data[key]
        if type(value) is list:
            return value
        return self.typed(value, list, f"{path}.{key}" if path else key) or []

    def text(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        required: bool = True,
        secret: bool = False,
    ) -> str | None:
        if key not in data:
            if required:
                self.error(f"{path}.{key}" if path else key, "is required")
            return None
        value: str | None = data[key]
        if type(value) is not str:
            value = self.typed(value, str, f"{path}.{key}" if path else key, secret)
            if value is None:
                return None
        if NOT_TEXT.search(value):
            problem = text_problem(value)
            if problem:
                self.error(f"{path}.{key}" if path else key, problem)
                return None
        return value

    def number(self, data: Mapping[str, Any], key: str, path: str) -> int | None:
        """A port number: 1 to :data:`MAX_PORT`."""
        return self.whole(data, key, path, 1, MAX_PORT)

    def whole(
        self, data: Mapping[str, Any], key: str, path: str, least: int, most: int, hint: str = ""
    ) -> int | None:
        """An integer from ``least`` to ``most`` (``hint`` follows the bounds in the message:
        `` (a day)``)."""
        value = data[key]
        if type(value) is int and least <= value <= most:
            return value
        value = self.typed(value, int, f"{path}.{key}")
        if value is not None and not least <= value <= most:
            shown = value if value.bit_length() <= 64 else "a very large integer"
            self.error(f"{path}.{key}", f"must be between {least} and {most}{hint}, got {shown}")
            return None
        return value

    def choice(
        self, data: Mapping[str, Any], key: str, path: str, choices: Sequence[str], default: str
    ) -> str:
        if key not in data:
            return default
        value = self.text(data, key, path, required=False)
        if value is None:
            return default
        if value not in choices:
            where = f"{path}.{key}" if path else key
            self.error(where, f"must be one of {', '.join(choices)}, got {quote(value)}")
            return default
        return value

    def name(
        self, data: Mapping[str, Any], key: str, path: str, required: bool = True
    ) -> str | None:
        value = self.text(data, key, path, required)
        if value is not None and not is_rfc1035_name(value):
            self.error(
                f"{path}.{key}",
                f"must be an RFC 1035 name (lower case letters, digits and '-', starting with a "
                f"letter, at most 63 characters), got {quote(value)}",
            )
            return None
        return value

    def absolute_path(self, data: Mapping[str, Any], key: str, path: str) -> str | None:
        value = self.text(data, key, path)
        if value is None:
            return None
        if (
            value.startswith("/")
            and len(value) <= MAX_PATH_LENGTH
            and not _NOT_IN_PATHS.search(value)
        ):
            return value
        where = f"{path}.{key}"
        if not value.startswith("/"):
            self.error(where, f"must be an absolute path, got {quote(value)}")
        elif len(value) > MAX_PATH_LENGTH:
            self.error(where, f"must be at most {MAX_PATH_LENGTH} characters, got {len(value)}")
        elif _NOT_IN_PATHS.search(value):
            self.error(
                where,
                "must not contain a comma, a double quote or a control character "
                f"(such as a line break), got {quote(value)}",
            )
        else:
            return value
        return None

    def unique(self, names: list[tuple[str, str]], what: str) -> None:
        """Report every (path, name) whose name was already seen."""
        if len({value for _, value in names}) == len(names):
            return
        seen: set[str] = set()
        for where, value in names:
            if value in seen:
                self.error(where, f"{what} {quote(value)} is not unique")
            seen.add(value)


def item_paths(
    items: Sequence[Any], path: str, label: Callable[[Any], str | None] | None = None
) -> list[str]:
    """The path of each item of a list: ``path[label]`` when the item has a label (its
    name, say) that no other item of the list has, else ``path[index]``.

    A label is always a valid name or key, so that it reads as is and never as an index.
    """
    if label is None:
        return [f"{path}[{index}]" for index in range(len(items))]
    labels = [label(item) for item in items]
    if len(set(labels)) == len(labels):  # each label once: no need to count them
        return [
            f"{path}[{index}]" if name is None else f"{path}[{name}]"
            for index, name in enumerate(labels)
        ]
    counts = Counter(labels)
    return [
        f"{path}[{name}]" if name is not None and counts[name] == 1 else f"{path}[{index}]"
        for index, name in enumerate(labels)
    ]


def each(
    reader: FieldReader,
    data: Mapping[str, Any],
    key: str,
    path: str,
    read: Callable[[FieldReader, Any, str], _T | None],
    label: Callable[[Any], str | None] | None = None,
) -> dict[int, _T]:
    """The optional list field ``key``, each item read at its path (see :func:`item_paths`):
    the items that are valid, by their index in the list."""
    if key not in data:
        return {}
    items = reader.items(data, key, path)
    where = f"{path}.{key}" if path else key
    results: dict[int, _T] = {}
    if label is None:  # each item at its index: the paths of item_paths, made one by one
        for index, item in enumerate(items):
            result = read(reader, item, f"{where}[{index}]")
            if result is not None:
                results[index] = result
        return results
    paths = item_paths(items, where, label)
    for index, item in enumerate(items):
        result = read(reader, item, paths[index])
        if result is not None:
            results[index] = result
    return results
