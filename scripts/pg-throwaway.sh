#!/usr/bin/env bash
# pg-throwaway.sh — a private, disposable PostgreSQL 15 server in one directory.
#
# Usage:
#   scripts/pg-throwaway.sh start DIR [--owner-pid PID]
#       Installs postgresql-15 with apt-get if /usr/lib/postgresql/15/bin/postgres is
#       missing (needs root), initdb's a cluster into DIR/data (once), starts it, waits
#       until it accepts connections and prints one line on stdout, a libpq conninfo:
#           host=DIR port=N user=postgres dbname=postgres
#       Calling start again on a running DIR just prints the conninfo again; on a
#       stopped-but-initialised DIR it restarts the same cluster.
#       --owner-pid PID: also start a detached watchdog that stops the server and
#       removes DIR once process PID has exited (for callers that may be killed
#       before they can clean up, e.g. a test binary hit by SIGKILL).
#   scripts/pg-throwaway.sh stop DIR
#       Stops the server (pg_ctl stop -m fast, then -m immediate if that fails) and
#       removes DIR. Safe to call twice, or on a DIR that never existed. Refuses to
#       delete a non-empty DIR that this script did not create.
#   scripts/pg-throwaway.sh status DIR
#       Prints the conninfo and exits 0 if the server in DIR is running, else exits 1.
#   scripts/pg-throwaway.sh install
#       Only makes sure postgresql-15 is installed (for CI set-up steps).
#
# Layout of DIR: data/ (PGDATA), .s.PGSQL.N (unix socket), log/postgresql.log,
# port (the port number), .pqsim-pg-throwaway (marker that allows `stop` to delete DIR).
#
# Configuration (appended to postgresql.conf at initdb): listen_addresses = '' (no TCP;
# the port number only names the socket), unix_socket_directories = DIR, jit = off,
# synchronous_commit = off (fsync stays on), everything else at the PG15 defaults
# (shared_buffers 128MB, max_worker_processes 8, ...). Local connections use trust auth.
#
# Postgres refuses to run as root: when this script runs as root, the server runs as the
# `postgres` system user that the Debian package creates, and DIR is chown'ed to it.
# DIR's parent directories must therefore be traversable by that user (/tmp is).
#
# Environment:
#   PQSIM_PG_BINDIR  server binaries (default /usr/lib/postgresql/15/bin)
#   PQSIM_PG_LOCALE  initdb locale (default C.UTF-8, Debian's default in these machines)
#   PQSIM_PG_PORT    port number to use instead of a random free one
set -euo pipefail

PGBIN="${PQSIM_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
LOCALE="${PQSIM_PG_LOCALE:-C.UTF-8}"
MARKER=".pqsim-pg-throwaway"
SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

die() {
    echo "pg-throwaway: $*" >&2
    exit 1
}
log() { echo "pg-throwaway: $*" >&2; }

