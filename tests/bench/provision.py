# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""50 VMs against one, through the engine and the OpenNebula driver, on the OpenNebula emulator
with a 2 s boot, in one run. Prints the API calls per VM the emulator counted (target <= 8) and,
last, ``ratio <wall time of 50 / wall time of 1>`` (target <= 1.5: VMs are created in parallel).

Before that line, the same for 10 VMs against one on the real OpenStack of tests/tooling/openstack
when ~/.paas-orchestrator-test/services.json has it: ``openstack ratio <wall time of 10 / wall
time of 1>``, with the calls to Nova, Neutron, Cinder and Glance per VM (counted by a fault proxy
per service that injects nothing).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
import uuid

import yaml

from ansible_collections.paas.orchestrator.plugins.module_utils.engine import Engine, Request
from ansible_collections.paas.orchestrator.plugins.module_utils.placement import Placement
from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store
from ansible_collections.paas.orchestrator.tests.emulators.opennebula import EmulatorServer
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.drivers import (
    test_openstack,
    test_openstack_faults,
)
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

BOOT = float(os.environ.get("BENCH_BOOT_SECONDS", "2"))
MANY = int(os.environ.get("BENCH_VMS", "50"))
# the demo project's instance quota is 10
OPENSTACK_MANY = int(os.environ.get("BENCH_OPENSTACK_VMS", "10"))
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


def one_site(url):
    return {"name": "one", "type": "opennebula", "endpoint": url, "iam_enabled": False,
            "tenant": {"public_network_name": "public", "private_network_name": "private"},
            "images": [{"image_id": "0", "image_name": "ubuntu-22.04", "distribution": "ubuntu",
                        "version": "22.04", "type": "linux"}],
            "flavors": [{"flavor_id": "s", "flavor_name": "small", "num_vcpus": 1, "ram": 2048,
                         "disk": 10, "num_gpus": 0}],
            "settings": {"username": "paas", "password": "paas-secret"}}


def provision(count, site, calls):
    """(wall seconds until every VM runs, API calls per VM), and everything deleted after;
    ``calls()`` is the number of API calls made so far."""
    with tempfile.TemporaryDirectory() as directory, \
            open_store(os.path.join(directory, "store.db")) as store:
        path = os.path.join(directory, "sites.yml")
        with open(path, "w") as handle:
            yaml.safe_dump({"sites": [site]}, handle)
        placement = Placement({"sites_file": path})
        # a name of its own: a cloud may be shared with other runs
        request = Request(template=TEMPLATE, parameters={"count": count},
                          name="bench-%s" % uuid.uuid4().hex, placement=placement, timeout=600,
                          tosca_options={"cache_dir": "", "mirror": corpus.mirror(ROOT)})
        engine = Engine(store)
        before = calls()
        start = time.perf_counter()
        try:
            deployment = engine.present(request)["deployment"]
            elapsed = time.perf_counter() - start
            made = calls() - before
        finally:
            engine.absent(request.uuid, placement=placement)
        if deployment["status"] != "CREATE_COMPLETE":
            raise SystemExit("%d VMs on %s: %s: %s" % (count, site["name"], deployment["status"],
                                                       deployment.get("statusReason")))
        return elapsed, made / count


def on_opennebula(count):
    with EmulatorServer(boot_seconds=BOOT, max_vms=None) as server:
        return provision(count, one_site(server.url),
                         lambda: sum(server.emulator.counters.values()))


def openstack_cloud():
    """The recorded OpenStack, or None."""
    try:
        with open(test_openstack.SERVICES_JSON) as handle:
            return json.load(handle).get("openstack")
    except (OSError, ValueError):
        return None


def free_instances(cloud, count):
    """Whether project demo has ``count`` instances free (its quota is shared with other
    tests), waiting up to BENCH_OPENSTACK_WAIT seconds for them; the number free."""
    deadline = time.monotonic() + float(os.environ.get("BENCH_OPENSTACK_WAIT", "600"))
    with test_openstack.connect(cloud) as conn:
        while True:
            absolute = conn.compute.get_limits().absolute
            free = absolute.instances - absolute.instances_used
            if free >= count or time.monotonic() > deadline:
                return free
            time.sleep(15)


def on_openstack(cloud, count):
    with contextlib.ExitStack() as stack:
        conn = stack.enter_context(test_openstack.connect(cloud))
        overrides, proxies = stack.enter_context(test_openstack_faults.proxied(conn))
        site = test_openstack.os_site("demo", cloud, flavor="m1.tiny")
        site["settings"].update(overrides)
        return provision(count, site, lambda: test_openstack_faults.requests(proxies))


def main():
    if ROOT is None:
        print("corpus absent: ../shared/corpus not found (INDIGO's types); nothing to measure")
        return 1
    one, one_calls = on_opennebula(1)
    many, many_calls = on_opennebula(MANY)
    print("boot %.1f s (emulated)" % BOOT)
    print("1 VM: %.2f s, %.1f API calls" % (one, one_calls))
    print("%d VMs: %.2f s, %.2f API calls per VM" % (MANY, many, many_calls))
    cloud = openstack_cloud()
    if cloud is None:
        print("openstack: not measured, no 'openstack' in %s (tests/tooling/services.sh start "
              "openstack)" % test_openstack.SERVICES_JSON)
    elif free_instances(cloud, OPENSTACK_MANY) < OPENSTACK_MANY:
        print("openstack: not measured, project demo has fewer than %d instances free (other "
              "tests hold the others)" % OPENSTACK_MANY)
    else:
        os_one, os_one_calls = on_openstack(cloud, 1)
        os_many, os_many_calls = on_openstack(cloud, OPENSTACK_MANY)
        print("openstack 1 VM: %.2f s, %.1f API calls" % (os_one, os_one_calls))
        print("openstack %d VMs: %.2f s, %.2f API calls per VM"
              % (OPENSTACK_MANY, os_many, os_many_calls))
        print("openstack ratio %.2f" % (os_many / os_one))
    print("ratio %.2f" % (many / one))
    return 0


if __name__ == "__main__":
    sys.exit(main())
