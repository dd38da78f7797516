# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The OpenStack driver through the engine, against the real OpenStack of
tests/tooling/openstack (services.sh start openstack): placement, creation with a port, a
floating IP and a volume, attributes, rerun, failover on a quota error, NoValidHost, delete by
tag and description (checked through the API)."""

from __future__ import annotations

import json
import os
import uuid as uuidlib

import openstack
import pytest
import yaml

from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.openstack import (
    DEPLOYMENT_TAG,
    OpenStackDriver,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    ProviderError,
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.engine import Engine, Request
from ansible_collections.paas.orchestrator.plugins.module_utils.placement import Placement
from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

ROOT = corpus.corpus_dir()
pytestmark = pytest.mark.skipif(ROOT is None, reason="corpus absent: INDIGO's types needed")
SERVICES_JSON = os.path.expanduser("~/.paas-orchestrator-test/services.json")
# a deployment's time limit: the cloud runs on the test machine, and its Keystone takes seconds
# to validate a token when other tests keep the machine busy
TIMEOUT = 600
AUTH_KEYS = ("auth_url", "username", "password", "project_name", "user_domain_name",
             "project_domain_name")

CLUSTER = """tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml
topology_template:
  inputs:
    workers: {type: integer, default: 2}
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
            node: data
            relationship:
              type: tosca.relationships.AttachesTo
              properties: {location: /data}
    data:
      type: tosca.nodes.BlockStorage
      properties: {size: 1 GB}
    worker:
      type: tosca.nodes.indigo.Compute
      capabilities:
        scalable: {properties: {count: {get_input: workers}}}
        host: {properties: {num_cpus: 1, mem_size: 1 GB}}
        os: {properties: {distribution: ubuntu, version: "22.04"}}
  outputs:
    front_ip: {value: {get_attribute: [front, public_address, 0]}}
"""

SINGLE = """tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml
topology_template:
  node_templates:
    lonely:
      type: tosca.nodes.indigo.Compute
      capabilities:
        host: {properties: {num_cpus: 1, mem_size: 1 GB}}
        os: {properties: {distribution: ubuntu, version: "22.04"}}
"""

# the lonely VM on the tenant's private network and two isolated ones
ISOLATED = SINGLE + """    priv_network:
      type: tosca.nodes.network.Network
      properties: {network_type: private}
    back_network:
      type: tosca.nodes.network.Network
      properties: {network_type: isolated, cidr: 192.168.77.0/24}
    side_network:
      type: tosca.nodes.network.Network
      properties: {network_type: isolated}
    priv_port:
      type: tosca.nodes.network.Port
      properties: {order: 0}
      requirements: [{binding: lonely}, {link: priv_network}]
    back_port:
      type: tosca.nodes.network.Port
      properties: {order: 1, ip_address: 192.168.77.10}
      requirements: [{binding: lonely}, {link: back_network}]
    side_port:
      type: tosca.nodes.network.Port
      properties: {order: 2}
      requirements: [{binding: lonely}, {link: side_network}]
