#!/usr/bin/env bash
# Prepare a Debian 12 machine (root, no systemd) to run container-agent against real engines,
# with the settings each engine needs here (below). Idempotent: run it as often as you like.
#
#   contrib/setup-engines.sh [--podman] [--install-only]
#   eval "$(contrib/setup-engines.sh --podman)"     # progress goes to stderr, exports to stdout
#
# Standard output carries the `export NAME=value` lines and nothing else: everything the script
# and the programs it runs print (apt, debconf, a package's scripts) goes to standard error.
#
# What it does:
#   1. installs docker.io podman catatonit runc busybox-static docker-registry apache2-utils openssl docker-compose
#      systemd (no apt at all if present; systemd only for `systemd-analyze verify` of
#      contrib/systemd in the tests, it is not started);
#   2. writes the podman settings to /etc/container-agent/containers.conf and registries.conf
#      (only if absent). /etc/containers is NOT touched: the files are passed with
#      CONTAINERS_CONF / CONTAINERS_REGISTRIES_CONF, to the service and by the printed exports.
#      containers.conf: runtime runc (crun fails on hybrid cgroups), ulimits the sandbox allows.
#      registries.conf: no short-name search (never docker.io), 127.0.0.1:15000 plain HTTP.
#   3. starts dockerd on /run/ca-test/docker.sock unless something answers there
#      (log /var/log/ca-test-dockerd.log); with --podman also `podman system service` on
#      /run/ca-test/podman.sock (log /var/log/ca-test-podman.log, pid in /run/ca-test/podman.pid);
#      stale pid/socket files of a killed daemon are removed first, a live one is never killed;
#   4. imports localhost/busybox:latest (from /bin/busybox) into docker (and podman) if missing;
#   5. prints `export DOCKER_HOST=...` (and the podman variables with --podman).
# Paths are the same as tests/engines.py, so the tests reuse engines started here.
# Stop the engines with: kill "$(cat /run/ca-test/docker.pid)" "$(cat /run/ca-test/podman.pid)"
set -euo pipefail

PACKAGES=(docker.io podman catatonit runc busybox-static docker-registry apache2-utils openssl docker-compose systemd openssh-client)
RUN_DIR=/run/ca-test
DOCKER_SOCK=$RUN_DIR/docker.sock
DOCKER_PIDFILE=$RUN_DIR/docker.pid
DOCKER_EXEC_ROOT=$RUN_DIR/docker-exec
DOCKER_DATA_ROOT=/var/lib/ca-test/docker
DOCKER_LOG=/var/log/ca-test-dockerd.log
PODMAN_SOCK=$RUN_DIR/podman.sock
PODMAN_PIDFILE=$RUN_DIR/podman.pid
PODMAN_LOG=/var/log/ca-test-podman.log
CONF_DIR=/etc/container-agent
REGISTRY_PORT=15000
IMAGE=localhost/busybox:latest
APPLETS=(sh sleep echo cat httpd nc env pwd hostname ls touch mkdir id true false wget kill ps printf)
START_TIMEOUT=60

export CONTAINERS_CONF=$CONF_DIR/containers.conf
export CONTAINERS_REGISTRIES_CONF=$CONF_DIR/registries.conf

