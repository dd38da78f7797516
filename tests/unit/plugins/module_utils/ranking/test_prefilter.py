# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PrefilterCloudProviders (spec §2.3 step 4): each rule, through rank(), with its reasons."""

from __future__ import annotations

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import (
    RankingError,
    prefilter,
    rank,
)
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.ranking.helpers import (
    I,
    catalog,
    node,
    policy,
    public_ip,
    service,
    site_service,
    slam_for,
    storage,
    topology,
    vm,
)

ISSUER = "https://iam.example.org/"
MARATHON = "eu.indigo-datacloud.marathon"
CHRONOS = "eu.indigo-datacloud.chronos"


def _ids(result):
    return [entry["service_id"] for entry in result["ranked"]]


def _reasons(result):
    return {entry["service_id"]: entry["reasons"] for entry in result["discarded"]}


# --- IAM ----------------------------------------------------------------------------------------

def test_iam_enabled_service_must_accept_the_users_issuer():
    data = catalog(
        service("ok", iam_enabled=True, supported_idps=[{"name": "x", "issuer": ISSUER}]),
        service("other", iam_enabled=True,
                supported_idps=[{"name": "egi", "issuer": "https://aai.egi.eu/"}]),
        service("none", iam_enabled=True),
        service("unset", supported_idps=[]) | {"iam_enabled": None},
        service("no-iam", iam_enabled=False))
    result = rank(topology(vm()), data, issuer=ISSUER)
    assert _ids(result) == ["ok", "no-iam"]
    assert _reasons(result)["other"] == [
        "it does not accept tokens from %s (it accepts https://aai.egi.eu/)" % ISSUER]
    assert _reasons(result)["none"] == [
        "it does not accept tokens from %s (it accepts no issuer)" % ISSUER]
    assert "unset" in _reasons(result)  # iam_enabled's default is true


def test_no_issuer_means_no_iam_check():
    data = catalog(service("other", iam_enabled=True, supported_idps=[]))
    assert _ids(rank(topology(vm()), data)) == ["other"]


def test_cmdb_issuer_lists_may_be_plain_strings():
    assert prefilter.issuers({"supported_idps": [ISSUER, {"issuer": "b"}]}) == [ISSUER, "b"]


# --- placement policies and credentials ---------------------------------------------------------

SLAM = slam_for(("sla-1", "P1", "s1", 0.5, [public_ip(1)]),
                ("sla-2", "P2", "s2", 0.5, [public_ip(2)]),
                ("sla-aws", "AWS", "aws", 0.5, [public_ip(3)]))


def _sla_catalog():
    return catalog(service("s1", provider="P1"), service("s2", provider="P2"),
                   service("aws", provider="AWS", service_type="com.amazonaws.ec2"), slam=SLAM)


def test_sla_placement_policy_keeps_only_the_services_of_its_sla():
    policies = [policy("pin", "tosca.policies.indigo.SlaPlacement", {"sla_id": "sla-2"},
                       targets=["vm"])]
    result = rank(topology(vm(), policies=policies), _sla_catalog())
    assert _ids(result) == ["s2"]
    assert _reasons(result)["s1"] == [
        "placement policy 'pin' asks for SLA sla-2, which does not cover it"]


def test_credentials_services_only_through_a_placement_policy():
    result = rank(topology(vm()), _sla_catalog())
    assert _ids(result) == ["s2", "s1"]
    assert _reasons(result)["aws"] == [
        "AWS services need the user's own credentials, so INDIGO uses them only through a "
        "placement policy that names their SLA"]
    policies = [policy("mine", "tosca.policies.indigo.CredentialsAwareSlaPlacement",
                       {"sla_id": "sla-aws", "username": "u", "password": "p"})]
    assert _ids(rank(topology(vm(), policies=policies), _sla_catalog())) == ["aws"]


@pytest.mark.parametrize("service_type", ["com.microsoft.azure", "eu.otc.compute"])
def test_azure_and_otc_need_credentials_too(service_type):
    result = rank(topology(vm()), catalog(service("x", service_type=service_type)))
    assert result["ranked"] == [] and "credentials" in _reasons(result)["x"][0]


def test_an_ec2_site_whose_settings_hold_its_own_account_is_exempt():
    own = {"name": "aws", "type": "ec2", "credentials_required": False, "region": "eu-west-1"}
    data = catalog(service("cmdb-aws", service_type="com.amazonaws.ec2"),
                   service("our-aws", service_type="com.amazonaws.ec2", site=own))
    result = rank(topology(vm()), data)
    assert _ids(result) == ["our-aws"]
    assert "credentials" in _reasons(result)["cmdb-aws"][0]


