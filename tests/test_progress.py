"""What ``agent apply`` prints as it goes, with and without a live display."""

from __future__ import annotations

import io

from agent.engine.executor import ActionResult
from agent.manifest.models import Container
from agent.output.progress import ApplyProgress
from agent.output.render import apply_summary
from agent.planning.actions import Plan, Remove, Start, Wait
from agent.planning.observed import ObservedContainer
from agent.planning.spec import build_specs

web, api = build_specs([Container("web", "web:1"), Container("api", "api:1")], "ns", "/x")
old = ObservedContainer("id-old", "ns-old-1", "ns", "old", "0" * 64, "running")
sleepy = ObservedContainer("id-db", "ns-db-1", "ns", "db", "0" * 64, "exited", exit_code=1)
PLAN = Plan(
    (Remove(old, "not in the manifest any more"), Start(web, "missing"), Start(api, "missing"),
     Wait(sleepy, "back-off: exited 1, restart in 9s", 9.0))
)  # fmt: skip
RESULTS = [
    ActionResult(PLAN.actions[1], container_id="id-web", elapsed=0.412),
    ActionResult(PLAN.actions[0], container_id="id-old", elapsed=1.5),
    ActionResult(PLAN.actions[2], error="no such image: api:1", elapsed=0.05),
]


def test_without_a_terminal_each_result_is_a_line_as_it_comes() -> None:
    out = io.StringIO()
    with ApplyProgress(out) as progress:
        progress.planned(PLAN)
        assert out.getvalue().endswith("Plan: 2 to start, 0 to restart, 1 to remove. "
                                       "1 waiting in back-off.\n\n")  # fmt: skip
        planned = len(out.getvalue())
        for result in RESULTS:
            progress(result)
    assert progress.total == 3  # the wait is no action
    assert out.getvalue()[planned:].splitlines() == [
        f"+ web ({web.engine_name}): started in 0.41s",
        "- old (ns-old-1): removed in 1.50s",
        f"+ api ({api.engine_name}): FAILED after 0.05s: no such image: api:1",
    ]
    assert apply_summary(RESULTS, 2.04) == (
        "Apply failed: 1 started, 0 restarted, 1 removed, 1 failed. Took 2.0s."
    )


def test_the_live_display_prints_the_same_lines_and_clears_its_bar() -> None:
    out = io.StringIO()
    with ApplyProgress(out, live=True) as progress:
        progress.planned(PLAN)
        for result in RESULTS:
            progress(result)
    printed = out.getvalue()
    assert f"+ web ({web.engine_name}): started in 0.41s" in printed
    assert "FAILED after 0.05s" in printed


def test_a_plan_with_nothing_to_do_starts_no_display() -> None:
    out = io.StringIO()
    with ApplyProgress(out, live=True) as progress:
        progress.planned(Plan())
    assert out.getvalue() == "No changes. Containers match the manifest.\n"
