#!/usr/bin/env bash
# The paas.orchestrator.mesos role on a Mesos cluster deployed from playbooks/tosca/mesos_cluster.yaml
# on the test OpenStack (services.json's "openstack"): 3 masters (HA), an agent, a load balancer.
# (a) deploy.yml creates the VMs (--limit localhost: its configuration play matches no host,
#     since the fake hypervisor boots nothing to reach); inventory.yml checks the groups, the
#     roles and the role variables the hosts got, and no password is in the inventory;
# (b) deploy.yml again in check mode with --diff, the deployment's hosts reached as this machine
#     (group_vars: ansible_connection local): the deployment would not change and the mesos
#     role renders, for the hosts' own variables and addresses, the files configuration.yml
#     checks (callback_plugins/rendered.py records them); no password is shown; a master
#     without its password is refused;
# (c) undeploy.yml; OpenStack holds nothing of the deployment (os_cloud.py leftovers).
# Then marathon_service.yaml on the Marathon emulator (tests/emulators/marathon), as a process.
# shellcheck disable=SC2034,SC2154  # variables from and for scenario.sh (not followed)
source ../setup_cluster/scenario.sh

here=$PWD
templates=$playbooks/tosca
python "$here/os_cloud.py" sites openstack > "$sites_file"
# the cloud is shared with other runs: a deployment (so a uuid, so tags) of this run's own
name=mesos_$(date +%s%N)
uuid=$(deployment_uuid "$name")
undeployed=
# a failed run leaves nothing either (evaluated at exit)
# shellcheck disable=SC2016
on_exit '[ -n "$undeployed" ] || undeploy "$name"'

mesos_password=mesos-$RANDOM-secret
marathon_password=marathon-$RANDOM-secret
chronos_password=chronos-$RANDOM-secret
cat > "$work/parameters.yml" <<EOS
deployment_name: $name
template: $templates/mesos_cluster.yaml
parameters:
  masters: 3
  agents: 1
  master_cpus: 1
  master_mem: 2 GB
  agent_cpus: 1
  agent_mem: 2 GB
  os_version: "22.04"  # the image of the test site
  mesos_username: ops
  mesos_password: $mesos_password
  marathon_username: deployer
  marathon_password: $marathon_password
  chronos_username: scheduler
  chronos_password: $chronos_password
  enable_gpu_support: true
mesos_password: $mesos_password
marathon_password: $marathon_password
chronos_password: $chronos_password
EOS
no_secret_in() {
    ! grep -F -e "$mesos_password" -e "$marathon_password" -e "$chronos_password" "$@"
}

# (a)
playbook "$playbooks/deploy.yml" --limit localhost -e "@$work/parameters.yml"
ansible-playbook -i "$inventory" inventory.yml -e "deployment_name=$name" -e "uuid=$uuid"
ansible-inventory -i "$inventory" --list > "$work/inventory.json"
no_secret_in "$work/inventory.json"

# (b) the role on this machine, in check mode: nothing is installed nor written
mkdir -p "$work/group_vars"
cat > "$work/group_vars/paas_deployment_$name.yml" <<EOS
ansible_connection: local
ansible_python_interpreter: /usr/bin/python3  # python3-apt, for apt and apt_repository
mesos_apt_key_url: file://$work/mesosphere.asc  # no keyserver here; check mode reads no key
EOS
echo "not a key: check mode only asks whether the URL answers" > "$work/mesosphere.asc"
ANSIBLE_CALLBACK_PLUGINS=$here/callback_plugins ANSIBLE_CALLBACKS_ENABLED=rendered \
    RENDERED_JSON=$work/rendered.json \
    playbook "$playbooks/deploy.yml" --check --diff -e "@$work/parameters.yml" \
    > "$work/check.log" || { cat "$work/check.log"; exit 1; }
no_secret_in "$work/check.log" "$work/rendered.json"
ansible-playbook -i "$inventory" configuration.yml -e "deployment_name=$name" \
    -e "rendered_json=$work/rendered.json"
# a master without its password is refused, naming it, before anything is done
if playbook "$playbooks/deploy.yml" --check -e "deployment_name=$name" \
        --limit "$name-mesos_master_server-0" > "$work/refused.log"; then
    echo "a master without mesos_password was configured" >&2
    exit 1
fi
grep -F "(master): mesos_password is not given" "$work/refused.log"

# (c)
if python "$here/os_cloud.py" leftovers "$uuid"; then
    echo "the checker sees nothing of deployment $name while it is there" >&2
    exit 1
fi
undeploy "$name"
undeployed=yes
python "$here/os_cloud.py" leftovers "$uuid"

# a long-running service on the Marathon emulator
serve marathon python -m ansible_collections.paas.orchestrator.tests.emulators.marathon \
    --port 0 --state-dir "$work/marathon" --start-seconds 0.2 \
    --knobs '{"username": "paas", "password": "marathon-secret"}'
ansible-playbook marathon.yml -e "marathon_url=$url" -e "work=$work" \
    -e "template=$templates/marathon_service.yaml"
