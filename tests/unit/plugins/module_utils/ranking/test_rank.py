# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rank() end to end: INDIGO's ranking with SLAM data, ours without, data locality, the CPR
request it builds, and real INDIGO templates against the orchestrator's local CMDB/SLAM."""

from __future__ import annotations

import copy
import os

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import (
    DATA_LOCALITY_BONUS,
    RankingError,
    cpr,
    rank,
)
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.ranking.helpers import (
    I,
    catalog,
    fixture,
    fixtures_dir,
    indigo_catalog,
    load_template,
    monitored,
    node,
    probe_metrics,
    public_ip,
    service,
    site_service,
    slam_for,
    storage,
    topology,
    vm,
)


def _ids(result):
    return [entry["service_id"] for entry in result["ranked"]]


def _reasons(result):
    return {entry["service_id"]: entry["reasons"] for entry in result["discarded"]}


# --- with SLAM data: INDIGO, end to end ---------------------------------------------------------

def _cpr_catalog():
    """CPR's golden request as a catalog: its SLAM data and monitoring, and every SLA'd service
    as an OpenStack service that fits the VM (the monitoring keeps each one's real type)."""
    request = fixture("cloudproviderranker", "cpr-request.json")
    services = {}
    for sla in request["sla"]:
        for item in sla["services"]:
            services[item["service_id"]] = service(item["service_id"], provider=sla["provider"])
    slam = {"preferences": [{"customer": "deep-hdc", "preferences": request["preferences"]}],
            "sla": request["sla"]}
    return request, catalog(*services.values(), slam=slam, monitoring=request["monitoring"])


def test_with_slam_data_rank_is_the_cloud_provider_rankers_to_the_digit():
    request, data = _cpr_catalog()
    expected = fixture("cloudproviderranker", "cpr-response.json")
    result = rank(topology(vm()), data)
    assert result["request"] == request  # nothing discarded: INDIGO's very request
    best_first = sorted((item for item in expected if item["ranked"]),
                        key=lambda item: item["rank"])
    assert [(e["rank"], e["service_id"], e["total_score"], e["sla_weight"], e["score"])
            for e in result["ranked"]] == [
        (item["rank"], item["service_id"], item["total_score"], item["sla_weight"],
         item["total_score"]) for item in best_first]
    assert result["discarded"] == []


def test_ranked_entries_explain_their_scores():
    _request, data = _cpr_catalog()
    first = rank(topology(vm()), data)["ranked"]
    chronos = next(e for e in first if e["service_id"] == "eaa07cfcceb85cd11b8adacf35005a71")
    assert chronos["reasons"] == ["sla weight 0.5 (SLA 5bfbc09aa9a88f528bf5114d)",
                                  "sla score 220.229", "metrics score 6.934473",
                                  "total score 227.16348"]
    assert chronos["provider"] == "provider-RECAS-BARI"
    assert chronos["site"]["type"] == "openstack"  # the catalog's site, for the engine


def test_a_discarded_service_leaves_the_request_as_indigo_removes_it():
    request, data = _cpr_catalog()
    psnc = "99f82787b0522954505d2bc835008849"
    data["services"][psnc]["iam_enabled"] = True  # accepts no issuer: discarded
    result = rank(topology(vm()), data, issuer="https://iam.example.org/")
    assert psnc not in _ids(result)
    sent = result["request"]
    assert psnc not in [p["service_id"] for pref in sent["preferences"]
                        for p in pref["priority"]]
    # its provider has no compute service left: its SLA goes, and the empty storage
    # preference is dropped as INDIGO's discardProvidersAndServices does
    assert [sla["provider"] for sla in sent["sla"]].count("provider-PSNC") == 0
    assert [pref["service_type"] for pref in sent["preferences"]] == ["compute"]
    assert sent["monitoring"] == request["monitoring"]  # PSNC had none
    expected = sorted((item for item in cpr.rank_request(sent) if item["ranked"]),
                      key=lambda item: item["rank"])
    assert [(e["rank"], e["service_id"]) for e in result["ranked"]] == [
        (item["rank"], item["service_id"]) for item in expected]
    assert len(expected) == 6


def test_with_slam_data_a_service_under_no_sla_is_not_ranked():
    data = catalog(service("sla'd"), service("free"),
                   slam=slam_for(("s1", "P1", "sla'd", 0.5, [public_ip(1)])))
    result = rank(topology(vm()), data)
    assert _ids(result) == ["sla'd"]
    assert _reasons(result)["free"] == [
        "no SLA of the user's group covers it (with SLAM data only services under an SLA are "
        "ranked, as in INDIGO)"]


