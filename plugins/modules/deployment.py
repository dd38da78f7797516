#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: deployment
short_description: Create, resume or delete a deployment of a TOSCA template
version_added: 0.1.0
description:
  - Deploys an INDIGO-style TOSCA template with its parameters on the first of O(sites) that can
    run it, moving on to the next site when one fails, and records the deployment, its
    resources and every attempt in the O(store).
  - Without O(sites), the sites come from O(sources) (a sites file, INDIGO's CMDB, SLAM,
    monitoring and OneData), filtered and ranked as INDIGO's CloudProviderRanker does, then
    through the O(rules) of the user (O(created_by)), group (O(user_group)) and O(use_case);
    the ranking, with the reasons behind it, is kept with the deployment (C(placement)).
  - A reconciler. Each call picks up where the last one left off, so a run that was killed is
    resumed by running the task again; with the same template and parameters a finished
    deployment is left as it is (no change).
  - Statuses (C(CREATE_IN_PROGRESS), C(CREATE_COMPLETE), C(CREATE_FAILED), ...), resource states
    and field names are INDIGO's.
  - Virtual machines (C(tosca.nodes.indigo.Compute) with their volumes, networks and addresses)
    go to V(openstack), V(opennebula) and V(ec2) sites, tagged with the deployment; they scale
    out and in with C(count) and C(removal_list), as in INDIGO.
  - Long-running containers (INDIGO Marathon apps) go to V(marathon) sites as one group per
    deployment, with INDIGO's fields; unlike INDIGO, a change of C(count) scales them.
  - Job templates (C(tosca.nodes.paas.Job), INDIGO Chronos jobs) run on V(chronos) sites with
    INDIGO's job JSON, on V(slurm) clusters (sweeps as job arrays), or on V(local) sites as
    processes of this host detached from Ansible, with dependencies (C(parent_job)), retries,
    parameter sweeps (C(tosca.policies.paas.ParameterSweep)) and data staged in and out. On
    SLURM and local sites the container image of a Chronos job is recorded and its command is
    run natively.
author:
  - PaaS Orchestrator team (@paas-orchestrator)
