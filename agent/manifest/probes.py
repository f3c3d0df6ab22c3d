"""Liveness probes as the manifest gives them.

A probe is one of three checks, as in Kubernetes: run a command inside the
container (``exec``), ask for a page (``httpGet``), or open a connection
(``tcpSocket``); with its timing and thresholds. The agent runs probes itself
(:mod:`agent.daemon.prober`), so they behave alike on every engine. An ``httpGet`` or
``tcpSocket`` probe goes to the host port that the container publishes, on the
port's own host address, or on the loopback address when the port is published
on every address: probe traffic never leaves the host. The probe is not part of
the container's hash: the agent runs it, the engine never sees it, so changing a
probe replaces no container (it starts a fresh count of failures).
"""

from __future__ import annotations

import hashlib
import json

import attrs

__all__ = [
    "Check",
    "ExecCheck",
    "HttpCheck",
    "Probe",
    "TcpCheck",
]


@attrs.frozen
class ExecCheck:
    """Run ``command`` in the container; exit code 0 is a success."""

    command: tuple[str, ...]

    def describe(self) -> str:
        return "exec " + json.dumps(list(self.command))


@attrs.frozen
class HttpCheck:
    """GET ``path`` from the published ``port`` (a number, or a port's name resolved to
    its containerPort by validation); a status from 200 to 399 is a success."""

    port: int
    path: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    scheme: str = "HTTP"

    def describe(self) -> str:
        return f"{self.scheme.lower()}-get :{self.port}{self.path}"


@attrs.frozen
class TcpCheck:
    """Open a TCP connection to the published ``port``; accepted and not closed at once is
    a success."""

    port: int

    def describe(self) -> str:
        return f"tcp-socket :{self.port}"


Check = ExecCheck | HttpCheck | TcpCheck


@attrs.frozen
class Probe:
    """A liveness probe: the check, with Kubernetes' defaults for its timing.

    The first check is ``initial_delay`` seconds after the container started, then
    every ``period`` seconds; one that takes more than ``timeout`` seconds fails.
    ``failure_threshold`` failures in a row make the container unhealthy (the agent
    restarts it); ``success_threshold`` successes in a row make it healthy again.
    """

    check: Check
    initial_delay: float = 0
    period: float = 10
    timeout: float = 1
    failure_threshold: int = 3
    success_threshold: int = 1

    @property
    def fingerprint(self) -> str:
        """Names this probe exactly: a changed probe counts its failures afresh."""
        described = json.dumps(attrs.asdict(self, recurse=True), sort_keys=True, default=list)
        return hashlib.sha256(f"{type(self.check).__name__}{described}".encode()).hexdigest()[:16]
