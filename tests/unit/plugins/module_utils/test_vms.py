# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import glob
import json
import os

import pytest
import yaml

from ansible_collections.paas.orchestrator.plugins.module_utils import plan as planning
from ansible_collections.paas.orchestrator.plugins.module_utils import vms
from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import matching
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

ROOT = corpus.corpus_dir()
# Every template here imports INDIGO's types, read from the corpus mirror.
pytestmark = pytest.mark.skipif(ROOT is None, reason="corpus absent: ../shared/corpus not found")

UUID = "0A1B2C3D-4e5f-4789-abcd-ef0123456789"
IMAGES = [
    {"image_id": "c7", "image_name": "centos-7", "type": "linux", "distribution": "centos",
     "version": "7", "user_name": "centos"},
    {"image_id": "u22", "image_name": "ubuntu-22.04", "type": "linux", "distribution": "ubuntu",
     "version": "22.04", "architecture": "x86_64", "user_name": "ubuntu"},
    {"image_id": "u16", "image_name": "ubuntu-16.04", "type": "linux", "distribution": "ubuntu",
     "version": "16.04", "user_name": "ubuntu"},
]
FLAVORS = [
    {"flavor_id": "4", "flavor_name": "m1.large", "num_vcpus": 4, "ram": 8192, "disk": 80,
     "num_gpus": 0},
    {"flavor_id": "1", "flavor_name": "m1.small", "num_vcpus": 1, "ram": 2048, "disk": 20,
     "num_gpus": 0},
    {"flavor_id": "3", "flavor_name": "m1.medium", "num_vcpus": 2, "ram": 4096, "disk": 40,
     "num_gpus": 0},
]
VOLUME_TYPES = [{"name": "fast-ssd", "qos": "ssd"}]
TENANT = {"tenant_name": "demo", "public_network_name": "ext-net",
          "private_network_name": "demo-net", "private_network_cidr": "10.10.0.0/24"}

CLUSTER = """tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml
topology_template:
  inputs:
    workers: {type: integer, default: 2}
  node_templates:
    front_end:
      type: tosca.nodes.indigo.Compute
      properties:
        tags: {project: demo, paas_node: mine}
        os_users:
          - {os_user_name: alice, os_user_ssh_public_key: "ssh-ed25519 AAAAC3 alice@lab",
             os_user_add_to_sudoers: true}
          - {os_user_name: bob, os_user_guid: 1500}
      capabilities:
        endpoint:
          properties:
            network_name: PUBLIC
            dns_name: frontend
            ports:
              https: {protocol: tcp, source: 443}
              dns: {protocol: udp, source: 53, remote_cidr: 10.0.0.0/8}
              passive: {protocol: tcp, source_range: [30000, 30009]}
              ssh: {protocol: tcp, source: 22}
        host:
          properties: {num_cpus: 2, mem_size: 4 GB, disk_size: 20 GB}
        os:
          properties:
            distribution: ubuntu
            version: "22.04"
            credential: {user: cloudadm, token: "ssh-rsa AAAAB3 admin@lab",
                         token_type: public_key}
      requirements:
        - local_storage:
            node: data
            relationship:
              type: tosca.relationships.AttachesTo
              properties: {location: /data, device: vdb}
    data:
      type: tosca.nodes.indigo.BlockStorage
      properties: {size: 100 GB, type: ssd}
    worker:
      type: tosca.nodes.indigo.Compute
      capabilities:
        scalable:
          properties: {count: {get_input: workers}}
        endpoint:
          properties: {dns_name: "wn-#N#"}
        host:
          properties: {instance_type: m1.large}
        os:
          properties: {image: "one://one.example.org/42"}
      requirements:
        - local_storage:
            node: scratch
            relationship:
              type: tosca.relationships.AttachesTo
              properties: {location: /scratch}
    scratch:
      type: tosca.nodes.BlockStorage
      properties: {size: 40 GiB}
"""


