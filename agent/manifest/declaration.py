"""Container declarations of konlet's form (``gce-container-declaration``), read into the
same :class:`~agent.manifest.models.Manifest` as a v1beta1 manifest.

A declaration is a mapping with ``spec`` (and no ``version``)::

    spec:
      containers:
        - name: web
          image: registry.example/web:1
          command: [/bin/web]          # the ENTRYPOINT (Kubernetes v1's meaning)
          args: [--port, "8080"]       # its arguments (the image's CMD replaced)
          env: [{name: MODE, value: prod}]
          volumeMounts: [{name: data, mountPath: /data, readOnly: false}]
          securityContext: {privileged: false}
          stdin: false
          tty: false
      volumes:
        - {name: data, hostPath: {path: /srv/data}}
        - {name: scratch, emptyDir: {medium: Memory}}
      restartPolicy: Always            # OnFailure, Never

The fields keep konlet's meaning: exactly one container, on the host's network (the
format has no ports), its logs in json-file bounded at 500 MB x 3; ``command`` without
``args`` drops the image's CMD. Every volume must be mounted and every mount declared;
an ``emptyDir`` is a tmpfs (``medium: Memory``, the only medium konlet takes);
``gcePersistentDisk`` is refused, naming the disk. Privileged containers and host paths
stay subject to the operator's options (:mod:`agent.sources.allowances`). Every problem is
reported at once, each at its field (``spec.containers[web].args[1]``). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.errors import FieldError, ManifestError
from agent.manifest.container_schema import (
    check_program,
    read_env_key,
    read_image,
    string_item,
)
from agent.manifest.fields import (
    MAX_ERRORS,
    FieldReader,
    TooManyErrors,
    each,
    is_rfc1035_name,
    item_paths,
    quote,
)
from agent.manifest.models import (
    ALWAYS,
    DECLARATION,
    KONLET_LOGS,
    RESTART_POLICIES,
    Container,
    EmptyDir,
    EnvVar,
    Manifest,
    Volume,
    VolumeMount,
    VolumeSource,
)
from agent.manifest.volume_schema import read_host_path, read_mount

__all__ = ["is_declaration", "parse_declaration"]

_TOP_FIELDS = frozenset({"spec"})
_SPEC_FIELDS = frozenset({"containers", "volumes", "restartPolicy"})
_CONTAINER_FIELDS = frozenset(
    {
        "name",
        "image",
        "command",
        "args",
        "env",
        "volumeMounts",
        "securityContext",
        "stdin",
        "tty",
    }
)
_ENV_FIELDS = frozenset({"name", "value"})
_MOUNT_FIELDS = frozenset({"name", "mountPath", "readOnly"})
_SECURITY_FIELDS = frozenset({"privileged"})
_VOLUME_FIELDS = frozenset({"name", "hostPath", "emptyDir", "gcePersistentDisk"})
_SOURCES = ("hostPath", "emptyDir", "gcePersistentDisk")
_HOST_PATH_FIELDS = frozenset({"path"})
_EMPTY_DIR_FIELDS = frozenset({"medium"})
_DISK_FIELDS = frozenset({"pdName", "fsType", "partition"})
_REFUSED_CONTAINER_FIELDS = {
    "ports": "a declaration's container is on the host's network and publishes no ports "
    "(write a v1beta1 manifest for published ports)",
}


def is_declaration(data: Any) -> bool:
    """Whether parsed data is a container declaration: a mapping with ``spec`` and without
    the ``version`` of a v1beta1 manifest."""
    return isinstance(data, dict) and "spec" in data and "version" not in data


def parse_declaration(data: Any, source: str = "<manifest>") -> Manifest:
    """Validate a declaration into a :class:`Manifest` (version :data:`DECLARATION`), or
    raise one :class:`ManifestError` with every problem."""
    reader = FieldReader()
    try:
        manifest = _declaration(reader, data, source)
    except TooManyErrors:
        more = FieldError("", f"more problems not listed: only the first {MAX_ERRORS} are")
        raise ManifestError(source, [*reader.errors[:MAX_ERRORS], more]) from None
    if manifest is None or reader.errors:
        raise ManifestError(source, reader.errors)
    return manifest


def _declaration(reader: FieldReader, data: Any, source: str) -> Manifest | None:
    top = reader.mapping(data, "", _TOP_FIELDS)
    if top is None:
        return None
    spec = reader.mapping(top["spec"], "spec", _SPEC_FIELDS)
    if spec is None:
        return None
    restart = reader.choice(spec, "restartPolicy", "spec", RESTART_POLICIES, ALWAYS)
    volumes = _volumes(reader, spec)
    items = reader.items(spec, "containers", "spec")
    if len(items) != 1:
        reader.error(
            "spec.containers",
            f"must hold exactly one container (konlet runs one), got {len(items)}",
        )
    paths = item_paths(items, "spec.containers", _name_label)
    containers = [
        _container(reader, raw, path, volumes, restart)
        for raw, path in zip(items, paths, strict=True)
    ]
    _check_every_volume_mounted(reader, volumes, items)
    if reader.errors or len(containers) != 1 or containers[0] is None:
        return None
    return Manifest(
        version=DECLARATION,
        containers=(containers[0],),
        volumes=tuple(Volume(name, found) for name, (_, found) in volumes.items()),
        source=source,
    )


def _name_label(raw: Any) -> str | None:
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) and is_rfc1035_name(name) else None


def _volumes(reader: FieldReader, spec: Mapping[str, Any]) -> dict[str, tuple[int, VolumeSource]]:
    """The declared volumes by name: (index, source); a volume with a bad source is still
    declared, so that its mounts are not reported as undeclared too."""
    found: dict[str, tuple[int, VolumeSource]] = {}
    for index, raw in enumerate(reader.items(spec, "volumes", "spec")):
        path = f"spec.volumes[{index}]"
        data = reader.mapping(raw, path, _VOLUME_FIELDS)
        if data is None:
            continue
        name = reader.name(data, "name", path)
        source = _source(reader, data, path)
        if name is None:
            continue
        if name in found:
            reader.error(f"{path}.name", f"volume name {quote(name)} is not unique")
            continue
        found[name] = (index, source)
    return found


def _source(reader: FieldReader, data: Mapping[str, Any], path: str) -> VolumeSource:
    given = [key for key in _SOURCES if key in data]
    if len(given) != 1:
        reader.error(
            path,
            f"must have exactly one of hostPath, emptyDir, gcePersistentDisk, got {len(given)}",
        )
        return None
    (key,) = given
    where = f"{path}.{key}"
    if key == "hostPath":
        host = reader.mapping(data[key], where, _HOST_PATH_FIELDS)
        return read_host_path(reader, host, where) if host is not None else None
    if key == "emptyDir":
        empty = reader.mapping(data[key] if data[key] is not None else {}, where, _EMPTY_DIR_FIELDS)
        if empty is None:
            return None
        medium = empty.get("medium", "")
        if medium != "Memory":
            shown = quote(medium) if isinstance(medium, str) else repr(medium)
            reader.error(
                f"{where}.medium",
                f"must be Memory, got {shown}: an emptyDir is a tmpfs, as konlet makes it "
                "(for files kept on disk, use hostPath)",
            )
            return None
        return EmptyDir("Memory")
    disk = reader.mapping(data[key], where, _DISK_FIELDS)
    name = disk.get("pdName") if disk is not None else None
    shown = quote(name) if isinstance(name, str) and name else "(no pdName)"
    reader.error(
        where,
        f"the GCE persistent disk {shown} cannot be attached by container-agent: there is no "
        "GCE disk to attach on this host; mount the disk on the host and use hostPath",
    )
    return None


def _container(
    reader: FieldReader,
    raw: Any,
    path: str,
    volumes: Mapping[str, tuple[int, VolumeSource]],
    restart: str,
) -> Container | None:
    before = len(reader.errors)
    data = reader.mapping(raw, path, _CONTAINER_FIELDS, refused=_REFUSED_CONTAINER_FIELDS)
    if data is None:
        return None
    name = reader.name(data, "name", path)
    image = read_image(reader, data, path)
    command = tuple(each(reader, data, "command", path, string_item).values())
    check_program(reader, command, f"{path}.command")
    args = tuple(each(reader, data, "args", path, string_item).values())
    env = each(reader, data, "env", path, _env, label=_name_label_env)
    if len(env) > 1:
        reader.unique([(f"{path}.env[{i}].name", e.key) for i, e in env.items()], "env name")
    mounts = each(reader, data, "volumeMounts", path, _mount)
    if len(mounts) > 1:
        reader.unique(
            [(f"{path}.volumeMounts[{i}].mountPath", m.path) for i, m in mounts.items()],
            "mount path",
        )
    privileged = False
    if "securityContext" in data:
        where = f"{path}.securityContext"
        security = reader.mapping(data["securityContext"], where, _SECURITY_FIELDS)
        if security is not None and "privileged" in security:
            privileged = bool(reader.typed(security["privileged"], bool, f"{where}.privileged"))
    stdin, tty = (
        bool(reader.typed(data[key], bool, f"{path}.{key}")) if key in data else False
        for key in ("stdin", "tty")
    )
    found = _declared(reader, path, mounts, volumes)
    if len(reader.errors) > before or name is None or image is None:
        return None
    return Container(
        name=name,
        image=image,
        entrypoint=command or None,
        command=args,
        env=tuple(env.values()),
        volume_mounts=tuple(found),
        restart_policy=restart,
        privileged=privileged,
        host_network=True,
        stdin=stdin,
        tty=tty,
        log_limits=KONLET_LOGS,
    )


def _env(reader: FieldReader, raw: Any, path: str) -> EnvVar | None:
    """``{name, value}``; a value left out is empty, as in Kubernetes."""
    data = reader.mapping(raw, path, _ENV_FIELDS)
    if data is None:
        return None
    key = read_env_key(reader, data, "name", path)
    value = reader.text(data, "value", path, required=False, secret=True) if "value" in data else ""
    if key is None or value is None:
        return None
    return EnvVar(key, value)


def _name_label_env(raw: Any) -> str | None:
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) and name.isidentifier() and name.isascii() else None


def _mount(reader: FieldReader, raw: Any, path: str) -> VolumeMount | None:
    data = reader.mapping(raw, path, _MOUNT_FIELDS)
    return None if data is None else read_mount(reader, data, path, "mountPath")


def _declared(
    reader: FieldReader,
    path: str,
    mounts: Mapping[int, VolumeMount],
    volumes: Mapping[str, tuple[int, VolumeSource]],
) -> list[VolumeMount]:
    """Each mount with its volume's source; a mount of no declared volume is an error, and
    so is a second mount of a tmpfs (each mount of one would be a tmpfs of its own, where
    konlet shared one)."""
    found: list[VolumeMount] = []
    tmpfs: dict[str, int] = {}
    for i, mount in mounts.items():
        where = f"{path}.volumeMounts[{i}].name"
        if mount.name not in volumes:
            reader.error(where, f"names no volume of spec.volumes: {quote(mount.name)}")
            continue
        source = volumes[mount.name][1]
        if isinstance(source, EmptyDir):
            if mount.name in tmpfs:
                reader.error(
                    where,
                    f"emptyDir volume {quote(mount.name)} is mounted already at "
                    f"{path}.volumeMounts[{tmpfs[mount.name]}]: each mount of a tmpfs would "
                    "be a tmpfs of its own, so one mount is allowed",
                )
                continue
            tmpfs[mount.name] = i
        found.append(VolumeMount(mount.name, mount.path, mount.read_only, source))
    return found


def _check_every_volume_mounted(
    reader: FieldReader, volumes: Mapping[str, tuple[int, VolumeSource]], items: list[Any]
) -> None:
    """konlet refuses a volume that no container mounts; so does the agent."""
    mounted: set[str] = set()
    for raw in items:
        mounts = raw.get("volumeMounts") if isinstance(raw, dict) else None
        for mount in mounts if isinstance(mounts, list) else []:
            if isinstance(mount, dict) and isinstance(mount.get("name"), str):
                mounted.add(mount["name"])
    for name, (index, _) in volumes.items():
        if name not in mounted:
            reader.error(
                f"spec.volumes[{index}]",
                f"volume {quote(name)} is mounted by no container (every volume of a "
                "declaration must be mounted, as konlet requires)",
            )
