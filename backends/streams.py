"""Event streams: rows read one by one from a streamed HTTP response or a CLI's output,
each turned into a :class:`~agent.planning.observed.ContainerEvent`; closable from any thread."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from agent.planning.observed import ContainerEvent
from backends.base import EventStream
from backends.errors import BackendError, EngineUnreachable, kind_of

__all__ = ["ProcessEvents", "RowEvents", "end_process", "interrupt", "json_lines"]

Reader = Callable[[Mapping[str, Any]], ContainerEvent | None]


class RowEvents(EventStream):
    """The events of ``rows`` (decoded JSON objects) that ``read`` makes out; ``closer``
    ends the rows from another thread; ``errors`` maps the library's errors while reading."""

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]],
        read: Reader,
        closer: Callable[[], None],
        errors: Callable[[], contextlib.AbstractContextManager[None]],
    ) -> None:
        self._rows = rows
        self._read = read
        self._closer = closer
        self._errors = errors
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[ContainerEvent]:
        try:
            with self._errors():
                for row in self._rows:
                    event = self._read(row)
                    if event is not None:
                        yield event
        except BackendError:
            if not self._closed.is_set():
                raise

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(Exception):  # closing what the engine closed already
            self._closer()


class ProcessEvents(EventStream):
    """The events a CLI prints as JSON lines (``docker events``, ``podman events``)."""

    def __init__(self, argv: list[str], read: Reader, address: str, env: Any = None) -> None:
        self._read = read
        self._address = address
        self._closed = threading.Event()
        try:
            self._process = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
                env=env,
            )
        except FileNotFoundError as exc:
            raise EngineUnreachable(f"{argv[0]!r} not found; is it installed?", address) from exc

    def __iter__(self) -> Iterator[ContainerEvent]:
        stdout, stderr = self._process.stdout, self._process.stderr
        assert stdout is not None and stderr is not None
        try:
            for row in json_lines(stdout):
                event = self._read(row)
                if event is not None:
                    yield event
            code = self._process.wait()
            if code != 0 and not self._closed.is_set():
                message = stderr.read() or f"exit code {code}"
                raise kind_of(message)(message, self._address)
        finally:
            self.close()
            stdout.close()
            stderr.close()

    def close(self) -> None:
        """Stop the CLI; its output then ends, and so does the iteration."""
        self._closed.set()
        end_process(self._process)


def end_process(process: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """Stop a CLI that may still run: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def json_lines(lines: Iterable[str | bytes]) -> Iterator[Mapping[str, Any]]:
    """The JSON objects of a stream of lines; blank lines and anything else are skipped."""
    for line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            yield row


def interrupt(response: Any) -> None:
    """Close a streamed ``requests`` response from another thread: shut its socket down
    first, so that a read blocked on it returns (closing alone does not wake it)."""
    with contextlib.suppress(AttributeError, OSError):
        response.raw._fp.fp.raw._sock.shutdown(socket.SHUT_RDWR)
    response.close()
