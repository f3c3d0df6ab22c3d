"""Kubernetes quantities (``256Mi``, ``500m``, ``1.5``, ``1e3``), read exactly.

The grammar is Kubernetes' (``k8s.io/apimachinery/pkg/api/resource``): a signed decimal
number and one suffix, binary (``Ki Mi Gi Ti Pi Ei``), decimal (``n u m k M G T P E``,
or none) or an exponent (``e3``, ``E-2``). Suffixes are case sensitive, as there:
``m`` is milli and ``M`` mega. Values are :class:`~fractions.Fraction`\\ s, so that
nothing is rounded on the way; :func:`memory_bytes` and :func:`cpu_millis` turn them
into what engines take, refusing what no engine could honour. Pure.
"""

from __future__ import annotations

import re
from fractions import Fraction

from agent.errors import AgentError

__all__ = [
    "MAX_CPU_MILLIS",
    "MAX_MEMORY",
    "MIN_CPU_MILLIS",
    "MIN_MEMORY",
    "QuantityError",
    "check_millis",
    "cpu_millis",
    "format_cpu",
    "format_memory",
    "memory_bytes",
    "parse_quantity",
    "shown_value",
]

MIN_MEMORY = 6 * 1024 * 1024
"""The smallest memory limit Docker and Podman accept (6 MiB)."""
MAX_MEMORY = 1024**5
"""1Pi: more memory than any host has; anything above is a mistake."""
MIN_CPU_MILLIS = 10
"""10m: the kernel's smallest CFS quota is 1 ms of the engines' 100 ms period."""
MAX_CPU_MILLIS = 65536 * 1000
"""65,536 cores: more than Linux runs on."""

_MAX_LENGTH = 64
_MAX_EXPONENT = 30
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE](?P<exponent>[+-]?[0-9]+))?\Z"
)
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


class QuantityError(AgentError, ValueError):
    """A value that is no quantity, or not one that a limit can be: ``problem`` says why,
    ``value`` is the value as a message shows it. A ValueError too, as ``float()`` raises."""

    def __init__(self, problem: str, value: object) -> None:
        self.problem = problem
        self.value = shown_value(value)
        super().__init__(f"{problem}, got {self.value}")


def parse_quantity(value: str | int | float) -> Fraction:
    """The exact value of a quantity: ``"256Mi"`` is 268435456, ``"500m"`` 1/2.

    Integers and floats (as YAML gives ``cpu: 0.5``) are read as their decimal text.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise QuantityError(_EXPECTED, value)
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise QuantityError("must be a finite number", value)
        return Fraction(repr(value))  # its shortest decimal text: 0.1 is 1/10
    match = _QUANTITY.match(value) if len(value) <= _MAX_LENGTH else None
    if match is None:
        raise QuantityError(_EXPECTED, value)
    number = Fraction(match["number"])
    suffix, exponent = match["suffix"], match["exponent"]
    if suffix in _BINARY:
        return number * Fraction(1024) ** _BINARY[suffix]
    if suffix:
        return number * Fraction(10) ** _DECIMAL[suffix]
    if exponent is not None:
        power = int(exponent)
        if abs(power) > _MAX_EXPONENT:
            raise QuantityError(f"must have an exponent of at most {_MAX_EXPONENT}", value)
        return number * Fraction(10) ** power
    return number


_EXPECTED = (
    "must be a quantity: a number with an optional suffix Ki, Mi, Gi, Ti, Pi, Ei "
    "(powers of 1024), k, M, G, T, P, E (of 1000), m (milli) or an exponent (1e3)"
)


def shown_value(value: object) -> str:
    """A value for a message, shortened; a huge integer by its size only."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int) and value.bit_length() > 64:
        return "a very large integer"
    if value is None:
        return "null"
    if not isinstance(value, (str, int, float)):
        return "a list" if isinstance(value, list) else "a mapping"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def memory_bytes(value: str | int | float) -> int:
    """A memory limit in whole bytes, between :data:`MIN_MEMORY` and :data:`MAX_MEMORY`."""
    amount = parse_quantity(value)
    if amount <= 0:
        raise QuantityError("must be more than 0 (leave it out for no limit)", value)
    if amount.denominator != 1:
        problem = "must be a whole number of bytes"
        if isinstance(value, str) and value.endswith("m"):
            problem += f" ('m' is milli; mebibytes are {value[:-1]}Mi)"
        raise QuantityError(problem, value)
    if amount < MIN_MEMORY:
        raise QuantityError(
            "must be at least 6Mi, the smallest memory limit Docker and Podman accept", value
        )
    if amount > MAX_MEMORY:
        raise QuantityError("must be at most 1Pi", value)
    return int(amount)


def cpu_millis(value: str | int | float) -> int:
    """A CPU limit in thousandths of a core (``500m`` and ``0.5`` are 500), 10m or more."""
    return check_millis(parse_quantity(value) * 1000, value)


def check_millis(millis: Fraction, value: object) -> int:
    """Millicores that a CPU limit can be, from ``value`` (for messages)."""
    if millis <= 0:
        raise QuantityError("must be more than 0 (leave it out for no limit)", value)
    if millis.denominator != 1:
        raise QuantityError("must be a whole number of millicores (1m at the finest)", value)
    if millis < MIN_CPU_MILLIS:
        raise QuantityError(
            "must be at least 10m: the kernel's smallest CPU quota is 1 ms of each 100 ms period",
            value,
        )
    if millis > MAX_CPU_MILLIS:
        raise QuantityError(f"must be at most {MAX_CPU_MILLIS // 1000} cores", value)
    return int(millis)


def format_memory(amount: int) -> str:
    """Bytes as the shortest exact quantity (a binary one on a tie): ``256Mi``, ``128M``,
    ``1500``."""
    candidates = [str(amount)]
    for suffix, power in _BINARY.items():
        if amount % 1024**power == 0:
            candidates.append(f"{amount // 1024**power}{suffix}")
    for suffix in ("k", "M", "G", "T", "P", "E"):
        unit = 10 ** _DECIMAL[suffix]
        if amount % unit == 0:
            candidates.append(f"{amount // unit}{suffix}")
    return min(candidates, key=len)


def format_cpu(millis: int) -> str:
    """Millicores as Kubernetes writes them: ``500m``, ``2``."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"
