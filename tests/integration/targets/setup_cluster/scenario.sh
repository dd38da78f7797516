# shellcheck shell=bash
# The cluster scenario that every IaaS target plays on its own cloud, through the collection's
# playbooks and the paas.orchestrator.deployments inventory. Sourced, not run.
#
# A target (its aliases list needs/target/setup_cluster; see ../opennebula, ../ec2):
#
#   source ../setup_cluster/scenario.sh     # set -eux; PYTHONPATH and the TOSCA mirror set
#   serve emulator python -m ...            # a server that prints its URL first: $url
#   cat > "$sites_file" <<EOS ... EOS       # the sites to deploy on (a sites_file)
#   site=one public_net='198\.51\.100\.' private_net='10\.10\.0\.'
#   cluster_scenario cluster CHECKER [ARG...]
#
# cluster_scenario NAME CHECKER [ARG...] deploys files/cluster.yaml (a front end with a public
# IP and a volume, 2 workers) as deployment NAME through playbooks/deploy.yml, checks the
# inventory (verify.yml: 3 hosts in paas_deployment_NAME, paas_node_* and paas_site_$site, the
# front end at a public address matching $public_net, the workers at private ones matching
# $private_net), scales the workers to 3, then to 1 with worker 0 in the removal_list, and
# undeploys through playbooks/undeploy.yml. `CHECKER [ARG...] UUID` (UUID: the deployment's)
# must then succeed only if the cloud holds nothing of the deployment: it runs before the
# undeploy too, where it must fail.
#
# Its steps, and more, for other stories (NAME: the deployment's name):
#   deploy NAME WORKERS [UUID...]    deploy.yml with that many workers, removing those workers
#   verify NAME WORKERS [HOST]       verify.yml; HOST: the one worker left (e.g. worker-1)
#   worker_uuid NAME INDEX           the resource uuid of worker INDEX, from the inventory
#   undeploy NAME                    undeploy.yml
#   deployment_uuid NAME             the uuid a deployment of that name has (known beforehand)
#   start_deploy NAME WORKERS        deploy.yml in the background, in a process group of its
#                                    own: $deploy_pid (its output in $work/deploy-NAME.log)
#   kill_deploy                      kill -9 that run as a crash would, module included
#   playbook PLAYBOOK [ARG...]       ansible-playbook with -i $inventory, store and sites_file
#                                    given; e.g. "$setup_cluster/info.yml" (deployment_info:
#                                    status, the sites tried in order, the first error)
#   serve NAME COMMAND [ARG...]      start a server (an emulator, the fault proxy) that prints
#                                    its URL on its first stdout line: $url; stopped at exit
#   on_exit COMMAND...               one more cleanup (all run in reverse order at exit)
#
# Variables: $work (a directory removed at exit), $sites_file ($work/sites.yml, the one the
# playbooks read: write the sites there), $store (SQLite), $inventory (a
# paas.orchestrator.deployments file on $store), $playbooks, $setup_cluster (this directory).
# Set by the target: $site (where the cluster lands), $public_net and $private_net (regexes;
# default: any address).

PS4='+ ${EPOCHREALTIME} '  # the trace tells where the time goes
set -eux

# ansible-test runs the target from a copy; the collection it tests is on ANSIBLE_COLLECTIONS_PATH
collections=${ANSIBLE_COLLECTIONS_PATH%%:*}
export PYTHONPATH=$collections${PYTHONPATH:+:$PYTHONPATH}
playbooks=$collections/ansible_collections/paas/orchestrator/playbooks
setup_cluster=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
sites_file=$work/sites.yml
store=$work/store.db
inventory=$work/cloud.deployments.yml
public_net=.
private_net=.
deploy_pid=

_cleanups=()
on_exit() {
    _cleanups+=("$*")
}
_cleanup() {
    local i
    for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
        eval "${_cleanups[i]}" || true
    done
    rm -rf "$work"
}
trap _cleanup EXIT

# INDIGO's types come from the corpus beside the repository: found above the collection, or,
# for a copy outside the repository (PAAS_BUILD_DIR), beside the venv that runs ansible-test
PAAS_ORCHESTRATOR_TOSCA_MIRROR=$(python - <<'EOP'
import os
import sys
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

found = corpus.corpus_dir()
beside = os.path.join(os.path.dirname(os.path.dirname(sys.prefix)), "shared", "corpus")
if found is None and os.path.isfile(os.path.join(beside, "index.json")):
    found = beside
if found is None:
    sys.exit("no INDIGO corpus (shared/corpus beside the repository): set PAAS_ORCHESTRATOR_CORPUS")
print(corpus.mirror(found))
EOP
)
export PAAS_ORCHESTRATOR_TOSCA_MIRROR
export ANSIBLE_INVENTORY_ENABLED=paas.orchestrator.deployments,host_list

