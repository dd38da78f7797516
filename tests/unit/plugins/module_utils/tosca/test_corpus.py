# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every real INDIGO template of the corpus: what INDIGO accepts, we accept; what we reject, we
reject for its real fault, named."""

from __future__ import annotations

import os

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

ROOT = corpus.corpus_dir()
pytestmark = pytest.mark.skipif(ROOT is None, reason="corpus absent: ../shared/corpus not found")

# The templates we reject, each with the words of the real fault our message must carry.
EXPECTED_REJECTIONS = {
    "chronos_tosca_generator.yaml": ("Not valid YAML at line 26", None),
    "galaxy_tosca.yaml": ('unknown field "name"', "bowtie2_galaxy_tool"),
    "galaxy_tosca_clues_error.yaml": ("unknown type 'tosca.nodes.indigo.Comput'", "torque_wn"),
    "qcg_jobs.yaml": ("missing required field \"['environment']\"", "qcg_job"),
    "deep-oc-retinopathy-cpu-template.yml": ('"1" is not a float', "Docker"),
    "deep-oc-retinopathy-gpu-template.yml": ('"1" is not a float', "Docker"),
    "CMS-HTCondor-AWS.yaml": ('unknown field "availability_zone"', "set_availability_zone"),
    "vm_docker_deepass.yml": ('unknown field "rclone_pass"', "deepaas_app"),
}


def _results(tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("cache"))
    results = []
    for entry in corpus.index(ROOT):
        path = os.path.join(ROOT, entry["file"])
        try:
            topology = load(path, corpus.parameters(path), mirror=corpus.mirror(ROOT),
                            cache_dir=cache)
            results.append((entry, topology, None))
        except ToscaError as exc:
            results.append((entry, None, exc))
    return results


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return _results(tmp_path_factory)


def test_every_template_indigo_accepts_is_accepted(results):
    refused = [
        "%s: %s" % (entry["file"], error)
        for entry, _topology, error in results
        if error is not None and entry["tosca_parser_2_12"]["passed"]
    ]
    assert not refused, "\n".join(refused)
    accepted = sum(1 for _entry, topology, _error in results if topology is not None)
    assert accepted >= 76


def test_each_rejection_names_the_real_fault(results):
    rejected = {os.path.basename(entry["file"]): error
                for entry, _topology, error in results if error is not None}
    report = "\n".join("%s: %s" % (name, error) for name, error in sorted(rejected.items()))
    print("rejected templates and why:\n" + report)
    assert set(rejected) == set(EXPECTED_REJECTIONS), report
    for name, (words, node) in EXPECTED_REJECTIONS.items():
        error = rejected[name]
        assert words in str(error), name
        assert error.source.endswith(name)
        assert error.node == node, name


def test_accepted_templates_have_an_order_and_a_kind_for_every_node(results):
    for entry, topology, _error in results:
        if topology is None:
            continue
        assert sorted(topology.order) == sorted(topology.nodes), entry["file"]
        for name, node in topology.nodes.items():
            for dependency in node.depends_on:
                assert topology.order.index(dependency) < topology.order.index(name)
        assert topology.deployment_kind in ("TOSCA", "CHRONOS", "MARATHON", "QCG",
                                            "KUBERNETES_HELM_CHART")
        # short normative names (`BlockStorage`) come back in full
        declared = set(entry["node_types"]) | {"tosca.nodes." + t for t in entry["node_types"]}
        assert {node.type for node in topology.nodes.values()} <= declared


def test_deployment_kinds_follow_indigo(results):
    kinds = {os.path.basename(entry["file"]): topology.deployment_kind
             for entry, topology, _error in results if topology is not None}
    assert kinds["chronos_2_jobs.yaml"] == "CHRONOS"
    assert kinds["marathon_app.yaml"] == "MARATHON"
    assert kinds["compute_tosca.yaml"] == "TOSCA"
    assert kinds["galaxy_elixir_it.yaml"] == "TOSCA"


def test_type_files_are_parsed_once_and_never_modified(tmp_path_factory):
    import json

    from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import imports

    _results(tmp_path_factory)
    before = json.dumps(imports._PARSED, sort_keys=True, default=str)
    count = len(imports._PARSED)
    _results(tmp_path_factory)
    assert len(imports._PARSED) == count
    assert json.dumps(imports._PARSED, sort_keys=True, default=str) == before


def test_roles_of_the_software_each_vm_hosts(results):
    from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.roles import (
        configuration,
    )
    from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.topology import (
        hosted_software,
    )

    def hosted_roles(topology, vm):
        return configuration(hosted_software(topology, vm))[0]

    topologies = {os.path.basename(entry["file"]): topology
                  for entry, topology, _error in results if topology is not None}
    galaxy = topologies["galaxy_cluster.yaml"]
    assert hosted_roles(galaxy, "lrms_server") == ["slurm", "galaxy"]
    mesos = topologies["mesos_cluster.yaml"]
    assert all(hosted_roles(mesos, node.name) in (["mesos"], ["mesos", "spark"], [])
               for node in mesos.nodes_of_kind("vm"))
    assert any(hosted_roles(mesos, node.name) for node in mesos.nodes_of_kind("vm"))
