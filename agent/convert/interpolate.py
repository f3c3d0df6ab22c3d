"""Variable interpolation as Compose does it, and the ``.env`` file it reads.

The Compose specification's forms (12-interpolation.md), in every string value of
the file (keys are not interpolated):

- ``$VAR`` and ``${VAR}``: the variable's value; unset: an empty string, with a
  warning, as Compose does (here a :class:`Missing` the caller turns into a note);
- ``${VAR:-default}``: ``default`` when VAR is unset or empty; ``${VAR-default}``:
  when it is unset;
- ``${VAR:?message}``: an error when VAR is unset or empty; ``${VAR?message}``: when
  it is unset (:class:`InterpolationError`, naming the variable, the file and the field);
- ``${VAR:+replacement}``: ``replacement`` when VAR is set and not empty, else empty;
  ``${VAR+replacement}``: when it is set;
- ``$$``: a literal ``$``.

A default, message or replacement may itself hold variables; it is expanded only
when it is used. Anything else after a ``$`` (``$1``, ``${}``, ``${VAR``, ``${VAR:x}``)
is refused as Compose refuses it ("invalid interpolation format"). Values are looked
up in the process environment first, then in the ``.env`` file next to the compose
file (the process environment wins, as in Compose). Values never appear in errors or
notes; names do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from agent.errors import AgentError

__all__ = [
    "InterpolationError",
    "Interpolator",
    "Missing",
    "parse_env_file",
]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")
_ENV_KEY = re.compile(r"[^\s=#][^\s=]*\Z")
_DOUBLE_QUOTED_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


class InterpolationError(AgentError):
    """A ``${VAR:?message}`` whose variable has no value, or a malformed ``$`` form."""


@attrs.frozen
class Missing:
    """A variable that is not set and had no default: an empty string was used."""

    where: str
    name: str


@attrs.define
class Interpolator:
    """Expands the strings of one compose file; ``missing`` collects unset variables."""

    variables: Mapping[str, str]
    source: str
    missing: list[Missing] = attrs.Factory(list)

    def tree(self, data: Any, where: str = "") -> Any:
        """``data`` with every string value (not key) expanded; lists and mappings copied."""
        if isinstance(data, str):
            return self.text(data, where)
        if isinstance(data, dict):
            return {
                key: self.tree(value, f"{where}.{key}" if where else str(key))
                for key, value in data.items()
            }
        if isinstance(data, list):
            return [self.tree(value, f"{where}[{i}]") for i, value in enumerate(data)]
        return data

    def text(self, value: str, where: str) -> str:
        """``value`` expanded; raises :class:`InterpolationError` naming ``where``."""
        if "$" not in value:
            return value
        out, end = self._expand(value, 0, where, live=True, braced=False)
        assert end == len(value)
        return out

    def _expand(self, text: str, i: int, where: str, live: bool, braced: bool) -> tuple[str, int]:
        """Expand from ``i`` up to the end, or (``braced``) up to an unmatched ``}``,
        whose index is returned. Not ``live``: only checked (an unused default)."""
        out: list[str] = []
        while i < len(text):
            char = text[i]
            if braced and char == "}":
                return "".join(out), i
            if char != "$":
                out.append(char)
                i += 1
                continue
            following = text[i + 1 : i + 2]
            if following == "$":
                out.append("$")
                i += 2
            elif following == "{":
                value, i = self._braced(text, i, where, live)
                out.append(value)
            else:
                match = _NAME.match(text, i + 1)
                if match is None:
                    raise self._invalid(
                        where,
                        "a '$' must start a variable ($VAR or ${VAR}); "
                        "write '$$' for a literal '$'",
                    )
                out.append(self._lookup(match.group(), where) if live else "")
                i = match.end()
        if braced:
            raise self._invalid(where, "a '${' is not closed by '}'")
        return "".join(out), i

    def _braced(self, text: str, start: int, where: str, live: bool) -> tuple[str, int]:
        """The ``${...}`` form at ``start``; returns its value and the index after it."""
        match = _NAME.match(text, start + 2)
        if match is None:
            raise self._invalid(where, "'${' must be followed by a variable name")
        name, i = match.group(), match.end()
        if text[i : i + 1] == "}":
            return (self._lookup(name, where) if live else ""), i + 1
        operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
        if operator is None:
            raise self._invalid(
                where,
                f"unexpected text after ${{{name}: expected '}}', ':-', '-', ':?', '?', "
                "':+' or '+'",
            )
        value = self.variables.get(name) if live else None
        unset_or_empty = operator.startswith(":")
        has_value = value is not None and (value != "" or not unset_or_empty)
        kind = operator[-1]
        use_word = {"-": not has_value, "?": False, "+": has_value}[kind]
        word, end = self._expand(text, i + len(operator), where, live and use_word, braced=True)
        if not live:
            return "", end + 1
        if kind == "?" and not has_value:
            message, _ = self._expand(text, i + len(operator), where, live=True, braced=True)
            why = "is not set" if value is None else "is empty"
            raise InterpolationError(
                f"{self.source}: {where}: required variable {name} {why}"
                + (f": {message}" if message else "")
            )
        if kind == "-":
            return (word if use_word else value or ""), end + 1
        if kind == "+":
            return (word if use_word else ""), end + 1
        return value or "", end + 1

    def _lookup(self, name: str, where: str) -> str:
        value = self.variables.get(name)
        if value is None:
            self.missing.append(Missing(where, name))
            return ""
        return value

    def _invalid(self, where: str, why: str) -> InterpolationError:
        return InterpolationError(f"{self.source}: {where}: invalid interpolation format: {why}")


def parse_env_file(text: str, source: str) -> dict[str, str]:
    """The variables of a ``.env`` (or ``env_file``) file: ``KEY=VALUE`` lines, blank
    lines and ``#`` comments skipped, an optional ``export`` before the key. A value in
    single quotes is literal; in double quotes ``\\n``, ``\\t``, ``\\"`` and ``\\\\`` are
    escapes; an unquoted value is stripped, and a `` #`` starts a comment in it. A line
    with a key alone (no ``=``) sets nothing, as in Compose. Values are not interpolated.
    Raises :class:`InterpolationError` naming the line of a malformed one."""
    found: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export ") or line.startswith("export\t"):
            line = line[len("export") :].lstrip()
        key, equals, value = line.partition("=")
        key = key.strip()
        if not _ENV_KEY.match(key):
            raise InterpolationError(
                f"{source}: line {number}: expected KEY=VALUE, with no space in the key"
            )
        if not equals:
            continue
        found[key] = _env_value(value.strip(), source, number)
    return found


def _env_value(value: str, source: str, number: int) -> str:
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = _closing_quote(value, quote)
        if end is None:
            raise InterpolationError(f"{source}: line {number}: the value's {quote} is not closed")
        rest = value[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise InterpolationError(
                f"{source}: line {number}: unexpected text after the quoted value"
            )
        inner = value[1:end]
        if quote == "'":
            return inner
        return re.sub(r"\\(.)", lambda m: _DOUBLE_QUOTED_ESCAPES.get(m.group(1), m.group(0)), inner)
    comment = re.search(r"\s#", value)
    return (value[: comment.start()] if comment else value).strip()


def _closing_quote(value: str, quote: str) -> int | None:
    i = 1
    while i < len(value):
        if value[i] == "\\" and quote == '"':
            i += 2
            continue
        if value[i] == quote:
            return i
        i += 1
    return None
