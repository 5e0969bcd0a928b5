# shellcheck shell=bash
# ensure_docker_engine: make sure a Docker engine answers, starting one if needed.
# Installs docker.io, busybox-static, debootstrap, npm and openssh-server with apt when
# missing (as root).
# A dockerd started here keeps running for the rest of this machine's session
# (its pid is in $GITTASK_DOCKERD_PIDFILE) and is left alone if one already ran.

GITTASK_DOCKERD_PIDFILE="${GITTASK_DOCKERD_PIDFILE:-/tmp/gittask-dockerd.pid}"

_apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "scripts: need root to install $* (or install them yourself)" >&2
        return 1
    fi
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ]; then
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_docker_engine() {
    local need=()
    command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
    [ -x /bin/busybox ] || need+=(busybox-static)
    # the real agent image: a Debian base made with debootstrap, Claude Code by npm
    command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
    command -v npm >/dev/null 2>&1 || need+=(npm)
    # a remote engine reached over ssh (tests/test_remote_engine.py starts its own sshd)
    [ -x /usr/sbin/sshd ] || need+=(openssh-server)
    if [ ${#need[@]} -gt 0 ]; then
        echo "== installing ${need[*]}"
        _apt_install "${need[@]}" || { apt-get update -qq && _apt_install "${need[@]}"; }
    fi
    if docker info >/dev/null 2>&1; then
        return 0
    fi
    echo "== starting a Docker engine (dockerd, vfs storage)"
    local log=/tmp/gittask-dockerd.log
    nohup dockerd --storage-driver=vfs --iptables=false --bridge=none >"$log" 2>&1 &
    echo $! >"$GITTASK_DOCKERD_PIDFILE"
    for _ in $(seq 1 120); do
        if docker info >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    echo "scripts: dockerd did not come up in 60 s; see $log" >&2
    tail -n 20 "$log" >&2
    return 1
}
