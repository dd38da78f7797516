# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.template import Templar, trust_as_template

from ansible_collections.paas.orchestrator.plugins.module_utils.engine import uuid_for
from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store


def add_deployment(store, name, vms, status="CREATE_COMPLETE"):
    uuid = uuid_for(name)
    store.create_deployment({"uuid": uuid, "status": status, "template": "t",
                             "metadata": {"name": name}})
    for node, index, attributes in vms:
        store.add_resource(uuid, {
            "toscaNodeName": node, "toscaNodeType": "tosca.nodes.indigo.Compute",
            "state": "STARTED", "idempotency_key": "%s#%d" % (node, index), "site": "cloud-a",
            "physicalId": "vm-%s-%d" % (node, index),
            "metadata": {"key": "%s#%d" % (node, index), "kind": "vm",
                         "attributes": attributes}})
    store.add_resource(uuid, {"toscaNodeName": "lrms", "toscaNodeType": "x.Software",
                              "state": "STARTED", "idempotency_key": "lrms#0",
                              "metadata": {"key": "lrms#0", "kind": "software"}})
    return uuid


@pytest.fixture
def store_path(tmp_path):
    path = str(tmp_path / "store.db")
    with open_store(path) as store:
        add_deployment(store, "cluster", [
            ("front", 0, {"public_address": ["192.0.2.10"], "private_address": ["10.0.0.2"]}),
            ("worker", 0, {"private_address": ["10.0.0.3"], "note": "{{ lookup('pipe','id') }}"}),
            ("worker", 1, {"private_address": ["10.0.0.4"]}),
        ])
        add_deployment(store, "other", [("vm", 0, {"private_address": ["10.1.0.2"]})])
        add_deployment(store, "broken", [("vm", 0, {})], status="CREATE_FAILED")
    return path


def parse(tmp_path, config):
    path = tmp_path / "test.deployments.yml"
    path.write_text(config)
    inventory = InventoryData()
    plugin = inventory_loader.get("paas.orchestrator.deployments")
    assert plugin.verify_file(str(path))
    plugin.parse(inventory, DataLoader(), str(path), cache=False)
    return inventory


def test_hosts_groups_and_variables(tmp_path, store_path):
    inventory = parse(tmp_path, """plugin: paas.orchestrator.deployments
store: %s
keyed_groups:
  - key: paas_node_type
    prefix: type
compose:
  role: "'head' if paas_node_name == 'front' else 'worker'"
""" % store_path)
    assert sorted(inventory.hosts) == ["cluster-front-0", "cluster-worker-0", "cluster-worker-1",
                                       "other-vm-0"]
    front = inventory.get_host("cluster-front-0").get_vars()
    assert front["ansible_host"] == "192.0.2.10"
    assert front["paas_resource"]["physicalId"] == "vm-front-0"
    assert front["paas_deployment_uuid"] == uuid_for("cluster")
    assert front["role"] == "head"
    assert inventory.get_host("cluster-worker-1").get_vars()["ansible_host"] == "10.0.0.4"
    groups = inventory.groups
    assert sorted(h.name for h in groups["paas_deployment_cluster"].get_hosts()) == [
        "cluster-front-0", "cluster-worker-0", "cluster-worker-1"]
    assert sorted(h.name for h in groups["paas_node_worker"].get_hosts()) == [
        "cluster-worker-0", "cluster-worker-1"]
    assert len(groups["paas_site_cloud_a"].get_hosts()) == 4
    assert len(groups["type_tosca_nodes_indigo_Compute"].get_hosts()) == 4
    # data from the store is never evaluated as a template
    variables = inventory.get_host("cluster-worker-0").get_vars()
    templar = Templar(loader=DataLoader(), variables=variables)
    assert templar.template(trust_as_template("{{ paas_attributes.note }}")) == \
        "{{ lookup('pipe','id') }}"


def test_filters(tmp_path, store_path):
    inventory = parse(tmp_path, "plugin: paas.orchestrator.deployments\nstore: %s\n"
                                "deployments: [other]\n" % store_path)
    assert sorted(inventory.hosts) == ["other-vm-0"]
    inventory = parse(tmp_path, "plugin: paas.orchestrator.deployments\nstore: %s\n"
                                "statuses: [CREATE_FAILED]\n" % store_path)
    assert sorted(inventory.hosts) == ["broken-vm-0"]
    assert "ansible_host" not in inventory.get_host("broken-vm-0").get_vars()


def test_bad_store(tmp_path):
    with pytest.raises(AnsibleParserError, match="mysql"):
        parse(tmp_path, "plugin: paas.orchestrator.deployments\nstore: mysql://nowhere\n")


def test_other_file_names_are_not_ours(tmp_path):
    path = tmp_path / "hosts.yml"
    path.write_text("plugin: paas.orchestrator.deployments\n")
    assert not inventory_loader.get("paas.orchestrator.deployments").verify_file(str(path))
