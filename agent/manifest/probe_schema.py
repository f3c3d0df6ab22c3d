"""Validation of a container's ``livenessProbe`` into a :class:`~agent.manifest.probes.Probe`.

As Kubernetes has it: exactly one of ``exec``, ``httpGet``, ``tcpSocket``; the
timing in whole seconds; ``successThreshold`` 1 (a liveness probe knows no
other). Beyond Kubernetes, a probe that knocks on a port must name one that the
container publishes (by number or by the port's name): the agent probes from the
host, through the published port, never through an engine's bridge address, and
a ``host`` other than the container's own is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agent.manifest.fields import FieldReader, each, quote
from agent.manifest.models import Port
from agent.manifest.probes import ExecCheck, HttpCheck, Probe, TcpCheck

__all__ = ["MAX_SECONDS", "parse_probe"]

_PROBE_FIELDS = frozenset(
    {
        "exec",
        "httpGet",
        "tcpSocket",
        "initialDelaySeconds",
        "periodSeconds",
        "timeoutSeconds",
        "failureThreshold",
        "successThreshold",
    }
)
_CHECKS = ("exec", "httpGet", "tcpSocket")
_EXEC_FIELDS = frozenset({"command"})
_HTTP_FIELDS = frozenset({"path", "port", "httpHeaders", "scheme", "host"})
_TCP_FIELDS = frozenset({"port", "host"})
_HEADER_FIELDS = frozenset({"name", "value"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}\Z")  # an HTTP header name
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]{0,4096}\Z")
_URL_PATH = re.compile(r"/[\x21-\x7e]{0,2047}\Z")
MAX_SECONDS = 86400
"""The longest of a probe's times: a day."""
# (field, the smallest value, Probe's attribute)
_TIMING = (
    ("initialDelaySeconds", 0, "initial_delay"),
    ("periodSeconds", 1, "period"),
    ("timeoutSeconds", 1, "timeout"),
    ("failureThreshold", 1, "failure_threshold"),
)
_NOT_HERE = "the agent probes the container only through this host's published port"


def parse_probe(
    reader: FieldReader, raw: Any, path: str, ports: Mapping[int, Port]
) -> Probe | None:
    """The probe at ``path`` of a container publishing ``ports``; None on any error."""
    before = len(reader.errors)
    data = reader.mapping(raw, path, _PROBE_FIELDS)
    if data is None:
        return None
    given = [name for name in _CHECKS if name in data]
    if len(given) != 1:
        which = "none" if not given else " and ".join(given)
        reader.error(path, f"must have exactly one of exec, httpGet, tcpSocket; got {which}")
    check: ExecCheck | HttpCheck | TcpCheck | None = None
    for kind in given:
        where = f"{path}.{kind}"
        if kind == "exec":
            check = _exec(reader, data[kind], where)
        elif kind == "httpGet":
            check = _http(reader, data[kind], where, ports)
        else:
            check = _tcp(reader, data[kind], where, ports)
    timing = {
        attribute: reader.whole(data, field, path, least, MAX_SECONDS)
        for field, least, attribute in _TIMING
        if field in data
    }
    given_timing = {k: v for k, v in timing.items() if v is not None}
    if (
        "successThreshold" in data
        and reader.whole(data, "successThreshold", path, 1, MAX_SECONDS) != 1
    ):
        reader.error(f"{path}.successThreshold", "must be 1 for a liveness probe")
    if check is None or len(reader.errors) > before:
        return None
    default = Probe(check)
    return Probe(
        check,
        initial_delay=given_timing.get("initial_delay", default.initial_delay),
        period=given_timing.get("period", default.period),
        timeout=given_timing.get("timeout", default.timeout),
        failure_threshold=given_timing.get("failure_threshold", default.failure_threshold),
    )


def _exec(reader: FieldReader, raw: Any, path: str) -> ExecCheck | None:
    data = reader.mapping(raw, path, _EXEC_FIELDS)
    if data is None:
        return None
    if "command" not in data:
        reader.error(f"{path}.command", "is required")
        return None
    items = reader.items(data, "command", path)
    command = each(reader, data, "command", path, _word)
    if not items:
        reader.error(f"{path}.command", "must not be empty")
    if len(command) != len(items) or not items:
        return None
    return ExecCheck(tuple(command.values()))


def _word(reader: FieldReader, value: Any, path: str) -> str | None:
    text = reader.typed(value, str, path)
    if text is not None and "\x00" in text:
        reader.error(path, "must not contain a NUL character")
        return None
    return text


def _http(reader: FieldReader, raw: Any, path: str, ports: Mapping[int, Port]) -> HttpCheck | None:
    data = reader.mapping(raw, path, _HTTP_FIELDS)
    if data is None:
        return None
    before = len(reader.errors)
    _no_host(reader, data, path)
    port = _port(reader, data, path, ports)
    probe_path = reader.text(data, "path", path, required=False) or "/"
    if not _URL_PATH.match(probe_path):
        reader.error(
            f"{path}.path",
            f"must be a URL path starting with '/' (no spaces), got {quote(probe_path)}",
        )
    scheme = reader.choice(data, "scheme", path, ("HTTP", "HTTPS"), "HTTP")
    headers = each(reader, data, "httpHeaders", path, _header)
    if port is None or len(reader.errors) > before:
        return None
    return HttpCheck(port, probe_path, tuple(headers.values()), scheme)


def _header(reader: FieldReader, raw: Any, path: str) -> tuple[str, str] | None:
    data = reader.mapping(raw, path, _HEADER_FIELDS)
    if data is None:
        return None
    name = reader.text(data, "name", path)
    value = reader.text(data, "value", path)
    if name is not None and not _TOKEN.match(name):
        reader.error(f"{path}.name", f"must be an HTTP header name, got {quote(name)}")
        return None
    if value is not None and not _HEADER_VALUE.match(value):
        reader.error(f"{path}.value", "must not hold a line break or a control character")
        return None
    if name is None or value is None:
        return None
    return name, value


def _tcp(reader: FieldReader, raw: Any, path: str, ports: Mapping[int, Port]) -> TcpCheck | None:
    data = reader.mapping(raw, path, _TCP_FIELDS)
    if data is None:
        return None
    before = len(reader.errors)
    _no_host(reader, data, path)
    port = _port(reader, data, path, ports)
    if port is None or len(reader.errors) > before:
        return None
    return TcpCheck(port)


def _no_host(reader: FieldReader, data: Mapping[str, Any], path: str) -> None:
    if "host" in data:
        reader.error(f"{path}.host", f"is not supported: {_NOT_HERE}")


def _port(
    reader: FieldReader, data: Mapping[str, Any], path: str, ports: Mapping[int, Port]
) -> int | None:
    """The containerPort the probe names (by number or by name); it must be published
    over TCP by this container."""
    where = f"{path}.port"
    if "port" not in data:
        reader.error(where, "is required")
        return None
    value = data["port"]
    tcp = [port for port in ports.values() if port.protocol == "TCP"]
    if type(value) is str:
        named = [port for port in tcp if port.name == value]
        if not named:
            names = ", ".join(sorted(p.name for p in tcp if p.name)) or "none"
            reader.error(
                where, f"names no TCP port of this container: {quote(value)} (named: {names})"
            )
            return None
        return named[0].container_port
    number = reader.typed(value, int, where)
    if number is None:
        return None
    if not any(port.container_port == number for port in tcp):
        reader.error(
            where,
            f"{number} is not a containerPort this container publishes over TCP; {_NOT_HERE}, "
            "so add it to ports (a hostIp of 127.0.0.1 keeps it private)",
        )
        return None
    return number
