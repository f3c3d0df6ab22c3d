"""The project's own errors: what a user sees instead of a traceback."""

from __future__ import annotations

import attrs

__all__ = ["AgentError", "FieldError", "ManifestError"]


class AgentError(Exception):
    """Base of every error the agent reports to its user."""


@attrs.frozen
class FieldError:
    """One problem at one place of a manifest: ``containers[web].ports[1].hostPort``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ManifestError(AgentError):
    """A manifest source that cannot be used, with every problem found in it."""

    def __init__(self, source: str, errors: list[FieldError] | tuple[FieldError, ...]) -> None:
        self.source = source
        self.errors = tuple(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(f"{self.source}: {error}" for error in self.errors)
