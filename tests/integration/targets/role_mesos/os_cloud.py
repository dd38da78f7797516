# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the role_mesos target asks the test OpenStack (services.json's "openstack", started by
tests/tooling/services.sh), through openstacksdk (the unit tests' helpers) so that its checks do
not go through the driver:

  python os_cloud.py sites NAME        a sites file: an OpenStack site NAME on project demo,
                                       flavor m1.small, image ubuntu 22.04
  python os_cloud.py leftovers UUID    fails naming what the deployment left on the cloud

(Not openstack.py: run as a script, it would be imported for openstacksdk.)
"""

from __future__ import annotations

import json
import sys

import yaml

from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.drivers import (
    test_openstack,
)


def cloud():
    try:
        with open(test_openstack.SERVICES_JSON) as handle:
            return json.load(handle)["openstack"]
    except (OSError, ValueError, KeyError) as exc:
        sys.exit("no openstack recorded in %s (%s): run tests/tooling/services.sh start openstack"
                 % (test_openstack.SERVICES_JSON, exc))


def sites(config, name):
    site = test_openstack.os_site(name, config, flavor="m1.small")
    print(yaml.safe_dump({"sites": [site]}, default_flow_style=None, width=1000), end="")


def leftovers(config, uuid):
    left = test_openstack.leftovers(test_openstack.connect(config), uuid)
    if left:
        sys.exit("deployment %s left on OpenStack: %s" % (uuid, left))


if __name__ == "__main__":
    {"sites": sites, "leftovers": leftovers}[sys.argv[1]](cloud(), *sys.argv[2:])
