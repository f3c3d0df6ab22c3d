"""The executor: the only code that calls a backend.

It carries out a plan's actions in order, one failure never stopping the
others, and returns one result per action. Each action is logged with its
reason, and each failure with the engine's message.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import attrs

from agent.actions import Action, Plan, Remove, Restart, Start, Wait
from agent.errors import AgentError, VolumeError
from agent.images import Images
from agent.restarts import RestartLedger
from backends.base import Backend
from backends.errors import BackendError, EngineUnreachable

__all__ = ["ActionResult", "execute"]

log = logging.getLogger("agent.executor")


@attrs.frozen
class ActionResult:
    """How one action went: ``error`` is the message of its failure, ``failure`` the
    error itself (whose kind says, for instance, that the engine did not answer)."""

    action: Action
    error: str | None = None
    container_id: str | None = None
    failure: AgentError | None = attrs.field(default=None, eq=False, repr=False)

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
) -> tuple[ActionResult, ...]:
    """Carry out every action of ``plan``; a failed one is reported, the rest go on.

    ``cancelled`` is asked before each action: once it says yes, the remaining
    actions are left for a later pass. ``images`` is the pass's image cache (a
    fresh one by default), so that an image is pulled at most once a pass.
    ``ledger`` records each restart, for the planner's back-off. A ``Wait`` is
    no action: it gets no result.
    """
    images = images or Images(backend)
    missing = _missing_images(plan, images)
    results: list[ActionResult] = []
    for index, action in enumerate(plan.actions):
        if isinstance(action, Wait):
            log.debug("%s (%s): %s", action.name, action.engine_name, action.reason)
            continue
        if cancelled():
            left = sum(not isinstance(a, Wait) for a in plan.actions[index:])
            log.info("stopping: %d action(s) left for later", left)
            break
        if isinstance(action, Remove) and action.name in missing:
            message = f"kept: the image of its replacement is not at hand ({missing[action.name]})"
            log.error("remove %s skipped: %s", action.name, message)
            results.append(ActionResult(action, error=message))
            continue
        log.info("%s %s (%s): %s", action.verb, action.name, action.engine_name, action.reason)
        try:
            container_id = _apply(action, backend, stop_timeout, images)
        except AgentError as exc:
            message = _message(exc)
            log.error("%s %s failed: %s", action.verb, action.name, message)
            results.append(ActionResult(action, error=message, failure=exc))
        else:
            results.append(ActionResult(action, container_id=container_id))
            if ledger is not None and isinstance(action, Restart):
                ledger.record(action.container.id, action.attempt)
    return tuple(results)


def _missing_images(plan: Plan, images: Images) -> dict[str, str]:
    """The images of the containers to start, fetched before anything is removed: a
    container is replaced only once its new image is at hand. Name -> the error."""
    missing: dict[str, str] = {}
    for action in plan.actions:
        if isinstance(action, Start):
            try:
                images.ensure(action.spec.image, action.spec.image_pull_policy)
            except AgentError as exc:
                missing[action.name] = _message(exc)
    return missing


def _message(exc: AgentError) -> str:
    """What went wrong: an engine's own message (its address is logged elsewhere)."""
    return exc.message if isinstance(exc, BackendError) else str(exc)


def _apply(
    action: Start | Restart | Remove, backend: Backend, stop_timeout: int, images: Images
) -> str:
    if isinstance(action, Remove):
        backend.stop(action.container.id, stop_timeout)
        backend.remove(action.container.id)
        return action.container.id
    if isinstance(action, Restart):
        backend.start(action.container.id)
        return action.container.id
    return _start(action, backend, images)


def _start(action: Start, backend: Backend, images: Images) -> str:
    """Create and start; a container that fails to start is removed again, leaving nothing."""
    spec = action.spec
    spec = attrs.evolve(spec, image_id=images.ensure(spec.image, spec.image_pull_policy))
    for mount in spec.mounts:
        _volume_directory(mount.source)
    container_id = backend.create(spec)
    try:
        backend.start(container_id)
    except BackendError:
        try:
            backend.remove(container_id)
        except BackendError as exc:
            log.warning("could not remove %s after a failed start: %s", container_id, exc.message)
        raise
    return container_id


def _volume_directory(path: str) -> None:
    """Create a volume's host directory; refuse one that is a symbolic link (planted under
    the volumes root, it would bind whatever it points at into the container)."""
    if os.path.islink(path):
        raise VolumeError(f"volume directory {path} is a symbolic link; refused")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise VolumeError(f"{exc.strerror}: {exc.filename}") from exc
