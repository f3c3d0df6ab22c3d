"""The namespace's network: its name, what the engine reports of it, and whose it is.

By default the containers of one namespace share one user-defined network of the
engine (a bridge on dockerd, a netavark network on Podman), on which each answers to
its manifest name and its ``aliases``, as the services of a Compose project do on its
default network. The network is the agent's: it carries the namespace label, as the
containers do, and a network of its name without that label is refused, never used.
Pure: nothing here touches an engine.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from agent.errors import AgentError
from agent.planning.observed import ObservedContainer
from agent.planning.spec import LABEL_NAMESPACE

__all__ = [
    "NetworkConflict",
    "ObservedNetwork",
    "all_attached",
    "network_labels",
    "network_name",
    "owned",
]

NETWORK_SUFFIX = "-net"


def network_name(namespace: str) -> str:
    """``<namespace>-net``: a name both engines take (a namespace is an RFC 1035 label)."""
    return f"{namespace}{NETWORK_SUFFIX}"


def network_labels(namespace: str) -> dict[str, str]:
    """The labels the agent gives its network: the namespace label, as on its containers."""
    return {LABEL_NAMESPACE: namespace}


@attrs.frozen
class ObservedNetwork:
    """A network as the engine reports it: its name, its id (empty when it was only
    inferred from the containers on it) and the value of its namespace label (empty: none)."""

    name: str
    id: str = ""
    namespace: str = ""


class NetworkConflict(AgentError):
    """A network of the namespace network's name that is not the namespace's own."""

    def __init__(self, network: ObservedNetwork, namespace: str) -> None:
        self.network = network
        self.namespace = namespace
        owner = (
            f"is labelled {LABEL_NAMESPACE}={network.namespace}"
            if network.namespace
            else f"has no {LABEL_NAMESPACE} label: container-agent did not make it"
        )
        super().__init__(
            f"network {network.name!r} exists and {owner}; it is not namespace "
            f"{namespace!r}'s own network and will not be used. Remove or rename it, or "
            "run with --no-network (every container alone on the engine's default network)"
        )


def owned(network: ObservedNetwork | None, namespace: str) -> ObservedNetwork | None:
    """``network`` when it is the namespace's own; None when there is none; raises
    :class:`NetworkConflict` for one of that name that is someone else's."""
    if network is not None and network.namespace != namespace:
        raise NetworkConflict(network, namespace)
    return network


def all_attached(observed: Iterable[ObservedContainer], name: str) -> bool:
    """Whether the listing shows containers, every one of them on the network ``name``:
    then the network exists, and the agent attached them to it, so it is the namespace's."""
    found = False
    for container in observed:
        if container.networks is None or name not in container.networks:
            return False
        found = True
    return found
