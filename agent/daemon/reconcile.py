"""One pass of the agent: observe the engine, plan, and (unless dry) execute."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from agent.daemon.settings import Settings
from agent.manifest.models import ALWAYS
from agent.manifest.strategy import UpdateStrategy
from agent.planning import record
from agent.planning.actions import Plan, Remove, Update, Watch
from agent.planning.health import Health
from agent.planning.network import ObservedNetwork, all_attached, owned
from agent.planning.observed import ObservedContainer
from agent.planning.planner import plan
from agent.planning.rollout import RolloutInputs
from agent.planning.spec import build_specs
from agent.sources.allowances import check_desired
from agent.sources.load import DesiredSet
from agent.state.health_file import HealthFile
from agent.state.restarts import RestartLedger
from agent.state.rollouts import RolloutBook
from agent.state.updates import UpdateLedger
from backends.base import Backend, EngineReader
from backends.errors import BackendError

if TYPE_CHECKING:
    from agent.engine.executor import ActionResult
    from agent.engine.images import Images

log = logging.getLogger("agent.reconcile")

__all__ = [
    "converge",
    "converge_through",
    "observe_network",
    "plan_against",
    "plan_for",
    "rollout_inputs",
]


def plan_for(
    desired: DesiredSet,
    engine: EngineReader,
    settings: Settings,
    now: float,
    images: Mapping[str, str] | None = None,
    restarts: Mapping[str, int] | None = None,
    on_observed: Callable[[Sequence[ObservedContainer]], None] | None = None,
    health: Mapping[str, Health] | None = None,
    probing: bool = False,
    book: RolloutBook | None = None,
) -> Plan:
    """List the namespace's containers and plan against them: a dry run.

    ``engine`` is only read (a :class:`~backends.base.EngineReader`, such as
    ``backend.reader()``), and nothing is pulled. ``images`` gives the ids that
    ``imagePullPolicy: Always`` images name now, after a pull (see :func:`converge`);
    ``restarts`` the restart counts of the crash-loop back-off (by default, the ones
    kept under ``settings.state_dir``). A set that is not ``complete`` removes nothing.
    ``on_observed`` sees the listing the plan is made from. ``health`` is what the
    liveness probes found (by default, what the daemon keeps under ``settings.state_dir``).
    The namespace's network is looked up as :func:`observe_network` says. The rollouts
    under way and the failed revisions are those of ``book`` (by default, those kept
    under ``settings.state_dir``); ``probing``: liveness probes are run (by ``agent
    run``), so a rollout waits for them.
    """
    if restarts is None:
        restarts = RestartLedger(settings.restarts_path).counts()
    book = book or RolloutBook(settings.rollouts_path)
    # While a rollout is under way, its new container's start counts toward minReadySeconds:
    # the listing then carries the run times (inspects where the engine's listing lacks them).
    observed = engine.list(settings.namespace, run_times=bool(book.records()))
    if on_observed is not None:
        on_observed(observed)
    if health is None:
        health = HealthFile(settings.health_path).read()
    network = observe_network(engine, settings, observed, bool(desired.containers))
    rollouts = rollout_inputs(desired, settings, book, engine, probing)
    in_place = engine.updates_in_place()
    return plan_against(
        desired, observed, settings, now, images, restarts, health, network, rollouts, in_place
    )


def rollout_inputs(
    desired: DesiredSet,
    settings: Settings,
    book: RolloutBook,
    engine: EngineReader | None = None,
    probing: bool = False,
) -> RolloutInputs:
    """What the planner needs of rollouts: each container's strategy (its manifest's, else
    the settings') and manifest, the book's records and failed revisions, and (asking
    ``engine``) the ids that the images of failed revisions name now."""
    strategies: dict[str, UpdateStrategy] = {}
    groups: dict[str, str] = {}
    for index, manifest in enumerate(desired.manifests):
        for container in manifest.containers:
            strategies[container.name] = manifest.update_strategy or settings.strategy
            groups[container.name] = f"{index}:{manifest.source}"
    failed = book.failed()
    records = book.records()
    images: dict[str, str] = {}
    if engine is not None:
        # An imagePullPolicy: Always image under way or held back is looked up each pass,
        # pulled or not: the id its tag names tells a new digest from the previous one.
        wanted = {
            c.image
            for c in desired.containers
            if c.name in failed or (c.name in records and c.image_pull_policy == ALWAYS)
        }
        for image in sorted(wanted):
            images[image] = engine.image_id(image) or ""
    return RolloutInputs(strategies, groups, records, failed, images, probing)


def observe_network(
    engine: EngineReader,
    settings: Settings,
    observed: Sequence[ObservedContainer],
    wanted: bool,
) -> ObservedNetwork | None:
    """The namespace's network, when the engine has it; None when it has none.

    No engine call when the listing shows every container of the namespace on it (the
    pass of a converged namespace), nor when it is off and containers are ``wanted``
    (it is left alone then). A network of its name that is not the namespace's own
    raises :class:`~agent.planning.network.NetworkConflict` when containers are wanted on it;
    with none wanted (``agent down``) it is only left alone.
    """
    name = settings.network_name
    if settings.network is not None and all_attached(observed, name):
        return ObservedNetwork(name, namespace=settings.namespace)
    if settings.network is None and wanted:
        return None
    found = engine.network(name)
    if not wanted and found is not None and found.namespace != settings.namespace:
        return None
    return owned(found, settings.namespace)


def plan_against(
    desired: DesiredSet,
    observed: Sequence[ObservedContainer],
    settings: Settings,
    now: float,
    images: Mapping[str, str] | None = None,
    restarts: Mapping[str, int] | None = None,
    health: Mapping[str, Health] | None = None,
    network: ObservedNetwork | None = None,
    rollouts: RolloutInputs | None = None,
    in_place: bool = False,
) -> Plan:
    """:func:`plan_for` with the listing (``agent status`` lists with run times) and the
    namespace's network (:func:`observe_network`) in hand; ``in_place``: whether the engine
    changes limits in place (``EngineReader.updates_in_place``). The containers updated in
    place are read from ``settings.state_dir``.

    What the settings do not allow (a hostDir outside ``settings.allow_host_path``, a
    privileged container, host networking: :mod:`agent.sources.allowances`) raises a
    ManifestError of its file.
    """
    desired = check_desired(desired, settings.allowances)
    specs = build_specs(
        desired.containers,
        settings.namespace,
        settings.volumes_root,
        settings.network,
        settings.log_limits,
    )
    options = attrs.evolve(settings.plan_options(desired.complete), in_place=in_place)
    if rollouts is None:
        rollouts = rollout_inputs(desired, settings, RolloutBook(settings.rollouts_path))
    updated = UpdateLedger(settings.updates_path).updated()
    return plan(specs, observed, now, options, images, restarts, health, network, rollouts, updated)


def converge(
    desired: DesiredSet,
    backend: Backend,
    settings: Settings,
    now: float,
    pull: bool = True,
    cancelled: Callable[[], bool] = lambda: False,
    ledger: RestartLedger | None = None,
    on_result: Callable[[ActionResult], None] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    on_observed: Callable[[Sequence[ObservedContainer]], None] | None = None,
    health: Mapping[str, Health] | None = None,
    probing: bool = False,
    book: RolloutBook | None = None,
) -> tuple[Plan, tuple[ActionResult, ...]]:
    """Plan (pulling ``Always`` images first when ``pull``), then carry the plan out,
    ``settings.parallel`` actions at a time. ``on_plan`` sees the plan before anything is
    done, ``on_result`` each result as it comes (see :func:`~agent.engine.executor.execute`),
    ``on_observed`` the engine's listing; ``health`` is what the liveness probes found
    (``probing``: they are run, so rollouts wait for them). Rollout records are written to
    ``book`` as the rollouts go (see :mod:`agent.state.rollouts`; by default, the one kept
    under ``settings.state_dir``: a caller without a state dir keeps its book across
    passes, or no rollout is remembered from one pass to the next)."""
    from agent.engine.executor import execute  # a dry run (plan_for) loads none of it
    from agent.engine.images import Images

    images = Images(backend)
    ledger = ledger or RestartLedger(settings.restarts_path)
    current = _pull_always(desired, images) if pull else {}
    book = book or RolloutBook(settings.rollouts_path)
    the_plan = plan_for(
        desired,
        backend,
        settings,
        now,
        current,
        ledger.counts(),
        on_observed,
        health,
        probing,
        book,
    )
    book.forget(the_plan.settled)
    if desired.complete:  # a name out of every manifest takes its failed revision with it
        wanted = {c.name for c in desired.containers}
        book.forget([name for name in book.failed() if name not in wanted], failed=True)
    if on_plan is not None:
        on_plan(the_plan)
    results = execute(
        the_plan,
        backend,
        settings.stop_timeout,
        cancelled,
        images,
        ledger,
        settings.parallel,
        on_result,
        settings.allow_host_path,
        book,
    )
    removed = [a.container.id for a in the_plan.actions if isinstance(a, Remove)]
    ledger.forget(removed)
    _keep_updates(results, UpdateLedger(settings.updates_path), removed)
    return the_plan, results


def converge_through(
    desired: DesiredSet,
    backend: Backend,
    settings: Settings,
    on_result: Callable[[ActionResult], None] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> tuple[Plan, tuple[ActionResult, ...]]:
    """:func:`converge`, then again while a rollout is under way, each time when its new
    container will have run its minimum healthy time (``agent apply``): a one-shot apply
    waits only where a previous container is kept to fall back to. The first plan, and
    every pass's results. It stops after a pass with a failed action (a rollout whose
    image is not at hand would be tried again at once)."""
    book = RolloutBook(settings.rollouts_path)
    first, results = converge(
        desired, backend, settings, time.time(), on_result=on_result, on_plan=on_plan, book=book
    )
    the_plan, done = first, list(results)
    while the_plan.rolling and all(result.ok for result in results):
        dues = [a.due for a in the_plan.actions if isinstance(a, Watch) and a.due]
        time.sleep(max(0.2, min(dues, default=0.0) - time.time()))
        the_plan, results = converge(
            desired, backend, settings, time.time(), False, on_result=on_result, book=book
        )
        done += results
    return first, tuple(done)


def _keep_updates(
    results: Sequence[ActionResult], updates: UpdateLedger, removed: Sequence[str]
) -> None:
    """Keep what each container updated in place matches now: its labels cannot say."""
    for result in results:
        action = result.action
        if result.ok and isinstance(action, Update):
            salt = secrets.token_hex(8)
            updates.record(action.container.id, action.spec.hash, record.encode(action.spec, salt))
    updates.forget(removed)


def _pull_always(desired: DesiredSet, images: Images) -> dict[str, str]:
    """Pull the images of ``imagePullPolicy: Always`` containers, so that a new push under
    the same tag is planned as a change. A failed pull is logged; the pass goes on."""
    current: dict[str, str] = {}
    always = {c.image for c in desired.containers if c.image_pull_policy == ALWAYS}
    for image in sorted(always):
        try:
            current[image] = images.pull(image)
        except BackendError as exc:
            log.error("%s", exc.message)
    return current
