"""Compose's volumes as the manifest's: the top-level named volumes (a directory under the
volumes root here), a service's ``volumes`` (named, bind mounts resolved by
:mod:`agent.convert.compose_binds`, anonymous) and ``tmpfs`` (emptyDir volumes)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from agent.convert.compose_binds import NotBound, bind_options, resolve_bind
from agent.convert.compose_common import ComposeError, Refused, label
from agent.convert.notes import NoteTaker

__all__ = ["ComposeVolumes"]

_LONG_FIELDS = ("type", "source", "target", "read_only")


class ComposeVolumes:
    """The manifest's volumes, as the services of one file mount them: ``volumes`` by the
    manifest's name (those no container mounts are left out by :meth:`used`)."""

    def __init__(
        self, source: str, base: str, home: str | None, allowed: tuple[str, ...], note: NoteTaker
    ) -> None:
        self.source = source
        self.base = base
        self.home = home
        self.allowed = allowed
        self.note = note
        self.volumes: dict[str, dict[str, Any]] = {}  # manifest volume name -> volume
        self.named: dict[str, str] = {}  # compose volume name -> manifest volume name
        self.host_paths: dict[str, str] = {}  # host path -> manifest volume name

    def snapshot(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """What :meth:`restore` puts back when a service is not converted after all."""
        return dict(self.volumes), dict(self.host_paths)

    def restore(self, snapshot: tuple[dict[str, dict[str, Any]], dict[str, str]]) -> None:
        self.volumes, self.host_paths = dict(snapshot[0]), dict(snapshot[1])

    def used(self, mounted: set[str]) -> list[dict[str, Any]]:
        """The volumes whose names are in ``mounted``, in the order they were made."""
        return [volume for name, volume in self.volumes.items() if name in mounted]

    def declare(self, declared: Any) -> None:
        """The file's top-level ``volumes``."""
        if declared is None:
            return
        if not isinstance(declared, dict):
            raise ComposeError(f"{self.source}: volumes: must be a mapping of volumes")
        for name, options in declared.items():
            found = label(str(name))
            if found is None or found in self.volumes:
                self.note("volumes", str(name), "not mapped: cannot be an RFC 1035 name")
                continue
            if found != name:
                self.note("volumes", str(name), f"renamed {found} (an RFC 1035 name)")
            self.named[str(name)] = found
            self.volumes[found] = {"name": found}
            self.note(
                "volumes",
                str(name),
                f"an engine volume in Compose; here the host directory <volumes-root>/{found}, "
                "shared by every container that mounts it, and not filled from the image",
            )
            if options is not None and not isinstance(options, dict):
                raise ComposeError(f"{self.source}: volumes.{name}: must be a mapping")
            for option in options or {}:
                self.note("volumes", f"{name}.{option}", "not mapped (no volume drivers)")

    def mounts(self, name: str, service: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The ``volumeMounts`` of the service ``name``: its ``volumes`` and ``tmpfs``."""
        mounts: list[dict[str, Any]] = []
        volumes = service.get("volumes") or []
        if not isinstance(volumes, list):
            raise Refused("volumes", "must be a list")
        for i, volume in enumerate(volumes):
            field = f"volumes[{i}]"
            if isinstance(volume, str):
                mount = self._short_volume(name, field, volume)
            elif isinstance(volume, dict):
                mount = self._long_volume(name, field, volume)
            else:
                self.note(name, field, "not mapped: not a volume")
                mount = None
            if mount is not None:
                mounts.append(mount)
        tmpfs = service.get("tmpfs")
        if tmpfs is not None and not isinstance(tmpfs, str | list):
            raise Refused("tmpfs", "must be a path or a list of paths")
        for i, target in enumerate([tmpfs] if isinstance(tmpfs, str) else tmpfs or []):
            field = f"tmpfs[{i}]" if isinstance(tmpfs, list) else "tmpfs"
            mounts.append(self._tmpfs(name, field, str(target)))
        return mounts

    def _tmpfs(self, name: str, field: str, target: str) -> dict[str, Any]:
        path, _, options = target.partition(":")
        self.note(name, field, "an emptyDir volume: on the engine's disk, not in memory")
        if options:
            self.note(name, field, "its options are not mapped")
        return {"name": self._scratch(name), "path": path}

    def _short_volume(self, name: str, field: str, spec: str) -> dict[str, Any] | None:
        parts = spec.split(":")
        if len(parts) == 1:
            self.note(
                name,
                field,
                "an anonymous volume: an emptyDir here, removed with the container (Compose "
                "keeps it when it recreates the container)",
            )
            return {"name": self._scratch(name), "path": parts[0]}
        if len(parts) > 3:
            self.note(name, field, "not mapped: not SOURCE:TARGET[:MODE]")
            return None
        source, target = parts[0], parts[1]
        modes = parts[2].split(",") if len(parts) == 3 else []
        for mode in modes:
            if mode not in ("ro", "rw", "nocopy"):
                self.note(name, field, f"mode {mode} not mapped")
        if source.startswith((".", "/", "~")):
            volume = self._host_volume(name, field, source)
        else:
            volume = self._named_volume(name, field, source)
        return _mount(volume, target, "ro" in modes)

    def _long_volume(self, name: str, field: str, spec: Mapping[str, Any]) -> dict[str, Any] | None:
        kind, source, target = spec.get("type", "volume"), spec.get("source"), spec.get("target")
        if not isinstance(target, str):
            self.note(name, field, "not mapped: no target")
            return None
        for key in spec:
            if key == "bind" and kind == "bind":
                for sub, why in bind_options(spec[key]):
                    self.note(name, f"{field}.bind{sub}", why)
            elif key not in _LONG_FIELDS:
                self.note(name, f"{field}.{key}", "not mapped")
        if kind == "tmpfs":
            return self._tmpfs(name, field, target)
        if kind == "volume" and not source:
            return self._short_volume(name, field, target)
        if kind not in ("volume", "bind") or not isinstance(source, str):
            self.note(name, field, f"not mapped: a {kind} mount")
            return None
        volume = (
            self._host_volume(name, field, source)
            if kind == "bind"
            else self._named_volume(name, field, source)
        )
        return _mount(volume, target, spec.get("read_only") is True)

    def _named_volume(self, name: str, field: str, source: str) -> str:
        if source not in self.named:
            raise ComposeError(
                f"{self.source}: services.{name}.{field}: named volume {source} is not declared "
                "in the top-level volumes (Compose refuses it too)"
            )
        return self.named[source]

    def _host_volume(self, service: str, field: str, source: str) -> str | None:
        try:
            bind = resolve_bind(source, self.base, self.home, self.allowed)
        except NotBound as exc:
            self.note(service, field, str(exc))
            return None
        for why in bind.notes:
            self.note(service, field, why)
        host = bind.path
        if host in self.host_paths:
            return self.host_paths[host]
        stem = label(os.path.basename(host) or "root") or "dir"
        name = self._unique(f"host-{stem}"[:50])
        self.host_paths[host] = name
        self.volumes[name] = {"name": name, "source": {"hostDir": {"path": host}}}
        return name

    def _scratch(self, service: str) -> str:
        name = self._unique(f"{label(service) or 'service'}-scratch"[:50])
        self.volumes[name] = {"name": name, "source": {"emptyDir": {}}}
        return name

    def _unique(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self.volumes:
            n += 1
            candidate = f"{name}-{n}"
        return candidate


def _mount(volume: str | None, target: str, read_only: bool) -> dict[str, Any] | None:
    if volume is None:
        return None
    mount: dict[str, Any] = {"name": volume, "path": target}
    if read_only:
        mount["readOnly"] = True
    return mount
