"""The command line's grammar: the commands and their options (each agent setting's
option made from :class:`~agent.daemon.settings.Settings`), the bare form that means
``run``, and a mistyped command told from a manifest."""

from __future__ import annotations

import argparse
import difflib
import os
import re
import time
from collections.abc import Callable
from typing import NoReturn

import attrs

from agent import __version__
from agent.cli import commands
from agent.cli.convert import cmd_convert
from agent.cli.exits import EXIT_CHANGES, EXIT_PARTIAL
from agent.cli.log_setup import SYSLOG_FACILITIES
from agent.daemon.settings import Settings, default_state_dir, help_of
from agent.engine.logs import parse_since, parse_tail

__all__ = ["COMMANDS", "CONVERT_FROM", "CONVERT_TO"]

COMMANDS = ("plan", "apply", "run", "validate", "status", "down", "logs", "convert")
CONVERT_TO = ("kubernetes", "v1beta1", "declaration")
CONVERT_FROM = ("compose",)
_ALONE = ("-h", "--help", "--version")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")


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
    _option(agent, "log_max_size", int)
    _option(agent, "log_max_files", int)
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
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    manifests = {
        "nargs": "+",
        "metavar": "MANIFEST",
        "help": "file, directory, glob, https:// URL, or - for stdin",
    }

    plan = subcommands.add_parser(
        "plan", parents=[common], help="show what apply would do, change nothing"
    )
    plan.add_argument("manifests", **manifests)  # type: ignore[arg-type]
    plan.add_argument("--output", choices=("text", "json"), default="text")
    plan.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help=f"exit {EXIT_CHANGES} when changes are pending",
    )
    plan.set_defaults(handler=commands.cmd_plan)

    apply = subcommands.add_parser("apply", parents=[common], help="converge once and exit")
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
    apply.set_defaults(handler=commands.cmd_apply)

    run = subcommands.add_parser("run", parents=[common], help="keep converging (the daemon)")
    run.add_argument("manifests", **manifests)  # type: ignore[arg-type]
    run_options = run.add_argument_group("daemon")
    _option(run_options, "reload", float)
    _option(run_options, "pull_interval", float)
    _option(run_options, "metrics_addr")
    _option(run_options, "url_interval", float)
    run.set_defaults(handler=commands.cmd_run)

    validate = subcommands.add_parser(
        "validate", parents=[common], help="check manifests, touch no engine"
    )
    validate.add_argument("manifests", **manifests)  # type: ignore[arg-type]
    validate.set_defaults(handler=commands.cmd_validate)

    status = subcommands.add_parser(
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
    status.set_defaults(handler=commands.cmd_status)

    down = subcommands.add_parser(
        "down", parents=[common], help="stop and remove every container of the namespace"
    )
    down.add_argument(
        "-y", "--yes", action="store_true", help="do not ask (required without a terminal)"
    )
    # Taken only to be refused with the reason: down removes the whole namespace.
    down.add_argument("manifests", nargs="*", metavar="MANIFEST", help=argparse.SUPPRESS)
    down.set_defaults(handler=commands.cmd_down)

    logs = subcommands.add_parser(
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
    logs.set_defaults(handler=commands.cmd_logs)

    convert = subcommands.add_parser(
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
    convert.set_defaults(handler=cmd_convert)
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
    if not argv or argv[0] in _ALONE:
        return argv
    command = _first_word(argv)
    if command in COMMANDS:
        index = argv.index(command)
        return [command, *argv[:index], *argv[index + 1 :]]
    return ["run", *argv]


def _mistyped(argv: list[str]) -> str | None:
    """Why the first word is a mistyped command (``agent dwon``), not the bare form's first
    source: it is no command, spelt as one is (letters, digits, ``-``, ``_``: no path, URL
    or glob), and no file or directory of that name exists. None when it is a command or
    may be a source."""
    if not argv or argv[0] in _ALONE:
        return None
    word = _first_word(argv)
    if word is None or word in COMMANDS or not _WORD.match(word) or os.path.exists(word):
        return None
    close = difflib.get_close_matches(word, COMMANDS, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"the commands are {', '.join(COMMANDS)}"
    return f"unknown command {word!r}, and no file or directory of that name: {hint}"


def _first_word(argv: list[str]) -> str | None:
    """The first argument that is no option nor an option's value: the command, or the
    bare form's first source."""
    try:
        _, rest = _common(_Lenient).parse_known_args(argv)
    except ValueError:  # an option's value refused: the real parser reports it
        rest = argv[:1]
    return next((a for a in rest if not a.startswith("-") or a == "-"), None)


def _settings(args: argparse.Namespace) -> Settings:
    """The settings the options give; the daemon's own only for ``run``."""
    names = [field.name for field in attrs.fields(Settings) if hasattr(args, field.name)]
    return Settings(**{name: getattr(args, name) for name in names})
