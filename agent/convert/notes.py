"""What a conversion cannot carry over, or carries differently: one :class:`Note` for
every converter (Compose in, Kubernetes and konlet's declaration out)."""

from __future__ import annotations

from collections.abc import Callable

import attrs

__all__ = ["Note", "NoteTaker"]


@attrs.frozen
class Note:
    """Something at ``field`` of ``where`` (a file, a Compose service or a top-level section)
    that the output does not say, or says otherwise, and why."""

    where: str
    field: str
    why: str

    def __str__(self) -> str:
        return ": ".join(part for part in (self.where, self.field, self.why) if part)


NoteTaker = Callable[[str, str, str], None]
"""Takes a note: ``note(where, field, why)``."""
