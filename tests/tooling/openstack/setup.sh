#!/usr/bin/env bash
# A real one-node OpenStack (Debian 12's Zed packages) for the tests: Keystone, Placement, Glance,
# Nova (fake virt driver), Neutron (ML2 with a fake binding driver, no agents), Cinder (fake volume
# driver) and, with OPENSTACK_HEAT=1, Heat. See docs/openstack-tests.md.
#
#   tests/tooling/openstack/setup.sh start    # install if missing, configure, start, provision, record
#   tests/tooling/openstack/setup.sh stop     # stop what start started (services, RabbitMQ, MariaDB)
#   tests/tooling/openstack/setup.sh status   # one line per service; exit 0 when all are up
#   tests/tooling/openstack/setup.sh reset    # stop, drop the databases and delete the state dir
#
# start is idempotent: packages, databases, schemas and Keystone's bootstrap are done once (markers
# in the state dir), a running service is left alone, provisioning creates only what is missing.
# It records how to reach the cloud under "openstack" in $HOME/.paas-orchestrator-test/services.json
# and writes <state dir>/clouds.yaml (clouds paas-demo, paas-demo2, paas-admin).
#
# Environment: OPENSTACK_CI_DIR (state: configs, keys, images, logs, pids; default
# /var/lib/paas-orchestrator-openstack), OPENSTACK_START_TIMEOUT (seconds per wait, default 180),
# OPENSTACK_HEAT=1 (also install and run Heat).
# Needs root (apt-get, MariaDB, RabbitMQ). No systemd here: MariaDB and RabbitMQ start through their
# init scripts, every OpenStack service as a background process with a pid file, under Debian's
# /usr/bin/python3 (python3 on PATH may be another interpreter without the dist-packages).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${OPENSTACK_CI_DIR:-/var/lib/paas-orchestrator-openstack}
timeout=${OPENSTACK_START_TIMEOUT:-180}
heat=${OPENSTACK_HEAT:-0}
py=/usr/bin/python3
etc=$dir/etc
start_ns=$(date +%s%N)

packages="mariadb-server rabbitmq-server python3-pymysql curl uwsgi-core uwsgi-plugin-python3
keystone placement-common glance-common nova-common neutron-common cinder-common"
heat_packages="heat-common"
# Services in start order, as name:port (port 0: no API).
services="keystone:5000 placement:8778 glance-api:9292 nova-api:8774 nova-conductor:0 nova-scheduler:0
nova-compute:0 neutron-server:9696 cinder-api:8776 cinder-scheduler:0 cinder-volume:0"
heat_services="heat:8004"
databases="keystone placement glance nova_api nova nova_cell0 neutron cinder heat"

