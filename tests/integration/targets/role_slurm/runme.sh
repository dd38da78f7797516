#!/usr/bin/env bash
# The paas.orchestrator.slurm role on this machine's SLURM test cluster (Debian's slurm-wlm,
# tests/tooling/slurm/setup.sh): the bundled playbooks/tosca/slurm_cluster.yaml deployed
# all-in-one (a local site with all_in_one: true: the front end and the worker are this
# machine, so the cluster is one node, localhost) through playbooks/deploy.yml and the
# deployments inventory, with role variables that make its slurm.conf the test cluster's (the
# other SLURM tests share the daemons: the role reconfigures them, nothing restarts). Then: a
# batch job completes; a second deploy.yml changes nothing on the hosts; the bundled sweep runs
# on a slurm site on the cluster as on the local site; what check mode renders for a cluster of
# 1 and of 2 workers; undeploy, and setup.sh puts its own slurm.conf back.
# shellcheck disable=SC2154  # inventory, playbooks, store, work come from scenario.sh (sourced, not followed)
source ../setup_cluster/scenario.sh

orchestrator=$collections/ansible_collections/paas/orchestrator
setup=$orchestrator/tests/tooling/slurm/setup.sh
"$setup" start
# what the role writes beside slurm.conf: put back as it was for the other tests
cp -p /etc/default/slurmd "$work/default-slurmd"
on_exit "cp -p '$work/default-slurmd' /etc/default/slurmd; '$setup' start"

cat > "$work/vars.json" <<EOS
{"sites": [{"name": "here", "type": "local", "all_in_one": true, "workdir": "$work/local"}],
 "parameters": {"workers": 1, "max_workers": 4},
 "slurm_cluster_name": "paasci", "slurm_node_cpus": 2, "slurm_node_memory": 2000,
 "slurm_config": {"SlurmdParameters": "config_overrides", "MinJobAge": 300, "MaxArraySize": 1001},
 "slurm_partitions": [{"name": "debug", "default": true, "options": {"OverSubscribe": "FORCE:10"}}]}
EOS
deploy_slurm() {  # deploy_slurm LOG
    ansible-playbook -i "$inventory" "$playbooks/deploy.yml" -e deployment_name=slurm \
        -e "template=$playbooks/tosca/slurm_cluster.yaml" -e "store=$store" -e "@$work/vars.json" \
        | tee "$1"
}
# recap line of HOST in LOG has changed=0 and failed=0
unchanged() {
    grep -E "^$1 +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0 " "$2"
}
# slurm.conf's settings, one per line, each line's words after the first sorted, no comments
settings() {
    grep -v -e '^#' -e '^$' "$1" | awk '{ head = $1; $1 = ""; n = split($0, w, " "); asort(w);
        line = head; for (i = 1; i <= n; i++) line = line " " w[i]; print line }' | sort
}

# 1. deploy all-in-one: the controller and the worker are this machine; the cluster rendered is
# the test cluster, applied by a reconfigure (slurmctld keeps its pid)
ctld_pid=$(cat /run/slurmctld.pid)
deploy_slurm "$work/deploy1.log"
ansible-inventory -i "$inventory" --graph | tee "$work/graph"
grep -q 'slurm-front_end-0' "$work/graph" && grep -q 'slurm-worker-0' "$work/graph"
diff <(settings "$orchestrator/tests/tooling/slurm/slurm.conf") <(settings /etc/slurm/slurm.conf)
grep -qx 'SLURMD_OPTIONS="-N localhost"' /etc/default/slurmd
[ "$(cat /run/slurmctld.pid)" = "$ctld_pid" ]
grep -E 'RUNNING HANDLER \[paas.orchestrator.slurm : Reconfigure slurmctld\]' "$work/deploy1.log"

# 2. a batch job completes on it
# shellcheck disable=SC2016  # expanded by the job, not here
job=$(sbatch --parsable -o "$work/job.out" --wrap 'echo "job $SLURM_JOB_ID on $SLURMD_NODENAME in $SLURM_JOB_PARTITION"')
for _ in $(seq 60); do
    state=$(scontrol show job "$job" | grep -o 'JobState=[A-Z]*')
    case $state in JobState=COMPLETED|JobState=FAILED|JobState=CANCELLED) break ;; esac
    sleep 1