def topology_of(text, params=None):
    if not text.startswith("tosca_definitions_version"):
        text = os.path.join(ROOT, "templates", text)
        params = corpus.parameters(text) if params is None else params
    return load(text, params or {}, mirror=corpus.mirror(ROOT), cache_dir="")


def placed_site(topology, images=None, flavors=None):
    """A ranked site as placement.sites_of gives it, with what the ranker's matching picks."""
    placement = {"images": {}, "flavors": {}, "volume_types": {}}
    for node in topology.nodes_of_kind(kinds.VM):
        image = matching.match_image(matching.image_requirement(node), images or IMAGES)
        flavor = matching.match_flavor(matching.flavor_requirement(node),
                                       matching.sort_flavors(flavors or FLAVORS))
        if image is not None:
            placement["images"][node.name] = image
        if flavor is not None:
            placement["flavors"][node.name] = flavor
    for node in topology.nodes.values():
        if vms.is_volume(node) and node.properties.get("type"):
            placement["volume_types"][node.name] = matching.match_volume_type(
                node.properties["type"], VOLUME_TYPES)
    return {"name": "cnaf-openstack", "type": "openstack", "tenant": dict(TENANT),
            "placement": placement}


def specs(text, params=None, site=None, kind=kinds.VM):
    topology = topology_of(text, params)
    plan = planning.build(topology)
    site = placed_site(topology) if site is None else site
    build = {kinds.VM: vms.vm_spec, kinds.STORAGE: vms.volume_spec,
             kinds.NETWORK: vms.network_spec}[kind]
    return {resource.key: build(plan, resource, site, UUID)
            for resource in plan.resources if resource.kind == kind}


def ours(key, node):
    return {"paas_deployment": UUID, "paas_key": key, "paas_node": node, "PAAS_DEP_UUID": UUID}


FRONT_END_USER_DATA = """#cloud-config
hostname: "frontend"
users:
  - default
  - name: "alice"
    shell: /bin/bash
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    ssh_authorized_keys:
      - "ssh-ed25519 AAAAC3 alice@lab"
  - name: "bob"
    shell: /bin/bash
    uid: 1500
  - name: "cloudadm"
    shell: /bin/bash
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    ssh_authorized_keys:
      - "ssh-rsa AAAAB3 admin@lab"
"""


def test_front_end_with_public_ip_ports_volume_users_and_tags():
    spec = specs(CLUSTER)["front_end#0"]
    assert spec == {
        "key": "front_end#0",
        "node": "front_end",
        "index": 0,
        "name": "0a1b2c3d-front-end-0",
        "image": {"image_id": "u22", "image_name": "ubuntu-22.04", "user_name": "ubuntu"},
        # the smallest that fits 2 CPUs, 4 GB (4000 MB) and 20 GB
        "flavor": {"flavor_id": "3", "flavor_name": "m1.medium", "num_vcpus": 2, "ram": 4096,
                   "disk": 40},
        "num_cpus": 2,
        "mem_mb": 4000,
        "disk_gb": 20,
        "num_gpus": 0,
        "public_ip": True,
        "security_rules": [
            {"protocol": "tcp", "port": 22, "remote_cidr": "0.0.0.0/0"},
            {"protocol": "tcp", "port": 443, "remote_cidr": "0.0.0.0/0"},
            {"protocol": "udp", "port": 53, "remote_cidr": "10.0.0.0/8"},
            {"protocol": "tcp", "port": [30000, 30009], "remote_cidr": "0.0.0.0/0"},
        ],
        "networks": [
            {"node": None, "port": None, "network_type": "private", "network_name": "demo-net",
             "order": 0, "ip_address": None},
            {"node": None, "port": None, "network_type": "public", "network_name": "ext-net",
             "order": 1, "ip_address": None},
        ],
        "users": [
            {"name": "alice", "ssh_keys": ["ssh-ed25519 AAAAC3 alice@lab"], "sudo": True,
             "uid": None},
            {"name": "bob", "ssh_keys": [], "sudo": False, "uid": 1500},
            {"name": "cloudadm", "ssh_keys": ["ssh-rsa AAAAB3 admin@lab"], "sudo": True,
             "uid": None},
        ],
        "user_data": FRONT_END_USER_DATA,
        "volumes": [{"key": "data#0", "name": "0a1b2c3d-data-0", "size_gb": 100,
                     "type": "fast-ssd", "device": "vdb", "location": "/data"}],
        # ours win over the template's paas_node
        "tags": dict({"project": "demo"}, **ours("front_end#0", "front_end")),
        "hostname": "frontend",
    }
    assert json.loads(json.dumps(spec)) == spec


