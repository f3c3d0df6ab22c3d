"""Plans and their results for people (Terraform-like text) and plans for machines (JSON)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agent.output.status import CHANGED, ContainerStatus
from agent.planning.actions import (
    Action,
    CreateNetwork,
    Hold,
    Join,
    Plan,
    Remove,
    RemoveNetwork,
    Restart,
    Rollback,
    Start,
    Update,
    Wait,
    Watch,
)
from agent.planning.observed import short_image_id
from agent.planning.spec import PortBinding

if TYPE_CHECKING:
    from agent.engine.executor import ActionResult

__all__ = [
    "JSON_FORMAT_VERSION",
    "apply_summary",
    "apply_to_dict",
    "plan_to_dict",
    "render_json",
    "render_results",
    "render_status",
    "render_text",
    "result_line",
    "status_to_dict",
    "summary",
    "to_json",
]

JSON_FORMAT_VERSION = "1"
_LEGEND = (
    "Actions are shown with these symbols:\n"
    "  + start (create and start); for a network, make it\n"
    "  ~ restart (start the existing container again)\n"
    "  - remove (stop and remove); for a network, remove it\n"
    "  > join (attach an existing container to the namespace's network, in place)\n"
    "  = wait (an exited container in crash-loop back-off; no change yet)\n"
)
_ROLLOUT_LEGEND = (
    "  ^ watch (a rollout under way: the new container must run longer; no change yet)\n"
    "  < rollback (a new container failed: it goes, the previous one runs again)\n"
    "  ! held back (a change whose rollout failed, or whose manifest's rollout stopped)\n"
)
"""The legend's lines for rollouts, shown when a plan has one."""
_LEGEND_UPDATE = "  ~ update (change the existing container's limits in place)\n"


def summary(plan: Plan) -> str:
    """``Plan: 2 to start, 1 to restart, 1 to remove.`` or ``No changes.``; with joins
    ``..., 2 to join.``, and the network's fate: ``Network ns-net to make.``"""
    waiting = plan.count(Wait)
    tail = f" {waiting} waiting in back-off." if waiting else ""
    watched, held = plan.count(Watch), plan.count(Hold)
    tail += f" {watched} rolling out." if watched else ""
    tail += f" {held} held back." if held else ""
    if not plan.changes and (watched or held):
        return "No changes yet." + tail
    if not plan.changes:
        return "No changes. Containers match the manifest." + tail
    joins = plan.count(Join)
    rollbacks = plan.count(Rollback)
    updates = plan.count(Update)
    network = "".join(
        f" Network {a.name} to {'make' if isinstance(a, CreateNetwork) else 'remove'}."
        for a in plan.actions
        if isinstance(a, (CreateNetwork, RemoveNetwork))
    )
    return (
        f"Plan: {plan.count(Start)} to start, {plan.count(Restart)} to restart, "
        f"{plan.count(Remove)} to remove"
        + (f", {updates} to update in place" if updates else "")
        + (f", {joins} to join" if joins else "")
        + (f", {rollbacks} to roll back" if rollbacks else "")
        + "."
        + network
        + tail
    )


def render_text(plan: Plan) -> str:
    if not plan.actions:
        return summary(plan) + "\n"
    width = max(
        (
            len(a.name or "?")
            for a in plan.actions
            if not isinstance(a, (CreateNetwork, RemoveNetwork))
        ),
        default=1,
    )
    rolling = any(isinstance(a, (Watch, Rollback, Hold)) for a in plan.actions)
    legend = _LEGEND + (_LEGEND_UPDATE if plan.count(Update) else "")
    legend += _ROLLOUT_LEGEND if rolling else ""
    lines = [legend, "The agent will perform these actions:", ""]
    for action in plan.actions:
        name = action.name or "?"
        if isinstance(action, (CreateNetwork, RemoveNetwork)):
            lines.append(f"  {action.symbol} network {name}")
        else:
            lines.append(f"  {action.symbol} {name:<{width}}  ({action.engine_name})")
        lines.append(f"      # {action.reason}")
        if isinstance(action, (Remove, Start, Update)):
            lines += [f"        {change.text()}" for change in action.changes]
    lines += ["", summary(plan)]
    return "\n".join(lines) + "\n"


def render_results(results: Sequence[ActionResult], elapsed: float | None = None) -> str:
    """What an apply did: a line per action, then :func:`apply_summary`."""
    lines = [result_line(result) for result in results]
    return "\n".join([*lines, "", apply_summary(results, elapsed)]) + "\n"