done
[ "$state" = JobState=COMPLETED ]
[ "$(cat "$work/job.out")" = "job $job on localhost in debug" ]

# 3. the same deployment again: the role changes nothing on the hosts
deploy_slurm "$work/deploy2.log"
unchanged slurm-front_end-0 "$work/deploy2.log"
unchanged slurm-worker-0 "$work/deploy2.log"

# 4. the bundled sweep, unchanged, on a slurm site on this cluster gives what the local site gives
mkdir -m 0755 "$work/results"
cat > "$work/sweep.json" <<EOS
{"store": "$work/sweep.db", "template": "$playbooks/tosca/sweep_jobs.yaml", "results": "$work/results",
 "sweep_sites": [{"name": "here", "type": "local", "workdir": "$work/sweep-local"},
                 {"name": "hpc", "type": "slurm", "partition": "debug", "python": "/usr/bin/python3",
                  "workdir": "$work/sweep-slurm"}]}
EOS
ANSIBLE_INVENTORY_ENABLED=ini ansible-playbook -i "${INVENTORY_PATH:?}" files/sweep.yml -e "@$work/sweep.json"

# 5. what the role renders for a cluster of 1 worker, then 2 (check mode: nothing written)
ANSIBLE_INVENTORY_ENABLED=yaml ansible-playbook -i files/clusters.yml files/render.yml --check --diff > "$work/render.log" || true
cat "$work/render.log"
[ "$(grep -cE '^(one|two)-(fe|wn[01]) +: .* failed=0 ' "$work/render.log")" = 5 ]
# each rendered slurm.conf (from its ClusterName line to the end of its diff) into <name>.diff
awk -v dir="$work" '/^\+ClusterName=/ { out = dir "/" substr($0, 14) ".diff" }
    /^(changed|ok):/ { out = "" } out && /^\+/ { print > out }' "$work/render.log"
for d in one:1 two:2; do
    grep -qx "+ClusterName=${d%:*}" "$work/${d%:*}.diff"
    grep -qx "+SlurmctldHost=fe(10.0.${d#*:}.1)" "$work/${d%:*}.diff"
done
grep -qx '+NodeName=wn0 NodeHostname=wn0 NodeAddr=10.0.1.2 CPUs=4 RealMemory=7000 State=UNKNOWN' "$work/one.diff"
grep -qx '+PartitionName=batch Nodes=wn0 Default=YES MaxTime=INFINITE OverSubscribe=FORCE:10 State=UP' "$work/one.diff"
[ "$(grep '^+NodeName=' "$work/one.diff" | sort -u | wc -l)" = 1 ]
grep -qx '+NodeName=wn0 NodeHostname=wn0 NodeAddr=10.0.2.2 CPUs=4 RealMemory=7000 State=UNKNOWN' "$work/two.diff"
grep -qx '+NodeName=wn1 NodeHostname=wn1 NodeAddr=10.0.2.3 CPUs=8 RealMemory=7000 Features=big State=UNKNOWN' "$work/two.diff"
grep -qx '+PartitionName=batch Nodes=wn0,wn1 Default=YES MaxTime=INFINITE OverSubscribe=FORCE:10 State=UP' "$work/two.diff"
[ "$(grep '^+NodeName=' "$work/two.diff" | sort -u | wc -l)" = 2 ]
[ ! -e /nonexistent ]

# 6. a cluster over its wn_num (slurm_max_workers) is refused before anything changes
if ansible-playbook -i "$inventory" files/roles.yml -e slurm_max_workers=0 > "$work/over.log"; then
    exit 1
fi
grep -F '1 workers, more than slurm_max_workers (0' "$work/over.log"
if grep -F 'Install the packages' "$work/over.log"; then exit 1; fi

# 7. undeploy: the hosts leave the inventory; the test cluster is its own again
ansible-playbook -i "$inventory" "$playbooks/undeploy.yml" -e deployment_name=slurm -e "store=$store" \
    -e "@$work/vars.json"
ansible-inventory -i "$inventory" --graph | tee "$work/graph"
if grep 'slurm-' "$work/graph"; then exit 1; fi
cp -p "$work/default-slurmd" /etc/default/slurmd
"$setup" start
cmp "$orchestrator/tests/tooling/slurm/slurm.conf" /etc/slurm/slurm.conf
"$setup" status