def test_an_unknown_sla_id_is_indigos_error():
    policies = [policy("pin", "tosca.policies.indigo.SlaPlacement", {"sla_id": "nope"})]
    with pytest.raises(RankingError, match="^No SLA with id nope available$") as caught:
        rank(topology(vm(), policies=policies), _sla_catalog())
    assert caught.value.policy == "pin"
    with pytest.raises(RankingError, match="No SLA with id nope available"):
        rank(topology(vm(), policies=policies), catalog(service("s1")))  # no SLAM at all


def test_two_placement_policies_are_refused():
    policies = [policy("a", "tosca.policies.indigo.SlaPlacement", {"sla_id": "sla-1"}),
                policy("b", "tosca.policies.indigo.SlaPlacement", {"sla_id": "sla-2"})]
    with pytest.raises(RankingError, match="Only a single placement policy is supported; "
                                           "the template has 'a', 'b'"):
        rank(topology(vm(), policies=policies), _sla_catalog())


def test_a_placement_policy_that_is_not_an_sla_one_is_refused():
    policies = [policy("zone", "tosca.policies.indigo.Placement", {"cloud_id": "x"})]
    with pytest.raises(RankingError, match="Only SLA placement policies are supported; "
                                           "policy 'zone' is a tosca.policies.indigo.Placement"):
        rank(topology(vm(), policies=policies), _sla_catalog())


def test_an_sla_placement_policy_without_sla_id_is_refused():
    policies = [policy("pin", "tosca.policies.indigo.SlaPlacement", {})]
    with pytest.raises(RankingError, match="Placement policy 'pin' has no sla_id"):
        rank(topology(vm(), policies=policies), _sla_catalog())


# --- deployment kind ----------------------------------------------------------------------------

def _everything():
    return catalog(
        service("nova"), service("one", service_type="eu.egi.cloud.vm-management.opennebula"),
        service("marathon", service_type=MARATHON), service("chronos", service_type=CHRONOS),
        service("qcg", service_type="eu.deep.qcg"),
        service("k8s", service_type="eu.deep.kubernetes"),
        service("mesos", service_type="eu.indigo-datacloud.mesos"),
        site_service("slurm", "slurm"), site_service("local", "local"),
        site_service("os-site", "openstack"), site_service("marathon-site", "marathon"))


@pytest.mark.parametrize("nodes, kept", [
    ([vm()], ["nova", "one"]),  # os-site is IaaS but lists no image (see the next test)
    ([node("app", I + "Container.Application.Docker.Marathon")], ["marathon", "marathon-site"]),
    ([node("job", I + "Container.Application.Docker.Chronos")],
     ["chronos", "slurm", "local"]),
    ([node("job", "tosca.nodes.paas.Job", {"command": "true"})], ["chronos", "slurm", "local"]),
    ([node("job", I + "Qcg.Job")], ["qcg"]),
    ([node("chart", I + "Kubernetes.HelmChart")], ["k8s"]),
    ([node("batch", I + "Batch.Job")], ["nova", "one", "slurm", "local", "os-site"]),
])
def test_each_deployment_kind_keeps_its_own_services(nodes, kept):
    assert sorted(_ids(rank(topology(*nodes), _everything()))) == sorted(kept)


def test_an_iaas_site_of_ours_needs_images_and_flavors_in_the_catalog_too():
    assert _reasons(rank(topology(vm()), _everything()))["os-site"] == [
        "no image matches node 'vm' (no requirements)",
        "no flavor fits node 'vm' (no requirements)"]


def test_kind_reason_names_the_kind_and_what_the_service_is():
    reasons = _reasons(rank(topology(node("app", I + "Container.Application.Docker.Marathon")),
                            _everything()))
    assert reasons["nova"] == ["a MARATHON deployment needs a Marathon service; this is a "
                               "site of type openstack"]
    assert reasons["mesos"] == ["a MARATHON deployment needs a Marathon service; this is a "
                                "service of type eu.indigo-datacloud.mesos"]


def test_storage_services_are_never_candidates():
    data = catalog(service("nova"), storage("cdmi", "P1", "https://cdmi.example.org"))
    result = rank(topology(vm()), data)
    assert _ids(result) == ["nova"] and result["discarded"] == []


