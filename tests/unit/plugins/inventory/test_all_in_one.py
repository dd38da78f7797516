# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""All-in-one local site: a cluster template's Compute nodes are this machine, and the
inventory reaches them without SSH."""

from __future__ import annotations

import os

import pytest
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

from ansible_collections.paas.orchestrator.plugins.module_utils.engine import (
    Engine,
    Request,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

CLUSTER = """tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml
topology_template:
  inputs:
    workers: {type: integer, default: 2}
    max_workers: {type: integer, default: 4}
  node_templates:
    lrms_front:
      type: tosca.nodes.indigo.LRMS.FrontEnd.Slurm
      properties: {wn_num: {get_input: max_workers}}
      requirements: [{host: front}]
    lrms_worker:
      type: tosca.nodes.indigo.LRMS.WorkerNode.Slurm
      properties: {front_end_ip: {get_attribute: [front, private_address, 0]}}
      requirements: [{host: worker}]
    front:
      type: tosca.nodes.indigo.Compute
      capabilities:
        endpoint: {properties: {network_name: PUBLIC}}
        host: {properties: {num_cpus: 1, mem_size: 1 GB}}
    worker:
      type: tosca.nodes.indigo.Compute
      capabilities:
        scalable: {properties: {count: {get_input: workers}}}
        host: {properties: {num_cpus: 1, mem_size: 1 GB}}
  outputs:
    front_ip: {value: {get_attribute: [front, private_address, 0]}}
"""


@pytest.fixture
def store_path(tmp_path):
    return str(tmp_path / "store.db")


def deploy(store_path, site, workers, wn_num=4):
    with open_store(store_path) as store:
        return Engine(store).present(Request(
            name="aio", template=CLUSTER, parameters={"workers": workers, "max_workers": wn_num},
            sites=[site],
            timeout=60, tosca_options={"cache_dir": "", "mirror": corpus.mirror(
                corpus.corpus_dir())}))


def inventory_of(tmp_path, store_path):
    config = tmp_path / "aio.deployments.yml"
    config.write_text("plugin: paas.orchestrator.deployments\nstore: %s\n" % store_path)
    inventory = InventoryData()
    inventory_loader.get("paas.orchestrator.deployments").parse(
        inventory, DataLoader(), str(config), cache=False)
    return inventory


def test_a_cluster_lands_on_this_machine_and_scales(tmp_path, store_path):
    site = {"name": "here", "type": "local", "all_in_one": True, "workdir": str(tmp_path / "w")}
    result = deploy(store_path, site, 2)
    deployment = result["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment["statusReason"]
    assert deployment["outputs"] == {"front_ip": "127.0.0.1"}

    inventory = inventory_of(tmp_path, store_path)
    hosts = sorted(inventory.groups["paas_deployment_aio"].get_hosts(), key=str)
    assert [str(host) for host in hosts] == ["aio-front-0", "aio-worker-0", "aio-worker-1"]
    for host in hosts:
        assert host.vars["ansible_connection"] == "local"
        assert host.vars["ansible_host"] == "127.0.0.1"
        assert os.access(host.vars["ansible_python_interpreter"], os.X_OK)
    assert hosts[0].vars["paas_roles"] == ["slurm"]
    # the roles' variables from the software nodes (tosca/roles.py)
    assert hosts[0].vars["slurm_role"] == "controller"
    assert hosts[0].vars["slurm_max_workers"] == 4
    assert hosts[1].vars["slurm_role"] == "worker"
    assert "slurm_max_workers" not in hosts[1].vars

    # scale in, and change a software property: the kept front end gets the new value
    assert deploy(store_path, site, 1, wn_num=8)["deployment"]["status"] == "UPDATE_COMPLETE"
    groups = inventory_of(tmp_path, store_path).groups
    assert [str(host) for host in groups["paas_node_worker"].get_hosts()] == ["aio-worker-0"]
    assert groups["paas_node_front"].get_hosts()[0].vars["slurm_max_workers"] == 8
    vms = os.listdir(tmp_path / "w" / deployment["uuid"] / "vms")
    assert len(vms) == 2

    with open_store(store_path) as store:
        Engine(store).absent(deployment["uuid"], sites=[site], timeout=30)
    assert not (tmp_path / "w" / deployment["uuid"]).exists()


def test_all_in_one_must_be_a_boolean(tmp_path, store_path):
    site = {"name": "here", "type": "local", "all_in_one": "yes", "workdir": str(tmp_path)}
    with pytest.raises(Exception, match="site 'here': all_in_one must be true or false"):
        deploy(store_path, site, 1)
