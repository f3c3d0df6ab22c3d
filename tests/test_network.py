"""The namespace's network as a pass sees it, against the recording fake: when it is
looked up, whose it is, and what a plan does with it."""

from __future__ import annotations

import attrs
import pytest

from agent.daemon.reconcile import plan_for
from agent.daemon.settings import Settings
from agent.manifest.models import Container, Manifest
from agent.planning.network import NetworkConflict, ObservedNetwork, network_name
from agent.planning.observed import ObservedContainer
from agent.sources.load import DesiredSet
from tests.fakes import FakeBackend

NS = "ns"
NET = "ns-net"
WANTED = DesiredSet((Manifest("v1beta1", (Container("web", "nginx:1"),)),))


def running(networks: tuple[str, ...] | None) -> ObservedContainer:
    return ObservedContainer("id-x", "ns-x-0", NS, "x", "0" * 64, "running", networks=networks)


def verbs(fake: FakeBackend, desired: DesiredSet, **settings: object) -> list[str]:
    # A changed container is replaced at once here (Recreate): these tables are about the
    # network, and a rolling update would keep the old container for a later pass.
    chosen = Settings(namespace=NS, update_strategy="Recreate", **settings)  # type: ignore[arg-type]
    the_plan = plan_for(desired, fake.reader(), chosen, 0.0)
    return [a.verb for a in the_plan.actions]


def test_the_name_is_the_namespace_and_net() -> None:
    assert network_name("shop") == "shop-net" == Settings(namespace="shop").network_name
    assert Settings(namespace="shop", no_network=True).network is None


def test_a_converged_namespace_costs_no_look_up() -> None:
    fake = FakeBackend([running((NET,))])
    assert verbs(fake, WANTED) == ["remove", "start"]
    assert fake.network_lookups == 0


def test_a_container_off_the_network_makes_the_pass_look_it_up() -> None:
    fake = FakeBackend([running(("bridge",))])
    fake.networks[NET] = ObservedNetwork(NET, "n1", NS)
    assert verbs(fake, WANTED) == ["remove", "start"]
    assert fake.network_lookups == 1


@pytest.mark.parametrize("label", ["", "other"], ids=["no label", "another namespace's"])
def test_a_network_of_that_name_not_the_namespaces_is_refused(label: str) -> None:
    fake = FakeBackend()
    fake.networks[NET] = ObservedNetwork(NET, "n1", label)
    with pytest.raises(NetworkConflict, match=f"network '{NET}' exists and ") as caught:
        verbs(fake, WANTED)
    assert "--no-network" in str(caught.value)
    assert fake.calls == [("list", NS)]


def test_down_leaves_a_network_not_the_namespaces_alone() -> None:
    fake = FakeBackend([running(("bridge",))])
    fake.networks[NET] = ObservedNetwork(NET, "n1", "")
    assert verbs(fake, DesiredSet()) == ["remove"]


def test_down_removes_the_namespaces_network_even_with_the_network_off() -> None:
    fake = FakeBackend([running(("bridge", NET))])
    fake.networks[NET] = ObservedNetwork(NET, "n1", NS)
    assert verbs(fake, DesiredSet(), no_network=True) == ["remove", "remove-network"]


def test_with_the_network_off_nothing_is_looked_up_or_made() -> None:
    fake = FakeBackend([attrs.evolve(running(("bridge",)), name="web")])
    assert verbs(fake, WANTED, no_network=True) == ["remove", "start"]
    assert fake.network_lookups == 0
