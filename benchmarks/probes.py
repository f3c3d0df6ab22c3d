"""What liveness probes cost, and how it grows with the number of containers.

    PYTHONPATH=. python benchmarks/probes.py [--counts 1,10,30] [--seconds 20]

On dockerd (started or reused with tests/engines.py, as the other benchmarks), for each count N
and each kind of probe (httpGet, tcpSocket, exec, every second), ``agent run`` (Docker SDK
backend) keeps N busybox containers; once every one is healthy, the CPU seconds of the agent
(utime+stime from /proc) and of dockerd and containerd are taken over ``--seconds``, and the
agent's threads and peak RSS. Beside them, the same N containers without probes (what the
agent costs idle) and with Docker's own HEALTHCHECK (``--health-cmd``, every second: the
peer, which never restarts an unhealthy container outside Swarm). The table prints CPU
milliseconds per second of wall time and per check. Only 127.0.0.1; every container is named
after a random run id and removed at the end.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.converge import RunningAgent, cpu_times, vm_hwm  # noqa: E402
from tests.engines import (  # noqa: E402
    BUSYBOX_TAG,
    CONTAINERD_PIDFILE,
    DOCKER_PIDFILE,
    Engine,
    build_busybox_image,
    free_port,
    remove_namespace,
    run_cli,
    start_engine,
    stop,
)

PROBES = {
    "none": "",
    "httpGet": "    livenessProbe: {{httpGet: {{path: /tmp/ok, port: 8080}}, periodSeconds: 1}}\n",
    "tcpSocket": "    livenessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 1}}\n",
    "exec": "    livenessProbe: {{exec: {{command: [cat, /tmp/ok]}}, periodSeconds: 1}}\n",
}
COMMAND = "[sh, -c, 'touch /tmp/ok; exec httpd -f -p 8080 -h /']"


def manifest(count: int, kind: str) -> str:
    items = []
    for index in range(count):
        items.append(
            f"  - name: c{index}\n    image: {BUSYBOX_TAG}\n    command: {COMMAND}\n"
            f"    ports: [{{containerPort: 8080, hostPort: {free_port()}, hostIp: 127.0.0.1}}]\n"
            + PROBES[kind].format()
        )
    return "version: v1beta1\ncontainers:\n" + "".join(items)


def pid_of(pidfile: Path) -> int:
    return int(pidfile.read_text().split()[0])


def engine_cpu() -> float:
    total = 0.0
    for pidfile in (DOCKER_PIDFILE, CONTAINERD_PIDFILE):
        times = cpu_times(pid_of(pidfile))
        total += times[0] if times else 0.0
    return total


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def agent_row(
    engine: Engine, root: Path, count: int, kind: str, seconds: float
) -> dict[str, float]:
    namespace = f"bp-{secrets.token_hex(3)}"
    path = root / f"{namespace}.yaml"
    path.write_text(manifest(count, kind))
    argv = [
        sys.executable, "-m", "agent", "run", "--backend=docker", f"--host={engine.host}",
        f"--namespace={namespace}", f"--state-dir={root / namespace}", "--reload=30",
        f"--volumes-root={root / 'v'}", str(path),
    ]  # fmt: skip
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
    try:
        with RunningAgent(argv, env, root, root / f"{namespace}.log") as agent:
            health = root / namespace / f"{namespace}.health.json"
            deadline = time.monotonic() + 120
            while True:
                if kind == "none":
                    label = f"label=io.container-agent.namespace={namespace}"
                    if len(run_cli(engine, "ps", "-q", "--filter", label).stdout.split()) == count:
                        break
                elif health.exists():
                    records = json.loads(health.read_text() or "{}")
                    ready = [r for r in records.values() if r["checks"] >= 2 and not r["failures"]]
                    if len(ready) == count:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} x{count}: not ready:\n{agent.tail()}")
                time.sleep(0.5)
            before_agent, before_engine = cpu_times(agent.pid), engine_cpu()
            time.sleep(seconds)
            after_agent, after_engine = cpu_times(agent.pid), engine_cpu()
            assert before_agent and after_agent
            row = {
                "agent_ms_per_s": 1000 * (after_agent[0] - before_agent[0]) / seconds,
                "engine_ms_per_s": 1000 * (after_engine - before_engine) / seconds,
                "threads": float(threads(agent.pid)),
                "rss_mb": (vm_hwm(agent.pid) or 0) / 2**20,
            }
            if kind != "none":
                records = json.loads(health.read_text())
                row["failures"] = float(sum(r["failures"] for r in records.values()))
            return row
    finally:
        remove_namespace(engine, namespace)


def healthcheck_row(engine: Engine, count: int, seconds: float) -> dict[str, float]:
    label = f"bp-peer-{secrets.token_hex(3)}"
    try:
        for _ in range(count):
            run_cli(engine, "run", "-d", f"--label=io.container-agent.namespace={label}",
                    "--health-cmd=cat /tmp/ok", "--health-interval=1s", BUSYBOX_TAG,
                    "sh", "-c", "touch /tmp/ok; exec sleep 600")  # fmt: skip
        time.sleep(5)
        before = engine_cpu()
        time.sleep(seconds)
        return {"engine_ms_per_s": 1000 * (engine_cpu() - before) / seconds}
    finally:
        remove_namespace(engine, label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,10,30")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    with tempfile.TemporaryDirectory(prefix="ca-probes-") as temporary:
        root = Path(temporary)
        engine = start_engine("docker", root / "engines")
        try:
            build_busybox_image(engine)
            print(
                "| containers | probe | agent CPU ms/s | agent CPU ms/check "
                "| dockerd+containerd CPU ms/s | agent threads | agent RSS MB |"
            )
            print("| --- | --- | --- | --- | --- | --- | --- |")
            for count in counts:
                for kind in PROBES:
                    row = agent_row(engine, root, count, kind, args.seconds)
                    per_check = row["agent_ms_per_s"] / count if kind != "none" else float("nan")
                    print(
                        f"| {count} | {kind} | {row['agent_ms_per_s']:.1f} | "
                        f"{'-' if kind == 'none' else f'{per_check:.2f}'} | "
                        f"{row['engine_ms_per_s']:.1f} | {row['threads']:.0f} | "
                        f"{row['rss_mb']:.0f} |",
                        flush=True,
                    )
                peer = healthcheck_row(engine, count, args.seconds)
                print(f"| {count} | Docker HEALTHCHECK (exec, dockerd's own) | - | - | "
                      f"{peer['engine_ms_per_s']:.1f} | - | - |", flush=True)  # fmt: skip
        finally:
            if engine.owned:
                stop(engine)


if __name__ == "__main__":
    main()
