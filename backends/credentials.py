"""Registry credentials from the Docker config file, the way ``docker login`` leaves them.

``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``: inline ``auths`` entries,
and credential helpers (``credHelpers`` per registry, ``credsStore`` for all). A
credential's password never appears in its ``repr``, and so never in a log.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from typing import Any

import attrs

from agent.manifest.reference import DOCKER_HUB, registry_of

__all__ = ["RegistryAuth", "docker_config_path", "lookup"]

_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")


@attrs.frozen
class RegistryAuth:
    registry: str
    username: str
    password: str = attrs.field(repr=False)

    def as_auth_config(self) -> dict[str, str]:
        """The ``auth_config`` mapping the Docker SDK and podman-py take."""
        return {
            "username": self.username,
            "password": self.password,
            "serveraddress": self.registry,
        }


def docker_config_path() -> str:
    directory = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(directory, "config.json")


def lookup(image: str, config_path: str | None = None) -> RegistryAuth | None:
    """The credentials for the registry of ``image``, or None when there are none.

    A config file that is missing, unreadable or malformed gives no credentials.
    """
    registry = registry_of(image)
    try:
        with open(config_path or docker_config_path(), encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    keys = (
        _HUB_KEYS
        if registry == DOCKER_HUB
        else (registry, f"https://{registry}", f"http://{registry}")
    )
    helpers = config.get("credHelpers") or {}
    for key in keys:
        if isinstance(helpers, dict) and isinstance(helpers.get(key), str):
            return _from_helper(helpers[key], key, registry)
    auths = config.get("auths") or {}
    for key in keys:
        entry = auths.get(key) if isinstance(auths, dict) else None
        if isinstance(entry, dict):
            found = _from_entry(entry, registry)
            if found:
                return found
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        return _from_helper(store, keys[0], registry)
    return None


def _from_entry(entry: dict[str, Any], registry: str) -> RegistryAuth | None:
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            user, colon, password = (
                base64.b64decode(entry["auth"], validate=True).decode("utf-8").partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return None
        return RegistryAuth(registry, user, password) if colon else None
    if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
        return RegistryAuth(registry, entry["username"], entry["password"])
    return None


def _from_helper(helper: str, key: str, registry: str) -> RegistryAuth | None:
    """Ask ``docker-credential-<helper> get``, as the docker CLI does."""
    try:
        done = subprocess.run(
            [f"docker-credential-{helper}", "get"],
            input=key,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        answer = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    if not isinstance(answer, dict) or not isinstance(answer.get("Secret"), str):
        return None
    return RegistryAuth(registry, str(answer.get("Username", "")), answer["Secret"])
