"""A Compose service's names on the network: ``networks.<n>.aliases`` and the aliases of
``links`` become the manifest's ``aliases`` where they do not clash, else a note. The
agent's containers share the namespace's one network, so no other network is made."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.convert.compose_common import label
from agent.convert.notes import NoteTaker

__all__ = ["ONE_NETWORK", "NetworkNames"]

ONE_NETWORK = "the agent's containers share the namespace's one network"


class NetworkNames:
    """The further names the services of a file ask for, given to their containers once
    every service is converted (an alias may name a service further down the file)."""

    def __init__(self, note: NoteTaker) -> None:
        self.note = note
        # (service, field, the container it names, alias)
        self.asked: list[tuple[str, str, str, str]] = []

    def ask(self, name: str, container: str, service: Mapping[str, Any]) -> None:
        """The aliases the service ``name`` (converted as ``container``) asks for:
        ``networks.<n>.aliases`` name it, ``links`` with an alias (``db:database``) name the
        linked service (on the one network here, for every container, where Compose shows a
        link's alias to the linking service only)."""
        networks = service.get("networks")
        if isinstance(networks, dict):
            for network, options in networks.items():
                if not isinstance(options, dict):
                    continue
                for option, value in options.items():
                    where = f"networks.{network}.{option}"
                    if option != "aliases":
                        self.note(name, where, f"not mapped ({ONE_NETWORK})")
                    elif isinstance(value, list):
                        self.asked += [(name, where, container, str(alias)) for alias in value]
                    else:
                        self.note(name, where, "not mapped: not a list")
        elif networks is not None and not isinstance(networks, list):
            self.note(name, "networks", "not mapped: not a list or a mapping")
        links = service.get("links")
        if links is not None and not isinstance(links, list):
            self.note(name, "links", "not mapped: not a list")
            return
        for link in links or []:
            target, _, alias = str(link).partition(":")
            if alias:
                self.asked.append((name, "links", label(target) or target, alias))

    def give(self, containers: list[dict[str, Any]]) -> None:
        """Each alias asked for to its container, unless the name means another already
        (a container's name or another's alias): then a note."""
        by_name = {c["name"]: c for c in containers}
        owner: dict[str, str] = {}
        for service, field, target, alias in self.asked:
            name = label(alias)
            if target not in by_name:
                self.note(service, field, f"alias {alias} not mapped: {target} is not converted")
            elif name is None:
                self.note(service, field, f"alias {alias} not mapped: not an RFC 1035 name")
            elif name == target or owner.get(name) == target:
                continue
            elif name in by_name or name in owner:
                taken = owner.get(name, name)
                self.note(
                    service,
                    field,
                    f"alias {alias} not mapped: {name} names container {taken} already",
                )
            else:
                owner[name] = target
                by_name[target].setdefault("aliases", []).append(name)
