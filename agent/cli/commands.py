"""The commands that read manifests and talk to an engine: validate, plan, apply,
status, down, run (the daemon) and logs; each takes the parsed arguments and returns the
exit code."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from typing import TYPE_CHECKING

from agent.cli.exits import EXIT_CHANGES, EXIT_FAILURE, EXIT_INVALID, EXIT_OK
from agent.daemon.settings import Settings
from agent.sources.allowances import check_desired
from agent.sources.load import load_sources

if TYPE_CHECKING:
    from backends.base import Backend

# Each command imports what it runs, in its function: `agent validate` loads no engine
# code and no renderer, `agent plan` no executor, and only `agent run` the daemon.

__all__ = [
    "backend_of",
    "cmd_apply",
    "cmd_down",
    "cmd_logs",
    "cmd_plan",
    "cmd_run",
    "cmd_status",
    "cmd_validate",
]

log = logging.getLogger("agent")


def backend_of(args: argparse.Namespace) -> Backend:
    from backends.base import BackendOptions, load_backend

    options = BackendOptions(host=args.host, docker_cmd=args.docker_cmd)
    return load_backend(args.backend, options)


def cmd_validate(args: argparse.Namespace) -> int:
    desired = check_desired(load_sources(args.manifests, args.urls), args.settings.allowances)
    print(f"OK: {len(desired.containers)} container(s) in {len(desired.manifests)} manifest(s).")
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from agent.daemon.reconcile import plan_for
    from agent.output.render import render_json, render_text

    desired = load_sources(args.manifests, args.urls)
    the_plan = plan_for(desired, backend_of(args).reader(), args.settings, time.time())
    sys.stdout.write(render_json(the_plan) if args.output == "json" else render_text(the_plan))
    return EXIT_CHANGES if args.detailed_exitcode and the_plan.changes else EXIT_OK


def cmd_apply(args: argparse.Namespace) -> int:
    from agent.daemon.reconcile import converge_through
    from agent.output.progress import ApplyProgress
    from agent.output.render import apply_summary, apply_to_dict, to_json
    from agent.planning.actions import Rollback
    from agent.state.lock import namespace_lock
    from agent.state.rollouts import RolloutBook

    desired = load_sources(args.manifests, args.urls)
    began = time.monotonic()
    settings: Settings = args.settings
    with namespace_lock(args.state_dir, args.namespace):
        if args.retry_failed:
            RolloutBook(settings.rollouts_path).forget(
                (c.name for c in desired.containers), failed=True
            )
        if args.output == "json":
            the_plan, results = converge_through(desired, backend_of(args), settings)
            elapsed = time.monotonic() - began
            sys.stdout.write(to_json(apply_to_dict(the_plan, results, elapsed)))
        else:
            with ApplyProgress() as progress:
                the_plan, results = converge_through(
                    desired, backend_of(args), settings, progress, progress.planned
                )
            if the_plan.changes:
                print("\n" + apply_summary(results, time.monotonic() - began))
    # A rollback is a failure too: the apply did not get what the manifest says.
    failed = any(not r.ok or isinstance(r.action, Rollback) for r in results)
    return EXIT_FAILURE if failed else EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from agent.daemon.reconcile import plan_against, rollout_inputs
    from agent.output.render import render_status, status_to_dict, to_json
    from agent.output.status import statuses
    from agent.state.health_file import HealthFile
    from agent.state.restarts import RestartLedger
    from agent.state.rollouts import RolloutBook

    settings: Settings = args.settings
    desired = load_sources(args.manifests, args.urls) if args.manifests else None
    reader = backend_of(args).reader()
    now = time.time()
    observed = reader.list(settings.namespace, run_times=True)
    restarts = RestartLedger(settings.restarts_path).counts()
    health = HealthFile(settings.health_path).read()
    found = reader.network(settings.network_name)
    network = found if found is not None and found.namespace == settings.namespace else None
    if desired is None:
        rows = statuses(observed, restarts, health=health)
    else:
        in_place = reader.updates_in_place()
        # The engine is asked what the images of held-back revisions name now, as a plan
        # does: a digest held back is told apart from the one that runs.
        book = RolloutBook(settings.rollouts_path)
        rollouts = rollout_inputs(desired, settings, book, reader)
        the_plan = plan_against(
            desired, observed, settings, now, None, restarts, health, network, rollouts, in_place
        )
        wanted = {c.name for c in desired.containers}
        rows = statuses(observed, restarts, the_plan, wanted, health)
    name = network.name if network is not None else None
    if args.output == "json":
        document = status_to_dict(rows, now, settings.namespace, reader.address, name)
        sys.stdout.write(to_json(document))
    else:
        sys.stdout.write(render_status(rows, now, settings.namespace, name))
    return EXIT_OK


def cmd_down(args: argparse.Namespace) -> int:
    """Remove the namespace's containers, after showing the plan and a confirmation."""
    from agent.daemon.reconcile import converge, plan_for
    from agent.output.progress import ApplyProgress
    from agent.output.render import apply_summary, render_text
    from agent.planning.actions import Remove
    from agent.sources.load import DesiredSet
    from agent.state.lock import namespace_lock

    settings: Settings = args.settings
    backend = backend_of(args)
    with namespace_lock(args.state_dir, args.namespace):
        the_plan = plan_for(DesiredSet(), backend.reader(), settings, time.time())
        if not the_plan.changes:
            print(f"No containers in namespace {settings.namespace}; nothing to do.")
            return EXIT_OK
        sys.stdout.write(render_text(the_plan))
        if not args.yes:
            if not sys.stdin.isatty():
                print(
                    "agent down: refusing to remove containers without a terminal to confirm "
                    "on; pass --yes",
                    file=sys.stderr,
                )
                return EXIT_INVALID
            if not _confirmed(the_plan.count(Remove), settings.namespace):
                print("Down cancelled; nothing was changed.")
                return EXIT_FAILURE
        began = time.monotonic()
        print()
        with ApplyProgress() as progress:
            _, results = converge(DesiredSet(), backend, settings, time.time(), on_result=progress)
    print("\n" + apply_summary(results, time.monotonic() - began))
    return EXIT_FAILURE if any(not r.ok for r in results) else EXIT_OK


