#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: deployment_info
short_description: Show deployments, their resources and attempts
version_added: 0.1.0
description:
  - Returns one deployment (by O(name) or O(uuid)) or a list filtered by owner, group and
    status, each as INDIGO shows it, with its resources and the attempts made on each site.
  - Never fails because a deployment does not exist; it returns an empty list.
author:
  - PaaS Orchestrator team (@paas-orchestrator)
options:
  name:
    description: The name of one deployment.
    type: str
  uuid:
    description: The uuid of one deployment.
    type: str
  created_by:
    description: Only deployments with this owner.
    type: str
  user_group:
    description: Only deployments of this group.
    type: str
  status:
    description: Only deployments in this status (INDIGO's names).
    type: str
    choices: [CREATE_IN_PROGRESS, CREATE_COMPLETE, CREATE_FAILED, UPDATE_IN_PROGRESS,
              UPDATE_COMPLETE, UPDATE_FAILED, DELETE_IN_PROGRESS, DELETE_COMPLETE, DELETE_FAILED,
              UNKNOWN]
extends_documentation_fragment:
  - paas.orchestrator.store
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only.
"""

EXAMPLES = r"""
- name: One deployment
  paas.orchestrator.deployment_info:
    name: sweep-demo
  register: info

- name: Every failed deployment of a group
  paas.orchestrator.deployment_info:
    user_group: biophys
    status: CREATE_FAILED
"""

RETURN = r"""
deployments:
  description: The deployments found, newest first, as P(paas.orchestrator.deployment#module) returns them.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.paas.orchestrator.plugins.module_utils.engine import Engine, uuid_for
from ansible_collections.paas.orchestrator.plugins.module_utils.module import (
    STORE_ARGS,
    PaasModule,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.store.enums import Status


class DeploymentInfo(PaasModule):
    argument_spec = dict(
        name=dict(type="str"),
        uuid=dict(type="str"),
        created_by=dict(type="str"),
        user_group=dict(type="str"),
        status=dict(type="str", choices=list(Status.ALL)),
        **STORE_ARGS,
    )
    module_kwargs = dict(supports_check_mode=True, mutually_exclusive=[("name", "uuid")])

    def run(self):
        params = self.params
        engine = Engine(self.open_store())
        wanted = params["uuid"] or (params["name"] and uuid_for(params["name"]))
        if wanted:
            found = engine.describe(wanted)
            deployments = [found] if found else []
        else:
            deployments = [engine.describe(row["uuid"]) for row in self.store.list_deployments(
                created_by=params["created_by"], user_group=params["user_group"],
                status=params["status"])]
        self.module.exit_json(changed=False, deployments=[d for d in deployments if d])


def main():
    DeploymentInfo()()


if __name__ == "__main__":
    main()
