#!/usr/bin/env bash
# Run the test suite (or part of it) against another Debian release's engines and Python, in a
# sandbox, as root: on Debian 12 against Debian 13's Docker 26, Podman 5, Compose v2 and
# Python 3.13; on Debian 13 against Debian 12's. The host's engines are never touched.
#
#   bash contrib/sandbox.sh [--release trixie|bookworm] [--rebuild] [PYTEST ARGS...]
#   bash contrib/sandbox.sh -q tests/test_contract.py       # e.g. the contract suite only
#   bash contrib/sandbox.sh --run COMMAND [ARGS...]         # any command instead of pytest
#
# What it does:
#   1. builds the release's root once, under /var/lib/container-agent-sandbox/RELEASE/root:
#      debootstrap --variant=minbase from the mirror of the host's apt sources, then (chroot,
#      with the network, the host's own CAs and /etc/pip.conf) the engines' packages and a
#      venv in /opt/venv with that release's Python. The file RELEASE/complete marks a finished build; without it (or with
#      --rebuild) the root is made again from scratch. One run at a time per release (a lock);
#   2. copies this checkout (without .git and .venv) to /src in the root and installs it in
#      the venv (with the network, so new dependencies are fetched), and keeps the wheels of
#      its dependencies in /opt/wheelhouse, where pip looks inside (PIP_NO_INDEX: the tests
#      that run contrib/install.sh need no network);
#   3. enters new mount, pid, net, uts and ipc namespaces, mounts proc, sysfs, the host's
#      cgroups and /dev, a tmpfs on /run and /tmp, brings loopback up, and pivot_roots into the
#      root (a plain chroot breaks dockerd's image import and makes `runc exec` run commands
#      on the host's root); then runs `python -m pytest PYTEST ARGS` in /src. The tests start
#      dockerd, the podman service and a registry themselves, inside (with
#      PODMAN_IGNORE_CGROUPSV1_WARNING=1: Podman 5 on cgroups v1). When pytest ends, the
#      pid namespace ends and the kernel kills whatever is left in it; its mounts go with it.
# Only loopback exists in the sandbox's network namespace. The exit status is pytest's.
# Progress goes to standard error.
set -euo pipefail

BASE=/var/lib/container-agent-sandbox
PACKAGES=(docker.io podman catatonit runc busybox-static docker-registry apache2-utils openssl
    docker-compose systemd python3 python3-venv ca-certificates)

# What a finished build is made of: a root made by another version of this script is rebuilt.
BUILD="packages (with recommends): ${PACKAGES[*]}"

log() { echo "sandbox: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

checkout=$(cd "$(dirname "$0")/.." && pwd)

host_release() {
    local version
    version=$(cat /etc/debian_version 2>/dev/null || echo unknown)
    case $version in
    12.* | bookworm*) echo bookworm ;;
    13.* | trixie*) echo trixie ;;
    *) die "not Debian 12 or 13 (/etc/debian_version: $version); pass --release" ;;
    esac
}

# The first Debian mirror of the host's apt sources (deb822 or one-line format).
host_mirror() {
    local uri
    uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    if [[ -z $uri && -r /etc/apt/sources.list ]]; then
        uri=$(awk '$1 == "deb" && $0 !~ /security/ {
            for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}
        }' /etc/apt/sources.list)
    fi
    [[ -n $uri ]] || die "no Debian mirror in /etc/apt/sources.list.d/*.sources or sources.list"
    echo "$uri"
}

# Run a command in the root with chroot, the host's network, and proc and /dev mounted in a
# private mount namespace (gone when the command ends).
in_chroot() {
    unshare --mount --propagation private --fork -- bash -euo pipefail -c '
        root=$1; shift
        mount -t proc proc "$root/proc"
        mount --rbind /dev "$root/dev"
        exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
            LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
            ${http_proxy:+http_proxy="$http_proxy"} ${https_proxy:+https_proxy="$https_proxy"} \
            ${no_proxy:+no_proxy="$no_proxy"} "$@"' in_chroot "$root" "$@"
}

build_root() {
    local mirror started=$SECONDS
    mirror=$(host_mirror)
    command -v debootstrap >/dev/null || {
        log "installing debootstrap"
        apt-get install -y debootstrap >&2
    }
    rm -f "$marker"
    rm -rf "$root"
    mkdir -p "$root"
    log "debootstrap $release from $mirror into $root"
    debootstrap --variant=minbase "$release" "$root" "$mirror" >&2
    printf 'deb %s %s main\n' "$mirror" "$release" >"$root/etc/apt/sources.list"
    # The host's own trust and pip settings (a proxy's CA, a package index), for the
    # downloads made inside; ca-certificates' installation adds the CAs to the root's store.
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
    [[ ! -f /etc/pip.conf ]] || cp /etc/pip.conf "$root/etc/pip.conf"
    # No service may start while packages install: a daemon would outlive the chroot.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    log "installing ${PACKAGES[*]}"
    in_chroot apt-get update >&2
    in_chroot apt-get install -y "${PACKAGES[@]}" >&2
    in_chroot apt-get clean >&2
    log "creating /opt/venv with $(in_chroot python3 --version)"
    in_chroot python3 -m venv /opt/venv >&2
    in_chroot /opt/venv/bin/pip install --quiet --disable-pip-version-check --upgrade pip >&2
    printf '%s\n' "$BUILD" >"$marker"
    log "built $root in $((SECONDS - started)) s"
}