# --- Mesos GPUs and Marathon secrets ------------------------------------------------------------

def _runtime(gpus):
    return node("runtime", I + "Container.Runtime.Docker",
                capabilities={"host": {"num_cpus": 1.0, "num_gpus": gpus}})


@pytest.mark.parametrize("app_type, service_type", [
    (I + "Container.Application.Docker.Marathon", MARATHON),
    (I + "Container.Application.Docker.Chronos", CHRONOS),
])
def test_gpus_need_a_framework_with_gpu_support(app_type, service_type):
    data = catalog(service("gpu", service_type=service_type,
                           properties={"gpu_support": True}),
                   service("cpu", service_type=service_type,
                           properties={"gpu_support": False}))
    result = rank(topology(node("app", app_type), _runtime(1)), data)
    assert _ids(result) == ["gpu"]
    assert _reasons(result)["cpu"] == ["node 'runtime' asks for GPUs and it has no GPU support"]
    assert len(rank(topology(node("app", app_type), _runtime(0)), data)["ranked"]) == 2


def test_secrets_need_a_marathon_with_secrets_support():
    app = node("app", I + "Container.Application.Docker.Marathon",
               {"secrets": {"db": {"source": "x"}}})
    data = catalog(service("yes", service_type=MARATHON, properties={"secrets_support": True}),
                   service("no", service_type=MARATHON, properties={"secrets_support": False}))
    result = rank(topology(app), data)
    assert _ids(result) == ["yes"]
    assert _reasons(result)["no"] == ["node 'app' uses secrets and it has no secrets support"]


# --- ElasticCluster -----------------------------------------------------------------------------

def _cluster(network_type="private"):
    nodes = [vm("fe"), node("cluster", I + "ElasticCluster")]
    if network_type:
        nodes.append(node("net", "tosca.nodes.network.Network",
                          {"network_type": network_type}))
    return topology(*nodes)


def test_elastic_cluster_needs_a_public_ip_on_create_only():
    data = catalog(service("noip", public_ip_assignable=False), service("ip"))
    result = rank(_cluster(), data)
    assert _ids(result) == ["ip"]
    assert _reasons(result)["noip"] == [
        "ElasticCluster 'cluster' needs a public IP and it cannot assign one"]
    assert sorted(_ids(rank(_cluster(), data, creating=False))) == ["ip", "noip"]


def test_elastic_cluster_private_and_isolated_networks_need_tenant_data():
    data = catalog(service("named", tenant={"private_network_name": "priv"}),
                   service("cidr", tenant={"private_network_cidr": "10.0.0.0/24"}))
    private = rank(_cluster("private"), data)
    assert _ids(private) == ["named"]
    assert _reasons(private)["cidr"] == [
        "network 'net' is private and its tenant has no private network name"]
    isolated = rank(_cluster("isolated"), data)
    assert _ids(isolated) == ["cidr"]
    assert _reasons(isolated)["named"] == [
        "network 'net' is isolated and its tenant has no private network CIDR"]


def test_elastic_cluster_without_a_private_network_node_fits_nowhere_as_in_indigo():
    for topo in (_cluster(None), _cluster("public")):
        result = rank(topo, catalog(service("s")))
        assert result["ranked"] == []
        assert _reasons(result)["s"] == [
            "ElasticCluster 'cluster' has no private or isolated network node, which INDIGO "
            "requires"]


# --- volumes, images, flavors -------------------------------------------------------------------

def test_block_storage_type_must_match_a_volume_type_name_or_qos():
    volume = node("vol", I + "BlockStorage", {"type": "ssd", "size": "10 GB"})
    data = catalog(service("qos", volume_types=[{"name": "ceph-fast", "qos": "ssd"}]),
                   service("none", volume_types=[{"name": "std", "qos": "standard"}]))
    result = rank(topology(vm(), volume), data)
    assert _ids(result) == ["qos"]
    assert result["ranked"][0]["volume_types"] == {"vol": "ceph-fast"}
    assert _reasons(result)["none"] == ["no volume type 'ssd' for node 'vol' (it offers std)"]


