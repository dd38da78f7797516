# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EC2 driver through the engine, with real boto3 against moto's EC2 server (which
tests/tooling/services.sh start moto runs and records in services.json; the tests fail when it
is missing): placement, instances, tags, security groups, Elastic IP, volume, reruns, delete by
tag, scale in, and the same scenario through the fault proxy."""

from __future__ import annotations

import base64
import json
import os
import time

import pytest
import requests
import yaml

from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    ProviderError,
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.ec2 import Ec2Driver
from ansible_collections.paas.orchestrator.plugins.module_utils.engine import Engine, Request
from ansible_collections.paas.orchestrator.plugins.module_utils.placement import Placement
from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store
from ansible_collections.paas.orchestrator.tests.emulators.faultproxy import FaultProxy
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

boto3 = pytest.importorskip("boto3")

ROOT = corpus.corpus_dir()
pytestmark = pytest.mark.skipif(ROOT is None, reason="corpus absent: INDIGO's types needed")
SERVICES_JSON = os.path.join(os.path.expanduser("~"), ".paas-orchestrator-test", "services.json")

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
      properties:
        tags: {project: ec2-test}
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
              properties: {location: /data, device: vdb}
    data:
      type: tosca.nodes.BlockStorage
      properties: {size: 1 GB}
    worker:
      type: tosca.nodes.indigo.Compute
      capabilities:
        scalable: {properties: {count: {get_input: workers}, removal_list: {get_input: removal}}}
        host: {properties: {num_cpus: 1, mem_size: 1 GB}}
        os: {properties: {distribution: ubuntu, version: "22.04"}}
  outputs:
    front_ip: {value: {get_attribute: [front, public_address, 0]}}
"""


@pytest.fixture(scope="module")
def moto():
    """The "moto" entry of services.json, checked to answer; fails the test otherwise."""
    hint = "start it with tests/tooling/services.sh start moto (from the collection root)"
    try:
        with open(SERVICES_JSON) as handle:
            service = json.load(handle)["moto"]
    except (OSError, ValueError, KeyError) as exc:
        pytest.fail("No moto test service recorded in %s (%s): %s" % (SERVICES_JSON, exc, hint))
    try:
        requests.get(service["endpoint_url"] + "/moto-api/config", timeout=5).raise_for_status()
    except requests.RequestException as exc:
        pytest.fail("moto at %s does not answer (%s): %s"
                    % (service["endpoint_url"], type(exc).__name__, hint))
    return service


@pytest.fixture(scope="module")
def ec2(moto):
    """A direct client (no proxy) to check what the driver did."""
    return boto3.client("ec2", endpoint_url=moto["endpoint_url"], region_name=moto["region"],
                        aws_access_key_id=moto["access_key"],
                        aws_secret_access_key=moto["secret_key"])


@pytest.fixture(scope="module")
def ami(ec2):
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    assert images, "moto lists no AMI"
    return sorted(image["ImageId"] for image in images)[0]


def ec2_site(name, moto, ami, endpoint_url=None, **settings):
    return {"name": name, "type": "ec2", "region": moto["region"], "iam_enabled": False,
            "images": [{"image_id": ami, "image_name": "ubuntu-22.04", "distribution": "ubuntu",
                        "version": "22.04", "type": "linux", "user_name": "ubuntu"}],
            "flavors": [{"flavor_id": "t2.micro", "flavor_name": "t2.micro", "num_vcpus": 1,
                         "ram": 1024, "disk": 8, "num_gpus": 0}],
            "settings": dict({"endpoint_url": endpoint_url or moto["endpoint_url"],
                              "access_key": moto["access_key"],
                              "secret_key": moto["secret_key"],
                              # the site holds its own account: no SLA needed (ranking.md)
                              "credentials_required": False}, **settings)}


@pytest.fixture
def store(tmp_path):
    with open_store(str(tmp_path / "store.db")) as opened:
        yield opened


def deploy(store, tmp_path, sites, **kwargs):
    path = tmp_path / "sites.yml"
    path.write_text(yaml.safe_dump({"sites": sites}))
    # moto keeps what earlier runs made: a name of its own for each deployment
    request = Request(template=CLUSTER, name="cluster-%d" % time.time_ns(),
                      placement=Placement({"sites_file": str(path)}),
                      tosca_options={"cache_dir": "", "mirror": corpus.mirror(ROOT)},
                      timeout=120, **kwargs)
    engine = Engine(store)
    return engine, request, engine.present(request)["deployment"]