def apply_summary(results: Sequence[ActionResult], elapsed: float | None = None) -> str:
    """``Apply complete: 2 started, 0 restarted, 1 removed, 0 failed. Took 1.4s.``"""
    totals = _totals(results)
    took = "" if elapsed is None else f" Took {elapsed:.1f}s."
    joined = f"{totals['joined']} joined, " if totals["joined"] else ""
    joined += f"{totals['updated']} updated in place, " if totals["updated"] else ""
    back = sum(r.ok and isinstance(r.action, Rollback) for r in results)
    how = "rolled back" if back else "failed" if totals["failed"] else "complete"
    return (
        f"Apply {how}: {totals['started']} started, "
        f"{totals['restarted']} restarted, {totals['removed']} removed, {joined}"
        + (f"{back} rolled back, " if back else "")
        + f"{totals['failed']} failed."
        + took
    )


def _totals(results: Sequence[ActionResult]) -> dict[str, int]:
    done = {_PAST[verb]: sum(r.ok and r.action.verb == verb for r in results) for verb in _COUNTED}
    return {**done, "failed": sum(not r.ok for r in results)}


_PAST = {
    "start": "started",
    "restart": "restarted",
    "remove": "removed",
    "join": "joined",
    "update": "updated",
    "create-network": "made",
    "remove-network": "removed",
    "rollback": "rolled back",
}
_COUNTED = ("start", "restart", "remove", "join", "update")
"""The verbs an apply's totals count: what was done to containers (the network is none)."""


def result_line(result: ActionResult) -> str:
    """``+ web (ns-web-1a2b3c4d): started in 0.41s``, or ``...: FAILED after 0.2s: why``;
    ``+ network ns-net: made in 0.05s``."""
    action = result.action
    if isinstance(action, (CreateNetwork, RemoveNetwork)):
        head = f"{action.symbol} network {action.name}"
    else:
        head = f"{action.symbol} {action.name} ({action.engine_name})"
    if result.ok and isinstance(action, Rollback):
        return f"{head}: {_PAST[action.verb]} in {result.elapsed:.2f}s: {action.reason}"
    if result.ok:
        return f"{head}: {_PAST[action.verb]} in {result.elapsed:.2f}s"
    return f"{head}: FAILED after {result.elapsed:.2f}s: {result.error}"


def apply_to_dict(plan: Plan, results: Sequence[ActionResult], elapsed: float) -> dict[str, Any]:
    """The documented JSON form of an apply: the plan, each action's result, the totals."""
    return {
        "format_version": JSON_FORMAT_VERSION,
        "plan": plan_to_dict(plan),
        "results": [
            {
                "action": r.action.verb,
                "name": r.action.name,
                "engine_name": r.action.engine_name,
                "ok": r.ok,
                "error": r.error,
                "id": r.container_id,
                "elapsed_seconds": round(r.elapsed, 3),
            }
            for r in results
        ],
        "totals": {**_totals(results), "elapsed_seconds": round(elapsed, 3)},
    }


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
            "join": plan.count(Join),
            "update": plan.count(Update),
            "create_network": plan.count(CreateNetwork),
            "remove_network": plan.count(RemoveNetwork),
        },
        "actions": [_action(action) for action in plan.actions],
        **_rollouts(plan),
    }


def _rollouts(plan: Plan) -> dict[str, Any]:
    """A plan's rollouts, counted, for a plan that has one: else nothing."""
    counts = {
        "starting": sum(isinstance(a, Start) and a.previous is not None for a in plan.actions),
        "watching": plan.count(Watch),
        "rollback": plan.count(Rollback),
        "held": plan.count(Hold),
    }
    return {"rollouts": counts} if any(counts.values()) else {}


def render_json(plan: Plan) -> str:
    return to_json(plan_to_dict(plan))