def test_user_data_is_the_cloud_config_of_those_users():
    spec = specs(CLUSTER)["front_end#0"]
    assert spec["user_data"].startswith("#cloud-config\n")
    assert yaml.safe_load(spec["user_data"]) == {
        "hostname": "frontend",
        "users": ["default",
                  {"name": "alice", "shell": "/bin/bash", "sudo": vms.SUDO,
                   "ssh_authorized_keys": ["ssh-ed25519 AAAAC3 alice@lab"]},
                  {"name": "bob", "shell": "/bin/bash", "uid": 1500},
                  {"name": "cloudadm", "shell": "/bin/bash", "sudo": vms.SUDO,
                   "ssh_authorized_keys": ["ssh-rsa AAAAB3 admin@lab"]}]}
    assert specs(CLUSTER)["front_end#0"]["user_data"] == spec["user_data"]  # deterministic


def test_two_workers_each_with_its_own_volume():
    workers = specs(CLUSTER)
    assert sorted(workers) == ["front_end#0", "worker#0", "worker#1"]
    for index in (0, 1):
        spec = workers["worker#%d" % index]
        assert spec["name"] == "0a1b2c3d-worker-%d" % index
        assert spec["hostname"] == "wn-%d" % index  # the IM's '#N#'
        assert spec["image"] == {"image_id": "one://one.example.org/42",
                                 "image_name": "one://one.example.org/42", "user_name": None}
        # named by instance_type; the sizes are the flavor's, the template asks none
        assert spec["flavor"] == {"flavor_id": "4", "flavor_name": "m1.large", "num_vcpus": 4,
                                  "ram": 8192, "disk": 80}
        assert (spec["num_cpus"], spec["mem_mb"], spec["disk_gb"]) == (4, 8192, 80)
        assert spec["public_ip"] is False
        assert spec["networks"] == [{"node": None, "port": None, "network_type": "private",
                                     "network_name": "demo-net", "order": 0, "ip_address": None}]
        assert spec["security_rules"] == [vms.SSH_RULE]
        assert spec["users"] == []
        # 40 GiB = 42949 MB: 43 GB, never less than asked
        assert spec["volumes"] == [{"key": "scratch#%d" % index,
                                    "name": "0a1b2c3d-scratch-%d" % index, "size_gb": 43,
                                    "type": None, "device": None, "location": "/scratch"}]
        assert spec["tags"] == ours("worker#%d" % index, "worker")


def test_scaled_count_gives_one_spec_per_instance():
    workers = specs(CLUSTER, {"workers": 3})
    assert [key for key in workers if key.startswith("worker")] == [
        "worker#0", "worker#1", "worker#2"]
    assert [workers["worker#%d" % i]["name"] for i in range(3)] == [
        "0a1b2c3d-worker-0", "0a1b2c3d-worker-1", "0a1b2c3d-worker-2"]
    assert not [key for key in specs(CLUSTER, {"workers": 0}) if key.startswith("worker")]


def test_volume_spec_matches_the_vm_view():
    volumes = specs(CLUSTER, kind=kinds.STORAGE)
    assert volumes == {
        "data#0": {"key": "data#0", "node": "data", "index": 0, "name": "0a1b2c3d-data-0",
                   "size_gb": 100, "type": "fast-ssd", "tags": ours("data#0", "data")},
        # the plan has one scratch instance; worker#1's scratch#1 is described in its VM spec
        "scratch#0": {"key": "scratch#0", "node": "scratch", "index": 0,
                      "name": "0a1b2c3d-scratch-0", "size_gb": 43, "type": None,
                      "tags": ours("scratch#0", "scratch")},
    }
    site = placed_site(topology_of(CLUSTER))
    site["placement"]["volume_types"] = {}
    assert specs(CLUSTER, site=site, kind=kinds.STORAGE)["data#0"]["type"] == "ssd"


