#!/usr/bin/env bash
# The cluster scenario (../setup_cluster/scenario.sh) on an OpenNebula site played by the
# emulator (tests/emulators/opennebula, a separate process here); at the end the cloud holds
# no VM at all.
# shellcheck disable=SC2034,SC2154  # variables from and for scenario.sh (not followed)
source ../setup_cluster/scenario.sh

serve emulator python -m ansible_collections.paas.orchestrator.tests.emulators.opennebula \
    --port 0 --state-dir "$work"

cat > "$sites_file" <<EOS
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

no_vm_left() {
    python - "$url" <<'EOP'
import sys
import pyone

one = pyone.OneServer(sys.argv[1], session="paas:paas-secret")
live = [vm.ID for vm in one.vmpool.infoextended(-2, -1, -1, -1).VM]
assert live == [], "VMs left: %s" % live
EOP
}

site=one public_net='198\.51\.100\.' private_net='10\.10\.0\.'
cluster_scenario cluster no_vm_left
