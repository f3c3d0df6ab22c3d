"""An in-memory backend for executor tests: it records every call and fails on request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence

from agent.planning.network import ObservedNetwork
from agent.planning.observed import ObservedContainer
from agent.planning.spec import RunSpec
from backends.base import Backend, BackendOptions
from backends.credentials import RegistryAuth
from backends.errors import BackendError, NotFound

__all__ = ["Call", "FakeBackend", "Span"]

Call = tuple[str, ...]
Span = tuple[Call, float, float]
"""A call, with the monotonic times it started and ended."""

HOLD_TIMEOUT = 5.0
"""Seconds a held call waits for its release before it fails the test."""


class FakeBackend(Backend):
    """Records each call as ``(method, target, ...)`` in :attr:`calls`.

    The target of ``create`` is the spec's engine name, of every other call a
    container id. ``create`` returns ``new-<name>``. :meth:`fail` makes one
    method fail on one target with a :class:`BackendError` (or the kind given)
    carrying ``message``.

    Images: every image is present (id ``sha256:<ref>``) unless :attr:`local` is
    set, a mapping of the images present; ``pull`` copies an image from
    :attr:`remote` into it. Image look-ups are counted in :attr:`lookups`, not
    recorded as calls.

    Networks: :attr:`networks` holds the networks the engine has, by name; ``create_network``
    adds one (id ``net-<name>``, its namespace label), ``remove_network`` takes it away.
    Look-ups are counted in :attr:`network_lookups`, not recorded as calls; ``connect`` is
    recorded as ``("connect", container id, network, *aliases)``.

    Logs: :attr:`output` maps a container id to the chunks it printed, one line each;
    ``logs`` of any other id raises :class:`~backends.errors.NotFound`.

    Concurrency: every recorded call also goes to :attr:`spans` when it ends, with
    the times it started and ended; it takes :attr:`delay` seconds (none by
    default), and :attr:`most_busy` is the most calls that were ever in flight at
    once. :meth:`hold` makes the calls on one target wait for an event.
    """

    name = "fake"

    def __init__(self, containers: list[ObservedContainer] | None = None) -> None:
        self.containers = list(containers or [])
        self.calls: list[Call] = []
        self._failures: dict[tuple[str, str], tuple[str, type[BackendError]]] = {}
        self.local: dict[str, str] | None = None
        self.remote: dict[str, str] = {}
        self.lookups = 0
        self.pull_auth: list[RegistryAuth | None] = []
        self.delay = 0.0
        self.spans: list[Span] = []
        self.most_busy = 0
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._holds: dict[str, threading.Event] = {}
        self.output: dict[str, list[bytes]] = {}
        self.exits: dict[str, int] = {}
        self.networks: dict[str, ObservedNetwork] = {}
        self.network_lookups = 0

    @classmethod
    def from_options(cls, options: BackendOptions) -> FakeBackend:
        return cls()

    @property
    def address(self) -> str:
        return "fake://memory"

    def fail(
        self, method: str, target: str, message: str, kind: type[BackendError] = BackendError
    ) -> None:
        """Make every later ``method`` call on ``target`` raise ``kind(message)``."""
        self._failures[(method, target)] = (message, kind)

    def recover(self) -> None:
        """Let every call succeed again."""
        self._failures.clear()

    def hold(self, target: str) -> threading.Event:
        """Make every later call on ``target`` wait until the event returned is set."""
        return self._holds.setdefault(target, threading.Event())

    def _record(self, method: str, target: str, *rest: str) -> None:
        call = (method, target, *rest)
        self.calls.append(call)
        started = time.monotonic()
        self._count_busy(+1)
        try:
            self._take_time(target)
        finally:
            self._count_busy(-1)
            self.spans.append((call, started, time.monotonic()))
        failure = self._failures.get((method, target))
        if failure is not None:
            message, kind = failure
            raise kind(message, self.address)

    def _count_busy(self, change: int) -> None:
        with self._busy_lock:
            self._busy += change
            self.most_busy = max(self.most_busy, self._busy)

    def _take_time(self, target: str) -> None:
        """Wait for the release of a held target, then for :attr:`delay`."""
        held = self._holds.get(target)
        if held is not None and not held.wait(HOLD_TIMEOUT):
            raise AssertionError(f"calls on {target} were held and never released")
        if self.delay:
            time.sleep(self.delay)

    def version(self) -> str:
        self._record("version", "")
        return "fake 1.0"

    def list(self, namespace: str, *, run_times: bool = False) -> list[ObservedContainer]:
        self._record("list", namespace, *(["run_times"] if run_times else []))
        return [c for c in self.containers if c.namespace == namespace]

    def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        tail: int | None = None,
        since: float | None = None,
    ) -> Iterator[bytes]:
        """The chunks of :attr:`output` for the container, the last ``tail`` of them; the
        call is recorded with its options as ``follow=...``, ``tail=...``, ``since=...``."""
        options = (f"follow={follow}", f"tail={tail}", f"since={since}")
        self._record("logs", container_id, *options)
        if container_id not in self.output:
            raise NotFound(f"No such container: {container_id}", self.address)
        chunks = self.output[container_id]
        yield from chunks[max(0, len(chunks) - tail) :] if tail is not None else chunks

    def image_id(self, image: str) -> str | None:
        self.lookups += 1
        return f"sha256:{image}" if self.local is None else self.local.get(image)

    def network(self, name: str) -> ObservedNetwork | None:
        self.network_lookups += 1
        return self.networks.get(name)

    def create_network(self, name: str, labels: Mapping[str, str]) -> str:
        self._record("create_network", name)
        namespace = labels.get("io.container-agent.namespace", "")
        self.networks[name] = ObservedNetwork(name, f"net-{name}", namespace)
        return f"net-{name}"

    def connect(self, network: str, container_id: str, aliases: Sequence[str]) -> None:
        self._record("connect", container_id, network, *aliases)

    def remove_network(self, name: str) -> None:
        self._record("remove_network", name)
        self.networks.pop(name, None)

    def pull(self, image: str, auth: RegistryAuth | None) -> None:
        self._record("pull", image)
        self.pull_auth.append(auth)
        if image not in self.remote:
            raise BackendError(f"manifest for {image} not found", self.address)
        if self.local is not None:
            self.local[image] = self.remote[image]

    def create(self, spec: RunSpec) -> str:
        self._record("create", spec.engine_name)
        return f"new-{spec.name}"

    def start(self, container_id: str) -> None:
        self._record("start", container_id)

    def update_limits(self, container_id: str, spec: RunSpec) -> None:
        self._record("update", container_id, str(spec.memory), str(spec.cpu))

    def stop(self, container_id: str, timeout: int = 10) -> None:
        self._record("stop", container_id, str(timeout))

    def remove(self, container_id: str) -> None:
        self._record("remove", container_id)

    def exec(self, container_id: str, command: Sequence[str], timeout: float) -> tuple[int, bytes]:
        """The exit code of :attr:`exits` for the container (0 by default), recorded."""
        self._record("exec", container_id, *command)
        return self.exits.get(container_id, 0), b""
