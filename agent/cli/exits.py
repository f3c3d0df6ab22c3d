"""The exit codes of ``agent``: 0 success; 1 runtime failure (engine unreachable, an action
failed, no container of the name given to ``logs``); 2 invalid manifest or usage; 3
(``plan --detailed-exitcode``) changes are pending, or (``convert --from compose``) a
partial conversion."""

from __future__ import annotations

__all__ = ["EXIT_CHANGES", "EXIT_FAILURE", "EXIT_INVALID", "EXIT_OK", "EXIT_PARTIAL"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID = 2
EXIT_CHANGES = 3
EXIT_PARTIAL = 3
"""``convert --from compose``: the manifest was printed, and something of the file left out."""
