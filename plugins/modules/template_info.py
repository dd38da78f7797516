#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: template_info
short_description: Validate a TOSCA template and describe what it would deploy
version_added: 0.1.0
description:
  - Loads an INDIGO-style TOSCA template with its parameters, resolving its imports, and checks
    it as the deployment modules would (types, required inputs, input types and constraints,
    requirements, intrinsic functions and the dependency graph).
  - Returns the inputs, outputs, nodes (with their kind and the order they are created in), the
    dependency graph and the deployment kind, or fails with a message that names the file, node
    and property at fault.
  - Changes nothing.
author:
  - PaaS Orchestrator team (@paas-orchestrator)
options:
  template:
    description:
      - The template, as a file path or as YAML text (a string with a newline), or already
        parsed as a mapping.
    type: raw
    required: true
  parameters:
    description:
      - Values of the template's inputs. Strings are converted to the declared type (as the
        INDIGO orchent client sends them), so V("4") is accepted for an integer input.
      - Values (of 4 characters or more) of inputs whose name looks secret (password, secret,
        token, key, credential) are masked in everything the module returns.
    type: dict
    default: {}
extends_documentation_fragment:
  - paas.orchestrator.tosca
attributes:
  check_mode:
    support: full
    description: The module never changes anything; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
notes:
  - See the collection's C(docs/tosca.md) for the node kinds and the deployment-kind rules.
"""

EXAMPLES = r"""
- name: Validate a template with its parameters
  paas.orchestrator.template_info:
    template: "{{ playbook_dir }}/tosca/sweep_jobs.yaml"
    parameters:
      samples: "3"
  register: info

- name: Show what it deploys, in order
  ansible.builtin.debug:
    msg: "{{ info.deployment_kind }}: {{ info.order | join(' -> ') }}"

- name: Validate an INDIGO template offline, through a mirror of its type files
  paas.orchestrator.template_info:
    template: "{{ lookup('ansible.builtin.file', 'galaxy.yaml') }}"
    mirror: /srv/tosca-mirror/imports.json
"""

RETURN = r"""
deployment_kind:
  description:
    - The kind of deployment, by INDIGO's rule (the first node whose type is exactly a Chronos,
      Marathon, QCG or Helm type decides; otherwise V(TOSCA)). Templates whose first such node
      is a C(tosca.nodes.paas.Job) are V(JOB).
  returned: success
  type: str
  sample: CHRONOS
inputs:
  description: The declared inputs.
  returned: success
  type: dict
  sample:
    cpus: {type: float, description: CPUs of the job, default: 1.0, required: true,
           constraints: []}
outputs:
  description: The outputs, kept as expressions (they are evaluated at deploy time).
  returned: success
  type: dict
  sample:
    cluster_ip: {description: null, value: {get_attribute: [lrms_server, public_address, 0]}}
nodes:
  description:
    - The node templates, with type, type ancestry, kind (what runs them), role, evaluated
      properties and capabilities (C(get_attribute) kept as expressions), requirements,
      artifacts, interfaces, the C(scalable) capability and C(requiredBy).
  returned: success
  type: dict
graph:
  description: For each node, the nodes that require it (INDIGO's C(requiredBy)).
  returned: success
  type: dict
  sample: {docker_runtime1: [chronos_job], chronos_job: [chronos_job_upload]}
order:
  description: The nodes in creation order, each after every node it requires.
  returned: success
  type: list
  elements: str
policies:
  description: The policies, with targets and evaluated properties (C(sla_id) for placement).
  returned: success
  type: list
  elements: dict
imports:
  description: The imported files, each with its location and where it was read from.
  returned: success
  type: list
  elements: dict
  sample: [{location: "https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml",
            origin: mirror}]
summary:
  description: Node counts by kind, instance count and order, for a short plan summary.
  returned: success
  type: dict
error:
  description: On failure, where the fault is.
  returned: failure
  type: dict
  contains:
    source: {description: The file or URL at fault., type: str}
    node: {description: The node template at fault., type: str}
    property: {description: The property or input at fault., type: str}
    details: {description: Every fault found., type: list, elements: str}
"""

from ansible_collections.paas.orchestrator.plugins.module_utils.module import (
    TOSCA_ARGS,
    PaasModule,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load


class TemplateInfo(PaasModule):
    argument_spec = dict(
        template=dict(type="raw", required=True),
        parameters=dict(type="dict", default={}),
        **TOSCA_ARGS,
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        self.hide_secret_parameters(self.params["parameters"])
        topology = load(self.params["template"], self.params["parameters"],
                        **self.tosca_options())
        for warning in topology.warnings:
            self.module.warn(warning)
        result = topology.to_dict()
        result["summary"] = topology.summary()
        self.module.exit_json(changed=False, **result)


def main():
    TemplateInfo()()


if __name__ == "__main__":
    main()
