# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The OpenNebula driver through the engine, against the OpenNebula emulator (pyone over
XML-RPC on loopback): placement, creation, attributes, failover, delete by tag."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.paas.orchestrator.plugins.module_utils.engine import Engine, Request
from ansible_collections.paas.orchestrator.plugins.module_utils.placement import Placement
from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store
from ansible_collections.paas.orchestrator.tests.emulators.opennebula import EmulatorServer
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

ROOT = corpus.corpus_dir()
pytestmark = pytest.mark.skipif(ROOT is None, reason="corpus absent: INDIGO's types needed")

CLUSTER = """tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml
topology_template:
  inputs:
    workers: {type: integer, default: 2}
    removal: {type: list, entry_schema: {type: string}, default: []}
  node_templates:
    front:
      type: tosca.nodes.indigo.Compute
      capabilities:
        endpoint:
          properties:
            network_name: PUBLIC
            ports: {http: {protocol: tcp, source: 80}}
        host: {properties: {num_cpus: 1, mem_size: 1 GB}}
        os: {properties: {distribution: ubuntu, version: "22.04"}}
      requirements:
        - local_storage:
            node: scratch
            relationship: {type: tosca.relationships.AttachesTo, properties: {location: /data}}
    scratch:
      type: tosca.nodes.BlockStorage
      properties: {size: 10 GiB}
    worker:
      type: tosca.nodes.indigo.Compute
      capabilities:
        scalable: {properties: {count: {get_input: workers}, removal_list: {get_input: removal}}}
        host: {properties: {num_cpus: 1, mem_size: 1 GB}}
        os: {properties: {distribution: ubuntu, version: "22.04"}}
  outputs:
    front_ip: {value: {get_attribute: [front, public_address, 0]}}
"""


def one_site(name, server, **extra):
    return dict({"name": name, "type": "opennebula", "endpoint": server.url,
                 "iam_enabled": False,
                 "tenant": {"public_network_name": "public", "private_network_name": "private"},
                 "images": [{"image_id": "0", "image_name": "ubuntu-22.04",
                             "distribution": "ubuntu", "version": "22.04", "type": "linux"}],
                 "flavors": [{"flavor_id": "s", "flavor_name": "small", "num_vcpus": 1,
                              "ram": 2048, "disk": 10, "num_gpus": 0}],
                 "settings": {"username": "paas", "password": "paas-secret"}}, **extra)


def live_vms(server):
    """The emulator's VMs that are not DONE."""
    return [vm for vm in server.emulator.vms.values() if vm["state"] != 6]


@pytest.fixture
def store(tmp_path):
    with open_store(str(tmp_path / "store.db")) as opened:
        yield opened


def deploy(store, tmp_path, sites, **kwargs):
    path = tmp_path / "sites.yml"
    path.write_text(yaml.safe_dump({"sites": sites}))
    request = Request(template=CLUSTER, name="cluster", placement=Placement(
        {"sites_file": str(path)}), tosca_options={"cache_dir": "", "mirror": corpus.mirror(ROOT)},
        timeout=60, **kwargs)
    engine = Engine(store)
    return engine, request, engine.present(request)["deployment"]


def test_a_cluster_on_opennebula_then_deleted(store, tmp_path):
    with EmulatorServer() as server:
        engine, request, deployment = deploy(store, tmp_path, [one_site("one", server)])
        assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
        vms = [r for r in deployment["resources"] if r["metadata"]["kind"] == "vm"]
        assert sorted(r["metadata"]["key"] for r in vms) == ["front#0", "worker#0", "worker#1"]
        front = next(r for r in vms if r["toscaNodeName"] == "front")
        assert front["metadata"]["attributes"]["public_address"][0].startswith("198.51.100.")
        assert deployment["outputs"]["front_ip"] == \
            front["metadata"]["attributes"]["public_address"][0]
        workers = [r for r in vms if r["toscaNodeName"] == "worker"]
        assert all(not r["metadata"]["attributes"]["public_address"] for r in workers)
        # the attached volume is a volatile disk of the front end (10 GiB -> 11 GB -> MB)
        assert [v["size_mb"] for v in front["metadata"]["attributes"]["volumes"]] == ["11264"]
        assert all(not r["metadata"]["attributes"]["volumes"] for r in workers)
        assert server.emulator.counters.get("one.vm.allocate") == 3
        # the same deployment again: nothing new is allocated
        assert engine.present(request)["changed"] is False
        assert server.emulator.counters.get("one.vm.allocate") == 3
        assert len(live_vms(server)) == 3
        # the store keeps no password: the sources give it back
        engine.absent(request.uuid, timeout=30, placement=request.placement)
        assert store.get_deployment(request.uuid) is None
        assert live_vms(server) == []


def test_a_failing_site_moves_the_cluster_to_the_next(store, tmp_path):
    with EmulatorServer(fail_pattern=".*") as bad, EmulatorServer() as good:
        sites = [one_site("bad", bad), one_site("good", good)]
        _engine, _request, deployment = deploy(store, tmp_path, sites)
        assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
        assert deployment["cloudProviderName"] == "good"
        first, second = deployment["attempts"]
        assert first["site"] == "bad" and "failed" in first["error"]
        assert second["site"] == "good" and second["error"] is None


