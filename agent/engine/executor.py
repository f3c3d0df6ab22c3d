"""The executor: the only code that changes containers or networks through a backend.

Other code calls a backend only to read or to pull: a pass lists the namespace through
an :class:`~backends.base.EngineReader`, which has no method that changes anything
(:mod:`agent.daemon.reconcile`, ``agent status``); :mod:`agent.engine.images` pulls
(for the executor, and ``imagePullPolicy: Always`` images before a plan);
:mod:`agent.engine.events` follows the engine's events, :mod:`agent.engine.logs` reads a
container's logs, and the prober runs exec checks inside the namespace's containers.

It carries out a plan's actions, one failure never stopping the others, and
returns one result per action, in the plan's order. Each action is logged with
its reason, and each failure with the engine's message.

Actions run on a pool of ``parallel`` worker threads. The images of the
containers to start are fetched first, each once; then every action starts as
soon as a worker is free and the earlier actions it waits for
(:func:`agent.planning.schedule.dependencies`) are done, in the plan's order otherwise.
Results, their log lines and the restart ledger are handled on the calling
thread. With one worker the actions run one after another, in the plan's order.

The namespace's network is made once, by the plan's one ``CreateNetwork``, before
any container is started on it or joins it; when it cannot be made, those starts and
joins are not tried, and fail saying so.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import attrs

from agent.engine.images import Images
from agent.errors import AgentError, VolumeError
from agent.manifest.hostpaths import make_host_dir
from agent.planning import record
from agent.planning.actions import (
    NO_CHANGE,
    Action,
    CreateNetwork,
    Join,
    Plan,
    Remove,
    RemoveNetwork,
    Restart,
    Rollback,
    Start,
    Update,
)
from agent.planning.network import network_labels
from agent.planning.observed import ObservedContainer
from agent.planning.rollout import FailedRevision, RolloutRecord
from agent.planning.schedule import dependencies
from agent.state.restarts import RestartLedger
from agent.state.rollouts import RolloutBook
from backends.base import Backend
from backends.errors import BackendError, EngineUnreachable

__all__ = ["ActionResult", "execute"]

log = logging.getLogger("agent.executor")


@attrs.frozen
class ActionResult:
    """How one action went: ``error`` is the message of its failure, ``failure`` the
    error itself (whose kind says, for instance, that the engine did not answer);
    ``elapsed`` the seconds it took, from its start on a worker to its end."""

    action: Action
    error: str | None = None
    container_id: str | None = None
    failure: AgentError | None = attrs.field(default=None, eq=False, repr=False)
    elapsed: float = attrs.field(default=0.0, eq=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def unreachable(self) -> bool:
        """Whether it failed because the engine did not answer."""
        return isinstance(self.failure, EngineUnreachable)


def execute(
    plan: Plan,
    backend: Backend,
    stop_timeout: int = 10,
    cancelled: Callable[[], bool] = lambda: False,
    images: Images | None = None,
    ledger: RestartLedger | None = None,
    parallel: int = 1,
    on_result: Callable[[ActionResult], None] | None = None,
    allow_host_path: Sequence[str] = (),
    book: RolloutBook | None = None,
) -> tuple[ActionResult, ...]:
    """Carry out every action of ``plan``; a failed one is reported, the rest go on
    (one the engine did not answer says so: ``result.unreachable``).

    ``cancelled`` is asked before each action is started: once it says yes, no
    more start. ``images`` is the pass's image cache (a fresh one by default), so
    that an image is pulled at most once a pass. ``ledger`` records each restart,
    for the planner's back-off. ``parallel`` is how many actions run at once (1:
    one after another, in the plan's order). A ``Wait`` is no action: it gets no
    result. A missing ``hostDir`` of a container to start is made a directory, as Docker
    does for ``-v``, when it is under one of ``allow_host_path`` (else the engine refuses
    to bind what is not there). ``book`` keeps the rollouts under way and the failed
    revisions (in memory only by default): a rollout's start writes its record before it
    touches the engine, its rollback and its end drop it.
    """
    shared = _SharedImages(images or Images(backend))
    allowed = tuple(allow_host_path)
    kept = book or RolloutBook()

    def carry_out(action: _Executable) -> ActionResult:
        return _outcome(action, _Engine(backend, stop_timeout, shared, allowed, kept))

    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="agent-executor") as pool:

        def submit(action: _Executable) -> Future[ActionResult]:
            return pool.submit(carry_out, action)

        run = _Run(plan, parallel, cancelled, ledger, on_result)
        # The namespace's network is made while the images are looked at: the starts wait
        # for both, and neither waits for the other.
        run.start_networks(submit)
        run.missing = _missing_images(plan, shared, pool)
        return run.through(submit)


class _SharedImages:
    """The pass's images, each fetched under a lock of its own: actions running at once
    never pull the same image twice, and different images are pulled side by side."""

    def __init__(self, images: Images) -> None:
        self._images = images
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def ensure(self, image: str, policy: str) -> str:
        """:meth:`Images.ensure`, one caller at a time for each image."""
        with self._locks_guard:
            lock = self._locks.setdefault(image, threading.Lock())
        with lock:
            return self._images.ensure(image, policy)


_Executable = Start | Restart | Remove | Join | Update | Rollback | CreateNetwork | RemoveNetwork
"""An action that calls the engine (a wait does not)."""
_Submit = Callable[[_Executable], Future[ActionResult]]
"""Hands an action to a worker."""


class _Run:
    """One execution of a plan: the actions not started yet, those in flight, the results.

    Only the calling thread touches it: workers carry actions out and return results.
    """

    def __init__(
        self,
        plan: Plan,
        parallel: int,
        cancelled: Callable[[], bool],
        ledger: RestartLedger | None,
        on_result: Callable[[ActionResult], None] | None = None,
    ) -> None:
        self.on_result = on_result
        self.missing: dict[str, str] = {}
        """The containers to start whose image is not at hand: name -> why (set before
        :meth:`through`)."""
        self.parallel = parallel
        self.cancelled = cancelled
        self.ledger = ledger
        self.waits_for = dependencies(plan)
        self.pending = dict(enumerate(plan.actions))
        self.done: set[int] = set()
        self.in_flight: dict[Future[ActionResult], int] = {}
        self.stopped = False
        self.no_network: str | None = None
        """Why the namespace's network is not at hand, once its creation failed."""
        self._results: dict[int, ActionResult] = {}

    def through(self, submit: _Submit) -> tuple[ActionResult, ...]:
        """Start actions as they get ready and take in their results until none is in
        flight; the results, in the plan's order."""
        while True:
            self.start_ready(submit)
            if not self.in_flight:
                return tuple(self._results[index] for index in sorted(self._results))
            finished, _ = wait(self.in_flight, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=self.in_flight.__getitem__):
                self.settle(future)

    def start_networks(self, submit: _Submit) -> None:
        """Start the making of the namespace's network at once (it waits for nothing)."""
        for index, action in list(self.pending.items()):
            if isinstance(action, CreateNetwork) and self.waits_for[index] <= self.done:
                del self.pending[index]
                self._submit(index, action, submit)

    def start_ready(self, submit: _Submit) -> None:
        """Start, in the plan's order, every pending action whose dependencies are done,
        while a worker is free and the run has not been stopped."""
        for index, action in list(self.pending.items()):
            if self.stopped or len(self.in_flight) >= self.parallel:
                return
            if isinstance(action, NO_CHANGE):
                log.debug(
                    "%s (%s): %s",
                    action.name,
                    action.engine_name,
                    action.reason,
                    extra=_about(action),
                )
                del self.pending[index]
                continue
            if not self.waits_for[index] <= self.done:
                continue
            if self.cancelled():
                log.info("stopping: %d action(s) left for later", self._left())
                self.stopped = True
                return
            del self.pending[index]
            if isinstance(action, Remove) and action.name in self.missing:
                self._keep(index, action)
                continue
            if isinstance(action, Start) and action.previous and action.name in self.missing:
                self._skip(index, action, f"its image is not at hand ({self.missing[action.name]})")
                continue
            if (
                self.no_network is not None
                and isinstance(action, (Start, Join))
                and _on_network(action)
            ):
                self._skip(index, action, self.no_network)
                continue
            self._submit(index, action, submit)

    def _submit(self, index: int, action: _Executable, submit: _Submit) -> None:
        log.log(
            logging.WARNING if isinstance(action, Rollback) else logging.INFO,
            "%s %s (%s): %s",
            action.verb,
            action.name,
            action.engine_name,
            action.reason,
            extra=_about(action),
        )
        self.in_flight[submit(action)] = index

    def settle(self, future: Future[ActionResult]) -> None:
        """Take in the result of an action that finished."""
        index = self.in_flight.pop(future)
        result = future.result()
        self._finish(index, result)
        action = result.action
        if result.error is not None:
            log.error(
                "%s %s failed: %s", action.verb, action.name, result.error, extra=_about(action)
            )
            if isinstance(action, CreateNetwork):
                self.no_network = f"network {action.network} could not be made: {result.error}"
        elif self.ledger is not None and isinstance(action, Restart):
            self.ledger.record(action.container.id, action.attempt)

    def _keep(self, index: int, action: Remove) -> None:
        message = f"kept: the image of its replacement is not at hand ({self.missing[action.name]})"
        log.error("remove %s skipped: %s", action.name, message, extra=_about(action))
        self._finish(index, ActionResult(action, error=message))

    def _skip(self, index: int, action: Start | Join, why: str) -> None:
        log.error("%s %s not tried: %s", action.verb, action.name, why, extra=_about(action))
        self._finish(index, ActionResult(action, error=f"not tried: {why}"))

    def _finish(self, index: int, result: ActionResult) -> None:
        self._results[index] = result
        self.done.add(index)
        if self.on_result is not None:
            self.on_result(result)

    def _left(self) -> int:
        """How many actions have not been started."""
        return sum(not isinstance(action, NO_CHANGE) for action in self.pending.values())


