"""Conversions to and from other formats: Compose files in (``compose``,
``compose_binds``, ``interpolate``), Kubernetes objects out (``kube``), konlet's
declaration out (``declaration_convert``). Imports :mod:`agent.manifest` only.
"""
