#!/usr/bin/env bash
# The paas.orchestrator.spark role on a real Spark (PyPI pyspark, the distribution's Java): the
# bundled playbooks/tosca/spark_cluster.yaml deployed all-in-one (a local site with
# all_in_one: true, so the master VM and the one worker VM are this machine) through
# playbooks/deploy.yml and the deployments inventory. The worker registers with the master it
# found in the inventory; a PySpark job submitted with the worker's spark-defaults.conf runs on
# it; a second deploy.yml changes nothing on the hosts; a changed setting restarts the worker
# with it; undeploy, then the daemons stop. The Mesos configuration (no Mesos here) is checked
# as check mode renders it, and so are the role's refusals.
source ../setup_cluster/scenario.sh
: "${work:?}" "${inventory:?}" "${playbooks:?}" "${store:?}"  # set by scenario.sh

venv=/opt/spark/venv            # the role's default: kept across runs, so a rerun installs nothing
master_port=17077 webui_port=18080 worker_webui_port=18081   # 8080 may be taken (Swift)
master_json=http://127.0.0.1:$webui_port/json/

stop_spark() {
    local service
    for service in spark-worker spark-master; do
        if [ -x "/etc/init.d/$service" ]; then service "$service" stop; fi
    done
}
on_exit stop_spark
stop_spark  # what an earlier run left running: the first deploy starts the daemons

deploy_spark() {  # deploy_spark LOG
    cat > "$work/vars.json" <<EOS
{"sites": [{"name": "here", "type": "local", "all_in_one": true, "workdir": "$work/local"}],
 "parameters": {"workers": 1, "worker_cpus": 2, "worker_spark_memory": "2 GiB",
                "master_port": $master_port, "master_webui_port": $webui_port},
 "spark_worker_webui_port": $worker_webui_port}
EOS
    ansible-playbook -i "$inventory" "$playbooks/deploy.yml" -e deployment_name=spark \
        -e "template=$playbooks/tosca/spark_cluster.yaml" -e "store=$store" -e "@$work/vars.json" \
        | tee "$1"
}

# the master's view: "<alive workers> <cores> <memory MiB> <state of app $1>"
master_view() {
    curl -sf "$master_json" | python -c "import json, sys
state = json.load(sys.stdin)
alive = [w for w in state['workers'] if w['state'] == 'ALIVE']
apps = [a['state'] for a in state['completedapps'] + state['activeapps'] if a['id'] == sys.argv[1]]
print(len(alive), ' '.join('%s %s' % (w['cores'], w['memory']) for w in alive), *apps)" "${1:-}"
}

# recap line of HOST in LOG has changed=0 and failed=0
unchanged() {
    grep -E "^$1 +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0 " "$2"
}

# 0. the template reads as it should
ansible-playbook template.yml -e "template=$playbooks/tosca/spark_cluster.yaml"

# 1. deploy: the master and a worker with 2 cores and 2 GiB, registered
deploy_spark "$work/deploy1.log"
ansible-inventory -i "$inventory" --graph | tee "$work/graph"
grep -q 'spark-master-0' "$work/graph" && grep -q 'spark-worker-0' "$work/graph"
[ "$(master_view)" = "1 2 2048" ]

# 2. a PySpark job, submitted to the master named in the worker's spark-defaults.conf
out=$(PATH=$venv/bin:$PATH SPARK_CONF_DIR=/etc/spark/worker spark-submit \
    --conf spark.ui.enabled=false files/squares.py 1000 2> "$work/submit.err" | tail -n1) \
    || { tail -n 40 "$work/submit.err"; exit 1; }
