"""The JSON documents of ``plan``, ``apply`` and ``status`` against the tables of
docs/json-output.md, both ways, from documents that carry every field (engines' own are
checked in the contract suite)."""

from __future__ import annotations

from agent.engine.executor import ActionResult
from agent.manifest.models import Container, EnvVar, Port
from agent.manifest.strategy import UpdateStrategy
from agent.output.render import apply_to_dict, plan_to_dict, status_to_dict
from agent.output.status import statuses
from agent.planning.actions import (
    CreateNetwork,
    Hold,
    Join,
    Plan,
    Remove,
    Rollback,
    Start,
    Wait,
    Watch,
)
from agent.planning.observed import ObservedContainer
from agent.planning.planner import PlanOptions, plan
from agent.planning.record import encode
from agent.planning.rollout import FailedRevision, RolloutInputs, RolloutRecord, group_revisions
from agent.planning.spec import RunSpec, build_specs
from tests.json_docs import problems

NS = "ns"
NOW = 1_000_000.0
NETWORK = "ns-net"


def world() -> tuple[Plan, list[ObservedContainer]]:
    """A plan with the network made, a start, a replacement explained field by field, a
    container of an older agent joining the network, and a wait."""
    old, new = build_specs(
        [
            Container("web", "web:1", env=(EnvVar("A", "1"),), ports=(Port(80, 8080),)),
            Container("web", "web:1", env=(EnvVar("A", "2"),), ports=(Port(80, 8081),)),
        ],
        NS,
        "/export",
        NETWORK,
    )
    db, queue = build_specs(
        [Container("db", "db:1"), Container("queue", "q:1")], NS, "/export", NETWORK
    )
    observed = [
        ObservedContainer(
            "id-web", old.engine_name, NS, "web", old.hash, "running", image="web:1",
            started_at=NOW - 60, ports=old.ports, record=encode(old, "salt"),
        ),
        ObservedContainer(
            "id-db", db.engine_name, NS, "db", db.hash, "exited", exit_code=1,
            image="db:1", started_at=NOW - 6, finished_at=NOW - 5, networks=("bridge",),
        ),
    ]  # fmt: skip
    options = PlanOptions(NS, network=NETWORK)
    the_plan = plan([new, db, queue], observed, NOW, options, None, {"id-db": 2})
    return the_plan, observed


def rollouts() -> tuple[Plan, list[ObservedContainer]]:
    """A plan of rollouts: one begins (api), one is watched (cache), one is rolled back
    (jobs) and one is held back (mail)."""
    names = ("api", "cache", "jobs", "mail")
    old = build_specs([Container(n, f"{n}:1") for n in names], NS, "/export")
    new = build_specs([Container(n, f"{n}:2") for n in names], NS, "/export")

    def made(spec: RunSpec, state: str, suffix: str = "") -> ObservedContainer:
        return ObservedContainer(
            f"id-{spec.name}{suffix}", spec.engine_name, NS, spec.name, spec.hash, state,
            exit_code=1 if state == "exited" else None, image=spec.image,
            image_id="sha256:" + spec.hash, started_at=NOW - 3,
            finished_at=NOW - 1 if state == "exited" else None, ports=(),
        )  # fmt: skip

    observed = [made(spec, "running") for spec in old]
    observed += [made(new[1], "running", "-new"), made(new[2], "exited", "-new")]
    groups = {**{name: "containers.yaml" for name in names}, "mail": "mail.yaml"}
    revision = group_revisions(new, groups)["mail.yaml"]
    failed = {"mail": FailedRevision(new[3].hash, "", revision, "exited 1 after 0s", NOW - 60)}
    records = {
        n: RolloutRecord(f"id-{n}", new[i].hash, NOW - 3) for i, n in enumerate(names[1:3], 1)
    }
    inputs = RolloutInputs(
        {n: UpdateStrategy(max_unavailable=3) for n in names}, groups, records, failed
    )
    the_plan = plan(new, observed, NOW, PlanOptions(NS), rollouts=inputs)
    return the_plan, observed


def both() -> Plan:
    """The two plans as one: every field of the tables is in it."""
    return Plan(world()[0].actions + rollouts()[0].actions)


def test_the_plan_document_is_the_readme_table() -> None:
    the_plan, _ = world()
    assert [type(a) for a in the_plan.actions] == [CreateNetwork, Remove, Join, Start, Start, Wait]
    assert [type(a) for a in rollouts()[0].actions] == [Rollback, Start, Watch, Hold]
    assert problems(plan_to_dict(both()), "plan") == []


def test_the_apply_document_is_the_readme_table() -> None:
    the_plan, _ = world()
    network, remove, join, start, other, _ = the_plan.actions
    results = [
        ActionResult(network, container_id="id-net", elapsed=0.05),
        ActionResult(remove, container_id="id-web", elapsed=0.5),
        ActionResult(join, container_id="id-db", elapsed=0.1),
        ActionResult(start, container_id="id-new", elapsed=0.25),
        ActionResult(other, error="no such image", elapsed=0.1),
    ]
    document = apply_to_dict(both(), results, 1.5)
    assert problems(document, "apply") == []
    assert document["totals"] == {
        "started": 1, "restarted": 0, "removed": 1, "joined": 1, "updated": 0, "failed": 1,
        "elapsed_seconds": 1.5,
    }  # fmt: skip


def test_the_status_document_is_the_readme_table() -> None:
    the_plan, observed = world()
    rows = statuses(observed, {"id-db": 2}, the_plan, {"web", "db", "queue"})
    document = status_to_dict(rows, NOW, NS, "unix:///run/docker.sock", NETWORK)
    assert problems(document, "status") == []


def test_a_field_the_readme_does_not_list_is_found() -> None:
    document = plan_to_dict(both())
    document["extra"] = 1
    document["summary"]["start"] = "one"
    del document["changes"]
    assert problems(document, "plan") == [
        "summary.start: 'one' is not integer",
        "extra: printed but not in the README",
        "changes: in the README but never printed",
    ]