def test_with_slam_data_zero_scores_and_missing_preferences_are_not_ranked():
    slam = slam_for(("s1", "P1", "zero", 0.5, [public_ip(0)]))
    slam["sla"].append({"id": "s2", "provider": "P1",
                        "services": [{"service_id": "unlisted", "targets": [public_ip(5)]}]})
    result = rank(topology(vm()), catalog(service("zero"), service("unlisted"), slam=slam))
    assert result["ranked"] == []
    assert _reasons(result) == {
        "zero": ["the CloudProviderRanker did not rank it: its total score is 0"],
        "unlisted": ["no SLAM preference of the user's group lists it, so the "
                     "CloudProviderRanker does not rank it"]}


def test_slam_data_that_contradicts_itself_is_a_ranking_error():
    slam = slam_for(("s1", "P1", "a", 0.5, [public_ip(1)]))
    slam["preferences"][0]["preferences"][0]["priority"].append(
        {"sla_id": "ghost", "service_id": "a", "weight": 0.1})
    with pytest.raises(RankingError, match="SLAM data contradicts itself: a preference names "
                                           "SLA ghost"):
        rank(topology(vm()), catalog(service("a"), slam=slam))


# --- without SLAM: every prefiltered service ranked ---------------------------------------------

def test_without_slam_services_are_ranked_on_metrics_then_in_catalog_order():
    data = catalog(service("quiet-1"), service("slow", provider="P2"), service("quiet-2"),
                   service("fast", provider="P3"),
                   monitoring=[monitored("P2", ("slow", "org.openstack.nova",
                                                probe_metrics("slow", create=(1, 200)))),
                               monitored("P3", ("fast", "org.openstack.nova",
                                                probe_metrics("fast", create=(1, 20))))])
    result = rank(topology(vm()), data)
    assert _ids(result) == ["fast", "slow", "quiet-1", "quiet-2"]
    assert [e["rank"] for e in result["ranked"]] == [1, 2, 3, 4]
    first = result["ranked"][0]
    assert first["sla_weight"] == 0.0 and first["total_score"] == 5.0
    assert first["reasons"] == ["no SLA data: sla weight 0, sla score 0", "metrics score 5.0",
                                "total score 5.0"]
    assert result["request"]["preferences"] == [] and result["request"]["sla"] == []


def test_without_slam_a_mesos_parent_boosts_its_frameworks():
    mesos_metrics = [{"metricName": "master.cpu_total", "metricValue": 64},
                     {"metricName": "master.cpu_used", "metricValue": 4}]
    data = catalog(service("m1", service_type="eu.indigo-datacloud.marathon"),
                   service("m2", provider="P2", service_type="eu.indigo-datacloud.marathon",
                           service_parent_id="mesos2"),
                   service("mesos2", provider="P2", service_type="eu.indigo-datacloud.mesos"),
                   monitoring=[monitored("P2", ("mesos2", "eu.indigo-datacloud.mesos",
                                                mesos_metrics))])
    app = node("app", I + "Container.Application.Docker.Marathon")
    result = rank(topology(app), data)
    assert _ids(result) == ["m2", "m1"]
    assert "parent mesos2 score 60.0" in result["ranked"][0]["reasons"]
    # the parent id came from the CMDB (the catalog), as INDIGO's GetProvidersRank takes it
    machine = result["request"]["monitoring"][0]["services"][0]
    assert machine["service_id"] == "mesos2"


def test_monitoring_of_providers_with_nothing_left_is_not_sent():
    data = catalog(service("a"), service("b", provider="P2", service_type="eu.deep.qcg"),
                   monitoring=[monitored("P1", ("a", "org.openstack.nova", [])),
                               monitored("P2", ("b", "eu.deep.qcg", []))])
    result = rank(topology(vm()), data)
    assert [entry["provider"] for entry in result["request"]["monitoring"]] == ["P1"]


def test_no_candidate_left_is_an_empty_ranking_with_reasons_not_an_error():
    result = rank(topology(vm()), catalog(service("m", service_type="eu.deep.qcg")))
    assert result["ranked"] == [] and _reasons(result)["m"]
    assert rank(topology(vm()), {})["ranked"] == []


def test_rank_does_not_change_the_catalog():
    _request, data = _cpr_catalog()
    before = copy.deepcopy(data)
    rank(topology(vm()), data, rules=[{"name": "r", "score": 1}])
    assert data == before


# --- data locality ------------------------------------------------------------------------------

def _batch_sites():
    return catalog(site_service("local-a", "local", provider="A"),
                   site_service("slurm-b", "slurm", provider="B"),
                   storage("s3-b", "B", "https://s3.b.example.org"))


def test_a_job_prefers_the_site_whose_provider_stores_its_input():
    job = node("job", "tosca.nodes.paas.Job",
               {"command": "run", "input_files": [{"url": "https://s3.b.example.org/in/x",
                                                   "path": "x"}]})
    result = rank(topology(job), _batch_sites())
    assert _ids(result) == ["slurm-b", "local-a"]
    assert result["ranked"][0]["score"] == DATA_LOCALITY_BONUS
    assert result["ranked"][0]["reasons"][-1] == (
        "data locality: input s3.b.example.org (node 'job') at this provider: +100")
    assert result["ranked"][1]["score"] == 0.0


