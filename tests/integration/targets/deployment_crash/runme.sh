#!/usr/bin/env bash
# Crash safety of paas.orchestrator.deployment on the local site.
#
# A: kill -9 ansible-playbook (its process group and its workers', module included) half-way
#    through a sweep; the detached agent keeps going, by design. Running the playbook again completes the deployment, and
#    every job started and ran exactly once.
# B: kill -9 ansible-playbook and the agent (as a reboot would), twice: the second time while
#    the deployment is being resumed. The third run completes it; no job that had succeeded
#    when a run was killed ran again.
# Then each deployment is deleted, and nothing of it is left.
set -eux

jobs=30
base="${OUTPUT_DIR:?}/deployment_crash"
rm -rf "$base"
mkdir -p "$base"

playbook() {
    ansible-playbook -i "${INVENTORY_PATH:?}" "$@" "${verbosity[@]}"
}
verbosity=("$@")

# setup VARIANT: the variables of the variant's playbooks, in $base/VARIANT.json
setup() {
    mkdir -p "$base/$1/runs"
    cat > "$base/$1.json" <<EOF
{"deployment_name": "crash-$1", "store": "$base/store.db", "workdir": "$base/$1/site",
 "runs_dir": "$base/$1/runs", "jobs": $jobs}
EOF
}

# start VARIANT: deploy in the background, in a process group of its own (pid = pgid = $pid)
start() {
    setsid ansible-playbook -i "$INVENTORY_PATH" deploy.yml -e "@$base/$1.json" \
        > "$base/$1/run-$(date +%s%N).log" 2>&1 &
    pid=$!
}

# succeeded VARIANT: how many jobs the journal shows as succeeded (0 before it exists)
succeeded() {
    local n
    n=$(cat "$base/$1"/site/*/journal.jsonl 2>/dev/null | grep -c '"event":"succeeded"' || true)
    echo "${n:-0}"
}

# wait_between VARIANT LOW: until more than LOW jobs, but not all, have succeeded
wait_between() {
    local n
    for _ in $(seq 300); do
        n=$(succeeded "$1")
        if [ "$n" -gt "$2" ]; then
            [ "$n" -lt "$jobs" ] || { echo "every job succeeded before the kill" >&2; exit 1; }
            return 0
        fi
        kill -0 "$pid" || { echo "ansible-playbook ended before the kill" >&2; exit 1; }
        sleep 0.05
    done
    echo "the jobs did not progress" >&2
    exit 1
}

# kill_run: kill -9 the background ansible-playbook as a crash would, module included.
# ansible-core's worker processes call setsid(), so the module (a child of a worker) is not in
# ansible-playbook's process group: freeze the playbook, kill each worker's session group, then
# the playbook's group, and check that none of those processes is left. The agent has a session
# of its own and goes on.
kill_run() {
    local groups group left worker _
    [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]
    kill -STOP -- "-$pid"
    groups=$pid
    for worker in $(pgrep -P "$pid" || true); do
        groups="$groups,$(ps -o pgid= -p "$worker" | tr -d ' ')"
    done
    [ "$groups" != "$pid" ] || { echo "ansible-playbook had no worker running" >&2; exit 1; }
    for group in ${groups//,/ }; do
        kill -9 -- "-$group" || true
    done
    wait "$pid" || true
    for _ in $(seq 100); do
        # processes of those groups; zombies waiting for init do not count
        left=$(ps -e -o pid=,pgid=,stat=,args= | awk -v g=",$groups," 'index(g, "," $2 ",") && $3 !~ /^Z/')
        [ -z "$left" ] && return 0
        sleep 0.05
    done
    echo "$left" >&2
    echo "processes of the killed run are left" >&2
    exit 1
}

# snapshot VARIANT NAME: copy the journal, then the run files, as they are now
snapshot() {
    mkdir -p "$base/$1/$2"
    cp "$base/$1"/site/*/journal.jsonl "$base/$1/$2/journal.jsonl"
    cp -r "$base/$1/runs" "$base/$1/$2/runs"
}

deployment_dir() {
    echo "$base/$1"/site/*-*
}

# -- A: kill ansible-playbook; the agent goes on ---------------------------------------------
setup a
start a
wait_between a 5
kill_run a
snapshot a killed
playbook in_progress.yml -e "@$base/a.json"
playbook deploy.yml -e "@$base/a.json"
playbook verify.yml -e "@$base/a.json" -e "deployment_dir=$(deployment_dir a)" \
    -e '{"snapshots": ["'"$base/a/killed"'"], "agent_killed": false}'
playbook delete.yml -e "@$base/a.json"

# -- B: kill ansible-playbook and the agent, then again while it resumes ---------------------
setup b
start b
wait_between b 5
kill_run b
kill -9 "$(cat "$(deployment_dir b)/agent.pid")"
snapshot b killed-1
start b
wait_between b "$(( $(succeeded b) + 5 ))"
kill_run b
kill -9 "$(cat "$(deployment_dir b)/agent.pid")"
snapshot b killed-2
playbook deploy.yml -e "@$base/b.json"
playbook verify.yml -e "@$base/b.json" -e "deployment_dir=$(deployment_dir b)" \
    -e '{"snapshots": ["'"$base/b/killed-1"'", "'"$base/b/killed-2"'"], "agent_killed": true}'
playbook delete.yml -e "@$base/b.json"