def to_json(document: dict[str, Any]) -> str:
    """A document of the agent's JSON output, as it prints them."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _action(action: Action) -> dict[str, Any]:
    if isinstance(action, (CreateNetwork, RemoveNetwork)):
        return {
            "action": action.verb,
            "name": action.name,
            "engine_name": action.engine_name,
            "id": (action.network.id or None) if isinstance(action, RemoveNetwork) else None,
            "image": None,
            "hash": None,
            "reason": action.reason,
        }
    if isinstance(action, Start):
        started: dict[str, Any] = {
            "action": action.verb,
            "name": action.name,
            "engine_name": action.engine_name,
            "id": None,
            "image": action.spec.image,
            "hash": action.spec.hash,
            "reason": action.reason,
        }
        if action.previous is not None:
            started["rollout"] = action.mode
            started["previous"] = action.previous.engine_name
            if action.changes:
                started["changes"] = [change.as_dict() for change in action.changes]
        return started
    shown: dict[str, Any] = {
        "action": action.verb,
        "name": action.name,
        "engine_name": action.engine_name,
        "id": action.container.id,
        "image": action.container.image or None,
        "hash": action.container.hash or None,
        "reason": action.reason,
    }
    if isinstance(action, (Remove, Update)) and action.changes:
        shown["changes"] = [change.as_dict() for change in action.changes]
    if isinstance(action, Join):
        shown["network"] = action.network
        shown["aliases"] = list(action.aliases)
    if isinstance(action, Rollback):
        shown["failed"] = action.failed.engine_name if action.failed is not None else None
    if isinstance(action, Watch):
        shown["due"] = action.due or None
    return shown


def render_status(
    rows: Sequence[ContainerStatus], now: float, namespace: str, network: str | None = None
) -> str:
    """``agent status`` for people: a table as ``docker ps`` prints one, with a SYNC
    column when manifests were given; then the namespace's ``network``, when it has one."""
    footer = f"Network: {network}\n" if network else ""
    if not rows:
        return f"No containers in namespace {namespace}.\n" + footer
    with_sync = any(row.sync is not None for row in rows)
    with_health = any(row.health is not None for row in rows)
    with_ids = any(row.image_id for row in rows)
    header = ["NAME", "STATE", "RESTARTS", "UPTIME", "PORTS", "IMAGE"]
    header += ["IMAGE ID"] if with_ids else []
    header += ["ENGINE NAME"]
    header += ["HEALTH"] if with_health else []
    table = [[*header, "SYNC"] if with_sync else header]
    for row in rows:
        uptime = row.uptime(now)
        line = [
            row.name or "?",
            _state(row, now),
            str(row.restarts),
            "-" if uptime is None else _duration(uptime),
            ", ".join(map(_port, row.ports)) or "-",
            _image(row.image),
            *([short_image_id(row.image_id) if row.image_id else "-"] if with_ids else []),
            row.engine_name,
        ]
        line += [_health(row)] if with_health else []
        table.append([*line, _sync(row)] if with_sync else line)
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = ("   ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in table)
    return "".join(line.rstrip() + "\n" for line in lines) + footer


_IMAGE_ID = re.compile(r"(?:sha256:|sha512:)?[0-9a-f]{64,128}")


def _image(image: str) -> str:
    """The image as the engine lists it; an image id (dockerd lists one in place of a tag
    that has moved to another image since) short, as ``docker ps`` shows it."""
    if not image:
        return "-"
    return short_image_id(image) if _IMAGE_ID.fullmatch(image) else image


def _state(row: ContainerStatus, now: float) -> str:
    """``running``, ``exited (1)``, ``exited (1), restart in 12s``, ``missing``."""
    state = row.state if row.exit_code is None else f"{row.state} ({row.exit_code})"
    if row.restart_at is not None:
        state += f", restart in {_duration(max(0.0, row.restart_at - now))}"
    return state


def _health(row: ContainerStatus) -> str:
    """The HEALTH column: ``healthy``, ``starting``, ``unhealthy (HTTP 500 from ...)``."""
    if row.health == "unhealthy" and row.probe:
        return f"unhealthy ({row.probe})"
    return row.health or "-"


def _sync(row: ContainerStatus) -> str:
    """The SYNC column; a changed container says what changed."""
    if row.sync == CHANGED and row.reason:
        return f"{row.sync} ({row.reason})"
    return row.sync or ""


def _port(port: PortBinding) -> str:
    """``127.0.0.1:8080->80/tcp`` as ``docker ps`` prints a published port."""
    address = f"[{port.host_ip}]" if ":" in port.host_ip else port.host_ip or "0.0.0.0"
    return f"{address}:{port.host_port}->{port.container_port}/{port.protocol}"


def _duration(seconds: float) -> str:
    """``45s``, ``4m05s``, ``3h12m``, ``2d04h``: two units at most, as ``kubectl get``."""
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def status_to_dict(
    rows: Sequence[ContainerStatus],
    now: float,
    namespace: str,
    engine: str,
    network: str | None = None,
) -> dict[str, Any]:
    """The documented JSON form of ``agent status`` (``format_version`` "1")."""
    return {
        "format_version": JSON_FORMAT_VERSION,
        "namespace": namespace,
        "engine": engine,
        "network": network,
        "time": round(now, 3),
        "containers": [
            {
                "name": row.name,
                "engine_name": row.engine_name,
                "id": row.id,
                "image": row.image,
                "image_id": row.image_id,
                "state": row.state,
                "exit_code": row.exit_code,
                "restarts": row.restarts,
                "started_at": row.started_at,
                "uptime_seconds": _rounded(row.uptime(now)),
                "restart_at": row.restart_at,
                "ports": [
                    {
                        "host_ip": port.host_ip,
                        "host_port": port.host_port,
                        "container_port": port.container_port,
                        "protocol": port.protocol,
                    }
                    for port in row.ports
                ],
                "sync": row.sync,
                "reason": row.reason,
                "health": row.health,
                "probe": row.probe,
                "probed_at": row.probed_at,
            }
            for row in rows
        ],
    }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)
