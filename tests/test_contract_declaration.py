"""The shipped checks of :mod:`agent.testing.contract.declaration`, on each of the agent's four
targets (tests/contract.py)."""

from __future__ import annotations

from agent.testing.contract.declaration import *  # noqa: F403
