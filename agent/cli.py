"""The ``agent`` command line: plan, apply, run, validate.

Exit codes: 0 success; 1 runtime failure (engine unreachable, an action
failed); 2 invalid manifest or usage; 3 (``plan --detailed-exitcode``) changes
are pending.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

from agent import __version__
from agent.actions import Remove, Restart, Start
from agent.errors import AgentError, ManifestError
from agent.executor import ActionResult
from agent.loader import load_sources
from agent.lock import namespace_lock
from agent.reconcile import Settings, converge, plan_for
from agent.render import render_json, render_text
from agent.runloop import RunLoop
from agent.schema import is_rfc1035_name
from backends.base import Backend, BackendError, BackendOptions, load_backend

__all__ = ["EXIT_CHANGES", "EXIT_FAILURE", "EXIT_INVALID", "EXIT_OK", "main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID = 2
EXIT_CHANGES = 3
COMMANDS = ("plan", "apply", "run", "validate")

log = logging.getLogger("agent")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(_with_command_first(list(sys.argv[1:] if argv is None else argv)))
    if any(c in args.volumes_root for c in ',"') or not args.volumes_root.isprintable():
        parser.error(
            "--volumes-root must not hold a comma, a quote or a control character: "
            f"{args.volumes_root!r}"
        )
    if not is_rfc1035_name(args.namespace) or len(args.namespace) > 40:
        parser.error(
            f"--namespace must be an RFC 1035 name of 40 characters at most: {args.namespace!r}"
        )
    _setup_logging(
        args.verbose,
        args.syslog,
        default=logging.INFO if args.command == "run" else logging.WARNING,
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
    agent.add_argument(
        "--namespace",
        default="container-agent",
        help="label value that marks this agent's containers (default: container-agent)",
    )
    agent.add_argument(
        "--volumes-root",
        default="/export",
        help="host directory holding the volumes (default: /export)",
    )
    agent.add_argument(
        "--stop-timeout",
        type=int,
        default=10,
        help="seconds a container gets to stop before it is killed (default: 10)",
    )
    agent.add_argument(
        "--state-dir",
        default=default_state_dir(),
        help="where the restart counts of the crash-loop back-off and the namespace lock are "
        "kept (default: /var/lib/container-agent as root, else "
        "$XDG_STATE_HOME/container-agent or ~/.local/state/container-agent)",
    )
    for name, default, what in (
        ("initial", 10.0, "the back-off before the second restart of a crash loop"),
        ("max", 300.0, "the longest back-off"),
        ("reset", 600.0, "seconds of running after which a crash starts a fresh back-off"),
    ):
        agent.add_argument(
            f"--backoff-{name}", type=float, default=default, help=f"{what} (default: {default:g})"
        )
    agent.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (repeatable)"
    )
    agent.add_argument("--syslog", action="store_true", help="log to syslog as well")
    return common


def default_state_dir() -> str:
    """Root's agent keeps its state in /var/lib; a user's (rootless engines) in its home."""
    if os.geteuid() == 0:
        return "/var/lib/container-agent"
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "container-agent")


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
    run.add_argument(
        "--reload", type=float, default=5.0, help="seconds between passes (default: 5)"
    )
    run.add_argument(
        "--pull-interval",
        type=float,
        default=300.0,
        help="seconds between pulls of imagePullPolicy: Always images (default: 300)",
    )
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


def _setup_logging(verbose: int, syslog: bool, default: int) -> None:
    level = default - 10 * verbose
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    handlers[0].setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    if syslog:
        address = "/dev/log" if os.path.exists("/dev/log") else ("localhost", 514)
        handler = logging.handlers.SysLogHandler(address=address)
        handler.setFormatter(logging.Formatter("container-agent[%(process)d]: %(message)s"))
        handlers.append(handler)
    logging.basicConfig(level=max(level, logging.DEBUG), handlers=handlers, force=True)


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(
        namespace=args.namespace,
        volumes_root=os.path.abspath(args.volumes_root),
        stop_timeout=args.stop_timeout,
        backoff_initial=args.backoff_initial,
        backoff_max=args.backoff_max,
        backoff_reset=args.backoff_reset,
        state_dir=args.state_dir,
    )


def _backend(args: argparse.Namespace) -> Backend:
    options = BackendOptions(host=args.host, docker_cmd=args.docker_cmd)
    return load_backend(args.backend, options)


def _cmd_validate(args: argparse.Namespace) -> int:
    desired = load_sources(args.manifests)
    print(f"OK: {len(desired.containers)} container(s) in {len(desired.manifests)} manifest(s).")
    return EXIT_OK


def _cmd_plan(args: argparse.Namespace) -> int:
    desired = load_sources(args.manifests)
    the_plan = plan_for(desired, _backend(args), _settings(args), time.time())
    sys.stdout.write(render_json(the_plan) if args.output == "json" else render_text(the_plan))
    return EXIT_CHANGES if args.detailed_exitcode and the_plan.changes else EXIT_OK


def _cmd_apply(args: argparse.Namespace) -> int:
    desired = load_sources(args.manifests)
    with namespace_lock(args.state_dir, args.namespace):
        the_plan, results = converge(desired, _backend(args), _settings(args), time.time())
    sys.stdout.write(render_text(the_plan))
    if not the_plan.changes:
        return EXIT_OK
    print()
    for result in results:
        print(_result_line(result))
    failed = sum(not r.ok for r in results)
    done = {
        kind: sum(r.ok and isinstance(r.action, kind) for r in results)
        for kind in (Start, Restart, Remove)
    }
    print(
        f"\nApply {'failed' if failed else 'complete'}: {done[Start]} started, "
        f"{done[Restart]} restarted, {done[Remove]} removed, {failed} failed."
    )
    return EXIT_FAILURE if failed else EXIT_OK


def _result_line(result: ActionResult) -> str:
    action = result.action
    head = f"{action.symbol} {action.name} ({action.engine_name})"
    if result.ok:
        past = {"start": "started", "restart": "restarted", "remove": "removed"}[action.verb]
        return f"{head}: {past}"
    return f"{head}: FAILED: {result.error}"


def _cmd_run(args: argparse.Namespace) -> int:
    backend = _backend(args)
    with namespace_lock(args.state_dir, args.namespace):
        loop = RunLoop(
            list(args.manifests), backend, _settings(args), args.reload, args.pull_interval
        )
        return loop.run()