elapsed() {  # seconds since start, 1 decimal
    local ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
    printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

log() { echo "openstack: [$(elapsed)s] $*" >&2; }
die() { log "$*"; exit 1; }

all_services() {
    echo "$services"
    if [ "$heat" = 1 ] || [ -e "$dir/run/heat.pid" ]; then echo "$heat_services"; fi
}

# --- packages ----------------------------------------------------------------------------------

missing_packages() {  # the packages of the list given that are not installed
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
    done
}

install_packages() {
    local wanted missing
    wanted=$packages
    [ "$heat" = 1 ] && wanted="$wanted $heat_packages"
    # shellcheck disable=SC2086  # word splitting of the package list is intended
    missing=$(missing_packages $wanted)
    [ -n "$missing" ] || return 0
    log "installing $(echo "$missing" | tr '\n' ' ')"
    # dbconfig-common would configure databases itself; the daemons must not start during the
    # install either (a policy-rc.d saying 101, as Debian container images ship, prevents it).
    local p
    for p in keystone nova-common glance-common cinder-common neutron-common heat-common placement-common; do
        echo "$p $p/dbconfig-install boolean false"
    done | debconf-set-selections
    local policy=/usr/sbin/policy-rc.d ours=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; ours=1
    fi
    apt-get update -qq
    # shellcheck disable=SC2086
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
            > "$dir/log/apt.log" 2>&1; then
        [ -z "$ours" ] || rm -f "$policy"
        tail -n 30 "$dir/log/apt.log" >&2
        die "apt-get install failed (log: $dir/log/apt.log)"
    fi
    [ -z "$ours" ] || rm -f "$policy"
    log "packages installed"
}

# --- state dir and configs ---------------------------------------------------------------------

password() { cat "$dir/password"; }

prepare_state() {
    mkdir -p "$dir"/{etc,log,run} "$dir"/state/{keystone,glance/images,glance/staging,glance/tasks} \
        "$dir"/state/{nova/instances,neutron,cinder,heat} "$dir/pylib"
    chmod 700 "$dir"
    # One password per state dir for every database, RabbitMQ and OpenStack user; a new state dir
    # gets new databases (create_databases), so it never disagrees with what they hold.
    [ -s "$dir/password" ] || (umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$dir/password")
    local template target
    for template in "$here"/etc/*.conf "$here"/etc/*.ini; do
        target=$etc/$(basename "$template")
        sed -e "s|@STATE_DIR@|$dir|g" -e "s|@PASSWORD@|$(password)|g" "$template" > "$target.new"
        if cmp -s "$target.new" "$target"; then rm "$target.new"; else mv "$target.new" "$target"; fi
    done
    # Placement reads placement.conf from a directory.
    mkdir -p "$etc/placement"; cp -p "$etc/placement.conf" "$etc/placement/placement.conf"
    # A copy, so that the running services do not depend on the work tree (nor write into it).
    rm -rf "$dir/pylib.new"; cp -r "$here/pylib" "$dir/pylib.new"
    rm -rf "$dir/pylib"; mv "$dir/pylib.new" "$dir/pylib"
}

# --- processes ---------------------------------------------------------------------------------

pid_of() { cat "$dir/run/$1.pid" 2>/dev/null; }

running() {  # name: its pid file names a live process of this state dir
    local pid; pid=$(pid_of "$1") || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/"
}

answering() {  # port: an HTTP server answers there (any status)
    local code
    code=$(curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:$1/" 2>/dev/null) || true
    [ -n "$code" ] && [ "$code" != 000 ]
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

launch() {  # name port command...: start in a session of its own unless running
    local name=$1 port=$2; shift 2
    running "$name" && return 0
    if [ "$port" != 0 ] && listening "$port"; then
        die "port $port is taken by something that is not this set-up's $name"
    fi
    # setsid: the service outlives this script and is the leader of its own process group, so
    # that stop reaches the workers it forks even when they outlive it.
    setsid "$@" >>"$dir/log/$name.log" 2>&1 </dev/null &
    echo $! > "$dir/run/$name.pid"
}

launch_python() {  # name port module args...: an eventlet service under Debian's python
    local name=$1 port=$2 module=$3; shift 3
    launch "$name" "$port" env PYTHONPATH="$dir/pylib" "$py" -c \
        "import sys; sys.argv[0] = '$name'; from $module import main; sys.exit(main())" "$@"
}

launch_uwsgi() {  # name port wsgi-file env-assignment
    local name=$1 port=$2 file=$3 env=$4
    # Connection: close, because uwsgi's --http-socket closes the connection after each response
    # while clients (openstacksdk) would reuse it and get a reset.
    launch "$name" "$port" env "$env" uwsgi --plugin python3 --http-socket "127.0.0.1:$port" \
        --wsgi-file "$file" --master --processes 1 --threads 8 --need-app --lazy-apps \
        --add-header 'Connection: close' --die-on-term --logto "$dir/log/$name.log"
}

wait_until() {  # description command...: retry every 0.3 s up to $timeout seconds
    local what=$1; shift
    local deadline=$(( $(date +%s) + timeout ))
    until "$@"; do
        [ "$(date +%s)" -lt "$deadline" ] || die "$what: not ready after ${timeout}s; logs in $dir/log"
        sleep 0.3
    done
}

wait_apis() {
    local entry name port
    for entry in $(all_services); do
        name=${entry%%:*}; port=${entry##*:}
        running "$name" || { tail -n 20 "$dir/log/$name.log" >&2; die "$name exited (log: $dir/log/$name.log)"; }
        [ "$port" = 0 ] || wait_until "$name on port $port" answering "$port"
    done
}

stop_process() {  # name: SIGTERM its process group (or the process); no wait
    local pid; pid=$(pid_of "$1") || return 0
    if running "$1"; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        echo "$pid"
    else
        rm -f "$dir/run/$1.pid"
    fi
}

# --- MariaDB and RabbitMQ ----------------------------------------------------------------------

mysql_root() { mysql --protocol=socket -u root "$@"; }

start_mariadb() {
    # Faster schema syncs (no fsync per commit) and room for every service's connection pool.
    local conf=/etc/mysql/mariadb.conf.d/99-paas-orchestrator-openstack.cnf
    printf '%s\n' '# tests/tooling/openstack/setup.sh: CI settings, durability traded for speed' \
        '[mysqld]' 'bind-address = 127.0.0.1' 'max_connections = 500' \
        'innodb_flush_log_at_trx_commit = 0' 'sync_binlog = 0' > "$conf"
    mysql_root -e 'SELECT 1' >/dev/null 2>&1 && return 0
    service mariadb start >/dev/null
    touch "$dir/run/mariadb.ours"
}

create_databases() {
    # A new state dir (new password, no keys, no images) gets new databases.
    [ -e "$dir/state/databases.created" ] && return 0
    local db user sql="" pw; pw=$(password)
    for db in $databases; do
        user=${db%_api}; user=${user%_cell0}
        sql+="DROP DATABASE IF EXISTS $db; CREATE DATABASE $db;"
        sql+="CREATE USER IF NOT EXISTS '$user'@'127.0.0.1'; CREATE USER IF NOT EXISTS '$user'@'localhost';"
        sql+="ALTER USER '$user'@'127.0.0.1' IDENTIFIED BY '$pw'; ALTER USER '$user'@'localhost' IDENTIFIED BY '$pw';"
        sql+="GRANT ALL ON $db.* TO '$user'@'127.0.0.1'; GRANT ALL ON $db.* TO '$user'@'localhost';"
    done
    # On stdin, so that the password never shows in a process list.
    mysql_root <<< "$sql FLUSH PRIVILEGES;"
    touch "$dir/state/databases.created"
    log "databases created"
}

start_rabbitmq() {
    # Loopback only, a fixed node name (no dependency on the host name), epmd on loopback too.
    printf '%s\n' '# tests/tooling/openstack/setup.sh' 'NODE_IP_ADDRESS=127.0.0.1' 'NODENAME=rabbit@localhost' \
        'SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"' \
        > /etc/rabbitmq/rabbitmq-env.conf
    grep -qx 'export ERL_EPMD_ADDRESS=127.0.0.1' /etc/default/rabbitmq-server 2>/dev/null \
        || echo 'export ERL_EPMD_ADDRESS=127.0.0.1' >> /etc/default/rabbitmq-server
    if ! listening 5672; then
        service rabbitmq-server start >/dev/null
        touch "$dir/run/rabbitmq.ours"
    fi
    wait_until "rabbitmq" listening 5672
    [ -e "$dir/state/rabbitmq-user" ] && return 0
    rabbitmqctl -q add_user openstack "$(password)" >/dev/null 2>&1 \
        || rabbitmqctl -q change_password openstack "$(password)" >/dev/null
    rabbitmqctl -q set_permissions openstack '.*' '.*' '.*' >/dev/null
    touch "$dir/state/rabbitmq-user"
}

stop_rabbitmq() {
    [ -e "$dir/run/rabbitmq.ours" ] || return 0
    service rabbitmq-server stop >/dev/null 2>&1 || true
    epmd -kill >/dev/null 2>&1 || true  # the init script leaves it running
    rm -f "$dir/run/rabbitmq.ours"
}

stop_mariadb() {
    [ -e "$dir/run/mariadb.ours" ] || return 0
    service mariadb stop >/dev/null
    rm -f "$dir/run/mariadb.ours"
}

# --- schemas -----------------------------------------------------------------------------------

synced() {  # name package: the schema of name was synced with this version of package
    [ "$(cat "$dir/state/$1.synced" 2>/dev/null)" = "$(dpkg-query -W -f='${Version}' "$2")" ]
}

mark_synced() { dpkg-query -W -f='${Version}' "$2" > "$dir/state/$1.synced"; }

sync_keystone() {
    synced keystone python3-keystone && return 0
    local k=(keystone-manage --config-file "$etc/keystone.conf")
    "${k[@]}" db_sync
    [ -e "$dir/state/keystone/fernet-keys/0" ] \
        || "${k[@]}" fernet_setup --keystone-user root --keystone-group root
    [ -e "$dir/state/keystone/credential-keys/0" ] \
        || "${k[@]}" credential_setup --keystone-user root --keystone-group root
    # The admin user, project and role, the member and reader roles, RegionOne and the identity
    # endpoints. The password from the environment, not the command line.
    OS_BOOTSTRAP_PASSWORD=$(password) "${k[@]}" bootstrap --bootstrap-admin-url http://127.0.0.1:5000/v3 \
        --bootstrap-internal-url http://127.0.0.1:5000/v3 --bootstrap-public-url http://127.0.0.1:5000/v3 \
        --bootstrap-region-id RegionOne
    mark_synced keystone python3-keystone
}

sync_placement() {
    synced placement python3-placement && return 0
    placement-manage --config-file "$etc/placement.conf" db sync
    mark_synced placement python3-placement
}

sync_glance() {
    synced glance python3-glance && return 0
    glance-manage --config-file "$etc/glance-api.conf" db_sync
    mark_synced glance python3-glance
}

nova_manage() { nova-manage --config-file "$etc/nova.conf" --config-file "$etc/nova-db.conf" "$@"; }

sync_nova() {
    synced nova python3-nova && return 0
    nova_manage api_db sync
    nova_manage cell_v2 map_cell0 --database_connection "mysql+pymysql://nova:$(password)@127.0.0.1/nova_cell0"
    local cells; cells=$(nova_manage cell_v2 list_cells)
    grep -q ' cell1 ' <<< "$cells" || nova_manage cell_v2 create_cell --name cell1
    nova_manage db sync
    mark_synced nova python3-nova
}

sync_neutron() {
    synced neutron python3-neutron && return 0
    neutron-db-manage --config-file "$etc/neutron.conf" --config-file "$etc/ml2_conf.ini" upgrade head
    mark_synced neutron python3-neutron
}

sync_cinder() {
    synced cinder python3-cinder && return 0
    cinder-manage --config-file "$etc/cinder.conf" db sync
    mark_synced cinder python3-cinder
}

sync_heat() {
    synced heat python3-heat && return 0
    heat-manage --config-file "$etc/heat.conf" db_sync
    mark_synced heat python3-heat
}

sync_schemas() {  # names...: in parallel, each into log/sync-NAME.log
    local name pids=() names=() i failed=""
    for name in "$@"; do
        "sync_$name" >"$dir/log/sync-$name.log" 2>&1 &
        pids+=($!); names+=("$name")
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || failed="$failed ${names[$i]}"
    done
    [ -z "$failed" ] || die "schema sync failed:$failed (logs: $dir/log/sync-*.log)"
}

# --- services ----------------------------------------------------------------------------------

start_keystone() {
    launch_uwsgi keystone 5000 /usr/bin/keystone-wsgi-public "OS_KEYSTONE_CONFIG_FILES=$etc/keystone.conf"
}

start_placement() {
    launch_uwsgi placement 8778 /usr/bin/placement-api "OS_PLACEMENT_CONFIG_DIR=$etc/placement"
}

start_glance() {
    launch_python glance-api 9292 glance.cmd.api --config-file "$etc/glance-api.conf"
}

start_nova() {
    local conf=(--config-file "$etc/nova.conf" --config-file "$etc/nova-db.conf")
    launch_python nova-api 8774 nova.cmd.api "${conf[@]}"
    launch_python nova-conductor 0 nova.cmd.conductor "${conf[@]}"
    launch_python nova-scheduler 0 nova.cmd.scheduler "${conf[@]}"
    # The wrapper patches FakeDriver.snapshot; compute reads no database settings.
    launch_python nova-compute 0 paas_os_fakes.nova_compute --config-file "$etc/nova.conf"
}

start_neutron() {
    launch_python neutron-server 9696 neutron.cmd.eventlet.server \
        --config-file "$etc/neutron.conf" --config-file "$etc/ml2_conf.ini"
}

start_cinder() {
    local name
    for name in api scheduler volume; do
        launch_python "cinder-$name" "$([ $name = api ] && echo 8776 || echo 0)" "cinder.cmd.$name" \
            --config-file "$etc/cinder.conf"
    done
}

start_heat() {
    launch_python heat 8004 heat.cmd.all --config-file "$etc/heat.conf"
}

map_compute_host() {
    # Nova hides a compute node until its host is mapped to a cell; the scheduler's periodic
    # discovery would take up to 10 s more, and the node may not exist yet on the first try.
    nova_manage cell_v2 discover_hosts >> "$dir/log/nova-manage.log" 2>&1
    provision hypervisors
}

provision() {  # provision.py sub-command args...
    OS_PAAS_PASSWORD=$(password) OS_PAAS_STATE_DIR=$dir OS_PAAS_HEAT=$heat "$py" "$here/provision.py" "$@"
}

start() {
    mkdir -p "$dir/log"
    install_packages
    prepare_state
    start_rabbitmq > "$dir/log/rabbitmq-start.log" 2>&1 &
    local rabbit=$!
    start_mariadb
    create_databases
    log "mariadb up"
    local others=(placement glance nova neutron cinder)
    [ "$heat" = 1 ] && others+=(heat)
    sync_schemas "${others[@]}" &
    local syncs=$!
    sync_schemas keystone
    start_keystone
    wait_until keystone answering 5000
    log "keystone up"
    provision identity
    log "identity registered"
    wait "$syncs" || die "schema sync failed"
    wait "$rabbit" || { cat "$dir/log/rabbitmq-start.log" >&2; die "rabbitmq did not start"; }
    log "schemas synced, rabbitmq up"
    start_placement
    start_glance
    start_nova
    start_neutron
    start_cinder
    [ "$heat" = 1 ] && start_heat
    wait_apis
    log "all APIs answering"
    local name started=()
    for name in nova-conductor nova-scheduler nova-compute cinder-scheduler cinder-volume; do
        started+=("$name=$(stat -c %Y "$dir/run/$name.pid")")
    done
    provision wait-compute "$timeout" "${started[@]}"
    log "nova and cinder services up"
    provision hypervisors 2>/dev/null || wait_until "compute host mapping" map_compute_host
    log "compute host mapped"
    provision resources
    provision record
    log "ready: http://127.0.0.1:5000/v3 (clouds: $dir/clouds.yaml, services.json key openstack)"
}

stop_services() {  # the OpenStack processes, not MariaDB and RabbitMQ
    local entry name groups="" pid names
    # Reverse start order; every service gets SIGTERM first, then the wait is shared.
    names=$(all_services | tr ' ' '\n' | sed 's/:.*//' | grep . | tac)
    for name in $names; do
        pid=$(stop_process "$name") && groups="$groups $pid"
    done
    # Eventlet services take seconds to exit, and a parent may go before its workers: wait for
    # the whole process group, then SIGKILL what is left. Before MariaDB stops.
    for _ in $(seq 50); do
        entry=""
        for pid in $groups; do
            if pgrep -g "$pid" >/dev/null 2>&1 || kill -0 "$pid" 2>/dev/null; then entry=1; break; fi
        done
        [ -n "$entry" ] || break
        sleep 0.3
    done
    for pid in $groups; do
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    for name in $names; do rm -f "$dir/run/$name.pid"; done
}

stop() {
    stop_services
    stop_rabbitmq
    stop_mariadb
    log "stopped"
}

status() {
    local entry name port rc=0 state
    if mysql_root -e 'SELECT 1' >/dev/null 2>&1; then echo "mariadb: up"; else echo "mariadb: down"; rc=1; fi
    if listening 5672; then echo "rabbitmq: up"; else echo "rabbitmq: down"; rc=1; fi
    for entry in $(all_services); do
        name=${entry%%:*}; port=${entry##*:}
        if ! running "$name"; then state=down; rc=1
        elif [ "$port" != 0 ] && ! answering "$port"; then state="running (pid $(pid_of "$name")), not answering on $port"; rc=1
        else state="up (pid $(pid_of "$name")$([ "$port" = 0 ] || echo ", port $port"))"
        fi
        echo "$name: $state"
    done
    return $rc
}

reset() {
    # The services first: DROP DATABASE would wait on their metadata locks.
    stop_services
    if mysql_root -e 'SELECT 1' >/dev/null 2>&1; then
        local db sql=""
        for db in $databases; do sql+="DROP DATABASE IF EXISTS $db;"; done
        mysql_root <<< "$sql"
    fi
    stop_rabbitmq
    stop_mariadb
    rm -rf "$dir"
    log "reset: databases dropped, $dir removed"
}

case ${1:-} in
    start) start; log "started in $(elapsed) s" ;;
    stop) stop ;;
    status) status ;;
    reset) reset ;;
    *) echo "usage: $0 start|stop|status|reset" >&2; exit 2 ;;
esac
