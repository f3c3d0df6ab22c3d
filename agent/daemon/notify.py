"""systemd's notification protocol (``Type=notify``): ``READY=1`` after the first pass,
``STATUS=`` lines as the passes go, ``STOPPING=1`` on the way out.

The protocol is a datagram of ``KEY=value`` lines sent to the unix socket named by
``$NOTIFY_SOCKET`` (a path, or ``@name`` for an address in the abstract namespace),
so it is written here in a few lines rather than taken from a library:
systemd-python needs a compiled binding of libsystemd, and the sdnotify package is
no longer maintained. Without ``$NOTIFY_SOCKET`` nothing is sent. The variable is
taken out of the environment once read, as libsystemd's ``sd_notify`` does with
``unset_environment``: the engine CLIs the agent runs inherit its environment, and a
local podman hands ``NOTIFY_SOCKET`` on to the containers it creates (its
``--sdnotify=container`` default), whose processes could then speak for the agent.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import MutableMapping

from agent.daemon.report import PassReport

__all__ = ["Notifier", "status_line"]

log = logging.getLogger("agent.notify")


class Notifier:
    """Sends notifications to the socket at ``address``; call it with each pass's report."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._ready = False
        self._status = ""
        self._failed = False

    @classmethod
    def from_environment(cls, environ: MutableMapping[str, str] | None = None) -> Notifier | None:
        """The notifier ``$NOTIFY_SOCKET`` asks for (and removed from ``environ``), or None."""
        environ = os.environ if environ is None else environ
        address = environ.pop("NOTIFY_SOCKET", "")
        if not address:
            return None
        if not (address.startswith("/") or address.startswith("@")):
            log.warning("NOTIFY_SOCKET %r is no unix socket; systemd is not notified", address)
            return None
        return cls(address)

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=value`` lines in one datagram; whether it went (a failure is logged)."""
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        message = "\n".join(assignments).encode("utf-8", "replace")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(target)
                sock.sendall(message)
        except OSError as exc:
            # Said once: a socket that is not there now is not likely to come.
            log.log(
                logging.DEBUG if self._failed else logging.WARNING,
                "cannot notify systemd at %s: %s",
                self.address,
                exc,
            )
            self._failed = True
            return False
        return True

    def __call__(self, report: PassReport) -> None:
        status = status_line(report)
        if not self._ready:
            self._ready = True
            self._status = status
            self.send("READY=1", f"STATUS={status}")
        elif status != self._status:
            self._status = status
            self.send(f"STATUS={status}")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping; containers keep running")


def status_line(report: PassReport) -> str:
    """What ``systemctl status`` shows for the last pass: one line."""
    if report.outcome == "unreachable":
        return f"engine unreachable: {report.reason}"
    if report.outcome == "failed":
        return f"pass failed: {report.reason}"
    failed = sum(not r.ok for r in report.results)
    parts = []
    if report.states is not None:
        parts.append(f"{report.states.get('running', 0)} running")
    if report.waiting:
        parts.append(f"{report.waiting} in back-off")
    if failed:
        parts.append(f"{failed} action(s) failed")
    done = "pass done" if failed else "converged"
    return done + (": " + ", ".join(parts) if parts else "")
