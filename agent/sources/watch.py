"""Wake the run loop when a manifest source changes: inotify through inotify_simple.

inotify_simple makes the system calls; this module holds only the agent's policy: which
directories to watch for which sources, which names count, when a change has settled. Where
inotify cannot be had (not Linux, out of instances or watches), ``Watcher.wait`` only sleeps,
still wakeable, and the run loop's timed pass is what notices changes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fnmatch
import glob
import logging
import math
import os
import select
import stat
import time
from collections.abc import Callable
from types import TracebackType

import inotify_simple
from inotify_simple import flags

from agent.sources.load import STDIN, is_manifest_file
from agent.sources.metadata import is_metadata
from agent.sources.urls import is_url

__all__ = ["Watcher"]

log = logging.getLogger("agent.watch")

# IN_MODIFY is left out on purpose: a file being written is not ready; IN_CLOSE_WRITE says it is.
_MASK: int = (
    flags.ATTRIB
    | flags.CLOSE_WRITE
    | flags.MOVED_FROM
    | flags.MOVED_TO
    | flags.CREATE
    | flags.DELETE
    | flags.DELETE_SELF
    | flags.MOVE_SELF
    | flags.ONLYDIR
)
_GONE: int = flags.DELETE_SELF | flags.MOVE_SELF | flags.UNMOUNT
# Events after which a name created in this wait is no longer a file being written.
_FINISHED: int = flags.CLOSE_WRITE | flags.DELETE | flags.MOVED_FROM | flags.MOVED_TO
# add_watch errors that mean inotify itself is unusable, not just this one directory.
_FATAL = (errno.ENOSPC, errno.ENOMEM, errno.EBADF, errno.EINVAL)
# A change that never settles is reported this many settle periods after it began.
_BOUND = 5
# poll() takes an int of milliseconds: longer (even infinite) waits poll again after this.
_LONGEST_POLL = 86400.0

Matcher = Callable[[str], bool]


class Watcher:
    """Tells the run loop that a manifest source changed, once it is safe to read.

    Sources are those the agent is given: a file, a directory (its manifest files, not
    recursively), a glob, or ``-`` (standard input: nothing to watch). The directories
    that hold the files are watched, not the files, so a file replaced by rename (as
    editors save), created, deleted or written is seen. Only names that count wake
    ``wait``: the file's own name for a file source (and its symlink target's), manifest
    files (``is_manifest_file``) for a directory or a glob. A directory that does not
    exist (yet, or any more) is waited for in its nearest existing parent.

    A change is reported once it has settled: after the first relevant event, ``wait``
    goes on reading until none has come for ``settle`` seconds and no file created
    meanwhile is still open for writing, but no longer than ``5 * settle`` after the
    first, so a file that never stops changing is still reported.
    """

    def __init__(self, sources: list[str], settle: float = 0.2) -> None:
        self.sources = list(sources)
        self.settle = settle
        self._watches: dict[int, _Watch] = {}
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._poll = select.poll()
        self._poll.register(self._wake_r, select.POLLIN)
        self._inotify: inotify_simple.INotify | None = None
        try:
            self._inotify = _open_inotify()
            self._poll.register(self._inotify.fileno(), select.POLLIN)
            self._arm(self._inotify)
        except OSError as exc:
            self._fall_back(exc)

    @property
    def native(self) -> bool:
        """True when inotify works; False means ``wait`` just sleeps (polling fallback)."""
        return self._inotify is not None

    def wait(self, timeout: float) -> bool:
        """Block until a manifest source changed (True) or timeout/wake (False).

        A change seen before the timeout is still let settle, so this returns within
        ``timeout + 5 * settle``. A wake during settling returns True at once. Never
        raises for an OS reason: inotify failing midway turns into the polling fallback.
        """
        if self._wake_r < 0:
            raise ValueError("wait() on a closed Watcher")
        deadline = time.monotonic() + timeout
        first: float | None = None
        last = 0.0
        writing: set[tuple[int, str]] = set()
        while True:
            ready = self._ready(self._until(deadline, first, last, writing))
            if self._wake_r in ready:
                self._drain()
                return first is not None
            inotify = self._inotify
            if inotify is not None and inotify.fileno() in ready and self._read(inotify, writing):
                last = time.monotonic()
                first = last if first is None else first
            if time.monotonic() >= self._until(deadline, first, last, writing):
                return first is not None

    def wake(self) -> None:
        """Make a blocked or the next wait() return at once; safe to call from a signal handler."""
        # A full pipe already holds a wake-up; a closed watcher has nothing to wake.
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"\0")

    def close(self) -> None:
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1
        self._watches.clear()

    def __enter__(self) -> Watcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _until(
        self, deadline: float, first: float | None, last: float, writing: set[tuple[int, str]]
    ) -> float:
        """When ``wait`` returns: at the deadline, or once the change seen has settled."""
        if first is None:
            return deadline
        bound = first + _BOUND * self.settle
        return bound if writing else min(last + self.settle, bound)

    def _ready(self, until: float) -> set[int]:
        remaining = min(until - time.monotonic(), _LONGEST_POLL)
        timeout_ms = max(0, math.ceil(remaining * 1000))
        try:
            return {fd for fd, _ in self._poll.poll(timeout_ms)}
        except OSError as exc:
            log.debug("poll failed, sleeping instead: %s", exc)
            time.sleep(timeout_ms / 1000)
            return set()

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self._wake_r, 4096):
                pass

    def _read(self, inotify: inotify_simple.INotify, writing: set[tuple[int, str]]) -> bool:
        """Read the events queued; True if one concerns a source. ``writing`` tracks
        the files created in this wait that have not been closed yet."""
        try:
            events = inotify.read(timeout=0)  # what is queued now: never blocks
        except OSError as exc:
            self._fall_back(exc)
            return False
        changed = rearm = False
        for wd, mask, _cookie, name in events:
            if mask & flags.Q_OVERFLOW:
                changed = True  # events were lost: assume the worst
                continue
            watch = self._watches.get(wd)
            if watch is None:
                continue
            if mask & flags.IGNORED:
                del self._watches[wd]
                rearm = True
            elif mask & _GONE:
                changed = True
            elif name and watch.matches(name):
                changed = True
                if mask & flags.CREATE and _is_file(os.path.join(watch.path, name)):
                    writing.add((wd, name))
                elif mask & _FINISHED:
                    writing.discard((wd, name))
        if changed or rearm:
            # A directory may have appeared or gone: watch what the sources need now.
            try:
                self._arm(inotify)
            except OSError as exc:
                self._fall_back(exc)
        return changed

    def _arm(self, inotify: inotify_simple.INotify) -> None:
        """Watch what the sources need as the filesystem stands now, and nothing else."""
        watches: dict[int, _Watch] = {}
        for source in self.sources:
            for directory, matcher in _interests(source):
                added = _watch_nearest(inotify, directory, matcher)
                if added is not None:
                    wd, path, matcher = added
                    watches.setdefault(wd, _Watch(path)).matchers.append(matcher)
        for wd in self._watches.keys() - watches.keys():
            # Fails only for a watch the kernel has dropped already.
            with contextlib.suppress(OSError):
                inotify.rm_watch(wd)
        self._watches = watches

    def _fall_back(self, exc: OSError) -> None:
        log.debug("inotify unavailable, waiting for the timed pass instead: %s", exc)
        if self._inotify is not None:
            self._poll.unregister(self._inotify.fileno())
            self._inotify.close()
            self._inotify = None
        self._watches.clear()


@dataclasses.dataclass
class _Watch:
    """A watched directory and the tests that make an entry name in it count."""

    path: str
    matchers: list[Matcher] = dataclasses.field(default_factory=list)

    def matches(self, name: str) -> bool:
        return any(matcher(name) for matcher in self.matchers)


def _open_inotify() -> inotify_simple.INotify:
    """A nonblocking, close-on-exec inotify instance; every failure is an OSError."""
    try:
        return inotify_simple.INotify(nonblocking=True)
    except AttributeError as exc:  # a libc without inotify_init1: not Linux
        raise OSError(errno.ENOSYS, f"no inotify in libc: {exc}") from None


def _watch_nearest(
    inotify: inotify_simple.INotify, directory: str, matcher: Matcher
) -> tuple[int, str, Matcher] | None:
    """Watch ``directory``; while it does not exist, its nearest existing parent for the
    name that leads to it. OSError only if inotify itself is unusable."""
    directory = os.path.abspath(directory)
    while True:
        try:
            return inotify.add_watch(directory, _MASK), directory, matcher
        except OSError as exc:
            parent = os.path.dirname(directory)
            if exc.errno in (errno.ENOENT, errno.ENOTDIR) and parent != directory:
                directory, matcher = parent, _named(os.path.basename(directory))
            elif exc.errno in _FATAL:
                raise OSError(exc.errno, exc.strerror, directory) from None
            else:
                log.debug("not watching %s: %s", directory, exc.strerror)
                return None


def _interests(source: str) -> list[tuple[str, Matcher]]:
    """The directories one source needs watched, each with the test for names that
    count in it, as the filesystem stands now."""
    if source == STDIN or is_url(source) or is_metadata(source):
        return []  # standard input does not change; a URL or metadata attribute is polled
    if glob.has_magic(source):
        return _glob_interests(source)
    path = os.path.abspath(source)
    parent, name = os.path.split(path)
    if os.path.isdir(path):
        # The parent too, for the directory being replaced, removed or re-pointed.
        return [(path, is_manifest_file), (parent, _named(name))]
    pairs = [(parent, _named(name))]
    real = os.path.realpath(path)
    if real != path:
        pairs.append((os.path.dirname(real), _named(os.path.basename(real))))
    return pairs


def _glob_interests(pattern: str) -> list[tuple[str, Matcher]]:
    """The glob's non-magic prefix, and each directory its magic directory parts match."""
    parts = pattern.split(os.sep)
    first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    directories = [os.sep.join([*parts[:first], ""]) or os.curdir]
    pairs: list[tuple[str, Matcher]] = []
    for depth in range(first, len(parts)):
        leaf = depth == len(parts) - 1
        pairs += [(directory, _globbed(parts[depth], leaf)) for directory in directories]
        if not leaf:
            level = os.sep.join(parts[: depth + 1])
            directories = [p for p in glob.glob(level) if os.path.isdir(p)]
    return pairs


def _named(name: str) -> Matcher:
    return lambda entry: entry == name


def _globbed(part: str, leaf: bool) -> Matcher:
    """Names one part of a glob matches, as glob.glob does (dotfiles only if asked)."""

    def matches(name: str) -> bool:
        if name.startswith(".") and not part.startswith("."):
            return False
        return fnmatch.fnmatchcase(name, part) and (not leaf or is_manifest_file(name))

    return matches


def _is_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False
