"""The ``agent`` command line: plan, apply, run, validate, status, down, logs, convert.

Exit codes: 0 success; 1 runtime failure (engine unreachable, an action
failed, no container of the name given to ``logs``); 2 invalid manifest or
usage; 3 (``plan --detailed-exitcode``) changes are pending.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import NoReturn

import attrs

from agent import __version__
from agent.daemon.reconcile import converge, converge_through, plan_against, plan_for
from agent.daemon.settings import Settings, default_state_dir, help_of
from agent.engine.logs import parse_since, parse_tail, write_logs
from agent.errors import AgentError, ManifestError, SettingsError
from agent.output.progress import ApplyProgress
from agent.output.render import (
    apply_summary,
    apply_to_dict,
    render_json,
    render_status,
    render_text,
    status_to_dict,
    to_json,
)
from agent.output.status import statuses
from agent.planning.actions import Remove, Rollback
from agent.sources.allowances import check_desired
from agent.sources.load import DesiredSet, load_sources
from agent.state.health_file import HealthFile
from agent.state.lock import namespace_lock
from agent.state.restarts import RestartLedger
from agent.state.rollouts import RolloutBook
from backends.base import Backend, BackendOptions, load_backend
from backends.errors import BackendError

__all__ = ["EXIT_CHANGES", "EXIT_FAILURE", "EXIT_INVALID", "EXIT_OK", "EXIT_PARTIAL", "main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID = 2
EXIT_CHANGES = 3
EXIT_PARTIAL = 3
"""``convert --from compose``: the manifest was printed, and something of the file left out."""
COMMANDS = ("plan", "apply", "run", "validate", "status", "down", "logs", "convert")
CONVERT_TO = ("kubernetes", "v1beta1", "declaration")
CONVERT_FROM = ("compose",)
SYSLOG_FACILITIES = ("daemon", "user", *(f"local{i}" for i in range(8)))
SYSLOG_SOCKET = "/dev/log"
"""The local syslog socket; without it, syslog lines go to UDP port 514 of localhost."""

log = logging.getLogger("agent")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(_with_command_first(list(sys.argv[1:] if argv is None else argv)))
    try:
        args.settings = _settings(args)
        args.urls = args.settings.url_options()  # reads the token file, once
    except SettingsError as exc:
        parser.error(f"{exc.option} {exc.problem}")
    _setup_logging(
        args.verbose,
        args.syslog,
        default=logging.INFO if args.command == "run" else logging.WARNING,
        log_format=args.log_format,
        facility=args.syslog_facility,
    )
    try:
        return int(args.handler(args))
    except ManifestError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    except BackendError as exc:
        print(f"agent: engine error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except AgentError as exc:
        print(f"agent: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE


def _common(
    kind: type[argparse.ArgumentParser] = argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    common = kind(add_help=False)
    engine = common.add_argument_group("engine")
    engine.add_argument(
        "--backend",
        default="auto",
        help="docker, podman, docker-cli, or auto: the first engine that answers (default: auto)",
    )
    engine.add_argument(
        "-H",
        "--host",
        help="engine address, e.g. unix:///run/docker.sock (default: DOCKER_HOST, else the "
        "engine's default)",
    )
    engine.add_argument(
        "--docker-cmd",
        default="docker",
        help="the binary of the docker-cli backend (default: docker)",
    )
    agent = common.add_argument_group("agent")
    _option(agent, "namespace")
    _option(agent, "volumes_root")
    _option(agent, "stop_timeout", int)
    _option(agent, "parallel", int)
    _option(agent, "allow_host_path", metavar="PREFIX")
    _option(agent, "allow_privileged")
    _option(agent, "allow_host_network")
    _option(agent, "no_network")
    _option(agent, "update_strategy")
    _option(agent, "max_unavailable", int)
    _option(agent, "min_ready_seconds", int)
    _option(agent, "on_failure")
    agent.add_argument(
        "--state-dir",
        default=default_state_dir(),
        help="where the restart counts of the crash-loop back-off and the namespace lock are "
        "kept (default: /var/lib/container-agent as root, else "
        "$XDG_STATE_HOME/container-agent or ~/.local/state/container-agent)",
    )
    for name in ("backoff_initial", "backoff_max", "backoff_reset"):
        _option(agent, name, float)
    agent.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (repeatable)"
    )
    agent.add_argument("--syslog", action="store_true", help="log to syslog as well")
    agent.add_argument(
        "--syslog-facility",
        choices=SYSLOG_FACILITIES,
        metavar="FACILITY",
        help=f"the syslog facility: {', '.join(SYSLOG_FACILITIES[:3])}..local7; implies "
        "--syslog (default: daemon)",
    )
    agent.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text, or json: one JSON object a line, with the container and the action as "
        "fields where a line is about one container (default: text)",
    )
    urls = common.add_argument_group("URL sources")
    _option(urls, "ca_file")
    _option(urls, "url_token_file")
    _option(urls, "url_connect_timeout", float)
    _option(urls, "url_read_timeout", float)
    _option(urls, "allow_http")
    _option(urls, "allow_redirect_host", metavar="HOST")
    _option(urls, "signature_key", metavar="FILE")
    return common


class _Repeated(argparse.Action):
    """A repeatable option whose values make a tuple, as the setting holds them."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, (*getattr(namespace, self.dest), values))


