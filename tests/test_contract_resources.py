"""The shipped checks of :mod:`agent.testing.contract.resources`, on each of the agent's four
targets (tests/contract.py)."""

from __future__ import annotations

from agent.testing.contract.resources import *  # noqa: F403