def test_instance_type_without_a_placed_flavor():
    site = placed_site(topology_of(CLUSTER))
    del site["placement"]["flavors"]["worker"]
    spec = specs(CLUSTER, site=site)["worker#0"]
    assert spec["flavor"] == {"flavor_id": None, "flavor_name": "m1.large", "num_vcpus": None,
                              "ram": None, "disk": None}
    assert (spec["num_cpus"], spec["mem_mb"], spec["disk_gb"]) == (None, None, None)


def test_without_placement_only_an_image_uri_will_do():
    bare = {"name": "pinned", "type": "opennebula"}
    with pytest.raises(ToscaError, match="No image for VM 'front_end' on site 'pinned'") as exc:
        specs(CLUSTER, site=bare)
    assert (exc.value.node, exc.value.prop) == ("front_end", "os.image")
    worker = specs(CLUSTER, site=dict(bare, placement={"images": {"front_end": IMAGES[1]}}))[
        "worker#0"]
    assert worker["image"]["image_id"] == "one://one.example.org/42"
    assert worker["networks"][0]["network_name"] is None  # no tenant: the driver's default


@pytest.mark.parametrize("uuid, node, index, name", [
    ("0A1B2C3D-x", "Front_End", 0, "0a1b2c3d-front-end-0"),
    ("abcdef01-x", "mesos-master-server", 12, "abcdef01-mesos-master-server-12"),
    ("abcdef01-x", "__", 3, "abcdef01-3"),
    ("abcdef01-x", "n" * 80, 7, "abcdef01-" + "n" * 52 + "-7"),
])
def test_resource_names_are_one_dns_label(uuid, node, index, name):
    assert vms.resource_name(uuid, node, index) == name
    assert len(name) <= 63


@pytest.mark.parametrize("network_name, public_ip, private_name", [
    ("PUBLIC", True, "demo-net"),
    ("PRIVATE", False, "demo-net"),
    ("private_net", False, "private_net"),
    ("vpc-XX.subnet-XX.PUBLIC", True, "vpc-XX.subnet-XX"),
    ("40d681b7.PRIVATE", False, "40d681b7"),
])
def test_endpoint_network_name_read_as_the_im_reads_it(network_name, public_ip, private_name):
    text = CLUSTER.replace("network_name: PUBLIC", "network_name: %s" % network_name)
    spec = specs(text)["front_end#0"]
    assert spec["public_ip"] is public_ip
    assert spec["networks"][0]["network_name"] == private_name
    assert [net["network_type"] for net in spec["networks"]] == (
        ["private", "public"] if public_ip else ["private"])


def test_password_credential_is_never_copied():
    spec = specs("tosca-types/examples/node_with_image.yaml", site=placed_site(
        topology_of("tosca-types/examples/node_with_image.yaml"), images=IMAGES[:1]))[
        "simple_node#0"]
    assert "c@r0nt3" not in json.dumps(spec)
    assert spec["users"] == []
    assert spec["image"] == {"image_id": "c7", "image_name": "centos-7", "user_name": "centos"}
    without_user = [dict(IMAGES[0], user_name=None)]
    spec = specs("tosca-types/examples/node_with_image.yaml", site=placed_site(
        topology_of("tosca-types/examples/node_with_image.yaml"), images=without_user))[
        "simple_node#0"]
    assert spec["image"]["user_name"] == "root"  # the credential's, when the CMDB has none


