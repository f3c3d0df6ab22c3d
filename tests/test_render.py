"""Plans rendered for people (Terraform-like text) and for machines (JSON)."""

from __future__ import annotations

import json

from agent.output.render import JSON_FORMAT_VERSION, plan_to_dict, render_json, render_text, summary
from agent.planning.actions import CreateNetwork, Join, Plan, Remove, RemoveNetwork, Restart, Start
from agent.planning.network import ObservedNetwork
from agent.planning.observed import ObservedContainer
from agent.planning.spec import RunSpec

WEB = RunSpec(namespace="ns", name="web", image="nginx:1.27", hash="1" * 8 + "a" * 56)
DB = ObservedContainer(
    id="c0ffee",
    engine_name="ns-db-22222222",
    namespace="ns",
    name="db",
    hash="2" * 8 + "b" * 56,
    state="exited",
    exit_code=1,
    image="postgres:16",
)
CACHE = ObservedContainer(
    id="deadbeef",
    engine_name="ns-cache-33333333",
    namespace="ns",
    name="cache",
    hash="3" * 8 + "c" * 56,
    state="running",
    image="redis:7",
)
UNLABELLED = ObservedContainer("abc123", "ns-mystery", "ns", "", "", "running")

ONE_OF_EACH = Plan(
    (
        Remove(CACHE, "not in the manifest any more"),
        Restart(DB, "exited 1"),
        Start(WEB, "missing"),
    )
)


def test_no_changes_is_one_line() -> None:
    assert render_text(Plan()) == "No changes. Containers match the manifest.\n"


def test_one_start_is_aligned_under_its_symbol_with_the_reason_below() -> None:
    assert render_text(Plan((Start(WEB, "missing"),))).endswith(
        "The agent will perform these actions:\n"
        "\n"
        "  + web  (ns-web-11111111)\n"
        "      # missing\n"
        "\n"
        "Plan: 1 to start, 0 to restart, 0 to remove.\n"
    )


def test_one_of_each_action() -> None:
    assert render_text(ONE_OF_EACH) == (
        "Actions are shown with these symbols:\n"
        "  + start (create and start); for a network, make it\n"
        "  ~ restart (start the existing container again)\n"
        "  - remove (stop and remove); for a network, remove it\n"
        "  > join (attach an existing container to the namespace's network, in place)\n"
        "  = wait (an exited container in crash-loop back-off; no change yet)\n"
        "\n"
        "The agent will perform these actions:\n"
        "\n"
        "  - cache  (ns-cache-33333333)\n"
        "      # not in the manifest any more\n"
        "  ~ db     (ns-db-22222222)\n"
        "      # exited 1\n"
        "  + web    (ns-web-11111111)\n"
        "      # missing\n"
        "\n"
        "Plan: 1 to start, 1 to restart, 1 to remove.\n"
    )


def test_summary_counts_each_kind() -> None:
    the_plan = Plan((Remove(CACHE, "x"), Remove(UNLABELLED, "y"), Start(WEB, "z")))
    assert summary(the_plan) == "Plan: 1 to start, 0 to restart, 2 to remove."
    assert summary(Plan()) == "No changes. Containers match the manifest."


def test_json_of_no_changes() -> None:
    assert json.loads(render_json(Plan())) == {
        "format_version": "1",
        "changes": False,
        "summary": {
            "start": 0,
            "restart": 0,
            "remove": 0,
            "wait": 0,
            "join": 0,
            "update": 0,
            "create_network": 0,
            "remove_network": 0,
        },
        "actions": [],
    }


