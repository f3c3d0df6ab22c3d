"""The Docker CLI backend: drives the ``docker`` binary (or ``podman``) as a subprocess.

Every call is an argv list, never a shell. Values from a manifest are passed as
``--option=value`` and the image after ``--``, so none can be read as an option.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence

import attrs

from agent.planning.network import ObservedNetwork
from agent.planning.observed import ObservedContainer
from agent.planning.spec import LABEL_NAMESPACE, RunSpec
from backends.base import Backend, BackendOptions, EventStream
from backends.credentials import RegistryAuth, docker_config_path
from backends.docker_rows import (
    DOCKER_PS_FORMAT,
    DOCKER_TIMES_FORMAT,
    cli_error_words,
    event_from_docker,
    network_from_row,
    observed_from_docker,
    with_run_times,
)
from backends.errors import BackendError, EngineUnreachable, NotFound, kind_of, pulling
from backends.libpod_rows import (
    LASTING_UPDATE,
    event_from_podman_cli,
    observed_from_libpod,
    podman_version,
)
from backends.streams import ProcessEvents, end_process

__all__ = ["DockerCLIBackend", "create_args"]

_CHUNK = 65536


class DockerCLIBackend(Backend):
    """The ``docker`` command line (``--docker-cmd`` picks the binary; ``podman`` works too)."""

    name = "docker-cli"
    auto_order = 30

    def __init__(self, command: str = "docker", host: str | None = None, timeout: float = 60.0):
        self.command = command
        self.host = host
        self.timeout = timeout
        self._podman: tuple[int, ...] | None = None  # podman's version; () for docker

    @classmethod
    def from_options(cls, options: BackendOptions) -> DockerCLIBackend:
        return cls(options.docker_cmd, options.host, options.timeout)

    @classmethod
    def auto_candidates(cls, options: BackendOptions) -> Iterator[tuple[str, BackendOptions]]:
        """The binary given (``docker`` by default), then ``podman``; at ``--host`` only the
        binary given."""
        if options.host:
            yield f"{options.docker_cmd} CLI at {options.host}", options
            return
        yield f"the {options.docker_cmd} binary", options
        yield "the podman binary", attrs.evolve(options, docker_cmd="podman")

    @property
    def address(self) -> str:
        host = self.host or os.environ.get("DOCKER_HOST") or "default socket"
        return f"{self.command} ({host})"

    @property
    def is_podman(self) -> bool:
        """Whether the binary is podman, whose listing differs; asked once."""
        return bool(self._podman_version)

    @property
    def _podman_version(self) -> tuple[int, ...]:
        """The podman binary's version (``podman version 5.4.2``), () for docker; asked
        once, in the environment as it is (the others' environment depends on it)."""
        if self._podman is None:
            said = self._run("--version", local=True, env=dict(os.environ)).strip().lower()
            self._podman = podman_version(said) if said.startswith("podman") else ()
        return self._podman

    def updates_in_place(self) -> bool:
        return not self.is_podman or self._podman_version >= LASTING_UPDATE

    def version(self) -> str:
        if self.is_podman:
            return self._run("version", "--format", "{{.Client.Version}}").strip()
        return self._run("version", "--format", "{{.Server.Version}}").strip()

    def list(self, namespace: str, *, run_times: bool = False) -> list[ObservedContainer]:
        label = f"--filter=label={LABEL_NAMESPACE}={namespace}"
        if self.is_podman:
            rows = json.loads(self._run("ps", "--all", label, "--format=json") or "[]")
            return [observed_from_libpod(row, run_times) for row in rows]
        output = self._run("ps", "--all", "--no-trunc", label, f"--format={DOCKER_PS_FORMAT}")
        rows = [json.loads(line) for line in output.splitlines() if line.strip()]
        return self._with_run_times([observed_from_docker(row) for row in rows], run_times)

    def _with_run_times(
        self, found: builtins.list[ObservedContainer], every: bool
    ) -> builtins.list[ObservedContainer]:
        """Start and finish times of the exited containers (``docker ps`` shows neither),
        or of ``every`` one: one more call, made only when a container exited or ``every``."""
        wanted = [c.id for c in found if every or c.state == "exited"]
        if not wanted:
            return found
        output = self._run("inspect", f"--format={DOCKER_TIMES_FORMAT}", "--", *wanted)
        rows = [json.loads(line) for line in output.splitlines() if line.strip()]
        inspected = {row["Id"]: row for row in rows}
        return [with_run_times(c, inspected[c.id]) if c.id in inspected else c for c in found]

    def image_id(self, image: str) -> str | None:
        try:
            return self._run("image", "inspect", "--format={{.Id}}", "--", image).strip() or None
        except NotFound:
            return None

    def network(self, name: str) -> ObservedNetwork | None:
        """``network inspect``: Docker's answer has ``Name``, ``Id`` and ``Labels``,
        Podman's (netavark's) ``name``, ``id`` and ``labels``."""
        try:
            output = self._run("network", "inspect", "--", name)
        except NotFound:
            return None
        rows = json.loads(output or "[]")
        return next((found for row in rows if (found := network_from_row(row, name))), None)

    def create_network(self, name: str, labels: Mapping[str, str]) -> str:
        """``network create`` of a bridge (Podman's default driver is its bridge too)."""
        args = ["network", "create", "--driver=bridge"]
        args += [f"--label={key}={value}" for key, value in labels.items()]
        return self._run(*args, "--", name).strip()

    def connect(self, network: str, container_id: str, aliases: Sequence[str]) -> None:
        args = ["network", "connect", *(f"--alias={alias}" for alias in aliases)]
        self._run(*args, "--", network, container_id)

    def remove_network(self, name: str) -> None:
        try:
            self._run("network", "rm", "--", name)
        except NotFound:
            return

    def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        tail: int | None = None,
        since: float | None = None,
    ) -> Iterator[bytes]:
        """``docker logs`` (or ``podman logs``), its stdout and stderr in one pipe, so that
        the container's two streams keep their order. The container is inspected first: a
        CLI says "no such container" in the same pipe, where it would read as output."""
        self._run("container", "inspect", "--format={{.Id}}", "--", container_id)
        args = ["logs", *(["--follow"] if follow else [])]
        if tail is not None:
            args.append(f"--tail={tail}")
        if since is not None and since > 0:
            args.append(f"--since={since:.9f}")
        argv = self._argv(*args, "--", container_id)
        try:
            process = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=self._env(),
            )
        except OSError as exc:
            message = f"cannot run {argv[0]!r}: {exc.strerror}"
            raise EngineUnreachable(message, self.address) from exc
        stdout = process.stdout
        assert stdout is not None
        try:
            last = b""
            while chunk := os.read(stdout.fileno(), _CHUNK):
                last = (last + chunk)[-_CHUNK:]
                yield chunk
            if process.wait() != 0:
                lines = last.decode(errors="replace").strip().splitlines()
                message = lines[-1] if lines else f"exit code {process.returncode}"
                raise kind_of(message)(message, self.address)
        finally:
            end_process(process)
            stdout.close()

    def pull(self, image: str, auth: RegistryAuth | None) -> None:
        """The binary reads the Docker config file itself (podman is pointed at it)."""
        args = ["pull", "--quiet"]
        if self._podman_version >= (5,):  # podman 5 tries 3 times more, a second apart
            args.append("--retry=0")  # the agent's back-off retries a failed pull
        if self.is_podman and os.path.exists(docker_config_path()):
            args.append(f"--authfile={docker_config_path()}")
        with pulling():
            self._run(*args, "--", image)

    def _env(self) -> dict[str, str] | None:
        """The environment of every call of the binary (None: the agent's own). For podman:
        podman 4.3 fails every pull, and every ``run`` (even with ``--pull=never``), when
        DOCKER_CONFIG names a directory without a config.json, so it is left out then; and
        podman 5 on cgroups v1 warns of their deprecation on stderr at every call unless
        PODMAN_IGNORE_CGROUPSV1_WARNING is set, which would land in the output of ``logs``
        and ``exec`` (stdout and stderr in one pipe)."""
        if not self.is_podman:
            return None
        env = {"PODMAN_IGNORE_CGROUPSV1_WARNING": "1", **os.environ}
        if not os.path.exists(docker_config_path()):
            env.pop("DOCKER_CONFIG", None)
        return env

    def events(self, namespace: str) -> EventStream:
        """``docker events`` (or ``podman events``) of the namespace, one JSON object a line.

        The engine is asked for its version first: the CLI starts (and only then fails)
        without an engine, and a stream that seemed open would be retried at once."""
        self.version()
        filters = ["--filter=type=container", f"--filter=label={LABEL_NAMESPACE}={namespace}"]
        if self.is_podman:
            argv, read = [*filters, "--format=json"], event_from_podman_cli
        else:
            argv, read = [*filters, "--format={{json .}}"], event_from_docker
        return ProcessEvents(self._argv("events", *argv), read, self.address, self._env())

    def create(self, spec: RunSpec) -> str:
        return self._run(*create_args(spec, self.is_podman)).strip()

    def run(self, spec: RunSpec) -> str:
        """``run --detach``: create and start in one process, as ``docker run -d`` does
        (half the subprocesses of create then start). ``--cidfile`` tells a container
        that was created but did not start, which the error then names. Without a
        writable temporary directory for it, create then start."""
        try:
            scratch = tempfile.mkdtemp(prefix="container-agent-")
        except OSError:
            return super().run(spec)
        cidfile = os.path.join(scratch, "cid")
        args = ["run", "--detach", f"--cidfile={cidfile}", *create_args(spec, self.is_podman)[1:]]
        try:
            return self._run(*args).strip()
        except BackendError as exc:
            exc.created = _read_cid(cidfile)
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def start(self, container_id: str) -> None:
        self._run("start", "--", container_id)

    def update_limits(self, container_id: str, spec: RunSpec) -> None:
        args = limit_args(spec)
        if args:
            self._run("update", *args, container_id)

    def stop(self, container_id: str, timeout: int = 10) -> None:
        self._run("stop", f"--time={timeout}", "--", container_id)

    def remove(self, container_id: str) -> None:
        """Kill and remove, with its anonymous volumes (emptyDirs)."""
        self._run("rm", "--force", "--volumes", "--", container_id)

    def exec(self, container_id: str, command: Sequence[str], timeout: float) -> tuple[int, bytes]:
        """``docker exec -- ID COMMAND...`` (or ``podman exec``), killed after ``timeout``
        seconds; its exit code is the command's (125 to 127 are the CLI's own: cannot
        run, not found; its message is in the output)."""
        argv = self._argv("exec", "--", container_id, *command)
        try:
            done = subprocess.run(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
                start_new_session=True,
                env=self._env(),
            )
        except subprocess.TimeoutExpired as exc:
            raise TimeoutError(f"exec took longer than {timeout:g}s") from exc
        except OSError as exc:
            raise EngineUnreachable(
                f"cannot run {argv[0]!r}: {exc.strerror}", self.address
            ) from exc
        return done.returncode, done.stdout

    def _argv(self, *args: str, local: bool = False) -> builtins.list[str]:
        argv = [self.command]
        if self.host and not local:
            argv.append(f"--url={self.host}" if self.is_podman else f"--host={self.host}")
        return [*argv, *args]

    def _run(self, *args: str, local: bool = False, env: dict[str, str] | None = None) -> str:
        """``BINARY ARGS``'s stdout; ``env`` in place of :meth:`_env`."""
        argv = self._argv(*args, local=local)
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
                start_new_session=True,
                env=self._env() if env is None else env,
            )
        except FileNotFoundError as exc:
            raise EngineUnreachable(
                f"{self.command!r} not found; is it installed?", self.address
            ) from exc
        except subprocess.TimeoutExpired as exc:  # slow, not gone: a pull may take this long
            raise BackendError(
                f"'{args[0]}' took longer than {self.timeout:g}s", self.address
            ) from exc
        except OSError as exc:  # E2BIG for an argument list too long, EACCES, ...
            raise BackendError(f"{exc.strerror}: {argv[0]}", self.address) from exc
        if done.returncode != 0:
            message = cli_error_words(done.stderr or done.stdout) or f"exit code {done.returncode}"
            raise kind_of(message)(message, self.address)
        return done.stdout


