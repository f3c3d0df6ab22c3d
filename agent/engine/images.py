"""Images for one pass: pulled at most once each, by the container's ``imagePullPolicy``.

``IfNotPresent`` pulls only a missing image, ``Always`` pulls before every start
(and before planning, so that a new push under the same tag is seen), ``Never``
only uses a local image. A failed pull is retried with back-off; its last error,
the registry's own message, is what the container's action reports
(:class:`~backends.errors.ImageUnavailable`, or
:class:`~backends.errors.EngineUnreachable` when the engine did not answer).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from agent.errors import ImageNotPresent
from agent.manifest.models import ALWAYS, NEVER
from agent.manifest.reference import registry_of
from agent.planning.backoff import Backoff
from backends.base import Backend
from backends.credentials import docker_config_path, lookup
from backends.errors import BackendError, ImageUnavailable

__all__ = ["PULL_ATTEMPTS", "PULL_BACKOFF", "Images"]

log = logging.getLogger("agent.images")

PULL_ATTEMPTS = 3
PULL_BACKOFF = Backoff(initial=1.0, max=60.0)
"""Between the attempts of one pull: 1 s, then 2 s."""


class Images:
    def __init__(
        self,
        backend: Backend,
        attempts: int = PULL_ATTEMPTS,
        backoff: Backoff = PULL_BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backend = backend
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep
        self._pulled: dict[str, str | BackendError] = {}
        self._local: dict[str, str | None] = {}

    def ensure(self, image: str, policy: str) -> str:
        """The id of ``image`` once it is present as ``policy`` wants.

        Raises :class:`ImageNotPresent` for a missing image under ``Never``, and
        BackendError when the image cannot be had.
        """
        if policy == ALWAYS:
            return self.pull(image)
        if image not in self._local:
            self._local[image] = self.backend.image_id(image)
        found = self._local[image]
        if found:
            return found
        if policy == NEVER:
            raise ImageNotPresent(f"image {image} is not present and its imagePullPolicy is Never")
        return self.pull(image)

    def pull(self, image: str) -> str:
        """Pull ``image`` (once a pass), retrying with back-off; its id afterwards."""
        known = self._pulled.get(image)
        if isinstance(known, BackendError):
            raise known
        if known is not None:
            return known
        try:
            result: str | BackendError = self._pull(image)
        except BackendError as exc:
            result = exc
        self._pulled[image] = result
        if isinstance(result, BackendError):
            raise result
        return result

    def _pull(self, image: str) -> str:
        auth = lookup(image)
        for attempt in range(1, self.attempts + 1):
            log.info(
                "pulling %s (attempt %d of %d)",
                image,
                attempt,
                self.attempts,
                extra={"image": image},
            )
            try:
                self.backend.pull(image, auth)
                found = self.backend.image_id(image)
                if found:
                    return found
                raise ImageUnavailable(f"image {image} is still missing after its pull")
            except BackendError as exc:
                if attempt == self.attempts:
                    hint = (
                        ""
                        if auth
                        else (
                            f" (no credentials for {registry_of(image)} in {docker_config_path()})"
                        )
                    )
                    # Of the kind the backend said (backends.errors.pulling): unavailable,
                    # or an engine that cannot be reached.
                    raise type(exc)(
                        f"pull of {image} failed after {attempt} attempts: {exc.message}{hint}",
                        exc.engine,
                    ) from exc
                delay = self.backoff.delay(attempt)
                log.warning(
                    "pull of %s failed (%s); retrying in %gs",
                    image,
                    exc.message,
                    delay,
                    extra={"image": image},
                )
                self.sleep(delay)
        raise AssertionError("unreachable")
