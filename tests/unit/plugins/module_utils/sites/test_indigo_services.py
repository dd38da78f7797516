# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""collect() against INDIGO's services (real loopback servers) and their local files."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.sites import SourceError, collect
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.sites import (
    fixture_servers as fx,
)

RECAS = "RECAS-BARI"
MESOS = "RECAS-BARI_327b1deb-5b66-472f-bf42-d6832ab5b04d"
MARATHON = "RECAS-BARI_33998a11-1cbd-45b6-9911-5b56fecacde6"
KUBERNETES = "RECAS-BARI_6ffb1b5a-3275-4877-891a-0c2f63d99f64"
OPENSTACK = "RECAS-BARI_c8eacd25-30ea-4c42-97b7-14255eff65a9"
CHRONOS = "RECAS-BARI_ff8205c5-0a73-455e-b3d0-4b3b05e64d36"
INDIGO_CMDB_PATHS = ("/provider/id/", "/provider/list", "/service/id/", "/tenant/list",
                     "/tenant/id/")


@pytest.fixture
def cmdb_file(tmp_path):
    path = tmp_path / "cmdb.db"
    path.write_text(json.dumps(fx.cmdb_data()))
    return str(path)


@pytest.fixture
def slam_file(tmp_path):
    path = tmp_path / "slam.db"
    path.write_text(json.dumps(fx.slam_data()))
    return str(path)


# CMDB -------------------------------------------------------------------------------------------

def test_cmdb_rest_and_local_file_give_the_same_catalog(indigo, cmdb_file):
    rest = collect({"cmdb": {"url": indigo["cmdb"]}}, organisation="egi")
    local = collect({"cmdb": {"file": cmdb_file}}, organisation="egi")
    assert rest == local
    assert rest["providers"] == {RECAS: {"id": RECAS, "name": RECAS}}
    assert list(rest["services"]) == [MESOS, MARATHON, KUBERNETES, OPENSTACK, CHRONOS,
                                      fx.RECAS_ONEPROVIDER]
    assert rest["errors"] == [] and rest["slam"] == {} and rest["monitoring"] == []


def test_cmdb_rest_asks_indigos_paths_with_include_docs(indigo):
    collect({"cmdb": {"url": indigo["cmdb"]}}, organisation="egi")
    paths = indigo.paths("cmdb")
    assert paths, "the CMDB was not asked"
    for path in paths:
        parts = urlsplit(path)
        assert parts.query == "include_docs=true", path
        assert parts.path.startswith("/cmdb/v1/")
        assert parts.path[len("/cmdb/v1"):].startswith(INDIGO_CMDB_PATHS), path
    # Tenants by organisation: the whole list once, filtered here (as INDIGO does).
    assert sum(1 for path in paths if path.startswith("/cmdb/v1/tenant/list")) == 1
    assert "/cmdb/v1/service/id/%s/has_many/tenants?include_docs=true" % OPENSTACK in paths
    # Storage services have no tenants to look up.
    assert not any(fx.RECAS_ONEPROVIDER in path for path in paths)


def test_cmdb_service_fields_tenant_images_flavors_and_site(indigo):
    catalog = collect({"cmdb": {"url": indigo["cmdb"]}}, organisation="egi")
    openstack = catalog["services"][OPENSTACK]
    expected_tenant = {
        "tenant_id": "78d9ecb64353402bb621b569891c633a", "tenant_name": "DEEP_DEMO",
        "iam_organisation": "egi", "public_network_name": "public_net",
        "private_network_name": "private_net", "private_network_cidr": None,
        "private_network_proxy_host": None, "private_network_proxy_user": None}
    tenant = fx.cmdb_data()["tenants"]["a587c3e8-6f0f-425a-a897-be797f48d2f8"]
    assert openstack["tenant"] == expected_tenant
    assert openstack["images"] == tenant["images"]
    assert openstack["flavors"] == tenant["flavors"]
    assert openstack["supported_idps"] == [{"name": None,
                                            "issuer": "https://aai-dev.egi.eu/oidc/"}]
    assert (openstack["type"], openstack["iam_enabled"], openstack["idp_protocol"],
            openstack["public_ip_assignable"]) == ("compute", True, "oidc", False)
    assert openstack["site"] == {
        "name": OPENSTACK, "type": "openstack", "provider": RECAS, "service_id": OPENSTACK,
        "endpoint": "https://cloud.recas.ba.infn.it:5000/v3", "iam_enabled": True,
        "idp_protocol": "oidc", "tenant_name": "DEEP_DEMO"}
    services = catalog["services"]
    assert services[MARATHON]["site"]["type"] == "marathon"
    assert services[CHRONOS]["site"]["type"] == "chronos"
    assert services[MARATHON]["service_parent_id"] == MESOS
    assert services[MARATHON]["properties"]["load_balancer_ips"] == ["mesos-lb.recas.ba.infn.it"]
    # Known to INDIGO but no driver of ours: listed, not deployable.
    assert services[MESOS]["site"] is None and services[KUBERNETES]["site"] is None
    assert services[fx.RECAS_ONEPROVIDER]["type"] == "storage"
    assert services[fx.RECAS_ONEPROVIDER]["site"] is None


