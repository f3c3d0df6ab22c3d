"""What a person or a script reads: plans, results and status as text or JSON
(``render``, ``status``) and live progress on a terminal (``progress``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.lazy import on_first_use

if TYPE_CHECKING:
    from agent.output.progress import ApplyProgress
    from agent.output.render import (
        JSON_FORMAT_VERSION,
        apply_to_dict,
        plan_to_dict,
        render_json,
        render_results,
        render_status,
        render_text,
        status_to_dict,
    )
    from agent.output.status import ContainerStatus, statuses

__all__ = [
    "JSON_FORMAT_VERSION",
    "ApplyProgress",
    "ContainerStatus",
    "apply_to_dict",
    "plan_to_dict",
    "render_json",
    "render_results",
    "render_status",
    "render_text",
    "status_to_dict",
    "statuses",
]

_HOMES = {
    "JSON_FORMAT_VERSION": ".render",
    "apply_to_dict": ".render",
    "plan_to_dict": ".render",
    "render_json": ".render",
    "render_results": ".render",
    "render_status": ".render",
    "render_text": ".render",
    "status_to_dict": ".render",
    "ContainerStatus": ".status",
    "statuses": ".status",
    "ApplyProgress": ".progress",
}


__getattr__ = on_first_use(__name__, _HOMES)
