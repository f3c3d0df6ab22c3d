"""Conversions to and from other formats: Compose files in (``compose``, which reads a
service with ``compose_services``, ``compose_ports``, ``compose_volumes`` and
``compose_binds``, ``compose_networks``, ``compose_health``, ``compose_resources``,
``compose_values`` and ``compose_common``; ``interpolate``), Kubernetes objects out
(``kube``), konlet's declaration out (``declaration_convert``). What a conversion cannot
carry over is a ``notes.Note``. Imports :mod:`agent.manifest` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.lazy import on_first_use

if TYPE_CHECKING:
    from agent.convert.compose import ComposeError, Converted, from_compose
    from agent.convert.declaration_convert import ConversionError, to_declaration, to_v1beta1
    from agent.convert.interpolate import InterpolationError
    from agent.convert.kube import Conversion, to_kubernetes
    from agent.convert.notes import Note

__all__ = [
    "ComposeError",
    "Conversion",
    "ConversionError",
    "Converted",
    "InterpolationError",
    "Note",
    "from_compose",
    "to_declaration",
    "to_kubernetes",
    "to_v1beta1",
]

_HOMES = {
    "ComposeError": ".compose",
    "Converted": ".compose",
    "Note": ".notes",
    "from_compose": ".compose",
    "InterpolationError": ".interpolate",
    "Conversion": ".kube",
    "to_kubernetes": ".kube",
    "ConversionError": ".declaration_convert",
    "to_declaration": ".declaration_convert",
    "to_v1beta1": ".declaration_convert",
}


__getattr__ = on_first_use(__name__, _HOMES)
