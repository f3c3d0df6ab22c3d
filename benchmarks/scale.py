"""How container-agent grows from 30 to 200 containers on one host, beside its peers, on this
machine's real engines.

    python benchmarks/scale.py [--counts 30,200] [--backends dcli,dsdk,ppy,pcli]
                               [--repeat 1] [--out benchmarks/results] [--name scale]

Run it as root with the engines of ENGINES.md (contrib/setup-engines.sh); the set-up, the
workload and the cleanup are those of benchmarks/converge.py (its Lab and subjects), except
that the containers' process honours SIGTERM (``sh -c 'trap "exit 0" TERM; ...'``), so that a
replacement measures the tools and not a stop timeout. For each count N, in this order:

1. Converge N from nothing: ``agent apply`` with each backend, beside the engine's parallel
   floor (one ``network create``, then N ``run -d --network`` at once, one CLI process each:
   the agent's containers share their namespace's network) and docker-compose ``up -d`` on
   dockerd (on its project's network) [agent <= 1.15x the floor of its engine]. One more row
   per engine, for reference, converges the floor's N on the engine's default bridge (no
   network made, no DNS): the engine's own cost of the network is the difference.
2. Idle: ``agent run --reload 0.5 -vv`` over the N running containers for 6 s: engine calls
   a pass (the requests urllib3 logs, for the SDK backends; the engine CLI processes it runs,
   for the CLI ones) and the agent's own CPU milliseconds a pass, counted by its ``pass done``
   lines [1 call, < 20 ms].
3. Replace N: the env of every container changes; ``agent apply`` beside the floor (``stop``,
   ``rm``, ``run -d`` of each, all at once) and docker-compose ``up -d``.
4. N dying at once: under ``agent run`` (engine events followed, ``--reload 60``), every
   container is killed through the engine's API at the same moment; the time until the engine
   shows all N running again with a new StartedAt. Beside it, the engine's floor: the same
   kills at once, each container started again through the API by its own thread as soon as
   the engine shows it stopped.
5. The agent's peak RSS over rows 1, 2 and 4 [< 60 MB].

With ``--repeat R``, every subject of a count is measured R times, the subjects taking turns
(so that a change in the machine's load hits them alike), and each figure is the median of the
repeats that did not fail; the 1-minute load average at the start of each measurement is kept.

Then, for each figure, how it grows from the smallest count to the largest. The Markdown table
goes to stdout and to OUT/NAME.md, the samples to OUT/NAME.json. Only 127.0.0.1 is addressed;
everything made here is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import converge  # noqa: E402
from benchmarks.converge import (  # noqa: E402
    BACKENDS,
    FAILURES,
    MB,
    TRAP,
    AgentSubject,
    BenchError,
    ComposeSubject,
    FloorSubject,
    Lab,
    _ChildCounter,
    cpu_times,
    log,
    vm_hwm,
)
from tests.engines import Engine  # noqa: E402

IDLE_RELOAD = 0.5
IDLE_WINDOW = 6.0
DYING_TIMEOUT = 300.0
# Every request urllib3 logs at -vv (the SDK backends), and the run loop's end of a pass.
REQUEST = re.compile(r'"(?:GET|POST|PUT|DELETE|HEAD) \S+ HTTP/1\.1"')
PASS_DONE = "pass done:"


@dataclass
class Figures:
    """One subject at one count; None where the subject has no such figure."""

    converge: float | None = None
    replace: float | None = None
    idle_calls: float | None = None
    idle_cpu_ms: float | None = None
    idle_passes: int | None = None
    dying: float | None = None
    rss_mb: float | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    load: float | None = None  # the 1-minute load average as the measurement began


MEDIANS = ("converge", "replace", "idle_calls", "idle_cpu_ms", "dying", "rss_mb", "load")


def median_figures(samples: Sequence[Figures]) -> Figures:
    """Each figure's median over the repeats that did not fail (the passes counted: their
    sum); the last error when every repeat failed."""
    good = [sample for sample in samples if sample.error is None]
    if not good:
        return samples[-1]
    merged = Figures()
    for name in MEDIANS:
        values = [value for sample in good if (value := getattr(sample, name)) is not None]
        setattr(merged, name, statistics.median(values) if values else None)
    passes = [sample.idle_passes for sample in good if sample.idle_passes is not None]
    merged.idle_passes = sum(passes) if passes else None
    failed = [sample.error for sample in samples if sample.error is not None]
    if failed:
        merged.notes.append(f"{len(failed)} of {len(samples)} repeats failed: {failed[-1]}")
    return merged


def _idle(subject: AgentSubject) -> tuple[float, float, int, float]:
    """Engine calls and CPU ms a pass of ``agent run`` over the converged set, the passes
    counted, and its peak RSS in MB."""
    cli = subject.backend == "docker-cli"
    with subject.spawn(IDLE_RELOAD, "-vv", name="idle.log") as agent:
        agent.wait_for(PASS_DONE, 120)
        time.sleep(1.0)  # the event stream is set up
        counter = _ChildCounter(agent.pid, None) if cli else None
        if counter is not None:
            counter.start()
        offset = agent.size()
        first = cpu_times(agent.pid)
        time.sleep(IDLE_WINDOW)
        last = cpu_times(agent.pid)
        text = agent.text(offset)
        rss = vm_hwm(agent.pid)
        if counter is not None:
            counter.done.set()
            counter.join()
        if first is None or last is None or rss is None:
            raise BenchError(f"{subject.label}: agent run exited:\n{agent.tail()}")
    passes = text.count(PASS_DONE)
    if passes == 0:
        raise BenchError(f"{subject.label}: no pass in {IDLE_WINDOW:g} s")
    calls = counter.count if counter is not None else len(REQUEST.findall(text))
    return calls / passes, (last[0] - first[0]) * 1000 / passes, passes, rss / MB


def _all_running_again(subject: AgentSubject, before: dict[str, str], timeout: float) -> float:
    """Poll until every container of ``subject`` runs with a StartedAt other than in
    ``before`` (id -> StartedAt): the perf_counter time it was seen."""
    deadline = time.perf_counter() + timeout
    pending = dict(before)
    while pending:
        if time.perf_counter() > deadline:
            raise BenchError(f"{subject.label}: {len(pending)} not running again")
        with ThreadPoolExecutor(max_workers=16) as pool:
            states = dict(zip(pending, pool.map(_state_of(subject), pending), strict=True))
        for container, (running, started) in states.items():
            if running and started != before[container]:
                del pending[container]
        if pending:
            time.sleep(0.1)
    return time.perf_counter()


def _state_of(subject: AgentSubject) -> Callable[[str], tuple[bool, str]]:
    return lambda container: converge.state(converge.inspect(subject.engine, container))


API_TIMEOUT = 120.0  # under the storm of this row, an engine answers a call late


def _call(engine: Engine, what: str, container: str) -> None:
    """``POST /containers/ID/<what>`` through the engine's API, waiting up to API_TIMEOUT
    (Podman's compat API answers a kill only once it has seen the container stop)."""
    status, data = converge.api(engine, "POST", f"/containers/{container}/{what}", API_TIMEOUT)
    if status not in (200, 204, 304):
        raise BenchError(f"{engine.kind}: {what} {container}: {status} {data}")


def _kill_all(subject: AgentSubject, ids: Sequence[str]) -> list[converge.Kill]:
    """Kill every container through the API at the same moment, each from a thread."""
    barrier = threading.Barrier(len(ids))

    class AtOnce(converge.Kill):
        def run(self) -> None:
            barrier.wait()
            try:
                _call(self.engine, "kill?signal=KILL", self.container)
            except BenchError as exc:
                self.error = exc

    killers: list[converge.Kill] = [AtOnce(subject.engine, c) for c in ids]
    for killer in killers:
        killer.start()
    return killers


def _dying(subject: AgentSubject) -> tuple[float, float]:
    """Every container killed at once under ``agent run``: seconds until all run again, and
    the agent's peak RSS in MB."""
    ids = subject.running_ids()
    before = {c: converge.state(converge.inspect(subject.engine, c))[1] for c in ids}
    with subject.spawn(60.0, name="dying.log") as agent:
        agent.wait_for("agent running", 120)
        time.sleep(2.0)  # the first pass and the event stream
        began = time.perf_counter()
        killers = _kill_all(subject, ids)
        seen = _all_running_again(subject, before, DYING_TIMEOUT)
        for killer in killers:
            killer.finish(API_TIMEOUT)
        rss = vm_hwm(agent.pid)
        if rss is None:
            raise BenchError(f"{subject.label}: agent run exited:\n{agent.tail()}")
    return seen - began, rss / MB


def _engine_restart_floor(floor: FloorSubject) -> float:
    """The floor of row 4: every container of the floor subject killed through the API at
    the same moment, and each started again through the API as soon as the engine shows it
    stopped, one thread each; the seconds until the last start call returns."""
    ids = floor.running_ids()
    barrier = threading.Barrier(len(ids) + 1)

    def kill_and_start(container: str) -> None:
        barrier.wait()
        _call(floor.engine, "kill?signal=KILL", container)
        converge.wait_stopped(floor.engine, container, API_TIMEOUT)
        _call(floor.engine, "start", container)

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        done = [pool.submit(kill_and_start, container) for container in ids]
        barrier.wait()
        began = time.perf_counter()
        for future in done:
            future.result()
    return time.perf_counter() - began


def measure_agent(subject: AgentSubject) -> Figures:
    figures = Figures()
    subject.cleanup()
    subject.gens = [0] * subject.count
    subject.write()
    try:
        cold = subject.cold()
        subject.expect_converged()
        figures.converge, rss = cold.seconds, [cold.own_mb]
        calls, cpu, passes, idle_rss = _idle(subject)
        figures.idle_calls, figures.idle_cpu_ms, figures.idle_passes = calls, cpu, passes
        figures.dying, dying_rss = _dying(subject)
        figures.replace = subject.change_all().seconds
        subject.expect_converged()
        figures.rss_mb = max([*rss, idle_rss, dying_rss])
    finally:
        subject.cleanup()
    return figures


def measure_peer(subject: FloorSubject | ComposeSubject) -> Figures:
    """Every row of a peer; the floor on the default bridge, a reference, converges only."""
    figures = Figures()
    subject.cleanup()
    subject.gens = [0] * subject.count
    subject.write()
    try:
        figures.converge = subject.cold().seconds
        subject.expect_converged()
        if isinstance(subject, FloorSubject) and subject.network is None:
            return figures
        if isinstance(subject, FloorSubject):
            figures.dying = _engine_restart_floor(subject)
            subject.expect_converged()
        figures.replace = subject.change_all().seconds
        subject.expect_converged()
    finally:
        subject.cleanup()
    return figures


def subjects(
    lab: Lab, count: int, backends: set[str]
) -> list[AgentSubject | FloorSubject | ComposeSubject]:
    found: list[AgentSubject | FloorSubject | ComposeSubject] = []
    for label, backend, kind, cmd, short in BACKENDS:
        if short not in backends:
            continue
        engine = lab.engine(kind)
        namespace = lab.name(f"{short}{count}")
        found.append(
            AgentSubject(f"agent, {label}", backend, engine.cli if cmd == "cli" else cmd,
                         namespace, engine, lab.image, lab.ports(count), lab.root / namespace,
                         TRAP)
        )  # fmt: skip
    for kind in sorted({k for _, _, k, _, s in BACKENDS if s in backends}):
        for network, short in ((True, "floor"), (False, "bridge")):
            prefix = lab.name(f"{short}{kind[0]}{count}")
            floor = FloorSubject(prefix, lab.engine(kind), lab.image, lab.ports(count),
                                 lab.root / prefix, network)  # fmt: skip
            floor.command = TRAP
            found.append(floor)
    compose = ComposeSubject(lab.compose, f"cab{lab.run_id}s{count}", lab.docker, lab.image,
                             lab.ports(count), lab.root / f"compose{count}")  # fmt: skip
    compose.command = TRAP
    found.append(compose)
    for subject in found:
        lab.register(subject.label, subject.cleanup)
    return found


def _cell(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _ratio(value: float | None, base: float | None) -> str:
    return "" if value is None or not base else f"{value / base:.2f}x"


def table(results: dict[int, dict[str, Figures]], floors: dict[int, dict[str, float]]) -> str:
    header = (
        "| N | subject | converge s | x floor | replace N s | dying N -> all running s | "
        "idle calls/pass | idle CPU ms/pass | peak RSS MB |\n"
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    rows = [header]
    for count, by_label in results.items():
        for label, fig in by_label.items():
            if fig.error is not None:
                rows.append(
                    f"| {count} | {label} | failed: {fig.error.splitlines()[0][:80]} |||||||"
                )
                continue
            engine = "podman" if "podman" in label else "docker"
            rows.append(
                f"| {count} | {label} | {_cell(fig.converge)} | "
                f"{_ratio(fig.converge, floors[count].get(engine))} | {_cell(fig.replace)} | "
                f"{_cell(fig.dying)} | {_cell(fig.idle_calls, 1)} | {_cell(fig.idle_cpu_ms, 1)} | "
                f"{_cell(fig.rss_mb, 1)} |"
            )
    return "\n".join(rows)


def growth(results: dict[int, dict[str, Figures]]) -> str:
    counts = sorted(results)
    if len(counts) < 2:
        return ""
    low, high = counts[0], counts[-1]
    rows = [
        f"How each figure grows from {low} to {high} containers ({high / low:.1f}x):",
        "",
        "| subject | converge | replace | dying | idle calls | idle CPU | RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, small in results[low].items():
        big = results[high].get(label)
        if big is None or small.error or big.error:
            continue
        rows.append(
            f"| {label} | {_ratio(big.converge, small.converge)} | "
            f"{_ratio(big.replace, small.replace)} | {_ratio(big.dying, small.dying)} | "
            f"{_ratio(big.idle_calls, small.idle_calls)} | "
            f"{_ratio(big.idle_cpu_ms, small.idle_cpu_ms)} | {_ratio(big.rss_mb, small.rss_mb)} |"
        )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="30,200")
    parser.add_argument("--backends", default="dcli,dsdk,ppy,pcli")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--name", default="scale")
    parser.add_argument("--repeat", type=int, default=1, help="measurements of each subject")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",")]
    backends = set(args.backends.split(","))
    results: dict[int, dict[str, Figures]] = {}
    samples: dict[int, dict[str, list[Figures]]] = {}
    floors: dict[int, dict[str, float]] = {}
    began = time.monotonic()
    load_before = os.getloadavg()
    with Lab(use_engines=True, use_compose=True, use_kube=False) as lab:
        versions = lab.versions()
        for count in counts:
            results[count], floors[count] = {}, {}
            found = subjects(lab, count, backends)
            samples[count] = {subject.label: [] for subject in found}
            for repeat in range(1, args.repeat + 1):
                for subject in found:
                    log(f"N={count}, repeat {repeat}/{args.repeat}: {subject.label}")
                    load = os.getloadavg()[0]
                    try:
                        if isinstance(subject, AgentSubject):
                            figures = measure_agent(subject)
                        else:
                            figures = measure_peer(subject)
                    except FAILURES as exc:
                        figures = Figures(error=str(exc))
                        log(f"N={count}: {subject.label} FAILED: {exc}")
                    figures.load = load
                    samples[count][subject.label].append(figures)
                    log(f"N={count}: {subject.label}: {figures}")
            for subject in found:
                figures = median_figures(samples[count][subject.label])
                results[count][subject.label] = figures
                if (
                    isinstance(subject, FloorSubject)
                    and subject.network is not None
                    and figures.converge is not None
                ):
                    floors[count][subject.engine.kind] = figures.converge
        notes = list(lab.notes)
    loads = [f.load for by in samples.values() for r in by.values() for f in r if f.load]
    notes += [
        f"N={count}, {label}: {note}"
        for count, by in results.items()
        for label, fig in by.items()
        for note in fig.notes
    ]
    text = "\n\n".join(
        part
        for part in (
            "# container-agent at scale",
            f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}; counts {counts}; "
            + "; ".join(f"{k} {v}" for k, v in versions.items())
            + f". Whole run {time.monotonic() - began:.0f} s; load average "
            + "{:.2f}/{:.2f}/{:.2f} before, ".format(*load_before)
            + "{:.2f}/{:.2f}/{:.2f} after".format(*os.getloadavg())
            + (
                f", {min(loads):.1f} to {max(loads):.1f} (1 min) as the measurements began"
                if loads
                else ""
            )
            + f". Each figure: the median of {args.repeat} repeat(s).",
            " ".join(["    python benchmarks/scale.py", *(sys.argv[1:] if argv is None else argv)]),
            "Targets: converge <= 1.15x the floor of the same engine; idle 1 engine call and "
            "< 20 ms of the agent's CPU a pass; peak RSS < 60 MB. The floor: one `network "
            "create`, then N `run -d --network` at once (the agent's containers share their "
            "namespace's network); the floor on the default bridge, converged only, is for "
            "reference (x floor: against the floor on a network).",
            table(results, floors),
            growth(results),
            "\n".join(f"- {note}" for note in notes),
        )
        if part
    )
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.md").write_text(text + "\n")
    document = {
        "versions": versions,
        "repeat": args.repeat,
        "floors": floors,
        "results": {
            str(count): {label: asdict(fig) for label, fig in by.items()}
            for count, by in results.items()
        },
        "samples": {
            str(count): {label: [asdict(fig) for fig in figs] for label, figs in by.items()}
            for count, by in samples.items()
        },
    }
    (args.out / f"{args.name}.json").write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
