"""One check of a liveness probe, carried out: did it pass, and what did it see.

``httpGet`` and ``tcpSocket`` knock on the host port the container publishes
(:func:`knock_address`), never beyond this host; each socket has the
probe's timeout. A published port answers even when nothing listens in the
container (Docker's userland proxy accepts the connection, then closes it), so a
connection closed at once counts as a failure. ``exec`` runs through the engine's
exec, given as ``run_in``, which enforces the timeout itself.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Callable, Sequence

from agent.manifest.probes import Check, ExecCheck, HttpCheck, TcpCheck
from agent.planning.spec import PortBinding

__all__ = ["CLOSED_WITHIN", "USER_AGENT", "ExecIn", "knock_address", "run_check"]

USER_AGENT = "container-agent-probe/1"
CLOSED_WITHIN = 0.2
"""Seconds a tcpSocket check waits to see whether an accepted connection is closed."""
_BODY = 1024
_OUTPUT = 200

ExecIn = Callable[[Sequence[str], float], tuple[int, bytes]]
"""Runs a command in the container with a timeout: its exit code and output."""


def knock_address(port: int, published: Sequence[PortBinding]) -> tuple[str, int] | None:
    """Where to reach the container's TCP ``port`` from the host: the first host port that
    publishes it, on its host address or on loopback when it is published on every
    address (``0.0.0.0`` or ``::`` or none). None when the port is not published."""
    for binding in published:
        if binding.container_port != port or binding.protocol != "tcp":
            continue
        if binding.host_ip in ("", "0.0.0.0"):
            return "127.0.0.1", binding.host_port
        if binding.host_ip == "::":
            return "::1", binding.host_port
        return binding.host_ip, binding.host_port
    return None


def run_check(
    check: Check, ports: Sequence[PortBinding], timeout: float, run_in: ExecIn
) -> tuple[bool, str]:
    """Carry out ``check`` on a container that publishes ``ports``: (passed, what it saw)."""
    if isinstance(check, ExecCheck):
        return _exec(check, timeout, run_in)
    address = knock_address(check.port, ports)
    if address is None:
        return False, f"port {check.port} is not published"
    if isinstance(check, HttpCheck):
        return _http(check, address, timeout)
    return _tcp(check, address, timeout)


def _where(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _http(check: HttpCheck, address: tuple[str, int], timeout: float) -> tuple[bool, str]:
    host, port = address
    target = f"{_where(address)}{check.path}"
    connection: http.client.HTTPConnection
    if check.scheme == "HTTPS":  # as the kubelet does: no certificate check
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*", **dict(check.headers)}
    try:
        connection.request("GET", check.path, headers=headers)
        response = connection.getresponse()
        response.read(_BODY)
    except TimeoutError:
        return False, f"timed out after {timeout:g}s: GET {target}"
    except ConnectionRefusedError:
        return False, f"connection refused: GET {target}"
    except (http.client.HTTPException, OSError) as exc:
        return False, f"{_reason(exc)}: GET {target}"
    finally:
        connection.close()
    passed = 200 <= response.status < 400
    return passed, f"HTTP {response.status} from {target}"


def _tcp(check: TcpCheck, address: tuple[str, int], timeout: float) -> tuple[bool, str]:
    where = _where(address)
    try:
        with socket.create_connection(address, timeout=timeout) as connection:
            connection.settimeout(min(timeout, CLOSED_WITHIN))
            try:
                if connection.recv(1) == b"":
                    return False, f"connection closed at once by {where}"
            except TimeoutError:
                pass  # open and quiet: something listens
    except TimeoutError:
        return False, f"timed out after {timeout:g}s connecting to {where}"
    except ConnectionRefusedError:
        return False, f"connection refused by {where}"
    except OSError as exc:
        return False, f"{_reason(exc)} ({where})"
    return True, f"connected to {where}"


def _exec(check: ExecCheck, timeout: float, run_in: ExecIn) -> tuple[bool, str]:
    shown = json.dumps(list(check.command))
    try:
        code, output = run_in(check.command, timeout)
    except TimeoutError:
        return False, f"exec {shown} timed out after {timeout:g}s"
    except Exception as exc:  # an engine error is the probe's failure, not the prober's
        return False, f"exec {shown} failed: {exc}"
    text = output.decode(errors="replace").strip().splitlines()
    said = f": {text[-1][:_OUTPUT]}" if text else ""
    if code == 0:
        return True, f"exec {shown} exited 0"
    return False, f"exec {shown} exited {code}{said}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, http.client.RemoteDisconnected):
        return "connection closed without a response"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    return str(exc) or type(exc).__name__