def ours(uuid):
    return [{"Name": "tag:paas_deployment", "Values": [uuid]}]


def tags_of(resource):
    return {pair["Key"]: pair["Value"] for pair in resource.get("Tags") or ()}


def live_instances(ec2, uuid):
    return [instance for reservation in ec2.describe_instances(Filters=ours(uuid))["Reservations"]
            for instance in reservation["Instances"]
            if instance["State"]["Name"] != "terminated"]


def leftovers(ec2, uuid):
    return {"instances": live_instances(ec2, uuid),
            "volumes": ec2.describe_volumes(Filters=ours(uuid))["Volumes"],
            "addresses": ec2.describe_addresses(Filters=ours(uuid))["Addresses"],
            "groups": ec2.describe_security_groups(Filters=ours(uuid))["SecurityGroups"]}


def check_cluster(ec2, ami, deployment):
    """What the EC2 API holds for the cluster, against what the deployment says."""
    uuid = deployment["uuid"]
    instances = {tags_of(i)["paas_key"]: i for i in live_instances(ec2, uuid)}
    assert sorted(instances) == ["front#0", "worker#0", "worker#1"]
    for key, instance in instances.items():
        assert instance["State"]["Name"] == "running"
        assert (instance["ImageId"], instance["InstanceType"]) == (ami, "t2.micro")
        tags = tags_of(instance)
        assert tags["paas_deployment"] == tags["PAAS_DEP_UUID"] == uuid
        assert tags["paas_node"] == key.split("#")[0]
        assert tags["Name"].startswith(uuid[:8])
    assert tags_of(instances["front#0"])["project"] == "ec2-test"
    # the spec's cloud-init user data, as given
    user_data = ec2.describe_instance_attribute(InstanceId=instances["worker#1"]["InstanceId"],
                                                Attribute="userData")["UserData"]["Value"]
    assert base64.b64decode(user_data).decode().startswith(
        '#cloud-config\nhostname: "%s-worker-1"' % uuid[:8])
    # one security group per node, with its rules
    groups = {tags_of(g).get("paas_node", "internal"): g
              for g in ec2.describe_security_groups(Filters=ours(uuid))["SecurityGroups"]}
    assert sorted(groups) == ["front", "internal", "worker"]
    internal = groups["internal"]["GroupId"]
    # the deployment's VMs reach each other
    assert [(p["IpProtocol"], [pair["GroupId"] for pair in p["UserIdGroupPairs"]])
            for p in groups["internal"]["IpPermissions"]] == [("-1", [internal])]

    def ports(group):
        return sorted((p["IpProtocol"], p["FromPort"], p["ToPort"],
                       tuple(r["CidrIp"] for r in p["IpRanges"]))
                      for p in group["IpPermissions"])
    assert ports(groups["front"]) == [("tcp", 22, 22, ("0.0.0.0/0",)),
                                      ("tcp", 80, 80, ("0.0.0.0/0",))]
    assert ports(groups["worker"]) == [("tcp", 22, 22, ("0.0.0.0/0",))]
    for key, instance in instances.items():
        # on its interface (moto leaves the instance's own list empty then)
        assert [[g["GroupId"] for g in nic["Groups"]] for nic in instance["NetworkInterfaces"]] \
            == [[internal, groups[key.split("#")[0]]["GroupId"]]]
    # the front end's Elastic IP and volume
    front = instances["front#0"]
    addresses = ec2.describe_addresses(Filters=ours(uuid))["Addresses"]
    assert len(addresses) == 1 and addresses[0]["InstanceId"] == front["InstanceId"]
    assert tags_of(addresses[0])["paas_vm"] == "front#0"
    volumes = ec2.describe_volumes(Filters=ours(uuid) + [
        {"Name": "tag-key", "Values": ["paas_vm"]}])["Volumes"]
    assert len(volumes) == 1
    volume = volumes[0]
    assert volume["Size"] == 1 and volume["State"] == "in-use"
    assert [(a["InstanceId"], a["Device"]) for a in volume["Attachments"]] == [
        (front["InstanceId"], "/dev/sdb")]
    assert tags_of(volume)["paas_key"] == "data#0"
    # what the deployment says
    vms = {r["metadata"]["key"]: r for r in deployment["resources"]
           if r["metadata"]["kind"] == "vm"}
    attributes = vms["front#0"]["metadata"]["attributes"]
    assert attributes["id"] == front["InstanceId"]
    assert attributes["public_address"] == [addresses[0]["PublicIp"]]
    assert attributes["private_address"] == [front["PrivateIpAddress"]]
    assert attributes["volumes"] == [{"volume_id": volume["VolumeId"], "key": "data#0",
                                      "size_gb": 1, "device": "/dev/sdb"}]
    assert deployment["outputs"]["front_ip"] == addresses[0]["PublicIp"]
    for key in ("worker#0", "worker#1"):
        assert vms[key]["metadata"]["attributes"]["public_address"] == []
        assert vms[key]["physicalId"] == "ec2:%s" % instances[key]["InstanceId"]
    return instances


