# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import paas_types
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca.conftest import (
    template,
)

HEADER = "tosca_definitions_version: tosca_simple_yaml_1_0\n"
BUNDLED = os.path.join(os.path.dirname(os.path.realpath(__file__)), *[os.pardir] * 5,
                       "playbooks", "tosca", "sweep_jobs.yaml")


def jobs(body, inputs=""):
    return HEADER + "topology_template:\n" + inputs + "  node_templates:\n" + body


def test_bundled_sweep_template_loads_with_no_import():
    topology = load(BUNDLED, {"seeds": "3"}, cache_dir="")
    assert topology.deployment_kind == "JOB"
    assert topology.order == ["simulate", "collect"]
    assert topology.nodes["simulate"].required_by == ["collect"]
    (sweep,) = topology.policies
    assert sweep.properties["parameters"]["SEED"] == {"start": 1, "stop": 3}
    assert topology.nodes["collect"].properties["output_files"][0]["url"].startswith("file://")


def test_topology_shape():
    text = jobs("""
    first:
      type: tosca.nodes.paas.Job
      properties:
        command: { concat: [ "echo ", { get_input: word } ] }
        environment_variables:
          SIZE: { token: [ { get_input: spec }, "x", 1 ] }
    second:
      type: tosca.nodes.paas.Job
      properties:
        command: { get_property: [ first, command ] }
        retries: 2
      requirements:
        - parent_job: first
""", inputs="""  inputs:
    word: {type: string}
    spec: {type: string, default: 640x480}
""")
    topology = load(text, {"word": "hi"}, cache_dir="")
    first, second = topology.nodes["first"], topology.nodes["second"]
    assert first.properties["command"] == "echo hi"
    assert first.properties["environment_variables"] == {"SIZE": "480"}
    assert first.properties["retries"] == 0  # the type's default
    assert second.properties["command"] == "echo hi"
    assert second.requirements[0].to_dict()["node"] == "first"
    assert first.kind == "job" and first.ancestry == ["tosca.nodes.paas.Job", "tosca.nodes.Root"]
    data = topology.to_dict()
    assert data["graph"] == {"first": ["second"], "second": []}
    assert data["inputs"]["word"]["required"] is True
    assert "hi" not in repr(data["inputs"])


def test_cycle_names_the_nodes_in_it():
    text = jobs("""
    a:
      type: tosca.nodes.paas.Job
      properties: {command: "true"}
      requirements: [{parent_job: c}]
    b:
      type: tosca.nodes.paas.Job
      properties: {command: "true"}
      requirements: [{parent_job: a}]
    c:
      type: tosca.nodes.paas.Job
      properties: {command: "true"}
      requirements: [{parent_job: b}]
    d:
      type: tosca.nodes.paas.Job
      properties: {command: "true"}
""")
    with pytest.raises(ToscaError) as info:
        load(text, cache_dir="")
    message = str(info.value)
    assert "dependency loop" in message
    cycle = message.split("loop: ", 1)[1].split(" (")[0].split(" -> ")
    assert set(cycle) == {"a", "b", "c"} and cycle[0] == cycle[-1]


def test_unknown_type_names_the_node():
    with pytest.raises(ToscaError) as info:
        load(jobs("    web:\n      type: tosca.nodes.NoSuchThing\n"), cache_dir="")
    assert info.value.node == "web"
    assert "tosca.nodes.NoSuchThing" in str(info.value)


def test_unknown_property_names_node_and_property():
    with pytest.raises(ToscaError) as info:
        load(jobs("    j:\n      type: tosca.nodes.paas.Job\n"
                  "      properties: {command: ls, colour: red}\n"), cache_dir="")
    assert (info.value.node, info.value.prop) == ("j", "colour")


def test_mistyped_property_names_node_and_property():
    with pytest.raises(ToscaError) as info:
        load(jobs("    j:\n      type: tosca.nodes.paas.Job\n"
                  "      properties: {command: ls, retries: many}\n"), cache_dir="")
    assert (info.value.node, info.value.prop) == ("j", "retries")


def test_requirement_to_a_missing_node():
    with pytest.raises(ToscaError) as info:
        load(jobs("    j:\n      type: tosca.nodes.paas.Job\n      properties: {command: ls}\n"
                  "      requirements: [{parent_job: ghost}]\n"), cache_dir="")
    assert "ghost" in str(info.value)


@pytest.mark.parametrize("text, words", [
    ("just a string\n", "must be a mapping"),
    ("topology_template: {}\n", "Missing 'tosca_definitions_version'"),
    ("tosca_definitions_version: tosca_simple_yaml_7\n", "Unknown tosca_definitions_version"),
    (HEADER + "description: no topology\n", "no topology_template"),
    (HEADER + "topology_template:\n  node_templates: {}\n", "no node_templates"),
])
def test_malformed_templates(text, words):
    with pytest.raises(ToscaError, match=words):
        load(text + "\n", cache_dir="")


def test_missing_required_input_fails_before_anything_else():
    text = jobs("    j:\n      type: tosca.nodes.paas.Job\n"
                "      properties: {command: {get_input: cmd}}\n",
                inputs="  inputs:\n    cmd: {type: string}\n")
    with pytest.raises(ToscaError, match="Input <cmd> is required"):
        load(text, {}, cache_dir="")


def test_get_input_of_undeclared_input_in_a_node_is_an_error():
    text = jobs("    j:\n      type: tosca.nodes.paas.Job\n"
                "      properties: {command: {get_input: nope}}\n")
    with pytest.raises(ToscaError) as info:
        load(text, cache_dir="")
    assert "nope" in str(info.value)


