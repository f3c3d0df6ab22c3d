#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine (as root): a real Docker engine, container-agent
# installed in .venv, and `agent run` keeping contrib/examples/ converged in the background.
# Afterwards the example's containers answer on http://127.0.0.1:8080 and :8081.
#
#   bash contrib/quickstart.sh
#
# Stop the agent with: kill "$(cat /run/container-agent-demo.pid)"  (its containers keep running;
# remove them with: DOCKER_HOST=unix:///run/ca-test/docker.sock .venv/bin/agent apply
# contrib/examples/empty.yaml)
#
# CA_DEMO_PIDFILE, CA_DEMO_LOG, CA_DEMO_VOLUMES and CA_DEMO_NAMESPACE override where the demo
# keeps its pid, log and volumes, and the namespace it runs in (the tests run it this way).
set -euo pipefail
cd "$(dirname "$0")/.."

PIDFILE=${CA_DEMO_PIDFILE:-/run/container-agent-demo.pid}
LOG=${CA_DEMO_LOG:-/var/log/container-agent-demo.log}
VOLUMES=${CA_DEMO_VOLUMES:-/var/lib/container-agent/volumes}
NAMESPACE=${CA_DEMO_NAMESPACE:-container-agent}

# setup-engines.sh prints `export NAME=value` lines on stdout and all else on stderr; anything
# else reaching stdout is refused here rather than run as shell.
exports=$(bash contrib/setup-engines.sh)
if bad=$(grep -vnE '^export [A-Z_][A-Z0-9_]*=[A-Za-z0-9_./:@+-]*$' <<<"$exports"); then
    echo "quickstart: contrib/setup-engines.sh printed lines that are not exports; not evaluating them:" >&2
    echo "$bad" >&2
    exit 1
fi
eval "$exports"
bash contrib/install.sh
AGENT=.venv/bin/agent

mkdir -p "$VOLUMES/www"
[[ -e $VOLUMES/www/index.html ]] || echo "It works: served by container-agent" >"$VOLUMES/www/index.html"

echo "== agent plan (a dry run: changes nothing)"
"$AGENT" plan --namespace "$NAMESPACE" --volumes-root "$VOLUMES" contrib/examples/web.yaml

if pid=$(cat "$PIDFILE" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
    echo "== agent run is already running (pid $pid)"
else
    echo "== starting agent run in the background (log $LOG)"
    # --stop-timeout 2: busybox httpd runs as PID 1 and ignores SIGTERM, so a replaced
    # container would otherwise take the default 10 s to stop.
    nohup setsid "$AGENT" run --namespace "$NAMESPACE" --volumes-root "$VOLUMES" --stop-timeout 2 contrib/examples/web.yaml \
        >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
fi

answer() { # PORT: print the page on 127.0.0.1:PORT, retrying for at most 30 s
    python3 - "$1" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/"
for _ in range(60):
    try:
        print(url, "->", urllib.request.urlopen(url, timeout=2).read().decode().strip())
        sys.exit(0)
    except OSError:
        time.sleep(0.5)
sys.exit(f"{url} did not answer within 30 s; see the agent's log")
PY
}
answer 8080
answer 8081
echo "== agent plan again: nothing left to do"
"$AGENT" plan --namespace "$NAMESPACE" --volumes-root "$VOLUMES" contrib/examples/web.yaml
echo "The agent keeps these containers running (pid $(cat "$PIDFILE"), log $LOG)."
echo "Edit contrib/examples/web.yaml and it converges within a second. To use the agent yourself:"
ns_option=
[[ $NAMESPACE == container-agent ]] || ns_option=" --namespace $NAMESPACE"
echo "  export DOCKER_HOST=$DOCKER_HOST; .venv/bin/agent plan$ns_option --volumes-root $VOLUMES contrib/examples/web.yaml"
echo "Stop it with: kill \$(cat $PIDFILE)   (its containers keep running)"
