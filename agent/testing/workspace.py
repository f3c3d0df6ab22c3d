"""The contract suite's workspace: a backend on a real engine, a namespace, a manifest file,
and the ``agent`` command line run against them.

Nothing here starts an engine: a :class:`Target` is handed one that runs already (anything
with the :class:`EngineAccess` fields; :class:`CliEngine` is the plain one), and the engine's
own CLI (``docker`` or ``podman``) is what the checks use to see what the agent did.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent.daemon.reconcile import converge, plan_for
from agent.daemon.settings import Settings
from agent.engine.executor import ActionResult
from agent.errors import AgentError
from agent.planning.actions import Plan
from agent.sources.load import load_sources
from backends.base import Backend, BackendOptions, load_backend

AGENT = [sys.executable, "-m", "agent"]

CLI_TIMEOUT = 120.0


class EngineAccess(Protocol):
    """What the workspace needs of a running engine."""

    @property
    def kind(self) -> str:
        """``docker`` or ``podman``: which engine answers (the CLI's output differs)."""

    @property
    def host(self) -> str:
        """The engine's address, as ``--host`` takes it (``unix:///run/docker.sock``)."""

    @property
    def socket(self) -> Path:
        """The engine's unix socket (the path of a ``unix://`` host)."""

    @property
    def cli(self) -> str:
        """The engine's own command line (``docker`` or ``podman``)."""

    @property
    def env(self) -> dict[str, str]:
        """What the CLI needs in its environment to reach the engine (``DOCKER_HOST`` ...)."""


@dataclass(frozen=True)
class CliEngine:
    """A running engine, reached at ``host`` and seen through ``cli`` with ``env``."""

    kind: str
    host: str
    cli: str
    env: dict[str, str] = dataclasses.field(default_factory=dict, hash=False)

    @property
    def socket(self) -> Path:
        return Path(self.host.removeprefix("unix://"))


class EngineFailed(AgentError, AssertionError):
    """The engine's own CLI failed, could not run, or left behind what it was asked to remove;
    the message says which command and why. An AssertionError too, so that a check meeting it
    fails; a script that goes on after a failure (a benchmark) catches this type."""


def run_cli(
    engine: EngineAccess, *args: str, check: bool = True, timeout: float = CLI_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run ``engine.cli ARGS`` against ``engine``; raises :class:`EngineFailed` (with the
    command and its stderr) if it cannot run, or if it fails and ``check``."""
    cmd = [engine.cli, *args]
    try:
        res = subprocess.run(
            cmd,
            env={**os.environ, **engine.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineFailed(f"{' '.join(cmd)}: {exc}") from exc
    if check and res.returncode != 0:
        raise EngineFailed(f"{' '.join(cmd)} -> exit {res.returncode}: {res.stderr.strip()}")
    return res


@dataclass(frozen=True)
class Target:
    """One backend driving one real engine."""

    backend_name: str
    engine: EngineAccess
    docker_cmd: str = "docker"

    @property
    def id(self) -> str:
        return (
            f"{self.backend_name}-{self.docker_cmd}@{self.engine.kind}"
            if (self.backend_name == "docker-cli")
            else f"{self.backend_name}@{self.engine.kind}"
        )

    def via(self, host: str) -> Target:
        """This target reached at another address (a proxy of the engine's socket)."""
        engine = CliEngine(self.engine.kind, host, self.engine.cli, self.engine.env)
        if dataclasses.is_dataclass(self.engine):
            engine = dataclasses.replace(self.engine, host=host)
        return Target(self.backend_name, engine, self.docker_cmd)

    def backend(self) -> Backend:
        options = BackendOptions(host=self.engine.host, docker_cmd=self.docker_cmd)
        return load_backend(self.backend_name, options)

    def cli_args(self) -> list[str]:
        """The engine options of ``agent`` for this target."""
        return [
            f"--backend={self.backend_name}",
            f"--host={self.engine.host}",
            f"--docker-cmd={self.docker_cmd}",
        ]


@dataclass
class Workspace:
    """A namespace, a manifest file and a volumes root for one test."""

    target: Target
    namespace: str
    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "containers.yaml"

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def settings(self) -> Settings:
        # The library's passes here replace a changed container at once, as they were
        # written to check; rolling updates are checked through the command line.
        return Settings(
            self.namespace,
            str(self.volumes),
            stop_timeout=2,
            state_dir=str(self.state),
            update_strategy="Recreate",
        )

    @property
    def state(self) -> Path:
        return self.root / "state"

    def write(self, text: str) -> Path:
        self.manifest.write_text(text)
        return self.manifest

    def plan(self) -> Plan:
        desired = load_sources([str(self.manifest)])
        return plan_for(desired, self.target.backend(), self.settings, time.time())

    def apply(self) -> tuple[Plan, tuple[ActionResult, ...]]:
        desired = load_sources([str(self.manifest)])
        return converge(desired, self.target.backend(), self.settings, time.time())

    def agent(
        self, *args: str, timeout: float = 120, manifest: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run the ``agent`` command line against this target (with the manifest last,
        unless ``manifest`` is false)."""
        argv = [
            *AGENT,
            *args,
            *self.target.cli_args(),
            f"--namespace={self.namespace}",
            f"--volumes-root={self.volumes}",
            f"--state-dir={self.state}",
            "--stop-timeout=2",
            *([str(self.manifest)] if manifest else []),
        ]
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, env=self.env()
        )

    def agent_argv(self, command: str, *args: str, sources: Sequence[str] = ()) -> list[str]:
        """``agent COMMAND`` with this target's options and the manifest (or ``sources``)."""
        return [
            *AGENT,
            command,
            *self.target.cli_args(),
            f"--namespace={self.namespace}",
            f"--volumes-root={self.volumes}",
            f"--state-dir={self.state}",
            "--stop-timeout=1",
            *args,
            *(sources or [str(self.manifest)]),
        ]

    @contextlib.contextmanager
    def running(
        self, *args: str, sources: Sequence[str] = ()
    ) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
        """``agent run ARGS`` in the background (on the manifest, or on ``sources``), logging
        to a file; SIGTERM at the end."""
        log = self.root / f"agent-{time.monotonic_ns()}.log"
        with log.open("w") as out:
            agent = subprocess.Popen(
                self.agent_argv("run", *args, sources=sources),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env(),
            )
        try:
            yield agent, log
        finally:
            if agent.poll() is None:
                agent.send_signal(signal.SIGTERM)
                agent.wait(timeout=60)

    def running_names(self) -> list[str]:
        return sorted(
            c["Config"]["Labels"]["io.container-agent.name"]
            for c in self.containers()
            if c["State"]["Running"]
        )

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.target.engine.env}

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_cli(self.target.engine, *args, check=check)

    def containers(self) -> list[dict[str, Any]]:
        """``inspect`` of every container of the namespace, by the engine's own CLI; one
        removed between the listing and the inspect is not among them."""
        ids = self.cli(
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            f"label=io.container-agent.namespace={self.namespace}",
        ).stdout.split()
        if not ids:
            return []
        done = self.cli("inspect", *ids, check=False)
        if done.returncode != 0 and "no such" not in done.stderr.lower():
            self.cli("inspect", *ids)  # fails the test with the engine's words
        found: list[dict[str, Any]] = json.loads(done.stdout or "[]")
        return found

    def container(self, name: str) -> dict[str, Any]:
        matches = [
            c
            for c in self.containers()
            if c["Config"]["Labels"].get("io.container-agent.name") == name
        ]
        assert len(matches) == 1, f"expected one container {name!r}, found {len(matches)}"
        return matches[0]


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``condition`` until true, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)
