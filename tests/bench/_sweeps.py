# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the sweep benchmarks share: the trivial sweep template and the engine's timed run."""

from __future__ import annotations

import os
import time

from ansible_collections.paas.orchestrator.plugins.module_utils.engine import Engine, Request
from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store

# each instance writes its sweep value in its own directory, as the baselines' commands do
COMMAND = 'echo "$I" > out.txt'


def template(start, stop):
    """One trivial job swept over I = start..stop (inclusive)."""
    return """
tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    trivial:
      type: tosca.nodes.paas.Job
      properties:
        command: '%s'
  policies:
    - sweep:
        type: tosca.policies.paas.ParameterSweep
        targets: [trivial]
        properties:
          parameters:
            I: {start: %d, stop: %d}
""" % (COMMAND, start, stop)


def timed_deployment(workdir, text, site, name="bench", timeout=3600):
    """Seconds the engine takes to deploy ``text`` on ``site`` to CREATE_COMPLETE (a store in
    ``workdir``); the deployment is deleted afterwards, untimed."""
    store = open_store(os.path.join(workdir, "store.db"))
    try:
        request = Request(template=text, name=name, tosca_options={"cache_dir": ""},
                          sites=[site], timeout=timeout)
        engine = Engine(store)
        start = time.perf_counter()
        result = engine.present(request)
        elapsed = time.perf_counter() - start
        status = result["deployment"]["status"]
        if status != "CREATE_COMPLETE":
            raise SystemExit("engine run ended %s: %s" % (
                status, result["deployment"].get("statusReason")))
        engine.absent(request.uuid)
        return elapsed
    finally:
        store.close()
