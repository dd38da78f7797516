# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: site_rank
short_description: Rank the sites a TOSCA template could be deployed on
version_added: 0.1.0
description:
  - Loads a template with its parameters, collects the sites from the O(sources), filters them
    (INDIGO's prefilter - identity provider, placement policy, data location, deployment kind,
    GPUs, volume types, images and flavors), ranks them as INDIGO's CloudProviderRanker does
    and applies the O(rules) of the user, group and use case.
  - Returns the ranked sites, best first (rank 1), each with its score and the reasons behind
    it; with O(include_discarded), also the sites left out, each with every reason.
  - Nothing is deployed and nothing is recorded.
author:
  - PaaS Orchestrator team (@paas-orchestrator)
options:
  _terms:
    description: The template, as a file path or as YAML text (one).
    required: true
  parameters:
    description: Values of the template's inputs.
    type: dict
    default: {}
  user:
    description: Who asks (C(user) in the rules' context).
    type: str
  group:
    description: The user's group (C(group) in the rules' context; INDIGO's SLAM customer).
    type: str
  include_discarded:
    description: Also return the sites that were left out, with C(rank) null and their reasons.
    type: bool
    default: false
extends_documentation_fragment:
  - paas.orchestrator.tosca
  - paas.orchestrator.placement
"""

EXAMPLES = r"""
- name: Where would the Galaxy cluster go for the biophys group?
  ansible.builtin.debug:
    msg: "{{ query('paas.orchestrator.site_rank', 'galaxy.yaml', sources=sources,
                   group='biophys', rules='rules.yml') }}"
  vars:
    sources:
      sites_file: sites.yml
      monitoring: {url: "https://monitoring.example.org"}

- name: Deploy on the best one only if it is ours
  ansible.builtin.set_fact:
    best: "{{ lookup('paas.orchestrator.site_rank', 'jobs.yaml', sources={'sites_file': 'sites.yml'}) }}"
"""

RETURN = r"""
_list:
  description: The sites, best first.
  type: list
  elements: dict
  contains:
    rank:
      description: 1 for the best; null for a discarded site.
      type: int
    site:
      description: The site's name, as the deployment module takes it.
      type: str
    service_id:
      description: The service's id in the catalog.
      type: str
    provider:
      description: The provider the site belongs to.
      type: str
    score:
      description: The score after the rules.
      type: float
    sla_weight:
      description: The weight of the SLA the site is used under, if any.
      type: float
    reasons:
      description: Why it ranks there, or why it was left out.
      type: list
      elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.paas.orchestrator.plugins.module_utils.placement import (
    Placement,
    place,
    summary,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load
from ansible_collections.paas.orchestrator.plugins.plugin_utils.common import (
    engine_errors,
    tosca_options,
    unsafe,
)

display = Display()


class LookupModule(LookupBase):
    @engine_errors
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms) != 1:
            raise AnsibleLookupError("site_rank takes one template, not %d" % len(terms))
        if not self.get_option("sources"):
            raise AnsibleLookupError("site_rank needs 'sources': where the sites are described")
        topology = load(terms[0], self.get_option("parameters"), **tosca_options(self))
        placement = Placement(self.get_option("sources"), rules=self.get_option("rules"),
                              user=self.get_option("user"), group=self.get_option("group"),
                              use_case=self.get_option("use_case"),
                              issuer=self.get_option("issuer"),
                              on_unreachable=self.get_option("on_unreachable"))
        ranking, warnings = place(topology, placement)
        if self.get_option("on_unreachable") == "warn":
            for warning in warnings:
                display.warning("site_rank: %s" % warning)
        shown = summary(ranking)
        entries = shown["ranked"]
        if self.get_option("include_discarded"):
            entries += [dict(entry, rank=None, site=entry["service_id"], score=None,
                             sla_weight=None) for entry in shown["discarded"]]
        return unsafe(entries)