def test_wrong_credentials_are_a_provider_error(store, tmp_path):
    with EmulatorServer() as server:
        site = one_site("one", server, settings={"username": "paas", "password": "wrong"})
        _engine, _request, deployment = deploy(store, tmp_path, [site])
        assert deployment["status"] == "CREATE_FAILED"
        assert "refused the credentials" in deployment["statusReason"]
        assert "wrong" not in deployment["statusReason"]


def workers_of(deployment):
    return sorted((r["metadata"]["key"], r["uuid"]) for r in deployment["resources"]
                  if r["toscaNodeName"] == "worker")


def test_scale_out_then_in_with_a_removal_list(store, tmp_path):
    with EmulatorServer() as server:
        engine, request, deployment = deploy(store, tmp_path, [one_site("one", server)])
        assert [key for key, _uuid in workers_of(deployment)] == ["worker#0", "worker#1"]
        request.parameters = {"workers": 3}
        result = engine.present(request)
        deployment = result["deployment"]
        assert result["changed"] and deployment["status"] == "UPDATE_COMPLETE", \
            deployment.get("statusReason")
        assert [key for key, _uuid in workers_of(deployment)] == [
            "worker#0", "worker#1", "worker#2"]
        assert len(live_vms(server)) == 4
        first = dict(workers_of(deployment))["worker#0"]
        # down to one worker, removing worker#0 by its uuid (INDIGO's removal_list): the
        # newest other one goes too, worker#1 stays
        request.parameters = {"workers": 1, "removal": [first]}
        deployment = engine.present(request)["deployment"]
        assert deployment["status"] == "UPDATE_COMPLETE", deployment.get("statusReason")
        assert [key for key, _uuid in workers_of(deployment)] == ["worker#1"]
        names = sorted(vm["name"] for vm in live_vms(server))
        assert len(names) == 2 and any(name.endswith("-worker-1") for name in names)
        assert engine.present(request)["changed"] is False
        # scaling up again uses new indexes, never reusing a removed one's
        request.parameters = {"workers": 2, "removal": [first]}
        deployment = engine.present(request)["deployment"]
        assert [key for key, _uuid in workers_of(deployment)] == ["worker#1", "worker#3"]
        engine.absent(request.uuid, timeout=30, placement=request.placement)
        assert live_vms(server) == []


def test_an_update_while_in_progress_is_refused(store, tmp_path):
    with EmulatorServer(boot_seconds=30) as server:
        engine, request, deployment = deploy(store, tmp_path, [one_site("one", server)],
                                             wait=False)
        assert deployment["status"] == "CREATE_IN_PROGRESS"
        request.parameters = {"workers": 5}
        with pytest.raises(Exception, match="Cannot update a deployment in CREATE_IN_PROGRESS"):
            engine.present(request)
        engine.absent(request.uuid, timeout=30, placement=request.placement)


def test_the_cluster_comes_up_and_goes_through_a_flaky_api(store, tmp_path):
    """20% of the XML-RPC calls answered 5xx or 429, or their connection dropped (after
    OpenNebula acted, for some): the deployment completes, no VM is created twice, and the
    delete leaves none."""
    from ansible_collections.paas.orchestrator.tests.emulators.faultproxy import FaultProxy

    with EmulatorServer(boot_seconds=1) as server, \
            FaultProxy(server.url.rsplit("/", 1)[0], seed=1) as proxy:
        proxy.configure(rate=0.2, kinds=["error", "throttle", "drop"], retry_after=0,
                        forward_faulted=True)
        site = one_site("one", server, endpoint=proxy.url + "/RPC2")
        engine, request, deployment = deploy(store, tmp_path, [site])
        assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
        assert len(live_vms(server)) == 3
        counters = proxy.counters()
        assert sum(counters["faults"].values()) > 0, counters
        engine.absent(request.uuid, timeout=60, placement=request.placement)
        assert live_vms(server) == []


KILLED_RUN = """
import sys
from ansible_collections.paas.orchestrator.plugins.module_utils.engine import Engine, Request
from ansible_collections.paas.orchestrator.plugins.module_utils.placement import Placement
from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store

store_path, sites_path, mirror, template = sys.argv[1:5]
with open_store(store_path) as store:
    Engine(store).present(Request(template=template, name="cluster", parameters={"workers": 8},
                                  placement=Placement({"sites_file": sites_path}), timeout=300,
                                  tosca_options={"cache_dir": "", "mirror": mirror}))
"""


def test_a_run_killed_mid_create_leaves_nothing_after_delete(store, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    with EmulatorServer(boot_seconds=30) as server:
        sites = tmp_path / "sites.yml"
        sites.write_text(yaml.safe_dump({"sites": [one_site("one", server)]}))
        template = tmp_path / "cluster.yaml"
        template.write_text(CLUSTER)
        run = subprocess.Popen(
            [sys.executable, "-c", KILLED_RUN, str(tmp_path / "store.db"), str(sites),
             corpus.mirror(ROOT), str(template)],
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        deadline = time.monotonic() + 30
        while not live_vms(server):
            assert time.monotonic() < deadline, "the run created nothing"
            time.sleep(0.01)
        run.send_signal(signal.SIGKILL)
        run.wait()
        assert live_vms(server)  # it left VMs behind, booting
        engine = Engine(store)
        placement = Placement({"sites_file": str(sites)})
        assert engine.absent(Request(template=CLUSTER, name="cluster").uuid, timeout=60,
                             placement=placement)["deployment"] is None
        assert live_vms(server) == []
