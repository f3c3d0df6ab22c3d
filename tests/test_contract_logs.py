"""The shipped checks of :mod:`agent.testing.contract.logs`, on each of the agent's four
targets (tests/contract.py)."""

from __future__ import annotations

from agent.testing.contract.logs import *  # noqa: F403
