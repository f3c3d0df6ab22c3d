"""What an engine call can fail with: one error, and the few kinds a caller acts on.

Every backend maps each error of its engine library onto :class:`BackendError`,
raised ``from`` the library's own error, with the engine's message and address.
The kinds below it say what a caller may do about a failure without reading its
text: wait for the engine to come back, treat a container or image as absent,
report an image that cannot be had, or a name that another container holds.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from agent.errors import AgentError

__all__ = [
    "BackendError",
    "Conflict",
    "EngineUnreachable",
    "ImageUnavailable",
    "NotFound",
    "Unsupported",
    "kind_of",
    "pulling",
    "sdk_required",
]


class BackendError(AgentError):
    """An engine call that failed, with the engine's own message and address.

    ``created`` is the id of a container that the failed call made and left behind (a
    :meth:`~backends.base.Backend.run` whose start failed), for the caller to remove."""

    def __init__(self, message: str, engine: str = "") -> None:
        self.message = message.strip() or "unknown engine error"
        self.engine = engine
        self.created: str | None = None
        super().__init__(f"{engine}: {self.message}" if engine else self.message)


class EngineUnreachable(BackendError):
    """The engine did not answer: a refused or missing socket, a time-out, a missing binary.

    Nothing was done; the same call may work once the engine is back.
    """


class NotFound(BackendError):
    """The container, image or network the call named does not exist (any more)."""


class ImageUnavailable(BackendError):
    """An image that could not be had: the registry refused or failed its pull."""


class Unsupported(BackendError):
    """The backend cannot do what was asked (follow events, for instance)."""


class Conflict(BackendError):
    """The engine refused because of another object: a name in use, a container running."""


# What the engines say, in their words, when the status does not say it: Podman 4.3
# answers a name in use with 500, and a CLI has no status at all (docker's, then podman's).
_WORDS: tuple[tuple[re.Pattern[str], type[BackendError]], ...] = (
    (
        re.compile(
            r"cannot connect to the docker daemon|error during connect"
            r"|while trying to connect to the docker daemon"
            r"|cannot connect to podman|unable to connect to podman",
            re.IGNORECASE,
        ),
        EngineUnreachable,
    ),
    (
        re.compile(
            r"no such (container|image|object)|image not known|network (\S+ )?not found",
            re.IGNORECASE,
        ),
        NotFound,
    ),
    # A name in use; not "address already in use", which is a port another process holds.
    (re.compile(r"\bconflict\b|name \S+ is already in use", re.IGNORECASE), Conflict),
)


def kind_of(message: str, status: int | None = None) -> type[BackendError]:
    """The kind of an engine's failure: by its HTTP status where it has one (404 not
    found, 409 conflict), else by its words."""
    by_status = {404: NotFound, 409: Conflict}.get(status or 0)
    if by_status is not None:
        return by_status
    return next((kind for words, kind in _WORDS if words.search(message)), BackendError)


@contextlib.contextmanager
def pulling() -> Iterator[None]:
    """Around a pull: every failure but an engine that did not answer is an image that
    cannot be had, whether the engine refused the request or reported it in its stream."""
    try:
        yield
    except (EngineUnreachable, ImageUnavailable):
        raise
    except BackendError as exc:
        raise ImageUnavailable(exc.message, exc.engine) from exc


@contextlib.contextmanager
def sdk_required(backend: str, library: str) -> Iterator[None]:
    """Around the lazy import of a backend's library (named ``backend``, as its package and
    the extra that installs it): an ImportError is a BackendError saying how to install it."""
    try:
        yield
    except ImportError as exc:
        raise BackendError(
            f"the {backend} backend needs {library}: pip install {backend} (or install "
            f"container-agent with its {backend} extra: pip install '.[{backend}]')"
        ) from exc
