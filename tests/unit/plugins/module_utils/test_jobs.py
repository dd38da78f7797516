# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils import jobs
from ansible_collections.paas.orchestrator.plugins.module_utils import plan as planning
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

ROOT = corpus.corpus_dir()

JOB = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  inputs:
    secret_key: {type: string}
  node_templates:
    job:
      type: tosca.nodes.paas.Job
      properties:
        command: run --fast
        environment_variables: {MODE: fast, LEVEL: "3"}
        retries: 2
        mem_size: 2 GiB
        timeout: 5 m
        uris: [http://example.org/data/input.csv]
        input_files: [{url: "s3://bucket/a.txt", path: in/a.txt}]
        output_files: [{url: "s3://bucket/out.txt", path: out.txt}]
        credentials:
          "s3://bucket/": {access_key: AK, secret_key: {get_input: secret_key}}
"""


def test_paas_job_spec_and_credentials_apart():
    plan = planning.build(load(JOB, {"secret_key": "hush"}, cache_dir=""))
    spec, credentials = jobs.job_spec(plan, plan.resources[0])
    assert spec["command"] == "run --fast"
    assert spec["env"] == {"MODE": "fast", "LEVEL": "3"}
    assert spec["retries"] == 2
    assert spec["mem_mb"] == 2147
    assert spec["timeout"] == 300
    assert spec["inputs"] == [{"url": "http://example.org/data/input.csv", "path": "input.csv"},
                              {"url": "s3://bucket/a.txt", "path": "in/a.txt"}]
    assert spec["outputs"] == [{"url": "s3://bucket/out.txt", "path": "out.txt"}]
    assert credentials == {"s3://bucket/": {"access_key": "AK", "secret_key": "hush"}}
    assert "hush" not in repr(spec)


def test_staged_paths_stay_in_the_job_directory():
    text = JOB.replace("path: out.txt", "path: ../../etc/cron.d/x")
    plan = planning.build(load(text, {"secret_key": "x"}, cache_dir=""))
    with pytest.raises(ToscaError, match="inside the job directory"):
        jobs.job_spec(plan, plan.resources[0])


@pytest.mark.skipif(ROOT is None, reason="corpus absent: ../shared/corpus not found")
def test_indigo_chronos_jobs():
    path = os.path.join(ROOT, "templates/orchestrator/src/test/resources/tosca/chronos_2_jobs.yaml")
    plan = planning.build(load(path, {}, mirror=corpus.mirror(ROOT), cache_dir=""))
    first, _credentials = jobs.job_spec(plan, plan.by_key["chronos_job#0"])
    second, _credentials = jobs.job_spec(plan, plan.by_key["chronos_job_upload#0"])
    assert first["command"] == "/bin/bash run.sh"
    assert first["retries"] == 3
    assert first["cpus"] == 1.0 and first["mem_mb"] == 1024  # from its Docker runtime
    assert first["image"] == "indigodatacloud/job"
    assert first["inputs"] == [{"url": "http://example.com", "path": "index.html"}]
    assert first["parents"] == []
    assert second["parents"] == ["chronos_job#0"]  # the parent job, not the runtime host


@pytest.mark.parametrize("size, expected", [("512 MB", 512), ("1 GiB", 1073), (256, 256),
                                            (None, None)])
def test_megabytes(size, expected):
    assert jobs.megabytes(size) == expected


@pytest.mark.parametrize("text, expected", [
    ("2GB", 2000), ("512 MiB", 536), (" 1.5 gb ", 1500), ("10 parsecs", None), ("512", None),
    ("GB", None), ("1.2.3 GB", None),
])
def test_size_megabytes_wants_a_known_unit_spaced_or_not(text, expected):
    assert jobs.size_megabytes(text) == expected
