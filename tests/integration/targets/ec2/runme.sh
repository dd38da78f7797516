#!/usr/bin/env bash
# The cluster scenario (../setup_cluster/scenario.sh) on moto's EC2 (services.json's "moto");
# at the end moto holds no instance (but terminated ones), volume, security group, network
# interface or Elastic IP of the deployment (moto.py leftovers, through boto3).
# shellcheck disable=SC2034,SC2154  # variables from and for scenario.sh (not followed)
source ../setup_cluster/scenario.sh

python moto.py sites aws > "$sites_file"
# moto keeps what earlier runs made: a deployment (so a uuid, so tags) of this run's own
site=aws public_net='^[0-9]+(\.[0-9]+){3}$' private_net='^172\.31\.'
cluster_scenario "ec2_$(date +%s%N)" python "$PWD/moto.py" leftovers
