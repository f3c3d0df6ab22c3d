"""The record a container carries of its spec, and the plan's field-by-field changes, as a
table: one change of each field, two at once, and the cases the record cannot explain."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from agent.manifest.models import Container, EnvVar, Port, VolumeMount
from agent.output.render import plan_to_dict, render_text
from agent.planning.actions import Remove, Start
from agent.planning.observed import ObservedContainer
from agent.planning.planner import PlanOptions, plan
from agent.planning.record import FORMAT, changes, decode, encode
from agent.planning.spec import LABEL_RECORD, RunSpec, build_specs

NS = "ns"
SALT = "0123456789abcdef"
SECRET = "s3cr3t-value-that-must-never-show"
BASE = Container(
    "web",
    "localhost/web:1",
    command=("sleep", "3600"),
    working_dir="/srv",
    ports=(Port(8080, 8080, "TCP", "127.0.0.1"),),
    volume_mounts=(VolumeMount("data", "/data"),),
    env=(EnvVar("GREETING", "hello"), EnvVar("TOKEN", SECRET)),
)


def spec_of(container: Container) -> RunSpec:
    return build_specs([container], NS, "/export")[0]


def made_from(spec: RunSpec, record: str) -> ObservedContainer:
    """The running container the agent made from ``spec``, with ``record`` as its label."""
    return ObservedContainer(
        "c0ffee", spec.engine_name, NS, spec.name, spec.hash, "running", image=spec.image,
        record=record,
    )  # fmt: skip


def planned(edit: dict[str, Any], record: str | None = None) -> Remove:
    """The removal planned when ``edit`` changes BASE; ``record`` is its label (by default
    the record of BASE)."""
    base = spec_of(BASE)
    label = encode(base, SALT) if record is None else record
    new = spec_of(attrs.evolve(BASE, **edit))
    (remove, start) = plan([new], [made_from(base, label)], 0.0, PlanOptions(NS)).actions
    assert isinstance(remove, Remove) and isinstance(start, Start)
    return remove


EDITS = [
    pytest.param(
        {"command": ("sleep", "3601")},
        "spec changed: command",
        ['~ command: ["sleep", "3600"] -> ["sleep", "3601"]'],
        id="the command",
    ),
    pytest.param(
        {"image": "localhost/web:2"},
        "image changed: localhost/web:1 -> localhost/web:2",
        ['~ image: "localhost/web:1" -> "localhost/web:2"'],
        id="the image",
    ),
    pytest.param(
        {"working_dir": "/app"},
        "spec changed: workingDir",
        ['~ workingDir: "/srv" -> "/app"'],
        id="the working directory",
    ),
    pytest.param(
        {"working_dir": None},
        "spec changed: workingDir",
        ['~ workingDir: "/srv" -> null'],
        id="the working directory dropped",
    ),
    pytest.param(
        {"env": (EnvVar("GREETING", "hello"), EnvVar("TOKEN", "another secret"))},
        "spec changed: env",
        ["~ env TOKEN: (value changed, hidden)"],
        id="an env value",
    ),
    pytest.param(
        {"env": (EnvVar("GREETING", "hello"),)},
        "spec changed: env",
        ["- env TOKEN"],
        id="an env variable dropped",
    ),
    pytest.param(
        {"env": (*BASE.env, EnvVar("MODE", "fast"))},
        "spec changed: env",
        ["+ env MODE"],
        id="an env variable added",
    ),
    pytest.param(
        {"ports": (Port(8080, 8081, "TCP", "127.0.0.1"),)},
        "spec changed: port",
        ["- port 127.0.0.1:8080->8080/tcp", "+ port 127.0.0.1:8081->8080/tcp"],
        id="a host port",
    ),
    pytest.param(
        {"ports": (*BASE.ports, Port(53, 5353, "UDP", "::1"))},
        "spec changed: port",
        ["+ port [::1]:5353->53/udp"],
        id="a port added",
    ),
    pytest.param(
        {"volume_mounts": (VolumeMount("data", "/data", read_only=True),)},
        "spec changed: mount",
        ["- mount /export/data:/data", "+ mount /export/data:/data:ro"],
        id="a mount made read-only",
    ),
    pytest.param(
        {"volume_mounts": ()},
        "spec changed: mount",
        ["- mount /export/data:/data"],
        id="a mount dropped",
    ),
    pytest.param(
        {"command": ("sleep", "1"), "env": (EnvVar("GREETING", "hi"), BASE.env[1])},
        "spec changed: command, env",
        [
            '~ command: ["sleep", "3600"] -> ["sleep", "1"]',
            "~ env GREETING: (value changed, hidden)",
        ],
        id="two fields at once",
    ),
    pytest.param(
        {"command": ("sleep", "1"), "restart_policy": "OnFailure"},
        "spec changed: command, restartPolicy",
        [
            '~ command: ["sleep", "3600"] -> ["sleep", "1"]',
            '~ restartPolicy: "Always" -> "OnFailure"',
        ],
        id="a policy beside a change that replaces",
    ),
]


@pytest.mark.parametrize(("edit", "reason", "lines"), EDITS)
def test_a_replacement_says_what_changed_field_by_field(
    edit: dict[str, Any], reason: str, lines: list[str]
) -> None:
    remove = planned(edit)
    assert remove.reason == reason
    assert [change.text() for change in remove.changes] == lines
    text = render_text(plan([spec_of(attrs.evolve(BASE, **edit))], [remove.container], 0.0,
                            PlanOptions(NS)))  # fmt: skip
    assert all(f"        {line}\n" in text for line in lines)
    assert SECRET not in text and "another secret" not in text


def test_the_json_plan_carries_the_changes_and_no_env_value() -> None:
    new = spec_of(attrs.evolve(BASE, env=(EnvVar("GREETING", "hello"), EnvVar("TOKEN", "x"))))
    base = spec_of(BASE)
    the_plan = plan([new], [made_from(base, encode(base, SALT))], 0.0, PlanOptions(NS))
    removal = plan_to_dict(the_plan)["actions"][0]
    assert removal["changes"] == [
        {"field": "env", "change": "update", "key": "TOKEN", "before": None, "after": None,
         "hidden": True},
    ]  # fmt: skip
    assert SECRET not in json.dumps(plan_to_dict(the_plan))


@pytest.mark.parametrize(
    "label",
    ["", "not json", json.dumps({"v": FORMAT + 1, "salt": SALT, "env": {}}), "[1, 2]"],
    ids=["no record", "an unreadable one", "a record of another format", "not an object"],
)
def test_without_a_readable_record_the_origin_is_unknown_and_the_plan_is_the_same(
    label: str,
) -> None:
    remove = planned({"command": ("sleep", "3601")}, record=label)
    assert remove.reason.startswith("spec changed (hash ")
    assert remove.reason.endswith("; origin unknown: no record on it")
    assert remove.changes == ()


def test_the_record_alone_never_causes_a_replacement() -> None:
    base = spec_of(BASE)
    other_format = json.dumps({"v": FORMAT + 1})
    for label in ("", other_format, encode(base, SALT)):
        assert plan([base], [made_from(base, label)], 0.0, PlanOptions(NS)).actions == ()


def test_the_record_holds_no_env_value_and_is_salted() -> None:
    base = spec_of(BASE)
    first, second = encode(base, SALT), encode(base, "fedcba9876543210")
    assert SECRET not in first and "hello" not in first
    digests = [decode(label)["env"]["TOKEN"] for label in (first, second)]  # type: ignore[index]
    assert digests[0] != digests[1], "equal values in two containers do not look alike"
    assert changes(first, base) == ()


def test_a_record_rides_on_the_container_as_one_label() -> None:
    base = spec_of(BASE)
    labelled = attrs.evolve(base, record=encode(base, SALT))
    assert labelled.labels[LABEL_RECORD] == encode(base, SALT)
    assert labelled.hash == base.hash and labelled.engine_name == base.engine_name
    assert LABEL_RECORD not in base.labels


def test_a_large_containers_record_stays_small() -> None:
    big = attrs.evolve(
        BASE,
        command=tuple(f"--flag-{i}=value-{i}" for i in range(50)),
        env=tuple(EnvVar(f"VARIABLE_{i}", "x" * 1000) for i in range(100)),
        ports=tuple(Port(1000 + i, 20000 + i, "TCP", "127.0.0.1") for i in range(50)),
    )
    assert len(encode(spec_of(big), SALT)) < 8 * 1024
