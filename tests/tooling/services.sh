#!/usr/bin/env bash
# Start the backing services the tests use, by hand (no systemd here), and record how to reach
# them in $HOME/.paas-orchestrator-test/services.json (ansible-test filters environment
# variables, so tests read that file). Idempotent: a running service is left alone.
#
#   tests/tooling/services.sh start  postgres|all
#   tests/tooling/services.sh stop   postgres|all
#   tests/tooling/services.sh status postgres|all    # exit 0 when all are up
#
# A service NAME is three functions, start_NAME, stop_NAME and status_NAME, plus an entry in
# SERVICES (part of "all") or OPT_IN (only by name, for a heavy one no test needs; openstack,
# about 2 GB and up to 2.5 minutes cold, is in "all" since its driver is tested). Needs root (apt-get, the service users).
# shellcheck disable=SC2317  # the service functions are called as "$action_$name"
set -euo pipefail

SERVICES="postgres swift moto openstack slurm"
OPT_IN=""
state_dir=$HOME/.paas-orchestrator-test
services_json=$state_dir/services.json

log() { echo "services.sh: $*" >&2; }

# record NAME JSON: set services.json's key NAME to JSON, keeping the other keys.
record() {
    mkdir -p "$state_dir"
    python3 "$(dirname "${BASH_SOURCE[0]}")/record_service.py" "$services_json" "$1" "$2"
}

# --- PostgreSQL: Debian's cluster "main" on 127.0.0.1:5432, role and database "paas" ---------

pg_port=5432

pg_version() {  # the newest installed major version
    find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1
}

status_postgres() {
    local version; version=$(pg_version)
    [ -n "$version" ] && pg_ctlcluster "$version" main status >/dev/null 2>&1 \
        && pg_isready -q -h 127.0.0.1 -p "$pg_port"
}

start_postgres() {
    if ! command -v pg_ctlcluster >/dev/null || [ -z "$(pg_version)" ]; then
        log "installing postgresql"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    local version; version=$(pg_version)
    if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
        log "creating cluster $version/main"
        pg_createcluster "$version" main --port "$pg_port" >/dev/null
    fi
    # Debian's postgresql.conf reads conf.d/ last: our settings win without editing it.
    local conf=/etc/postgresql/$version/main/conf.d/paas-orchestrator-test.conf
    printf "listen_addresses = '127.0.0.1'\nport = %s\n" "$pg_port" > "$conf.new"
    if cmp -s "$conf.new" "$conf"; then rm "$conf.new"; else mv "$conf.new" "$conf"; fi
    if ! pg_ctlcluster "$version" main status >/dev/null 2>&1; then
        log "starting cluster $version/main"
        pg_ctlcluster "$version" main start
    fi
    local i
    for i in $(seq 100); do
        pg_isready -q -h 127.0.0.1 -p "$pg_port" && break
        [ "$i" = 100 ] && { log "PostgreSQL does not answer on 127.0.0.1:$pg_port"; exit 1; }
        sleep 0.2
    done

    # One password per machine, kept across runs; generated without quotes or URL specials.
    local password_file=$state_dir/postgres.password password
    mkdir -p "$state_dir"
    [ -s "$password_file" ] || (umask 077; python3 -c \
        'import secrets; print(secrets.token_hex(16))' > "$password_file")
    password=$(cat "$password_file")
    # On stdin, so that the password never shows in a process list.
    runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -p "$pg_port" >/dev/null <<EOF
SELECT 'CREATE ROLE paas LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'paas')
\gexec
ALTER ROLE paas LOGIN PASSWORD '$password';
SELECT 'CREATE DATABASE paas OWNER paas'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'paas')
\gexec
EOF
    record postgres "{\"url\": \"postgresql://paas:$password@127.0.0.1:$pg_port/paas\"}"
    log "postgres ready on 127.0.0.1:$pg_port (database paas)"
}

stop_postgres() {
    local version; version=$(pg_version)
    [ -n "$version" ] || return 0
    if pg_ctlcluster "$version" main status >/dev/null 2>&1; then
        pg_ctlcluster "$version" main stop
    fi
}

# --- moto: AWS EC2 (moto_server) on 127.0.0.1:5055 (Keystone has 5000) ------------------------
# moto is test-only: it gets its own venv under its state dir (MOTO_DIR), not .venv, which is
# built from the product's requirements. State is in memory: a restart forgets every resource,
# and POST $url/moto-api/reset wipes them while it runs.
# Where moto is laxer than EC2 (checked with moto 5.2; tests must not rely on these):
#  - instant states: run_instances answers "pending" and the next describe says "running";
#    stop and terminate land on "stopped"/"terminated" at once (no stopping/shutting-down),
#    attach_volume on "in-use": waiters return at once, polling and timeouts go untested;
#  - no quotas, capacity or throttling: 500 m5.24xlarge start though describe_account_attributes
#    says max-instances 20; never InsufficientInstanceCapacity, RequestLimitExceeded or a 5xx
#    (tests/emulators/faultproxy in front injects those);
#  - an Elastic IP stays associated with its terminated instance; public and Elastic IPs are
#    made up (Elastic ones even in 127/8), and no instance boots or is reachable;
#  - credentials and request signatures are not checked;
#  - unknown AMIs, instance types and key pairs are accepted unless told otherwise: start_moto
#    turns those three checks on.

