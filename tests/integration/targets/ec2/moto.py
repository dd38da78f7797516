# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the EC2 targets ask moto's EC2 (services.json's "moto", which services.sh starts)
through boto3, so that their checks do not go through the driver they test:

  python moto.py endpoint                       moto's URL
  python moto.py sites NAME[=URL][,KEY=VALUE...]...
                                                a sites file: an EC2 site on moto's account (or
                                                at URL) per argument, with an Ubuntu AMI,
                                                t2.micro and those settings
  python moto.py leftovers UUID                 fails naming what the deployment left
  python moto.py wait-instance UUID SECONDS     until the deployment has an instance
"""

from __future__ import annotations

import json
import os
import sys
import time

import boto3
import yaml

SERVICES_JSON = os.path.join(os.path.expanduser("~"), ".paas-orchestrator-test", "services.json")


def service():
    try:
        with open(SERVICES_JSON) as handle:
            return json.load(handle)["moto"]
    except (OSError, ValueError, KeyError) as exc:
        sys.exit("no moto recorded in %s (%s): run tests/tooling/services.sh start moto"
                 % (SERVICES_JSON, exc))


def client(moto):
    return boto3.client("ec2", endpoint_url=moto["endpoint_url"], region_name=moto["region"],
                        aws_access_key_id=moto["access_key"],
                        aws_secret_access_key=moto["secret_key"])


def sites(moto, *specs):
    """A sites file: one EC2 site per NAME[=URL][,KEY=VALUE...] (a site setting)."""
    # an Ubuntu AMI: listing all of moto's 1300 takes seconds
    images = client(moto).describe_images(Owners=["amazon"], Filters=[
        {"Name": "name", "Values": ["ubuntu/images/*"]}])["Images"]
    if not images:
        sys.exit("moto lists no Ubuntu AMI (ubuntu/images/*)")
    ami = sorted(image["ImageId"] for image in images)[0]
    entries = []
    for spec in specs:
        name_url, *settings = spec.split(",")
        name, _sep, url = name_url.partition("=")
        entries.append({
            "name": name, "type": "ec2", "region": moto["region"], "iam_enabled": False,
            "images": [{"image_id": ami, "image_name": "ubuntu-22.04", "distribution": "ubuntu",
                        "version": "22.04", "type": "linux", "user_name": "ubuntu"}],
            "flavors": [{"flavor_id": "t2.micro", "flavor_name": "t2.micro", "num_vcpus": 1,
                         "ram": 1024, "disk": 8, "num_gpus": 0}],
            "settings": dict({"endpoint_url": url or moto["endpoint_url"],
                              "access_key": moto["access_key"], "secret_key": moto["secret_key"],
                              # the site holds its own account: no SLA needed (ranking.md)
                              "credentials_required": False},
                             **{key: yaml.safe_load(value) for key, value
                                in (setting.split("=", 1) for setting in settings)})})
    print(yaml.safe_dump({"sites": entries}, default_flow_style=None, width=1000), end="")


def ours(uuid):
    return [{"Name": "tag:paas_deployment", "Values": [uuid]}]


def instances(ec2, uuid):
    return [instance for reservation in ec2.describe_instances(Filters=ours(uuid))["Reservations"]
            for instance in reservation["Instances"]]


def leftovers(moto, uuid):
    ec2 = client(moto)
    tagged = instances(ec2, uuid)
    # EC2 tags an instance's interfaces only when asked to (moto never does): those of the
    # deployment's instances, terminated ones included, and any tagged with it
    interfaces = {nic["NetworkInterfaceId"]
                  for nic in ec2.describe_network_interfaces(Filters=ours(uuid))["NetworkInterfaces"]}
    known = sorted({nic["NetworkInterfaceId"] for instance in tagged
                    for nic in instance.get("NetworkInterfaces") or ()})
    if known:
        interfaces.update(nic["NetworkInterfaceId"] for nic in ec2.describe_network_interfaces(
            Filters=[{"Name": "network-interface-id", "Values": known}])["NetworkInterfaces"])
    left = {
        "instances": [i["InstanceId"] for i in tagged if i["State"]["Name"] != "terminated"],
        "volumes": [v["VolumeId"] for v in ec2.describe_volumes(Filters=ours(uuid))["Volumes"]],
        "security groups": [g["GroupId"] for g in ec2.describe_security_groups(
            Filters=ours(uuid))["SecurityGroups"]],
        "addresses": [a.get("AllocationId") or a["PublicIp"] for a in ec2.describe_addresses(
            Filters=ours(uuid))["Addresses"]],
        "network interfaces": sorted(interfaces),
    }
    left = {kind: ids for kind, ids in left.items() if ids}
    if left:
        sys.exit("deployment %s left on moto: %s" % (uuid, json.dumps(left, sort_keys=True)))
    print("deployment %s: no instance, volume, security group, address or network interface "
          "left (%d instances seen, all terminated)" % (uuid, len(tagged)))


def wait_instance(moto, uuid, seconds):
    ec2 = client(moto)
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        if any(i["State"]["Name"] != "terminated" for i in instances(ec2, uuid)):
            return
        time.sleep(0.05)
    sys.exit("deployment %s has no instance after %s s" % (uuid, seconds))


def main(command, *args):
    moto = service()
    if command == "endpoint":
        print(moto["endpoint_url"])
    elif command == "sites":
        sites(moto, *args)
    elif command == "leftovers":
        leftovers(moto, *args)
    elif command == "wait-instance":
        wait_instance(moto, *args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(*sys.argv[1:])
