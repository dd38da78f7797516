# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rank 10,000 sites with 20 placement rules, against ``json.loads`` of the same catalog.

The catalog is what the catalog builder hands ``rank()`` for an INDIGO federation: CMDB services
(each with its tenant, 4 images, 6 flavors, 2 volume types, 2 identity providers), SLAM
preferences and an SLA per service, and the Zabbix probe metrics of every service. The template
asks for one VM (image by metadata, flavor by size) with a typed volume, which every IaaS site
(90% of them) can take; every rule applies to the user (``when`` is true), so each of the 20 is
evaluated on every candidate until one discards it. The baseline is parsing that same catalog
from its JSON text, which any caller pays to get it.

Prints both (median of BENCH_ROUNDS) and, last, ``ratio <rank/json.loads>``. Target <= 3.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time

from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import load_rules, rank
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

SITES = int(os.environ.get("BENCH_SITES", "10000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
PER_PROVIDER = 5
ISSUER = "https://iam.example.org/"

TEMPLATE = """
tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml
topology_template:
  node_templates:
    server:
      type: tosca.nodes.indigo.Compute
      capabilities:
        host:
          properties:
            num_cpus: 2
            mem_size: 4 GB
            disk_size: 20 GB
        os:
          properties:
            type: linux
            distribution: ubuntu
            version: "22.04"
      requirements:
        - local_storage:
            node: scratch
            relationship:
              type: tosca.relationships.AttachesTo
              properties:
                location: /mnt/scratch
    scratch:
      type: tosca.nodes.indigo.BlockStorage
      properties:
        size: 10 GB
        type: ssd
"""

RULES = [
    {"name": "cms-prefers-region-a", "when": "group == 'cms'",
     "match": "region == 'region-a'", "score": 5},
    {"name": "slow-create", "when": "group == 'cms'",
     "match": "metrics.create_responseTime > `2000`", "score": -20},
    {"name": "maintenance", "when": "user != null",
     "discard": "contains(properties.tags || `[]`, 'maintenance')"},
    {"name": "gold-sla", "when": "use_case == 'analysis'",
     "match": "sla_weight >= `0.7`", "multiply": 1.1},
    {"name": "too-little", "discard": "total_score < `1`"},
    {"name": "opennebula-penalty", "match": "service_type == "
     "'eu.egi.cloud.vm-management.opennebula'", "score": -3},
    {"name": "gpu-bonus", "when": "template.deployment_kind == 'TOSCA'",
     "match": "properties.gpu_support", "score": 2},
    {"name": "blocked-providers",
     "discard": "provider == 'provider-0007' || provider == 'provider-0099'"},
    {"name": "new-services", "match": "starts_with(service_id, 'svc-000')", "score": 1},
    {"name": "run-probe-ok", "score": "metrics.run_result"},
    {"name": "vm-templates", "when": "contains(template.node_types, 'tosca.nodes.Compute')",
     "match": "site.type == 'openstack'", "score": 0.5},
    {"name": "fast-delete", "match": "metrics.delete_responseTime < `300`", "score": 1.5},
    {"name": "region-c-out", "when": "group == 'cms'", "discard": "region == 'region-c'"},
    {"name": "weight-floor", "discard": "sla_weight < `0.2`"},
    {"name": "big-cloud", "match": "properties.capacity > `500`", "multiply": 1.05},
    {"name": "score-cap", "match": "score > `400`", "score": -50},
    {"name": "eu-only", "when": "use_case == 'analysis'",
     "discard": "!starts_with(region, 'region-')"},
    {"name": "create-ok", "match": "metrics.create_result == `1`", "score": 0.25},
    {"name": "tags-present", "match": "length(properties.tags || `[]`) > `1`", "score": -0.5},
    {"name": "not-listed", "discard": "contains(`[\"svc-99999\", \"svc-88888\"]`, service_id)"},
]
CONTEXT = {"user": "alice", "group": "cms", "use_case": "analysis"}
SITE_TYPES = {"org.openstack.nova": "openstack", "eu.egi.cloud.vm-management.opennebula":
              "opennebula", "eu.indigo-datacloud.marathon": "marathon",
              "eu.indigo-datacloud.chronos": "chronos"}


def _metric(provider, service_id, name, value):
    return {"metricName": name, "metricKey": "%s.%s.IaaS.%s" % (provider, service_id, name),
            "metricValue": value, "metricTime": "20-06-2019 08:59:37", "metricUnit": "",
            "paasThresholds": [], "historyClocks": [], "historyValues": []}


def catalog(sites, rng):
    providers, services, monitoring, priorities, slas = {}, {}, [], [], []
    kinds = (["org.openstack.nova"] * 16 + ["eu.egi.cloud.vm-management.opennebula"] * 2
             + ["eu.indigo-datacloud.marathon", "eu.indigo-datacloud.chronos"])
    for index in range(sites):
        provider = "provider-%04d" % (index // PER_PROVIDER)
        service_id = "svc-%05d" % index
        providers.setdefault(provider, {"id": provider, "name": provider.upper()})
        host = "cloud%05d.example.org" % index
        # every site has the image the template asks for, somewhere in its list: the rules,
        # not the prefilter, should see most of the 10,000 sites
        releases = rng.sample([("centos", "7"), ("centos", "8"), ("ubuntu", "18.04"),
                               ("ubuntu", "20.04"), ("debian", "11"), ("debian", "12"),
                               ("rocky", "9")], 3)
        releases.insert(rng.randint(0, 3), ("ubuntu", "22.04"))
        images = [{"image_id": "img-%d-%d" % (index, k), "image_name": "%s-%s" % (dist, ver),
                   "image_description": "%s %s cloud image" % (dist, ver),
                   "architecture": "x86_64", "type": "linux", "distribution": dist,
                   "version": ver, "user_name": dist, "gpu_driver": False,
                   "cuda_support": False, "service": "https://%s:5000/v3" % host}
                  for k, (dist, ver) in enumerate(releases)]
        flavors = [{"flavor_id": str(k), "flavor_name": "m%d.%s" % (k, size), "ram": ram,
                    "num_vcpus": cpus, "disk": disk, "num_gpus": 0, "gpu_vendor": None,
                    "gpu_model": None, "infiniband_support": False}
                   for k, (size, cpus, ram, disk) in enumerate(rng.sample(
                       [("tiny", 1, 512, 1), ("small", 1, 2048, 20), ("medium", 2, 4096, 40),
                        ("large", 4, 8192, 80), ("xlarge", 8, 16384, 160),
                        ("2xlarge", 16, 32768, 320), ("mem", 2, 16384, 40),
                        ("cpu", 8, 8192, 40)], 6))]
        service_type = kinds[index % len(kinds)]
        region = rng.choice(["region-a", "region-b", "region-c", "RegionOne"])
        services[service_id] = {
            "id": service_id, "provider": provider, "service_type": service_type,
            "type": "compute", "endpoint": "https://%s:5000/v3" % host,
            "region": region,
            "hostname": host, "iam_enabled": True, "idp_protocol": "oidc",
            "public_ip_assignable": rng.random() < 0.8,
            "supported_idps": [{"name": "example", "issuer": ISSUER},
                               {"name": "egi", "issuer": "https://aai.egi.eu/oidc/"}],
            "volume_types": [{"name": "standard", "qos": "std"}, {"name": "ssd", "qos": "fast"}],
            "properties": {"gpu_support": rng.random() < 0.1,
                           "capacity": rng.randint(10, 1000),
                           "tags": rng.sample(["maintenance", "hpc", "green", "new"],
                                              rng.randint(0, 2))},
            "service_parent_id": None, "microversion": None,
            "tenant": {"tenant_id": "t-%d" % index, "tenant_name": "project-%d" % index,
                       "iam_organisation": "cms", "public_network_name": "public",
                       "private_network_name": "private", "private_network_cidr": "10.0.0.0/24"},
            "images": images, "flavors": flavors,
            "site": {"name": service_id, "type": SITE_TYPES[service_type], "provider": provider,
                     "service_id": service_id, "endpoint": "https://%s:5000/v3" % host,
                     "region": region, "iam_enabled": True, "idp_protocol": "oidc",
                     "tenant_name": "project-%d" % index},
        }
        sla_id = "sla-%05d" % index
        priorities.append({"sla_id": sla_id, "service_id": service_id,
                           "weight": rng.choice([0.3, 0.5, 0.7])})
        slas.append({"id": sla_id, "customer": "cms", "provider": provider,
                     "start_date": "Tue Nov 10 23:00:00 UTC 2020",
                     "end_date": "Sun Nov 10 23:00:00 UTC 2030",
                     "services": [{"type": "computing", "service_id": service_id, "targets": [
                         {"type": "public_ip", "unit": None, "restrictions": {
                             "total_guaranteed": rng.randint(0, 100), "total_limit": 100,
                             "user_guaranteed": 5, "user_limit": 10}},
                         {"type": "computing_time", "unit": "h", "restrictions": {
                             "total_guaranteed": rng.randint(10, 1000), "total_limit": 1000,
                             "user_guaranteed": 10, "user_limit": 10, "instance_limit": 100}}]}]})
        if index % PER_PROVIDER == 0:
            monitoring.append({"provider": provider, "services": []})
        metrics = [_metric(provider, service_id, "%s_%s" % (op, what), value)
                   for op in ("create", "run", "delete", "clear")
                   for what, value in (("responseTime", float(rng.randint(20, 3000))),
                                       ("result", float(rng.random() < 0.9)),
                                       ("status", 200.0))]
        monitoring[-1]["services"].append({"service_id": service_id, "type": service_type,
                                           "metrics": metrics})
    return {"providers": providers, "services": services,
            "slam": {"preferences": [{"customer": "cms", "id": "pref-cms", "preferences": [
                {"service_type": "compute", "priority": priorities},
                {"service_type": "storage", "priority": []}]}], "sla": slas},
            "monitoring": monitoring, "data": {"onedata": {}}, "errors": []}


def median_time(func, *args):
    times = []
    for _round in range(ROUNDS):
        start = time.perf_counter()
        func(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    root = corpus.corpus_dir()
    if root is None:
        print("corpus absent: ../shared/corpus not found (the template imports INDIGO's types)")
        return 1
    topology = load(TEMPLATE, {}, mirror=corpus.mirror(root), cache_dir="")
    text = json.dumps(catalog(SITES, random.Random(42)))
    data = json.loads(text)
    rules = load_rules(RULES)
    result = rank(topology, data, rules=RULES, context=CONTEXT, issuer=ISSUER)
    parse = median_time(json.loads, text)
    ranking = median_time(rank, topology, data, RULES, CONTEXT, ISSUER)
    precompiled = median_time(rank, topology, data, rules, CONTEXT, ISSUER)
    print("sites %d, rules %d, rounds %d, catalog %.1f MB of JSON"
          % (SITES, len(RULES), ROUNDS, len(text) / 1e6))
    by_rule = sum(entry["reasons"][0].startswith("rule ") for entry in result["discarded"])
    print("ranked %d, discarded %d (%d of them by a rule: %d sites met the rules)"
          % (len(result["ranked"]), len(result["discarded"]), by_rule,
             len(result["ranked"]) + by_rule))
    print("json.loads %.1f ms" % (parse * 1e3))
    print("rank (rules compiled in the call) %.1f ms" % (ranking * 1e3))
    print("rank (rules compiled beforehand) %.1f ms" % (precompiled * 1e3))
    print("ratio %.3f" % (ranking / parse))
    return 0


if __name__ == "__main__":
    sys.exit(main())