def test_tenant_is_the_service_tenants_intersected_with_the_organisations(indigo):
    # deep-hdc has tenants, but none on RECAS-BARI's OpenStack: no tenant, no images.
    deep = collect({"cmdb": {"url": indigo["cmdb"]}}, organisation="deep-hdc")
    assert deep["services"][OPENSTACK]["tenant"] is None
    assert deep["services"][OPENSTACK]["images"] == []
    assert "tenant_name" not in deep["services"][OPENSTACK]["site"]
    # No organisation: nothing to intersect with, the service's first tenant.
    anyone = collect({"cmdb": {"url": indigo["cmdb"]}})
    assert anyone["services"][OPENSTACK]["tenant"]["tenant_name"] == "DEEP_DEMO"


def test_cmdb_unknown_provider_named_by_an_sla_is_an_error(indigo):
    # indigo-demo's SLAs name provider-UPV-GRyCAP and provider-RECAS-BARI, unknown to the CMDB.
    with pytest.raises(SourceError) as caught:
        collect(indigo.sources(monitoring={"url": indigo["monitoring"]}), customer="indigo-demo",
                token=indigo.iam_token)
    assert "CMDB at %s has no provider 'provider-UPV-GRyCAP'" % indigo["cmdb"] in str(caught.value)
    assert caught.value.source == "cmdb"


# SLAM -------------------------------------------------------------------------------------------

def test_slam_scopes_the_cmdb_to_sla_services_and_all_storage(indigo, slam_file):
    catalog = collect({"cmdb": {"url": indigo["cmdb"]}, "slam": {"url": indigo["slam"]}},
                      customer="deep-hdc", organisation="egi", token=indigo.iam_token)
    assert catalog["slam"] == fx.slam_data()["deep-hdc"]
    assert list(catalog["services"]) == [KUBERNETES, OPENSTACK, fx.RECAS_ONEPROVIDER]
    slam_paths = indigo.paths("slam")
    assert slam_paths == ["/rest/slam/preferences/deep-hdc"]
    sent = [entry["headers"].get("Authorization") for entry in indigo.requests
            if entry["server"] == "slam"]
    assert sent == ["Bearer %s" % indigo.iam_token]
    local = collect({"cmdb": {"url": indigo["cmdb"]}, "slam": {"file": slam_file}},
                    customer="deep-hdc", organisation="egi")
    assert local == catalog


def test_slam_customer_defaults_to_the_organisation(indigo):
    catalog = collect({"slam": {"url": indigo["slam"]}}, organisation="deep-hdc",
                      token=indigo.iam_token)
    assert catalog["slam"]["sla"][0]["customer"] == "deep-hdc"


def test_slam_token_of_its_own_wins_over_the_argument(indigo):
    catalog = collect({"slam": {"url": indigo["slam"], "token": indigo.iam_token}},
                      customer="deep-hdc", token="another-token")
    assert catalog["slam"]["preferences"][0]["customer"] == "deep-hdc"


@pytest.mark.parametrize("policy", ["error", "warn", "skip"])
def test_slam_401_is_an_error_whatever_the_policy(indigo, policy):
    with pytest.raises(SourceError) as caught:
        collect({"slam": {"url": indigo["slam"]}}, customer="deep-hdc",
                token="expired-token-1234", on_unreachable=policy)
    message = str(caught.value)
    assert message.startswith("SLAM at %s: the token was refused" % indigo["slam"])
    assert "401" in message and "expired-token-1234" not in message
    assert caught.value.status == 401