echo "$out"
app=$(python -c "import json, sys
job = json.loads(sys.argv[1])
assert job['sum'] == 333833500, job
assert job['master'] == 'spark://127.0.0.1:$master_port', job
print(job['app_id'])" "$out")
[ "$(master_view "$app")" = "1 2 2048 FINISHED" ]
[ -d "/var/lib/spark/work/$app" ]  # its executor ran under the worker

# 3. the same deployment again: the role changes nothing on the hosts
deploy_spark "$work/deploy2.log"
unchanged spark-master-0 "$work/deploy2.log"
unchanged spark-worker-0 "$work/deploy2.log"

# 4. a changed setting (a role variable given to the play) restarts the worker with it
cat > "$work/roles.yml" <<'EOS'
- name: Apply the roles as deploy.yml does
  hosts: all
  gather_facts: false
  tasks:
    - name: Apply the roles of the host
      ansible.builtin.include_role:
        name: "paas.orchestrator.{{ role }}"
      loop: "{{ paas_roles }}"
      loop_control:
        loop_var: role
EOS
ansible-playbook -i "$inventory" "$work/roles.yml" -l spark-worker-0 -e spark_worker_cores=1 \
    -e spark_worker_webui_port=$worker_webui_port | tee "$work/cores.log"
grep -qx 'SPARK_WORKER_CORES=1' /etc/spark/worker/spark-env.sh
if unchanged spark-worker-0 "$work/cores.log"; then exit 1; fi
[ "$(master_view)" = "1 1 2048" ]

# 5. Mesos (not installable here): what check mode would write, and the refusals
cat > "$work/mesos.yml" <<EOS
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: $(command -v python)
    spark_venv: $work/mesos-venv
    spark_conf_root: $work/etc
    paas_roles: [spark]
  hosts:
    dispatcher:
      spark_role: mesos_dispatcher
      spark_version: 3.5.5
      spark_mesos_zookeeper: [10.1.0.1, "10.1.0.2:2182"]
      spark_executor_memory: 2 GiB
      spark_cores_max: -1
    dispatcher-spark4:
      spark_role: mesos_dispatcher
      spark_mesos_zookeeper: zk://10.1.0.1:2181/mesos
    lonely-worker:
      spark_role: worker
EOS
ANSIBLE_INVENTORY_ENABLED=yaml ansible-playbook -i "$work/mesos.yml" "$work/roles.yml" --check --diff \
    > "$work/mesos.log" || true
cat "$work/mesos.log"
if unchanged dispatcher "$work/mesos.log"; then exit 1; fi  # check mode says what it would change
grep -E '^dispatcher +: .* failed=0 ' "$work/mesos.log"
grep -E '^\+spark\.master +mesos://zk://10\.1\.0\.1:2181,10\.1\.0\.2:2182/mesos$' "$work/mesos.log"
grep -E '^\+spark\.executor\.memory +2048m$' "$work/mesos.log"
grep -Fx '+CLASS=org.apache.spark.deploy.mesos.MesosClusterDispatcher' "$work/mesos.log"
# shellcheck disable=SC2016 # the init script's own variable, as written
grep -F 'start "$CLASS" 1 --master mesos://zk://10.1.0.1:2181,10.1.0.2:2182/mesos --host dispatcher --port 7077 --webui-port 8081' "$work/mesos.log"
if grep 'spark\.cores\.max' "$work/mesos.log"; then exit 1; fi  # INDIGO's -1: Spark's default
grep -F 'dispatcher-spark4: Spark 4.3.0 has no Mesos support' "$work/mesos.log"
grep -F "lonely-worker: no Spark master for this worker" "$work/mesos.log"
[ ! -e "$work/etc" ]  # check mode wrote nothing
[ ! -e "$work/mesos-venv" ]

# 6. undeploy: the hosts leave the inventory; the daemons stop
ansible-playbook -i "$inventory" "$playbooks/undeploy.yml" -e deployment_name=spark -e "store=$store" \
    -e "@$work/vars.json"
ansible-inventory -i "$inventory" --graph | tee "$work/graph"
if grep 'spark-' "$work/graph"; then exit 1; fi
stop_spark
for service in spark-master spark-worker; do
    status=0
    service "$service" status || status=$?
    [ "$status" = 3 ]
done
if pgrep -u spark java; then exit 1; fi
