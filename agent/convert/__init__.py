"""Conversions to and from other formats: Compose files in (``compose``, which reads a
service with ``compose_services``, ``compose_ports``, ``compose_volumes`` and
``compose_binds``, ``compose_networks``, ``compose_health``, ``compose_resources``,
``compose_values`` and ``compose_common``; ``interpolate``), Kubernetes objects out
(``kube``), konlet's declaration out (``declaration_convert``). What a conversion cannot
carry over is a ``notes.Note``. Imports :mod:`agent.manifest` only.
"""