def _confirmed(count: int, namespace: str) -> bool:
    """Ask on the terminal, as Terraform does: only ``yes`` goes ahead."""
    try:
        answer = input(
            f"\nStop and remove these {count} container(s) of namespace {namespace!r}?\n"
            "  Only 'yes' will be accepted: "
        )
    except EOFError:
        return False
    return answer.strip() == "yes"


def cmd_run(args: argparse.Namespace) -> int:
    # The daemon's own modules (the loop, its watchers and prober, systemd readiness) load
    # only for agent run: plan, apply and status start faster without them.
    from agent.daemon.notify import Notifier
    from agent.daemon.runloop import RunLoop
    from agent.state.lock import namespace_lock

    notifier = Notifier.from_environment()  # before any engine CLI runs
    backend = backend_of(args)
    settings: Settings = args.settings
    with namespace_lock(args.state_dir, args.namespace), contextlib.ExitStack() as stack:
        loop = RunLoop(list(args.manifests), backend, settings, args.urls)
        listen = settings.metrics_listen
        if listen is not None:
            # Only a daemon that serves metrics pays for importing prometheus-client.
            from prometheus_client import disable_created_metrics

            from agent.daemon.healthz import ServiceHealth
            from agent.daemon.metrics import Metrics, MetricsServer, application

            disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created noise
            metrics = Metrics(backend.name)
            health = ServiceHealth.for_reload(settings.reload)
            server = MetricsServer(listen, application(metrics, health), "--metrics-addr")
            server.start()
            stack.callback(server.close)
            loop.observe(metrics)
            loop.observe(health)
            metrics.watch_health(loop.prober.health)
            log.info("metrics on %s/metrics, health on %s/healthz", server.url, server.url)
        if notifier is not None:
            loop.observe(notifier)
            stack.callback(notifier.stopping)
        return loop.run()


def cmd_logs(args: argparse.Namespace) -> int:
    """Read only, so no namespace lock; Ctrl-C (or SIGTERM) ends a ``--follow`` with 0."""
    from agent.engine.logs import write_logs

    reader = backend_of(args).reader()
    options = {"follow": args.follow, "tail": args.tail, "since": args.since}
    try:
        write_logs(reader, args.namespace, args.name, sys.stdout.buffer, **options)
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:  # `agent logs web | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK
