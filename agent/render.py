"""Plans and their results for people (Terraform-like text) and plans for machines (JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agent.actions import Action, Plan, Remove, Restart, Start, Wait

if TYPE_CHECKING:
    from agent.executor import ActionResult

__all__ = [
    "JSON_FORMAT_VERSION",
    "plan_to_dict",
    "render_json",
    "render_results",
    "render_text",
    "summary",
]

JSON_FORMAT_VERSION = "1"
_LEGEND = (
    "Actions are shown with these symbols:\n"
    "  + start (create and start)\n"
    "  ~ restart (start the existing container again)\n"
    "  - remove (stop and remove)\n"
    "  = wait (an exited container in crash-loop back-off; no change yet)\n"
)


def summary(plan: Plan) -> str:
    """``Plan: 2 to start, 1 to restart, 1 to remove.`` or ``No changes.``"""
    waiting = plan.count(Wait)
    tail = f" {waiting} waiting in back-off." if waiting else ""
    if not plan.changes:
        return "No changes. Containers match the manifest." + tail
    return (
        f"Plan: {plan.count(Start)} to start, {plan.count(Restart)} to restart, "
        f"{plan.count(Remove)} to remove." + tail
    )


def render_text(plan: Plan) -> str:
    if not plan.actions:
        return summary(plan) + "\n"
    width = max(len(action.name or "?") for action in plan.actions)
    lines = [_LEGEND, "The agent will perform these actions:", ""]
    for action in plan.actions:
        name = action.name or "?"
        lines.append(f"  {action.symbol} {name:<{width}}  ({action.engine_name})")
        lines.append(f"      # {action.reason}")
        if isinstance(action, Remove):
            lines += [f"        {change.text()}" for change in action.changes]
    lines += ["", summary(plan)]
    return "\n".join(lines) + "\n"


def render_results(results: Sequence[ActionResult]) -> str:
    """What an apply did: a line per action, then ``Apply complete: ...`` (or failed)."""
    lines = [_result_line(result) for result in results]
    failed = sum(not r.ok for r in results)
    done = {
        kind: sum(r.ok and isinstance(r.action, kind) for r in results)
        for kind in (Start, Restart, Remove)
    }
    lines += [
        "",
        f"Apply {'failed' if failed else 'complete'}: {done[Start]} started, "
        f"{done[Restart]} restarted, {done[Remove]} removed, {failed} failed.",
    ]
    return "\n".join(lines) + "\n"


def _result_line(result: ActionResult) -> str:
    action = result.action
    head = f"{action.symbol} {action.name} ({action.engine_name})"
    if result.ok:
        past = {"start": "started", "restart": "restarted", "remove": "removed"}[action.verb]
        return f"{head}: {past}"
    return f"{head}: FAILED: {result.error}"


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The documented JSON form of a plan (``format_version`` "1")."""
    return {
        "format_version": JSON_FORMAT_VERSION,
        "changes": plan.changes,
        "summary": {
            "start": plan.count(Start),
            "restart": plan.count(Restart),
            "remove": plan.count(Remove),
            "wait": plan.count(Wait),
        },
        "actions": [_action(action) for action in plan.actions],
    }


def render_json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2, sort_keys=True) + "\n"


def _action(action: Action) -> dict[str, Any]:
    if isinstance(action, Start):
        return {
            "action": action.verb,
            "name": action.name,
            "engine_name": action.engine_name,
            "id": None,
            "image": action.spec.image,
            "hash": action.spec.hash,
            "reason": action.reason,
        }
    shown: dict[str, Any] = {
        "action": action.verb,
        "name": action.name,
        "engine_name": action.engine_name,
        "id": action.container.id,
        "image": action.container.image or None,
        "hash": action.container.hash or None,
        "reason": action.reason,
    }
    if isinstance(action, Remove) and action.changes:
        shown["changes"] = [change.as_dict() for change in action.changes]
    return shown