def test_a_cluster_on_ec2_then_deleted(store, tmp_path, moto, ec2, ami):
    engine, request, deployment = deploy(store, tmp_path, [ec2_site("aws", moto, ami)])
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    assert deployment["cloudProviderName"] == "aws"
    instances = check_cluster(ec2, ami, deployment)
    before = {name: len(found) for name, found in leftovers(ec2, request.uuid).items()}
    # the same deployment again: nothing new is made
    assert engine.present(request)["changed"] is False
    assert {name: len(found) for name, found in leftovers(ec2, request.uuid).items()} == before
    # a killed run's VMs are found again by their tags: submit makes nothing new
    driver = Ec2Driver(dict(ec2_site("aws", moto, ami)["settings"], name="aws", type="ec2",
                            region=moto["region"]))
    specs = [{"key": key, "node": key.split("#")[0], "kind": "vm",
              "spec": {"key": key, "node": key.split("#")[0], "name": key,
                       "image": {"image_id": ami}, "tags": {}}} for key in instances]
    assert driver.submit(request.uuid, specs, {}) == {
        key: "ec2:%s" % instance["InstanceId"] for key, instance in instances.items()}
    assert {name: len(found) for name, found in leftovers(ec2, request.uuid).items()} == before
    # the store keeps no secret key: the sources give it back
    engine.absent(request.uuid, timeout=60, placement=request.placement)
    assert store.get_deployment(request.uuid) is None
    assert leftovers(ec2, request.uuid) == {"instances": [], "volumes": [], "addresses": [],
                                            "groups": []}


def test_scale_in_removes_the_vm_its_address_and_volumes(store, tmp_path, moto, ec2, ami):
    engine, request, deployment = deploy(store, tmp_path, [ec2_site("aws", moto, ami)])
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    driver = Ec2Driver(dict(ec2_site("aws", moto, ami)["settings"], name="aws", type="ec2",
                            region=moto["region"]))
    for _round in range(10):
        if driver.remove(request.uuid, ["front#0", "worker#1"]):
            break
    else:
        pytest.fail("front#0 and worker#1 are still there")
    left = leftovers(ec2, request.uuid)
    assert [tags_of(i)["paas_key"] for i in left["instances"]] == ["worker#0"]
    assert left["addresses"] == [] and len(left["groups"]) == 3
    assert [v for v in left["volumes"] if tags_of(v).get("paas_vm")] == []
    engine.absent(request.uuid, timeout=60, placement=request.placement)
    assert leftovers(ec2, request.uuid) == {"instances": [], "volumes": [], "addresses": [],
                                            "groups": []}


def workers_of(deployment):
    return sorted((r["metadata"]["key"], r["uuid"]) for r in deployment["resources"]
                  if r["toscaNodeName"] == "worker")


def test_scale_out_then_in_with_a_removal_list(store, tmp_path, moto, ec2, ami):
    engine, request, deployment = deploy(store, tmp_path, [ec2_site("aws", moto, ami)])
    assert [key for key, _uuid in workers_of(deployment)] == ["worker#0", "worker#1"]
    request.parameters = {"workers": 3}
    deployment = engine.present(request)["deployment"]
    assert deployment["status"] == "UPDATE_COMPLETE", deployment.get("statusReason")
    assert sorted(tags_of(i)["paas_key"] for i in live_instances(ec2, request.uuid)) == [
        "front#0", "worker#0", "worker#1", "worker#2"]
    first = dict(workers_of(deployment))["worker#0"]
    request.parameters = {"workers": 1, "removal": [first]}
    deployment = engine.present(request)["deployment"]
    assert deployment["status"] == "UPDATE_COMPLETE", deployment.get("statusReason")
    assert [key for key, _uuid in workers_of(deployment)] == ["worker#1"]
    assert sorted(tags_of(i)["paas_key"] for i in live_instances(ec2, request.uuid)) == [
        "front#0", "worker#1"]
    assert engine.present(request)["changed"] is False
    engine.absent(request.uuid, timeout=60, placement=request.placement)
    assert leftovers(ec2, request.uuid) == {"instances": [], "volumes": [], "addresses": [],
                                            "groups": []}


