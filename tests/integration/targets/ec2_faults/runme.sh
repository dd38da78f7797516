#!/usr/bin/env bash
# Faults at the playbook level on moto's EC2, each ending with moto holding nothing of the
# deployment (../ec2/moto.py leftovers, through boto3):
# a. the cluster scenario (../setup_cluster/scenario.sh) through the fault proxy answering 20 %
#    of the EC2 calls with a 5xx or a 429;
# b. failover: the first site's EC2 is unreachable (as in test_ec2.py), the cluster lands on
#    the second, as deployment_info and the inventory show; the first site's cleanup failed
#    (unreachable), so undeploy.yml deletes there too: it runs once that site answers again.
# (A crash of the orchestrator: ec2_crash.)
# shellcheck disable=SC2034,SC2154  # variables from and for scenario.sh (not followed)
source ../setup_cluster/scenario.sh

moto=(python "$PWD/../ec2/moto.py")
faultproxy=(python -m ansible_collections.paas.orchestrator.tests.emulators.faultproxy
            --target "$("${moto[@]}" endpoint)" --port 0 --seed 1)
# moto keeps what earlier runs made: deployments (so uuids, so tags) of this run's own
run=$(date +%s%N)
site=aws public_net='^[0-9]+(\.[0-9]+){3}$' private_net='^172\.31\.'

# -- a. 20 % of the calls faulted -----------------------------------------------------------
serve faulty "${faultproxy[@]}" --rate 0.2 --kinds error,throttle --retry-after 0
"${moto[@]}" sites "aws=$url" > "$sites_file"
cluster_scenario "faults_$run" "${moto[@]}" leftovers
curl -sf "$url/__faults__" | python -c "import json, sys
counters = json.load(sys.stdin)['counters']
assert sum(counters['faults'].values()) > 0, counters
print(counters)"

# -- b. failover --------------------------------------------------------------------------
"${moto[@]}" sites down=http://127.0.0.1:9,max_attempts=2,connect_timeout=2 aws > "$sites_file"
deploy "failover_$run" 2
verify "failover_$run" 2
playbook "$setup_cluster/info.yml" -e "deployment_name=failover_$run" -e status=CREATE_COMPLETE \
    -e '{"attempts": ["down", "aws"], "first_error": "unreachable"}'
"${moto[@]}" sites down aws > "$sites_file"
undeploy "failover_$run"
"${moto[@]}" leftovers "$(deployment_uuid "failover_$run")"
