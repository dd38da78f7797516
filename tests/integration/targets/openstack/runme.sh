#!/usr/bin/env bash
# On the real OpenStack of tests/tooling/openstack (services.json's "openstack", Nova with the
# fake virt driver): the cluster scenario (../setup_cluster/scenario.sh) on project demo; a kill
# -9 of ansible-playbook (module included) once the cloud has a server of the deployment, after
# which undeploy.yml leaves nothing; and a cluster that does not fit in project demo2's quota
# (1 instance), which lands on demo. After each, the cloud holds no server, port, floating IP,
# volume or security group of the deployment (cloud.py leftovers, through openstacksdk).
# shellcheck disable=SC2034,SC2154  # variables from and for scenario.sh (not followed)
source ../setup_cluster/scenario.sh

cloud=(python "$PWD/cloud.py")
# the cloud keeps what earlier runs made: deployments (so uuids, so tags) of this run's own
run=$(date +%s%N)

"${cloud[@]}" sites demo=demo > "$sites_file"
site=demo public_net='^203\.0\.113\.' private_net='^10\.0\.0\.'
cluster_scenario "openstack_$run" "${cloud[@]}" leftovers

# killed mid-create: the store says CREATE_IN_PROGRESS, undeploy finds everything by its tags
name=killed_$run
start_deploy "$name" 2
"${cloud[@]}" wait-server "$(deployment_uuid "$name")" 120
kill_deploy
playbook "$setup_cluster/info.yml" -e "deployment_name=$name" -e status=CREATE_IN_PROGRESS \
    -e '{"attempts": ["demo"]}'
undeploy "$name"
"${cloud[@]}" leftovers "$(deployment_uuid "$name")"

# quota failover: demo2 runs one instance (and 5 GB of volumes), the cluster needs three (and
# 11 GB): what demo2 got is deleted
"${cloud[@]}" sites small=demo2 big=demo > "$sites_file"
name=failover_$run
deploy "$name" 2
playbook "$setup_cluster/info.yml" -e "deployment_name=$name" -e status=CREATE_COMPLETE \
    -e '{"attempts": ["small", "big"], "first_error": "[Qq]uota"}'
site=big verify "$name" 2
"${cloud[@]}" leftovers "$(deployment_uuid "$name")" demo2
undeploy "$name"
"${cloud[@]}" leftovers "$(deployment_uuid "$name")"
