#!/usr/bin/env bash
# kill -9 of ansible-playbook (module included) while it creates the cluster of
# ../setup_cluster on moto's EC2, once moto has an instance of the deployment (a fault proxy adds
# 0.2 s to each EC2 call, as a real cloud would, so that the create is still under way): the
# store says CREATE_IN_PROGRESS, and undeploy.yml then leaves nothing of the deployment on moto
# (../ec2/moto.py leftovers, through boto3).
# shellcheck disable=SC2034,SC2154  # variables from and for scenario.sh (not followed)
source ../setup_cluster/scenario.sh

moto=(python "$PWD/../ec2/moto.py")
serve slow python -m ansible_collections.paas.orchestrator.tests.emulators.faultproxy \
    --target "$("${moto[@]}" endpoint)" --port 0 --latency 0.2
"${moto[@]}" sites "aws=$url" > "$sites_file"
# moto keeps what earlier runs made: a deployment (so a uuid, so tags) of this run's own
name=killed_$(date +%s%N)
start_deploy "$name" 2
"${moto[@]}" wait-instance "$(deployment_uuid "$name")" 60
kill_deploy
playbook "$setup_cluster/info.yml" -e "deployment_name=$name" -e status=CREATE_IN_PROGRESS \
    -e '{"attempts": ["aws"]}'
undeploy "$name"
"${moto[@]}" leftovers "$(deployment_uuid "$name")"