def test_credential_user_defaults_to_the_image_user():
    text = CLUSTER.replace("credential: {user: cloudadm, ", "credential: {")
    users = specs(text)["front_end#0"]["users"]
    assert users[-1] == {"name": "ubuntu", "ssh_keys": ["ssh-rsa AAAAB3 admin@lab"],
                         "sudo": True, "uid": None}


def test_same_user_twice_is_merged():
    text = CLUSTER.replace("user: cloudadm", "user: alice")
    users = specs(text)["front_end#0"]["users"]
    assert users[0] == {"name": "alice", "sudo": True, "uid": None,
                        "ssh_keys": ["ssh-ed25519 AAAAC3 alice@lab", "ssh-rsa AAAAB3 admin@lab"]}
    assert [user["name"] for user in users] == ["alice", "bob"]


# -- corpus templates ------------------------------------------------------------------------

def test_web_mysql_volume_and_ports():
    vm_specs = specs("tosca-types/examples/web_mysql_tosca.yaml")
    web, db = vm_specs["web_server#0"], vm_specs["db_server#0"]
    assert web["public_ip"] is True
    assert web["security_rules"] == [vms.SSH_RULE,
                                     {"protocol": "tcp", "port": 80, "remote_cidr": "0.0.0.0/0"},
                                     {"protocol": "tcp", "port": 443, "remote_cidr": "0.0.0.0/0"}]
    assert web["volumes"] == []
    assert db["public_ip"] is False
    assert db["image"]["image_id"] == "u22"  # ubuntu, x86_64
    assert (db["mem_mb"], db["disk_gb"]) == (4000, 10)
    assert db["volumes"] == [{"key": "my_block_storage#0", "name": "0a1b2c3d-my-block-storage-0",
                              "size_gb": 1, "type": None, "device": "hdb",
                              "location": "/mnt/disk"}]


def test_compute_tosca_sizes():
    spec = specs("orchestrator/src/test/resources/tosca/compute_tosca.yaml",
                 {"cpus": 4})["my_server#0"]
    assert (spec["num_cpus"], spec["mem_mb"], spec["disk_gb"]) == (4, 2048, 10)
    assert spec["flavor"]["flavor_name"] == "m1.large"
    assert spec["image"]["image_id"] == "c7"  # no requirement: the first image
    assert spec["public_ip"] is False  # tosca.nodes.Compute: endpoint PRIVATE


def test_mesos_cluster_port_range_and_slaves():
    vm_specs = specs("tosca-templates/mesos_cluster.yaml")
    assert sorted(vm_specs) == ["mesos_lb_server#0", "mesos_master_server#0",
                                "mesos_slave_server#0", "mesos_slave_server#1"]
    assert vm_specs["mesos_lb_server#0"]["security_rules"] == [
        vms.SSH_RULE, {"protocol": "tcp", "port": [1, 65535], "remote_cidr": "0.0.0.0/0"}]
    assert vm_specs["mesos_slave_server#1"]["name"] == "0a1b2c3d-mesos-slave-server-1"


def test_galaxy_elastic_cluster_worker_on_a_named_network():
    path = "tosca-types/examples/galaxy_elastic_cluster_elixir_it.yaml"
    params = dict(corpus.parameters(os.path.join(ROOT, "templates", path)), wn_num_min=1)
    flavors = FLAVORS + [{"flavor_id": "9", "flavor_name": "medium", "num_vcpus": 2,
                          "ram": 4096, "disk": 20}]
    images = [{"image_id": "g1", "image_name": "centos-7-galaxy-base", "user_name": "centos"}]
    topology = topology_of(path, params)
    plan = planning.build(topology)
    site = placed_site(topology, images=images, flavors=flavors)
    worker = vms.vm_spec(plan, plan.by_key["lrms_wn#0"], site, UUID)
    assert worker["networks"] == [{"node": None, "port": None, "network_type": "private",
                                   "network_name": "private_net", "order": 0,
                                   "ip_address": None}]
    assert worker["flavor"]["flavor_name"] == "medium"
    assert worker["image"] == {"image_id": "g1", "image_name": "centos-7-galaxy-base",
                               "user_name": "centos"}
    assert worker["volumes"] == []