def _option(
    group: argparse._ArgumentGroup,
    setting: str,
    kind: type[int | float | str] = str,
    metavar: str | None = None,
) -> None:
    """``--name`` for the setting ``name`` of :class:`Settings`, with its default and help:
    a flag for a boolean setting, a repeatable option for a tuple."""
    default = attrs.fields_dict(Settings)[setting].default
    option = "--" + setting.replace("_", "-")
    if isinstance(default, bool):
        group.add_argument(option, action="store_true", help=help_of(setting))
    elif isinstance(default, tuple):
        group.add_argument(
            option, action=_Repeated, default=default, metavar=metavar, help=help_of(setting)
        )
    else:
        group.add_argument(option, type=kind, default=default, help=help_of(setting))


def _parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="agent",
        description="Keep the containers on this host exactly as the manifests say.",
        epilog="A bare 'agent [options] MANIFEST...' means 'agent run'. Exit codes: 0 success, "
        "1 runtime failure, 2 invalid manifest or usage, "
        "3 changes pending (plan --detailed-exitcode).",
    )
    parser.add_argument("--version", action="version", version=f"container-agent {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    manifests = {
        "nargs": "+",
        "metavar": "MANIFEST",
        "help": "file, directory, glob, https:// URL, or - for stdin",
    }

    plan = commands.add_parser(
        "plan", parents=[common], help="show what apply would do, change nothing"
    )
    plan.add_argument("manifests", **manifests)  # type: ignore[arg-type]
    plan.add_argument("--output", choices=("text", "json"), default="text")
    plan.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help=f"exit {EXIT_CHANGES} when changes are pending",
    )
    plan.set_defaults(handler=_cmd_plan)

    apply = commands.add_parser("apply", parents=[common], help="converge once and exit")
    apply.add_argument("manifests", **manifests)  # type: ignore[arg-type]
    apply.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="text: the plan, a line per finished action (on a terminal with a progress "
        "bar), a summary; json: one document with the plan, the results and the totals",
    )
    apply.add_argument(
        "--retry-failed",
        action="store_true",
        help="try again the revisions whose rollout failed (otherwise held back until the "
        "manifest or the image changes)",
    )
    apply.set_defaults(handler=_cmd_apply)

    run = commands.add_parser("run", parents=[common], help="keep converging (the daemon)")
    run.add_argument("manifests", **manifests)  # type: ignore[arg-type]
    run_options = run.add_argument_group("daemon")
    _option(run_options, "reload", float)
    _option(run_options, "pull_interval", float)
    _option(run_options, "metrics_addr")
    _option(run_options, "url_interval", float)
    run.set_defaults(handler=_cmd_run)

    validate = commands.add_parser(
        "validate", parents=[common], help="check manifests, touch no engine"
    )
    validate.add_argument("manifests", **manifests)  # type: ignore[arg-type]
    validate.set_defaults(handler=_cmd_validate)

    status = commands.add_parser(
        "status",
        parents=[common],
        help="the namespace's containers, and with manifests how each matches; changes nothing",
    )
    status.add_argument(
        "manifests",
        nargs="*",
        metavar="MANIFEST",
        help="compare with these (file, directory, glob, https:// URL, or - for stdin)",
    )
    status.add_argument("--output", choices=("text", "json"), default="text")
    status.set_defaults(handler=_cmd_status)

    down = commands.add_parser(
        "down", parents=[common], help="stop and remove every container of the namespace"
    )
    down.add_argument(
        "-y", "--yes", action="store_true", help="do not ask (required without a terminal)"
    )
    down.set_defaults(handler=_cmd_down)

    logs = commands.add_parser(
        "logs", parents=[common], help="show a container's logs, by its name in the manifest"
    )
    logs.add_argument("name", metavar="NAME", help="the container's name (or its engine name)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new output")
    logs.add_argument(
        "--tail", type=_argument(parse_tail), help="only the last N lines (default: all)"
    )
    logs.add_argument(
        "--since",
        type=_argument(lambda text: parse_since(text, time.time())),
        help="only output since then: a duration back from now (10m, 90s, 2h), an RFC 3339 "
        "timestamp, or seconds since the epoch",
    )
    logs.set_defaults(handler=_cmd_logs)

    convert = commands.add_parser(
        "convert",
        parents=[common],
        help="print the manifests in another format (Kubernetes Pods); touch no engine",
    )
    direction = convert.add_mutually_exclusive_group(required=True)
    direction.add_argument(
        "--to",
        choices=CONVERT_TO,
        help="kubernetes: a v1 Pod per container, as YAML documents; v1beta1: a manifest; "
        "declaration: a container declaration of konlet's form (one container); what the "
        "output cannot say is listed on stderr",
    )
    direction.add_argument(
        "--from",
        dest="convert_from",
        choices=CONVERT_FROM,
        help="compose: one docker-compose file to a manifest (its variables interpolated "
        "from the environment and its .env); what the manifest cannot say is listed on stderr",
    )
    convert.add_argument(
        "--allow-partial",
        action="store_true",
        help=f"(--from compose) exit 0, not {EXIT_PARTIAL}, when a service of the file (or "
        "an included file) is left out",
    )
    convert.add_argument(
        "manifests",
        nargs="+",
        metavar="FILE",
        help="with --to: manifests (file, directory, glob, URL, or -); with --from: the file",
    )
    convert.set_defaults(handler=_cmd_convert)
    return parser


