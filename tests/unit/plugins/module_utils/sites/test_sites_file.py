# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Our sites file: the documented example, validation, and merging with the CMDB and SLAM."""

from __future__ import annotations

import json
import os
import re

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.sites import SourceError, collect
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.sites import (
    fixture_servers as fx,
)

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                     *[os.pardir] * 5))
OPENSTACK = "RECAS-BARI_c8eacd25-30ea-4c42-97b7-14255eff65a9"
KUBERNETES = "RECAS-BARI_6ffb1b5a-3275-4877-891a-0c2f63d99f64"
MARATHON = "RECAS-BARI_33998a11-1cbd-45b6-9911-5b56fecacde6"


def documented_example():
    with open(os.path.join(ROOT, "docs", "sites.md")) as handle:
        text = handle.read()
    section = text.split("### A complete example", 1)[1]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def example(tmp_path):
    path = tmp_path / "sites.yml"
    path.write_text(documented_example())
    return str(path)


@pytest.fixture
def cmdb_file(tmp_path):
    path = tmp_path / "cmdb.db"
    path.write_text(json.dumps(fx.cmdb_data()))
    return str(path)


def test_documented_example_expresses_the_whole_catalog(example):
    catalog = collect({"sites_file": example}, customer="demo-group")
    assert json.loads(json.dumps(catalog)) == catalog
    assert catalog["providers"] == {
        "cnaf": {"id": "cnaf", "name": "INFN CNAF"},
        "hpc-lab": {"id": "hpc-lab", "name": "University HPC lab"},
        "laptop": {"id": "laptop", "name": "laptop"},
    }
    services = catalog["services"]
    assert list(services) == ["cnaf-openstack", "cnaf-mesos", "cnaf-marathon",
                              "cnaf-oneprovider", "lab-slurm", "laptop"]
    assert services["cnaf-openstack"] == {
        "id": "cnaf-openstack", "provider": "cnaf", "service_type": "org.openstack.nova",
        "type": "compute", "endpoint": "https://keystone.cloud.cnaf.infn.it:5000/v3",
        "region": "RegionOne", "hostname": None, "service_parent_id": None,
        "microversion": None, "rucio_rse": None, "iam_enabled": False, "idp_protocol": "oidc",
        "public_ip_assignable": True, "is_public_service": False,
        "supported_idps": [{"name": "indigo-iam", "issuer": "https://iam.example.org/"}],
        "volume_types": [{"name": "ssd", "qos": "high-iops"}, {"name": "standard", "qos": None}],
        "properties": {"gpu_support": True},
        "tenant": {"tenant_id": "6f1a2c", "tenant_name": "demo", "iam_organisation": None,
                   "public_network_name": "public", "private_network_name": "private",
                   "private_network_cidr": "10.10.0.0/24", "private_network_proxy_host": None,
                   "private_network_proxy_user": None},
        "images": [{"image_id": "3e5b-ubuntu", "image_name": "ubuntu-22.04",
                    "distribution": "ubuntu", "version": "22.04", "type": "linux",
                    "architecture": "x86_64"}],
        "flavors": [
            {"flavor_id": "2", "flavor_name": "m1.small", "num_vcpus": 1, "ram": 2048,
             "disk": 20, "num_gpus": 0},
            {"flavor_id": "9", "flavor_name": "g1.xlarge", "num_vcpus": 8, "ram": 32768,
             "disk": 80, "num_gpus": 1, "gpu_vendor": "nvidia", "gpu_model": "T4"}],
        "site": {"name": "cnaf-openstack", "type": "openstack", "provider": "cnaf",
                 "service_id": "cnaf-openstack",
                 "endpoint": "https://keystone.cloud.cnaf.infn.it:5000/v3",
                 "region": "RegionOne", "iam_enabled": False, "idp_protocol": "oidc",
                 "tenant_name": "demo",
                 "auth": {"auth_url": "https://keystone.cloud.cnaf.infn.it:5000/v3",
                          "application_credential_id": "8d1f0e"}},
    }
    assert services["cnaf-mesos"]["site"] is None
    assert services["cnaf-mesos"]["type"] == "compute"
    assert services["cnaf-marathon"]["service_parent_id"] == "cnaf-mesos"
    assert services["cnaf-marathon"]["site"]["username"] == "paas"
    assert (services["cnaf-oneprovider"]["type"], services["cnaf-oneprovider"]["site"]) == \
        ("storage", None)
    assert services["lab-slurm"]["service_type"] == "paas.orchestrator.slurm"
    assert services["lab-slurm"]["site"]["partition"] == "cpu"
    assert services["laptop"]["site"] == {
        "name": "laptop", "type": "local", "provider": "laptop", "service_id": "laptop",
        "iam_enabled": True, "idp_protocol": "oidc", "slots": 4}

    slam = catalog["slam"]
    assert slam["preferences"] == [{"customer": "demo-group", "id": "sites-file", "preferences": [
        {"service_type": "compute", "priority": [
            {"sla_id": "sla-cnaf", "service_id": "cnaf-openstack", "weight": 0.7},
            {"sla_id": "sla-cnaf", "service_id": "cnaf-marathon", "weight": 0.5},
            {"sla_id": "sla-lab", "service_id": "lab-slurm", "weight": 0.3}]}]}]
    assert slam["sla"][0] == {
        "customer": "demo-group", "provider": "cnaf", "start_date": "2024-01-01",
        "end_date": "2026-12-31", "id": "sla-cnaf", "services": [
            {"type": "computing", "service_id": "cnaf-openstack", "targets": [
                {"type": "public_ip", "unit": None,
                 "restrictions": {"total_guaranteed": 10, "total_limit": 20}},
                {"type": "computing_time", "unit": "h",
                 "restrictions": {"user_guaranteed": 100, "user_limit": 1000}}]},
            {"type": "computing", "service_id": "cnaf-marathon", "targets": []}]}
    assert [sla["id"] for sla in slam["sla"]] == ["sla-cnaf", "sla-lab"]

    (block,) = catalog["monitoring"]
    assert block["provider"] == "cnaf"
    openstack, mesos = block["services"]
    assert (openstack["service_id"], openstack["type"]) == ("cnaf-openstack",
                                                            "org.openstack.nova")
    assert openstack["metrics"][1] == {
        "metricName": "create_responseTime",
        "metricKey": "cnaf.cnaf-openstack.create_responseTime", "metricValue": 300,
        "metricTime": None, "metricUnit": "ms", "paasThresholds": [], "historyClocks": [],
        "historyValues": []}
    assert [metric["metricName"] for metric in mesos["metrics"]] == [
        "master.cpu_total", "master.cpu_used", "master.mem_total", "master.mem_used"]
    assert catalog["data"] == {
        "onedata": {
            "indigo-data": {"providers": ["cnaf"], "oneproviders": []},
            "results": {"providers": ["cnaf"], "oneproviders": [
                {"id": "9c4e5a0d1b", "domain": "oneprovider.cloud.cnaf.infn.it",
                 "provider": "cnaf", "service_id": "cnaf-oneprovider"}]}},
        "dynafed": {"https://dynafed.example.org/data/input.h5": ["cnaf"]},
    }
    assert catalog["errors"] == []


