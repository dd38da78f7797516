#!/usr/bin/env bash
# Start a one-node OpenStack Swift (SAIO) with the S3 API (s3api + tempauth) and memcached,
# for the staging tests. Idempotent: installs the Debian packages if missing, writes configs and
# rings if missing, starts only the servers that do not answer, waits until they are healthy,
# then records how to reach them under "swift" in $HOME/.paas-orchestrator-test/services.json
# (ansible-test filters environment variables, so tests read that file).
#
#   tests/tooling/swift.sh [start]   # default
#   tests/tooling/swift.sh stop      # stop the servers this script started
#   tests/tooling/swift.sh status    # exit 0 when all servers are healthy
#
# Environment: SWIFT_CI_DIR (state: configs, rings, data, logs, pids;
# default /var/lib/paas-orchestrator-swift), SWIFT_PORT (proxy port, default 8080),
# SWIFT_START_TIMEOUT (seconds, default 60).
# Needs root (apt-get, the swift user). Debian 12 has no swift-init and no systemd here, so each
# server is started by hand; see shared backends.md section 8.
set -euo pipefail

dir=${SWIFT_CI_DIR:-/var/lib/paas-orchestrator-swift}
proxy_port=${SWIFT_PORT:-8080}
start_timeout=${SWIFT_START_TIMEOUT:-60}
memcached_port=11211
# name:port of each server; the proxy last so that it finds the others up.
servers="account:6202 container:6201 object:6200 proxy:$proxy_port"
packages="swift swift-proxy swift-account swift-container swift-object memcached curl"
services_json=$HOME/.paas-orchestrator-test/services.json
started=$(date +%s.%N)

log() { echo "swift.sh: $*" >&2; }

