"""``agent run --metrics-addr``: Prometheus metrics and ``/healthz`` over HTTP.

:class:`Metrics` observes the run loop's passes (:class:`~agent.daemon.report.PassReport`)
and keeps its metrics on a registry of its own, never the process-wide one, so that
a library caller's metrics and ours do not mix. Every name starts with
``container_agent_``, counts in base units (seconds), counters end in ``_total``;
the ``process_*`` metrics are prometheus-client's standard ones. :func:`serve`
answers ``/metrics`` and ``/healthz`` from one small threaded HTTP server.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    make_wsgi_app,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agent import __version__
from agent.daemon.healthz import ServiceHealth
from agent.daemon.report import PassReport
from agent.engine.executor import ActionResult
from agent.errors import AgentError
from agent.planning.actions import (
    CreateNetwork,
    Hold,
    Join,
    Remove,
    RemoveNetwork,
    Restart,
    Rollback,
    Start,
    Update,
    Watch,
)
from agent.planning.health import Health
from agent.sources.source_set import SourceStatus

__all__ = [
    "ACTIONS",
    "OUTCOMES",
    "PREFIX",
    "STATES",
    "Metrics",
    "MetricsError",
    "MetricsServer",
    "application",
]

log = logging.getLogger("agent.metrics")

PREFIX = "container_agent"
OUTCOMES = ("ok", "failed", "unreachable")
ACTIONS = (
    Start.verb,
    Restart.verb,
    Remove.verb,
    Join.verb,
    Rollback.verb,
    Update.verb,
    CreateNetwork.verb,
    RemoveNetwork.verb,
)
STATES = ("running", "created", "exited", "paused", "restarting", "removing", "dead")
"""The engine states reported even when no container is in them (others when seen)."""
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
"""Seconds: a pass with nothing to do takes a listing; one that pulls may take minutes."""


class MetricsError(AgentError):
    """Metrics that cannot be served (the address is taken, the host unknown)."""


class Metrics:
    """The daemon's metrics; call it with each pass's report. ``backend`` is the name
    of the backend in use, for ``container_agent_build_info``."""

    def __init__(self, backend: str, version: str = __version__) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.passes = Counter(
            f"{PREFIX}_passes",
            "Passes of the run loop, by how they ended: ok, failed, unreachable (the engine "
            "did not answer).",
            ["result"],
            registry=registry,
        )
        self.duration = Histogram(
            f"{PREFIX}_pass_duration_seconds",
            "How long each pass took, whatever its result.",
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.last_ok = Gauge(
            f"{PREFIX}_last_successful_pass_timestamp_seconds",
            "When the last pass that ended ok ended, in seconds since the epoch.",
            registry=registry,
        )
        self.actions = Counter(
            f"{PREFIX}_actions",
            "Actions carried out, by kind (start, restart, remove) and result (ok, failed).",
            ["action", "result"],
            registry=registry,
        )
        self.containers = Gauge(
            f"{PREFIX}_containers",
            "The namespace's containers by engine state at the end of the last pass that "
            "listed them.",
            ["state"],
            registry=registry,
        )
        self.restarts = Counter(
            f"{PREFIX}_restarts",
            "Restarts of an exited container by the agent, by the container's manifest name.",
            ["container"],
            registry=registry,
        )
        self.backoff = Gauge(
            f"{PREFIX}_backoff_containers",
            "Exited containers waiting in crash-loop back-off before their next restart.",
            registry=registry,
        )
        self.rollouts = Counter(
            f"{PREFIX}_rollouts",
            "Rollouts of changed containers, by result: started, completed (the new "
            "container counted as good), rolled_back, paused, failed_to_start.",
            ["result"],
            registry=registry,
        )
        self.rolling = Gauge(
            f"{PREFIX}_rollouts_in_progress",
            "New containers being watched through their minimum healthy time.",
            registry=registry,
        )
        self.held = Gauge(
            f"{PREFIX}_held_back_containers",
            "Changed containers whose change is held back: their rollout failed, or their "
            "manifest's rollout stopped.",
            registry=registry,
        )
        self.engine_up = Gauge(
            f"{PREFIX}_engine_up",
            "1 when the engine answered the last pass, 0 when it did not (or before the first).",
            registry=registry,
        )
        self.info = Info(f"{PREFIX}_build", "The agent's version and backend.", registry=registry)
        self.info.info({"version": version, "backend": backend})
        self._sources = _SourcesCollector()
        registry.register(self._sources)
        self._probes = _ProbesCollector()
        registry.register(self._probes)
        ProcessCollector(registry=registry)
        for outcome in OUTCOMES:
            self.passes.labels(outcome)
        for verb in ACTIONS:
            for result in ("ok", "failed"):
                self.actions.labels(verb, result)
        self._states = set(STATES)
        for state in STATES:
            self.containers.labels(state).set(0)
        for result in ROLLOUT_RESULTS:
            self.rollouts.labels(result)

    def watch_health(self, source: Callable[[], Mapping[str, Health]]) -> None:
        """Read what the liveness probes found from ``source`` at each scrape."""
        self._probes.source = source

    def __call__(self, report: PassReport) -> None:
        self.passes.labels(report.outcome).inc()
        self.duration.observe(report.duration)
        self.engine_up.set(0 if report.outcome == "unreachable" else 1)
        self._sources.sources = report.sources
        if report.ok:
            self.last_ok.set(report.started + report.duration)
        for result in report.results:
            action = result.action
            self.actions.labels(action.verb, "ok" if result.ok else "failed").inc()
            if result.ok and isinstance(action, Restart):
                self.restarts.labels(action.name).inc()
            rollout = _rollout_result(result)
            if rollout is not None:
                self.rollouts.labels(rollout).inc()
        if report.plan is not None:
            self.backoff.set(report.waiting)
            self.rolling.set(report.plan.count(Watch))
            self.held.set(report.plan.count(Hold))
            started = {a.name for a in report.plan.actions if isinstance(a, Start)}
            for action in report.plan.actions:
                # A container that leaves the manifest takes its series with it.
                kept = isinstance(action, Remove) and action.completes_rollout
                if isinstance(action, Remove) and action.name not in started and not kept:
                    with contextlib.suppress(KeyError):
                        self.restarts.remove(action.name)
        if report.states is not None:
            self._states.update(report.states)
            for state in self._states:
                self.containers.labels(state).set(report.states.get(state, 0))


ROLLOUT_RESULTS = ("started", "completed", "rolled_back", "paused", "failed_to_start")


def _rollout_result(result: ActionResult) -> str | None:
    """What a result did to a rollout, as ``container_agent_rollouts_total`` counts it."""
    action = result.action
    if isinstance(action, Start) and action.previous is not None:
        return "started" if result.ok else "failed_to_start"
    if isinstance(action, Remove) and action.completes_rollout and result.ok:
        return "completed"
    if isinstance(action, Rollback) and result.ok:
        return "paused" if action.pause else "rolled_back"
    return None


class _SourcesCollector(Collector):
    """The manifest files' status, from the last report."""

    def __init__(self) -> None:
        self.sources: tuple[SourceStatus, ...] = ()

    def collect(self) -> Iterator[Metric]:
        sources = self.sources
        errors = CounterMetricFamily(
            f"{PREFIX}_manifest_load_errors",
            "Reads of a manifest file that failed (invalid or unreadable) since the agent started.",
            labels=["source"],
        )
        success = GaugeMetricFamily(
            f"{PREFIX}_manifest_last_load_success",
            "1 when the last read of a manifest file was valid, 0 when its last valid "
            "content (if any) stays in force.",
            labels=["source"],
        )
        loaded = GaugeMetricFamily(
            f"{PREFIX}_manifest_last_load_timestamp_seconds",
            "When the content in force of a manifest file was read, in seconds since the "
            "epoch (absent for a file never read validly).",
            labels=["source"],
        )
        refusals = CounterMetricFamily(
            f"{PREFIX}_manifest_signature_failures",
            "Bodies of a signed source refused for their signature (missing, bad, by no "
            "configured key, or a replay), each distinct refusal once.",
            labels=["source"],
        )
        for source in sources:
            refusals.add_metric([source.path], source.signature_refusals)
            errors.add_metric([source.path], source.errors)
            success.add_metric([source.path], 1 if source.error is None else 0)
            if source.loaded is not None:
                loaded.add_metric([source.path], source.loaded)
        yield from (errors, success, loaded, refusals)


