"""The shipped checks of :mod:`agent.testing.contract.rollout`, on each of the agent's four
targets (tests/contract.py)."""

from __future__ import annotations

from agent.testing.contract.rollout import *  # noqa: F403
