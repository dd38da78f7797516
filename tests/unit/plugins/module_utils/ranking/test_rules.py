# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Placement rules: loading (files, lists, errors naming the rule) and their effect on rank()."""

from __future__ import annotations

import json

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import (
    RankingError,
    RuleSet,
    load_rules,
    rank,
)
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.ranking.helpers import (
    catalog,
    monitored,
    probe_metrics,
    public_ip,
    service,
    slam_for,
    topology,
    vm,
)

RULES_YAML = """
rules:
  - name: prefer-bari
    description: CMS runs close to its data in Bari
    when: "group == 'cms'"
    match: "provider == 'BARI'"
    score: 10
  - name: no-ec2-for-students
    when: "group == 'students'"
    discard: "service_type == 'com.amazonaws.ec2'"
"""


def _ranked(result):
    return [(entry["rank"], entry["service_id"]) for entry in result["ranked"]]


def _three_sites():
    """Three OpenStack services with no SLAM: ranked on metrics (C > B > A)."""
    return catalog(
        service("A", provider="BARI"), service("B", provider="CNAF"),
        service("C", provider="IFCA", region="eu-west", properties={"tier": 2}),
        monitoring=[monitored("BARI", ("A", "org.openstack.nova",
                                       probe_metrics("A", create=(1, 100)))),
                    monitored("CNAF", ("B", "org.openstack.nova",
                                       probe_metrics("B", create=(1, 50)))),
                    monitored("IFCA", ("C", "org.openstack.nova",
                                       probe_metrics("C", create=(1, 20))))])


# --- loading ----------------------------------------------------------------------------------

