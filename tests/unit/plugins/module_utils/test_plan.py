# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils import plan as planning
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load

HEADER = "tosca_definitions_version: tosca_simple_yaml_1_0\n"


def sweep(parameters, extra_nodes="", max_parallel=""):
    return HEADER + """topology_template:
  inputs:
    n: {type: integer, default: 3}
  node_templates:
    work:
      type: tosca.nodes.paas.Job
      properties: {command: run}
    report:
      type: tosca.nodes.paas.Job
      properties: {command: report}
      requirements: [{parent_job: work}]
%s  policies:
    - sweep:
        type: tosca.policies.paas.ParameterSweep
        targets: [work]
        properties:
          parameters: %s
%s""" % (extra_nodes, parameters, max_parallel)


def build(text, params=None):
    return planning.build(load(text, params or {}, cache_dir=""))


def test_cartesian_product_with_inclusive_ranges():
    plan = build(sweep("{A: {start: 1, stop: {get_input: n}}, B: [x, y]}"))
    work = plan.of_node("work")
    assert [r.parameters for r in work] == [
        {"A": 1, "B": "x"}, {"A": 1, "B": "y"}, {"A": 2, "B": "x"}, {"A": 2, "B": "y"},
        {"A": 3, "B": "x"}, {"A": 3, "B": "y"}]
    assert [r.key for r in work] == ["work#%d" % i for i in range(6)]
    assert [r.key for r in plan.resources][-1] == "report#0"
    assert plan.parents(plan.by_key["report#0"]) == [r.key for r in work]


def test_range_with_step_and_max_parallel():
    limit = "          max_parallel: 2\n"
    plan = build(sweep("{A: {start: 10, stop: 0, step: -5}}", max_parallel=limit))
    assert [r.parameters["A"] for r in plan.of_node("work")] == [10, 5, 0]
    assert {r.group_limit for r in plan.of_node("work")} == {2}


@pytest.mark.parametrize("parameters, words", [
    ("{A: []}", "has no values"),
    ("{A: {start: 1, stop: 3, step: 0}}", "non-zero step"),
    ("{A: {start: a, stop: 3}}", "integer start"),
    ("{A: {start: 1, stop: 1000}, B: {start: 1, stop: 1000}}", "over the limit"),
    ("{}", "needs parameters"),
])
def test_bad_sweeps_name_the_policy(parameters, words):
    with pytest.raises(ToscaError) as info:
        build(sweep(parameters))
    assert words in str(info.value)
    assert info.value.node == "sweep"


def test_sweep_must_target_a_job():
    text = sweep("{A: [1]}", extra_nodes="    vm:\n      type: tosca.nodes.Compute\n") \
        .replace("targets: [work]", "targets: [vm]")
    with pytest.raises(ToscaError, match="'vm', which is not a job node"):
        build(text)


def test_count_gives_instances_and_zero_is_allowed():
    text = HEADER + """topology_template:
  node_templates:
    vm:
      type: tosca.nodes.Compute
    job:
      type: tosca.nodes.paas.Job
      properties: {command: run}
"""
    plan = build(text)
    assert [r.key for r in plan.resources] == ["vm#0", "job#0"]
    assert plan.by_key["vm#0"].kind == "vm"
