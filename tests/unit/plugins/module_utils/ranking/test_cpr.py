# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CloudProviderRanker: CPR's own golden data, and each rule of its algorithm."""

from __future__ import annotations

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import cpr
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.ranking.helpers import (
    fixture,
)


# --- golden data (indigo-dc/CloudProviderRanker src/test/resources) -------------------------

def test_rank_controller_golden_request_gives_the_golden_response_exactly():
    request = fixture("cloudproviderranker", "cpr-request.json")
    expected = fixture("cloudproviderranker", "cpr-response.json")
    assert cpr.rank_request(request) == expected


def test_rank_service_golden_input_gives_the_golden_output_exactly():
    entries = fixture("cloudproviderranker", "rs-input.json")
    expected = fixture("cloudproviderranker", "rs-output.json")
    assert [item.to_response() for item in cpr.run(entries)] == expected


def test_golden_scores_need_java_float_arithmetic():
    # in doubles the Chronos service scores 227.16347293...; CPR (float) prints 227.16348
    entries = fixture("cloudproviderranker", "rs-input.json")
    by_id = {item.service_id: item for item in cpr.run(entries)}
    item = by_id["eaa07cfcceb85cd11b8adacf35005a71"]
    assert round(215 + 315 * 0.0166 + 100 / 39 + 100 / 25 + 10 / 27, 5) == 227.16347
    assert cpr.short(item.total_score) == 227.16348
    assert cpr.short(item.sla_score) == 220.229
    assert cpr.short(item.metrics_score) == 6.934473


# --- SLA score --------------------------------------------------------------------------------

def test_sla_score_sums_restrictions_times_normalisation_factor():
    targets = [
        {"type": "public_ip", "restrictions": {
            "total_guaranteed": 10, "total_limit": 10, "user_guaranteed": 1, "user_limit": 3}},
        {"type": "computing_time", "restrictions": {
            "total_guaranteed": 20, "instance_limit": 5, "user_guaranteed": 10,
            "user_limit": 10, "total_limit": 5}}]
    assert cpr.short(cpr.sla_score(targets)) == 24.83  # 24 + 50 x 0.0166


def test_sla_score_other_target_types_reuse_the_previous_factor():
    # the DRL's switch has no default factor: num_cpus after computing_time is x 0.0166 too
    cpu = {"type": "num_cpus", "restrictions": {"total_limit": 100}}
    after_time = [{"type": "computing_time", "restrictions": {}}, cpu]
    after_ip = [{"type": "public_ip", "restrictions": {}}, cpu]
    assert cpr.short(cpr.sla_score(after_time)) == 1.66
    assert cpr.sla_score(after_ip) == 100.0
    assert cpr.sla_score([cpu]) == 100.0  # the factor starts at 1.0


def test_sla_score_missing_restrictions_count_zero_and_a_null_one_stops_the_sum():
    assert cpr.sla_score([{"type": "public_ip", "restrictions": {"user_limit": 4}}]) == 4.0
    broken = [{"type": "public_ip", "restrictions": {"user_limit": 4}},
              {"type": "public_ip", "restrictions": {"user_limit": None, "total_limit": 9}},
              {"type": "public_ip", "restrictions": {"user_limit": 4}}]
    assert cpr.sla_score(broken) == 4.0  # the rule's NullPointerException keeps what it had


# --- metrics score ----------------------------------------------------------------------------

@pytest.mark.parametrize("service_type", [cpr.OPENSTACK, cpr.MARATHON, cpr.CHRONOS])
def test_probe_score_counts_successful_probes_by_inverse_response_time(service_type):
    metrics = {"create_result": 1, "create_responseTime": 50, "run_result": 1,
               "run_responseTime": 20, "delete_result": 1, "delete_responseTime": 10}
    assert cpr.short(cpr.metrics_score(service_type, metrics)) == 8.0  # 2 + 5 + 1


def test_probe_score_skips_failed_and_zero_time_probes():
    metrics = {"create_result": 0, "create_responseTime": 50, "run_result": 1,
               "run_responseTime": 0, "delete_result": 1, "delete_responseTime": 10}
    assert cpr.metrics_score(cpr.OPENSTACK, metrics) == 1.0


def test_probe_score_stops_at_the_first_missing_metric():
    metrics = {"create_result": 1, "create_responseTime": 50, "delete_result": 1,
               "delete_responseTime": 10}
    assert cpr.metrics_score(cpr.OPENSTACK, metrics) == 2.0  # run_* missing: delete not added


def test_mesos_score_is_free_cpu_gpu_and_memory_in_gb():
    metrics = {"master.cpu_total": 72, "master.cpu_used": 15, "master.gpu_total": 3,
               "master.gpu_used": 1, "master.mem_total": 320265, "master.mem_used": 134864}
    expected = 57 + 2 + (320265 - 134864) / 1024
    assert cpr.metrics_score(cpr.MESOS, metrics) == pytest.approx(expected, rel=1e-6)
    assert cpr.metrics_score(cpr.MESOS, {"master.cpu_total": 4}) == 0.0


def test_other_service_types_have_no_metrics_score():
    assert cpr.metrics_score("IaaS", {"create_result": 1, "create_responseTime": 1}) is None
    assert cpr.metrics_score("eu.egi.cloud.vm-management.opennebula", {}) is None


