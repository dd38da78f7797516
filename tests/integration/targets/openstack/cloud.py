# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the openstack target asks the real OpenStack of tests/tooling/openstack (services.json's
"openstack") through openstacksdk, so that its checks do not go through the driver they test:

  python cloud.py sites NAME=PROJECT[,KEY=VALUE...]...
                                        a sites file: an OpenStack site per argument on that
                                        project (demo or demo2), with those settings
  python cloud.py leftovers UUID [PROJECT...]
                                        fails naming what the deployment left (servers, ports,
                                        floating IPs, volumes, security groups) in those
                                        projects (default: demo and demo2)
  python cloud.py wait-server UUID SECONDS
                                        until the deployment has a server in project demo

(Not openstack.py: run as a script, it would be imported for openstacksdk.)
"""

from __future__ import annotations

import json
import sys
import time

import yaml

from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.openstack import (
    DEPLOYMENT_TAG,
)
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.drivers import (
    test_openstack,
)

PROJECTS = ("demo", "demo2")


def recorded():
    try:
        with open(test_openstack.SERVICES_JSON) as handle:
            return json.load(handle)["openstack"]
    except (OSError, ValueError, KeyError) as exc:
        sys.exit("no openstack recorded in %s (%s): run tests/tooling/services.sh start "
                 "openstack" % (test_openstack.SERVICES_JSON, exc))


def sites(cloud, *specs):
    """A sites file: one OpenStack site per NAME=PROJECT[,KEY=VALUE...] (a site setting)."""
    entries = []
    for spec in specs:
        name_project, *settings = spec.split(",")
        name, _sep, project = name_project.partition("=")
        if project not in PROJECTS:
            sys.exit("%s: the project is one of %s" % (spec, ", ".join(PROJECTS)))
        site = test_openstack.os_site(name, cloud, project=project, flavor="m1.tiny")
        site["settings"].update((key, yaml.safe_load(value)) for key, value
                                in (setting.split("=", 1) for setting in settings))
        entries.append(site)
    print(yaml.safe_dump({"sites": entries}, default_flow_style=None, width=1000), end="")


def leftovers(cloud, uuid, *projects):
    left = {project: test_openstack.leftovers(test_openstack.connect(cloud, project), uuid)
            for project in projects or PROJECTS}
    left = {project: found for project, found in left.items() if found}
    if left:
        sys.exit("deployment %s left %s" % (uuid, left))


def wait_server(cloud, uuid, seconds):
    conn = test_openstack.connect(cloud)
    deadline = time.monotonic() + float(seconds)
    while not list(conn.compute.servers(tags="%s=%s" % (DEPLOYMENT_TAG, uuid))):
        if time.monotonic() > deadline:
            sys.exit("no server of deployment %s after %s s" % (uuid, seconds))
        time.sleep(0.2)


def main(command, *args):
    commands = {"sites": sites, "leftovers": leftovers, "wait-server": wait_server}
    if command not in commands:
        sys.exit(__doc__)
    commands[command](recorded(), *args)


if __name__ == "__main__":
    main(*sys.argv[1:] or ["help"])
