# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the role_mesos target asks the test OpenStack (services.json's "openstack", started by
tests/tooling/services.sh), through openstacksdk so that its checks do not go through the
driver:

  python os_cloud.py sites NAME        a sites file: an OpenStack site NAME on the demo project
  python os_cloud.py leftovers UUID    fails naming what the deployment left on the cloud
"""

from __future__ import annotations

import json
import os
import sys

import openstack
import yaml

from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.openstack import (
    DEPLOYMENT_TAG,
)

SERVICES_JSON = os.path.join(os.path.expanduser("~"), ".paas-orchestrator-test", "services.json")
AUTH_KEYS = ("auth_url", "username", "password", "project_name", "user_domain_name",
             "project_domain_name")


def cloud():
    try:
        with open(SERVICES_JSON) as handle:
            return json.load(handle)["openstack"]
    except (OSError, ValueError, KeyError) as exc:
        sys.exit("no openstack recorded in %s (%s): run tests/tooling/services.sh start openstack"
                 % (SERVICES_JSON, exc))


def sites(config, name):
    site = {
        "name": name, "type": "openstack", "endpoint": config["auth_url"],
        "region": config["region_name"], "iam_enabled": False,
        "tenant": {"tenant_name": config["project_name"],
                   "public_network_name": config["public_network"],
                   "private_network_name": config["private_network"]},
        "images": [{"image_id": config["image"], "image_name": "ubuntu-18.04",
                    "distribution": "ubuntu", "version": "18.04", "type": "linux"}],
        "flavors": [{"flavor_name": "m1.tiny", "num_vcpus": 4, "ram": 8192, "disk": 20,
                     "num_gpus": 0}],
        "settings": {"auth": {key: config[key] for key in AUTH_KEYS}, "timeout": 30,
                     "delete_wait": 60},
    }
    print(yaml.safe_dump({"sites": [site]}, default_flow_style=None, width=1000), end="")


def leftovers(config, uuid):
    conn = openstack.connect(region_name=config["region_name"], api_timeout=30,
                             **{key: config[key] for key in AUTH_KEYS})
    description = "paas:%s" % uuid
    left = {
        "servers": [s.id for s in conn.compute.servers(tags="%s=%s" % (DEPLOYMENT_TAG, uuid))],
        "ports": [p.id for p in conn.network.ports(description=description)],
        "floating ips": [i.id for i in conn.network.ips(description=description)],
        "security groups": [g.id for g in conn.network.security_groups(description=description)],
        "volumes": [v.id for v in conn.block_storage.volumes(details=True)
                    if (v.metadata or {}).get(DEPLOYMENT_TAG) == uuid],
    }
    left = {what: ids for what, ids in left.items() if ids}
    if left:
        sys.exit("deployment %s left on OpenStack: %s" % (uuid, left))


if __name__ == "__main__":
    {"sites": sites, "leftovers": leftovers}[sys.argv[1]](cloud(), *sys.argv[2:])