moto_dir=${MOTO_DIR:-/var/lib/paas-orchestrator-moto}
moto_port=5055
moto_url=http://127.0.0.1:$moto_port

moto_pid() {  # the pid of the moto_server this script started, if it still runs (not reused)
    local pid; pid=$(cat "$moto_dir/moto.pid" 2>/dev/null) \
        && grep -qa moto_server "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

status_moto() {  # moto's own API answers: another server on the port would not have it
    python3 -c 'import sys, urllib.request as u
u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=2)' \
        "$moto_url/moto-api/config" 2>/dev/null
}

start_moto() {
    if [ ! -x "$moto_dir/venv/bin/moto_server" ]; then
        log "installing moto[server] into $moto_dir/venv"
        mkdir -p "$moto_dir"
        python3 -m venv "$moto_dir/venv"
        # The grep drops this machine's pip.conf noise about missing local index dirs.
        "$moto_dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            'moto[server]>=5.1,<6' 2> >(grep -v 'is neither a file nor a directory' >&2)
    fi
    if ! status_moto; then
        log "starting moto_server on $moto_url"
        # setsid: out of this shell's process group, so that it outlives the caller.
        MOTO_ENABLE_AMI_VALIDATION=true MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION=true \
            MOTO_ENABLE_KEYPAIR_VALIDATION=true \
            setsid "$moto_dir/venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" \
            >>"$moto_dir/moto.log" 2>&1 </dev/null &
        echo $! > "$moto_dir/moto.pid"
        local i
        for i in $(seq 150); do
            status_moto && break
            if [ "$i" = 150 ] || ! moto_pid >/dev/null; then
                log "moto_server does not answer on $moto_url; $moto_dir/moto.log says:"
                tail -n 20 "$moto_dir/moto.log" >&2
                exit 1
            fi
            sleep 0.2
        done
    fi
    record moto "{\"endpoint_url\": \"$moto_url\", \"region\": \"us-east-1\",
                  \"access_key\": \"testing\", \"secret_key\": \"testing\"}"
    log "moto ready on $moto_url"
}

stop_moto() {
    local pid i; pid=$(moto_pid) || return 0
    kill "$pid"
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        [ "$i" = 50 ] && kill -KILL "$pid"
        sleep 0.2
    done
    rm -f "$moto_dir/moto.pid"
}

# --- dispatcher ------------------------------------------------------------------------------

# Swift SAIO with its S3 API: swift.sh does the work and records itself.
swift_sh() { "$(dirname "${BASH_SOURCE[0]}")/swift.sh" "$@"; }
status_swift() { swift_sh status; }
start_swift() { swift_sh start; }
stop_swift() { swift_sh stop; }

# OpenStack (Keystone, Nova with the fake driver, Neutron, Cinder, Glance, Placement):
# openstack/setup.sh does the work and records itself; see docs/openstack-tests.md.
openstack_sh() { "$(dirname "${BASH_SOURCE[0]}")/openstack/setup.sh" "$@"; }
status_openstack() { openstack_sh status >/dev/null; }
start_openstack() { openstack_sh start; }
stop_openstack() { openstack_sh stop; }

# SLURM (one node on this host) and an SSH login node in front of it: slurm/setup.sh does the
# work and records itself; see docs/slurm.md.
slurm_sh() { "$(dirname "${BASH_SOURCE[0]}")/slurm/setup.sh" "$@"; }
status_slurm() { slurm_sh status; }
start_slurm() { slurm_sh start; }
stop_slurm() { slurm_sh stop; }

usage() {
    echo "usage: $0 start|stop|status $(echo "$SERVICES $OPT_IN" | tr ' ' '|')|all" >&2
    exit 2
}

[ $# = 2 ] || usage
case $1 in start|stop|status) ;; *) usage ;; esac
if [ "$2" = all ]; then
    names=$SERVICES
else
    case " $SERVICES $OPT_IN " in *" $2 "*) names=$2 ;; *) usage ;; esac
fi
rc=0
for name in $names; do
    if [ "$1" = status ]; then
        if "status_$name"; then echo "$name: up"; else echo "$name: down"; rc=1; fi
    else
        "$1_$name"
    fi
done
exit $rc