def _on_network(action: Start | Join) -> bool:
    """Whether the action needs the namespace's network: a join, or a start on it."""
    return isinstance(action, Join) or bool(action.spec.network)


def _about(action: Action) -> dict[str, str]:
    """The fields of a log line about one action on one container (see ``--log-format``):
    its manifest name and the action's verb, nothing of its spec; for an action on the
    namespace's network, the network's name."""
    if isinstance(action, (CreateNetwork, RemoveNetwork)):
        return {"network": action.name, "action": action.verb}
    return {"container": action.name, "action": action.verb}


def _missing_images(plan: Plan, images: _SharedImages, pool: ThreadPoolExecutor) -> dict[str, str]:
    """The images of the containers to start, fetched before anything is removed: a
    container is replaced only once its new image is at hand. Name -> the error."""
    starts = [action for action in plan.actions if isinstance(action, Start)]
    wanted = dict.fromkeys((s.spec.image, s.spec.image_pull_policy) for s in starts)
    fetches = {pair: pool.submit(images.ensure, *pair) for pair in wanted}
    missing: dict[str, str] = {}
    for start in starts:
        error = _fetch_error(fetches[(start.spec.image, start.spec.image_pull_policy)])
        if error is not None:
            missing[start.name] = error
    return missing


def _fetch_error(fetch: Future[str]) -> str | None:
    """Why an image could not be had, or None when it is at hand."""
    error = fetch.exception()
    if error is None:
        return None
    if isinstance(error, AgentError):
        return _message(error)
    raise error


