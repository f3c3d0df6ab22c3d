"""What a container was made from, kept on it as one label, and what a new spec changes in it.

At creation the agent labels each container with a record of its spec
(:func:`encode`): image, command, working directory, published ports, mounts,
env keys, the limits, grace period, entrypoint, privileged mode, host network, stdin,
tty, log limits and aliases (when given), and the restart and pull policies. When the
container's hash no longer matches its spec, :func:`changes` compares the record with the new spec
field by field, so that a plan says what changed, as Terraform does. The hash
stays the identity: the record explains a replacement and never causes one, and
a container without a record (made by an older agent) or with a record of
another format still plans as before, its origin unknown.

Env values may be secrets: the record keeps, for each, an HMAC-SHA256 with a
salt of the container's own (64 bits, 16 hex digits of digest): enough to tell
that a value changed, never to show it, and equal values in two containers do
not look alike. Pure; the executor draws the salt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from agent.manifest.quantity import format_cpu, format_memory
from agent.planning.spec import Mount, PortBinding, RunSpec

__all__ = ["FORMAT", "Change", "changes", "decode", "encode"]

FORMAT = 1
"""The record's format; a record of another format is read as no record."""

_DIGEST_LENGTH = 16


@attrs.frozen
class Change:
    """One difference between a container's record and its new spec.

    ``kind`` is ``~`` (changed), ``+`` (added) or ``-`` (removed); ``key`` names the
    env variable, port or mount; ``hidden`` says that the values are env values,
    which are never shown.
    """

    field: str
    kind: str
    key: str | None = None
    before: Any = None
    after: Any = None
    hidden: bool = False

    def text(self) -> str:
        """``~ command: ["sleep", "3600"] -> ["sleep", "3601"]``, ``~ env TOKEN: (value
        changed, hidden)``, ``+ port 127.0.0.1:8081->8081/tcp``."""
        head = f"{self.kind} {self.field}" + (f" {self.key}" if self.key else "")
        if self.hidden:
            return head + (": (value changed, hidden)" if self.kind == "~" else "")
        if self.kind == "~":
            return f"{head}: {_shown(self.before)} -> {_shown(self.after)}"
        return head

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``before`` and ``after`` are null for env values)."""
        return {
            "field": self.field,
            "change": {"~": "update", "+": "add", "-": "remove"}[self.kind],
            "key": self.key,
            "before": self.before,
            "after": self.after,
            "hidden": self.hidden,
        }


def encode(spec: RunSpec, salt: str) -> str:
    """The record of ``spec`` as a label value: compact JSON, keys sorted."""
    record = {
        **_fields(spec),
        "v": FORMAT,
        "salt": salt,
        "env": {key: _digest(salt, value) for key, value in sorted(spec.env)},
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def decode(label: str) -> dict[str, Any] | None:
    """The record a label holds; None for no label, an unreadable one or another format."""
    try:
        record = json.loads(label) if label else None
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("v") != FORMAT:
        return None
    if not isinstance(record.get("salt"), str) or not isinstance(record.get("env"), dict):
        return None
    return record


def changes(label: str, spec: RunSpec) -> tuple[Change, ...] | None:
    """What ``spec`` changes in the container whose record label is ``label``, field by
    field, in the record's order; None when the container has no readable record."""
    record = decode(label)
    if record is None:
        return None
    now = _fields(spec)
    found: list[Change] = []
    for field in ("image", "command", "workingDir"):
        if record.get(field) != now[field]:
            found.append(Change(field, "~", before=record.get(field), after=now[field]))
    found += _env_changes(record["env"], record["salt"], spec.env)
    for field, key in (("ports", "port"), ("mounts", "mount")):
        found += _list_changes(key, record.get(field), now[field])
    for field in (*_GIVEN, "restartPolicy", "imagePullPolicy"):
        if record.get(field) != now.get(field):
            found.append(Change(field, "~", before=record.get(field), after=now.get(field)))
    return tuple(found)


_GIVEN = (
    "resources.limits.memory",
    "resources.limits.cpu",
    "terminationGracePeriodSeconds",
    "entrypoint",
    "privileged",
    "hostNetwork",
    "stdin",
    "tty",
    "logs",
    "aliases",
)
"""Fields recorded only when given: a record without one (an older agent's, too) had none."""


def _fields(spec: RunSpec) -> dict[str, Any]:
    """What the record keeps of ``spec``, env aside: every value as it reads in a plan."""
    fields: dict[str, Any] = {
        "image": spec.image,
        "command": list(spec.command),
        "workingDir": spec.working_dir,
        "ports": sorted(_port(port) for port in spec.ports),
        "mounts": sorted(_mount(mount) for mount in spec.mounts),
        "restartPolicy": spec.restart_policy,
        "imagePullPolicy": spec.image_pull_policy,
    }
    given = {
        "resources.limits.memory": format_memory(spec.memory) if spec.memory else None,
        "resources.limits.cpu": format_cpu(spec.cpu) if spec.cpu else None,
        "terminationGracePeriodSeconds": spec.stop_timeout,
        "entrypoint": list(spec.entrypoint) if spec.entrypoint else None,
        "privileged": spec.privileged or None,
        "hostNetwork": spec.host_network or None,
        "stdin": spec.stdin or None,
        "tty": spec.tty or None,
        "logs": f"json-file {spec.log_limits.max_size} x {spec.log_limits.max_files}"
        if spec.log_limits
        else None,
        "aliases": sorted(spec.aliases) or None,
    }
    fields.update((key, value) for key, value in given.items() if value is not None)
    return fields


def _env_changes(
    recorded: Mapping[str, Any], salt: str, env: Iterable[tuple[str, str]]
) -> list[Change]:
    now = dict(env)
    found = [Change("env", "-", key) for key in sorted(recorded) if key not in now]
    for key in sorted(now):
        if key not in recorded:
            found.append(Change("env", "+", key, hidden=True))
        elif not hmac.compare_digest(str(recorded[key]), _digest(salt, now[key])):
            found.append(Change("env", "~", key, hidden=True))
    return found


def _list_changes(key: str, recorded: Any, now: list[str]) -> list[Change]:
    before = {str(item) for item in recorded} if isinstance(recorded, list) else set()
    return [Change(key, "-", item) for item in sorted(before - set(now))] + [
        Change(key, "+", item) for item in now if item not in before
    ]


def _digest(salt: str, value: str) -> str:
    mac = hmac.new(salt.encode(), value.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return mac.hexdigest()[:_DIGEST_LENGTH]


def _port(port: PortBinding) -> str:
    """``127.0.0.1:8080->80/tcp``, ``[::1]:53->53/udp``, ``*:80->80/tcp``, as engines print them."""
    host = f"[{port.host_ip}]" if ":" in port.host_ip else port.host_ip or "*"
    return f"{host}:{port.host_port}->{port.container_port}/{port.protocol}"


def _mount(mount: Mount) -> str:
    """``/export/data:/data`` and ``:ro`` for a read-only one; ``emptyDir:/scratch``."""
    source = mount.source if mount.bound else mount.kind
    return f"{source}:{mount.target}" + (":ro" if mount.read_only else "")


def _shown(value: Any) -> str:
    """A recorded value for a plan: JSON, so that a list of strings reads unambiguously."""
    return json.dumps(value, ensure_ascii=False)