options:
  name:
    description:
      - The deployment's name, unique in the store; the deployment's uuid is derived from it,
        so a task that names it is idempotent.
      - One of O(name) and O(uuid) is required.
    type: str
  uuid:
    description:
      - The uuid of an existing deployment (as INDIGO shows it). A new deployment is created
        by O(name); with O(state=present) an unknown uuid is an error.
    type: str
  state:
    description:
      - V(present) creates the deployment, or resumes it when it is in progress.
      - V(absent) deletes it and everything it created on its sites.
    type: str
    choices: [present, absent]
    default: present
  template:
    description:
      - The TOSCA template, as a file path, as YAML text, or as a parsed mapping. Required with
        O(state=present).
    type: raw
  parameters:
    description:
      - Values of the template's inputs (strings are converted to the declared types).
      - Values of inputs whose name looks secret (password, token, key, credential...) are never
        recorded nor returned; give them again on every call that needs them.
    type: dict
    default: {}
  callback:
    description:
      - A URL that gets a POST of the deployment (as INDIGO sends it) when it is created,
        completed or failed. Errors are warnings.
    type: str
  created_by:
    description:
      - Who owns the deployment (INDIGO's C(createdBy)); for O(paas.orchestrator.deployment_info#module:created_by).
    type: str
  user_group:
    description:
      - The group the deployment is for (INDIGO's C(userGroup)).
    type: str
extends_documentation_fragment:
  - paas.orchestrator.tosca
  - paas.orchestrator.sites
  - paas.orchestrator.placement
  - paas.orchestrator.store
  - paas.orchestrator.wait
attributes:
  check_mode:
    support: full
    description: Validates the template and the sites and returns the planned resources.
  diff_mode:
    support: full
    description: Shows the deployment's status before and after.
notes:
  - Deleting waits for the site to remove everything (processes, files); the deployment's
    record is then removed, as in INDIGO.
"""

EXAMPLES = r"""
- name: Run the bundled parameter sweep on this host
  paas.orchestrator.deployment:
    name: sweep-demo
    template: "{{ playbook_dir }}/tosca/sweep_jobs.yaml"
    parameters:
      seeds: 5
    sites:
      - name: here
        type: local
        slots: 4
  register: sweep

- name: Show its outputs
  ansible.builtin.debug:
    var: sweep.deployment.outputs

- name: Start a long deployment and come back for it later
  paas.orchestrator.deployment:
    name: long-run
    template: long.yaml
    sites: [{name: here, type: local}]
    wait: false

- name: Delete it, with everything it created
  paas.orchestrator.deployment:
    name: sweep-demo
    state: absent
    sites: [{name: here, type: local, slots: 4}]
"""

RETURN = r"""
deployment:
  description:
    - The deployment as INDIGO shows it (C(uuid), C(status), C(statusReason), C(task),
      C(outputs), C(cloudProviderName), C(creationTime), ...), with its C(resources) and the
      C(attempts) made on each site. Null once deleted (or, in check mode, before creation).
  returned: always
  type: dict
  sample:
    uuid: 0a8d5a28-3a0e-5d4a-9c1f-6c1ad3b9a5a1
    status: CREATE_COMPLETE
    cloudProviderName: here
    outputs: {summary: "file:///tmp/paas-orchestrator-demo/summary.txt"}
    resources: [{toscaNodeName: simulate, state: STARTED, physicalId: "here:0a8d.../simulate#0"}]
    attempts: [{site: here, start: "2026-11-25T18:00:00.000000+00:00", end: "...", error: null}]
placement:
  description:
    - Inside RV(deployment), when the sites were ranked from O(sources), the ranking, with
      C(ranked) (rank 1 best, with site, score and reasons) and C(discarded) (with the reasons
      each site was left out).
  returned: when ranked
  type: dict
planned:
  description: The resources the template asks for, one per node instance (check mode included).
  returned: with state=present
  type: list
  elements: dict
"""

from ansible_collections.paas.orchestrator.plugins.module_utils.engine import Engine, Request
from ansible_collections.paas.orchestrator.plugins.module_utils.module import (
    PLACEMENT_ARGS,
    SITES_ARGS,
    STORE_ARGS,
    TOSCA_ARGS,
    WAIT_ARGS,
    PaasModule,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.redaction import secret_values


class Deployment(PaasModule):
    argument_spec = dict(
        name=dict(type="str"),
        uuid=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        template=dict(type="raw"),
        parameters=dict(type="dict", default={}),
        callback=dict(type="str"),
        created_by=dict(type="str"),
        user_group=dict(type="str"),
        **TOSCA_ARGS, **SITES_ARGS, **PLACEMENT_ARGS, **STORE_ARGS, **WAIT_ARGS,
    )
    module_kwargs = dict(
        supports_check_mode=True,
        required_one_of=[("name", "uuid")],
        required_if=[("state", "present", ("template",)),
                     ("state", "present", ("sites", "sources"), True)],
        mutually_exclusive=[("sites", "sources")],
    )

    def run(self):
        params = self.params
        self.hide_secret_parameters(params["parameters"])
        for site in params["sites"] or []:
            self.module.no_log_values.update(secret_values(site))
        engine = Engine(self.open_store(), notify=self.post_callback)
        request = Request(
            template=params["template"], parameters=params["parameters"], sites=params["sites"],
            uuid=params["uuid"], name=params["name"], wait=params["wait"],
            timeout=params["timeout"], provider_timeout=params["provider_timeout"],
            max_providers_retry=params["max_providers_retry"],
            keep_last_attempt=params["keep_last_attempt"], callback=params["callback"],
            created_by=params["created_by"], user_group=params["user_group"],
            tosca_options=self.tosca_options(),
            placement=self.placement(user=params["created_by"], group=params["user_group"]))
        before = engine.describe(request.uuid)
        if params["state"] == "absent":
            result = engine.absent(request.uuid, sites=params["sites"], wait=params["wait"],
                                   timeout=params["timeout"], check_mode=self.module.check_mode,
                                   placement=request.placement)
        else:
            result = engine.present(request, check_mode=self.module.check_mode)
        for warning in result.pop("warnings", ()):
            self.module.warn(warning)
        after = result["deployment"]
        result["diff"] = {"before": _status(before), "after": _status(after)}
        if self.module.check_mode and result["changed"]:
            result["diff"]["after"] = _planned(params["state"], result.get("planned"), params)
        if after and after["status"].endswith("_FAILED"):
            self.module.fail_json(msg="Deployment %s is %s: %s" % (
                after["uuid"], after["status"], after.get("statusReason")), **result)
        self.module.exit_json(**result)


def _status(deployment):
    if deployment is None:
        return {"state": "absent"}
    return {"status": deployment["status"], "resources": len(deployment["resources"]),
            "cloudProviderName": deployment.get("cloudProviderName")}


def _planned(state, planned, params):
    """What a check-mode run would lead to."""
    if state == "absent":
        return {"state": "absent"}
    first = (params["sites"] or [{}])[0].get("name")
    return {"status": "CREATE_IN_PROGRESS", "resources": len(planned or []),
            "cloudProviderName": first}


def main():
    Deployment()()


if __name__ == "__main__":
    main()