def _message(exc: AgentError) -> str:
    """What went wrong: an engine's own message (its address is logged elsewhere)."""
    return exc.message if isinstance(exc, BackendError) else str(exc)


@attrs.frozen
class _Engine:
    """What a worker carries an action out with."""

    backend: Backend
    stop_timeout: int
    images: _SharedImages
    allowed: tuple[str, ...]
    book: RolloutBook

    def grace(self, container: ObservedContainer) -> int:
        """The grace period the container was made with (its terminationGracePeriodSeconds),
        whatever the manifest says now; else the agent's --stop-timeout."""
        grace = container.stop_timeout
        return self.stop_timeout if grace is None else grace


def _outcome(action: _Executable, engine: _Engine) -> ActionResult:
    """Carry out one action (on a worker): how it went."""
    began = time.monotonic()
    try:
        container_id = _apply(action, engine)
    except AgentError as exc:
        elapsed = time.monotonic() - began
        return ActionResult(action, error=_message(exc), failure=exc, elapsed=elapsed)
    return ActionResult(action, container_id=container_id, elapsed=time.monotonic() - began)


def _apply(action: _Executable, engine: _Engine) -> str:
    """Carry out one action; the id of its container (of the network, for a network's)."""
    backend = engine.backend
    if isinstance(action, CreateNetwork):
        return _create_network(action, backend)
    if isinstance(action, RemoveNetwork):
        backend.remove_network(action.network.name)
        return action.network.id or action.network.name
    if isinstance(action, Join):
        backend.connect(action.network, action.container.id, action.aliases)
        return action.container.id
    if isinstance(action, Update):
        backend.update_limits(action.container.id, action.spec)
        return action.container.id
    if isinstance(action, Remove):
        backend.stop(action.container.id, engine.grace(action.container))
        backend.remove(action.container.id)
        record = engine.book.records().get(action.name)
        if record is not None and record.previous == action.container.id:
            engine.book.succeeded(action.name)
        return action.container.id
    if isinstance(action, Restart):
        if action.stop_first:
            backend.stop(action.container.id, engine.stop_timeout)
        backend.start(action.container.id)
        return action.container.id
    if isinstance(action, Rollback):
        return _roll_back(action, engine)
    if action.previous is not None:
        return _roll_out(action, action.previous, engine)
    return _start(action, backend, engine.images, engine.allowed)


