"""The names a package exports, each imported from its module on first use (PEP 562).

A package's ``__init__`` lists its names and their modules and sets
``__getattr__ = on_first_use(__name__, HOMES)``; importing the package then imports none
of those modules, so a command loads only what it uses and no import cycle can run
through an ``__init__``. Type checkers read the same names from the ``__init__``'s
``if TYPE_CHECKING:`` imports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["on_first_use"]


def on_first_use(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: a name of ``homes`` is imported from its
    module (``.module`` relative to ``package``, or an absolute name) and kept."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(homes[name], package), name)
        namespace[name] = value
        return value

    return __getattr__
