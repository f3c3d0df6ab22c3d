"""``agent run``: converge again every few seconds and as soon as a manifest changes.

Manifest files are watched (inotify, see :mod:`agent.sources.watch`) and the engine's
events followed (:mod:`agent.engine.events`), so that an edit or a container that dies
is acted on at once; the periodic pass is kept as a safety net. URL sources are polled on
threads of their own (:mod:`agent.sources.url_poller`), which wake a pass when one
changes. A burst of changes costs at most one pass per :data:`DEBOUNCE`. SIGHUP
re-reads every file; SIGTERM and SIGINT let the actions in flight finish (none starts
after them) and exit 0, leaving the containers running. An engine that stops answering
(:class:`~backends.errors.EngineUnreachable`), or a pass that fails otherwise, is
retried with back-off, and never ends the loop.

After every pass each observer (:meth:`RunLoop.observe`) is handed a
:class:`~agent.daemon.report.PassReport`: metrics and systemd's notifications are made
from it, and the loop knows nothing of them.
"""

from __future__ import annotations

import functools
import logging
import signal
import time
from collections.abc import Callable, Sequence
from types import FrameType

from agent.daemon.prober import Prober, probe_targets
from agent.daemon.reconcile import converge
from agent.daemon.report import Outcome, PassReport, states_after
from agent.daemon.settings import Settings
from agent.engine.events import EventFollower
from agent.engine.executor import ActionResult
from agent.errors import AgentError
from agent.planning.actions import Plan, Wait, Watch
from agent.planning.backoff import Backoff
from agent.planning.observed import ObservedContainer
from agent.planning.spec import RunSpec, build_specs
from agent.sources.allowances import check_desired
from agent.sources.load import DesiredSet
from agent.sources.source_set import SourceSet
from agent.sources.urls import UrlOptions
from agent.sources.watch import Watcher
from agent.state.health_file import HealthFile
from agent.state.restarts import RestartLedger
from agent.state.rollouts import RolloutBook
from backends.base import Backend
from backends.errors import EngineUnreachable

__all__ = ["DEBOUNCE", "OUTAGE_MAX_DELAY", "Observer", "RunLoop"]

log = logging.getLogger("agent.run")

OUTAGE_MAX_DELAY = 60.0
DEBOUNCE = 0.1
"""The shortest time between the starts of two passes, however many events come."""

Observer = Callable[[PassReport], None]
"""Called on the loop's thread after each pass; what it raises is logged and dropped."""


