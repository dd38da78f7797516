# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconciler with the real local site: real processes, a real SQLite store."""

from __future__ import annotations

import glob
import http.server
import json
import os
import pathlib
import threading

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    ProviderError,
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.local import LocalDriver
from ansible_collections.paas.orchestrator.plugins.module_utils.engine import (
    EXHAUSTED,
    NO_PROVIDER,
    Engine,
    EngineError,
    Request,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.drivers.\
    test_local_agent import alive, running_pid, wait_until

BUNDLED = os.path.join(os.path.dirname(os.path.realpath(__file__)), *[os.pardir] * 4,
                       "playbooks", "tosca", "sweep_jobs.yaml")


def jobs_template(first="echo one >> runs", second="echo two >> runs", retries=0, inputs=""):
    return """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  inputs:
    word: {type: string, default: hello}
    api_token: {type: string, required: false}
%s  node_templates:
    first:
      type: tosca.nodes.paas.Job
      properties:
        command: '%s'
        retries: %d
        environment_variables: {WORD: {get_input: word}}
    second:
      type: tosca.nodes.paas.Job
      properties: {command: '%s'}
      requirements: [{parent_job: first}]
  outputs:
    first_dir: {value: {get_attribute: [first, job_dir]}}
    attempts: {value: {get_attribute: [first, attempts]}}
""" % (inputs, first, retries, second)


@pytest.fixture
def store(tmp_path):
    with open_store(str(tmp_path / "store.db")) as opened:
        yield opened


@pytest.fixture
def site(tmp_path):
    return {"name": "here", "type": "local", "workdir": str(tmp_path / "site"), "slots": 2}


def request(template, site, **kwargs):
    kwargs.setdefault("name", "dep")
    kwargs.setdefault("sites", [site])
    kwargs.setdefault("timeout", 120)
    return Request(template=template, tosca_options={"cache_dir": ""}, **kwargs)


def test_bundled_sweep_completes_with_a_retry_and_stages_out(store, site, tmp_path):
    out = tmp_path / "results" / "summary.txt"
    engine = Engine(store)
    req = request(BUNDLED, site, parameters={"results_url": "file://%s" % out})
    result = engine.present(req)
    deployment = result["deployment"]
    assert result["changed"] is True
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    assert deployment["task"] == "NONE"
    assert deployment["outputs"] == {"summary": "file://%s" % out}
    assert deployment["cloudProviderName"] == "here"
    lines = out.read_text().splitlines()
    assert len(lines) == 20
    resources = deployment["resources"]
    assert len(resources) == 21 and {r["state"] for r in resources} == {"STARTED"}
    retried = [r["metadata"]["parameters"] for r in resources
               if r["metadata"]["attributes"]["attempts"] > 1]
    assert retried == [{"SEED": 3, "RATE": 0.4}]
    collect = next(r for r in resources if r["toscaNodeName"] == "collect")
    simulate = [r for r in resources if r["toscaNodeName"] == "simulate"]
    assert all(r["requiredBy"] == [collect["uuid"]] for r in simulate)
    (attempt,) = deployment["attempts"]
    assert attempt["site"] == "here" and attempt["error"] is None and attempt["end"]
    again = engine.present(req)
    assert again["changed"] is False
    assert again["deployment"]["status"] == "CREATE_COMPLETE"
    # the same inputs, spelled as strings and with a default given explicitly
    same = request(BUNDLED, site, parameters={"results_url": "file://%s" % out, "seeds": "5",
                                              "flaky_rate": 0.4})
    assert engine.present(same)["changed"] is False


def test_a_sweep_recorded_in_postgresql(postgres_schema_url, site, tmp_path):
    out = tmp_path / "summary.txt"
    with open_store(postgres_schema_url) as pg_store:
        engine = Engine(pg_store)
        req = request(BUNDLED, site, parameters={"results_url": "file://%s" % out})
        deployment = engine.present(req)["deployment"]
        assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
        assert len(pg_store.list_resources(req.uuid)) == 21
        assert engine.present(req)["changed"] is False
        engine.absent(req.uuid)
        assert pg_store.list_deployments() == []
    assert len(out.read_text().splitlines()) == 20


def test_check_mode_records_nothing(store, site, tmp_path):
    result = Engine(store).present(request(BUNDLED, site), check_mode=True)
    assert result["changed"] is True and result["deployment"] is None
    assert len(result["planned"]) == 21
    assert store.list_deployments() == []
    assert not os.path.exists(site["workdir"])


def test_outputs_from_live_attributes(store, site):
    deployment = Engine(store).present(request(jobs_template(), site))["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE"
    first_dir = deployment["outputs"]["first_dir"]
    assert first_dir.endswith("jobs/first/0")
    assert deployment["outputs"]["attempts"] == 1
    with open(os.path.join(first_dir, "runs")) as handle:
        assert handle.read() == "one\n"


def test_a_failed_job_fails_the_deployment_without_failover(store, site, tmp_path):
    other = dict(site, name="there", workdir=str(tmp_path / "other"))
    req = request(jobs_template(first="exit 3", retries=1), site, sites=[site, other])
    deployment = Engine(store).present(req)["deployment"]
    assert deployment["status"] == "CREATE_FAILED"
    assert "first#0" in deployment["statusReason"]
    assert "exit code 3 after 2 attempts" in deployment["statusReason"]
    assert [a["site"] for a in deployment["attempts"]] == ["here"]
    states = {r["toscaNodeName"]: r["state"] for r in deployment["resources"]}
    assert states == {"first": "ERROR", "second": "ERROR"}
    # the child never ran
    assert not os.path.exists(os.path.join(site["workdir"], req.uuid, "jobs", "second"))


def test_provider_error_moves_to_the_next_site(store, site, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    broken = {"name": "broken", "type": "local", "workdir": str(blocker / "site")}
    req = request(jobs_template(), site, sites=[broken, site])
    deployment = Engine(store).present(req)["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE"
    assert deployment["cloudProviderName"] == "here"
    first, second = deployment["attempts"]
    assert first["site"] == "broken" and "cannot run jobs" in first["error"]
    assert second["site"] == "here" and second["error"] is None


def test_a_site_cleaned_by_the_failover_is_not_needed_to_delete(
        store, site, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    broken = {"name": "broken", "type": "local", "workdir": str(blocker / "site")}
    req = request(jobs_template(), site, sites=[broken, site])
    assert Engine(store).present(req)["deployment"]["cloudProviderName"] == "here"
    # the broken site goes down for good: deleting must not need it, it holds nothing
    real_delete = LocalDriver.delete

    def delete(driver, uuid):
        if driver.name == "broken":
            raise ProviderError("broken is down")
        return real_delete(driver, uuid)

    monkeypatch.setattr(LocalDriver, "delete", delete)
    assert Engine(store).absent(req.uuid, sites=[broken, site])["deployment"] is None


def test_every_site_failing_lists_each_as_indigo_does(store, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    sites = [{"name": name, "type": "local", "workdir": str(blocker / name)}
             for name in ("one", "two", "three")]
    req = request(jobs_template(), None, sites=sites, max_providers_retry=2)
    deployment = Engine(store).present(req)["deployment"]
    assert deployment["status"] == "CREATE_FAILED"
    reason = deployment["statusReason"]
    assert reason.startswith(EXHAUSTED)
    assert "Cloud Provider one" in reason and "Cloud Provider two" in reason
    assert "three" not in reason
    assert "-" * 64 in reason


def test_no_site_can_run_it(store):
    text = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    vm: {type: tosca.nodes.Compute}
"""
    with pytest.raises(EngineError) as info:
        Engine(store).present(request(text, {"name": "here", "type": "local"}))
    assert str(info.value).startswith(NO_PROVIDER)
    assert "site 'here' (local) runs Compute node 'vm' on this machine only with all_in_one: " \
        "true" in str(info.value)
    assert store.list_deployments() == []


@pytest.mark.parametrize("sites, words", [
    ([], "At least one site"),
    ([{"type": "local"}], "has no name"),
    ([{"name": "a", "type": "cloud9"}], "unknown type 'cloud9'"),
    ([{"name": "a", "type": "local"}, {"name": "a", "type": "local"}], "listed twice"),
    ([{"name": "a", "type": "local", "slots": 0}], "slots must be a positive"),
])
def test_bad_sites_are_refused_before_anything_is_written(store, sites, words):
    with pytest.raises(SiteConfigError, match=words):
        Engine(store).present(request(jobs_template(), None, sites=sites))
    assert store.list_deployments() == []


def test_provider_timeout_and_keep_last_attempt(store, site):
    req = request(jobs_template(first="sleep 30"), site, provider_timeout=1,
                  keep_last_attempt=True)
    engine = Engine(store)
    deployment = engine.present(req)["deployment"]
    assert deployment["status"] == "CREATE_FAILED"
    assert "provider timeout" in deployment["statusReason"]
    directory = os.path.join(site["workdir"], req.uuid)
    assert os.path.isdir(directory)  # kept for inspection: the last site tried
    assert engine.absent(req.uuid)["deployment"] is None
    assert not os.path.exists(directory)


def test_overall_timeout(store, site):
    req = request(jobs_template(first="sleep 30"), site, timeout=1)
    engine = Engine(store)
    deployment = engine.present(req)["deployment"]
    assert deployment["status"] == "CREATE_FAILED"
    assert deployment["statusReason"] == "Timeout: Maximum execution time exceeded."
    directory = os.path.join(site["workdir"], req.uuid)
    engine.absent(req.uuid, sites=[site])
    assert not os.path.exists(directory)


def test_resume_after_an_unwaited_call_runs_nothing_twice(store, site):
    engine = Engine(store)
    req = request(jobs_template(first="sleep 1; echo one >> runs"), site, wait=False)
    first = engine.present(req)
    assert first["changed"] is True
    assert first["deployment"]["status"] == "CREATE_IN_PROGRESS"
    req.wait = True
    done = engine.present(req)["deployment"]
    assert done["status"] == "CREATE_COMPLETE"
    directory = os.path.join(site["workdir"], req.uuid)
    with open(os.path.join(directory, "jobs", "first", "0", "runs")) as handle:
        assert handle.read() == "one\n"
    started = [json.loads(line) for line in open(os.path.join(directory, "journal.jsonl"))
               if '"started"' in line]
    assert sorted(event["key"] for event in started) == ["first#0", "second#0"]


def test_updates_follow_indigo(store, site):
    engine = Engine(store)
    running = request(jobs_template(first="sleep 20"), site, wait=False)
    engine.present(running)
    changed = request(jobs_template(first="sleep 20"), site, wait=False,
                      parameters={"word": "other"})
    with pytest.raises(EngineError, match="Cannot update a deployment in CREATE_IN_PROGRESS"):
        engine.present(changed)
    engine.absent(running.uuid)
    done = request(jobs_template(), site)
    engine.present(done)
    with pytest.raises(EngineError, match=r"^JOB deployments cannot be updated\.$"):
        engine.present(request(jobs_template(), site, parameters={"word": "other"}))
    assert engine.describe(done.uuid)["status"] == "CREATE_COMPLETE"


def test_delete_leaves_no_process_and_no_file(store, site):
    engine = Engine(store)
    req = request(jobs_template(first="sleep 60"), site, wait=False)
    engine.present(req)
    directory = os.path.join(site["workdir"], req.uuid)
    job_pid = running_pid(pathlib.Path(directory), "first#0")
    result = engine.absent(req.uuid)
    assert result == {"changed": True, "deployment": None}
    assert not os.path.exists(directory)
    assert store.get_deployment(req.uuid) is None
    wait_until(lambda: not alive(job_pid), "the job to end with the deletion", 5)
    assert engine.absent(req.uuid) == {"changed": False, "deployment": None}


def test_secrets_are_not_stored(store, site, tmp_path):
    req = request(jobs_template(), site, parameters={"api_token": "tok-31337-secret"})
    Engine(store).present(req)
    row = store.get_deployment(req.uuid)
    assert "api_token" not in row["parameters"]
    for path in glob.glob(str(tmp_path / "**" / "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                assert b"tok-31337-secret" not in handle.read(), path


class _Callbacks(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_callback_gets_the_deployment_when_created_and_completed(store, site):
    import requests

    _Callbacks.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Callbacks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d/hook" % server.server_port
        engine = Engine(store, notify=lambda target, body: requests.post(target, json=body,
                                                                         timeout=5))
        engine.present(request(jobs_template(), site, callback=url))
    finally:
        server.shutdown()
        server.server_close()
    statuses = [body["status"] for body in _Callbacks.received]
    assert statuses == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]


STAGED = """tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  inputs:
    input_url: {type: string}
    output_url: {type: string}
    s3_endpoint: {type: string}
    s3_access_key: {type: string}
    s3_secret_key: {type: string}
  node_templates:
    count:
      type: tosca.nodes.paas.Job
      properties:
        command: wc -l < data/words.txt > count.txt
        input_files: [{url: {get_input: input_url}, path: data/words.txt}]
        output_files: [{url: {get_input: output_url}, path: count.txt}]
        credentials:
          "s3://":
            endpoint_url: {get_input: s3_endpoint}
            access_key: {get_input: s3_access_key}
            secret_key: {get_input: s3_secret_key}
"""


def test_staging_from_http_to_s3_on_swift(store, site, tmp_path, http_store, bucket,
                                          s3_credentials):
    import boto3

    (tmp_path / "served" / "words.txt").write_text("a\nb\nc\n")
    parameters = {
        "input_url": http_store.url("words.txt"),
        "output_url": "s3://%s/results/count.txt" % bucket,
        "s3_endpoint": s3_credentials["endpoint_url"],
        "s3_access_key": s3_credentials["access_key"],
        "s3_secret_key": s3_credentials["secret_key"],
    }
    deployment = Engine(store).present(request(STAGED, site, parameters=parameters))["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    client = boto3.client("s3", endpoint_url=s3_credentials["endpoint_url"],
                          aws_access_key_id=s3_credentials["access_key"],
                          aws_secret_access_key=s3_credentials["secret_key"],
                          region_name="us-east-1")
    body = client.get_object(Bucket=bucket, Key="results/count.txt")["Body"].read()
    assert body.strip() == b"3"
    secret = s3_credentials["secret_key"].encode()
    assert "s3_secret_key" not in store.get_deployment(deployment["uuid"])["parameters"]
    for path in glob.glob(str(tmp_path / "**" / "*"), recursive=True):
        if os.path.isfile(path) and not path.endswith("words.txt"):
            with open(path, "rb") as handle:
                assert secret not in handle.read(), path


def test_unreachable_staging_url_fails_the_job_and_names_it(store, site, free_port):
    parameters = {"input_url": "http://127.0.0.1:%d/words.txt" % free_port,
                  "output_url": "file:///dev/null", "s3_endpoint": "http://127.0.0.1:1",
                  "s3_access_key": "a", "s3_secret_key": "b"}
    deployment = Engine(store).present(request(STAGED, site, parameters=parameters))["deployment"]
    assert deployment["status"] == "CREATE_FAILED"
    assert "count#0" in deployment["statusReason"]
    stderr = os.path.join(site["workdir"], deployment["uuid"], "jobs", "count", "0", "stderr")
    with open(stderr) as handle:
        assert "staging in failed" in handle.read()


def test_an_unsupported_staging_url_is_refused_before_anything_is_written(store, site):
    parameters = {"input_url": "onedata://space/words.txt", "output_url": "file:///dev/null",
                  "s3_endpoint": "x", "s3_access_key": "x", "s3_secret_key": "x"}
    with pytest.raises(ToscaError) as info:
        Engine(store).present(request(STAGED, site, parameters=parameters))
    assert "input_files URL 'onedata://space/words.txt' of job 'count' is not supported" \
        in str(info.value)
    assert store.list_deployments() == []
    assert not os.path.exists(site["workdir"])


CHRONOS = """tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml
topology_template:
  node_templates:
    hello:
      type: tosca.nodes.indigo.Container.Application.Docker.Chronos
      properties:
        command: echo "hello from $WHO" > greeting
        environment_variables: {WHO: chronos}
        retries: 1
      artifacts:
        image:
          file: indigodatacloud/hello
          type: tosca.artifacts.Deployment.Image.Container.Docker
      requirements:
        - host: runtime
    after:
      type: tosca.nodes.indigo.Container.Application.Docker.Chronos
      properties:
        command: cat ../../hello/0/greeting
      artifacts:
        image:
          file: indigodatacloud/hello
          type: tosca.artifacts.Deployment.Image.Container.Docker
      requirements:
        - host: runtime
        - parent_job: hello
    runtime:
      type: tosca.nodes.indigo.Container.Runtime.Docker
      capabilities:
        host:
          properties: {num_cpus: 0.5, mem_size: 128 MB}
"""


@pytest.mark.skipif(corpus.corpus_dir() is None,
                    reason="corpus absent: ../shared/corpus not found (INDIGO's types)")
def test_indigo_chronos_jobs_run_natively_with_their_image_recorded(store, site):
    mirror = corpus.mirror(corpus.corpus_dir())
    req = Request(template=CHRONOS, name="chronos", sites=[site],
                  tosca_options={"cache_dir": "", "mirror": mirror})
    deployment = Engine(store).present(req)["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    assert deployment["deploymentKind"] == "CHRONOS"
    rows = {row["toscaNodeName"]: row for row in deployment["resources"]}
    assert rows["hello"]["metadata"]["image"] == "indigodatacloud/hello"
    assert rows["runtime"]["state"] == "STARTED"
    stdout = os.path.join(site["workdir"], req.uuid, "jobs", "after", "0", "stdout")
    with open(stdout) as handle:
        assert handle.read() == "hello from chronos\n"
