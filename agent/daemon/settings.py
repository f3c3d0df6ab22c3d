"""How one agent runs: every setting with its default, its check and its help, in one place.

The command line makes its options from these fields (``--volumes-root`` is
``volumes_root``), so a library caller gets the same defaults and the same
checks as ``agent`` does.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import attrs

from agent.errors import SettingsError
from agent.manifest.fields import MAX_PORT, is_rfc1035_name
from agent.manifest.models import DEFAULT_LOGS, LogLimits
from agent.manifest.strategy import DEFAULT_STRATEGY, ON_FAILURE, STRATEGY_TYPES, UpdateStrategy
from agent.planning.backoff import CRASH_LOOP, Backoff, BackoffError
from agent.sources.allowances import Allowances
from agent.sources.urls import UrlOptions, read_token

if TYPE_CHECKING:
    from agent.planning.planner import PlanOptions

__all__ = [
    "MAX_NAMESPACE_LENGTH",
    "Settings",
    "default_state_dir",
    "help_of",
    "listen_address",
]

MAX_NAMESPACE_LENGTH = 40


def default_state_dir() -> str:
    """Root's agent keeps its state in /var/lib; a user's (rootless engines) in its home."""
    if os.geteuid() == 0:
        return "/var/lib/container-agent"
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "container-agent")


def _namespace(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not is_rfc1035_name(value) or len(value) > MAX_NAMESPACE_LENGTH:
        raise SettingsError(
            attribute.name,
            f"must be an RFC 1035 name of {MAX_NAMESPACE_LENGTH} characters at most: {value!r}",
        )


def _absolute(value: Any) -> Any:
    """A path made absolute; anything else is left for the check to refuse."""
    return os.path.abspath(value) if isinstance(value, str) else value


def _volumes_root(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise SettingsError(attribute.name, f"must be a path, got {value!r}")
    # The root becomes part of every --mount option: a comma or a quote would end it.
    if any(c in value for c in ',"') or not value.isprintable():
        raise SettingsError(
            attribute.name,
            f"must not hold a comma, a quote or a control character: {value!r}",
        )


def _prefixes(value: Any) -> Any:
    """Host path prefixes as a tuple of absolute paths (None: none); anything else is left
    for the check to refuse."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(_absolute(item) for item in value)
    return value


def _host_prefixes(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(isinstance(item, str) for item in value):
        raise SettingsError(attribute.name, f"must be a list of paths, got {value!r}")
    for prefix in value:
        if not prefix or any(c in prefix for c in ',"') or not prefix.isprintable():
            raise SettingsError(
                attribute.name,
                f"must not hold a comma, a quote or a control character: {prefix!r}",
            )


def _seconds(minimum: float, strict: bool) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(attribute.name, f"must be a number of seconds, got {value!r}")
        if value < minimum or (strict and value == minimum):
            bound = "more than" if strict else "at least"
            raise SettingsError(attribute.name, f"must be {bound} {minimum:g}, got {value:g}")

    return check


def _one_of(choices: tuple[str, ...]) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[str], value: Any) -> None:
        if value not in choices:
            raise SettingsError(
                attribute.name, f"must be one of {', '.join(choices)}, got {value!r}"
            )

    return check


