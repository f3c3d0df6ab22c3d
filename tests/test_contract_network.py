"""The shipped checks of :mod:`agent.testing.contract.network`, on each of the agent's four
targets (tests/contract.py)."""

from __future__ import annotations

from agent.testing.contract.network import *  # noqa: F403