usage() {
    sed -n '2,22p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as the server's owner: `postgres` when we are root, else ourselves.
# Runs from / so that `postgres` does not complain about an unreadable cwd (/root).
as_pg() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

ensure_installed() {
    if [ -x "$PGBIN/postgres" ] && [ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ]; then
        return 0
    fi
    if [ "$PGBIN" != "/usr/lib/postgresql/15/bin" ]; then
        die "no PostgreSQL binaries in PQSIM_PG_BINDIR=$PGBIN"
    fi
    is_root || die "postgresql-15 is not installed and installing it needs root"
    command -v apt-get >/dev/null || die "postgresql-15 is not installed and there is no apt-get"
    # Serialise concurrent installs (parallel tests); apt would fail on its own lock.
    exec 9>/var/lock/pqsim-pg-install.lock
    flock 9
    if [ ! -x "$PGBIN/postgres" ]; then
        log "installing postgresql-15 (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update >&2
        apt-get install -y --no-install-recommends postgresql-15 >&2
        # The package creates a cluster 15/main and starts it where services may start
        # (not in these sandboxes: policy-rc.d forbids it). We just installed it and
        # do not use it: stop it so that it takes no CPU from measured runs.
        if command -v pg_lsclusters >/dev/null &&
            pg_lsclusters -h 2>/dev/null | grep -qE '^15 +main .*online'; then
            pg_ctlcluster 15 main stop >&2 || true
        fi
    fi
    flock -u 9
    exec 9>&-
    [ -x "$PGBIN/postgres" ] || die "apt-get install postgresql-15 did not provide $PGBIN/postgres"
    if is_root && ! id postgres >/dev/null 2>&1; then
        die "the postgres system user is missing after installing postgresql-15"
    fi
}

# Is TCP port $1 free on this machine? (Only cosmetic: we never listen on TCP, but a
# port nobody uses keeps the socket name and the SysV shm key unambiguous.)
port_free() {
    local hex
    hex=$(printf '%04X' "$1")
    ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '{print $2}' | grep -qi ":$hex\$"
}

pick_port() {
    if [ -n "${PQSIM_PG_PORT:-}" ]; then
        echo "$PQSIM_PG_PORT"
        return
    fi
    local p i
    for i in $(seq 1 50); do
        p=$((20000 + RANDOM % 40000))
        if port_free "$p"; then
            echo "$p"
            return
        fi
    done
    die "could not find a free port number"
}

abs_dir() {
    # Absolute path without requiring existence of the last component.
    local d="$1"
    case "$d" in
        /*) ;;
        *) d="$PWD/$d" ;;
    esac
    # strip trailing slashes (but keep "/")
    while [ "${#d}" -gt 1 ] && [ "${d%/}" != "$d" ]; do d="${d%/}"; done
    echo "$d"
}

# Is process $1 alive? A zombie counts as gone: the postmaster is re-parented to PID 1
# once pg_ctl exits, and PID 1 on these machines reaps orphans only about once a second.
pid_alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != "Z" ]
}

server_running() {
    local dir="$1"
    [ -f "$dir/data/PG_VERSION" ] || return 1
    [ -x "$PGBIN/pg_ctl" ] || return 1
    as_pg "$PGBIN/pg_ctl" status -D "$dir/data" >/dev/null 2>&1
}

conninfo() {
    local dir="$1"
    echo "host=$dir port=$(cat "$dir/port") user=postgres dbname=postgres"
}

cmd_start() {
    local dir="" owner_pid=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --owner-pid)
                [ $# -ge 2 ] || usage
                owner_pid="$2"
                shift 2
                ;;
            -*) usage ;;
            *)
                [ -z "$dir" ] || usage
                dir="$1"
                shift
                ;;
        esac
    done
    [ -n "$dir" ] || usage
    dir=$(abs_dir "$dir")
    [ "$dir" != "/" ] || die "refusing to use / as DIR"

    ensure_installed

    if [ -d "$dir" ] && [ ! -e "$dir/$MARKER" ] && [ -n "$(ls -A "$dir")" ]; then
        die "$dir exists, is not empty and was not made by this script"
    fi
    mkdir -p "$dir"
    touch "$dir/$MARKER"

    if [ ! -f "$dir/data/PG_VERSION" ] || [ ! -f "$dir/port" ]; then
        # Fresh (or a half-finished earlier initdb): start over.
        rm -rf "$dir/data" "$dir/log" "$dir/port"
        local port sock
        port=$(pick_port)
        sock="$dir/.s.PGSQL.$port"
        # sun_path holds 107 bytes + NUL.
        [ "${#sock}" -le 107 ] || die "socket path $sock is longer than 107 bytes; use a shorter DIR"
        mkdir -p "$dir/log"
        if is_root; then
            chown -R postgres: "$dir"
        fi
        chmod 0700 "$dir"
        as_pg test -w "$dir" ||
            die "user postgres cannot write $dir (are its parent directories traversable? use a DIR under /tmp)"
        as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust \
            --encoding=UTF8 --locale="$LOCALE" >"$dir/log/initdb.log" 2>&1 ||
            { cat "$dir/log/initdb.log" >&2; die "initdb failed"; }
        cat >>"$dir/data/postgresql.conf" <<EOF

# ---- pqsim throwaway server (scripts/pg-throwaway.sh) ----
listen_addresses = ''
port = $port
unix_socket_directories = '$dir'
jit = off
synchronous_commit = off
EOF
        echo "$port" >"$dir/port"
        if is_root; then
            chown postgres: "$dir/port" "$dir/data/postgresql.conf" "$dir/$MARKER"
        fi
    fi

    if ! server_running "$dir"; then
        # -w: wait until the server accepts connections (pg_ctl polls 10x per second).
        if ! as_pg "$PGBIN/pg_ctl" start -w -t 120 -D "$dir/data" \
            -l "$dir/log/postgresql.log" >/dev/null 2>&1; then
            tail -n 30 "$dir/log/postgresql.log" >&2 || true
            die "server in $dir did not start (log: $dir/log/postgresql.log)"
        fi
    fi

    local port i
    port=$(cat "$dir/port")
    for i in $(seq 1 100); do
        if "$PGBIN/pg_isready" -q -h "$dir" -p "$port" -U postgres -d postgres; then
            break
        fi
        [ "$i" -lt 100 ] || die "server in $dir is running but does not accept connections"
        sleep 0.1
    done

    if [ -n "$owner_pid" ]; then
        start_watchdog "$dir" "$owner_pid"
    fi
    conninfo "$dir"
}

start_watchdog() {
    local dir="$1" pid="$2"
    [[ "$pid" =~ ^[0-9]+$ ]] || die "--owner-pid wants a process id, got '$pid'"
    # The watchdog runs from a copy inside DIR: the caller may have run this script from a
    # temporary file (pqsim embeds it) that is gone by the time the watchdog needs it.
    # Detached from our stdio (callers read our stdout to EOF) and from our session.
    cp "$SCRIPT_PATH" "$dir/.pg-throwaway.sh"
    setsid bash "$dir/.pg-throwaway.sh" _watch "$dir" "$pid" </dev/null >/dev/null 2>&1 &
}

cmd_watch() {
    local dir="$1" pid="$2"
    while [ -d "$dir" ] && kill -0 "$pid" 2>/dev/null; do
        sleep 1
    done
    if [ -d "$dir" ]; then
        cmd_stop "$dir"
    fi
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    local dir
    dir=$(abs_dir "$1")
    [ "$dir" != "/" ] || die "refusing to use / as DIR"
    if [ ! -e "$dir" ]; then
        return 0
    fi
    [ -d "$dir" ] || die "$dir is not a directory"
    if [ ! -e "$dir/$MARKER" ] && [ -n "$(ls -A "$dir")" ]; then
        die "refusing to remove $dir: not made by this script (no $MARKER)"
    fi
    if [ -f "$dir/data/PG_VERSION" ]; then
        local pmpid=""
        if [ -f "$dir/data/postmaster.pid" ]; then
            pmpid=$(head -n 1 "$dir/data/postmaster.pid")
        fi
        if [ -x "$PGBIN/pg_ctl" ]; then
            if server_running "$dir"; then
                as_pg "$PGBIN/pg_ctl" stop -w -t 60 -m fast -D "$dir/data" >/dev/null 2>&1 ||
                    as_pg "$PGBIN/pg_ctl" stop -w -t 30 -m immediate -D "$dir/data" >/dev/null 2>&1 ||
                    die "could not stop the server in $dir"
            fi
        elif [ -n "$pmpid" ]; then
            # Binaries vanished under a running server: signal it directly (fast shutdown).
            kill -INT "$pmpid" 2>/dev/null || true
        fi
        # pg_ctl returns once postmaster.pid is gone, a moment before the postmaster
        # process has exited: wait for the process too, so "stopped" means gone.
        if [ -n "$pmpid" ]; then
            local i
            for i in $(seq 1 300); do
                pid_alive "$pmpid" || break
                [ "$i" -lt 300 ] || die "postmaster $pmpid of $dir did not exit"
                sleep 0.02
            done
        fi
    fi
    rm -rf "$dir"
}

cmd_status() {
    [ $# -eq 1 ] || usage
    local dir
    dir=$(abs_dir "$1")
    if server_running "$dir" && [ -f "$dir/port" ]; then
        conninfo "$dir"
    else
        exit 1
    fi
}

[ $# -ge 1 ] || usage
cmd="$1"
shift
case "$cmd" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    install)
        [ $# -eq 0 ] || usage
        ensure_installed
        ;;
    _watch)
        [ $# -eq 2 ] || usage
        cmd_watch "$@"
        ;;
    -h | --help | help) usage ;;
    *) usage ;;
esac
