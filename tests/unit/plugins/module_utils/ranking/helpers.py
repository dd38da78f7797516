# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helpers: topologies built node by node, catalogs in rank()'s contract shape, and the
INDIGO fixtures (CPR golden data, the orchestrator's local cmdb.db and slam.db)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.topology import (
    Node,
    Policy,
    Topology,
)
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

I = "tosca.nodes.indigo."
# type -> its ancestry (the type first), as the loader gives it
ANCESTRY = {
    I + "Compute": [I + "Compute", "tosca.nodes.Compute", "tosca.nodes.Root"],
    "tosca.nodes.Compute": ["tosca.nodes.Compute", "tosca.nodes.Root"],
    I + "BlockStorage": [I + "BlockStorage", "tosca.nodes.BlockStorage", "tosca.nodes.Root"],
    I + "Container.Application.Docker.Marathon": [
        I + "Container.Application.Docker.Marathon", I + "Container.Application.Docker",
        "tosca.nodes.Container.Application.Docker", "tosca.nodes.Container.Application",
        "tosca.nodes.Root"],
    I + "Container.Application.Docker.Chronos": [
        I + "Container.Application.Docker.Chronos", I + "Container.Application.Docker",
        "tosca.nodes.Container.Application.Docker", "tosca.nodes.Container.Application",
        "tosca.nodes.Root"],
    I + "Container.Runtime.Docker": [I + "Container.Runtime.Docker", "tosca.nodes.Root"],
    I + "Qcg.Job": [I + "Qcg.Job", "tosca.nodes.Root"],
    I + "Batch.Job": [I + "Batch.Job", "tosca.nodes.Root"],
    I + "Kubernetes.HelmChart": [I + "Kubernetes.HelmChart", "tosca.nodes.Root"],
    I + "ElasticCluster": [I + "ElasticCluster", "tosca.nodes.SoftwareComponent",
                           "tosca.nodes.Root"],
    "tosca.nodes.network.Network": ["tosca.nodes.network.Network", "tosca.nodes.Root"],
    I + "OnedataSpace": [I + "OnedataSpace", "tosca.nodes.Root"],
    I + "OnedataServiceSpace": [I + "OnedataServiceSpace", "tosca.nodes.Root"],
    I + "Dynafed": [I + "Dynafed", "tosca.nodes.Root"],
    "tosca.nodes.paas.Job": ["tosca.nodes.paas.Job", "tosca.nodes.Root"],
}
POLICY_ANCESTRY = {
    "tosca.policies.indigo.SlaPlacement": ["tosca.policies.indigo.SlaPlacement",
                                           "tosca.policies.Placement", "tosca.policies.Root"],
    "tosca.policies.indigo.CredentialsAwareSlaPlacement": [
        "tosca.policies.indigo.CredentialsAwareSlaPlacement",
        "tosca.policies.indigo.SlaPlacement", "tosca.policies.Placement",
        "tosca.policies.Root"],
    "tosca.policies.indigo.Placement": ["tosca.policies.indigo.Placement",
                                        "tosca.policies.Placement", "tosca.policies.Root"],
}


def node(name, type_name, properties=None, capabilities=None):
    ancestry = ANCESTRY[type_name]
    kind, role = kinds.classify(ancestry)
    result = Node(name, type_name, ancestry, kind, role)
    result.properties = dict(properties or {})
    result.capabilities = dict(capabilities or {})
    return result


def policy(name, type_name, properties, targets=()):
    return Policy(name, type_name, POLICY_ANCESTRY[type_name], list(targets), properties)


def topology(*nodes, policies=()):
    return Topology("<test>", "tosca_simple_yaml_1_0", None, {}, {}, {},
                    {item.name: item for item in nodes}, list(policies), {}, [], [])


def vm(name="vm", os=None, host=None, type_name=I + "Compute"):
    return node(name, type_name, capabilities={"os": dict(os or {}), "host": dict(host or {})})


# the catalog's site type of a CMDB service type (module_utils/sites/model.py)
SITE_TYPES = {"org.openstack.nova": "openstack", "eu.egi.cloud.vm-management.opennebula":
              "opennebula", "eu.indigo-datacloud.im-tosca.opennebula": "opennebula",
              "com.amazonaws.ec2": "ec2", "eu.indigo-datacloud.marathon": "marathon",
              "eu.indigo-datacloud.chronos": "chronos"}


def service(service_id, provider="P1", service_type="org.openstack.nova", **fields):
    """A compute service in the catalog's shape, with its site as the catalog builds it (none
    for a type we have no driver for); an IaaS one has an image and a flavor."""
    site_type = SITE_TYPES.get(service_type)
    data = {
        "id": service_id, "provider": provider, "service_type": service_type,
        "type": "compute", "endpoint": "https://%s.example.org" % service_id.lower(),
        "region": None, "hostname": "%s.example.org" % service_id.lower(),
        "iam_enabled": False, "idp_protocol": "oidc", "public_ip_assignable": True,
        "supported_idps": [], "volume_types": [], "properties": {},
        "service_parent_id": None, "microversion": None,
        "tenant": {"tenant_name": "t", "private_network_name": "priv",
                   "private_network_cidr": "10.0.0.0/24"},
        "images": [{"image_id": "img-1", "image_name": "ubuntu-22.04", "type": "linux",
                    "distribution": "ubuntu", "version": "22.04"}],
        "flavors": [{"flavor_id": "1", "flavor_name": "small", "ram": 2048, "num_vcpus": 1,
                     "disk": 20, "num_gpus": 0}],
        "site": site_type and {"name": service_id, "type": site_type, "provider": provider,
                               "service_id": service_id},
    }
    data.update(fields)
    return data