WORKER_TYPES = """node_types:
  example.nodes.Worker:
    derived_from: tosca.nodes.SoftwareComponent
    requirements:
      - host:
          capability: tosca.capabilities.Compute
          node: tosca.nodes.Compute
          relationship: tosca.relationships.HostedOn
          occurrences: [1, 1]
  example.nodes.Scaled:
    derived_from: tosca.nodes.Compute
    capabilities:
      scalable:
        type: example.capabilities.Scalable
capability_types:
  example.capabilities.Scalable:
    derived_from: tosca.capabilities.Scalable
    properties:
      count: {type: integer, default: 1}
      removal_list: {type: list, required: false, entry_schema: {type: string}}
"""


def with_types(text):
    return text.replace("topology_template:", WORKER_TYPES + "topology_template:")


def test_host_may_be_missing_but_not_doubled():
    loose = with_types(template(nodes="""
    worker:
      type: example.nodes.Worker
"""))
    doubled = with_types(template(nodes="""
    worker:
      type: example.nodes.Worker
      requirements:
        - host: vm1
        - host: vm2
    vm1:
      type: tosca.nodes.Compute
    vm2:
      type: tosca.nodes.Compute
"""))
    assert load(loose, cache_dir="").nodes["worker"].requirements == []
    with pytest.raises(ToscaError, match='Relationship "host" in template "worker"'):
        load(doubled, cache_dir="")


def test_scalable_capability_and_policies():
    text = with_types(template(nodes="""
    vm:
      type: example.nodes.Scaled
      capabilities:
        scalable:
          properties:
            count: { get_input: n }
            removal_list: [ abc ]
    other:
      type: example.nodes.Scaled
""")).replace("topology_template:\n", "topology_template:\n  inputs:\n"
              "    n: {type: integer, default: 3}\n") + """  policies:
    - placement:
        type: tosca.policies.Placement
        targets: [vm]
"""
    topology = load(text, cache_dir="")
    assert topology.nodes["vm"].scalable["count"] == 3
    assert topology.nodes["vm"].scalable["removal_list"] == ["abc"]
    assert topology.nodes["other"].scalable["count"] == 1
    assert topology.summary()["instances"] == 4
    assert topology.policies[0].targets == ["vm"]


def test_policy_targeting_a_missing_node():
    text = template(nodes="\n    vm:\n      type: tosca.nodes.Compute\n") + """  policies:
    - placement:
        type: tosca.policies.Placement
        targets: [nothing]
"""
    with pytest.raises(ToscaError, match='"nothing" is not found'):
        load(text, cache_dir="")


def test_outputs_are_kept_as_expressions():
    text = template(nodes="\n    vm:\n      type: tosca.nodes.Compute\n") + """  outputs:
    ip:
      value: { get_attribute: [ vm, public_address ] }
"""
    assert load(text, cache_dir="").outputs == {
        "ip": {"description": None, "value": {"get_attribute": ["vm", "public_address"]}}}


def test_template_as_parsed_mapping():
    import yaml

    data = yaml.safe_load(jobs("    j:\n      type: tosca.nodes.paas.Job\n"
                               "      properties: {command: ls}\n"))
    assert load(data, cache_dir="").order == ["j"]


def test_missing_template_file():
    with pytest.raises(ToscaError, match="Cannot read the template"):
        load("/nonexistent/template.yaml", cache_dir="")


INDIGO_IMPORT = """imports:
  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml
"""


@pytest.mark.skipif(corpus.corpus_dir() is None, reason="the shared corpus is not here")
def test_indigo_mesos_apps_take_what_indigo_reads_from_them():
    app = """    web:
      type: tosca.nodes.indigo.Container.Application.Docker.Marathon
      properties: {command: serve, user: nobody}
      capabilities: {scalable: {properties: {count: 3}}}
      artifacts:
        image: {file: busybox, type: tosca.artifacts.Deployment.Image.Container.Docker}
    job:
      type: tosca.nodes.indigo.Container.Application.Docker.Chronos
      properties: {command: run, user: nobody}
"""
    loaded = load(HEADER + INDIGO_IMPORT + "topology_template:\n  node_templates:\n" + app,
                  mirror=corpus.mirror(corpus.corpus_dir()), cache_dir="")
    assert loaded.nodes["web"].capabilities["scalable"]["count"] == 3
    assert loaded.nodes["web"].properties["user"] == loaded.nodes["job"].properties["user"]


def test_indigo_extensions_leave_the_cached_type_as_it_was():
    name = "tosca.nodes.indigo.Container.Application.Docker.Marathon"
    cached = {"derived_from": "x", "properties": {"enable_https": {"type": "boolean"}}}
    merged = {name: cached}
    paas_types.extend_indigo_types(merged)
    assert cached == {"derived_from": "x", "properties": {"enable_https": {"type": "boolean"}}}
    assert set(merged[name]["properties"]) == {"enable_https", "user"}
    assert merged[name]["capabilities"]["scalable"]["type"] == "tosca.capabilities.indigo.Scalable"


@pytest.mark.skipif(corpus.corpus_dir() is None, reason="the shared corpus is not here")
def test_artifacts_take_inputs_as_indigo_templates_do():
    text = HEADER + INDIGO_IMPORT + """topology_template:
  inputs:
    image: {type: string, default: "deephdc/deep-oc-generic"}
  node_templates:
    job:
      type: tosca.nodes.indigo.Container.Application.Docker.Chronos
      properties: {command: run}
      artifacts:
        image: {file: {get_input: image}, type: tosca.artifacts.Deployment.Image.Container.Docker}
"""
    loaded = load(text, parameters={"image": "busybox:1.36"},
                  mirror=corpus.mirror(corpus.corpus_dir()), cache_dir="")
    assert loaded.nodes["job"].artifacts["image"]["file"] == "busybox:1.36"
