"""Real Docker and Podman engines for tests and scripts.

The same set-up as contrib/setup-engines.sh: dockerd and ``podman system service`` on fixed
sockets under /run/ca-test, a busybox image imported from /bin/busybox (no registry needed) and
an optional plain-HTTP registry on 127.0.0.1.  Nothing here talks to anything beyond 127.0.0.1.

An engine that already answers on its socket is reused and marked ``owned=False``; ``stop()``
only ever signals processes this Python process started itself (kept in ``_CHILDREN``).

The podman CLI is used in remote mode (``CONTAINER_HOST``), so CLI and service are literally the
same engine; as root both use the same storage (/var/lib/containers/storage) anyway.

The image, the namespace listings and the host-side port helpers are the shipped contract kit's
(:mod:`agent.testing`), named here too for the tests and benchmarks that start engines; they
raise the kit's EngineFailed where this module's own functions raise EngineError.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agent.planning.spec import LABEL_NAMESPACE
from agent.testing import EngineAccess, EngineFailed
from agent.testing import run_cli as kit_run_cli
from agent.testing.image import BUSYBOX_TAG as BUSYBOX_TAG
from agent.testing.image import build_busybox_image as build_busybox_image
from agent.testing.namespaces import list_namespace as list_namespace
from agent.testing.namespaces import list_networks as list_networks
from agent.testing.namespaces import remove_namespace as remove_namespace
from agent.testing.ports import free_port as free_port
from agent.testing.ports import http_get as http_get

RUN_DIR = Path("/run/ca-test")
DOCKER_SOCK = RUN_DIR / "docker.sock"
DOCKER_PIDFILE = RUN_DIR / "docker.pid"
DOCKER_EXEC_ROOT = RUN_DIR / "docker-exec"
DOCKER_DATA_ROOT = Path("/var/lib/ca-test/docker")
CONTAINERD_PIDFILE = DOCKER_EXEC_ROOT / "containerd" / "containerd.pid"
PODMAN_SOCK = RUN_DIR / "podman.sock"
PODMAN_PIDFILE = RUN_DIR / "podman.pid"

REGISTRY_PORT = 15000
NAMESPACE_LABEL = LABEL_NAMESPACE

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
CLI_TIMEOUT = 120.0

CONTAINERS_CONF = """\
# Written by tests/engines.py (see contrib/setup-engines.sh). CONTAINERS_CONF replaces every
# other containers.conf, including /usr/share/containers/containers.conf, hence the sysctl.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
default_sysctls = ["net.ipv4.ping_group_range=0 0"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
"""

REGISTRY_CONFIG = """\
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {data}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""

EngineKind = Literal["docker", "podman"]

# Client-side variables a daemon must not inherit: CONTAINER_HOST turns `podman system service`
# into a remote client that fails with "accepts at most 1 arg(s), received 2".
_CLIENT_VARS = ("CONTAINER_HOST", "CONTAINER_CONNECTION", "DOCKER_HOST")

# Processes started by this Python process, by pid: the only ones stop() may signal.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class EngineError(RuntimeError):
    """An engine, registry or CLI call failed; the message says why (with a log tail)."""


@dataclass(frozen=True)
class Engine:
    kind: EngineKind
    host: str  # unix:// URL for DOCKER_HOST / CONTAINER_HOST / SDK base_url
    cli: str  # CLI binary talking to this engine (with ``env``)
    env: dict[str, str] = field(hash=False)  # extra environment the CLI needs
    owned: bool  # started by this process, stop() will stop it
    pid: int | None
    log: Path | None = None

    @property
    def socket(self) -> Path:
        return Path(self.host.removeprefix("unix://"))

    def environ(self) -> dict[str, str]:
        """os.environ plus this engine's env: pass to subprocess for the CLI."""
        return {**os.environ, **self.env}


@dataclass(frozen=True)
class Registry:
    address: str  # "127.0.0.1:PORT", the prefix of image references
    owned: bool
    pid: int | None
    log: Path | None = None


# --------------------------------------------------------------------------- probes


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP to an engine's unix socket, with the standard library only."""

    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = str(path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def _http_status(conn: http.client.HTTPConnection, path: str) -> int | None:
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def ping(sock: Path, timeout: float = 2.0) -> bool:
    """True if a Docker-compatible API answers GET /_ping on the unix socket."""
    return sock.exists() and _http_status(UnixHTTPConnection(sock, timeout), "/_ping") == 200


def registry_answers(port: int, timeout: float = 2.0) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    return _http_status(conn, "/v2/") == 200


# --------------------------------------------------------------------------- processes


def _live_pid(pidfile: Path, name: str) -> int | None:
    """The pid in ``pidfile`` if that process is alive (not a zombie) and runs ``name``."""
    try:
        pid = int(pidfile.read_text().strip())
        stat = Path(f"/proc/{pid}/stat").read_text()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    state = stat.rsplit(")", 1)[-1].split()[0]
    if state == "Z" or not any(Path(a.decode(errors="replace")).name == name for a in argv[:2]):
        return None
    return pid


def _log_tail(log: Path | None, lines: int = 40) -> str:
    if log is None or not log.exists():
        return "(no log)"
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    return f"last lines of {log}:\n" + "\n".join(tail)


def _which(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise EngineError(f"{name} not found on PATH; run contrib/setup-engines.sh")
    return path


def _daemon_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _CLIENT_VARS}


def _spawn(
    argv: Sequence[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**_daemon_environ(), **(env or {})},
            start_new_session=True,
            cwd="/",
        )
    _CHILDREN[proc.pid] = proc
    return proc


def _terminate(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    _CHILDREN.pop(proc.pid, None)
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _wait_ready(
    ready: Callable[[], bool], what: str, proc: subprocess.Popen[bytes] | None, log: Path | None
) -> None:
    """Poll ``ready`` up to START_TIMEOUT s; fail early if ``proc`` exits, stop it on failure."""
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        exited = proc is not None and proc.poll() is not None
        if exited or time.monotonic() > deadline:
            if proc is not None:
                _terminate(proc)
            why = "exited" if exited else f"did not answer within {START_TIMEOUT:.0f} s"
            raise EngineError(f"{what} {why}; {_log_tail(log)}")
        time.sleep(0.2)


def _start_service(
    sock: Path,
    pidfile: Path,
    name: str,
    argv: Sequence[str],
    log: Path,
    env: dict[str, str] | None = None,
) -> tuple[bool, int | None]:
    """Reuse the daemon answering on ``sock`` or start ``argv``; returns (owned, pid)."""
    live = _live_pid(pidfile, name)
    if ping(sock):
        return False, live
    if live is not None:  # someone else's daemon, maybe still starting: wait, never kill it
        _wait_ready(
            lambda: ping(sock), f"{name} (pid {live}, not started by us) on {sock}", None, None
        )
        return False, live
    pidfile.unlink(missing_ok=True)  # stale leftovers of a killed run
    sock.unlink(missing_ok=True)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    proc = _spawn(argv, log, env)
    _wait_ready(lambda: ping(sock), f"{name} on {sock}", proc, log)
    return True, proc.pid


def stop(service: Engine | Registry) -> None:
    """Stop an engine or registry if this process started it (SIGTERM, wait, SIGKILL)."""
    if not service.owned or service.pid is None:
        return
    proc = _CHILDREN.get(service.pid)
    if proc is not None:
        _terminate(proc)
    if isinstance(service, Engine) and service.kind == "podman":
        _unlink_pidfile(PODMAN_PIDFILE, service.pid)


def _unlink_pidfile(pidfile: Path, pid: int) -> None:
    """Remove ``pidfile`` if it still names ``pid`` (which has exited by now)."""
    try:
        if int(pidfile.read_text().strip()) == pid:
            pidfile.unlink()
    except (OSError, ValueError):
        pass


# --------------------------------------------------------------------------- engines


def docker_cli() -> str:
    """The docker client: $CA_TEST_DOCKER_CLI, else the first docker on PATH."""
    return os.environ.get("CA_TEST_DOCKER_CLI") or _which("docker")


def start_dockerd(root: Path, extra_args: Sequence[str] = ()) -> Engine:
    """Reuse or start dockerd (plus ``extra_args``) on DOCKER_SOCK; logs to ROOT/dockerd.log."""
    log = root / "dockerd.log"
    if _live_pid(CONTAINERD_PIDFILE, "containerd") is None:
        CONTAINERD_PIDFILE.unlink(missing_ok=True)  # dockerd would adopt a reused/dead pid
    argv = [_which("dockerd"), f"--host=unix://{DOCKER_SOCK}", f"--pidfile={DOCKER_PIDFILE}"]
    argv += [f"--data-root={DOCKER_DATA_ROOT}", f"--exec-root={DOCKER_EXEC_ROOT}", *extra_args]
    owned, pid = _start_service(DOCKER_SOCK, DOCKER_PIDFILE, "dockerd", argv, log)
    host = f"unix://{DOCKER_SOCK}"
    return Engine(
        "docker", host, docker_cli(), {"DOCKER_HOST": host}, owned, pid, log if owned else None
    )


def write_containers_conf(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONTAINERS_CONF)
    return path


def write_registries_conf(path: Path, ports: Sequence[int] = (REGISTRY_PORT,)) -> Path:
    """registries.conf: no short-name search (never docker.io), 127.0.0.1:PORT plain HTTP."""
    blocks = [f'[[registry]]\nlocation = "127.0.0.1:{p}"\ninsecure = true\n' for p in ports]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        'unqualified-search-registries = []\nshort-name-mode = "disabled"\n\n' + "\n".join(blocks)
    )
    return path


def start_podman(root: Path, registry_ports: Sequence[int] = (REGISTRY_PORT,)) -> Engine:
    """Reuse or start ``podman system service`` on PODMAN_SOCK; logs to ROOT/podman.log."""
    log = root / "podman.log"
    host = f"unix://{PODMAN_SOCK}"
    env = {
        "CONTAINERS_CONF": str(write_containers_conf(root / "containers.conf")),
        "CONTAINERS_REGISTRIES_CONF": str(
            write_registries_conf(root / "registries.conf", registry_ports)
        ),
    }
    argv = [_which("podman"), "system", "service", "--time=0", host]
    owned, pid = _start_service(PODMAN_SOCK, PODMAN_PIDFILE, "podman", argv, log, env)
    if owned and pid is not None:
        PODMAN_PIDFILE.write_text(f"{pid}\n")
    cli_env = {**env, "CONTAINER_HOST": host}  # CONTAINER_HOST puts the podman CLI in remote mode
    return Engine("podman", host, _which("podman"), cli_env, owned, pid, log if owned else None)


def start_engine(kind: EngineKind, root: Path) -> Engine:
    """start_dockerd / start_podman, build_busybox_image and run one container (a reused engine
    may lack the settings of ENGINES.md); stops an owned engine on failure."""
    engine = start_dockerd(root) if kind == "docker" else start_podman(root)
    try:
        run_cli(engine, "run", "--rm", build_busybox_image(engine), "true")
    except (EngineError, EngineFailed, OSError) as exc:  # OSError: no /bin/busybox to import
        stop(engine)
        hint = "" if engine.owned else " (engine reused, not started by tests/engines.py)"
        raise EngineError(f"{kind} cannot run a container{hint}: {exc}") from exc
    return engine


# --------------------------------------------------------------------------- CLI helpers


def run_cli(
    engine: EngineAccess, *args: str, check: bool = True, timeout: float = CLI_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """The kit's :func:`agent.testing.run_cli`, raising EngineError as the rest of this module
    does (its message: the command and its stderr)."""
    try:
        return kit_run_cli(engine, *args, check=check, timeout=timeout)
    except EngineFailed as exc:
        raise EngineError(str(exc)) from exc


# --------------------------------------------------------------------------- registry


def start_registry(root: Path, port: int = REGISTRY_PORT) -> Registry:
    """Reuse or start a plain-HTTP registry on 127.0.0.1:PORT, storing under ROOT/registry."""
    address = f"127.0.0.1:{port}"
    if registry_answers(port):
        return Registry(address, owned=False, pid=None)
    base = root / "registry"
    (base / "data").mkdir(parents=True, exist_ok=True)
    config = base / "config.yml"
    config.write_text(REGISTRY_CONFIG.format(data=base / "data", port=port))
    log = base / "registry.log"
    proc = _spawn([_which("docker-registry"), "serve", str(config)], log)
    _wait_ready(lambda: registry_answers(port), f"docker-registry on {address}", proc, log)
    return Registry(address, owned=True, pid=proc.pid, log=log)


def trusts_registry(engine: EngineAccess, registry: Registry) -> bool:
    """True if ``engine`` may talk plain HTTP to ``registry`` (a reused podman may not)."""
    if engine.kind == "docker":  # dockerd trusts 127.0.0.0/8 by default
        out = run_cli(engine, "info", "--format", "{{json .RegistryConfig.InsecureRegistryCIDRs}}")
        host = ipaddress.ip_address(registry.address.rsplit(":", 1)[0])
        return any(host in ipaddress.ip_network(cidr) for cidr in json.loads(out.stdout) or [])
    out = run_cli(engine, "info", "--format", "{{json .Registries}}")
    return bool(json.loads(out.stdout).get(registry.address, {}).get("Insecure"))


def push_to_registry(engine: EngineAccess, image: str, registry: Registry) -> str:
    """Tag ``image`` (e.g. localhost/ca-test/busybox:latest) into the registry and push it."""
    ref = f"{registry.address}/{image.removeprefix('localhost/')}"
    run_cli(engine, "tag", image, ref)
    run_cli(engine, "push", ref)
    return ref


# A registry that wants a login. The distribution registry accepts htpasswd auth (bcrypt hashes
# only) over TLS only, so it gets a throwaway CA and a server certificate for 127.0.0.1.
AUTH_REGISTRY_CONFIG = """\
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {data}
http:
  addr: 127.0.0.1:{port}
  tls:
    certificate: {cert}
    key: {key}
auth:
  htpasswd:
    realm: ca-test
    path: {htpasswd}
"""

# Where dockerd and Podman look for a registry's CA: DIR/HOST:PORT/ca.crt.
CERTS_DIRS = (Path("/etc/docker/certs.d"), Path("/etc/containers/certs.d"))


@dataclass(frozen=True)
class AuthRegistry:
    """A TLS registry on 127.0.0.1 that wants ``username``/``password``, and its CA copies."""

    registry: Registry
    username: str
    password: str = field(repr=False)
    ca: Path
    trusted: tuple[Path, ...]  # ca.crt under each of CERTS_DIRS

    @property
    def address(self) -> str:
        return self.registry.address


def _openssl(directory: Path, command: str, *extra: str) -> None:
    """Run ``openssl COMMAND EXTRA...`` in ``directory`` (COMMAND split on spaces)."""
    argv = [_which("openssl"), *command.split(), *extra]
    done = subprocess.run(argv, cwd=directory, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise EngineError(f"openssl {command} -> exit {done.returncode}: {done.stderr.strip()}")


# The test CA's extensions: Python 3.13 verifies strictly (VERIFY_X509_STRICT) and refuses a
# CA without keyUsage ("CA cert does not include key usage extension"). Without
# ``key_usage`` the CA is made as older tools made theirs, to test that refusal.
CA_CONFIG = """\
[req]
distinguished_name = dn
x509_extensions = ca
prompt = no
[dn]
CN = container-agent test CA
[ca]
basicConstraints = critical, CA:TRUE
subjectKeyIdentifier = hash
{key_usage}
"""
CA_KEY_USAGE = "keyUsage = critical, keyCertSign, cRLSign"


def write_tls_files(directory: Path, ca_key_usage: bool = True) -> tuple[Path, Path, Path]:
    """A self-signed CA and a server certificate it signed for IP 127.0.0.1: (ca, cert, key).
    The CA has keyUsage (keyCertSign, cRLSign) unless ``ca_key_usage`` is false."""
    directory.mkdir(parents=True, exist_ok=True)
    new_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    (directory / "ca.cnf").write_text(
        CA_CONFIG.format(key_usage=CA_KEY_USAGE if ca_key_usage else "")
    )
    _openssl(directory, f"req -x509 -config ca.cnf {new_key} -days 2 -keyout ca.key -out ca.crt")
    _openssl(
        directory,
        f"req -new {new_key} -keyout server.key -out server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (directory / "server.ext").write_text(
        "subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n"
        "keyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
    )
    sign = "-CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext"
    _openssl(directory, f"x509 -req -in server.csr {sign} -out server.crt")
    return directory / "ca.crt", directory / "server.crt", directory / "server.key"


def write_htpasswd(path: Path, username: str, password: str) -> Path:
    """An htpasswd file with a bcrypt hash (``htpasswd -B``, apache2-utils); the password goes
    in on stdin, never on a command line."""
    done = subprocess.run(
        [_which("htpasswd"), "-B", "-i", "-n", username],
        input=password,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise EngineError(f"htpasswd -> exit {done.returncode}: {done.stderr.strip()}")
    path.write_text(done.stdout)
    return path


def tls_registry_status(port: int, ca: Path, timeout: float = 2.0) -> int | None:
    """The status of GET https://127.0.0.1:PORT/v2/ checked against ``ca`` (401: wants a login)."""
    context = ssl.create_default_context(cafile=str(ca))
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context)
    return _http_status(conn, "/v2/")


def start_auth_registry(root: Path, port: int, username: str = "ca-test") -> AuthRegistry:
    """Start a TLS registry with htpasswd auth on 127.0.0.1:PORT (data, certs, log under
    ROOT/auth-registry-PORT) and install its CA where dockerd and Podman trust it; undo all
    with stop_auth_registry. The password is random."""
    address = f"127.0.0.1:{port}"
    base = root / f"auth-registry-{port}"
    (base / "data").mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    ca, cert, key = write_tls_files(base / "tls")
    htpasswd = write_htpasswd(base / "htpasswd", username, password)
    config = base / "config.yml"
    config.write_text(
        AUTH_REGISTRY_CONFIG.format(
            data=base / "data", port=port, cert=cert, key=key, htpasswd=htpasswd
        )
    )
    log = base / "registry.log"
    proc = _spawn([_which("docker-registry"), "serve", str(config)], log)
    _wait_ready(
        lambda: tls_registry_status(port, ca) == 401, f"docker-registry on {address}", proc, log
    )
    trusted = []
    for certs in CERTS_DIRS:
        target = certs / address / "ca.crt"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ca, target)
        trusted.append(target)
    registry = Registry(address, owned=True, pid=proc.pid, log=log)
    return AuthRegistry(registry, username, password, ca, tuple(trusted))


def stop_auth_registry(auth: AuthRegistry) -> None:
    """Stop the registry and take its CA out of the engines' certs.d again."""
    stop(auth.registry)
    for path in auth.trusted:
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty: someone else's files are there too
            path.parent.rmdir()


def write_docker_config(directory: Path, auths: dict[str, tuple[str, str]]) -> Path:
    """DIRECTORY/config.json as ``docker login`` leaves it: {registry: (username, password)}.
    Both the docker CLI (``--config DIRECTORY``) and Podman (``--authfile``) read it."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = {
        registry: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
        for registry, (user, password) in auths.items()
    }
    path = directory / "config.json"
    path.write_text(json.dumps({"auths": entries}))
    path.chmod(0o600)
    return path


def push_image(engine: EngineAccess, image: str, ref: str, config: Path | None = None) -> str:
    """Tag ``image`` as ``ref`` and push it, logged in by the Docker ``config`` file if given;
    returns the image's id (without ``sha256:``)."""
    run_cli(engine, "tag", image, ref)
    if config is None:
        run_cli(engine, "push", ref)
    elif engine.kind == "docker":
        run_cli(engine, "--config", str(config.parent), "push", ref)
    else:
        run_cli(engine, "push", f"--authfile={config}", ref)
    out = run_cli(engine, "image", "inspect", "--format", "{{.Id}}", ref).stdout
    return out.strip().removeprefix("sha256:")