def test_json_of_one_of_each_action_in_plan_order() -> None:
    text = render_json(ONE_OF_EACH)
    assert text.endswith("}\n")
    assert json.loads(text) == {
        "format_version": "1",
        "changes": True,
        "summary": {
            "start": 1,
            "restart": 1,
            "remove": 1,
            "wait": 0,
            "join": 0,
            "update": 0,
            "create_network": 0,
            "remove_network": 0,
        },
        "actions": [
            {
                "action": "remove",
                "name": "cache",
                "engine_name": "ns-cache-33333333",
                "id": "deadbeef",
                "image": "redis:7",
                "hash": "3" * 8 + "c" * 56,
                "reason": "not in the manifest any more",
            },
            {
                "action": "restart",
                "name": "db",
                "engine_name": "ns-db-22222222",
                "id": "c0ffee",
                "image": "postgres:16",
                "hash": "2" * 8 + "b" * 56,
                "reason": "exited 1",
            },
            {
                "action": "start",
                "name": "web",
                "engine_name": "ns-web-11111111",
                "id": None,
                "image": "nginx:1.27",
                "hash": "1" * 8 + "a" * 56,
                "reason": "missing",
            },
        ],
    }
    assert json.loads(text) == plan_to_dict(ONE_OF_EACH)
    assert JSON_FORMAT_VERSION == "1"


def test_json_gives_null_for_what_an_unlabelled_container_lacks() -> None:
    (action,) = plan_to_dict(Plan((Remove(UNLABELLED, "has no name label"),)))["actions"]
    assert action == {
        "action": "remove",
        "name": "",
        "engine_name": "ns-mystery",
        "id": "abc123",
        "image": None,
        "hash": None,
        "reason": "has no name label",
    }


NETWORKED = Plan(
    (
        CreateNetwork("ns-net", "ns", "missing: the namespace's containers reach each other"),
        Join(CACHE, "ns-net", ("cache", "redis"), "not on network ns-net: joins it in place"),
        Start(WEB, "missing"),
    )
)


def test_a_plan_with_the_network_says_it_is_made_and_who_joins() -> None:
    assert render_text(NETWORKED).endswith(
        "The agent will perform these actions:\n"
        "\n"
        "  + network ns-net\n"
        "      # missing: the namespace's containers reach each other\n"
        "  > cache  (ns-cache-33333333)\n"
        "      # not on network ns-net: joins it in place\n"
        "  + web    (ns-web-11111111)\n"
        "      # missing\n"
        "\n"
        "Plan: 1 to start, 0 to restart, 0 to remove, 1 to join. Network ns-net to make.\n"
    )


def test_the_network_removed_last() -> None:
    the_plan = Plan(
        (
            Remove(CACHE, "not in the manifest any more"),
            RemoveNetwork(ObservedNetwork("ns-net", "n1", "ns"), "no container is left"),
        )
    )
    assert render_text(the_plan).endswith(
        "  - cache  (ns-cache-33333333)\n"
        "      # not in the manifest any more\n"
        "  - network ns-net\n"
        "      # no container is left\n"
        "\n"
        "Plan: 0 to start, 0 to restart, 1 to remove. Network ns-net to remove.\n"
    )
    network = plan_to_dict(the_plan)["actions"][1]
    assert network == {
        "action": "remove-network",
        "name": "ns-net",
        "engine_name": "ns-net",
        "id": "n1",
        "image": None,
        "hash": None,
        "reason": "no container is left",
    }


def test_json_of_a_plan_with_the_network() -> None:
    document = plan_to_dict(NETWORKED)
    assert document["summary"] == {
        "start": 1, "restart": 0, "remove": 0, "wait": 0,
        "join": 1, "update": 0, "create_network": 1, "remove_network": 0,
    }  # fmt: skip
    create, join, _ = document["actions"]
    assert create == {
        "action": "create-network",
        "name": "ns-net",
        "engine_name": "ns-net",
        "id": None,
        "image": None,
        "hash": None,
        "reason": "missing: the namespace's containers reach each other",
    }
    assert join["action"] == "join"
    assert (join["id"], join["network"], join["aliases"]) == (
        "deadbeef",
        "ns-net",
        ["cache", "redis"],
    )