log() { echo "setup-engines: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

install_packages() {
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$pkg")
    done
    if ((${#missing[@]} == 0)); then
        log "packages present: ${PACKAGES[*]}"
        return
    fi
    log "installing ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${PACKAGES[@]}"
}

write_if_absent() { # PATH CONTENT
    if [[ -e $1 ]]; then
        log "keeping existing $1"
    else
        mkdir -p "$(dirname "$1")"
        printf '%s' "$2" >"$1"
        log "wrote $1"
    fi
}

write_podman_conf() {
    write_if_absent "$CONTAINERS_CONF" '# container-agent: see contrib/setup-engines.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
default_sysctls = ["net.ipv4.ping_group_range=0 0"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
'
    write_if_absent "$CONTAINERS_REGISTRIES_CONF" "unqualified-search-registries = []
short-name-mode = \"disabled\"

[[registry]]
location = \"127.0.0.1:$REGISTRY_PORT\"
insecure = true
"
}

# Prints the pid in PIDFILE if that process is alive (not a zombie) and its argv[0] is NAME.
live_pid() { # PIDFILE NAME
    local pid state argv0
    pid=$(cat "$1" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    argv0=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1) || return 1
    [[ $state != Z && $(basename "$argv0") == "$2" ]] || return 1
    echo "$pid"
}

docker_answers() { docker -H "unix://$DOCKER_SOCK" version >/dev/null 2>&1; }
podman_answers() { podman --remote --url "unix://$PODMAN_SOCK" version >/dev/null 2>&1; }

wait_for() { # CHECK WHAT LOG [PID: fail as soon as it exits]
    local deadline=$((SECONDS + START_TIMEOUT))
    until "$1"; do
        if [[ -n ${4:-} ]] && ! kill -0 "$4" 2>/dev/null; then
            tail -n 30 "$3" >&2 || true
            die "$2 exited (log: $3)"
        fi
        if ((SECONDS > deadline)); then
            tail -n 30 "$3" >&2 || true
            die "$2 did not answer within ${START_TIMEOUT}s (log: $3)"
        fi
        sleep 0.5
    done
}

# Reuse a daemon answering (or a live one still starting), else clear stale files and start it.
# Sets STARTED_PID to the pid it started, or to "" if an existing daemon answers.
start_daemon() { # NAME CHECK SOCK PIDFILE LOG ARGV...
    local name=$1 check=$2 sock=$3 pidfile=$4 logfile=$5 pid
    shift 5
    STARTED_PID=
    if "$check"; then
        log "$name already answers on $sock"
        return
    fi
    if pid=$(live_pid "$pidfile" "$name"); then
        log "$name pid $pid is running but not answering yet; waiting (never killing it)"
        wait_for "$check" "$name (pid $pid)" "$logfile"
        return
    fi
    rm -f "$pidfile" "$sock"
    mkdir -p "$RUN_DIR" "$(dirname "$logfile")"
    log "starting $name (log $logfile)"
    # CONTAINER_HOST / CONTAINER_CONNECTION (e.g. from our own exports) would turn
    # `podman system service` into a remote client that fails with "accepts at most 1 arg(s)"
    env -u CONTAINER_HOST -u CONTAINER_CONNECTION -u DOCKER_HOST \
        nohup setsid "$@" >>"$logfile" 2>&1 </dev/null &
    STARTED_PID=$!
    wait_for "$check" "$name" "$logfile" "$STARTED_PID"
    log "$name answers on $sock (pid $STARTED_PID)"
}

start_dockerd() {
    if ! live_pid "$DOCKER_EXEC_ROOT/containerd/containerd.pid" containerd >/dev/null; then
        rm -f "$DOCKER_EXEC_ROOT/containerd/containerd.pid" # dockerd would adopt a dead pid
    fi
    # dockerd writes its own pidfile
    start_daemon dockerd docker_answers "$DOCKER_SOCK" "$DOCKER_PIDFILE" "$DOCKER_LOG" \
        dockerd --host "unix://$DOCKER_SOCK" --data-root "$DOCKER_DATA_ROOT" \
        --exec-root "$DOCKER_EXEC_ROOT" --pidfile "$DOCKER_PIDFILE"
}

start_podman() { # the podman service gets CONTAINERS_CONF / CONTAINERS_REGISTRIES_CONF (exported)
    start_daemon podman podman_answers "$PODMAN_SOCK" "$PODMAN_PIDFILE" "$PODMAN_LOG" \
        podman system service --time=0 "unix://$PODMAN_SOCK"
    if [[ -n $STARTED_PID ]]; then
        echo "$STARTED_PID" >"$PODMAN_PIDFILE"
    fi
}

import_busybox() { # CLI...
    if "$@" image inspect "$IMAGE" >/dev/null 2>&1; then
        log "$1: $IMAGE present"
        return
    fi
    local tmp applet
    tmp=$(mktemp -d)
    mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/tmp"
    chmod 1777 "$tmp/rootfs/tmp"
    cp /bin/busybox "$tmp/rootfs/bin/busybox"
    for applet in "${APPLETS[@]}"; do ln -s busybox "$tmp/rootfs/bin/$applet"; done
    tar --owner=0 --group=0 -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" .
    "$@" import --change 'CMD ["sh"]' --change 'ENV PATH=/bin' "$tmp/rootfs.tar" "$IMAGE" >/dev/null
    rm -rf "$tmp"
    log "$1: imported $IMAGE"
}

main() {
    local with_podman=0 install_only=0 arg
    for arg in "$@"; do
        case $arg in
        --podman) with_podman=1 ;;
        --install-only) install_only=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2 && return ;;
        *) die "unknown argument $arg (usage: $0 [--podman] [--install-only])" ;;
        esac
    done
    ((EUID == 0)) || die "run as root"
    install_packages
    ((install_only)) && return
    [[ -x /bin/busybox ]] || die "/bin/busybox missing (busybox-static)"
    write_podman_conf
    start_dockerd
    import_busybox docker -H "unix://$DOCKER_SOCK"
    if ((with_podman)); then
        start_podman
        import_busybox podman --remote --url "unix://$PODMAN_SOCK"
    fi
    EXPORTS+=("export DOCKER_HOST=unix://$DOCKER_SOCK")
    if ((with_podman)); then
        EXPORTS+=("export CONTAINER_HOST=unix://$PODMAN_SOCK")
        EXPORTS+=("export CONTAINERS_CONF=$CONTAINERS_CONF")
        EXPORTS+=("export CONTAINERS_REGISTRIES_CONF=$CONTAINERS_REGISTRIES_CONF")
    fi
}

# Standard output carries the exports alone, printed once all is done: main and everything it
# runs (apt, the daemons it starts) write to stderr, and nothing started holds stdout open.
EXPORTS=()
main "$@" >&2
if ((${#EXPORTS[@]})); then printf '%s\n' "${EXPORTS[@]}"; fi