def test_slam_unknown_customer_is_an_error(indigo, slam_file):
    with pytest.raises(SourceError, match="no preferences for customer 'nobody'.*404"):
        collect({"slam": {"url": indigo["slam"]}}, customer="nobody", token=indigo.iam_token)
    with pytest.raises(SourceError, match="has no preferences for customer 'nobody'"):
        collect({"slam": {"file": slam_file}}, customer="nobody")


def test_slam_needs_a_customer(indigo):
    with pytest.raises(SourceError, match="SLAM needs a customer"):
        collect({"slam": {"url": indigo["slam"]}}, token=indigo.iam_token)


# Monitoring -------------------------------------------------------------------------------------

def test_monitoring_gives_the_ranker_request_shape_back(indigo, sites_file):
    path = sites_file("""
        providers:
          - id: provider-RECAS-BARI
    """)
    catalog = collect({"sites_file": path, "monitoring": {"url": indigo["monitoring"]}})
    expected = fx.fixture("cloudproviderranker", "cpr-request.json")["monitoring"]
    assert catalog["monitoring"] == expected
    assert indigo.paths("monitoring") == [fx.MONITORING_PATH + "provider-RECAS-BARI"]


def test_monitoring_adds_the_cmdb_parent_of_each_service(indigo):
    catalog = collect({"cmdb": {"url": indigo["cmdb"]},
                       "monitoring": {"url": indigo["monitoring"]}}, organisation="egi")
    (block,) = catalog["monitoring"]
    assert block["provider"] == RECAS
    by_id = {service["service_id"]: service for service in block["services"]}
    assert set(by_id) == {MESOS, MARATHON, OPENSTACK, CHRONOS}
    assert by_id[MARATHON]["service_parent_id"] == MESOS
    assert by_id[CHRONOS]["service_parent_id"] == MESOS
    assert "service_parent_id" not in by_id[MESOS]
    assert list(by_id[MARATHON]) == ["service_id", "service_parent_id", "type", "metrics"]
    assert by_id[OPENSTACK]["type"] == "org.openstack.nova"
    names = {metric["metricName"] for metric in by_id[OPENSTACK]["metrics"]}
    assert {"create_result", "create_responseTime", "run_result", "delete_result"} <= names


@pytest.mark.parametrize("policy", ["error", "warn", "skip"])
def test_monitoring_per_provider_errors_are_recorded_and_skipped(indigo, sites_file, policy):
    path = sites_file("""
        providers:
          - {id: %s}
          - {id: provider-RECAS-BARI}
          - {id: %s}
          - {id: UNKNOWN-TO-ZABBIX}
    """ % (fx.EMPTY_PROVIDER, fx.FAILING_PROVIDER))
    catalog = collect({"sites_file": path, "monitoring": {"url": indigo["monitoring"]}},
                      on_unreachable=policy)
    assert [block["provider"] for block in catalog["monitoring"]] == ["provider-RECAS-BARI"]
    errors = catalog["errors"]
    assert [(error["source"], error["provider"]) for error in errors] == [
        ("monitoring", fx.EMPTY_PROVIDER), ("monitoring", fx.FAILING_PROVIDER),
        ("monitoring", "UNKNOWN-TO-ZABBIX")]
    assert "no metrics available for provider <%s>" % fx.EMPTY_PROVIDER in errors[0]["error"]
    assert "answered 500 Internal Server Error" in errors[1]["error"]
    assert "answered 404 Not Found" in errors[2]["error"]
    assert errors[1]["error"].startswith("monitoring at %s: GET " % indigo["monitoring"])


def test_monitoring_skips_public_clouds_as_indigo_does(indigo, sites_file):
    path = sites_file("""
        sites:
          - {name: aws, provider: amazon, type: ec2, is_public_service: true}
          - {name: recas, provider: provider-RECAS-BARI, type: openstack}
    """)
    collect({"sites_file": path, "monitoring": {"url": indigo["monitoring"]}})
    assert indigo.paths("monitoring") == [fx.MONITORING_PATH + "provider-RECAS-BARI"]


