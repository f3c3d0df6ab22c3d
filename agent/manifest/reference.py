"""Image references: which registry one names, and its full spelling.

As Docker reads a reference: the part before the first ``/`` is a registry when
it has a ``.`` or a ``:`` or is ``localhost``; otherwise the image is on Docker
Hub (``docker.io``), under ``library/`` when it has no ``/`` at all. Pure.
"""

from __future__ import annotations

__all__ = ["DOCKER_HUB", "normalized", "registry_of"]

DOCKER_HUB = "docker.io"


def registry_of(image: str) -> str:
    """The registry host of an image reference: ``127.0.0.1:5000/a/b:1`` -> ``127.0.0.1:5000``."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def normalized(image: str) -> str:
    """An image reference spelt in full: ``nginx`` is ``docker.io/library/nginx:latest``."""
    name, _, digest = image.partition("@")
    if ":" not in name.rsplit("/", 1)[-1] and not digest:
        name += ":latest"
    if registry_of(name) == DOCKER_HUB and not name.startswith(f"{DOCKER_HUB}/"):
        name = f"{DOCKER_HUB}/{name}" if "/" in name else f"{DOCKER_HUB}/library/{name}"
    return f"{name}@{digest}" if digest else name