def test_rules_load_from_a_yaml_file(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(RULES_YAML)
    rules = load_rules(str(path))
    assert [rule.name for rule in rules.rules] == ["prefer-bari", "no-ec2-for-students"]
    assert load_rules(path).rules[0].action == "score"  # a Path works too


def test_rules_load_from_a_json_file_a_list_a_mapping_or_nothing(tmp_path):
    spec = [{"name": "x", "discard": "provider == 'P'"}]
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": spec}))
    assert len(load_rules(str(path))) == 1
    assert len(load_rules(spec)) == 1
    assert len(load_rules({"rules": spec})) == 1
    assert len(load_rules(None)) == 0
    empty = tmp_path / "empty.yml"
    empty.write_text("\n")
    assert len(load_rules(str(empty))) == 0
    compiled = load_rules(spec)
    assert load_rules(compiled) is compiled


@pytest.mark.parametrize("spec, message", [
    ([{"name": "bad", "discard": "provider =="}],
     "Rule 'bad': 'discard' is not valid JMESPath"),
    ([{"name": "bad-when", "when": "group ==", "score": 1}],
     "Rule 'bad-when': 'when' is not valid JMESPath"),
    ([{"name": "bad-match", "match": "[?", "score": 1}],
     "Rule 'bad-match': 'match' is not valid JMESPath"),
    ([{"name": "bad-score", "score": "metrics.("}],
     "Rule 'bad-score': 'score' is not valid JMESPath"),
    ([{"name": "none"}], "Rule 'none' needs exactly one of discard, score or multiply"),
    ([{"name": "two", "score": 1, "multiply": 2}], "Rule 'two' needs exactly one"),
    ([{"name": "typo", "scroe": 1, "score": 1}], "Rule 'typo' has unknown keys: scroe"),
    ([{"name": "dup", "score": 1}, {"name": "dup", "score": 2}], "Rule 'dup' is defined twice"),
    ([{"score": 1}], "Rule #1 has no name"),
    (["just text"], "Rule #1 must be a mapping"),
    ([{"name": "m", "discard": "site == null", "match": "x"}], "a discard rule takes no"),
    ([{"name": "num", "discard": 3}], "Rule 'num': 'discard' must be a JMESPath expression"),
    ({"rules": [], "other": 1}, "holds only 'rules'"),
    ("/nonexistent/rules.yml", "Cannot read rules file /nonexistent/rules.yml"),
    (42, "Rules must be a list, not int"),
])
def test_bad_rules_are_a_ranking_error_naming_the_rule(spec, message):
    with pytest.raises(RankingError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_rules(spec)


def test_a_rules_file_that_is_not_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text("rules: [\n")
    with pytest.raises(RankingError, match="Rules file .*broken.yml: Not valid YAML"):
        load_rules(str(path))
    path = tmp_path / "broken.json"
    path.write_text("{")
    with pytest.raises(RankingError, match="broken.json is not valid JSON"):
        load_rules(str(path))


def test_rule_error_carries_the_rule_name():
    with pytest.raises(RankingError) as caught:
        load_rules([{"name": "named", "discard": "(("}])
    assert caught.value.rule == "named"


# --- when: per user, group, use case, template -------------------------------------------------

def test_when_selects_rules_by_user_group_use_case_and_template():
    rules = load_rules([
        {"name": "for-cms", "when": "group == 'cms'", "score": 1},
        {"name": "for-alice", "when": "user == 'alice'", "score": 1},
        {"name": "for-batch", "when": "use_case == 'batch'", "score": 1},
        {"name": "for-vms", "when": "contains(template.node_types, 'tosca.nodes.indigo.Compute')",
         "score": 1},
        {"name": "for-tosca", "when": "template.deployment_kind == 'TOSCA'", "score": 1},
        {"name": "always", "score": 1},
    ])
    context = {"user": "bob", "group": "cms", "use_case": None,
               "template": {"deployment_kind": "TOSCA",
                            "node_types": ["tosca.nodes.indigo.Compute"]}}
    assert [rule.name for rule in rules.active(context)] == [
        "for-cms", "for-vms", "for-tosca", "always"]


# --- effects on rank() ------------------------------------------------------------------------

def test_without_rules_the_metrics_order_stands():
    assert _ranked(rank(topology(vm()), _three_sites())) == [(1, "C"), (2, "B"), (3, "A")]


def test_a_score_rule_reorders_and_renumbers_and_says_so():
    result = rank(topology(vm()), _three_sites(), rules=[
        {"name": "prefer-bari", "when": "group == 'cms'", "match": "provider == 'BARI'",
         "score": 10}], context={"group": "cms"})
    assert _ranked(result) == [(1, "A"), (2, "C"), (3, "B")]
    assert result["ranked"][0]["reasons"][-1] == "rule prefer-bari: +10"
    assert result["ranked"][0]["score"] == 11.0  # metrics score 1 + 10
    assert result["ranked"][0]["total_score"] == 1.0  # CPR's own score is kept apart


def test_a_rule_whose_when_does_not_hold_does_nothing():
    rules = [{"name": "prefer-bari", "when": "group == 'cms'", "match": "provider == 'BARI'",
              "score": 10}]
    result = rank(topology(vm()), _three_sites(), rules=rules, context={"group": "atlas"})
    assert _ranked(result) == [(1, "C"), (2, "B"), (3, "A")]


def test_a_discard_rule_moves_the_site_to_discarded_with_the_rule_named():
    rules = [{"name": "no-ifca", "discard": "provider == 'IFCA'"}]
    result = rank(topology(vm()), _three_sites(), rules=rules)
    assert _ranked(result) == [(1, "B"), (2, "A")]
    assert {"service_id": "C", "provider": "IFCA", "reasons": ["rule no-ifca: discarded"]} \
        in result["discarded"]


def test_multiply_and_expression_scores_and_rule_order():
    rules = [{"name": "double-a", "match": "service_id == 'A'", "multiply": 10},
             {"name": "tier", "score": "properties.tier"},  # null for A and B: no change
             {"name": "halve-fast", "match": "score > `4`", "multiply": 0.5}]
    result = rank(topology(vm()), _three_sites(), rules=rules)
    scores = {entry["service_id"]: entry["score"] for entry in result["ranked"]}
    assert scores == {"A": 5.0, "B": 2.0, "C": 3.5}  # A 1x10/2, B 2, C (5+2)/2
    assert _ranked(result) == [(1, "A"), (2, "C"), (3, "B")]
    reasons = {entry["service_id"]: entry["reasons"] for entry in result["ranked"]}
    assert reasons["A"][-2:] == ["rule double-a: x10", "rule halve-fast: x0.5"]
    assert reasons["C"][-2:] == ["rule tier: +2", "rule halve-fast: x0.5"]


def test_a_discarded_site_meets_no_further_rule():
    rules = [{"name": "out", "discard": "service_id == 'A'"},
             {"name": "boom", "match": "service_id == 'A'", "score": "service_id"}]
    result = rank(topology(vm()), _three_sites(), rules=rules)
    assert [entry["service_id"] for entry in result["ranked"]] == ["C", "B"]


def test_candidate_view_fields_are_all_visible_to_rules():
    rules = [{"name": "look", "discard": " && ".join([
        "service_id == 'C'", "provider == 'IFCA'", "site.type == 'openstack'",
        "service_type == 'org.openstack.nova'", "properties.tier == `2`",
        "metrics.create_result == `1`", "total_score == `5`", "sla_weight == `0`",
        "region == 'eu-west'", "score == `5`"])}]
    result = rank(topology(vm()), _three_sites(), rules=rules)
    assert [entry["service_id"] for entry in result["discarded"]] == ["C"]


def test_a_score_expression_that_is_not_a_number_is_an_error_naming_rule_and_service():
    with pytest.raises(RankingError, match="Rule 'txt': score gave 'C' for service C"):
        rank(topology(vm()), _three_sites(), rules=[{"name": "txt", "score": "service_id"}])


def test_a_failing_function_is_an_error_naming_the_rule():
    with pytest.raises(RankingError, match="Rule 'fn': 'discard' failed"):
        rank(topology(vm()), _three_sites(),
             rules=[{"name": "fn", "discard": "contains(region, 'eu')"}])


def test_rules_move_sites_within_an_sla_weight_never_across_weights():
    slam = slam_for(("s-a", "BARI", "A", 0.9, [public_ip(1)]),
                    ("s-b", "CNAF", "B", 0.5, [public_ip(100)]),
                    ("s-c", "IFCA", "C", 0.5, [public_ip(50)]))
    data = catalog(service("A", provider="BARI"), service("B", provider="CNAF"),
                   service("C", provider="IFCA"), slam=slam)
    assert _ranked(rank(topology(vm()), data)) == [(1, "A"), (2, "B"), (3, "C")]
    rules = [{"name": "push-c", "match": "service_id == 'C'", "score": 1000}]
    assert _ranked(rank(topology(vm()), data, rules=rules)) == [(1, "A"), (2, "C"), (3, "B")]


def test_rules_are_compiled_once_and_reused():
    rules = load_rules([{"name": "no-ifca", "discard": "provider == 'IFCA'"}])
    assert isinstance(rules, RuleSet)
    for _round in range(2):
        assert _ranked(rank(topology(vm()), _three_sites(), rules=rules)) == [(1, "B"),
                                                                              (2, "A")]