healthy() {  # port
    [ "$(curl -s -m 2 "http://127.0.0.1:$1/healthcheck" 2>/dev/null)" = "OK" ]
}

listening() {  # port
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

all_healthy() {
    local s
    for s in $servers; do healthy "${s##*:}" || return 1; done
}

install_packages() {
    local missing=""
    command -v swift-proxy-server >/dev/null || missing=1
    command -v swift-object-server >/dev/null || missing=1
    command -v swift-container-server >/dev/null || missing=1
    command -v swift-account-server >/dev/null || missing=1
    command -v swift-ring-builder >/dev/null || missing=1
    command -v memcached >/dev/null || missing=1
    command -v curl >/dev/null || missing=1
    [ -n "$missing" ] || return 0
    log "installing $packages"
    local t0; t0=$(date +%s.%N)
    apt-get update -qq
    # shellcheck disable=SC2086  # word splitting of the package list is intended
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null
    log "installed in $(elapsed "$t0") s"
}

elapsed() {  # start timestamp
    python3 -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$1"
}

write_configs() {
    mkdir -p "$dir/conf" "$dir/log" "$dir/run" "$dir/node/d1" "$dir/cache"
    # Swift reads the hash prefix/suffix and storage policies from this fixed path only; the
    # Debian package ships one, keep it if present.
    if [ ! -s /etc/swift/swift.conf ]; then
        mkdir -p /etc/swift
        cat > /etc/swift/swift.conf <<'EOF'
[swift-hash]
swift_hash_path_suffix = paas-orchestrator-ci
swift_hash_path_prefix = paas-orchestrator-ci

[storage-policy:0]
name = Policy-0
default = yes
EOF
    fi
    local name port conf
    for s in account:6202 container:6201 object:6200; do
        name=${s%%:*}; port=${s##*:}; conf=$dir/conf/$name-server.conf
        [ -s "$conf" ] || cat > "$conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
workers = 1
user = swift
swift_dir = $dir/conf
devices = $dir/node
mount_check = false
recon_cache_path = $dir/cache
log_name = $name-server

[pipeline:main]
pipeline = healthcheck $name-server

[app:$name-server]
use = egg:swift#$name

[filter:healthcheck]
use = egg:swift#healthcheck
EOF
    done
    conf=$dir/conf/proxy-server.conf
    # s3api sits just before tempauth so tempauth checks S3 signatures (access key
    # "account:user", secret = the user's key); slo is needed by S3 multipart uploads.
    [ -s "$conf" ] || cat > "$conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $proxy_port
workers = 1
user = swift
swift_dir = $dir/conf
log_name = proxy-server

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:s3api]
use = egg:swift#s3api

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$memcached_port

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
EOF
    for s in account:6202 container:6201 object:6200; do
        name=${s%%:*}; port=${s##*:}
        [ -s "$dir/conf/$name.ring.gz" ] && continue
        # One replica on one device: enough for CI, no replicators needed.
        (cd "$dir/conf" && rm -f "$name.builder" \
            && swift-ring-builder "$name.builder" create 10 1 1 \
            && swift-ring-builder "$name.builder" add "r1z1-127.0.0.1:$port/d1" 100 \
            && swift-ring-builder "$name.builder" rebalance) >/dev/null
    done
    chown -R swift:swift "$dir/node" "$dir/cache"
}

start_memcached() {
    listening "$memcached_port" && return 0
    # tempauth keeps its tokens in memcache. Not -d -P: memcached writes its pidfile after
    # dropping to the memcache user, which cannot write there.
    setsid memcached -u memcache -l 127.0.0.1 -p "$memcached_port" \
        >>"$dir/log/memcached.log" 2>&1 </dev/null &
    echo $! > "$dir/run/memcached.pid"
}

start_servers() {
    local name port
    for s in $servers; do
        name=${s%%:*}; port=${s##*:}
        healthy "$port" && continue
        if listening "$port"; then
            log "port $port is taken by something that is not a healthy swift $name server"
            exit 1
        fi
        # setsid: the servers outlive this script and the shell that ran it.
        setsid "swift-$name-server" "$dir/conf/$name-server.conf" --verbose \
            >>"$dir/log/$name.log" 2>&1 </dev/null &
        echo $! > "$dir/run/$name.pid"
    done
}

wait_ready() {
    local deadline=$(( $(date +%s) + start_timeout ))
    until all_healthy && curl -sf -m 2 -o /dev/null \
            -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' \
            "http://127.0.0.1:$proxy_port/auth/v1.0"; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "not healthy after ${start_timeout}s; logs in $dir/log:"
            tail -n 20 "$dir"/log/*.log >&2 || true
            exit 1
        fi
        sleep 0.2
    done
}

record_services() {
    local endpoint="http://127.0.0.1:$proxy_port"
    python3 "$(dirname "${BASH_SOURCE[0]}")/record_service.py" "$services_json" swift \
        "{\"auth_url\": \"$endpoint/auth/v1.0\", \"user\": \"test:tester\",
          \"key\": \"testing\", \"s3_endpoint\": \"$endpoint\",
          \"s3_access_key\": \"test:tester\", \"s3_secret_key\": \"testing\",
          \"s3_region\": \"us-east-1\"}"
}

stop() {
    local name pid pids=""
    for name in proxy object container account memcached; do
        pid=$(cat "$dir/run/$name.pid" 2>/dev/null) || continue
        kill "$pid" 2>/dev/null && pids="$pids $pid"
        rm -f "$dir/run/$name.pid"
    done
    # Wait (bounded) so that a start right after this finds the ports free.
    for _ in $(seq 50); do
        for pid in $pids; do kill -0 "$pid" 2>/dev/null && break; pid=""; done
        [ -z "$pid" ] && return 0
        sleep 0.2
    done
    log "servers still running after 10 s:$pids"
    return 1
}

case ${1:-start} in
    start)
        install_packages
        write_configs
        start_memcached
        start_servers
        wait_ready
        record_services
        log "healthy on http://127.0.0.1:$proxy_port in $(elapsed "$started") s"
        ;;
    stop) stop ;;
    status) all_healthy ;;
    *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