def test_galaxy_front_end_volume_location_from_an_input():
    path = "tosca-types/examples/galaxy_elastic_cluster_elixir_it.yaml"
    params = dict(corpus.parameters(os.path.join(ROOT, "templates", path)), export_dir="/export")
    images = [{"image_id": "g1", "image_name": "centos-7-galaxy-base"}]
    spec = specs(path, params, site=placed_site(topology_of(path, params), images=images))[
        "lrms_server#0"]
    assert spec["volumes"][0]["location"] == "/export"
    assert spec["security_rules"][-1] == {"protocol": "tcp", "port": [30000, 30009],
                                          "remote_cidr": "0.0.0.0/0"}


def test_cms_xcache_volume_in_gib():
    volumes = specs("tosca-templates/dodas/CMS-XCache-mesos.yaml")[
        "mesos-cache-server#0"]["volumes"]
    assert volumes == [{"key": "xrootd_block_storage#0",
                        "name": "0a1b2c3d-xrootd-block-storage-0", "size_gb": 43, "type": None,
                        "device": "hdb", "location": "/data/xrd"}]


HYBRID = "orchestrator/src/test/resources/tosca/tosca_hybrid_before_update.yaml"


def test_ports_decide_the_networks_of_their_vm():
    assert vms.deployment_networks(topology_of(HYBRID)) == {
        "fe_server": [
            {"port": "fe_priv_port", "network": "priv_network", "order": 0, "ip_address": None},
            {"port": "fe_pub_port", "network": "pub_network", "order": 1, "ip_address": None}],
        "wn_server": [
            {"port": "wn_priv_port", "network": "priv_network", "order": 0, "ip_address": None}],
    }
    vm_specs = specs(HYBRID)
    front = vm_specs["fe_server#0"]
    assert front["public_ip"] is True  # its endpoint says PRIVATE: the public port decides
    assert front["networks"] == [
        {"node": "priv_network", "port": "fe_priv_port", "network_type": "private",
         "network_name": "demo-net", "order": 0, "ip_address": None},
        {"node": "pub_network", "port": "fe_pub_port", "network_type": "public",
         "network_name": "ext-net", "order": 1, "ip_address": None}]
    assert vm_specs["wn_server#0"]["public_ip"] is False


def test_network_and_port_specs():
    network_specs = specs(HYBRID, kind=kinds.NETWORK)
    assert network_specs["pub_network#0"] == {
        "key": "pub_network#0", "node": "pub_network", "index": 0,
        "name": "0a1b2c3d-pub-network-0", "role": "network", "network_type": "public",
        "network_name": "ext-net", "create": False, "cidr": None, "ip_version": 4,
        "tags": ours("pub_network#0", "pub_network")}
    assert network_specs["fe_pub_port#0"] == {
        "key": "fe_pub_port#0", "node": "fe_pub_port", "index": 0,
        "name": "0a1b2c3d-fe-pub-port-0", "role": "port", "vm": "fe_server",
        "network": "pub_network", "order": 1, "ip_address": None,
        "tags": ours("fe_pub_port#0", "fe_pub_port")}


def test_isolated_network_is_created_and_named_by_the_deployment():
    path = "orchestrator/src/test/resources/tosca/tosca_hybrid_before_create1.yaml"
    network = specs(path, kind=kinds.NETWORK)["priv_network#0"]
    assert (network["network_type"], network["create"]) == ("isolated", True)
    assert network["network_name"] == "0a1b2c3d-priv-network-0"
    assert network["cidr"] == "10.10.0.0/24"  # the tenant's