"""


@pytest.fixture(scope="module")
def cloud():
    """The recorded OpenStack: a failure, never a skip, when it is not there."""
    try:
        with open(SERVICES_JSON) as handle:
            config = json.load(handle)["openstack"]
    except (OSError, ValueError, KeyError):
        pytest.fail("no 'openstack' in %s: run tests/tooling/services.sh start openstack"
                    % SERVICES_JSON)
    return config


def credentials(cloud, project="demo"):
    entry = cloud if project == "demo" else cloud[project]
    return {key: entry.get(key, cloud.get(key)) for key in AUTH_KEYS}


def connect(cloud, project="demo"):
    return openstack.connect(region_name=cloud["region_name"], api_timeout=30,
                             **credentials(cloud, project))


def os_site(name, cloud, project="demo", flavor="m1.small", **extra):
    return dict({"name": name, "type": "openstack", "endpoint": cloud["auth_url"],
                 "region": cloud["region_name"], "iam_enabled": False,
                 "tenant": {"tenant_name": project, "public_network_name": cloud["public_network"],
                            "private_network_name": cloud["private_network"]},
                 "images": [{"image_id": cloud["image"], "image_name": "ubuntu-22.04",
                             "distribution": "ubuntu", "version": "22.04", "type": "linux"}],
                 "flavors": [{"flavor_name": flavor, "num_vcpus": 1, "ram": 2048, "disk": 20,
                              "num_gpus": 0}],
                 "settings": {"auth": credentials(cloud, project), "timeout": 30,
                              "delete_wait": 60}}, **extra)


def leftovers(conn, uuid):
    """Everything of the deployment the API still lists."""
    description = "paas:%s" % uuid
    left = {
        "servers": [s.id for s in conn.compute.servers(tags="%s=%s" % (DEPLOYMENT_TAG, uuid))],
        "ports": [p.id for p in conn.network.ports(description=description)],
        "floating ips": [i.id for i in conn.network.ips(description=description)],
        "security groups": [g.id for g in conn.network.security_groups(description=description)],
        "volumes": [v.id for v in conn.block_storage.volumes(details=True)
                    if (v.metadata or {}).get(DEPLOYMENT_TAG) == uuid],
        "networks": [n.id for n in conn.network.networks(description=description)],
        "subnets": [n.id for n in conn.network.subnets(description=description)],
    }
    return {what: ids for what, ids in left.items() if ids}


@pytest.fixture
def store(tmp_path):
    with open_store(str(tmp_path / "store.db")) as opened:
        yield opened


def deploy(store, tmp_path, sites, template=CLUSTER, **kwargs):
    path = tmp_path / "sites.yml"
    path.write_text(yaml.safe_dump({"sites": sites}))
    # a name of its own: the uuid comes from the name, and the cloud is shared by the tests
    # running in parallel (and by other runs)
    request = Request(template=template, name="cluster-%s" % uuidlib.uuid4().hex,
                      placement=Placement({"sites_file": str(path)}),
                      tosca_options={"cache_dir": "", "mirror": corpus.mirror(ROOT)},
                      timeout=TIMEOUT, **kwargs)
    engine = Engine(store)
    return engine, request, engine.present(request)["deployment"]


def remove(engine, request):
    engine.absent(request.uuid, timeout=TIMEOUT, placement=request.placement)


def test_a_cluster_on_openstack_then_deleted(store, tmp_path, cloud):
    conn = connect(cloud)
    engine, request, deployment = deploy(store, tmp_path, [os_site("demo", cloud)])
    try:
        assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
        vms = [r for r in deployment["resources"] if r["metadata"]["kind"] == "vm"]
        assert sorted(r["metadata"]["key"] for r in vms) == ["front#0", "worker#0", "worker#1"]
        front = next(r for r in vms if r["toscaNodeName"] == "front")
        attributes = front["metadata"]["attributes"]
        public = attributes["public_address"]
        floating = [ip.floating_ip_address for ip in conn.network.ips(
            description="paas:%s" % request.uuid)]
        assert len(public) == 1 and public == floating
        assert deployment["outputs"]["front_ip"] == public[0]
        assert attributes["private_address"][0].startswith("10.0.0.")
        server = conn.compute.get_server(attributes["id"])
        assert server.status == "ACTIVE"
        assert "%s=%s" % (DEPLOYMENT_TAG, request.uuid) in server.tags
        # the 1 GB volume of local_storage, attached to the front end only
        volumes = [v for v in conn.block_storage.volumes(details=True)
                   if (v.metadata or {}).get(DEPLOYMENT_TAG) == request.uuid]
        assert [(v.size, v.status, v.metadata["paas_key"], v.metadata["paas_vm"])
                for v in volumes] == [(1, "in-use", "data#0", "front#0")]
        assert volumes[0].attachments[0]["server_id"] == server.id
        assert attributes["volumes"] == [{"volume_id": volumes[0].id, "key": "data#0",
                                          "size_gb": 1,
                                          "device": volumes[0].attachments[0]["device"]}]
        workers = [r for r in vms if r["toscaNodeName"] == "worker"]
        assert all(not r["metadata"]["attributes"]["public_address"] for r in workers)
        # the security group holds the rules of the spec
        group, = conn.network.security_groups(description="paas:%s" % request.uuid)
        assert group.name == "paas-%s" % request.uuid[:8]
        ingress = {(r["protocol"], r["port_range_min"]) for r in group.security_group_rules
                   if r["direction"] == "ingress"}
        assert ingress == {("tcp", 22), ("tcp", 80)}
        ids = sorted(r["metadata"]["attributes"]["id"] for r in vms)
        # the same deployment again: nothing new is created
        assert engine.present(request)["changed"] is False
        assert sorted(s.id for s in conn.compute.servers(
            tags="%s=%s" % (DEPLOYMENT_TAG, request.uuid))) == ids
        assert len(list(conn.network.ports(description="paas:%s" % request.uuid))) == 3
        # scale in: worker#1 goes with its port, the rest stays
        site = os_site("demo", cloud)
        driver = OpenStackDriver(dict(site, **site.pop("settings")))
        assert driver.remove(request.uuid, ["worker#1"]) is True
        worker = next(r for r in workers if r["metadata"]["key"] == "worker#1")
        left = sorted(s.id for s in conn.compute.servers(
            tags="%s=%s" % (DEPLOYMENT_TAG, request.uuid)))
        assert left == sorted(set(ids) - {worker["metadata"]["attributes"]["id"]})
        assert len(list(conn.network.ports(description="paas:%s" % request.uuid))) == 2
        assert len(list(conn.network.security_groups(description="paas:%s" % request.uuid))) == 1
    finally:
        remove(engine, request)
    assert store.get_deployment(request.uuid) is None
    assert leftovers(conn, request.uuid) == {}


def test_a_site_over_quota_moves_the_cluster_to_the_next(store, tmp_path, cloud):
    # demo2 may run one instance: the second VM's boot is refused (HTTP 403)
    sites = [os_site("small", cloud, project="demo2"), os_site("big", cloud)]
    engine, request, deployment = deploy(store, tmp_path, sites)
    try:
        assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
        assert deployment["cloudProviderName"] == "big"
        first, second = deployment["attempts"]
        # refused at the POST (403) or, when nova's recheck catches it, a server in ERROR
        assert first["site"] == "small" and "Quota exceeded for" in first["error"]
        assert "instances" in first["error"]
        assert second["site"] == "big" and second["error"] is None
        # the failed site was cleaned up
        assert leftovers(connect(cloud, "demo2"), request.uuid) == {}
    finally:
        remove(engine, request)
    assert leftovers(connect(cloud), request.uuid) == {}


def test_isolated_networks_are_the_deployments_and_ports_take_their_ip_address(
        store, tmp_path, cloud):
    """Isolated Network nodes: a Neutron network and subnet of the deployment each (on the
    node's cidr, else a free 192.168.N.0/24), deleted with it; a Port's ip_address is its
    fixed IP; the ports are in their order."""
    conn = connect(cloud)
    engine, request, deployment = deploy(store, tmp_path, [os_site("demo", cloud)],
                                         template=ISOLATED)
    try:
        assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
        description = "paas:%s" % request.uuid
        networks = {n.name: n for n in conn.network.networks(description=description)}
        back, side = (networks.pop("%s-%s-network-0" % (request.uuid[:8], name))
                      for name in ("back", "side"))
        assert networks == {}
        assert "%s=%s" % (DEPLOYMENT_TAG, request.uuid) in back.tags
        subnets = {n.network_id: n for n in conn.network.subnets(description=description)}
        assert subnets[back.id].cidr == "192.168.77.0/24"
        assert subnets[side.id].cidr.startswith("192.168.")
        vm = next(r for r in deployment["resources"] if r["toscaNodeName"] == "lonely")
        addresses = vm["metadata"]["attributes"]["private_address"]
        assert addresses[0].startswith("10.0.0.") and addresses[1] == "192.168.77.10"
        ports = sorted(conn.network.ports(description=description), key=lambda p: p.name)
        assert [p.network_id for p in ports][1:] == [back.id, side.id]
    finally:
        remove(engine, request)
    assert leftovers(conn, request.uuid) == {}


def test_no_valid_host_is_a_provider_error(store, tmp_path, cloud):
    site = os_site("demo", cloud, flavor=cloud["nohost_flavor"])
    engine, request, deployment = deploy(store, tmp_path, [site], template=SINGLE)
    try:
        assert deployment["status"] == "CREATE_FAILED"
        assert "No valid host" in deployment["statusReason"]
        assert deployment["attempts"][0]["error"].count("No valid host") == 1
    finally:
        remove(engine, request)
    assert leftovers(connect(cloud), request.uuid) == {}


def test_wrong_credentials_are_a_provider_error(store, tmp_path, cloud):
    site = os_site("demo", cloud)
    site["settings"]["auth"]["password"] = "wrong-secret"
    engine, request, deployment = deploy(store, tmp_path, [site], template=SINGLE)
    assert deployment["status"] == "CREATE_FAILED"
    assert "refused the credentials" in deployment["statusReason"]
    assert "wrong-secret" not in deployment["statusReason"]
    # nothing was created: delete with the right credentials finds nothing
    good = tmp_path / "good.yml"
    good.write_text(yaml.safe_dump({"sites": [os_site("demo", cloud)]}))
    engine.absent(request.uuid, timeout=TIMEOUT,
                  placement=Placement({"sites_file": str(good)}))
    assert store.get_deployment(request.uuid) is None


def test_an_unreachable_keystone_is_a_provider_error(cloud):
    site = os_site("gone", cloud)
    settings = site.pop("settings")
    settings["auth"]["auth_url"] = "http://127.0.0.1:9/v3"  # discard: nothing listens
    settings.update(retries=0, timeout=5)
    driver = OpenStackDriver(dict(site, **settings))
    with pytest.raises(ProviderError, match="unreachable") as exc:
        driver.poll(str(uuidlib.uuid4()), ["vm#0"])
    assert settings["auth"]["password"] not in str(exc.value)


def test_a_site_without_credentials_is_refused():
    with pytest.raises(SiteConfigError, match="needs credentials"):
        OpenStackDriver({"name": "x", "type": "openstack",
                         "endpoint": "http://127.0.0.1:5000"}).delete("u")
    with pytest.raises(SiteConfigError, match="needs an endpoint"):
        OpenStackDriver({"name": "x", "type": "openstack", "auth": {"username": "u"}})


def one_vm(cloud, uuid):
    """The submit items of a VM with a floating IP, a volume and two security rules."""
    spec = {"key": "vm#0", "name": "%s-vm-0" % uuid[:8], "image": {"image_id": cloud["image"]},
            "flavor": {"flavor_id": None, "flavor_name": "m1.tiny"}, "public_ip": True,
            "security_rules": [{"protocol": "tcp", "port": 22, "remote_cidr": "0.0.0.0/0"},
                               {"protocol": "udp", "port": [6000, 6010],
                                "remote_cidr": "10.0.0.0/8"}],
            "networks": [{"network_type": "private", "network_name": cloud["private_network"]},
                         {"network_type": "public", "network_name": cloud["public_network"]}],
            "user_data": "#cloud-config\n", "tags": {"project": "paas"},
            "volumes": [{"key": "disk#0", "name": "%s-disk-0" % uuid[:8], "size_gb": 1,
                         "type": None, "device": None, "location": "/data"}]}
    return [{"key": "vm#0", "node": "vm", "kind": "vm", "spec": spec}]


def test_submit_again_finds_what_a_killed_run_created(cloud):
    """A run killed after the cloud created a VM but before the store recorded it: the next
    run's submit (a new driver, here from the clouds.yaml cloud) finds every part again."""
    site = os_site("demo", cloud)
    driver = OpenStackDriver(dict(site, **site.pop("settings")))
    uuid = str(uuidlib.uuid4())
    items = one_vm(cloud, uuid)
    conn = connect(cloud)
    try:
        first = driver.submit(uuid, items, {})
        rerun = OpenStackDriver({"name": "demo", "type": "openstack",
                                 "cloud": cloud["clouds"]["demo"],
                                 "clouds_yaml": cloud["clouds_yaml"]})
        assert rerun.submit(uuid, items, {}) == first
        description = "paas:%s" % uuid
        assert len(list(conn.compute.servers(tags="%s=%s" % (DEPLOYMENT_TAG, uuid)))) == 1
        assert len(list(conn.network.ports(description=description))) == 1
        assert len(list(conn.network.ips(description=description))) == 1
        group, = conn.network.security_groups(description=description)
        assert {(r["protocol"], r["port_range_min"], r["port_range_max"], r["remote_ip_prefix"])
                for r in group.security_group_rules if r["direction"] == "ingress"} == {
            ("tcp", 22, 22, "0.0.0.0/0"), ("udp", 6000, 6010, "10.0.0.0/8")}
        assert len([v for v in conn.block_storage.volumes(details=True)
                    if (v.metadata or {}).get(DEPLOYMENT_TAG) == uuid]) == 1
    finally:
        assert driver.delete(uuid) is True
    assert leftovers(conn, uuid) == {}
