"""agent.sources.watch.Watcher on real inotify: which changes wake ``wait``, settling, cleanup.

Every test works in its own temporary directory, made the current one, holding
``conf/web.yaml``; sources are given as the agent is given them, relative.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import inotify_simple
import pytest

from agent.sources.watch import Watcher

MANIFEST = "version: v1beta1\ncontainers: []\n"
REPO = Path(__file__).resolve().parents[1]

Make = Callable[..., Watcher]
Action = Callable[[Path], object]


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "web.yaml").write_text(MANIFEST)
    return tmp_path / "conf"


@pytest.fixture
def watch() -> Iterator[Make]:
    """watch(*sources, settle=0.2) -> a Watcher on real inotify, closed after the test."""
    made: list[Watcher] = []

    def make(*sources: str | Path, settle: float = 0.2) -> Watcher:
        watcher = Watcher([str(source) for source in sources], settle=settle)
        made.append(watcher)
        assert watcher.native, "inotify should work on this Linux"
        return watcher

    yield make
    for watcher in made:
        watcher.close()


def _edit(conf: Path) -> None:
    (conf / "web.yaml").write_text(MANIFEST + "# edited\n")


def _save_by_rename(conf: Path) -> None:
    (conf / ".web.yaml.tmp").write_text(MANIFEST + "# saved\n")
    os.replace(conf / ".web.yaml.tmp", conf / "web.yaml")


def _delete(conf: Path) -> None:
    (conf / "web.yaml").unlink()


def _writes(name: str) -> Action:
    return lambda conf: (conf / name).write_text(MANIFEST)


SEEN = [
    pytest.param("conf/web.yaml", _edit, id="a watched file written in place"),
    pytest.param("conf/web.yaml", _save_by_rename, id="a watched file replaced by rename"),
    pytest.param("conf/web.yaml", _delete, id="a watched file deleted"),
    pytest.param("conf", _writes("db.yaml"), id="a new manifest in a watched directory"),
    pytest.param("conf", _delete, id="a manifest deleted from a watched directory"),
    pytest.param("conf", _save_by_rename, id="a manifest in a watched directory saved by rename"),
    pytest.param("conf/*.yaml", _writes("new.yaml"), id="a new file the glob matches"),
    pytest.param("*/*.yaml", _writes("new.yaml"), id="a new file under the glob's magic directory"),
]

NOT_SEEN = [
    pytest.param("conf", _writes(".web.yaml.swp"), id="a vim swap file"),
    pytest.param("conf", _writes("web.yaml~"), id="an editor backup ending in ~"),
    pytest.param("conf", _writes(".hidden.yaml"), id="a dotfile"),
    pytest.param("conf", _writes("web.yaml.bak"), id="a .bak copy"),
    pytest.param("conf", _writes("web.yaml.tmp"), id="a .tmp file"),
    pytest.param("conf", _writes("4913"), id="vim's write test file"),
    pytest.param("conf/web.yaml", _writes("db.yaml"), id="another manifest next to a watched file"),
    pytest.param("conf/*.yaml", _writes("db.json"), id="a manifest the glob does not match"),
]


@pytest.mark.parametrize(("source", "action"), SEEN)
def test_seen(conf: Path, watch: Make, source: str, action: Action) -> None:
    watcher = watch(source)
    action(conf)
    assert watcher.wait(2.0) is True


@pytest.mark.parametrize(("source", "action"), NOT_SEEN)
def test_not_seen(conf: Path, watch: Make, source: str, action: Action) -> None:
    watcher = watch(source)
    action(conf)
    assert watcher.wait(0.5) is False
    _edit(conf)
    assert watcher.wait(2.0) is True, "the watcher still sees what counts"


def _edit_later(conf: Path, delay: float) -> tuple[threading.Timer, list[float]]:
    """Edit conf/web.yaml in ``delay`` seconds from another thread; the list gets the time
    the edit began (the open, write and close take microseconds)."""
    edited: list[float] = []

    def edit() -> None:
        edited.append(time.monotonic())
        _edit(conf)

    editor = threading.Timer(delay, edit)
    editor.start()
    return editor, edited


@pytest.mark.parametrize("settle", [0.2, 0.0], ids=["default settle", "no settle"])
def test_an_edit_wakes_a_blocked_wait(conf: Path, watch: Make, settle: float) -> None:
    watcher = watch("conf/web.yaml", settle=settle)
    latencies = []
    for _ in range(20):
        editor, edited = _edit_later(conf, 0.05)
        assert watcher.wait(2.0) is True
        woke = time.monotonic()
        editor.join()
        latencies.append(woke - edited[0])
    print(
        f"\nedit-to-wake latency, settle {settle}s, 20 edits: "
        f"median {statistics.median(latencies) * 1000:.1f} ms, "
        f"min {min(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )


def test_the_target_of_a_symlinked_file_source_is_watched(conf: Path, watch: Make) -> None:
    enabled = conf.parent / "enabled"
    enabled.mkdir()
    (enabled / "web.yaml").symlink_to("../conf/web.yaml")
    watcher = watch("enabled/web.yaml")
    _save_by_rename(conf)
    assert watcher.wait(2.0) is True


def test_a_burst_of_writes_is_one_change(conf: Path, watch: Make) -> None:
    watcher = watch("conf")

    def burst() -> None:
        for n in range(20):
            (conf / "web.yaml").write_text(f"{MANIFEST}# {n}\n")
            time.sleep(0.005)

    writer = threading.Timer(0.05, burst)
    writer.start()
    assert watcher.wait(2.0) is True
    writer.join()
    assert watcher.wait(0.3) is False


def test_a_new_file_still_being_written_is_waited_for(conf: Path, watch: Make) -> None:
    watcher = watch("conf")  # settle 0.2 s, so the bound is 1 s

    def slow_write() -> None:
        with (conf / "db.yaml").open("w") as handle:
            handle.write("version: v1beta1\n")
            handle.flush()
            time.sleep(0.5)
            handle.write("containers: []\n")

    writer = threading.Thread(target=slow_write)
    writer.start()
    try:
        assert watcher.wait(3.0) is True
        assert (conf / "db.yaml").read_text() == MANIFEST
    finally:
        writer.join()


def test_a_file_that_never_settles_is_still_reported(conf: Path, watch: Make) -> None:
    watcher = watch("conf/web.yaml", settle=0.1)
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            _edit(conf)
            time.sleep(0.02)

    writer = threading.Thread(target=churn)
    writer.start()
    try:
        started = time.monotonic()
        assert watcher.wait(5.0) is True
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        writer.join()
    assert elapsed < 2.0, "reported within about 5 x settle (0.5 s) of the first write"


def test_wake_from_another_thread_ends_a_blocked_wait(conf: Path, watch: Make) -> None:
    watcher = watch("conf")
    threading.Timer(0.1, watcher.wake).start()
    started = time.monotonic()
    assert watcher.wait(10.0) is False
    assert time.monotonic() - started < 2.0


def test_wake_from_a_signal_handler_ends_a_blocked_wait(conf: Path, watch: Make) -> None:
    watcher = watch("conf")
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: watcher.wake())
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    try:
        started = time.monotonic()
        assert watcher.wait(10.0) is False
        elapsed = time.monotonic() - started
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert elapsed < 2.0


def test_a_wake_before_wait_ends_the_next_wait_at_once(conf: Path, watch: Make) -> None:
    watcher = watch("conf")
    watcher.wake()
    watcher.wake()
    started = time.monotonic()
    assert watcher.wait(10.0) is False
    assert time.monotonic() - started < 2.0
    assert watcher.wait(0.2) is False, "wake-ups do not pile up"
    threading.Timer(0.1, watcher.wake).start()
    assert watcher.wait(float("inf")) is False


def test_a_directory_that_does_not_exist_yet_is_waited_for(conf: Path, watch: Make) -> None:
    later = conf.parent / "later" / "conf"
    watcher = watch(later)
    assert watcher.wait(0.2) is False
    later.mkdir(parents=True)
    assert watcher.wait(2.0) is True
    (later / "web.yaml").write_text(MANIFEST)
    assert watcher.wait(2.0) is True


def test_a_watched_directory_removed_and_made_again_is_watched_again(
    conf: Path, watch: Make
) -> None:
    watcher = watch("conf")
    shutil.rmtree(conf)
    assert watcher.wait(2.0) is True
    conf.mkdir()
    assert watcher.wait(2.0) is True
    assert watcher.wait(0.3) is False
    (conf / "web.yaml").write_text(MANIFEST)
    assert watcher.wait(2.0) is True


def test_standard_input_watches_nothing(conf: Path, watch: Make) -> None:
    watcher = watch("-")
    _edit(conf)
    (Path.cwd() / "-").write_text(MANIFEST)
    assert watcher.wait(0.2) is False


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_close_releases_every_fd(conf: Path) -> None:
    before = _open_fds()
    with Watcher(["conf", "conf/web.yaml"]) as watcher:
        assert _open_fds() == before + 3, "inotify and the two ends of the wake-up pipe"
    assert _open_fds() == before
    watcher.close()
    watcher.wake()
    with pytest.raises(ValueError, match="closed"):
        watcher.wait(0.1)


NO_INOTIFY = textwrap.dedent(
    """
    import json, logging, os, resource, sys, time
    from agent.sources.watch import Watcher

    def is_open(fd):
        try:
            os.fstat(fd)
        except OSError:
            return False
        return True

    logging.basicConfig(level=logging.DEBUG)
    # inotify_simple looks libc up (ctypes.util.find_library, which needs fds of its own)
    # on first use: have that done, so that what fails below is inotify_init1.
    Watcher([]).close()
    # Room for the wake-up pipe and no more, so inotify_init1 fails with EMFILE.
    free = [fd for fd in range(1024) if not is_open(fd)][:2]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (free[1] + 1, hard))
    watcher = Watcher([sys.argv[1]])
    native = watcher.native
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    with open(os.path.join(sys.argv[1], "web.yaml"), "a") as handle:
        handle.write("# edited\\n")
    started = time.monotonic()
    changed = watcher.wait(0.3)
    slept = time.monotonic() - started
    watcher.wake()
    started = time.monotonic()
    woken = watcher.wait(10.0)
    print(json.dumps({
        "native": native, "changed": changed, "slept": slept,
        "woken": woken, "wake_took": time.monotonic() - started,
    }))
    """
)


def test_without_inotify_wait_sleeps_and_stays_wakeable(conf: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_INOTIFY, str(conf)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        timeout=30,
    )
    result = json.loads(done.stdout)
    assert result["native"] is False
    assert result["changed"] is False
    assert result["slept"] >= 0.3
    assert result["woken"] is False
    assert result["wake_took"] < 2.0
    assert "inotify unavailable" in done.stderr and "Too many open files" in done.stderr


def test_a_libc_without_inotify_falls_back(conf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_inotify(*args: object, **kwargs: object) -> None:
        raise AttributeError("inotify_init1")  # what ctypes raises for a missing symbol

    monkeypatch.setattr(inotify_simple, "INotify", no_inotify)
    with Watcher(["conf"]) as watcher:
        assert watcher.native is False
        started = time.monotonic()
        assert watcher.wait(0.2) is False
        assert time.monotonic() - started >= 0.2


def _failing_add_watch(monkeypatch: pytest.MonkeyPatch, code: int, path: Path) -> None:
    """Make inotify_add_watch fail with ``code`` for ``path``, and only for it."""
    real = inotify_simple.INotify.add_watch

    def add_watch(self: inotify_simple.INotify, target: str, mask: int) -> int:
        if os.path.abspath(target) == str(path):
            raise OSError(code, os.strerror(code))
        result: int = real(self, target, mask)
        return result

    monkeypatch.setattr(inotify_simple.INotify, "add_watch", add_watch)


def test_running_out_of_watches_falls_back(conf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _failing_add_watch(monkeypatch, errno.ENOSPC, conf)
    with Watcher(["conf"]) as watcher:
        assert watcher.native is False


def test_a_directory_that_cannot_be_watched_is_left_out(
    conf: Path, monkeypatch: pytest.MonkeyPatch, watch: Make
) -> None:
    _failing_add_watch(monkeypatch, errno.EACCES, conf)
    watcher = watch("conf")
    _edit(conf)
    assert watcher.wait(0.3) is False, "conf itself is not watched"
    conf.rename(conf.parent / "old")
    assert watcher.wait(2.0) is True, "its parent still is"
    assert watcher.native


def test_a_watch_the_kernel_dropped_already_is_no_failure(
    conf: Path, monkeypatch: pytest.MonkeyPatch, watch: Make
) -> None:
    def rm_watch(self: inotify_simple.INotify, wd: int) -> None:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))

    monkeypatch.setattr(inotify_simple.INotify, "rm_watch", rm_watch)
    later = conf.parent / "later" / "conf"
    watcher = watch(later)
    (conf.parent / "later").mkdir()  # the watch on the parent is no longer needed: removed
    assert watcher.wait(2.0) is True
    later.mkdir()
    assert watcher.wait(2.0) is True
    assert watcher.native
