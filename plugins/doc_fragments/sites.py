# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The sites a deployment may use (module_utils.module.SITES_ARGS).
    DOCUMENTATION = r"""
options:
  sites:
    description:
      - The candidate sites, best first; or leave them out and give O(sources) to have them
        ranked. The deployment goes to the first site that can run it; when that site fails (a
        provider error such as unreachable, out of quota, timed out) it moves to the next one,
        up to O(max_providers_retry) sites. A job that fails for good fails the
        deployment without moving on, as in INDIGO.
      - Each site is a mapping with C(name) (unique) and C(type), one of V(openstack),
        V(opennebula), V(ec2) (virtual machines), V(marathon) (long-running containers),
        V(chronos), V(slurm) (batch jobs) or V(local) (jobs on this host). The settings of each type are in the
        collection's C(docs/) (C(drivers.md), C(marathon.md), C(chronos.md), C(slurm.md)).
      - "V(local) sites take C(workdir) (default C(~/.local/share/paas-orchestrator/local)),
        C(slots) (jobs run at once, default: the number of CPUs) and C(all_in_one) (the
        template's Compute nodes are this machine, default V(false))."
      - Settings whose name looks secret (password, token, key...) are never recorded; give the
        same O(sites) again to resume or delete a deployment.
    type: list
    elements: dict
  max_providers_retry:
    description:
      - How many of the O(sites) may be tried, at most (INDIGO's C(maxProvidersRetry)).
        By default, all of them.
    type: int
  keep_last_attempt:
    description:
      - When the last site tried fails, leave what it created in place for inspection instead of
        deleting it (INDIGO's C(keepLastAttempt)).
    type: bool
    default: false
"""
