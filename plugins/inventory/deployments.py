# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: deployments
short_description: The hosts of paas.orchestrator deployments
version_added: 0.1.0
description:
  - Makes an inventory of the virtual machines that deployments of
    P(paas.orchestrator.deployment#module) created, as the store records them, one host per VM.
  - C(ansible_host) is the VM's public address, else its private one. C(paas_roles) names the
    collection roles that configure the software the VM hosts (see C(playbooks/deploy.yml)). Each host is in a group
    per deployment (C(paas_deployment_<name>)), per TOSCA node (C(paas_node_<node>)) and per site
    (C(paas_site_<site>)), and carries the INDIGO resource fields as host variables.
  - The variables of those roles that the template sets (its software nodes' properties, as
    the mapping of C(plugins/module_utils/tosca/roles.py) names them) are host variables too.
  - A VM of an all-in-one local site is this machine; its host gets C(ansible_connection=local)
    and the controller's Python, as the implicit C(localhost) does.
  - Everything read from the store is marked unsafe, so that no Jinja in it is ever evaluated.
  - The configuration file must end in C(.deployments.yml) or C(.deployments.yaml).
author:
  - PaaS Orchestrator team (@paas-orchestrator)
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin.
    type: str
    required: true
    choices: [paas.orchestrator.deployments]
  store:
    description:
      - The store the deployments are recorded in (a SQLite path or a C(postgresql://) URL).
      - Defaults to E(PAAS_ORCHESTRATOR_STORE), else the default SQLite file of the modules.
    type: str
    env:
      - name: PAAS_ORCHESTRATOR_STORE
  deployments:
    description: Only these deployments (names or uuids). All of them when empty.
    type: list
    elements: str
    default: []
  statuses:
    description: Only deployments in these statuses.
    type: list
    elements: str
    default: [CREATE_COMPLETE, UPDATE_COMPLETE, UPDATE_IN_PROGRESS, UPDATE_FAILED]
"""

EXAMPLES = r"""
# inventory/cluster.deployments.yml
plugin: paas.orchestrator.deployments
deployments: [slurm-cluster]
keyed_groups:
  - key: paas_node_type
    prefix: type
compose:
  ansible_user: paas_attributes.os_user | default('ubuntu')
"""

import sys

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.paas.orchestrator.plugins.module_utils.engine import uuid_for
from ansible_collections.paas.orchestrator.plugins.module_utils.store import (
    StoreError,
    open_store,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds
from ansible_collections.paas.orchestrator.plugins.plugin_utils.common import unsafe


def _first(value):
    if isinstance(value, list):
        return next((item for item in value if item), None)
    return value or None


def _hosts(store, wanted, statuses):
    """(host name, deployment, resource) for every VM of the selected deployments."""
    wanted_uuids = {name if _is_uuid(name) else uuid_for(name) for name in wanted}
    for deployment in store.list_deployments(status=list(statuses) or None):
        if wanted_uuids and deployment["uuid"] not in wanted_uuids:
            continue
        label = (deployment.get("metadata") or {}).get("name") or deployment["uuid"][:8]
        for resource in store.list_resources(deployment["uuid"]):
            metadata = resource.get("metadata") or {}
            if metadata.get("kind") != kinds.VM:
                continue
            index = metadata.get("key", "#0").rpartition("#")[2]
            yield "%s-%s-%s" % (label, resource["toscaNodeName"], index), deployment, resource


def _is_uuid(text):
    return len(text) == 36 and text.count("-") == 4


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "paas.orchestrator.deployments"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith((".deployments.yml",
                                                            ".deployments.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        hosts = None
        if use_cache:
            try:
                hosts = self._cache[key]
            except KeyError:
                update_cache = True
        if hosts is None:
            hosts = self._read_store()
        if update_cache:
            self._cache[key] = hosts
        self._populate(hosts)

    def _read_store(self):
        try:
            with open_store(self.get_option("store")) as store:
                return [self._host(name, deployment, resource) for name, deployment, resource
                        in _hosts(store, self.get_option("deployments"),
                                  self.get_option("statuses"))]
        except StoreError as exc:
            raise AnsibleParserError("paas.orchestrator.deployments: %s" % exc) from None

    @staticmethod
    def _host(name, deployment, resource):
        attributes = (resource.get("metadata") or {}).get("attributes") or {}
        address = _first(attributes.get("public_address")) or _first(
            attributes.get("private_address"))
        name_of_deployment = (deployment.get("metadata") or {}).get("name")
        variables = {
            "paas_deployment_uuid": deployment["uuid"],
            "paas_deployment_name": name_of_deployment,
            "paas_deployment_status": deployment["status"],
            "paas_node_name": resource["toscaNodeName"],
            "paas_node_type": resource["toscaNodeType"],
            "paas_site": resource.get("site"),
            "paas_attributes": attributes,
            "paas_roles": (resource.get("metadata") or {}).get("roles") or [],
            "paas_resource": {field: resource.get(field) for field in (
                "uuid", "state", "physicalId", "toscaNodeName", "toscaNodeType", "requiredBy",
                "creationTime", "updateTime")},
        }
        # the roles' variables from the TOSCA properties of the software this VM hosts
        variables.update((resource.get("metadata") or {}).get("role_vars") or {})
        if address:
            variables["ansible_host"] = address
        if attributes.get("connection") == "local":
            # an all-in-one host is this machine: run as Ansible runs on localhost
            variables["ansible_connection"] = "local"
            variables["ansible_python_interpreter"] = sys.executable
        return {"name": name, "groups": [
            "paas_deployment_%s" % (name_of_deployment or deployment["uuid"]),
            "paas_node_%s" % resource["toscaNodeName"],
            "paas_site_%s" % resource.get("site")], "vars": variables}

    def _populate(self, hosts):
        strict = self.get_option("strict")
        for host in hosts:
            name = self.inventory.add_host(host["name"])
            for group in host["groups"]:
                group = self.inventory.add_group(self._sanitize_group_name(group))
                self.inventory.add_child(group, name)
            variables = unsafe(host["vars"])
            for var, value in variables.items():
                self.inventory.set_variable(name, var, value)
            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name,
                                              strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name,
                                           strict=strict)
