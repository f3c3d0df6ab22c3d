"""What ``agent apply`` shows while it works: a line per finished action, and on a terminal
a live progress bar (rich) above which those lines scroll.

Output that is not a terminal (a pipe, a file, a CI log) gets the plain lines alone, each
written and flushed as its action finishes, so that ``agent apply | tee`` shows progress too.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from agent.output.render import render_text, result_line
from agent.planning.actions import Plan, Wait

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from agent.engine.executor import ActionResult

__all__ = ["LIVE_FROM", "ApplyProgress"]

LIVE_FROM = 2
"""The fewest actions for which a terminal gets the live display."""


class ApplyProgress:
    """A context for one apply: :meth:`planned` prints the plan (converge's ``on_plan``),
    then call it with each :class:`ActionResult` as it comes in (the ``on_result``).
    ``live`` forces the live display on or off; by default a terminal gets it."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.total = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> ApplyProgress:
        return self

    def planned(self, plan: Plan) -> None:
        """Print the plan; start the live display when it has enough actions for one."""
        self.stream.write(render_text(plan))
        self.total = sum(not isinstance(action, Wait) for action in plan.actions)
        if self.total:
            self.stream.write("\n")
        self.stream.flush()
        if self.live and self.total >= LIVE_FROM:
            # rich is imported only for a live display: a plain apply does not pay for it.
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("Applying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("apply", total=self.total)

    def __call__(self, result: ActionResult) -> None:
        line = result_line(result)
        if self._progress is not None and self._task is not None:
            self._progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
            self._progress.advance(self._task)
            return
        self.stream.write(line + "\n")
        self.stream.flush()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
