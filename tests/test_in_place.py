"""The planner's in-place updates, as a table: a change of the limits alone updates the
container where the engine can (it keeps its id), and replaces it, saying why, where not."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from agent.manifest.models import Container
from agent.output.render import plan_to_dict, render_text
from agent.output.status import statuses
from agent.planning.actions import Plan, Update
from agent.planning.observed import ObservedContainer
from agent.planning.planner import PlanOptions, plan
from agent.planning.record import encode
from agent.planning.spec import RunSpec, build_specs

NS, ROOT, NOW = "ns", "/export", 1_000.0
MI = 1024 * 1024
WEB = Container("web", "nginx:1.25", command=("nginx",), memory=64 * MI, cpu=500)


def spec(**changes: Any) -> RunSpec:
    return build_specs([attrs.evolve(WEB, **changes)], NS, ROOT)[0]


def made_from(the_spec: RunSpec, record: bool = True) -> ObservedContainer:
    """The running container the agent made from ``the_spec``, with its record label."""
    return ObservedContainer(
        id="id-web",
        engine_name=the_spec.engine_name,
        namespace=NS,
        name="web",
        hash=the_spec.hash,
        state="running",
        image=the_spec.image,
        record=encode(the_spec, "00" * 8) if record else "",
    )


OLD = spec()
REPLACED: list[tuple[str, str | None]] = [("remove", None), ("start", None)]
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], list[tuple[str, str | None]]]] = {
    "memory changed -> updated in place": (
        {"memory": 128 * MI},
        {},
        [("update", 'in place: resources.limits.memory: "64Mi" -> "128Mi"')],
    ),
    "memory and cpu changed -> one update names both": (
        {"memory": 32 * MI, "cpu": 2000},
        {},
        [
            (
                "update",
                'in place: resources.limits.memory: "64Mi" -> "32Mi"; '
                'resources.limits.cpu: "500m" -> "2"',
            )
        ],
    ),
    "a limit lifted -> replaced (an engine cannot lift one in place)": (
        {"memory": None},
        {},
        REPLACED,
    ),
    "a limit and the command changed -> replaced": (
        {"memory": 128 * MI, "command": ("nginx", "-g", "daemon off;")},
        {},
        REPLACED,
    ),
    "the image and a limit changed -> replaced": (
        {"memory": 128 * MI, "image": "nginx:1.27"},
        {},
        REPLACED,
    ),
    "an engine that cannot (Podman 4) -> replaced, and the reason says so": (
        {"memory": 128 * MI},
        {"in_place": False},
        [
            (
                "remove",
                "spec changed: resources.limits.memory (this engine cannot change them in "
                "place: replaced)",
            ),
            ("start", "replaces a changed container"),
        ],
    ),
    "no record on the container -> replaced, its origin unknown": (
        {"memory": 128 * MI},
        {"record": False},
        REPLACED,
    ),
    "the restart policy changed -> nothing: the agent restarts, not the engine": (
        {"restart_policy": "OnFailure"},
        {},
        [],
    ),
}


def planned(changes: dict[str, Any], world: dict[str, Any]) -> Plan:
    options = PlanOptions(NS, in_place=world.get("in_place", True))
    observed = made_from(OLD, record=world.get("record", True))
    return plan([spec(**changes)], [observed], NOW, options, updated=world.get("updated"))


@pytest.mark.parametrize(("changes", "world", "expected"), list(CASES.values()), ids=list(CASES))
def test_in_place(
    changes: dict[str, Any], world: dict[str, Any], expected: list[tuple[str, str | None]]
) -> None:
    actions = planned(changes, world).actions
    assert [a.verb for a in actions] == [verb for verb, _ in expected]
    for action, (_, reason) in zip(actions, expected, strict=True):
        assert reason is None or action.reason == reason


def test_an_updated_container_is_in_sync_on_the_next_pass_and_keeps_its_id() -> None:
    new = spec(memory=128 * MI)
    (update,) = planned({"memory": 128 * MI}, {}).actions
    assert isinstance(update, Update) and update.container.id == "id-web"
    updated = {"id-web": (new.hash, encode(new, "11" * 8))}
    assert planned({"memory": 128 * MI}, {"updated": updated}).actions == ()
    # A later change is told against what it was updated to: the command alone.
    again = planned({"memory": 128 * MI, "command": ("httpd",)}, {"updated": updated})
    assert [a.verb for a in again.actions] == ["remove", "start"]
    assert again.actions[0].reason == "spec changed: command"


def test_the_plan_shows_an_update_as_a_tilde_with_what_changes() -> None:
    the_plan = planned({"memory": 128 * MI}, {})
    text = render_text(the_plan)
    assert "  ~ update (change the existing container's limits in place)" in text
    assert f"  ~ web  ({OLD.engine_name})" in text
    assert '        ~ resources.limits.memory: "64Mi" -> "128Mi"' in text
    assert "Plan: 0 to start, 0 to restart, 0 to remove, 1 to update in place." in text
    document = plan_to_dict(the_plan)
    assert document["summary"]["update"] == 1
    (action,) = document["actions"]
    assert (action["action"], action["id"]) == ("update", "id-web")
    assert action["changes"] == [
        {
            "field": "resources.limits.memory",
            "change": "update",
            "key": None,
            "before": "64Mi",
            "after": "128Mi",
            "hidden": False,
        }
    ]


def test_status_says_a_container_to_update_is_changed_and_how() -> None:
    the_plan = planned({"memory": 128 * MI}, {})
    (row,) = statuses([made_from(OLD)], {}, the_plan, {"web"})
    assert (row.sync, row.reason) == (
        "changed",
        'in place: resources.limits.memory: "64Mi" -> "128Mi"',
    )
