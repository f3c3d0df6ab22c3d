"""Compose's variable interpolation and .env files (agent/convert/interpolate.py)."""

from __future__ import annotations

import pytest

from agent.convert.interpolate import InterpolationError, Interpolator, Missing, parse_env_file

VARIABLES = {"SET": "value", "EMPTY": "", "OTHER": "x"}

EXPANDED = [
    ("plain", "plain"),
    ("$SET", "value"),
    ("${SET}", "value"),
    ("a${SET}b", "avalueb"),
    ("$SET-suffix", "value-suffix"),
    ("${SET:-default}", "value"),
    ("${EMPTY:-default}", "default"),
    ("${UNSET:-default}", "default"),
    ("${SET-default}", "value"),
    ("${EMPTY-default}", ""),
    ("${UNSET-default}", "default"),
    ("${UNSET:-}", ""),
    ("${UNSET:-a b:c}", "a b:c"),
    ("${UNSET:-${OTHER}}", "x"),
    ("${UNSET:-${UNSET2:-deep}}", "deep"),
    ("${SET:?needed}", "value"),
    ("${EMPTY?needed}", ""),
    ("${SET:+yes}", "yes"),
    ("${EMPTY:+yes}", ""),
    ("${EMPTY+yes}", "yes"),
    ("${UNSET+yes}", ""),
    ("$$", "$"),
    ("$$SET", "$SET"),
    ("$${SET}", "${SET}"),
    ("cost: 5$$", "cost: 5$"),
]


@pytest.mark.parametrize(("text", "expected"), EXPANDED)
def test_expands(text: str, expected: str) -> None:
    interpolator = Interpolator(VARIABLES, "c.yml")
    assert interpolator.text(text, "services.web.image") == expected
    assert interpolator.missing == []


@pytest.mark.parametrize("text", ["$UNSET", "${UNSET}", "a${UNSET}b"])
def test_unset_is_empty_and_listed(text: str) -> None:
    interpolator = Interpolator(VARIABLES, "c.yml")
    assert interpolator.text(text, "services.web.image") == text.replace("${UNSET}", "").replace(
        "$UNSET", ""
    )
    assert interpolator.missing == [Missing("services.web.image", "UNSET")]


def test_an_unused_default_looks_nothing_up() -> None:
    interpolator = Interpolator(VARIABLES, "c.yml")
    assert interpolator.text("${SET:-${UNSET}}", "f") == "value"
    assert interpolator.missing == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "${UNSET:?set it}",
            "c.yml: services.web.environment.K: required variable UNSET is not set: set it",
        ),
        (
            "${EMPTY:?set it}",
            "c.yml: services.web.environment.K: required variable EMPTY is empty: set it",
        ),
        ("${UNSET?}", "c.yml: services.web.environment.K: required variable UNSET is not set"),
    ],
)
def test_required_variables(text: str, message: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        Interpolator(VARIABLES, "c.yml").text(text, "services.web.environment.K")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("$", "a '$' must start a variable ($VAR or ${VAR}); write '$$' for a literal '$'"),
        ("$1", "a '$' must start a variable ($VAR or ${VAR}); write '$$' for a literal '$'"),
        ("${}", "'${' must be followed by a variable name"),
        ("${SET", "unexpected text after ${SET: expected '}', ':-', '-', ':?', '?', ':+' or '+'"),
        ("${SET:-x", "a '${' is not closed by '}'"),
        (
            "${SET:x}",
            "unexpected text after ${SET: expected '}', ':-', '-', ':?', '?', ':+' or '+'",
        ),
    ],
)
def test_invalid_forms(text: str, why: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        Interpolator(VARIABLES, "c.yml").text(text, "f")
    assert str(caught.value) == f"c.yml: f: invalid interpolation format: {why}"


def test_values_never_in_errors() -> None:
    with pytest.raises(InterpolationError) as caught:
        Interpolator({"SECRET": "hunter2"}, "c.yml").text("$SECRET ${X:?no}", "f")
    assert "hunter2" not in str(caught.value)


def test_tree_expands_values_not_keys() -> None:
    interpolator = Interpolator(VARIABLES, "c.yml")
    data = {"services": {"$SET": {"command": ["$SET", 1, None, True], "x": "$NOPE"}}}
    assert interpolator.tree(data) == {
        "services": {"$SET": {"command": ["value", 1, None, True], "x": ""}}
    }
    assert interpolator.missing == [Missing("services.$SET.x", "NOPE")]


def test_env_file() -> None:
    text = "\n".join(
        [
            "# a comment",
            "",
            "A=1",
            "  B = two words  ",
            "export C=3",
            "D='single $X # kept'",
            'E="line\\nbreak \\"q\\""',
            "F=value # a comment",
            "G=",
            "H",
            "I=a=b",
        ]
    )
    assert parse_env_file(text, ".env") == {
        "A": "1",
        "B": "two words",
        "C": "3",
        "D": "single $X # kept",
        "E": 'line\nbreak "q"',
        "F": "value",
        "G": "",
        "I": "a=b",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A B=1", ".env: line 1: expected KEY=VALUE, with no space in the key"),
        ("\nA='open", ".env: line 2: the value's ' is not closed"),
        ('A="x" y', ".env: line 1: unexpected text after the quoted value"),
    ],
)
def test_env_file_errors(text: str, message: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        parse_env_file(text, ".env")
    assert str(caught.value) == message
