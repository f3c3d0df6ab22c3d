"""The shipped checks of :mod:`agent.testing.contract.conflicts`, on each of the agent's four
targets (tests/contract.py)."""

from __future__ import annotations

from agent.testing.contract.conflicts import *  # noqa: F403