def _roll_out(action: Start, previous: ObservedContainer, engine: _Engine) -> str:
    """The start of a rollout: its record first, then the previous container stopped (not
    removed) when they share a claim, then the new one; a new one that cannot be started
    fails the rollout at once, and the previous one runs again."""
    book, backend = engine.book, engine.backend
    book.begin(action.name, RolloutRecord(previous.id, action.spec.hash, time.time()))
    if action.stop_first and previous.running:
        backend.stop(previous.id, engine.grace(previous))
    try:
        made = _start(action, backend, engine.images, engine.allowed)
    except AgentError as exc:
        revision = FailedRevision(
            action.spec.hash,
            _known_image(backend, action.spec.image),
            action.revision,
            f"failed to start: {_message(exc)}",
            time.time(),
        )
        book.fail(action.name, revision)
        if action.stop_first:
            backend.start(previous.id)
        book.forget([action.name])
        raise
    book.begin(action.name, RolloutRecord(previous.id, action.spec.hash, time.time()))
    return made


def _roll_back(action: Rollback, engine: _Engine) -> str:
    """A failed rollout: its revision held back first (so that an agent killed meanwhile
    goes on rolling back), the failed container removed and the previous one started
    again (``pause``: both left as they are); then its record goes."""
    book, backend = engine.book, engine.backend
    book.fail(action.name, action.revision)
    if action.pause:
        return action.container.id
    if action.failed is not None:
        backend.stop(action.failed.id, engine.grace(action.failed))
        backend.remove(action.failed.id)
    if not action.container.running:
        backend.start(action.container.id)
    book.forget([action.name])
    return action.container.id


def _known_image(backend: Backend, image: str) -> str:
    """The id ``image`` names on the engine now; empty when unknown."""
    try:
        return backend.image_id(image) or ""
    except BackendError:
        return ""


NETWORK_ATTEMPTS = 3
"""Podman 4.3 picks a new network's subnet from the host's routes and fails (``route
ip+net: no such network interface``) when another network's bridge goes meanwhile: a
failed creation is tried again, twice, after 0.2 s and 0.4 s."""


def _create_network(action: CreateNetwork, backend: Backend) -> str:
    labels = network_labels(action.namespace)
    for attempt in range(1, NETWORK_ATTEMPTS + 1):
        try:
            return backend.create_network(action.network, labels)
        except EngineUnreachable:
            raise
        except BackendError as exc:
            if attempt == NETWORK_ATTEMPTS:
                raise
            log.warning(
                "making network %s failed (%s); trying again",
                action.network,
                exc.message,
                extra=_about(action),
            )
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def _start(action: Start, backend: Backend, images: _SharedImages, allowed: tuple[str, ...]) -> str:
    """Create and start; a container that fails to start is removed again, leaving nothing."""
    spec = action.spec
    image_id = images.ensure(spec.image, spec.image_pull_policy)
    spec = attrs.evolve(spec, image_id=image_id, record=record.encode(spec, secrets.token_hex(8)))
    for mount in spec.mounts:
        if mount.kind == "volume":
            _volume_directory(mount.source)
        elif mount.kind == "hostDir" and make_host_dir(mount.source, allowed):
            log.info("made the missing host directory %s", mount.source, extra=_about(action))
    try:
        return backend.run(spec)
    except BackendError as exc:
        if exc.created is not None:
            _remove_unstarted(backend, exc.created, action)
        raise


def _remove_unstarted(backend: Backend, container_id: str, action: Start) -> None:
    try:
        backend.remove(container_id)
    except BackendError as exc:
        log.warning(
            "could not remove %s after a failed start: %s",
            container_id,
            exc.message,
            extra=_about(action),
        )


def _volume_directory(path: str) -> None:
    """Create a volume's host directory; refuse one that is a symbolic link (planted under
    the volumes root, it would bind whatever it points at into the container)."""
    if os.path.islink(path):
        raise VolumeError(f"volume directory {path} is a symbolic link; refused")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise VolumeError(f"{exc.strerror}: {exc.filename}") from exc