cat > "$inventory" <<EOS
plugin: paas.orchestrator.deployments
store: $store
EOS

_common=(-i "$inventory" -e "store=$store" -e "{\"sources\": {\"sites_file\": \"$sites_file\"}}")
playbook() {
    ansible-playbook "${_common[@]}" "$@"
}

serve() {
    local name=$1
    shift
    "$@" > "$work/$name.out" 2> "$work/$name.err" &
    on_exit kill $!
    for _ in $(seq 100); do
        [ -s "$work/$name.out" ] && break
        sleep 0.1
    done
    url=$(head -n1 "$work/$name.out")
    [ -n "$url" ] || { cat "$work/$name.err" >&2; return 1; }
}

_deploy_args() {
    local name=$1 workers=$2 removal=
    shift 2
    if [ $# -gt 0 ]; then removal=$(printf '"%s",' "$@"); fi
    printf '%s\n' "$playbooks/deploy.yml" -e "deployment_name=$name" \
        -e "template=$setup_cluster/files/cluster.yaml" \
        -e "{\"parameters\": {\"workers\": $workers, \"removal\": [${removal%,}]}}"
}

deploy() {
    local args
    _know_uuid "$1"
    mapfile -t args < <(_deploy_args "$@")
    playbook "${args[@]}"
}

start_deploy() {
    local args
    _know_uuid "$1"
    _know_uuid "$1"
    mapfile -t args < <(_deploy_args "$@")
    setsid ansible-playbook "${_common[@]}" "${args[@]}" > "$work/deploy-$1.log" 2>&1 &
    deploy_pid=$!
}

# ansible-core's workers call setsid(), so the module (a worker's child) is not in the
# playbook's process group: freeze the playbook, kill -9 each worker's group, then its own,
# and see that none of their processes is left (zombies waiting for init do not count)
kill_deploy() {
    local groups worker group left
    [ "$(ps -o pgid= -p "$deploy_pid" | tr -d ' ')" = "$deploy_pid" ]
    kill -STOP -- "-$deploy_pid"
    groups=$deploy_pid
    for worker in $(pgrep -P "$deploy_pid" || true); do
        groups="$groups,$(ps -o pgid= -p "$worker" | tr -d ' ')"
    done
    [ "$groups" != "$deploy_pid" ] || { echo "ansible-playbook had no worker running" >&2; return 1; }
    for group in ${groups//,/ }; do
        kill -9 -- "-$group" || true
    done
    wait "$deploy_pid" || true
    deploy_pid=
    for _ in $(seq 100); do
        left=$(ps -e -o pid=,pgid=,stat=,args= | awk -v g=",$groups," 'index(g, "," $2 ",") && $3 !~ /^Z/')
        [ -z "$left" ] && return 0
        sleep 0.05
    done
    echo "processes of the killed run are left: $left" >&2
    return 1
}

verify() {
    ansible-playbook -i "$inventory" "$setup_cluster/verify.yml" -e "deployment_name=$1" \
        -e "uuid=$(deployment_uuid "$1")" -e "site=${site:?set the site the cluster lands on}" \
        -e "expected_workers=$2" ${3:+-e "expected_worker=$3"} \
        -e "public_net=$public_net" -e "private_net=$private_net"
}

worker_uuid() {
    ansible-inventory -i "$inventory" --host "$1-worker-$2" \
        | python -c "import json, sys; print(json.load(sys.stdin)['paas_resource']['uuid'])"
}

undeploy() {
    playbook "$playbooks/undeploy.yml" -e "deployment_name=$1"
}

# the engine's uuid_for(NAME), computed once per name (by deploy and start_deploy, which run
# in this shell; a $(deployment_uuid NAME) subshell reads what they kept)
declare -A _uuids=()
_know_uuid() {
    [ -n "${_uuids[$1]:-}" ] || _uuids[$1]=$(python -c "import sys
from ansible_collections.paas.orchestrator.plugins.module_utils.engine import uuid_for
print(uuid_for(sys.argv[1]))" "$1")
}
deployment_uuid() {
    _know_uuid "$1"
    echo "${_uuids[$1]}"
}

cluster_scenario() {
    local name=$1
    shift
    deploy "$name" 2
    verify "$name" 2
    deploy "$name" 3
    verify "$name" 3
    deploy "$name" 1 "$(worker_uuid "$name" 0)"
    verify "$name" 1 worker-1
    if "$@" "$(deployment_uuid "$name")"; then
        echo "the checker sees nothing of deployment $name while it is there" >&2
        return 1
    fi
    undeploy "$name"
    "$@" "$(deployment_uuid "$name")"
}