def test_empty_sites_file_is_an_empty_catalog(sites_file):
    assert collect({"sites_file": sites_file("")}) == {
        "providers": {}, "services": {}, "slam": {}, "monitoring": [],
        "data": {"onedata": {}}, "errors": []}


BAD = [
    ("sites: [a: b", "is not valid YAML at line 2, column 1"),
    ("sites:\n  - name: a\n    type: local\n    type: slurm\n", "duplicate key 'type'"),
    ("site: []\n", "top level: unknown key 'site' (known: providers, sites, slas"),
    ("sites:\n  - name: a\n    type: local\n    regoin: x\n",
     "sites[1] (a): unknown key 'regoin'"),
    ("sites:\n  - {name: a, type: local}\n  - {name: a, type: slurm}\n",
     "sites[2] (a): the name 'a' is already used by sites[1] (a)"),
    ("sites:\n  - {name: a, type: local}\n  - {name: b, id: a, type: slurm}\n",
     "sites[2] (b): the service id 'a' is already used"),
    ("sites:\n  - {name: a, type: kubernetes}\n",
     "sites[1] (a).type: unknown site type 'kubernetes' (known: openstack, opennebula"),
    ("sites:\n  - {name: a, type: openstack, service_type: eu.indigo-datacloud.marathon}\n",
     "sites[1] (a).service_type: 'eu.indigo-datacloud.marathon' is not a service of site type "
     "'openstack'"),
    ("sites:\n  - {name: a}\n", "sites[1] (a): has no type or service_type, and no CMDB service "
                                "has the id 'a'"),
    ("sites:\n  - {type: local}\n", "sites[1]: has no name"),
    ("sites:\n  - {name: a, type: local, iam_enabled: 'no'}\n",
     "sites[1] (a).iam_enabled: must be true or false"),
    ("sites:\n  - {name: a, type: local, tenant: {project: x}}\n",
     "sites[1] (a).tenant: unknown key 'project'"),
    ("sites:\n  - {name: a, type: local, settings: {name: b}}\n",
     "sites[1] (a).settings: 'name' belongs to the site entry itself"),
    ("sites:\n  - {name: a, type: local, flavors: [{flavor_name: m, ram: 2GB}]}\n",
     "sites[1] (a).flavors[1].ram: must be a number"),
    ("sites:\n  - {name: a, type: local, images: [{distribution: ubuntu}]}\n",
     "sites[1] (a).images[1]: must be a mapping with image_id or image_name"),
    ("providers:\n  - {id: p}\n  - {id: p}\n", "providers[2]: provider 'p' is declared twice"),
    ("slas:\n  - {id: s, provider: p, services: [a]}\n  - {id: s, provider: p}\n",
     "slas[2]: SLA id 's' is used twice"),
    ("slas:\n  - {id: s, services: [a]}\n", "slas[1]: has no provider"),
    ("slas:\n  - {id: s, provider: p, services: [{service_id: a, targets: [{type: public_ip, "
     "restrictions: {total: 3}}]}]}\n",
     "slas[1].services[1].targets[1].restrictions: unknown key 'total'"),
    ("sites:\n  - {name: a, provider: p, type: local}\n"
     "slas:\n  - {id: s, provider: p, services: [a]}\n"
     "preferences:\n  - service_type: compute\n    priority: [{sla_id: nope, service_id: a}]\n",
     "preferences[1].priority[1]: names SLA 'nope', which is not in slas"),
    ("slas:\n  - {id: s, provider: p, services: [a, b]}\npreferences:\n  - service_type: compute"
     "\n    priority: [{sla_id: s}]\n",
     "preferences[1].priority[1]: needs a service_id: SLA 's' has 2 services"),
    ("slas:\n  - {id: s, provider: p, services: [a]}\npreferences:\n  - service_type: compute"
     "\n    priority: [{sla_id: s, service_id: c}]\n",
     "preferences[1].priority[1]: service 'c' is not in SLA 's'"),
    ("metrics: {a: {create_result: ok}}\n", "metrics.a.create_result: must be a number"),
    ("data: {dropbox: {}}\n", "data: unknown key 'dropbox'"),
    ("data: {onedata: {space: [{id: x}]}}\n", "data.onedata.space.providers[1]: must be a "
                                              "non-empty string"),
    # Checked against the catalog once it is built:
    ("sites:\n  - {name: a, provider: p, type: local}\nslas:\n  - {id: s, provider: q, "
     "services: [a]}\n", "slas[1]: provider 'q' is neither declared nor in the CMDB"),
    ("sites:\n  - {name: a, provider: p, type: local}\nslas:\n  - {id: s, provider: p, "
     "services: [b]}\n", "slas[1]: service 'b' is neither a site nor a CMDB service"),
    ("metrics: {ghost: {create_result: 1}}\n", "metrics.ghost: is neither a site nor a CMDB "
                                               "service"),
    ("data: {onedata: {space: [ghost]}}\n", "data.onedata.space: provider 'ghost' is neither "
                                            "declared nor in the CMDB"),
]


