# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.paas.orchestrator.plugins.modules import deployment, deployment_info

TEMPLATE = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  inputs:
    db_password: {type: string, default: pw-0000-secret}
  node_templates:
    job:
      type: tosca.nodes.paas.Job
      properties: {command: "echo $PW > pw", environment_variables: {PW: {get_input: db_password}}}
"""


def run(module, capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            module.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


@pytest.fixture
def common(tmp_path):
    return {"store": str(tmp_path / "store.db"), "import_cache": "",
            "sites": [{"name": "here", "type": "local", "workdir": str(tmp_path / "site"),
                       "api_token": "site-secret-value"}]}


def test_lifecycle(capsys, common):
    code, checked = run(deployment, capsys, name="d", template=TEMPLATE, _ansible_check_mode=True,
                        **common)
    assert code == 0 and checked["changed"] and checked["deployment"] is None
    assert [p["key"] for p in checked["planned"]] == ["job#0"]
    assert checked["diff"] == {"before": {"state": "absent"}, "after": {
        "status": "CREATE_IN_PROGRESS", "resources": 1, "cloudProviderName": "here"}}
    code, created = run(deployment, capsys, name="d", template=TEMPLATE,
                        parameters={"db_password": "given-secret-pw"}, **common)
    assert code == 0 and created["changed"]
    assert created["deployment"]["status"] == "CREATE_COMPLETE"
    assert created["diff"] == {"before": {"state": "absent"}, "after": {
        "status": "CREATE_COMPLETE", "resources": 1, "cloudProviderName": "here"}}
    assert "given-secret-pw" not in json.dumps(created)
    assert "site-secret-value" not in json.dumps(created)
    code, again = run(deployment, capsys, name="d", template=TEMPLATE,
                      parameters={"db_password": "given-secret-pw"}, **common)
    assert code == 0 and not again["changed"]
    # the same deployment, spelled differently: a template text instead of a path
    code, again = run(deployment, capsys, name="d", template=TEMPLATE.rstrip("\n"),
                      parameters={"db_password": "other-secret-pw"}, **common)
    assert code == 0 and not again["changed"], again.get("msg")
    code, deleted = run(deployment, capsys, name="d", state="absent", _ansible_check_mode=True,
                        **common)
    assert deleted["changed"] and deleted["diff"]["after"] == {"state": "absent"}
    code, info = run(deployment_info, capsys, name="d", store=common["store"])
    assert [d["uuid"] for d in info["deployments"]] == [created["deployment"]["uuid"]]
    code, deleted = run(deployment, capsys, name="d", state="absent", **common)
    assert code == 0 and deleted["changed"] and deleted["deployment"] is None
    code, info = run(deployment_info, capsys, name="d", store=common["store"])
    assert code == 0 and info["deployments"] == []


def test_failed_deployment_fails_the_task(capsys, common):
    code, result = run(deployment, capsys, name="f", template=TEMPLATE.replace(
        '"echo $PW > pw"', '"exit 9"'), **common)
    assert code == 1
    assert result["msg"].startswith("Deployment %s is CREATE_FAILED: Error deploying: "
                                    % result["deployment"]["uuid"])
    assert "exit code 9" in result["msg"]


@pytest.mark.parametrize("args, words", [
    ({"name": "x", "template": TEMPLATE}, "missing: sites"),
    ({"template": TEMPLATE, "sites": [{"name": "a", "type": "local"}]}, "one of the following"),
    ({"name": "x", "template": TEMPLATE, "sites": [{"name": "a", "type": "local"}],
      "store": "mysql://nowhere/db"}, "mysql://nowhere/db"),
    ({"uuid": "0a8d5a28-3a0e-5d4a-9c1f-6c1ad3b9a5a1", "template": TEMPLATE,
      "sites": [{"name": "a", "type": "local"}]},
     "The deployment 0a8d5a28-3a0e-5d4a-9c1f-6c1ad3b9a5a1 doesn't exist"),
])
def test_bad_arguments(capsys, tmp_path, args, words):
    args.setdefault("store", str(tmp_path / "store.db"))
    code, result = run(deployment, capsys, import_cache="", **args)
    assert code == 1 and words in result["msg"]


def test_info_lists_with_filters(capsys, common):
    run(deployment, capsys, name="a", template=TEMPLATE, created_by="alice", **common)
    run(deployment, capsys, name="b", template=TEMPLATE, created_by="bob", **common)
    _code, info = run(deployment_info, capsys, created_by="alice", store=common["store"])
    assert [d["name"] for d in info["deployments"]] == ["a"]
    _code, info = run(deployment_info, capsys, status="CREATE_FAILED", store=common["store"])
    assert info["deployments"] == []
    _code, info = run(deployment_info, capsys, uuid="00000000-0000-0000-0000-000000000000",
                      store=common["store"])
    assert info == dict(info, changed=False, deployments=[])
