"""The ``agent`` command line: plan, apply, run, validate, status, down, logs, convert.

Exit codes (:mod:`agent.cli.exits`): 0 success; 1 runtime failure (engine unreachable,
an action failed, no container of the name given to ``logs``); 2 invalid manifest or
usage; 3 (``plan --detailed-exitcode``) changes are pending. The grammar is
:mod:`agent.cli.parser`'s, the commands :mod:`agent.cli.commands`' and
:mod:`agent.cli.convert`'s.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from agent.cli.exits import EXIT_CHANGES, EXIT_FAILURE, EXIT_INVALID, EXIT_OK, EXIT_PARTIAL
from agent.cli.log_setup import setup_logging
from agent.cli.parser import COMMANDS, _mistyped
from agent.cli.parser import _parser as _parser  # re-exported: the tests build it too
from agent.cli.parser import _settings as _settings
from agent.cli.parser import _with_command_first as _with_command_first
from agent.errors import AgentError, ManifestError, SettingsError
from backends.errors import BackendError

__all__ = [
    "COMMANDS",
    "EXIT_CHANGES",
    "EXIT_FAILURE",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "main",
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    given = list(sys.argv[1:] if argv is None else argv)
    mistyped = _mistyped(given)
    if mistyped is not None:
        parser.error(mistyped)
    args = parser.parse_args(_with_command_first(given))
    if args.command == "down" and args.manifests:
        parser.error(
            f"down takes no manifest ({' '.join(args.manifests)}): it removes every container "
            "the agent made in the namespace, and its network; choose it with --namespace"
        )
    try:
        args.settings = _settings(args)
        args.urls = args.settings.url_options()  # reads the token file, once
    except SettingsError as exc:
        parser.error(f"{exc.option} {exc.problem}")
    setup_logging(
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
