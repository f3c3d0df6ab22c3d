"""A Compose service as a manifest container: its image, command and entrypoint,
environment (``environment`` and ``env_file``), policies and grace period, with the parts
read by the other ``compose_*`` modules, and a note for each field the manifest does not
carry."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from typing import Any

from agent.convert.compose_common import ComposeError, Refused, label
from agent.convert.compose_health import liveness_probe
from agent.convert.compose_networks import ONE_NETWORK, NetworkNames
from agent.convert.compose_ports import read_ports
from agent.convert.compose_resources import read_resources
from agent.convert.compose_values import whole_seconds
from agent.convert.compose_volumes import ComposeVolumes
from agent.convert.interpolate import InterpolationError, parse_env_file
from agent.convert.notes import NoteTaker
from agent.errors import ManifestError
from agent.manifest.container_schema import MAX_GRACE_PERIOD
from agent.manifest.models import ALWAYS, IF_NOT_PRESENT, NEVER, ON_FAILURE
from agent.manifest.parse import decode_text, read_bounded

__all__ = ["TOP_LEVEL_UNMAPPED", "ServiceReader", "read_env_file"]

_RESTART = {"no": NEVER, "always": ALWAYS, "on-failure": ON_FAILURE, "unless-stopped": ALWAYS}
_PULL = {"always": ALWAYS, "never": NEVER, "missing": IF_NOT_PRESENT}
_PULL["if_not_present"] = IF_NOT_PRESENT
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_HANDLED = frozenset(
    {
        "image",
        "command",
        "entrypoint",
        "environment",
        "env_file",
        "ports",
        "volumes",
        "tmpfs",
        "restart",
        "working_dir",
        "healthcheck",
        "deploy",
        "mem_limit",
        "mem_reservation",
        "cpus",
        "pull_policy",
        "stop_grace_period",
        "build",
        "profiles",
        "extends",
        "networks",
        "links",
    }
)
_DEFAULTS = "the engine's defaults are kept: the agent does not offer it"
_NO_SECRETS = "there is no secret store: use a hostDir volume for files the operator places"
_NO_CONFIGS = "there is no config store: use a hostDir volume for files the operator places"
_HOST_NAMESPACES = "host namespaces are not offered"
_DNS = "the engine's DNS settings are used"
_CPU_LIMIT_ONLY = "only a CPU limit (cpus) is offered"
_UNMAPPED = {
    "external_links": "only the namespace's own containers are on its network",
    "network_mode": "host and shared network namespaces are not offered",
    "depends_on": "the agent starts every container at once, in no order",
    "expose": "only published ports are in a manifest; the rest is reachable as it is",
    "labels": "the agent sets its own labels",
    "annotations": "the agent sets its own labels",
    "logging": "the engine's default log driver is used (see agent logs)",
    "secrets": _NO_SECRETS,
    "configs": _NO_CONFIGS,
    "container_name": "the agent names containers itself (container-agent-<name>-<hash>)",
    "hostname": "a container's hostname is its name in the manifest (the service's name)",
    "domainname": "a container's hostname is its name in the manifest, with no domain",
    "user": "containers run as the image's user",
    "privileged": "privileged mode is not offered: it gives the container the whole host",
    "cap_add": _DEFAULTS,
    "cap_drop": _DEFAULTS,
    "security_opt": _DEFAULTS,
    "devices": "host devices are not offered",
    "device_cgroup_rules": "host devices are not offered",
    "ulimits": _DEFAULTS,
    "sysctls": _DEFAULTS,
    "pid": _HOST_NAMESPACES,
    "ipc": _HOST_NAMESPACES,
    "uts": _HOST_NAMESPACES,
    "userns_mode": _HOST_NAMESPACES,
    "extra_hosts": _DNS,
    "dns": _DNS,
    "dns_search": _DNS,
    "dns_opt": _DNS,
    "tty": "containers run detached, with no terminal",
    "stdin_open": "containers run detached, with no standard input",
    "stop_signal": "the agent stops containers with SIGTERM",
    "init": _DEFAULTS,
    "read_only": _DEFAULTS,
    "shm_size": _DEFAULTS,
    "scale": "one container per service",
    "volumes_from": "mount the same volumes by name instead",
    "platform": "the image's own platform is used",
    "runtime": _DEFAULTS,
    "isolation": _DEFAULTS,
    "cgroup_parent": _DEFAULTS,
    "group_add": "containers run as the image's user",
    "oom_score_adj": _DEFAULTS,
    "oom_kill_disable": _DEFAULTS,
    "mem_swappiness": "a memory limit allows no swap",
    "memswap_limit": "a memory limit allows no swap",
    "pids_limit": _DEFAULTS,
    "cpu_shares": _CPU_LIMIT_ONLY,
    "cpu_quota": _CPU_LIMIT_ONLY,
    "cpu_period": _CPU_LIMIT_ONLY,
    "cpuset": _CPU_LIMIT_ONLY,
    "cpu_count": _CPU_LIMIT_ONLY,
    "cpu_percent": _CPU_LIMIT_ONLY,
    "blkio_config": _DEFAULTS,
    "storage_opt": _DEFAULTS,
    "mac_address": _DEFAULTS,
    "credential_spec": _DEFAULTS,
}
TOP_LEVEL_UNMAPPED = {
    "networks": f"{ONE_NETWORK}, on which each service answers to its name: no other is made",
    "secrets": _NO_SECRETS,
    "configs": _NO_CONFIGS,
}
"""Top-level sections of a file that the manifest does not carry, and why."""


def read_env_file(path: str) -> dict[str, str]:
    """The variables of an env file (``.env``, a service's ``env_file``)."""
    try:
        text = decode_text(read_bounded(path), path, "an env file")
        return parse_env_file(text, path)
    except OSError as exc:
        raise ComposeError(f"{path}: cannot read the env file: {exc.strerror or exc}") from None
    except (ManifestError, InterpolationError) as exc:
        raise ComposeError(str(exc)) from None


class ServiceReader:
    """Reads each service of one file into a container; the file's volumes and network
    names are gathered in ``volumes`` and ``networks`` as it goes."""

    def __init__(
        self,
        base: str,
        variables: Mapping[str, str],
        volumes: ComposeVolumes,
        networks: NetworkNames,
        note: NoteTaker,
    ) -> None:
        self.base = base
        self.variables = variables
        self.volumes = volumes
        self.networks = networks
        self.note = note

    def container(self, name: str, service: Mapping[str, Any], taken: set[str]) -> dict[str, Any]:
        """The container of the service ``name``; raises :class:`Refused` when it is not
        converted (its container name in ``taken`` already, among others)."""
        found = label(name)
        if found is None:
            raise Refused("", "the name cannot be an RFC 1035 name (a-z, 0-9, '-')")
        if found in taken:
            raise Refused("", f"its container name {found} is taken by another service")
        if found != name:
            self.note(name, "", f"container named {found} (an RFC 1035 name)")
        container: dict[str, Any] = {"name": found, "image": self._image(name, service)}
        command = _command(service)
        if "entrypoint" in service:
            # As Compose runs it: the image's ENTRYPOINT replaced and its CMD dropped; an
            # empty entrypoint (the image's reset) leaves the command to be the process.
            entrypoint = _command(service, "entrypoint")
            if not entrypoint:
                if not command:
                    raise Refused("entrypoint", "is empty, and there is no command to run")
                entrypoint, command = command, []
                self.note(name, "entrypoint", "empty: the command is the entrypoint")
            container["entrypoint"] = entrypoint
        if command:
            container["command"] = command
        if "working_dir" in service:
            container["workingDir"] = service["working_dir"]
        env = self._environment(name, service)
        ports = read_ports(name, service.get("ports") or [], self.note)
        mounts = self.volumes.mounts(name, service)
        restart = self._restart(name, service.get("restart"))
        container["restartPolicy"] = restart
        pull = self._pull_policy(name, service.get("pull_policy"))
        if pull is not None:
            container["imagePullPolicy"] = pull
        if ports:
            container["ports"] = ports
        if mounts:
            container["volumeMounts"] = mounts
        if env:
            container["env"] = env
        resources = read_resources(name, service, self.note)
        if resources:
            container["resources"] = resources
        if "stop_grace_period" in service:
            value = service["stop_grace_period"]
            grace = whole_seconds(name, "stop_grace_period", value, self.note, 0, MAX_GRACE_PERIOD)
            if grace is not None:
                container["terminationGracePeriodSeconds"] = grace
        self.networks.ask(name, found, service)
        probe = liveness_probe(name, service.get("healthcheck"), restart, self.note)
        if probe is not None:
            container["livenessProbe"] = probe
        self._unmapped(name, service)
        return container

    def _image(self, name: str, service: Mapping[str, Any]) -> str:
        if "profiles" in service:
            raise Refused("profiles", "not started by a plain `docker-compose up`")
        if "extends" in service:
            raise Refused("extends", "not resolved: write the service out in full")
        image = service.get("image")
        if "build" in service:
            if not isinstance(image, str):
                raise Refused("build", "the agent builds no images, and there is no image")
            self.note(name, "build", "not mapped (the agent builds no images): image is used")
        if not isinstance(image, str) or not image:
            raise Refused("image", "is required")
        return image

    def _unmapped(self, name: str, service: Mapping[str, Any]) -> None:
        for field in service:
            if field in _HANDLED:
                continue
            if field in _UNMAPPED:
                self.note(name, field, f"not mapped ({_UNMAPPED[field]})")
            elif isinstance(field, str) and field.startswith("x-"):
                self.note(name, field, "ignored: an extension field")
            else:
                self.note(name, str(field), "not mapped (not a field this converter knows)")

    def _environment(self, name: str, service: Mapping[str, Any]) -> list[dict[str, str]]:
        values: dict[str, str] = {}
        env_files = service.get("env_file")
        if env_files is not None:
            if not isinstance(env_files, str | dict | list):
                raise Refused("env_file", "must be a path or a list of paths")
            for file in [env_files] if isinstance(env_files, str | dict) else env_files:
                path = file.get("path") if isinstance(file, dict) else file
                if not isinstance(path, str):
                    raise Refused("env_file", "must be a path or a list of paths")
                full = os.path.join(self.base, path)
                optional = isinstance(file, dict) and file.get("required") is False
                if optional and not os.path.isfile(full):
                    continue
                values.update(read_env_file(full))
        for key, value in _environment_pairs(service.get("environment")):
            field = f"environment.{key}"
            if value is None:
                if key in self.variables:
                    values[key] = self.variables[key]
                else:
                    values.pop(key, None)
                    self.note(name, field, "no value, and not in the environment: not set")
            elif isinstance(value, bool):
                self.note(name, field, "not mapped: a boolean (quote it to say which string)")
            elif isinstance(value, str | int | float):
                values[key] = str(value)
            else:
                raise Refused(field, "must be a string or a number")
        env = []
        for key, value in values.items():
            if not _ENV_KEY.fullmatch(key):
                self.note(name, f"environment.{key}", "not mapped: the key is not a C identifier")
                continue
            env.append({"key": key, "value": value})
        return env

    def _restart(self, name: str, restart: Any) -> str:
        if restart is None or restart is False:
            return NEVER
        if not isinstance(restart, str):
            raise Refused("restart", "must be no, always, on-failure or unless-stopped")
        word, _, retries = restart.partition(":")
        if word not in _RESTART or (retries and word != "on-failure"):
            raise Refused("restart", "must be no, always, on-failure or unless-stopped")
        if retries:
            self.note(name, "restart", "the retry limit is not mapped: restarted with back-off")
        if word == "unless-stopped":
            self.note(
                name,
                "restart",
                "unless-stopped is Always: the agent restarts a container stopped by hand",
            )
        return _RESTART[word]

    def _pull_policy(self, name: str, policy: Any) -> str | None:
        if policy is None:
            return None
        if isinstance(policy, str) and policy in _PULL:
            return _PULL[policy]
        self.note(name, "pull_policy", "not mapped (always, never, missing only): IfNotPresent")
        return None


def _command(service: Mapping[str, Any], field: str = "command") -> list[str]:
    """``command`` (or ``entrypoint``): a list, or a string split as a shell would."""
    command = service.get(field)
    if command is None:
        return []
    if isinstance(command, str):
        try:
            return shlex.split(command)
        except ValueError as exc:
            raise Refused(field, f"cannot be split as a shell would: {exc}") from None
    if isinstance(command, list) and all(
        isinstance(item, str | int | float) and not isinstance(item, bool) for item in command
    ):
        return [str(item) for item in command]
    raise Refused(field, "must be a string or a list of strings")


def _environment_pairs(given: Any) -> list[tuple[str, Any]]:
    """``environment`` as (key, value) pairs; a value of None is taken from the environment."""
    if isinstance(given, dict):
        return list(given.items())
    if given is None:
        return []
    if not isinstance(given, list):
        raise Refused("environment", "must be a list or a mapping")
    pairs: list[tuple[str, Any]] = []
    for item in given:
        if not isinstance(item, str):
            raise Refused("environment", "a list must hold KEY=VALUE strings")
        key, equals, value = item.partition("=")
        pairs.append((key, value if equals else None))
    return pairs
