# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine placing deployments from a sites file: ranking, rules, failover in rank order."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.paas.orchestrator.plugins.module_utils.engine import (
    EXHAUSTED,
    NO_PROVIDER,
    Engine,
    EngineError,
    Request,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.placement import Placement
from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store

JOBS = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    job:
      type: tosca.nodes.paas.Job
      properties: {command: "echo done > out"}
"""
VM = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    vm: {type: tosca.nodes.Compute}
"""


@pytest.fixture
def store(tmp_path):
    with open_store(str(tmp_path / "store.db")) as opened:
        yield opened


def sites_file(tmp_path, broken=("fast",), slas=True):
    """Three local sites under one SLA each; the preference weights make `fast` best, then
    `medium`, then `slow` (INDIGO: the weight decides, rank 1 is the best)."""
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    sites, sla_list, priority = [], [], []
    for name, weight in (("slow", 0.1), ("medium", 0.5), ("fast", 0.9)):
        workdir = blocker / name if name in broken else tmp_path / ("site-" + name)
        sites.append({"name": name, "type": "local", "iam_enabled": False,
                      "settings": {"workdir": str(workdir), "slots": 2}})
        sla_list.append({"id": "sla-" + name, "provider": name, "services": [{
            "service_id": name, "targets": [{"type": "public_ip",
                                             "restrictions": {"total_guaranteed": 1}}]}]})
        priority.append({"sla_id": "sla-" + name, "service_id": name, "weight": weight})
    data = {"sites": sites}
    if slas:
        data.update(slas=sla_list, preferences=[{"service_type": "compute", "priority": priority}])
    path = tmp_path / "sites.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def deploy(store, template, placement, **kwargs):
    request = Request(template=template, name="placed", placement=placement,
                      tosca_options={"cache_dir": ""}, **kwargs)
    return Engine(store).present(request)


def test_ranked_sites_are_tried_in_order_and_a_provider_error_moves_on(store, tmp_path):
    placement = Placement({"sites_file": sites_file(tmp_path)})
    result = deploy(store, JOBS, placement)
    deployment = result["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    assert deployment["cloudProviderName"] == "medium"
    assert [a["site"] for a in deployment["attempts"]] == ["fast", "medium"]
    assert "cannot run jobs" in deployment["attempts"][0]["error"]
    ranked = deployment["placement"]["ranked"]
    assert [(r["rank"], r["site"]) for r in ranked] == [(1, "fast"), (2, "medium"), (3, "slow")]
    assert all(r["reasons"] for r in ranked)


def test_every_ranked_site_failing(store, tmp_path):
    placement = Placement({"sites_file": sites_file(tmp_path, broken=("fast", "medium", "slow"))})
    deployment = deploy(store, JOBS, placement, max_providers_retry=2)["deployment"]
    assert deployment["status"] == "CREATE_FAILED"
    assert deployment["statusReason"].startswith(EXHAUSTED)
    assert "Cloud Provider fast" in deployment["statusReason"]
    assert "Cloud Provider medium" in deployment["statusReason"]
    assert "slow" not in deployment["statusReason"]


def test_rules_reorder_and_discard(store, tmp_path):
    """With no SLAs (no weights), sites rank in file order (slow, medium, fast); the rules of
    the user's group discard one and move another up."""
    rules = [{"name": "avoid-slow", "when": "group == 'careful'", "discard": "site.name == 'slow'"},
             {"name": "prefer-fast", "match": "site.name == 'fast'", "score": 100}]
    placement = Placement({"sites_file": sites_file(tmp_path, broken=(), slas=False)},
                          rules=rules, group="careful")
    deployment = deploy(store, JOBS, placement)["deployment"]
    assert deployment["cloudProviderName"] == "fast"
    assert [r["site"] for r in deployment["placement"]["ranked"]] == ["fast", "medium"]
    discarded = deployment["placement"]["discarded"]
    assert discarded[0]["service_id"] == "slow"
    assert "rule avoid-slow: discarded" in discarded[0]["reasons"]


def test_no_site_meets_the_requirements(store, tmp_path):
    placement = Placement({"sites_file": sites_file(tmp_path, broken=())})
    with pytest.raises(EngineError) as info:
        deploy(store, VM, placement)
    message = str(info.value)
    assert message.startswith(NO_PROVIDER)
    for name in ("fast", "medium", "slow"):
        assert name + ":" in message
    assert store.list_deployments() == []


def test_neither_sites_nor_sources(store):
    with pytest.raises(EngineError, match="Give the sites to deploy on"):
        deploy(store, JOBS, None)


def test_a_ranked_site_carries_its_tenant_for_the_vm_specs(tmp_path):
    from ansible_collections.paas.orchestrator.plugins.module_utils.placement import place, sites_of
    from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load

    path = tmp_path / "sites.yml"
    path.write_text(yaml.safe_dump({"sites": [{
        "name": "here", "type": "local", "iam_enabled": False,
        "tenant": {"tenant_name": "demo", "public_network_name": "public",
                   "private_network_name": "private"}}]}))
    ranking, _warnings = place(load(JOBS, {}, cache_dir=""), Placement({"sites_file": str(path)}))
    (site,) = sites_of(ranking)
    assert site["name"] == "here"
    assert site["tenant"]["public_network_name"] == "public"