def test_named_public_network_and_im_image_uri():
    path = "tosca-types/examples/hybrid_elastic_cluster_vr_l2.yaml"
    server = specs(path)["lrms_server#0"]
    assert server["image"]["image_id"] == \
        "ost://identity.cloud.muni.cz/2a5bbbf5-c135-4cd8-896e-8690fb82a7e9"
    assert [(net["node"], net["network_name"]) for net in server["networks"]] == [
        ("network1", "demo-net"), ("pub_network", "public-muni-147-251-124-GROUP")]
    assert server["security_rules"][1] == {"protocol": "udp", "port": 1194,
                                           "remote_cidr": "0.0.0.0/0"}
    assert specs(path, kind=kinds.NETWORK)["network1#0"]["cidr"] == "192.168.10.0/24"


def test_every_corpus_resource_gets_a_json_spec():
    """Every VM, volume and network of every corpus template that loads, on a site offering
    one generic image and flavor."""
    built = 0
    for path in sorted(glob.glob(os.path.join(ROOT, "templates", "**", "*.y*ml"),
                                 recursive=True)):
        try:
            topology = topology_of(path[len(os.path.join(ROOT, "templates")) + 1:])
        except ToscaError:
            continue  # templates the intake refuses (tested in tosca/test_corpus.py)
        plan = planning.build(topology)
        site = placed_site(topology, images=IMAGES[:1], flavors=FLAVORS[:1])
        site["placement"]["images"] = {node.name: IMAGES[0]
                                       for node in topology.nodes_of_kind(kinds.VM)}
        for resource in plan.resources:
            if resource.kind == kinds.VM:
                build = vms.vm_spec
            elif resource.kind == kinds.NETWORK:
                build = vms.network_spec
            elif resource.kind == kinds.STORAGE \
                    and vms.is_volume(topology.nodes[resource.node]):
                build = vms.volume_spec
            else:
                continue
            spec = build(plan, resource, site, UUID)
            assert json.loads(json.dumps(spec)) == spec, (path, resource.key)
            built += 1
    assert built > 80


# -- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, node, prop, message", [
    ("source: 443", "source: {get_input: https}", "front_end", "endpoint.ports.https",
     "'https' is not a port number"),
    ("source: 443", "source: {get_input: zero}", "front_end", "endpoint.ports.https",
     "0 is not a port number"),
    ("https: {protocol: tcp, source: 443}", "https: {protocol: tcp}", "front_end",
     "endpoint.ports.https", "has no source or source_range"),
    ("remote_cidr: 10.0.0.0/8", "remote_cidr: lab", "front_end", "endpoint.ports.dns",
     "remote_cidr 'lab' is not a CIDR"),
    ("os_user_name: bob", "os_user_name: Bob Smith", "front_end", "os_users[1]",
     "'Bob Smith' is not a user name"),
    ('os_user_ssh_public_key: "ssh-ed25519 AAAAC3 alice@lab"',
     'os_user_ssh_public_key: "ssh-ed25519 AAAAC3\\nssh-rsa other"', "front_end",
     "os_users[0]", "an SSH public key is one line"),
    ("dns_name: frontend", "dns_name: {get_attribute: [worker, public_address, 0]}",
     "front_end", "endpoint.dns_name", "uses get_attribute"),
    ("num_cpus: 2,", "num_cpus: {get_attribute: [worker, public_address, 0]},", "front_end",
     "host.num_cpus", "uses get_attribute"),
    ("tags: {project: demo,", "tags: {project: {get_attribute: [worker, public_address, 0]},",
     "front_end", "tags", "uses get_attribute"),
    ("location: /data,", "location: {get_attribute: [worker, public_address, 0]},",
     "front_end", "local_storage.location", "uses get_attribute"),
    ("size: 100 GB, type: ssd", "size: 100 GB, type: {get_attribute: [worker, public_address]}",
     "data", "type", "uses get_attribute"),
])
def test_errors_name_the_node_and_property(old, new, node, prop, message):
    assert old in CLUSTER
    text = CLUSTER.replace(old, new).replace(
        "  inputs:\n", "  inputs:\n    https: {type: string, default: https}\n"
        "    zero: {type: integer, default: 0}\n")
    with pytest.raises(ToscaError, match=message) as exc:
        specs(text)
    assert (exc.value.node, exc.value.prop) == (node, prop)