def site_service(service_id, site_type, provider="local", **fields):
    """A service of one of our own sites (sites file): no images, no flavors."""
    return service(service_id, provider=provider, service_type=None, images=[], flavors=[],
                   tenant=None, site={"name": service_id, "type": site_type}, **fields)


def storage(service_id, provider, endpoint, service_type="eu.egi.cloud.storage-management.cdmi"):
    return {"id": service_id, "provider": provider, "service_type": service_type,
            "type": "storage", "endpoint": endpoint, "hostname": None, "site": None}


def catalog(*services, slam=None, monitoring=None, data=None):
    by_id = {item["id"]: item for item in services}
    providers = {item["provider"]: {"id": item["provider"], "name": item["provider"]}
                 for item in services}
    return {"providers": providers, "services": by_id, "slam": slam or {},
            "monitoring": monitoring or [], "data": data or {}, "errors": []}


def probe_metrics(service_id, create=None, run=None, delete=None):
    """Monitoring metrics in PaaSMetric shape: each of create/run/delete is (result, ms)."""
    metrics = []
    for op, probe in (("create", create), ("run", run), ("delete", delete)):
        if probe is not None:
            metrics.append({"metricName": op + "_result", "metricValue": probe[0]})
            metrics.append({"metricName": op + "_responseTime", "metricValue": probe[1]})
    return metrics


def monitored(provider, *machines):
    """A monitoring entry: machines are (service id, type, metrics)."""
    return {"provider": provider,
            "services": [{"service_id": sid, "type": kind, "metrics": metrics}
                         for sid, kind, metrics in machines]}


def slam_for(*slas):
    """SLAM data: each SLA is (sla id, provider, service id, weight, targets)."""
    return {
        "preferences": [{"customer": "group", "id": "pref", "preferences": [
            {"service_type": "compute", "priority": [
                {"sla_id": sla_id, "service_id": sid, "weight": weight}
                for sla_id, _provider, sid, weight, _targets in slas]},
            {"service_type": "storage", "priority": []}]}],
        "sla": [{"id": sla_id, "customer": "group", "provider": provider,
                 "services": [{"type": "computing", "service_id": sid, "targets": targets}]}
                for sla_id, provider, sid, _weight, targets in slas],
    }


def public_ip(total_guaranteed=0, total_limit=0, user_guaranteed=0, user_limit=0):
    return {"type": "public_ip", "unit": None, "restrictions": {
        "total_guaranteed": total_guaranteed, "total_limit": total_limit,
        "user_guaranteed": user_guaranteed, "user_limit": user_limit}}


# --- the INDIGO fixtures ---------------------------------------------------------------------

def fixtures_dir():
    root = corpus.corpus_dir()
    if root is None:
        pytest.skip("corpus absent: ../shared/corpus not found")
    return os.path.join(root, "indigo-fixtures")


def fixture(*parts):
    with open(os.path.join(fixtures_dir(), *parts)) as handle:
        return json.load(handle)


def indigo_catalog(customer="deep-hdc", organisation=None):
    """cmdb.db + slam.db (the orchestrator's local CMDB and SLAM) as rank()'s catalog: each
    service with its provider, its tenant's images, flavors and networks (the tenant of the
    user's organisation, the customer by default, as GetCmdbDataDeploy picks it), and issuers
    as {name, issuer}."""
    organisation = organisation or customer
    cmdb = fixture("orchestrator", "cmdb.db")
    slam = fixture("orchestrator", "slam.db")
    services = {}
    for provider in cmdb["providers"]:
        for service_id, data in provider["services"].items():
            site_type = SITE_TYPES.get(data["service_type"])
            item = dict(data, provider=provider["id"], tenant=None, images=[], flavors=[],
                        site=site_type and {"name": service_id, "type": site_type,
                                            "provider": provider["id"],
                                            "service_id": service_id})
            item["supported_idps"] = [{"name": issuer, "issuer": issuer}
                                      for issuer in data.get("supported_idps") or []]
            for tenant in cmdb["tenants"].values():
                if tenant["tenant"]["service"] == service_id \
                        and tenant["tenant"]["iam_organisation"] == organisation:
                    item.update(tenant=tenant["tenant"], images=tenant["images"],
                                flavors=tenant["flavors"])
            services[service_id] = item
    return {"providers": {p["id"]: {"id": p["id"], "name": p["name"]}
                          for p in cmdb["providers"]},
            "services": services, "slam": slam[customer], "monitoring": [], "data": {},
            "errors": []}


def load_template(relative, parameters=None):
    """A corpus template through our loader, its imports from the corpus mirror."""
    from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load

    root = corpus.corpus_dir()
    if root is None:
        pytest.skip("corpus absent: ../shared/corpus not found")
    path = os.path.join(root, "templates", relative)
    params = corpus.parameters(path)
    params.update(parameters or {})
    return load(path, params, mirror=corpus.mirror(root), cache_dir="")