@pytest.mark.parametrize("text, message", BAD, ids=[message[:40] for _text, message in BAD])
def test_bad_sites_file_names_the_file_and_the_entry(sites_file, text, message):
    path = sites_file(text)
    with pytest.raises(SourceError) as caught:
        collect({"sites_file": path})
    assert str(caught.value).startswith("sites file %s" % path)
    assert message in str(caught.value)
    assert caught.value.source == "sites_file" and caught.value.url == path


def test_missing_sites_file(tmp_path):
    with pytest.raises(SourceError, match="sites file .*missing.yml cannot be read: No such file"):
        collect({"sites_file": str(tmp_path / "missing.yml")})


def test_sites_file_overrides_a_cmdb_service(sites_file, cmdb_file):
    path = sites_file("""
        sites:
          - name: recas-openstack
            id: %s
            region: RegionTwo
            properties: {gpu_support: true}
            tenant: {private_network_cidr: 10.1.0.0/16}
            settings: {auth: {auth_url: https://cloud.recas.ba.infn.it:5000/v3}}
    """ % OPENSTACK)
    plain = collect({"cmdb": {"file": cmdb_file}}, organisation="egi")["services"][OPENSTACK]
    merged = collect({"cmdb": {"file": cmdb_file}, "sites_file": path},
                     organisation="egi")["services"][OPENSTACK]
    assert merged["region"] == "RegionTwo"
    assert merged["properties"] == {"gpu_support": True}
    assert merged["tenant"] == dict(plain["tenant"], private_network_cidr="10.1.0.0/16")
    assert merged["images"] == plain["images"] and merged["flavors"] == plain["flavors"]
    assert merged["endpoint"] == plain["endpoint"] and merged["provider"] == "RECAS-BARI"
    assert merged["site"]["name"] == "recas-openstack"
    assert merged["site"]["region"] == "RegionTwo"
    assert merged["site"]["tenant_name"] == "DEEP_DEMO"
    assert merged["site"]["auth"] == {"auth_url": "https://cloud.recas.ba.infn.it:5000/v3"}


