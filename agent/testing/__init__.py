"""The contract suite's kit, for the agent's own tests and for anyone's backend.

A backend registered under the ``container_agent.backends`` entry point is checked the same
way as the four the agent ships: a :class:`Workspace` (a namespace, a manifest file, a
volumes root) on a :class:`Target` (a backend by its entry-point name, on a running engine),
plus :func:`wait_for`. The pytest plugin :mod:`agent.testing.plugin` gives the fixtures
``target``, ``namespace`` and ``ws`` on a backend and engine named on the command line::

    pytest -p agent.testing.plugin --contract-backend=mine \\
        --contract-host=unix:///run/docker.sock --contract-engine=docker tests/

The agent itself never imports this package; it needs pytest only for the plugin.
"""

from __future__ import annotations

from agent.testing.workspace import (
    AGENT,
    CliEngine,
    EngineAccess,
    Target,
    Workspace,
    run_cli,
    wait_for,
)

__all__ = [
    "AGENT",
    "CliEngine",
    "EngineAccess",
    "Target",
    "Workspace",
    "run_cli",
    "wait_for",
]