def test_the_same_cluster_through_20_percent_faults(store, tmp_path, moto, ec2, ami):
    with FaultProxy(moto["endpoint_url"], seed=1, retry_after=0) as proxy:
        proxy.configure(rate=0.2, kinds=["error", "throttle"])
        site = ec2_site("aws", moto, ami, endpoint_url=proxy.url)
        engine, request, deployment = deploy(store, tmp_path, [site])
        assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
        check_cluster(ec2, ami, deployment)
        assert engine.present(request)["changed"] is False
        engine.absent(request.uuid, timeout=60, placement=request.placement)
        assert store.get_deployment(request.uuid) is None
        counters = proxy.counters()
    assert sum(counters["faults"].values()) > 0, counters
    assert leftovers(ec2, request.uuid) == {"instances": [], "volumes": [], "addresses": [],
                                            "groups": []}


def test_an_unreachable_site_fails_over_to_the_next(store, tmp_path, moto, ec2, ami):
    down = ec2_site("down", moto, ami, endpoint_url="http://127.0.0.1:9", max_attempts=2,
                    connect_timeout=2)
    _engine, request, deployment = deploy(store, tmp_path, [down, ec2_site("aws", moto, ami)])
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    assert deployment["cloudProviderName"] == "aws"
    first, second = deployment["attempts"]
    assert first["site"] == "down" and "unreachable" in first["error"]
    assert moto["secret_key"] not in first["error"]
    assert second["site"] == "aws" and second["error"] is None
    _engine.absent(request.uuid, timeout=60, placement=request.placement)
    assert live_instances(ec2, request.uuid) == []


def test_ec2_errors_name_the_call_and_the_code(moto, ec2, ami):
    driver = Ec2Driver(dict(ec2_site("aws", moto, ami)["settings"], name="aws", type="ec2",
                            region=moto["region"]))
    spec = {"key": "vm#0", "node": "vm", "name": "vm-0", "image": {"image_id": "ami-00000000"},
            "flavor": {"flavor_name": "t2.micro"}, "tags": {}, "security_rules": []}
    uuid = "test-ec2-errors-%d" % time.time_ns()
    with pytest.raises(ProviderError) as raised:
        driver.submit(uuid, [{"key": "vm#0", "node": "vm", "kind": "vm", "spec": spec}], {})
    assert "creating VM vm#0 failed: InvalidAMIID" in str(raised.value)
    for _round in range(10):
        if driver.delete(uuid):
            break
    assert leftovers(ec2, uuid) == {"instances": [], "volumes": [], "addresses": [],
                                    "groups": []}


@pytest.mark.parametrize("site, message", [
    ({"name": "x", "type": "ec2"}, "needs a region"),
    ({"name": "x", "type": "ec2", "region": "us-east-1", "access_key": "AKIA"},
     "both access_key and secret_key"),
    ({"name": "x", "type": "ec2", "region": "us-east-1", "max_attempts": 0}, "max_attempts"),
])
def test_bad_site_definitions(site, message):
    with pytest.raises(SiteConfigError, match=message):
        Ec2Driver(site)


def one_vm(moto, ami, endpoint_url=None, **settings):
    driver = Ec2Driver(dict(ec2_site("aws", moto, ami, endpoint_url, **settings)["settings"],
                            name="aws", type="ec2", region=moto["region"]))
    spec = {"key": "vm#0", "node": "vm", "name": "vm-0", "image": {"image_id": ami},
            "flavor": {"flavor_name": "t2.micro"}, "tags": {}, "volumes": [],
            "security_rules": [{"protocol": "udp", "port": [6000, 6010],
                                "remote_cidr": "10.0.0.0/8"}]}
    return driver, [{"key": "vm#0", "node": "vm", "kind": "vm", "spec": spec}]


def test_a_vm_terminated_while_created_is_a_provider_error(moto, ec2, ami):
    driver, items = one_vm(moto, ami)
    uuid = "test-ec2-gone-%d" % time.time_ns()
    instance_id = driver.submit(uuid, items, {})["vm#0"].split(":", 1)[1]
    group = ec2.describe_security_groups(Filters=ours(uuid) + [
        {"Name": "tag:paas_node", "Values": ["vm"]}])["SecurityGroups"][0]
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], p["IpRanges"][0]["CidrIp"])
            for p in group["IpPermissions"]] == [("udp", 6000, 6010, "10.0.0.0/8")]
    ec2.terminate_instances(InstanceIds=[instance_id])
    with pytest.raises(ProviderError, match="VM vm#0 failed"):
        driver.poll(uuid, ["vm#0"])
    for _round in range(10):
        if driver.delete(uuid):
            break
    assert leftovers(ec2, uuid) == {"instances": [], "volumes": [], "addresses": [],
                                    "groups": []}