def test_every_vm_node_needs_an_image_and_a_flavor_and_every_failure_is_told():
    data = catalog(service("small-centos", images=[{"image_id": "c", "image_name": "centos",
                                                    "distribution": "centos"}]),
                   service("good", images=[{"image_id": "u", "image_name": "ubuntu",
                                            "distribution": "ubuntu", "version": "22.04"}],
                           flavors=[{"flavor_name": "big", "num_vcpus": 8, "ram": 16000,
                                     "disk": 100, "num_gpus": 0}]))
    nodes = [vm("web", os={"distribution": "ubuntu", "version": "22.04"},
                host={"num_cpus": 4, "mem_size": "8 GB"}),
             vm("db", os={"distribution": "ubuntu"}, host={"disk_size": "50 GB"})]
    result = rank(topology(*nodes), data)
    assert _ids(result) == ["good"]
    assert result["ranked"][0]["images"]["web"]["image_id"] == "u"
    assert result["ranked"][0]["flavors"]["db"]["flavor_name"] == "big"
    assert _reasons(result)["small-centos"] == [
        "no image matches node 'web' (distribution ubuntu, version 22.04)",
        "no flavor fits node 'web' (num_cpus 4, mem_size 8000 MB)",
        "no image matches node 'db' (distribution ubuntu)",
        "no flavor fits node 'db' (disk_size 50 GB)"]


def test_plain_tosca_compute_nodes_are_matched_too():
    data = catalog(service("s", images=[]))
    result = rank(topology(vm(type_name="tosca.nodes.Compute")), data)
    assert _reasons(result)["s"] == ["no image matches node 'vm' (no requirements)"]


def test_batch_sites_have_no_images_to_match():
    job = node("job", "tosca.nodes.paas.Job", {"command": "true"})
    result = rank(topology(job), catalog(site_service("local", "local")))
    assert _ids(result) == ["local"]
    assert result["ranked"][0]["images"] == {} and result["ranked"][0]["flavors"] == {}


def test_a_service_failing_many_rules_carries_every_reason():
    data = catalog(service("bad", service_type=MARATHON, iam_enabled=True))
    reasons = _reasons(rank(topology(vm()), data, issuer=ISSUER))["bad"]
    assert len(reasons) == 2
    assert reasons[0].startswith("it does not accept tokens")
    assert reasons[1].startswith("a TOSCA deployment needs an IaaS compute service")


# --- OneData and Dynafed ------------------------------------------------------------------------

def _space(smart, space="my-space", type_name=I + "OnedataSpace"):
    props = {"smartScheduling": smart}
    if space is not None:
        props["space"] = space
    return node("data", type_name, props)


def _chronos_catalog(**data):
    return catalog(service("bari", provider="BARI", service_type=CHRONOS),
                   service("cnaf", provider="CNAF", service_type=CHRONOS),
                   data={"onedata": {"my-space": {"providers": ["BARI"], "oneproviders": []},
                                     "INDIGO Service Space": {"providers": ["CNAF"]}}, **data})


def test_smart_scheduling_discards_providers_without_a_oneprovider_of_the_space():
    job = node("job", I + "Container.Application.Docker.Chronos")
    result = rank(topology(job, _space(True)), _chronos_catalog())
    assert _ids(result) == ["bari"]
    assert _reasons(result)["cnaf"] == [
        "OneData space 'my-space' of node 'data' needs smartScheduling and no oneprovider of "
        "this provider supports it"]


def test_without_smart_scheduling_the_space_filters_nothing():
    job = node("job", I + "Container.Application.Docker.Chronos")
    result = rank(topology(job, _space(False)), _chronos_catalog())
    assert sorted(_ids(result)) == ["bari", "cnaf"]


def test_smart_scheduling_on_a_space_the_catalog_does_not_know_fits_nowhere():
    job = node("job", I + "Container.Application.Docker.Chronos")
    result = rank(topology(job, _space(True, space="unknown")), _chronos_catalog())
    assert result["ranked"] == [] and len(result["discarded"]) == 2


def test_the_service_space_is_looked_up_under_indigos_default_name():
    job = node("job", I + "Container.Application.Docker.Chronos")
    service_space = _space(True, space=None, type_name=I + "OnedataServiceSpace")
    assert _ids(rank(topology(job, service_space), _chronos_catalog())) == ["cnaf"]


ONEPROVIDERS = [
    {"id": "op-b", "domain": "op.bari.example.org", "provider": "BARI", "service_id": "st-b"},
    {"id": "op-x", "domain": "op.elsewhere.example.org", "provider": None, "service_id": None},
    {"id": "op-c", "domain": "op.cnaf.example.org", "provider": "CNAF", "service_id": "st-c"},
]


