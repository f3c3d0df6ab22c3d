"""Kubernetes quantities read exactly, and turned into what engines take (a table)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from agent.manifest.quantity import (
    QuantityError,
    cpu_millis,
    format_cpu,
    format_memory,
    memory_bytes,
    parse_quantity,
    shown_value,
)

VALUES = [
    ("256Mi", Fraction(256 * 2**20)),
    ("1Ki", Fraction(1024)),
    ("1Gi", Fraction(2**30)),
    ("2Ti", Fraction(2 * 2**40)),
    ("1Pi", Fraction(2**50)),
    ("1Ei", Fraction(2**60)),
    ("0.5Gi", Fraction(2**29)),
    ("1k", Fraction(1000)),
    ("128M", Fraction(128 * 10**6)),
    ("1G", Fraction(10**9)),
    ("1T", Fraction(10**12)),
    ("1P", Fraction(10**15)),
    ("1E", Fraction(10**18)),
    ("500m", Fraction(1, 2)),
    ("1500u", Fraction(3, 2000)),
    ("10n", Fraction(1, 10**8)),
    ("1.5", Fraction(3, 2)),
    (".5", Fraction(1, 2)),
    ("5.", Fraction(5)),
    ("+2", Fraction(2)),
    ("-1", Fraction(-1)),
    ("1e3", Fraction(1000)),
    ("1E3", Fraction(1000)),
    ("15e-1", Fraction(3, 2)),
    ("2e+2", Fraction(200)),
    (1, Fraction(1)),
    (0.25, Fraction(1, 4)),
    (0.1, Fraction(1, 10)),
]


@pytest.mark.parametrize(("text", "value"), VALUES, ids=[repr(t) for t, _ in VALUES])
def test_a_quantity_is_read_exactly(text: str | int | float, value: Fraction) -> None:
    assert parse_quantity(text) == value


NOT_QUANTITIES = ["", "Mi", "1 Mi", " 1Mi", "1mi", "1K", "1KiB", "1.2.3", "e3", "1e", "1Mi3",
                  "0x10", "1_000", "\u0661", "--1", "1e3Mi", "x" * 100]  # fmt: skip


@pytest.mark.parametrize("text", NOT_QUANTITIES)
def test_what_is_no_quantity_is_refused(text: str) -> None:
    with pytest.raises(QuantityError, match="must be a quantity"):
        parse_quantity(text)


MEMORY = [
    ("256Mi", 268435456, None),
    ("6Mi", 6 * 2**20, None),
    ("1e9", 10**9, None),
    (67108864, 67108864, None),
    ("1Pi", 2**50, None),
    ("256m", None, "must be a whole number of bytes ('m' is milli; mebibytes are 256Mi)"),
    ("0.5", None, "must be a whole number of bytes"),
    ("0", None, "must be more than 0 (leave it out for no limit)"),
    ("-64Mi", None, "must be more than 0"),
    ("5Mi", None, "must be at least 6Mi, the smallest memory limit Docker and Podman accept"),
    ("1Ki", None, "must be at least 6Mi"),
    ("2Pi", None, "must be at most 1Pi"),
    ("1e31", None, "must have an exponent of at most 30"),
    (10**5000, None, "must be at most 1Pi, got a very large integer"),  # too long to print
    (float("inf"), None, "must be a finite number"),
    (True, None, "must be a quantity"),
]


@pytest.mark.parametrize(
    ("value", "expected", "problem"), MEMORY, ids=[shown_value(v) for v, *_ in MEMORY]
)
def test_memory_is_whole_bytes(value: object, expected: int | None, problem: str | None) -> None:
    if problem is None:
        assert memory_bytes(value) == expected  # type: ignore[arg-type]
    else:
        with pytest.raises(QuantityError) as caught:
            memory_bytes(value)  # type: ignore[arg-type]
        assert problem in str(caught.value)


CPU = [
    ("500m", 500, None),
    ("0.5", 500, None),
    (0.5, 500, None),
    (2, 2000, None),
    ("10m", 10, None),
    ("1.001", 1001, None),
    ("1e-2", 10, None),
    ("0.0105", None, "must be a whole number of millicores (1m at the finest)"),
    ("1500u", None, "must be a whole number of millicores"),
    ("5m", None, "must be at least 10m: the kernel's smallest CPU quota is 1 ms of each 100 ms"),
    ("0", None, "must be more than 0"),
    ("-1", None, "must be more than 0"),
    ("70k", None, "must be at most 65536 cores"),
]


@pytest.mark.parametrize(("value", "expected", "problem"), CPU, ids=[repr(v) for v, *_ in CPU])
def test_cpu_is_whole_millicores(value: object, expected: int | None, problem: str | None) -> None:
    if problem is None:
        assert cpu_millis(value) == expected  # type: ignore[arg-type]
    else:
        with pytest.raises(QuantityError) as caught:
            cpu_millis(value)  # type: ignore[arg-type]
        assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (268435456, "256Mi"),
        (2**30, "1Gi"),
        (10**9, "1G"),
        (1500, "1500"),
        (128 * 10**6, "128M"),
        (6 * 2**20, "6Mi"),
        (1536 * 2**20, "1536Mi"),
    ],
)
def test_memory_reads_back_as_the_shortest_exact_quantity(amount: int, text: str) -> None:
    assert format_memory(amount) == text
    if amount >= 6 * 2**20:
        assert memory_bytes(text) == amount


@pytest.mark.parametrize(("millis", "text"), [(500, "500m"), (2000, "2"), (1500, "1500m")])
def test_cpu_reads_back_as_kubernetes_writes_it(millis: int, text: str) -> None:
    assert format_cpu(millis) == text
    assert cpu_millis(text) == millis
