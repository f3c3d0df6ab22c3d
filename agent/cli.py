"""The ``agent`` command line: plan, apply, run, validate.

Exit codes: 0 success; 1 runtime failure (engine unreachable, an action
failed); 2 invalid manifest or usage; 3 (``plan --detailed-exitcode``) changes
are pending.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

import attrs
from prometheus_client import disable_created_metrics
from pythonjsonlogger.json import JsonFormatter

from agent import __version__
from agent.errors import AgentError, ManifestError, SettingsError
from agent.health import Health
from agent.load import load_sources
from agent.lock import namespace_lock
from agent.metrics import Metrics, MetricsServer, application
from agent.notify import Notifier
from agent.reconcile import converge, plan_for
from agent.render import render_json, render_results, render_text
from agent.runloop import RunLoop
from agent.settings import Settings, default_state_dir, help_of
from backends.base import Backend, BackendOptions, load_backend
from backends.errors import BackendError

__all__ = ["EXIT_CHANGES", "EXIT_FAILURE", "EXIT_INVALID", "EXIT_OK", "main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID = 2
EXIT_CHANGES = 3
COMMANDS = ("plan", "apply", "run", "validate")
SYSLOG_FACILITIES = ("daemon", "user", *(f"local{i}" for i in range(8)))

log = logging.getLogger("agent")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(_with_command_first(list(sys.argv[1:] if argv is None else argv)))
    try:
        args.settings = _settings(args)
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
    return common


def _option(
    group: argparse._ArgumentGroup, setting: str, kind: type[int | float | str] = str
) -> None:
    """``--name`` for the setting ``name`` of :class:`Settings`, with its default and help."""
    default = attrs.fields_dict(Settings)[setting].default
    option = "--" + setting.replace("_", "-")
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
        "help": "file, directory, glob, or - for stdin",
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
    apply.set_defaults(handler=_cmd_apply)

    run = commands.add_parser("run", parents=[common], help="keep converging (the daemon)")
    run.add_argument("manifests", **manifests)  # type: ignore[arg-type]
    run_options = run.add_argument_group("daemon")
    _option(run_options, "reload", float)
    _option(run_options, "pull_interval", float)
    _option(run_options, "metrics_addr")
    run.set_defaults(handler=_cmd_run)

    validate = commands.add_parser(
        "validate", parents=[common], help="check manifests, touch no engine"
    )
    validate.add_argument("manifests", **manifests)  # type: ignore[arg-type]
    validate.set_defaults(handler=_cmd_validate)
    return parser


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
        handlers[0].setFormatter(
            JsonFormatter(
                "%(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",
            )
        )
    else:
        handlers[0].setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    if syslog or facility is not None:
        address = "/dev/log" if os.path.exists("/dev/log") else ("localhost", 514)
        code = logging.handlers.SysLogHandler.facility_names[facility or "daemon"]
        handler = logging.handlers.SysLogHandler(address=address, facility=code)
        handler.setFormatter(logging.Formatter("container-agent[%(process)d]: %(message)s"))
        handlers.append(handler)
    logging.basicConfig(level=max(level, logging.DEBUG), handlers=handlers, force=True)


def _settings(args: argparse.Namespace) -> Settings:
    """The settings the options give; the daemon's own only for ``run``."""
    names = [field.name for field in attrs.fields(Settings) if hasattr(args, field.name)]
    return Settings(**{name: getattr(args, name) for name in names})


def _backend(args: argparse.Namespace) -> Backend:
    options = BackendOptions(host=args.host, docker_cmd=args.docker_cmd)
    return load_backend(args.backend, options)


def _cmd_validate(args: argparse.Namespace) -> int:
    desired = load_sources(args.manifests)
    print(f"OK: {len(desired.containers)} container(s) in {len(desired.manifests)} manifest(s).")
    return EXIT_OK


def _cmd_plan(args: argparse.Namespace) -> int:
    desired = load_sources(args.manifests)
    the_plan = plan_for(desired, _backend(args).reader(), args.settings, time.time())
    sys.stdout.write(render_json(the_plan) if args.output == "json" else render_text(the_plan))
    return EXIT_CHANGES if args.detailed_exitcode and the_plan.changes else EXIT_OK


def _cmd_apply(args: argparse.Namespace) -> int:
    desired = load_sources(args.manifests)
    with namespace_lock(args.state_dir, args.namespace):
        the_plan, results = converge(desired, _backend(args), args.settings, time.time())
    sys.stdout.write(render_text(the_plan))
    if the_plan.changes:
        sys.stdout.write("\n" + render_results(results))
    return EXIT_FAILURE if any(not r.ok for r in results) else EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    notifier = Notifier.from_environment()  # before any engine CLI runs
    backend = _backend(args)
    settings: Settings = args.settings
    with namespace_lock(args.state_dir, args.namespace), contextlib.ExitStack() as stack:
        loop = RunLoop(list(args.manifests), backend, settings)
        listen = settings.metrics_listen
        if listen is not None:
            disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created noise
            metrics, health = Metrics(backend.name), Health.for_reload(settings.reload)
            server = MetricsServer(listen, application(metrics, health), "--metrics-addr")
            server.start()
            stack.callback(server.close)
            loop.observe(metrics)
            loop.observe(health)
            log.info("metrics on %s/metrics, health on %s/healthz", server.url, server.url)
        if notifier is not None:
            loop.observe(notifier)
            stack.callback(notifier.stopping)
        return loop.run()