class RunLoop:
    """``agent run``: passes every ``settings.reload`` seconds and on every change."""

    def __init__(
        self,
        sources: list[str],
        backend: Backend,
        settings: Settings,
        urls: UrlOptions | None = None,
    ) -> None:
        urls = settings.url_options() if urls is None else urls
        self.sources = SourceSet(
            sources,
            settings.allowances,
            urls,
            settings.url_interval,
            settings.serials_path,
        )
        self.watcher = Watcher(sources)
        self.backend = backend
        self.settings = settings
        self.reload = settings.reload
        # After failed passes: the reload interval, doubling up to a minute.
        self.outage = Backoff(self.reload, max(self.reload, OUTAGE_MAX_DELAY))
        self.ledger = RestartLedger(settings.restarts_path)
        self.book = RolloutBook(settings.rollouts_path)
        self.follower = EventFollower(backend, settings.namespace, self.watcher.wake)
        self.prober = Prober(
            lambda container_id: functools.partial(backend.exec, container_id),
            self.watcher.wake,
            HealthFile(settings.health_path),
        )
        self.stopping = False
        self._force = False
        self._last_pull: float | None = None
        self._failures = 0
        self._last_error = ""
        self._next_due: float | None = None
        self._observers: list[Observer] = []

    def observe(self, observer: Observer) -> None:
        """Hand every pass's report to ``observer`` from now on."""
        self._observers.append(observer)

    def run(self) -> int:
        """Loop until SIGTERM or SIGINT; returns the exit code."""
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }
        log.info(
            "agent running: namespace %s, engine %s, reload every %gs, watching files: %s",
            self.settings.namespace,
            self.backend.address,
            self.reload,
            "yes" if self.watcher.native else "no (inotify unavailable; polling)",
        )
        self.follower.start()
        self.prober.start()
        self.sources.start(self.watcher.wake)
        try:
            while not self.stopping:
                started = time.monotonic()
                events = self.follower.events
                self.run_once()
                if self.follower.events != events:
                    self.follower.recheck()
                if not self.stopping:
                    self.watcher.wait(self._delay())
                    time.sleep(max(0.0, started + DEBOUNCE - time.monotonic()))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.follower.close()
            self.prober.close()
            self.sources.close()
            self.watcher.close()
        log.info("agent stopped; containers keep running")
        return 0

    def run_once(self) -> None:
        """One pass: reload what changed, plan, execute, report. Never raises."""
        started, began = time.time(), time.monotonic()
        observed: list[Sequence[ObservedContainer]] = []
        the_plan, results, outcome, error = self._pass(observed.append)
        states = (
            states_after(observed[0], results) if observed and outcome != "unreachable" else None
        )
        report = PassReport(
            outcome,
            started,
            time.monotonic() - began,
            the_plan,
            results,
            error,
            states,
            self.sources.status(),
        )
        for observer in self._observers:
            try:
                observer(report)
            except Exception:
                log.exception("an observer of the run loop failed")

    def _pass(
        self, on_observed: Callable[[Sequence[ObservedContainer]], None]
    ) -> tuple[Plan | None, tuple[ActionResult, ...], Outcome, str | None]:
        """The pass itself: its plan and results when it got that far, how it ended, why."""
        force, self._force = self._force, False
        desired = self.sources.refresh(force=force)
        now = time.time()
        pull = self._last_pull is None or now - self._last_pull >= self.settings.pull_interval
        listed: list[Sequence[ObservedContainer]] = []

        def observed(listing: Sequence[ObservedContainer]) -> None:
            listed.append(listing)
            on_observed(listing)

        try:
            the_plan, results = converge(
                desired,
                self.backend,
                self.settings,
                now,
                pull=pull,
                cancelled=lambda: self.stopping,
                ledger=self.ledger,
                on_observed=observed,
                health=self.prober.health(),
                probing=True,
                book=self.book,
            )
        except EngineUnreachable as exc:
            self._failed("pass skipped, the engine does not answer", str(exc))
            return None, (), "unreachable", str(exc)
        except AgentError as exc:
            self._failed("pass failed", str(exc))
            return None, (), "failed", str(exc)
        except Exception as exc:
            # A daemon outlives its own bugs: log the trace, try again next pass.
            log.exception("pass failed unexpectedly; trying again in %gs", self.reload)
            return None, (), "failed", f"unexpected error: {exc!r}"
        outage = next((r for r in results if r.unreachable), None)
        if outage is not None:
            self._failed("pass cut short, the engine does not answer", str(outage.failure))
            return the_plan, results, "unreachable", str(outage.failure)
        if self._failures:
            log.info("the engine answers again after %d failed pass(es)", self._failures)
            self._failures, self._last_error = 0, ""
        if pull:
            self._last_pull = now
        if listed:
            self._probe(desired, listed[0], results)
        dues = [a.due for a in the_plan.actions if isinstance(a, (Wait, Watch)) and a.due]
        self._next_due = min(dues) if dues else None
        log.debug("pass done: %d action(s), %d waiting", len(results), len(dues))
        return the_plan, results, "ok", None

    def _probe(
        self,
        desired: DesiredSet,
        observed: Sequence[ObservedContainer],
        results: Sequence[ActionResult],
    ) -> None:
        """Probe the containers this pass leaves running; those it restarted afresh. Only
        the specs of containers with a probe are built again (the plan built them all)."""
        settings = self.settings
        specs: tuple[RunSpec, ...] = ()
        if any(c.liveness_probe is not None for c in desired.containers):
            allowed = check_desired(desired, settings.allowances).containers
            probed = [c for c in allowed if c.liveness_probe is not None]
            specs = build_specs(
                probed, settings.namespace, settings.volumes_root, None, settings.log_limits
            )
        restarted = [r.container_id for r in results if r.ok and r.action.verb == "restart"]
        self.prober.forget(cid for cid in restarted if cid)
        self.prober.watch(probe_targets(specs, observed, results))

    def _failed(self, what: str, error: str) -> None:
        """Log a failed pass once while its error lasts; the loop then backs off."""
        self._failures += 1
        if error != self._last_error:
            log.error("%s: %s (retrying in %gs)", what, error, self._delay())
            self._last_error = error
        else:
            log.debug("%s again (%d): %s", what, self._failures, error)

    def _delay(self) -> float:
        """Seconds to the next pass: the reload interval, doubled per failed pass up to
        a minute, and never past the end of a back-off that is due."""
        if self._failures:
            return self.outage.delay(self._failures)
        if self._next_due is not None:
            return max(0.05, min(self.reload, self._next_due - time.time()))
        return self.reload

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            log.info("SIGHUP: reloading every manifest")
            self._force = True
        else:
            self.stopping = True
        self.watcher.wake()
