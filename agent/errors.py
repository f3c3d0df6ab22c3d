"""The project's own errors: what a user sees instead of a traceback.

Every error the library raises to its caller is an :class:`AgentError`, so that one
``except AgentError`` catches them all; the general ones live here, the others in the
part that raises them, each exported by its sub-package (``from agent.sources import
SignatureError``). The whole tree:

- ``AgentError``
  - ``ManifestError``: a manifest source that cannot be used, with every problem found
    in it (each a :class:`FieldError`, which is a record, not an exception)
    - ``MultiSourceError``: problems in several sources
    - ``SignatureError`` (:mod:`agent.sources`): a signed source refused
  - ``SettingsError``: a setting that cannot be used, named by its option
  - ``VolumeError``: a volume's host directory that cannot be used
  - ``ImageNotPresent``: an image that is absent and may not be pulled
  - ``QuantityError`` (:mod:`agent.manifest`): not a Kubernetes quantity, or not a limit;
    a ValueError too
  - ``BackoffError`` (:mod:`agent.planning`): a back-off that cannot work; a ValueError too
  - ``NetworkConflict`` (:mod:`agent.planning`): the namespace's network name taken by
    a network the agent did not make
  - ``NamespaceLocked`` (:mod:`agent.state`): another agent holds the namespace
  - ``UrlFetchError`` (:mod:`agent.sources`): a URL source that could not be fetched
  - ``UnknownContainer`` (:mod:`agent.engine`): no container of that name (``agent logs``)
  - ``MetricsError`` (:mod:`agent.daemon`): the metrics address cannot be listened on
  - ``ComposeError``, ``InterpolationError``, ``ConversionError`` (:mod:`agent.convert`):
    a Compose file that cannot be imported, its variables, a manifest that cannot be
    converted
  - ``EngineFailed`` (:mod:`agent.testing`, the contract kit): the engine's own CLI failed
    in a check or its clean-up; an AssertionError too
  - ``BackendError`` (:mod:`backends`, also ``agent.BackendError``): an engine call that
    failed, with the kinds a caller acts on: ``EngineUnreachable``, ``NotFound``,
    ``ImageUnavailable``, ``Unsupported``, ``Conflict``

``BackendError`` lives with the backends, below which nothing of the agent is imported
but this module: a third-party backend raises it without importing the agent's layers.
This module imports nothing of the agent.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

__all__ = [
    "AgentError",
    "FieldError",
    "ImageNotPresent",
    "ManifestError",
    "MultiSourceError",
    "SettingsError",
    "VolumeError",
]


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


class MultiSourceError(ManifestError):
    """Problems in several sources, each reported with its own file name."""

    def __init__(self, problems: Sequence[ManifestError]) -> None:
        self.problems = tuple(problems)
        super().__init__(problems[0].source, [e for p in problems for e in p.errors])

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


class SettingsError(AgentError):
    """A setting of the agent that cannot be used; ``setting`` is its name in
    :class:`~agent.daemon.settings.Settings` (the command line's option, with dashes)."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting} {problem}")

    @property
    def option(self) -> str:
        """The command-line option of the setting: ``--volumes-root``."""
        return "--" + self.setting.replace("_", "-")


class VolumeError(AgentError):
    """A volume's host directory that cannot be used (a symbolic link, or not creatable)."""


class ImageNotPresent(AgentError):
    """An image that is not on the engine and may not be pulled (``imagePullPolicy: Never``)."""
