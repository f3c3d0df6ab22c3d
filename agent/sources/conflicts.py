"""Conflicts across manifest sources: which content is in force when two sources claim the
same container name (or network alias) or host port.

The rule: a conflict is the fault of the change that made it. The contents in force are
consistent with each other. A change (a new source, or a source whose valid content
changed) comes into force only when nothing it claims is claimed by the content in force of
another source; otherwise it is refused, and its source keeps the content it had in force
(none, for a new source). Changes are taken in the order they arrived. Changes that arrived
together (in one pass of the agent, or every file of a first start) and claim the same name
or port are all refused, whatever the order of their files, so that no file wins by its
name.

This module is pure: it is given contents and answers which are in force and why the others
were refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from agent.errors import FieldError, ManifestError
from agent.manifest.models import Manifest
from agent.manifest.ports import Binding, HostClaims, Publisher, also_published, port_conflict

__all__ = ["Settled", "settle"]


@attrs.frozen
class Settled:
    """The outcome: ``in_force`` the content in force of each source, by its key;
    ``refused`` for each source whose change was refused, every claim that conflicts."""

    in_force: Mapping[str, Manifest]
    refused: Mapping[str, ManifestError]


def settle(in_force: Mapping[str, Manifest], batches: Sequence[Mapping[str, Manifest]]) -> Settled:
    """Take the changes in ``batches`` (each a batch of changes that arrived together, by
    source key, the oldest batch first) into the contents ``in_force`` by the rule above.

    ``in_force`` must be consistent (as every result of this function is). A key in a batch
    replaces the content of that key, or adds a source. A change refused because of what
    another change replaced or dropped is tried again, in its turn, until no more come into
    force: an edit that was refused comes into force as soon as the claim it conflicted with
    is given up."""
    current = dict(in_force)
    pending = [dict(batch) for batch in batches if batch]
    while True:
        refused: dict[str, ManifestError] = {}
        taken = False
        for batch in pending:
            accepted, batch_refused = _settle_batch(current, batch)
            current.update(accepted)
            refused.update(batch_refused)
            taken = taken or bool(accepted)
        if not refused or not taken:
            return Settled(current, refused)
        pending = [{k: m for k, m in b.items() if k in refused} for b in pending]
        pending = [batch for batch in pending if batch]


def _settle_batch(
    current: Mapping[str, Manifest], batch: Mapping[str, Manifest]
) -> tuple[dict[str, Manifest], dict[str, ManifestError]]:
    """The changes of one batch that come into force, and the refused ones with their
    conflicts. A refused change keeps its old content in force, which the other changes of
    the batch must then agree with too: refusals are repeated until none is added."""
    refused: dict[str, ManifestError] = {}
    while True:
        survivors = {key: m for key, m in batch.items() if key not in refused}
        claims = _Claims()
        for key, manifest in current.items():
            if key not in survivors:
                claims.add(key, manifest)
        for key, manifest in survivors.items():
            claims.add(key, manifest)
        found = False
        for key, manifest in survivors.items():
            errors = list(claims.conflicts(key, manifest))
            if errors:
                refused[key] = ManifestError(manifest.source, errors)
                found = True
        if not found:
            return survivors, refused


class _Claims:
    """The container names and host ports that sources claim, by source key: each lookup
    leaves out the claims of the source asking, so that checking every source costs one
    pass over all their containers."""

    def __init__(self) -> None:
        self.names: dict[str, list[tuple[str, str]]] = {}  # name -> [(key, source)]
        # alias -> [(key, container, source)]: a name on the namespace's network is one
        # container's, whether it is its name or an alias
        self.aliases: dict[str, list[tuple[str, str, str]]] = {}
        self.ports: HostClaims[str] = HostClaims()
        self.manifests: dict[str, Manifest] = {}

    def add(self, key: str, manifest: Manifest) -> None:
        self.manifests[key] = manifest
        for container in manifest.containers:
            self.names.setdefault(container.name, []).append((key, manifest.source))
            for alias in container.aliases:
                self.aliases.setdefault(alias, []).append((key, container.name, manifest.source))
            for port in container.ports:
                self.ports.add(port, key)

    def _network_name(self, key: str, name: str) -> str | None:
        """Whose name ``name`` is on the namespace's network in another source than ``key``."""
        source = next((s for k, s in self.names.get(name, ()) if k != key), None)
        if source is not None:
            return f"also the name of container {name!r} in {source}"
        owner = next(((c, s) for k, c, s in self.aliases.get(name, ()) if k != key), None)
        if owner is not None:
            return f"also an alias of container {owner[0]!r} in {owner[1]}"
        return None

    def conflicts(self, key: str, manifest: Manifest) -> Iterable[FieldError]:
        """What ``manifest`` (the content of ``key``) claims that another source claims too,
        each conflict once, with the first source that claims it: container names, aliases
        (a name on the network is one container's) and host ports."""
        for container in manifest.containers:
            where = f"containers[{container.name}]"
            other = next((s for k, s in self.names.get(container.name, ()) if k != key), None)
            if other is not None:
                yield FieldError(f"{where}.name", f"{container.name!r} is also defined in {other}")
            else:
                taken = self._network_name(key, container.name)
                if taken is not None:
                    yield FieldError(f"{where}.name", f"{container.name!r} is {taken}")
            for index, alias in enumerate(container.aliases):
                taken = self._network_name(key, alias)
                if taken is not None:
                    yield FieldError(f"{where}.aliases[{index}]", f"alias {alias!r} is {taken}")
            for index, owner in self.ports.conflicts(container.ports, key):
                port = container.ports[index]
                yield FieldError(f"{where}.ports[{index}]", self._published(port, owner))

    def _published(self, port: Binding, owner: str) -> str:
        """The message for ``port``, which a container of source ``owner`` publishes."""
        other = self.manifests[owner]
        name = next(
            c.name for c in other.containers if any(port_conflict(port, p) for p in c.ports)
        )
        return also_published(port, Publisher(name, other.source))