def _read_cid(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            return handle.read(256).strip() or None
    except OSError:
        return None


def create_args(spec: RunSpec, podman: bool = False) -> list[str]:
    """The ``create`` argv for a spec: every value joined to its option, the image after ``--``.

    ``podman`` takes an entrypoint of several items as a JSON array; ``docker`` takes one
    item, so the others go first in the arguments (the process is the same)."""
    args = ["create", f"--name={spec.engine_name}", "--restart=no", "--pull=never"]
    if spec.hostname is not None:
        args.append(f"--hostname={spec.hostname}")
    if spec.host_network:
        args.append("--network=host")
    if spec.privileged:
        args.append("--privileged")
    if spec.stdin:
        args.append("--interactive")
    if spec.tty:
        args.append("--tty")
    command = list(spec.command)
    if spec.entrypoint:
        if podman:
            args.append(f"--entrypoint={json.dumps(list(spec.entrypoint))}")
        else:
            args.append(f"--entrypoint={spec.entrypoint[0]}")
            command = [*spec.entrypoint[1:], *command]
    if spec.log_limits is not None:
        # dockerd reads 500m as mebibytes, podman as megabytes: podman is given the bytes.
        # Podman's json-file (its k8s-file) keeps one file: it takes no max-file.
        limits = spec.log_limits
        args.append("--log-driver=json-file")
        if podman:
            args.append(f"--log-opt=max-size={limits.size_bytes}")
        else:
            args += [
                f"--log-opt=max-size={limits.max_size}",
                f"--log-opt=max-file={limits.max_files}",
            ]
    args += [f"--label={key}={value}" for key, value in spec.labels.items()]
    if spec.working_dir:
        args.append(f"--workdir={spec.working_dir}")
    args += [f"--env={key}={value}" for key, value in spec.env]
    for port in spec.ports:
        host_ip = f"[{port.host_ip}]" if ":" in port.host_ip else port.host_ip
        prefix = f"{host_ip}:" if host_ip else ""
        args.append(f"--publish={prefix}{port.host_port}:{port.container_port}/{port.protocol}")
    for mount in spec.mounts:
        readonly = ",readonly" if mount.read_only else ""
        if mount.bound:
            args.append(f"--mount=type=bind,source={mount.source},target={mount.target}{readonly}")
        elif mount.kind == "tmpfs":  # podman's tmpfs takes ro=true, not readonly
            readonly = ",ro=true" if mount.read_only else ""
            args.append(f"--mount=type=tmpfs,target={mount.target}{readonly}")
        else:  # an anonymous volume, removed with the container (rm --volumes)
            args.append(f"--mount=type=volume,target={mount.target}{readonly}")
    args += limit_args(spec)
    if spec.network:
        args.append(f"--network={spec.network}")
        args += [f"--network-alias={alias}" for alias in spec.network_aliases]
    return [*args, "--", spec.image, *command]


def limit_args(spec: RunSpec) -> list[str]:
    """The memory and CPU limits as ``create`` and ``update`` take them."""
    args = []
    if spec.memory is not None:  # the memory limit is the swap limit too: no swap beyond it
        args += [f"--memory={spec.memory}", f"--memory-swap={spec.memory}"]
    if spec.cpus is not None:
        args.append(f"--cpus={spec.cpus}")
    return args