def _onezone_catalog():
    """Chronos at three providers; the space is at BARI, CNAF and an unregistered oneprovider
    (the catalog's data.onedata as module_utils/sites resolves it through Onezone)."""
    return catalog(*(service(name.lower(), provider=name, service_type=CHRONOS)
                     for name in ("BARI", "CNAF", "IFCA")),
                   data={"onedata": {"space": {"providers": ["BARI", "CNAF"],
                                               "oneproviders": ONEPROVIDERS}}})


def _onedata_job(smart, requested=None):
    props = {"space": "space", "smartScheduling": smart}
    if requested is not None:
        props["oneproviders"] = requested
    return topology(node("job", I + "Container.Application.Docker.Chronos"),
                    node("data", I + "OnedataSpace", props))


def test_requested_oneproviders_are_the_only_ones_kept():
    result = rank(_onedata_job(True, ["op.cnaf.example.org"]), _onezone_catalog())
    assert _ids(result) == ["cnaf"]
    assert result["ranked"][0]["onedata"] == {"data": ONEPROVIDERS[2]}


def test_a_requested_oneprovider_that_does_not_support_the_space_is_an_error():
    with pytest.raises(RankingError, match="Node 'data': oneprovider op.nowhere.example.org "
                                           "does not support OneData space 'space'"):
        rank(_onedata_job(False, ["op.bari.example.org", "op.nowhere.example.org"]),
             _onezone_catalog())


def test_smart_scheduling_refuses_a_requested_unregistered_oneprovider():
    with pytest.raises(RankingError, match="oneprovider op.elsewhere.example.org of space "
                                           "'space' is not registered"):
        rank(_onedata_job(True, ["op.elsewhere.example.org"]), _onezone_catalog())
    # without smartScheduling it may be used: it filters nothing
    result = rank(_onedata_job(False, ["op.elsewhere.example.org"]), _onezone_catalog())
    assert len(result["ranked"]) == 3
    assert result["ranked"][0]["onedata"] == {"data": ONEPROVIDERS[1]}


def test_the_selected_oneprovider_is_the_co_located_one_else_the_first():
    result = rank(_onedata_job(False), _onezone_catalog())
    selected = {entry["service_id"]: entry["onedata"]["data"] for entry in result["ranked"]}
    assert selected == {"bari": ONEPROVIDERS[0], "cnaf": ONEPROVIDERS[2],
                        "ifca": ONEPROVIDERS[0]}
    smart = rank(_onedata_job(True), _onezone_catalog())
    assert sorted(_ids(smart)) == ["bari", "cnaf"]  # unregistered op-x is skipped


def test_dynafed_needs_every_file_at_the_provider():
    files = ["https://dav.bari.example.org/data/a.root", "https://dav.bari.example.org/b.root"]
    data = catalog(service("bari", provider="BARI"), service("cnaf", provider="CNAF"),
                   storage("dav", "BARI", "https://dav.bari.example.org:443/"))
    result = rank(topology(vm(), node("fed", I + "Dynafed", {"files": files})), data)
    assert _ids(result) == ["bari"]
    assert _reasons(result)["cnaf"] == [
        "Dynafed node 'fed': this provider holds no copy of %s" % url for url in files]


def test_dynafed_file_locations_from_the_catalog_when_it_has_them():
    url = "https://fed.example.org/myfed/file.dat"
    data = catalog(service("bari", provider="BARI"), service("cnaf", provider="CNAF"),
                   data={"dynafed": {url: ["CNAF"]}})
    result = rank(topology(vm(), node("fed", I + "Dynafed", {"files": [url]})), data)
    assert _ids(result) == ["cnaf"]


# --- needs ------------------------------------------------------------------------------------

def test_read_needs_collects_the_topology_requirements_once():
    nodes = [vm("v", os={"distribution": "ubuntu"}, host={"num_cpus": 2}),
             node("vol", I + "BlockStorage", {"type": "ssd"}),
             node("empty-vol", I + "BlockStorage", {"type": ""}),
             node("job", "tosca.nodes.paas.Job",
                  {"command": "x", "uris": ["https://a.example.org/f"],
                   "input_files": [{"url": "s3://b.example.org/k", "path": "k"}]})]
    needs = prefilter.read_needs(topology(*nodes))
    assert needs.kind == "JOB"
    assert needs.vms == [("v", {"distribution": "ubuntu"}, {"num_cpus": 2})]
    assert needs.volumes == [("vol", "ssd")]
    assert needs.job_urls == [("job", "https://a.example.org/f"),
                              ("job", "s3://b.example.org/k")]
