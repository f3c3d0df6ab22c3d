"""What the parts of the Compose conversion share: its error, a service that is not
converted, and a Compose name as an RFC 1035 label."""

from __future__ import annotations

from agent.errors import AgentError
from agent.manifest.fields import is_rfc1035_name

__all__ = ["ComposeError", "Refused", "label"]


class ComposeError(AgentError):
    """A compose file that cannot be converted at all; the message names the file."""


class Refused(Exception):
    """The service is not converted; the note says why."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(why)
        self.field = field
        self.why = why


def label(name: str) -> str | None:
    """``name`` as an RFC 1035 label: lower case, ``_`` and ``.`` as ``-``; None if it
    cannot be one."""
    found = name.lower().replace("_", "-").replace(".", "-")
    return found if is_rfc1035_name(found) else None
