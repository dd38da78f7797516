# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Where placement information comes from, and the rules (module_utils.module.PLACEMENT_ARGS).
    DOCUMENTATION = r"""
options:
  sources:
    description:
      - Where the sites and what is known of them come from; every key is optional. See the
        collection's C(docs/sites.md).
      - C(sites_file) is the path of a sites file of ours (sites, SLAs, preferences, metrics,
        data locations in one YAML file).
      - C(cmdb), C(slam), C(monitoring) and C(onezone) are INDIGO's services, each a mapping
        with C(url) (and C(token), C(timeout), C(verify)); C(cmdb) and C(slam) also take C(file),
        INDIGO's local C(cmdb.db) or C(slam.db).
    type: dict
  rules:
    description:
      - Placement rules per user, group or use case (JMESPath conditions that discard sites or
        adjust their scores), as a path to a YAML file or as a list. See C(docs/ranking.md).
    type: raw
  use_case:
    description: A name the placement rules can match on (C(use_case) in their context).
    type: str
  issuer:
    description:
      - The identity provider of the user's token; sites that accept tokens only from other
        issuers are left out (INDIGO's IAM prefilter). Not set, no such check.
    type: str
  on_unreachable:
    description:
      - What to do when a source does not answer. V(error) fails; V(warn) goes on without it
        and says so; V(skip) goes on silently.
    type: str
    choices: [error, warn, skip]
    default: error
"""
