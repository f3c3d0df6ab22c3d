"""The tables of the JSON output in docs/json-output.md, as schemas: a document either
matches its table or the test that checks it says which field is wrong, missing or
undocumented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parent.parent / "docs" / "json-output.md"
_ROW = re.compile(r"^\| `(?P<path>[^`]+)` \| (?P<type>[a-z ]+) \|")
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def documented(command: str) -> dict[str, str]:
    """The table under the line ``\\`agent COMMAND --output json\\`...``: path -> type."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    heading = f"`agent {command} --output json`"
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    table: dict[str, str] = {}
    for line in lines[start + 1 :]:
        if table and not line.startswith("|"):
            break
        match = _ROW.match(line)
        if match:
            table[match["path"]] = match["type"]
    assert table, f"no table after {heading} in {DOC.name}"
    return table


def fields(document: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every field of ``document`` as (path, value), arrays' elements as ``a[].b``."""
    found: list[tuple[str, Any]] = []
    if isinstance(document, dict):
        for key, value in document.items():
            path = f"{prefix}.{key}" if prefix else key
            found.append((path, value))
            found += fields(value, path)
    elif isinstance(document, list):
        for item in document:
            found += fields(item, f"{prefix}[]")
    return found


def _matches(value: Any, described: str) -> bool:
    if described == "any":
        return True
    kinds = tuple(k for word in described.split(" or ") for k in _TYPES[word])
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


def problems(document: Any, command: str, every_field: bool = True) -> list[str]:
    """What in ``document`` disagrees with the documented table of ``command``: undocumented
    fields, values of another type, and (``every_field``) documented fields it lacks.
    A nested table (``plan`` inside ``apply``) is the plan's."""
    table = documented(command)
    nested = {path: sub for path, sub in (("plan", "plan"),) if path in table and command != sub}
    wrong: list[str] = []
    seen: set[str] = set()
    for path, value in fields(document):
        if any(path.startswith(f"{top}.") for top in nested):
            continue
        seen.add(path)
        if path not in table:
            wrong.append(f"{path}: printed but not in the README")
        elif not _matches(value, table[path]):
            wrong.append(f"{path}: {value!r} is not {table[path]}")
    for top, sub in nested.items():
        if isinstance(document, dict) and top in document:
            wrong += [f"{top}.{p}" for p in problems(document[top], sub, every_field)]
    if every_field:
        wrong += [f"{path}: in the README but never printed" for path in table if path not in seen]
    return wrong
