"""The contract suite's kit, for the agent's own tests and for anyone's backend.

A backend registered under the ``container_agent.backends`` entry point is checked the same
way as the four the agent ships: a :class:`Workspace` (a namespace, a manifest file, a
volumes root) on a :class:`Target` (a backend by its entry-point name, on a running engine),
plus :func:`wait_for`. The pytest plugin :mod:`agent.testing.plugin` gives the fixtures
``target``, ``namespace`` and ``ws`` on a backend and engine named on the command line::

    pytest -p agent.testing.plugin --contract-backend=mine \\
        --contract-host=unix:///run/docker.sock --contract-engine=docker tests/

The checks themselves ship in :mod:`agent.testing.contract`, one module per part of the
contract, for such a test folder to import. Beside the workspace: the checks' busybox image
(:mod:`~agent.testing.image`), a free port and a GET on 127.0.0.1 (:mod:`~agent.testing.ports`),
a namespace's listing and clean-up (:mod:`~agent.testing.namespaces`) and an engine socket
that can go away (:mod:`~agent.testing.proxy`).

The agent itself never imports this package; it needs pytest only for the plugin and the checks.
"""

from __future__ import annotations

from agent.testing.image import BUSYBOX_TAG, build_busybox_image
from agent.testing.ports import free_port, http_get
from agent.testing.workspace import (
    AGENT,
    CliEngine,
    EngineAccess,
    EngineFailed,
    Target,
    Workspace,
    run_cli,
    wait_for,
)

__all__ = [
    "AGENT",
    "BUSYBOX_TAG",
    "CliEngine",
    "EngineAccess",
    "EngineFailed",
    "Target",
    "Workspace",
    "build_busybox_image",
    "free_port",
    "http_get",
    "run_cli",
    "wait_for",
]