# --- entries, totals, ranks --------------------------------------------------------------------

def _entry(service_id, weight=None, targets=None, metrics=None, service_type="compute",
           parent=None, provider="P"):
    return {"service_id": service_id, "provider": provider, "serviceType": service_type,
            "slaWeight": weight, "targets": targets, "metrics": metrics,
            "serviceParentId": parent}


def _ip(amount):
    return [{"type": "public_ip", "restrictions": {"total_limit": amount}}]


def _by_id(results):
    return {item.service_id: item for item in results}


def test_weight_dominates_score_and_rank_one_is_best():
    results = cpr.run({"a": _entry("a", 0.9, _ip(1)), "b": _entry("b", 0.1, _ip(1000)),
                       "c": _entry("c", 0.9, _ip(5))})
    assert [(item.service_id, item.rank) for item in results] == [("b", 3), ("a", 2),
                                                                  ("c", 1)]


def test_a_parent_adds_its_scores_to_its_children():
    mesos = _entry("mesos", service_type=cpr.MESOS,
                   metrics={"master.cpu_total": 10, "master.cpu_used": 4})
    marathon = _entry("marathon", 0.5, _ip(1), parent="mesos")
    items = _by_id(cpr.run({"mesos": mesos, "marathon": marathon}))
    assert items["marathon"].total_score == 7.0
    assert items["marathon"].parent_score == 6.0
    assert not items["mesos"].ranked  # monitoring only: no SLA, never ranked


def test_services_without_sla_or_with_zero_total_are_not_ranked():
    items = _by_id(cpr.run({"zero": _entry("zero", 0.5, _ip(0)),
                            "nosla": _entry("nosla", metrics={"create_result": 1,
                                                              "create_responseTime": 1},
                                            service_type=cpr.OPENSTACK),
                            "ok": _entry("ok", 0.5, _ip(1))}))
    assert (items["zero"].ranked, items["zero"].rank) == (False, -1)
    assert (items["nosla"].ranked, items["nosla"].rank) == (False, -1)
    assert (items["ok"].ranked, items["ok"].rank) == (True, 1)


def test_rank_all_ranks_zero_totals_but_never_services_without_sla():
    items = _by_id(cpr.run({"zero": _entry("zero", 0.0, []), "nosla": _entry("nosla")},
                           rank_all=True))
    assert items["zero"].ranked and items["zero"].rank == 1
    assert not items["nosla"].ranked


def test_full_ties_go_to_the_service_given_first():
    results = cpr.run({name: _entry(name, 0.5, _ip(3)) for name in ("first", "second",
                                                                    "third")})
    assert [(item.service_id, item.rank) for item in results] == [
        ("third", 3), ("second", 2), ("first", 1)]


def test_build_entries_a_later_priority_overwrites_and_monitoring_sets_type_and_parent():
    request = {
        "preferences": [{"service_type": "compute", "priority": [
            {"sla_id": "s1", "service_id": "svc", "weight": 0.2},
            {"sla_id": "s2", "service_id": "svc", "weight": 0.7}]}],
        "sla": [{"id": "s1", "provider": "P1",
                 "services": [{"service_id": "svc", "targets": _ip(1)}]},
                {"id": "s2", "provider": "P2",
                 "services": [{"service_id": "svc", "targets": _ip(2)}]}],
        "monitoring": [{"provider": "P9", "services": [
            {"service_id": "svc", "type": cpr.MARATHON, "service_parent_id": "mesos",
             "metrics": [{"metricName": "run_result", "metricValue": 1}]},
            {"service_id": "other", "type": cpr.MESOS, "metrics": []}]}],
    }
    entries = cpr.build_entries(request)
    assert entries["svc"]["slaWeight"] == cpr.f32(0.7)
    assert entries["svc"]["slaId"] == "s2"
    assert entries["svc"]["targets"] == _ip(2)
    assert entries["svc"]["provider"] == "P9"  # monitoring's provider wins, as in CPR
    assert entries["svc"]["serviceType"] == cpr.MARATHON
    assert entries["svc"]["serviceParentId"] == "mesos"
    assert entries["svc"]["metrics"] == {"run_result": 1}
    assert "targets" not in entries["other"] and entries["other"]["metrics"] == {}


def test_build_entries_refuses_a_priority_with_an_unknown_sla_or_service():
    missing_sla = {"preferences": [{"priority": [{"sla_id": "x", "service_id": "s"}]}],
                   "sla": []}
    with pytest.raises(LookupError, match="SLA x"):
        cpr.build_entries(missing_sla)
    missing_service = {"preferences": [{"priority": [{"sla_id": "x", "service_id": "s"}]}],
                       "sla": [{"id": "x", "services": []}]}
    with pytest.raises(LookupError, match="does not cover service s"):
        cpr.build_entries(missing_service)


@pytest.mark.parametrize("value, printed", [
    (0.5, 0.5), (7.316, 7.316), (24.83, 24.83), (218.1633, 218.1633),
    (227.16348, 227.16348), (1 / 3, 0.33333334), (0.0, 0.0), (None, None),
])
def test_short_prints_a_float_as_java_does(value, printed):
    assert cpr.short(None if value is None else cpr.f32(value)) == printed


def test_f32_overflow_is_infinity():
    assert cpr.f32(1e300) == float("inf")
    assert cpr.f32(-1e300) == float("-inf")