class _ProbesCollector(Collector):
    """What the liveness probes found, read at each scrape."""

    def __init__(self) -> None:
        self.source: Callable[[], Mapping[str, Health]] = dict

    def collect(self) -> Iterator[Metric]:
        probed = GaugeMetricFamily(
            f"{PREFIX}_probed_containers",
            "Running containers with a liveness probe, by what it found: healthy, unhealthy, "
            "starting (no check yet).",
            labels=["health"],
        )
        states = [health.state() for health in self.source().values()]
        for state in ("healthy", "unhealthy", "starting"):
            probed.add_metric([state], states.count(state))
        yield probed


_WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def application(metrics: Metrics, health: ServiceHealth) -> _WSGIApp:
    """``/metrics`` (prometheus-client's exposition, with its content negotiation and
    compression) and ``/healthz`` (200 or 503, the reason as one line of text)."""
    exposition = make_wsgi_app(metrics.registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            return exposition(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            ok, reason = health.check()
            status = "200 OK" if ok else "503 Service Unavailable"
            return _text(start_response, status, reason)
        if path == "/":
            return _text(start_response, "200 OK", "container-agent: /metrics, /healthz")
        return _text(start_response, "404 Not Found", f"no such page: {path}")

    return app


def _text(start_response: Callable[..., Any], status: str, text: str) -> list[bytes]:
    body = (text + "\n").encode("utf-8", "replace")
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [body]


class _Quiet(WSGIRequestHandler):
    """Requests are not logged: a scrape every few seconds would drown the agent's log."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class MetricsServer:
    """One threaded HTTP server for :func:`application`, in a thread of its own."""

    def __init__(self, address: tuple[str, int], app: _WSGIApp, option: str) -> None:
        host, port = address
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
            server_class = type("_Server", (_ThreadingServer,), {"address_family": family})
            self._server: WSGIServer = make_server(host, port, app, server_class, _Quiet)
        except OSError as exc:
            problem = exc.strerror or str(exc)
            raise MetricsError(f"{option} {shown}: cannot listen: {problem}") from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="agent-metrics", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
