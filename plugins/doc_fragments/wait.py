# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Waiting and deadlines (module_utils.module.WAIT_ARGS).
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until the deployment is complete or failed (or, with O(state=absent), gone).
      - With V(false) the module does the steps that can be done now and returns; call it again
        (or poll with P(paas.orchestrator.deployment_info#module)) to go on.
    type: bool
    default: true
  timeout:
    description:
      - "Seconds the deployment may take in all, counted from its creation, across calls (INDIGO's
        C(timeoutMins)). Past it the deployment is V(CREATE_FAILED) with
        C(Timeout: Maximum execution time exceeded.)."
      - With O(state=absent), how long to wait for the deletion.
    type: int
    default: 3600
  provider_timeout:
    description:
      - Seconds one site may take before the deployment moves on to the next site (INDIGO's
        C(providerTimeoutMins)). Must not be more than O(timeout).
    type: int
"""
