# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's own TOSCA types, always available to templates (no import needed).

Kept as Python so that it travels with the module_utils to the host a module runs on.
"""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.yamlsafe import parse_trusted

DEFINITIONS_TEXT = """
tosca_definitions_version: tosca_simple_yaml_1_0
description: paas.orchestrator type library

data_types:
  tosca.datatypes.paas.StagedFile:
    derived_from: tosca.datatypes.Root
    description: A file copied between the job directory and a URL (http, https, s3, swift).
    properties:
      url:
        type: string
        required: true
      path:
        type: string
        required: true

capability_types:
  tosca.capabilities.paas.Job:
    derived_from: tosca.capabilities.Root
    description: Lets other jobs wait for this one (parent_job).

node_types:
  tosca.nodes.paas.Job:
    derived_from: tosca.nodes.Root
    description: >
      A batch job: a command run to completion, with retries, input files staged in, output
      files staged out, and parent jobs it waits for.
    properties:
      command:
        type: string
        required: true
      environment_variables:
        type: map
        required: false
        default: {}
        entry_schema:
          type: string
      uris:
        type: list
        required: false
        default: []
        entry_schema:
          type: string
      retries:
        type: integer
        required: false
        default: 0
        constraints:
          - greater_or_equal: 0
      num_cpus:
        type: float
        required: false
        default: 1.0
      mem_size:
        type: scalar-unit.size
        required: false
        default: 512 MB
      timeout:
        type: scalar-unit.time
        required: false
      input_files:
        type: list
        required: false
        default: []
        entry_schema:
          type: tosca.datatypes.paas.StagedFile
      output_files:
        type: list
        required: false
        default: []
        entry_schema:
          type: tosca.datatypes.paas.StagedFile
      credentials:
        type: map
        required: false
        description: >
          URL prefix -> credentials for staging (s3: access_key, secret_key, endpoint_url;
          swift: auth_url, user, key; http: username, password or token). Give the values
          through inputs: they are used by the job runner and never written anywhere.
        entry_schema:
          type: map
    attributes:
      job_dir:
        type: string
        description: The job's working directory on the site.
      attempts:
        type: integer
        description: How many times the job was started.
      exit_code:
        type: integer
        description: The exit code of its last attempt.
    capabilities:
      parent_job:
        type: tosca.capabilities.paas.Job
        occurrences: [0, UNBOUNDED]
    requirements:
      - parent_job:
          capability: tosca.capabilities.paas.Job
          node: tosca.nodes.paas.Job
          relationship: tosca.relationships.DependsOn
          occurrences: [0, UNBOUNDED]

  tosca.nodes.paas.Spark.Master:
    derived_from: tosca.nodes.SoftwareComponent
    description: A Spark standalone master, configured by the paas.orchestrator.spark role.
    properties:
      port:
        type: integer
        required: false
        default: 7077
      webui_port:
        type: integer
        required: false
        default: 8080

  tosca.nodes.paas.Spark.Worker:
    derived_from: tosca.nodes.SoftwareComponent
    description: >
      A Spark standalone worker of the master it requires, configured by the
      paas.orchestrator.spark role.
    properties:
      cores:
        type: integer
        required: false
        description: Cores offered to Spark (default all of the host's).
      memory:
        type: scalar-unit.size
        required: false
        description: Memory offered to Spark (default the host's less 1 GiB).
    requirements:
      - master:
          capability: tosca.capabilities.Node
          node: tosca.nodes.paas.Spark.Master
          relationship: tosca.relationships.DependsOn

policy_types:
  tosca.policies.paas.ParameterSweep:
    derived_from: tosca.policies.Root
    description: >
      Runs each target job once per combination of the parameter values (a cartesian product);
      each run sees its values as environment variables.
    properties:
      parameters:
        type: map
        required: true
        description: name -> list of values, or a range as {start, stop, step}
      max_parallel:
        type: integer
        required: false
        constraints:
          - greater_than: 0
"""

# What INDIGO's orchestrator reads from Mesos apps that its own type file does not declare
# (spec §5: a Marathon app's instances are its scalable.count; `user` becomes the app's user or
# the job's runAsUser), declared so that templates may set them.
_USER = {"user": {"type": "string", "required": False,
                  "description": "The user the container runs as."}}
INDIGO_EXTENSIONS = {
    "tosca.nodes.indigo.Container.Application.Docker.Marathon": {
        "properties": _USER,
        "capabilities": {"scalable": {"type": "tosca.capabilities.indigo.Scalable"}},
    },
    "tosca.nodes.indigo.Container.Application.Docker.Chronos": {"properties": _USER},
}

_parsed = None


def extend_indigo_types(node_types):
    """Add INDIGO_EXTENSIONS to the INDIGO types of ``node_types`` (a merged, per-load dict
    whose entries may be shared with the import cache: extended types are new dicts)."""
    for type_name, extension in INDIGO_EXTENSIONS.items():
        definition = node_types.get(type_name)
        if not isinstance(definition, dict):
            continue
        extended = dict(definition)
        for section, entries in extension.items():
            extended[section] = dict(entries, **(definition.get(section) or {}))
        node_types[type_name] = extended


def definitions():
    """The library as a dict, parsed once per process."""
    global _parsed
    if _parsed is None:
        _parsed = parse_trusted(DEFINITIONS_TEXT)
    return _parsed