copy_checkout() {
    rm -rf "$root/src"
    mkdir -p "$root/src"
    tar -C "$checkout" --exclude=./.git --exclude=./.venv --exclude='*.egg-info' \
        --exclude=__pycache__ --exclude=.mypy_cache --exclude=.ruff_cache --exclude=.pytest_cache \
        -cf - . | tar -C "$root/src" -xf -
    log "installing the checkout into /opt/venv"
    in_chroot /opt/venv/bin/pip install --quiet --disable-pip-version-check \
        '/src[docker,podman,test]' >&2
    # The same packages as wheels in /opt/wheelhouse, which pip reads inside (PIP_NO_INDEX,
    # PIP_FIND_LINKS): the tests that run contrib/install.sh need them without a network.
    in_chroot bash -euo pipefail -c '/opt/venv/bin/pip freeze --exclude container-agent \
        >/opt/wheelhouse.txt && /opt/venv/bin/pip download --quiet --disable-pip-version-check \
        --dest /opt/wheelhouse --requirement /opt/wheelhouse.txt pip "setuptools>=61" wheel' >&2
}

# Enter new namespaces and run this script again there (from the copy in the root) as
# `--enter ROOT ARGS`; pid 1 of the new pid namespace is that bash, so its end ends them all.
enter() {
    unshare --net --mount --pid --uts --ipc --fork --propagation private -- \
        bash "$root/src/contrib/sandbox.sh" --enter "$root" "$@"
}

# In the new namespaces, on the host's root: mount what the engines need, then pivot_root.
pivot_into() { # ROOT PYTEST ARGS...
    local root=$1
    shift
    hostname ca-sandbox
    ip link set lo up
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount -t sysfs sysfs "$root/sys"
    mount --rbind /sys/fs/cgroup "$root/sys/fs/cgroup"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o mode=755 tmpfs "$root/run"
    mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
    mkdir -p "$root/.oldroot"
    cd "$root"
    pivot_root . .oldroot
    exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        TERM="${TERM:-dumb}" PODMAN_IGNORE_CGROUPSV1_WARNING=1 \
        PIP_NO_INDEX=1 PIP_FIND_LINKS=/opt/wheelhouse PIP_DISABLE_PIP_VERSION_CHECK=1 \
        /bin/bash /src/contrib/sandbox.sh --inside "$@"
}

# In the sandbox's own root: drop the host's root from view and run pytest (or, after --run,
# the command given).
run_inside() { # [--run COMMAND ARGS... | PYTEST ARGS...]
    umount -l /.oldroot
    rmdir /.oldroot
    cd /src
    # shellcheck disable=SC1091
    log "$(. /etc/os-release && echo "$PRETTY_NAME"), $(/opt/venv/bin/python --version)," \
        "$(dockerd --version | cut -d, -f1), $(podman --version)"
    if [[ ${1:-} == --run ]]; then
        shift
        exec "$@"
    fi
    exec /opt/venv/bin/python -m pytest "$@"
}

case ${1:-} in
--enter) shift; pivot_into "$@" ;;
--inside) shift; run_inside "$@" ;;
esac

release=""
rebuild=0
while (($#)); do
    case $1 in
    --release) release=${2:?--release needs a name}; shift 2 ;;
    --release=*) release=${1#--release=}; shift ;;
    --rebuild) rebuild=1; shift ;;
    --run) [[ $# -gt 1 ]] || die "--run needs a command"; break ;;
    *) break ;;
    esac
done
((EUID == 0)) || die "run as root (debootstrap, namespaces, mounts)"
if [[ -z $release ]]; then
    host=$(host_release)
    case $host in
    bookworm) release=trixie ;;
    trixie) release=bookworm ;;
    esac
fi
[[ $release =~ ^[a-z]+$ ]] || die "bad release name: $release"
root=$BASE/$release/root
marker=$BASE/$release/complete

# One run at a time per release: the root, its /src and its engines' storage are shared.
mkdir -p "$BASE/$release"
exec 9>"$BASE/$release/lock"
if ! flock -n 9; then
    log "another run of the $release sandbox is under way: waiting for it"
    flock 9
fi

if ((rebuild)) || [[ ! -f $marker ]] || [[ $(cat "$marker") != "$BUILD" ]]; then
    build_root
else
    log "reusing $root (built $(date -r "$marker" '+%F %T'); --rebuild makes it again)"
fi
copy_checkout
log "entering the $release sandbox: ${*:-pytest}"
enter "$@"
