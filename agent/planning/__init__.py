"""The pure core: from desired specs and what the engine shows, the actions to take.

Nothing here reads a clock, a file or the environment, or calls a backend. ``spec``
turns manifests into run specs, ``observed`` models what the engine reports, and
``planner`` diffs the two into the frozen ``actions``, ordered by ``schedule``.
Imports :mod:`agent.manifest` only.
"""
