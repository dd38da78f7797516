# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""50 VMs against one, through the engine and the OpenNebula driver, on the OpenNebula emulator
with a 2 s boot, in one run. Prints the API calls per VM the emulator counted (target <= 8) and,
last, ``ratio <wall time of 50 / wall time of 1>`` (target <= 1.5: VMs are created in parallel).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import yaml

from ansible_collections.paas.orchestrator.plugins.module_utils.engine import Engine, Request
from ansible_collections.paas.orchestrator.plugins.module_utils.placement import Placement
from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store
from ansible_collections.paas.orchestrator.tests.emulators.opennebula import EmulatorServer
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

BOOT = float(os.environ.get("BENCH_BOOT_SECONDS", "2"))
MANY = int(os.environ.get("BENCH_VMS", "50"))
ROOT = corpus.corpus_dir()

TEMPLATE = """tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml
topology_template:
  inputs:
    count: {type: integer}
  node_templates:
    vm:
      type: tosca.nodes.indigo.Compute
      capabilities:
        scalable: {properties: {count: {get_input: count}}}
        host: {properties: {num_cpus: 1, mem_size: 1 GB}}
        os: {properties: {distribution: ubuntu, version: "22.04"}}
"""


def sites_file(directory, url):
    path = os.path.join(directory, "sites.yml")
    with open(path, "w") as handle:
        yaml.safe_dump({"sites": [{
            "name": "one", "type": "opennebula", "endpoint": url, "iam_enabled": False,
            "tenant": {"public_network_name": "public", "private_network_name": "private"},
            "images": [{"image_id": "0", "image_name": "ubuntu-22.04", "distribution": "ubuntu",
                        "version": "22.04", "type": "linux"}],
            "flavors": [{"flavor_id": "s", "flavor_name": "small", "num_vcpus": 1, "ram": 2048,
                         "disk": 10, "num_gpus": 0}],
            "settings": {"username": "paas", "password": "paas-secret"}}]}, handle)
    return path


def provision(count):
    """(wall seconds until every VM runs, API calls per VM), and everything deleted after."""
    with tempfile.TemporaryDirectory() as directory, \
            EmulatorServer(boot_seconds=BOOT, max_vms=None) as server, \
            open_store(os.path.join(directory, "store.db")) as store:
        placement = Placement({"sites_file": sites_file(directory, server.url)})
        request = Request(template=TEMPLATE, parameters={"count": count}, name="bench",
                          placement=placement, timeout=600,
                          tosca_options={"cache_dir": "", "mirror": corpus.mirror(ROOT)})
        engine = Engine(store)
        start = time.perf_counter()
        deployment = engine.present(request)["deployment"]
        elapsed = time.perf_counter() - start
        if deployment["status"] != "CREATE_COMPLETE":
            raise SystemExit("%d VMs: %s: %s" % (count, deployment["status"],
                                                 deployment.get("statusReason")))
        calls = sum(server.emulator.counters.values())
        engine.absent(request.uuid, placement=placement)
        return elapsed, calls / count


def main():
    if ROOT is None:
        print("corpus absent: ../shared/corpus not found (INDIGO's types); nothing to measure")
        return 1
    one, one_calls = provision(1)
    many, many_calls = provision(MANY)
    print("boot %.1f s (emulated)" % BOOT)
    print("1 VM: %.2f s, %.1f API calls" % (one, one_calls))
    print("%d VMs: %.2f s, %.2f API calls per VM" % (MANY, many, many_calls))
    print("ratio %.2f" % (many / one))
    return 0


if __name__ == "__main__":
    sys.exit(main())
