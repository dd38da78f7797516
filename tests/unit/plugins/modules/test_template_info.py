# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.paas.orchestrator.plugins.modules import template_info

TEMPLATE = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  inputs:
    db_password: {type: string}
    count: {type: integer, default: 1}
  node_templates:
    job:
      type: tosca.nodes.paas.Job
      properties:
        command: run
        environment_variables:
          DB_PASSWORD: { get_input: db_password }
"""


def run(capsys, **args):
    args.setdefault("import_cache", "")
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            template_info.main()
    result = json.loads(capsys.readouterr().out)
    return exit_info.value.code, result


def test_describes_the_template(capsys):
    code, result = run(capsys, template=TEMPLATE,
                       parameters={"db_password": "s3cr3t-value", "count": "2"})
    assert code == 0
    assert result["changed"] is False
    assert result["deployment_kind"] == "JOB"
    assert result["order"] == ["job"]
    assert result["inputs"]["count"]["default"] == 1
    assert result["summary"]["kinds"] == {"job": 1}
    assert result["nodes"]["job"]["kind"] == "job"


def test_secret_looking_inputs_are_masked(capsys):
    _code, result = run(capsys, template=TEMPLATE, parameters={"db_password": "s3cr3t-value"})
    assert "s3cr3t-value" not in json.dumps(result)
    assert result["nodes"]["job"]["properties"]["environment_variables"]["DB_PASSWORD"] != \
        "s3cr3t-value"


def test_check_mode_is_the_same(capsys):
    code, result = run(capsys, template=TEMPLATE, parameters={"db_password": "x"},
                       _ansible_check_mode=True)
    assert code == 0 and result["order"] == ["job"]


def test_bad_template_fails_naming_the_fault(capsys):
    code, result = run(capsys, template=TEMPLATE.replace("command: run", "command: run\n"
                                                         "        colour: red"),
                       parameters={"db_password": "x"})
    assert code == 1
    assert result["failed"] is True
    assert result["error"]["node"] == "job"
    assert result["error"]["property"] == "colour"
    assert 'unknown field "colour"' in result["msg"]


def test_missing_input_fails(capsys):
    code, result = run(capsys, template=TEMPLATE)
    assert code == 1
    assert result["msg"].startswith("Input <db_password> is required")
    assert result["error"]["property"] == "db_password"


def test_unknown_parameter_is_a_warning(capsys):
    code, result = run(capsys, template=TEMPLATE, parameters={"db_password": "x", "cuont": 3})
    assert code == 0
    assert "cuont" in json.dumps(result["warnings"])  # 2.19 wraps warnings in summaries