# Onezone ----------------------------------------------------------------------------------------

def test_onezone_maps_oneproviders_to_cmdb_storage_services(indigo):
    catalog = collect({"cmdb": {"url": indigo["cmdb"]},
                       "onezone": {"url": indigo["onezone"], "token": indigo.onedata_token}},
                      organisation="egi", spaces=["indigo-data"])
    assert catalog["data"] == {"onedata": {"indigo-data": {
        "providers": [RECAS],
        "oneproviders": [
            {"id": "op-recas", "domain": "oneprovider.recas.ba.infn.it", "provider": RECAS,
             "service_id": fx.RECAS_ONEPROVIDER},
            {"id": "op-elsewhere", "domain": "op.elsewhere.example.org", "provider": None,
             "service_id": None},
        ]}}}
    onezone = [entry for entry in indigo.requests if entry["server"] == "onezone"]
    assert [entry["path"] for entry in onezone] == [
        "/api/v3/onezone/user/spaces", "/api/v3/onezone/user/spaces/sp-1f0c",
        "/api/v3/onezone/user/spaces/sp-9a77", "/api/v3/onezone/providers/op-recas",
        "/api/v3/onezone/providers/op-elsewhere"]
    assert {entry["headers"]["X-Auth-Token"] for entry in onezone} == {indigo.onedata_token}
    assert not any("Authorization" in entry["headers"] for entry in onezone)


def test_onezone_token_from_the_iam_token_as_indigo_gets_it(indigo):
    catalog = collect({"cmdb": {"url": indigo["cmdb"]}, "onezone": {"url": indigo["onezone"]}},
                      organisation=indigo.organisation, token=indigo.iam_token,
                      spaces=["other-space", "indigo-data"])
    assert list(catalog["data"]["onedata"]) == ["other-space", "indigo-data"]
    assert catalog["data"]["onedata"]["other-space"]["providers"] == [RECAS]
    first = indigo.requests[len(indigo.paths("cmdb"))]
    assert first["path"] == "/api/v3/onezone/user/client_tokens"
    assert first["headers"]["X-Auth-Token"] == "egi:%s" % indigo.iam_token
    # Space details and provider domains are asked once each.
    paths = indigo.paths("onezone")
    assert paths.count("/api/v3/onezone/providers/op-recas") == 1
    assert paths.count("/api/v3/onezone/user/spaces/sp-1f0c") == 1


def test_onezone_unknown_space_is_an_error(indigo):
    with pytest.raises(SourceError) as caught:
        collect({"onezone": {"url": indigo["onezone"], "token": indigo.onedata_token}},
                spaces=["no-such-space"])
    assert str(caught.value) == ("Onezone at %s: no OneData space named 'no-such-space' among "
                                 "the user's 2 spaces" % indigo["onezone"])


def test_onezone_needs_a_token(indigo):
    with pytest.raises(SourceError, match="a OneData token is needed"):
        collect({"onezone": {"url": indigo["onezone"]}}, token=indigo.iam_token,
                spaces=["indigo-data"])
    with pytest.raises(SourceError, match=r"Onezone at .*GET /api/v3/onezone/user/spaces: "
                                          r"answered 401"):
        collect({"onezone": {"url": indigo["onezone"], "token": "wrong-onedata-token"}},
                spaces=["indigo-data"])


def test_onezone_is_not_asked_without_spaces(indigo):
    collect({"onezone": {"url": indigo["onezone"], "token": indigo.onedata_token}})
    assert indigo.paths("onezone") == []


# All four ---------------------------------------------------------------------------------------

def test_all_four_services_together(indigo):
    catalog = collect(indigo.sources(), customer="deep-hdc", organisation="egi",
                      token=indigo.iam_token, spaces=["indigo-data"])
    assert json.loads(json.dumps(catalog)) == catalog
    assert list(catalog["services"]) == [KUBERNETES, OPENSTACK, fx.RECAS_ONEPROVIDER]
    assert catalog["monitoring"][0]["provider"] == RECAS
    assert catalog["data"]["onedata"]["indigo-data"]["providers"] == [RECAS]
    assert catalog["errors"] == []
    text = json.dumps(catalog)
    assert indigo.iam_token not in text and indigo.onedata_token not in text