def _count(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingsError(attribute.name, f"must be a whole number, 1 or more, got {value!r}")


def _mebibytes(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SettingsError(
            attribute.name, f"must be a whole number of MiB, 0 or more, got {value!r}"
        )


def _whole(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(attribute.name, f"must be a whole number of seconds, got {value!r}")


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[IPV6]:PORT``, ``:PORT`` or ``PORT`` as (host, port); the host is
    127.0.0.1 unless one is given. Raises ValueError with what is wrong."""
    host, colon, port = text.rpartition(":")
    if not colon:
        host, port = "", text
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host or "[" in host or "]" in host:
        raise ValueError("an IPv6 address must be in brackets: [::1]:PORT")
    if any(c.isspace() or c in "/@" for c in host):
        raise ValueError(f"not a host: {host!r}")
    if not port.isdigit() or not 0 <= int(port) <= MAX_PORT:
        raise ValueError(f"the port must be a number from 0 to {MAX_PORT}, got {port!r}")
    return host or "127.0.0.1", int(port)


def _optional_path(value: Any) -> Any:
    return None if value is None else _absolute(value)


def _path_or_none(instance: Any, attribute: attrs.Attribute[str | None], value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise SettingsError(attribute.name, f"must be a path, got {value!r}")


def _hosts(value: Any) -> Any:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(item.lower() if isinstance(item, str) else item for item in value)
    return value


def _host_names(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(host, str) and host and not any(c in host for c in "/:@ ") for host in value
    ):
        raise SettingsError(attribute.name, f"must be a list of host names, got {value!r}")


def _tuple(value: Any) -> Any:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else value


def _paths(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(isinstance(p, str) and p for p in value):
        raise SettingsError(attribute.name, f"must be a list of paths, got {value!r}")


def _flag(instance: Any, attribute: attrs.Attribute[bool], value: Any) -> None:
    if not isinstance(value, bool):
        raise SettingsError(attribute.name, f"must be true or false, got {value!r}")


def _listen_address(instance: Any, attribute: attrs.Attribute[str | None], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise SettingsError(attribute.name, f"must be HOST:PORT, :PORT or PORT, got {value!r}")
    try:
        listen_address(value)
    except ValueError as exc:
        raise SettingsError(
            attribute.name, f"must be HOST:PORT, :PORT or PORT ({exc}): {value!r}"
        ) from None


def _setting(default: Any, help: str, *validators: Any, converter: Any = None) -> Any:
    return attrs.field(
        default=default,
        validator=list(validators),
        converter=converter,
        metadata={"help": help},
    )


@attrs.frozen
class Settings:
    """How one agent runs its containers. Every field is checked when it is made."""

    namespace: str = _setting(
        "container-agent", "label value that marks this agent's containers", _namespace
    )
    volumes_root: str = _setting(
        "/export",
        "host directory holding the volumes: volume x is DIR/x",
        _volumes_root,
        converter=_absolute,
    )
    stop_timeout: int = _setting(
        10,
        "seconds a container gets to stop before it is killed",
        _whole,
        _seconds(0, strict=False),
    )
    log_max_size: int = _setting(
        DEFAULT_LOGS.max_size_mb,
        "the size in MiB at which a container's log is rotated, unless its manifest bounds "
        "it (0: not bounded, the engine's own default logging)",
        _mebibytes,
    )
    log_max_files: int = _setting(
        DEFAULT_LOGS.max_files,
        "how many log files a container keeps at most, the live one included (Docker's "
        "json-file; Podman's k8s-file keeps one file, cut back at the size)",
        _count,
    )
    parallel: int = _setting(
        32, "how many actions run at once (1: one after another, in the plan's order)", _count
    )
    # Each back-off number is a number here; whether they make a back-off is Backoff's rule.
    backoff_initial: float = _setting(
        CRASH_LOOP.initial,
        "the back-off before the second restart of a crash loop (0: none)",
        _seconds(0, strict=False),
    )
    backoff_max: float = _setting(CRASH_LOOP.max, "the longest back-off", _seconds(0, False))
    backoff_reset: float = _setting(
        CRASH_LOOP.reset,
        "seconds of running after which a crash starts a fresh back-off",
        _seconds(0, strict=False),
    )
    state_dir: str | None = _setting(
        None,
        "where the restart counts of the crash-loop back-off and the namespace lock are kept "
        "(a library's default: none, the counts are kept in memory)",
    )
    reload: float = _setting(
        30.0,
        "seconds between the daemon's periodic passes, the safety net of file watching and "
        "engine events",
        _seconds(0, True),
    )
    pull_interval: float = _setting(
        300.0,
        "seconds between pulls of imagePullPolicy: Always images by the daemon",
        _seconds(0, strict=False),
    )
    metrics_addr: str | None = _setting(
        None,
        "serve Prometheus metrics on http://HOST:PORT/metrics and the daemon's health on "
        "/healthz; PORT or :PORT listens on 127.0.0.1",
        _listen_address,
    )
    no_network: bool = _setting(
        False,
        "run every container alone on the engine's default network, as before: no namespace "
        "network is made or joined, and containers do not reach each other by name",
        _flag,
    )
    update_strategy: str = _setting(
        DEFAULT_STRATEGY.type,
        "how a manifest without updateStrategy replaces changed containers: RollingUpdate "
        "(health-gated, with rollback) or Recreate (remove, then start)",
        _one_of(STRATEGY_TYPES),
    )
    max_unavailable: int = _setting(
        DEFAULT_STRATEGY.max_unavailable,
        "(RollingUpdate) how many containers of a manifest are replaced at once",
        _count,
    )
    min_ready_seconds: int = _setting(
        DEFAULT_STRATEGY.min_ready_seconds,
        "(RollingUpdate) whole seconds a new container must run (and pass its liveness probe) "
        "before it counts as good and the next one is replaced",
        _whole,
        _seconds(0, strict=False),
    )
    on_failure: str = _setting(
        DEFAULT_STRATEGY.on_failure,
        "(RollingUpdate) what a failed rollout does: Rollback (the previous container runs "
        "again) or Pause (both are left as they are)",
        _one_of(ON_FAILURE),
    )
    allow_host_path: tuple[str, ...] = _setting(
        (),
        "a host directory under which hostDir volumes may be bound (repeatable; by default "
        "no hostDir is allowed)",
        _host_prefixes,
        converter=_prefixes,
    )
    allow_privileged: bool = _setting(
        False,
        "run containers that ask for privileged mode (every device and capability of the "
        "host; by default they are refused)",
        _flag,
    )
    allow_host_network: bool = _setting(
        False,
        "run v1beta1 containers that ask for hostNetwork (a container declaration's always "
        "runs on the host's network; by default v1beta1 ones are refused)",
        _flag,
    )

    url_interval: float = _setting(
        30.0,
        "seconds between the daemon's fetches of a URL source (while it fails, doubling up to 300)",
        _seconds(0, strict=True),
    )
    url_connect_timeout: float = _setting(
        5.0, "seconds to connect to a URL source's server", _seconds(0, strict=True)
    )
    url_read_timeout: float = _setting(
        30.0,
        "seconds a URL source's server gets to answer, and to send the whole body",
        _seconds(0, strict=True),
    )
    ca_file: str | None = _setting(
        None,
        "a CA bundle (PEM) that URL sources' certificates are checked against (default: the "
        "system's trust store)",
        _path_or_none,
        converter=_optional_path,
    )
    url_token_file: str | None = _setting(
        None,
        "a file holding a token sent to URL sources as 'Authorization: Bearer' (to their own "
        "origin only)",
        _path_or_none,
        converter=_optional_path,
    )
    allow_http: bool = _setting(
        False, "fetch http:// URL sources, unencrypted (by default only https:// is)", _flag
    )
    allow_redirect_host: tuple[str, ...] = _setting(
        (),
        "a host that URL sources may be redirected to (repeatable; by default only the same "
        "scheme, host and port)",
        _host_names,
        converter=_hosts,
    )

    signature_key: tuple[str, ...] = _setting(
        (),
        "a file of OpenSSH public keys; when given, a URL or metadata source's body is used "
        "only when signed by one of them (ssh-keygen -Y sign -n container-agent; repeatable, "
        "so that a rotated key overlaps)",
        _paths,
        converter=_tuple,
    )

    def __attrs_post_init__(self) -> None:
        try:
            self.backoff  # noqa: B018 -- made once to check it
        except BackoffError as exc:
            raise SettingsError(f"backoff_{exc.field}", exc.problem) from None

    @property
    def log_limits(self) -> LogLimits | None:
        """The logs every container gets unless its manifest says otherwise; None: unbounded."""
        return LogLimits(self.log_max_size, self.log_max_files) if self.log_max_size else None

    @property
    def allowances(self) -> Allowances:
        """What these settings allow a manifest to ask for (:mod:`agent.sources.allowances`)."""
        return Allowances(self.allow_host_path, self.allow_privileged, self.allow_host_network)

    @property
    def backoff(self) -> Backoff:
        """The crash-loop back-off these settings give."""
        return Backoff(self.backoff_initial, self.backoff_max, self.backoff_reset)

    @property
    def strategy(self) -> UpdateStrategy:
        """The update strategy of a manifest that says none."""
        return UpdateStrategy(
            self.update_strategy, self.max_unavailable, self.min_ready_seconds, self.on_failure
        )

    @property
    def rollouts_path(self) -> str | None:
        """The file of this namespace's rollouts under way and failed revisions."""
        if self.state_dir is None:
            return None
        return os.path.join(self.state_dir, f"{self.namespace}.rollouts.json")

    def plan_options(self, allow_removals: bool = True) -> PlanOptions:
        """The planner's options these settings give."""
        from agent.planning.planner import PlanOptions  # the planner loads only to plan

        return PlanOptions(self.namespace, allow_removals, self.backoff, self.network)

    @property
    def network_name(self) -> str:
        """The name of the namespace's network (``<namespace>-net``), on or off."""
        from agent.planning.network import network_name  # the planning layer loads only to plan

        return network_name(self.namespace)

    @property
    def network(self) -> str | None:
        """The namespace's network the containers are made on; None with ``no_network``."""
        return None if self.no_network else self.network_name

    @property
    def updates_path(self) -> str | None:
        """The file of the containers updated in place, or None to keep them in memory."""
        if self.state_dir is None:
            return None
        return os.path.join(self.state_dir, f"{self.namespace}.updates.json")

    @property
    def restarts_path(self) -> str | None:
        """The file of this namespace's restart counts, or None to keep them in memory."""
        if self.state_dir is None:
            return None
        return os.path.join(self.state_dir, f"{self.namespace}.restarts.json")

    @property
    def serials_path(self) -> str | None:
        """The file of the serials of signed manifests accepted (written by ``agent run``)."""
        if self.state_dir is None:
            return None
        return os.path.join(self.state_dir, f"{self.namespace}.serials.json")

    @property
    def health_path(self) -> str | None:
        """The file of this namespace's liveness records (written by ``agent run``)."""
        if self.state_dir is None:
            return None
        return os.path.join(self.state_dir, f"{self.namespace}.health.json")

    def url_options(self) -> UrlOptions:
        """How URL sources are fetched; reads the token file and the signature keys
        (SettingsError if it cannot)."""
        token = None if self.url_token_file is None else read_token(self.url_token_file)
        keys: tuple[str, ...] = ()
        if self.signature_key:  # ssh-keygen's module loads only when there are keys to check
            from agent.sources.signatures import read_signature_keys

            keys = read_signature_keys(self.signature_key)
        return UrlOptions(
            connect_timeout=self.url_connect_timeout,
            read_timeout=self.url_read_timeout,
            ca_file=self.ca_file,
            allow_http=self.allow_http,
            allow_redirect_hosts=self.allow_redirect_host,
            token=token,
            signature_keys=keys,
        )

    @property
    def metrics_listen(self) -> tuple[str, int] | None:
        """Where metrics are served, (host, port), or None when they are not."""
        return None if self.metrics_addr is None else listen_address(self.metrics_addr)


def help_of(name: str) -> str:
    """The help text of a setting, with its default."""
    field = attrs.fields_dict(Settings)[name]
    default = field.default
    shown = f"{default:g}" if isinstance(default, float) else "none" if default is None else default
    return f"{field.metadata['help']} (default: {shown})"
