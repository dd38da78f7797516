#!/usr/bin/env bash
# A two-node cluster (front end with a public IP and a volume, workers) on an OpenNebula site
# played by the emulator (tests/emulators/opennebula, a separate process here), through
# playbooks/deploy.yml and the deployments inventory: 3 hosts, scale the workers to 3 and back
# to 1 with a removal_list, undeploy, and the cloud holds no VM of ours.
set -eux

# ansible-test runs this from a copy; the collection it tests is on ANSIBLE_COLLECTIONS_PATH
collections=${ANSIBLE_COLLECTIONS_PATH%%:*}
export PYTHONPATH=$collections${PYTHONPATH:+:$PYTHONPATH}
playbooks=$collections/ansible_collections/paas/orchestrator/playbooks
work=$(mktemp -d)
emulator_pid=
cleanup() {
    if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

python -m ansible_collections.paas.orchestrator.tests.emulators.opennebula --port 0 \
    --state-dir "$work" > "$work/emulator.out" 2> "$work/emulator.err" &
emulator_pid=$!
for _ in $(seq 100); do
    [ -s "$work/emulator.out" ] && break
    sleep 0.1
done
url=$(head -n1 "$work/emulator.out")
mirror=$(python -c "from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus; print(corpus.mirror(corpus.corpus_dir()))")

cat > "$work/sites.yml" <<EOS
sites:
  - name: one
    type: opennebula
    endpoint: $url
    iam_enabled: false
    tenant: {public_network_name: public, private_network_name: private}
    images: [{image_id: "0", image_name: ubuntu-22.04, distribution: ubuntu, version: "22.04", type: linux}]
    flavors: [{flavor_id: s, flavor_name: small, num_vcpus: 1, ram: 2048, disk: 10, num_gpus: 0}]
    settings: {username: paas, password: paas-secret}
EOS
cat > "$work/cloud.deployments.yml" <<EOS
plugin: paas.orchestrator.deployments
store: $work/store.db
EOS

export ANSIBLE_INVENTORY_ENABLED=paas.orchestrator.deployments,host_list
export PAAS_ORCHESTRATOR_TOSCA_MIRROR=$mirror
common=(-i "$work/cloud.deployments.yml" -e "deployment_name=cluster"
        -e "store=$work/store.db" -e "{\"sources\": {\"sites_file\": \"$work/sites.yml\"}}"
        -e "template=$PWD/files/cluster.yaml")

# deploy and configure (no software node here: the role hook runs nothing)
ansible-playbook "$playbooks"/deploy.yml "${common[@]}" -e '{"parameters": {"workers": 2}}'
ansible-playbook verify.yml -i "$work/cloud.deployments.yml" -e "work=$work" -e expected_workers=2

# scale out to 3 workers, then in to 1, removing worker#0 by its uuid (INDIGO's removal_list)
ansible-playbook "$playbooks"/deploy.yml "${common[@]}" -e '{"parameters": {"workers": 3}}'
ansible-playbook verify.yml -i "$work/cloud.deployments.yml" -e "work=$work" -e expected_workers=3
first=$(ansible-inventory -i "$work/cloud.deployments.yml" --host cluster-worker-0 \
        | python -c "import json, sys; print(json.load(sys.stdin)['paas_resource']['uuid'])")
ansible-playbook "$playbooks"/deploy.yml "${common[@]}" \
    -e "{\"parameters\": {\"workers\": 1, \"removal\": [\"$first\"]}}"
ansible-playbook verify.yml -i "$work/cloud.deployments.yml" -e "work=$work" -e expected_workers=1 \
    -e expected_worker=cluster-worker-1

# undeploy: the cloud keeps no VM of ours
ansible-playbook "$playbooks"/undeploy.yml -e deployment_name=cluster \
    -e "store=$work/store.db" -e "{\"sources\": {\"sites_file\": \"$work/sites.yml\"}}"
python - "$url" <<'EOP'
import sys
import pyone

one = pyone.OneServer(sys.argv[1], session="paas:paas-secret")
live = [vm.ID for vm in one.vmpool.infoextended(-2, -1, -1, -1).VM]
assert live == [], "VMs left: %s" % live
EOP