def _argument(parse: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse type from a parser that raises ValueError: its message in the usage error."""

    def convert(text: str) -> object:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


class _Lenient(argparse.ArgumentParser):
    """A parser that only looks: on an error it raises, and the real parser reports it."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def _with_command_first(argv: list[str]) -> list[str]:
    """Put the command first (``agent -v plan x`` is ``agent plan -v x``); with none, it is
    the old agent's bare form, ``agent [options] MANIFEST...``, which means ``run``."""
    if not argv or argv[0] in ("-h", "--help", "--version"):
        return argv
    try:
        _, rest = _common(_Lenient).parse_known_args(argv)
    except ValueError:
        return argv if argv[0] in COMMANDS else ["run", *argv]
    positionals = [a for a in rest if not a.startswith("-") or a == "-"]
    if positionals and positionals[0] in COMMANDS:
        command = positionals[0]
        index = argv.index(command)
        return [command, *argv[:index], *argv[index + 1 :]]
    return ["run", *argv]


def _setup_logging(
    verbose: int,
    syslog: bool,
    default: int,
    log_format: str = "text",
    facility: str | None = None,
) -> None:
    """Log to stderr, as text or one JSON object a line, and to syslog when asked (as
    text: syslog has its own fields for the time, the level and the program)."""
    level = default - 10 * verbose
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter  # only JSON logs need it

        handlers[0].setFormatter(
            JsonFormatter(
                "%(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",
            )
        )
    else:
        handlers[0].setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    fallback = None
    if syslog or facility is not None:
        address: str | tuple[str, int] = SYSLOG_SOCKET
        if not os.path.exists(SYSLOG_SOCKET):
            address = fallback = ("localhost", 514)
        code = logging.handlers.SysLogHandler.facility_names[facility or "daemon"]
        handler = logging.handlers.SysLogHandler(address=address, facility=code)
        handler.setFormatter(logging.Formatter("container-agent[%(process)d]: %(message)s"))
        handlers.append(handler)
    logging.basicConfig(level=max(level, logging.DEBUG), handlers=handlers, force=True)
    if fallback is not None:  # UDP says nothing when nobody listens: say it here, once
        log.warning(
            "no %s here: syslog lines go to UDP %s:%d, whether or not anything listens",
            SYSLOG_SOCKET,
            *fallback,
        )


def _settings(args: argparse.Namespace) -> Settings:
    """The settings the options give; the daemon's own only for ``run``."""
    names = [field.name for field in attrs.fields(Settings) if hasattr(args, field.name)]
    return Settings(**{name: getattr(args, name) for name in names})


def _backend(args: argparse.Namespace) -> Backend:
    options = BackendOptions(host=args.host, docker_cmd=args.docker_cmd)
    return load_backend(args.backend, options)


def _cmd_validate(args: argparse.Namespace) -> int:
    desired = check_desired(load_sources(args.manifests, args.urls), args.settings.allowances)
    print(f"OK: {len(desired.containers)} container(s) in {len(desired.manifests)} manifest(s).")
    return EXIT_OK


def _cmd_plan(args: argparse.Namespace) -> int:
    desired = load_sources(args.manifests, args.urls)
    the_plan = plan_for(desired, _backend(args).reader(), args.settings, time.time())
    sys.stdout.write(render_json(the_plan) if args.output == "json" else render_text(the_plan))
    return EXIT_CHANGES if args.detailed_exitcode and the_plan.changes else EXIT_OK


def _cmd_apply(args: argparse.Namespace) -> int:
    desired = load_sources(args.manifests, args.urls)
    began = time.monotonic()
    settings: Settings = args.settings
    with namespace_lock(args.state_dir, args.namespace):
        if args.retry_failed:
            RolloutBook(settings.rollouts_path).forget(
                (c.name for c in desired.containers), failed=True
            )
        if args.output == "json":
            the_plan, results = converge_through(desired, _backend(args), settings)
            elapsed = time.monotonic() - began
            sys.stdout.write(to_json(apply_to_dict(the_plan, results, elapsed)))
        else:
            with ApplyProgress() as progress:
                the_plan, results = converge_through(
                    desired, _backend(args), settings, progress, progress.planned
                )
            if the_plan.changes:
                print("\n" + apply_summary(results, time.monotonic() - began))
    # A rollback is a failure too: the apply did not get what the manifest says.
    failed = any(not r.ok or isinstance(r.action, Rollback) for r in results)
    return EXIT_FAILURE if failed else EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    desired = load_sources(args.manifests, args.urls) if args.manifests else None
    reader = _backend(args).reader()
    now = time.time()
    observed = reader.list(settings.namespace, run_times=True)
    restarts = RestartLedger(settings.restarts_path).counts()
    health = HealthFile(settings.health_path).read()
    found = reader.network(settings.network_name)
    network = found if found is not None and found.namespace == settings.namespace else None
    if desired is None:
        rows = statuses(observed, restarts, health=health)
    else:
        the_plan = plan_against(desired, observed, settings, now, None, restarts, health, network)
        wanted = {c.name for c in desired.containers}
        rows = statuses(observed, restarts, the_plan, wanted, health)
    name = network.name if network is not None else None
    if args.output == "json":
        document = status_to_dict(rows, now, settings.namespace, reader.address, name)
        sys.stdout.write(to_json(document))
    else:
        sys.stdout.write(render_status(rows, now, settings.namespace, name))
    return EXIT_OK


def _cmd_down(args: argparse.Namespace) -> int:
    """Remove the namespace's containers, after showing the plan and a confirmation."""
    settings: Settings = args.settings
    backend = _backend(args)
    with namespace_lock(args.state_dir, args.namespace):
        the_plan = plan_for(DesiredSet(), backend.reader(), settings, time.time())
        if not the_plan.changes:
            print(f"No containers in namespace {settings.namespace}; nothing to do.")
            return EXIT_OK
        sys.stdout.write(render_text(the_plan))
        if not args.yes:
            if not sys.stdin.isatty():
                print(
                    "agent down: refusing to remove containers without a terminal to confirm "
                    "on; pass --yes",
                    file=sys.stderr,
                )
                return EXIT_INVALID
            if not _confirmed(the_plan.count(Remove), settings.namespace):
                print("Down cancelled; nothing was changed.")
                return EXIT_FAILURE
        began = time.monotonic()
        print()
        with ApplyProgress() as progress:
            _, results = converge(DesiredSet(), backend, settings, time.time(), on_result=progress)
    print("\n" + apply_summary(results, time.monotonic() - began))
    return EXIT_FAILURE if any(not r.ok for r in results) else EXIT_OK


def _confirmed(count: int, namespace: str) -> bool:
    """Ask on the terminal, as Terraform does: only ``yes`` goes ahead."""
    try:
        answer = input(
            f"\nStop and remove these {count} container(s) of namespace {namespace!r}?\n"
            "  Only 'yes' will be accepted: "
        )
    except EOFError:
        return False
    return answer.strip() == "yes"


def _cmd_run(args: argparse.Namespace) -> int:
    # The daemon's own modules (the loop, its watchers and prober, systemd readiness) load
    # only for agent run: plan, apply and status start faster without them.
    from agent.daemon.notify import Notifier
    from agent.daemon.runloop import RunLoop

    notifier = Notifier.from_environment()  # before any engine CLI runs
    backend = _backend(args)
    settings: Settings = args.settings
    with namespace_lock(args.state_dir, args.namespace), contextlib.ExitStack() as stack:
        loop = RunLoop(list(args.manifests), backend, settings, args.urls)
        listen = settings.metrics_listen
        if listen is not None:
            # Only a daemon that serves metrics pays for importing prometheus-client.
            from prometheus_client import disable_created_metrics

            from agent.daemon.healthz import ServiceHealth
            from agent.daemon.metrics import Metrics, MetricsServer, application

            disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created noise
            metrics = Metrics(backend.name)
            health = ServiceHealth.for_reload(settings.reload)
            server = MetricsServer(listen, application(metrics, health), "--metrics-addr")
            server.start()
            stack.callback(server.close)
            loop.observe(metrics)
            loop.observe(health)
            metrics.watch_health(loop.prober.health)
            log.info("metrics on %s/metrics, health on %s/healthz", server.url, server.url)
        if notifier is not None:
            loop.observe(notifier)
            stack.callback(notifier.stopping)
        return loop.run()


def _cmd_logs(args: argparse.Namespace) -> int:
    """Read only, so no namespace lock; Ctrl-C (or SIGTERM) ends a ``--follow`` with 0."""
    reader = _backend(args).reader()
    options = {"follow": args.follow, "tail": args.tail, "since": args.since}
    try:
        write_logs(reader, args.namespace, args.name, sys.stdout.buffer, **options)
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:  # `agent logs web | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def _cmd_convert(args: argparse.Namespace) -> int:
    """Manifests to Kubernetes Pods, or a compose file to a manifest, on stdout; notes
    (warnings, exit 0) on stderr."""
    if args.convert_from == "compose":
        return _from_compose(args)
    if args.to in ("v1beta1", "declaration"):
        return _to_manifest(args)
    from agent.convert.kube import documents, to_kubernetes  # the converters load only for convert

    desired = load_sources(args.manifests, args.urls)
    settings: Settings = args.settings
    conversion = to_kubernetes(desired.manifests, settings.namespace, settings.volumes_root)
    sys.stdout.write(documents(conversion.documents))
    for note in conversion.notes:
        print(f"note: {note}", file=sys.stderr)
    return EXIT_OK


def _to_manifest(args: argparse.Namespace) -> int:
    """Manifests (v1beta1 or declarations) as v1beta1 manifests or as declarations, one YAML
    document each."""
    from agent.convert.declaration_convert import ConversionError, dump, to_declaration, to_v1beta1

    desired = load_sources(args.manifests, args.urls)
    documents: list[dict[str, object]] = []
    notes: list[object] = []
    try:
        for manifest in desired.manifests:
            if args.to == "v1beta1":
                document, found = to_v1beta1(manifest)
            else:
                document, found = to_declaration(manifest, args.settings.volumes_root)
            documents.append(document)
            notes.extend(found)
    except ConversionError as exc:
        print(f"agent: {exc}", file=sys.stderr)
        return EXIT_INVALID
    sys.stdout.write(dump(documents))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return EXIT_OK


def _from_compose(args: argparse.Namespace) -> int:
    if len(args.manifests) != 1:
        print("agent convert --from compose: give exactly one compose file", file=sys.stderr)
        return EXIT_INVALID
    from agent.convert.compose import ComposeError, from_compose, render

    path = args.manifests[0]
    try:
        converted = from_compose(path, os.environ, args.settings.allow_host_path)
    except ComposeError as exc:
        print(f"agent: {exc}", file=sys.stderr)
        return EXIT_INVALID
    sys.stdout.write(render(converted))
    for note in converted.notes:
        print(f"note: {note}", file=sys.stderr)
    if not converted.partial:
        return EXIT_OK
    left_out = ", ".join(converted.left_out)
    if args.allow_partial:
        print(f"agent: {path}: left out (--allow-partial): {left_out}", file=sys.stderr)
        return EXIT_OK
    print(
        f"agent: {path}: a partial conversion, left out: {left_out} (see the notes); exit "
        f"{EXIT_PARTIAL}, or 0 with --allow-partial",
        file=sys.stderr,
    )
    return EXIT_PARTIAL