def test_a_chronos_job_prefers_providers_supporting_its_onedata_space():
    data = catalog(service("c-a", provider="A", service_type="eu.indigo-datacloud.chronos"),
                   service("c-b", provider="B", service_type="eu.indigo-datacloud.chronos"),
                   data={"onedata": {"space": {"providers": ["B"]}}})
    nodes = [node("job", I + "Container.Application.Docker.Chronos",
                  {"uris": ["http://elsewhere.example.org/x"]}),
             node("data", I + "OnedataSpace", {"space": "space", "smartScheduling": False})]
    result = rank(topology(*nodes), data)
    assert _ids(result) == ["c-b", "c-a"]
    assert "OneData space 'space' (node 'data')" in result["ranked"][0]["reasons"][-1]


def test_data_locality_is_for_batch_deployments_only():
    data = catalog(service("a", provider="A"), service("b", provider="B"),
                   data={"onedata": {"space": {"providers": ["B"]}}})
    result = rank(topology(vm(), node("data", I + "OnedataSpace", {"space": "space"})), data)
    assert _ids(result) == ["a", "b"]
    assert all(entry["score"] == 0.0 for entry in result["ranked"])


# --- real templates against the orchestrator's local CMDB and SLAM ------------------------------

def test_indigo_compute_template_on_the_local_cmdb_and_slam():
    topo = load_template("orchestrator/src/test/resources/tosca/compute_tosca.yaml",
                         {"cpus": 2})
    # RECAS-BARI's OpenStack tenant belongs to the 'egi' organisation (cmdb.db)
    result = rank(topo, indigo_catalog(organisation="egi"))
    assert _ids(result) == ["RECAS-BARI_c8eacd25-30ea-4c42-97b7-14255eff65a9"]
    entry = result["ranked"][0]
    assert entry["total_score"] == 204.15 and entry["sla_weight"] == 0.5
    assert entry["flavors"]["my_server"]["flavor_name"] == "xxlarge"
    # for deep-hdc that tenant is not theirs: no images, no flavors (GetCmdbDataDeploy)
    result = rank(topo, indigo_catalog())
    assert result["ranked"] == []
    assert _reasons(result)["RECAS-BARI_c8eacd25-30ea-4c42-97b7-14255eff65a9"][0].startswith(
        "no image matches node 'my_server'")


def test_the_catalog_module_utils_sites_collects_ranks_as_indigo():
    from ansible_collections.paas.orchestrator.plugins.module_utils.sites import collect

    where = os.path.join(fixtures_dir(), "orchestrator")
    data = collect({"cmdb": {"file": os.path.join(where, "cmdb.db")},
                    "slam": {"file": os.path.join(where, "slam.db")}},
                   customer="deep-hdc", organisation="egi")
    topo = load_template("orchestrator/src/test/resources/tosca/compute_tosca.yaml",
                         {"cpus": 2})
    result = rank(topo, data)
    assert [(e["rank"], e["service_id"], e["total_score"]) for e in result["ranked"]] == [
        (1, "RECAS-BARI_c8eacd25-30ea-4c42-97b7-14255eff65a9", 204.15)]
    assert result["ranked"][0]["site"]["type"] == "openstack"
    assert result["request"]["sla"] == data["slam"]["sla"]


def test_indigo_helm_template_ranks_the_kubernetes_service():
    topo = load_template("tosca-types/examples/helm_minio.yaml")
    result = rank(topo, indigo_catalog(), issuer="https://iam.deep-hybrid-datacloud.eu/")
    assert _ids(result) == ["RECAS-BARI_6ffb1b5a-3275-4877-891a-0c2f63d99f64"]
    assert result["ranked"][0]["total_score"] == 40.83


def test_indigo_marathon_template_without_slam_on_the_local_cmdb():
    topo = load_template("orchestrator/src/test/resources/tosca/marathon_app.yaml")
    data = dict(indigo_catalog(), slam={})
    assert _ids(rank(topo, data)) == ["RECAS-BARI_33998a11-1cbd-45b6-9911-5b56fecacde6"]


def test_indigo_onedata_template_with_smart_scheduling():
    topo = load_template(
        "orchestrator/src/test/resources/tosca/onedata_requirements/tosca_onedata_requirements"
        ".yaml")
    data = dict(indigo_catalog(), slam={})
    data["data"] = {"onedata": {"user-space": {"providers": ["RECAS-BARI"]},
                                "INDIGO Service Space": {"providers": ["RECAS-BARI"]}}}
    chronos = "RECAS-BARI_ff8205c5-0a73-455e-b3d0-4b3b05e64d36"
    result = rank(topo, data)
    assert _ids(result) == [chronos]
    assert result["ranked"][0]["reasons"][-1].startswith(
        "data locality: OneData space 'user-space'")
    data["data"]["onedata"]["user-space"]["providers"] = ["ELSEWHERE"]
    assert "needs smartScheduling" in _reasons(rank(topo, data))[chronos][0]