def test_throttling_that_outlasts_the_retries_names_the_call_and_code(moto, ec2, ami):
    with FaultProxy(moto["endpoint_url"], seed=1, retry_after=0) as proxy:
        proxy.configure(rate=1.0, kinds=["throttle"])
        driver, items = one_vm(moto, ami, endpoint_url=proxy.url, max_attempts=2)
        with pytest.raises(ProviderError) as raised:
            driver.submit("test-ec2-throttled-%d" % time.time_ns(), items, {})
        assert proxy.counters()["faults"]["throttle"] == 2
    message = str(raised.value)
    assert "listing instances failed: RequestLimitExceeded after 2 attempts" in message
    assert moto["secret_key"] not in message


def test_a_rerun_finishes_what_a_killed_run_left(moto, ec2, ami):
    """The instance exists (the run was killed after run_instances): submit makes its volume
    and address, not a second instance, and poll attaches and associates them."""
    driver, items = one_vm(moto, ami)
    uuid = "test-ec2-rerun-%d" % time.time_ns()
    physical = driver.submit(uuid, items, {})
    items[0]["spec"].update(public_ip=True, volumes=[
        {"key": "disk#0", "name": "disk-0", "size_gb": 2, "type": "gp3", "device": None,
         "location": "/disk"}])
    assert driver.submit(uuid, items, {}) == physical
    assert driver.submit(uuid, items, {}) == physical
    left = leftovers(ec2, uuid)
    assert (len(left["instances"]), len(left["addresses"])) == (1, 1)
    volume = [v for v in left["volumes"] if tags_of(v).get("paas_vm") == "vm#0"]
    assert [(v["Size"], v["VolumeType"], tags_of(v)["paas_device"]) for v in volume] == [
        (2, "gp3", "/dev/sdf")]
    for _round in range(5):
        seen = driver.poll(uuid, ["vm#0"])["vm#0"]
        if seen.state == "STARTED":
            break
    assert seen.state == "STARTED"
    address = ec2.describe_addresses(Filters=ours(uuid))["Addresses"][0]
    assert seen.attributes["public_address"] == [address["PublicIp"]]
    assert address["InstanceId"] == physical["vm#0"].split(":", 1)[1]
    assert [v["size_gb"] for v in seen.attributes["volumes"]] == [2]
    # the first call (all a failover makes) already gives the address back
    assert driver.delete(uuid) is False
    assert ec2.describe_addresses(Filters=ours(uuid))["Addresses"] == []
    for _round in range(10):
        if driver.delete(uuid):
            break
    assert leftovers(ec2, uuid) == {"instances": [], "volumes": [], "addresses": [],
                                    "groups": []}


@pytest.mark.parametrize("code, message, expected", [
    ("InsufficientInstanceCapacity", "We currently do not have sufficient t2.micro capacity",
     "listing instances failed: InsufficientInstanceCapacity: We currently"),
    ("UnauthorizedOperation", "You are not authorized to perform this operation.",
     "listing instances failed: UnauthorizedOperation"),
    ("InstanceLimitExceeded", "Your quota allows for 0 more running instance(s).",
     "listing instances failed: InstanceLimitExceeded"),
    ("AuthFailure", "AWS was not able to validate the provided access credentials (KEYID)",
     "EC2 refused the credentials (listing instances: AuthFailure)"),
])
def test_aws_error_codes_are_provider_errors(moto, ami, code, message, expected):
    """Codes moto never answers, from botocore's own Stubber: the call, the code, and no
    credential in the message."""
    stub = pytest.importorskip("botocore.stub")
    driver, _items = one_vm(moto, ami, access_key="KEYID", secret_key="very-secret-value")
    with stub.Stubber(driver._ec2()) as stubber:
        stubber.add_client_error("describe_instances", service_error_code=code,
                                 service_message=message + " very-secret-value",
                                 http_status_code=400)
        with pytest.raises(ProviderError) as raised:
            driver.poll("test-ec2-codes", ["vm#0"])
    assert expected in str(raised.value)
    assert "very-secret-value" not in str(raised.value) and "KEYID" not in str(raised.value)