def test_get_attribute_in_the_image_is_refused():
    text = CLUSTER.replace('image: "one://one.example.org/42"',
                           "image: {get_attribute: [front_end, public_address, 0]}")
    with pytest.raises(ToscaError, match="Property 'os.image' of VM 'worker' uses "
                                         "get_attribute") as exc:
        specs(text)
    assert (exc.value.node, exc.value.prop) == ("worker", "os.image")


# A BlockStorage type of one's own may make size optional, or any string.
OWN_VOLUME = CLUSTER.replace("topology_template:", """node_types:
  example.Volume:
    derived_from: tosca.nodes.BlockStorage
    properties:
      size: {type: string, required: false}
topology_template:""").replace("type: tosca.nodes.BlockStorage", "type: example.Volume")


@pytest.mark.parametrize("size, message", [
    ("{}", "Volume 'scratch' has no size"),
    ("{size: 0 GB}", "size '0 GB' of 'scratch' is not a size such as '50 GB'"),
    ("{size: lots}", "size 'lots' of 'scratch' is not a size such as '50 GB'"),
])
def test_volume_without_a_size(size, message):
    text = OWN_VOLUME.replace("properties: {size: 40 GiB}", "properties: %s" % size)
    for kind in (kinds.STORAGE, kinds.VM):
        with pytest.raises(ToscaError, match=message) as exc:
            specs(text, kind=kind)
        assert (exc.value.node, exc.value.prop) == ("scratch", "size")


def test_public_key_credential_needs_a_user():
    text = CLUSTER.replace("credential: {user: cloudadm, ", "credential: {")
    site = placed_site(topology_of(text), images=[dict(IMAGES[1], user_name=None)])
    with pytest.raises(ToscaError, match="has a public key but no user") as exc:
        specs(text, site=site)
    assert (exc.value.node, exc.value.prop) == ("front_end", "os.credential")


def test_bad_host_size_is_a_tosca_error():
    text = CLUSTER.replace("mem_size: 4 GB", "mem_size: {get_input: mem}").replace(
        "  inputs:\n", "  inputs:\n    mem: {type: string, default: lots}\n")
    with pytest.raises(ToscaError, match="mem_size 'lots' is not a size") as exc:
        specs(text, site=placed_site(topology_of(CLUSTER)))
    assert (exc.value.node, exc.value.prop) == ("front_end", "host")


PORTS = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    vm:
      type: tosca.nodes.Compute
    net:
      type: tosca.nodes.network.Network
      properties: {network_type: private}
    port_a:
      type: tosca.nodes.network.Port
      properties: {order: 0}
      requirements: [{binding: vm}, {link: net}]
    port_b:
      type: tosca.nodes.network.Port
      properties: {order: %s}
      requirements: %s
"""


@pytest.mark.parametrize("order, requirements, message", [
    (0, "[{binding: vm}, {link: net}]", "Ports 'port_a' and 'port_b' of VM 'vm' have the same "
                                        "order 0"),
    (1, "[{binding: net}, {link: vm}]", "Port 'port_b' must bind one VM and link one network"),
    (1, "[{binding: vm}, {link: net}, {binding: vm}]", "must bind one VM and link one network"),
])
def test_port_errors(order, requirements, message):
    topology = topology_of(PORTS % (order, requirements))
    with pytest.raises(ToscaError, match=message) as exc:
        vms.deployment_networks(topology)
    assert exc.value.node == "port_b"


def test_only_block_volumes_get_a_volume_spec():
    topology = topology_of("tosca-types/examples/onedata_client.yaml")
    plan = planning.build(topology)
    storage = plan.by_key["my_onedata_storage#0"]
    assert not vms.is_volume(topology.nodes["my_onedata_storage"])
    with pytest.raises(ToscaError, match="is not a volume a cloud creates"):
        vms.volume_spec(plan, storage, placed_site(topology), UUID)
    client = vms.vm_spec(plan, plan.by_key["onedata_client_node#0"], placed_site(topology), UUID)
    assert client["volumes"] == []
