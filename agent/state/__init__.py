"""What the agent keeps in its state dir between runs: restart counts, liveness
records, the lock that keeps two agents apart, each one small JSON file.
Imports :mod:`agent.planning` (for the health model) and below.
"""
