# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import glob
import os

import pytest
import yaml

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

ROOT = corpus.corpus_dir()
needs_corpus = pytest.mark.skipif(ROOT is None, reason="corpus absent: ../shared/corpus not found")


def _defined_node_types():
    defined = {}
    for path in glob.glob(os.path.join(ROOT, "types", "**", "*.y*ml"), recursive=True):
        with open(path) as handle:
            data = yaml.safe_load(handle)
        for name, spec in (data.get("node_types") or {}).items():
            defined[name] = spec.get("derived_from")
    return defined


@needs_corpus
def test_every_indigo_node_type_has_an_entry():
    indigo = {name for name in _defined_node_types() if name.startswith("tosca.nodes.indigo.")}
    used = {name for entry in corpus.index(ROOT) for name in entry["node_types"] or []
            if name.startswith("tosca.nodes.indigo.") and name != "tosca.nodes.indigo.Comput"}
    assert used <= indigo
    missing = sorted(indigo - set(kinds.NODE_KINDS))
    assert not missing


@needs_corpus
def test_every_indigo_node_type_is_run_by_something():
    defined = _defined_node_types()
    for name in defined:
        if not name.startswith("tosca.nodes.indigo."):
            continue
        ancestry, current = [], name
        while current and current not in ancestry:
            ancestry.append(current)
            current = defined.get(current)
        kind, _role = kinds.classify(ancestry)
        assert kind != kinds.ABSTRACT, name


@pytest.mark.parametrize("ancestry, expected", [
    (["tosca.nodes.indigo.Compute", "tosca.nodes.Compute", "tosca.nodes.Root"], (kinds.VM, None)),
    (["my.Chronos", "tosca.nodes.indigo.Container.Application.Docker.Chronos"], (kinds.JOB, None)),
    (["tosca.nodes.indigo.LRMS.FrontEnd.SlurmGalaxy"], (kinds.SOFTWARE, "slurm")),
    (["tosca.nodes.indigo.MesosMaster"], (kinds.SOFTWARE, "mesos")),
    (["tosca.nodes.indigo.SparkMesos"], (kinds.SOFTWARE, "spark")),
    (["tosca.nodes.indigo.GalaxyPortal"], (kinds.SOFTWARE, "galaxy")),
    (["tosca.nodes.paas.Job", "tosca.nodes.Root"], (kinds.JOB, None)),
    (["something.Else"], (kinds.ABSTRACT, None)),
])
def test_classify_takes_the_nearest_entry(ancestry, expected):
    assert kinds.classify(ancestry) == expected