def test_site_name_may_not_be_another_cmdb_service_id(sites_file, cmdb_file):
    path = sites_file("""
        sites:
          - {name: %s, id: mine, type: local}
    """ % OPENSTACK)
    with pytest.raises(SourceError, match=r"sites\[1\] \(%s\): the site name .* is the id of "
                                          r"another CMDB service" % OPENSTACK):
        collect({"cmdb": {"file": cmdb_file}, "sites_file": path})


def test_sites_file_slas_scope_the_cmdb_and_keep_the_files_sites(sites_file, cmdb_file):
    path = sites_file("""
        sites:
          - {name: laptop, type: local}
        slas:
          - id: sla-recas
            provider: RECAS-BARI
            services: [%s]
    """ % MARATHON)
    catalog = collect({"cmdb": {"file": cmdb_file}, "sites_file": path}, organisation="egi")
    assert list(catalog["services"]) == [MARATHON, fx.RECAS_ONEPROVIDER, "laptop"]
    assert catalog["slam"]["sla"][0]["services"][0]["service_id"] == MARATHON


def test_sites_file_sla_replaces_slams_sla_with_the_same_id(indigo, sites_file):
    path = sites_file("""
        slas:
          - id: 5faba703e1ac3701b8c8c5b8
            provider: RECAS-BARI
            services: [%s]
    """ % OPENSTACK)
    catalog = collect({"cmdb": {"url": indigo["cmdb"]}, "slam": {"url": indigo["slam"]},
                       "sites_file": path}, customer="deep-hdc", token=indigo.iam_token)
    slas = catalog["slam"]["sla"]
    assert [sla["id"] for sla in slas] == ["5faba703e1ac3701b8c8c5b8", "5faba74de1ac3701b8c8c5bb"]
    assert slas[0]["services"] == [{"type": "computing", "service_id": OPENSTACK, "targets": []}]
    assert slas[0]["customer"] == "deep-hdc"
    # The Kubernetes service was only in the replaced SLA.
    assert KUBERNETES not in catalog["services"]


def test_sites_file_metrics_win_over_the_wrappers(indigo, sites_file):
    path = sites_file("""
        metrics:
          %s: {create_responseTime: 1, custom_metric: 7}
    """ % OPENSTACK)
    catalog = collect({"cmdb": {"url": indigo["cmdb"]},
                       "monitoring": {"url": indigo["monitoring"]}, "sites_file": path},
                      organisation="egi")
    (block,) = catalog["monitoring"]
    (openstack,) = [item for item in block["services"] if item["service_id"] == OPENSTACK]
    values = {metric["metricName"]: metric["metricValue"] for metric in openstack["metrics"]}
    assert values["create_responseTime"] == 1 and values["custom_metric"] == 7
    assert "create_result" in values  # from the wrapper
    names = [metric["metricName"] for metric in openstack["metrics"]]
    assert len(names) == len(set(names))


def test_sites_file_space_is_not_asked_of_onezone(indigo, sites_file):
    path = sites_file("""
        providers: [{id: RECAS-BARI}]
        data: {onedata: {indigo-data: [RECAS-BARI]}}
    """)
    catalog = collect({"sites_file": path,
                       "onezone": {"url": indigo["onezone"], "token": indigo.onedata_token}},
                      spaces=["indigo-data"])
    assert catalog["data"]["onedata"] == {"indigo-data": {"providers": ["RECAS-BARI"],
                                                          "oneproviders": []}}
    assert indigo.paths("onezone") == []


def test_yaml_dates_stay_json_able(sites_file):
    path = sites_file("""
        providers: [{id: p}]
        slas:
          - {id: s, provider: p, start_date: 2024-01-01, end_date: 2030-12-31T23:00:00}
    """)
    catalog = collect({"sites_file": path})
    assert (catalog["slam"]["sla"][0]["start_date"], catalog["slam"]["sla"][0]["end_date"]) == \
        ("2024-01-01", "2030-12-31T23:00:00")
