"""Where ``agent`` logs: standard error, as text or one JSON object a line, and syslog
when asked."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys

__all__ = ["SYSLOG_FACILITIES", "SYSLOG_SOCKET", "setup_logging"]

SYSLOG_FACILITIES = ("daemon", "user", *(f"local{i}" for i in range(8)))
SYSLOG_SOCKET = "/dev/log"
"""The local syslog socket; without it, syslog lines go to UDP port 514 of localhost."""

log = logging.getLogger("agent")


def setup_logging(
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
