# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Chronos driver: INDIGO's job JSON (the golden pair chronos_2_jobs), and deployments
through the engine against the Chronos emulator, which runs each job's command for real."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest
import requests
import yaml

from ansible_collections.paas.orchestrator.plugins.module_utils import jobs
from ansible_collections.paas.orchestrator.plugins.module_utils import plan as planning
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.chronos import (
    ChronosDriver,
    named,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.engine import (
    NO_PROVIDER,
    Engine,
    EngineError,
    Request,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.placement import Placement
from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load
from ansible_collections.paas.orchestrator.tests.emulators.chronos import EmulatorServer
from ansible_collections.paas.orchestrator.tests.emulators.faultproxy import FaultProxy
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

ROOT = corpus.corpus_dir()
pytestmark = pytest.mark.skipif(ROOT is None, reason="corpus absent: INDIGO's types needed")
GOLDEN = "templates/orchestrator/src/test/resources/tosca/chronos_2_jobs"
CREDENTIALS = ("paas", "chronos-secret")

# The integration target's workflow: stage 1 fails `fail_first` times, then writes 21 under
# `results`; stage 2, its child, doubles it.
WORKFLOW_PATH = os.path.join(os.path.dirname(os.path.realpath(__file__)), *[os.pardir] * 4,
                             "integration", "targets", "chronos", "files", "workflow.yaml")
with open(WORKFLOW_PATH) as _handle:
    WORKFLOW = _handle.read()


def chronos_site(name, server, **extra):
    return dict({"name": name, "type": "chronos", "endpoint": server.url, "iam_enabled": False,
                 "username": CREDENTIALS[0], "password": CREDENTIALS[1],
                 "local_volumes_host_base_path": "/scratch/"}, **extra)


def tosca_options():
    return {"cache_dir": "", "mirror": corpus.mirror(ROOT)}


@pytest.fixture
def store(tmp_path):
    with open_store(str(tmp_path / "store.db")) as opened:
        yield opened


@pytest.fixture
def server():
    with EmulatorServer(credentials=":".join(CREDENTIALS)) as serving:
        yield serving


def deploy(store, tmp_path, sites, template=WORKFLOW, **parameters):
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    request = Request(template=template, name="workflow", sites=sites, timeout=60,
                      parameters=dict({"results": str(results)}, **parameters),
                      tosca_options=tosca_options())
    engine = Engine(store)
    return engine, request, engine.present(request)["deployment"]


def jobs_on(server):
    return {job["name"]: job for job in server.emulator.list_jobs()}


def runs_of(server, name):
    return [run for run in server.emulator.runs if run["job"] == name]


def poll_until_started(driver, deployment_uuid, keys, seconds=30):
    """Poll as the engine does (the keys not started yet) until every job has succeeded."""
    states = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        watched = [key for key in keys if states.get(key) != "STARTED"]
        if not watched:
            return states
        for key, seen in driver.poll(deployment_uuid, watched).items():
            assert seen.state != "ERROR", seen.error
            states[key] = seen.state
        time.sleep(0.05)
    raise AssertionError("jobs not finished: %s" % states)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- the job JSON -----------------------------------------------------------------------------

def golden_plan():
    return planning.build(load(os.path.join(ROOT, GOLDEN + ".yaml"), {},
                               mirror=corpus.mirror(ROOT), cache_dir=""))


def built_jobs(plan, ids, site=None):
    driver = ChronosDriver(site or {"name": "c", "type": "chronos", "endpoint": "http://c"})
    built = []
    for resource in plan.resources:
        if resource.kind == "job":
            spec = driver.spec(plan, resource, "deployment", jobs.job_spec(plan, resource)[0])
            built.append({"chronosJob": named(spec, ids[resource.key],
                                              [ids[key] for key in spec["parents"]],
                                              driver.host_base_path),
                          "toscaNodeName": resource.node})
    return built


def test_the_jobs_of_chronos_2_jobs_are_indigos():
    with open(os.path.join(ROOT, GOLDEN + ".json")) as handle:
        golden = json.load(handle)["items"]
    built = built_jobs(golden_plan(), {"chronos_job#0": "2", "chronos_job_upload#0": "4"})
    # INDIGO's environment comes from a Java HashMap: its order means nothing to Chronos
    for item in golden + built:
        item["chronosJob"]["environmentVariables"].sort(key=lambda var: var["name"])
    assert json.loads(json.dumps(built)) == golden


def test_the_site_places_local_volumes_and_a_gpu_job_on_the_mesos_containerizer():
    plan = golden_plan()
    plan.topology.nodes["docker_runtime1"].capabilities["host"]["num_gpus"] = 2
    site = {"name": "c", "type": "chronos", "endpoint": "http://c",
            "local_volumes_host_base_path": "/mnt/jobs/"}
    first = built_jobs(plan, {"chronos_job#0": "a-1", "chronos_job_upload#0": "b-2"},
                       site)[0]["chronosJob"]
    assert first["container"]["volumes"] == [
        {"containerPath": "/tmp/folder", "mode": "RW", "hostPath": "/mnt/jobs/a-1"}]
    assert first["gpus"] == 2 and first["container"]["type"] == "MESOS"


def broken(change):
    """The golden template with ``change`` applied to its nodes."""
    plan = golden_plan()
    change(plan.topology.nodes)
    return plan


@pytest.mark.parametrize("change, words", [
    (lambda nodes: nodes["chronos_job_upload"].properties.update(schedule="R1//PT1M"),
     "Error creating Job <chronos_job_upload>: 'schedule' parameter and job depencency are "
     "both specified"),
    (lambda nodes: nodes["docker_runtime1"].capabilities["host"].update(
        volumes=["data:/tmp/folder:rw:cinder:rexray"]),
     "Volume mount <data:/tmp/folder:rw:cinder:rexray> not supported for chronos containers"),
    (lambda nodes: nodes["chronos_job"].properties.update(command="  "),
     "Job 'chronos_job' has no command"),
    (lambda nodes: nodes["chronos_job"].artifacts["image"].update(
        type="tosca.artifacts.Deployment.Image.VM"), "Unsupported artifact type"),
])
def test_a_job_chronos_cannot_run_is_refused_naming_the_node(change, words):
    with pytest.raises(SiteConfigError) as raised:
        ChronosDriver({"name": "c", "type": "chronos", "endpoint": "http://c"}).check(
            broken(change))
    assert "site 'c' (chronos) cannot run node" in str(raised.value)
    assert words in str(raised.value)


def test_a_scheduled_child_is_refused_before_anything_is_written(store, server, tmp_path):
    template = WORKFLOW.replace(
        "environment_variables: {RESULTS: {get_input: results}}\n",
        "environment_variables: {RESULTS: {get_input: results}}\n        schedule: R0//PT1M\n")
    with pytest.raises(EngineError) as raised:
        deploy(store, tmp_path, [chronos_site("chronos", server)], template=template)
    assert NO_PROVIDER in str(raised.value) and "<stage2>" in str(raised.value)
    assert store.list_deployments() == []
    assert jobs_on(server) == {}


# -- deployments on the emulator --------------------------------------------------------------

def test_a_two_stage_workflow_with_a_retry_then_deleted(store, server, tmp_path):
    engine, request, deployment = deploy(store, tmp_path, [chronos_site("chronos", server)])
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    results = tmp_path / "results"
    # the real commands ran: stage 1 failed once, then wrote 21; stage 2 doubled it
    assert (results / "attempts").read_text() == "2\n"
    assert (results / "stage2.txt").read_text() == "42\n"
    rows = {row["toscaNodeName"]: row for row in deployment["resources"]}
    first, second = rows["stage1"]["uuid"], rows["stage2"]["uuid"]
    assert [run["rc"] for run in runs_of(server, first)] == [3, 0]
    assert [run["rc"] for run in runs_of(server, second)] == [0]
    assert runs_of(server, second)[0]["image"] == "library/alpine"  # recorded, not run
    assert deployment["outputs"] == {"stage2_state": "SUCCESS", "results": str(results)}
    attributes = rows["stage2"]["metadata"]["attributes"]
    assert (attributes["job_name"], attributes["success_count"]) == (second, 1)
    assert rows["stage1"]["physicalId"] == first and rows["runtime1"]["state"] == "STARTED"
    # INDIGO's jobs: named by resource uuid, the child by its parent's name
    on_site = jobs_on(server)
    assert set(on_site) == {first, second}
    assert on_site[second]["parents"] == [first]
    assert on_site[first]["retries"] == 2 and on_site[first]["description"] == "first stage"
    assert on_site[first]["container"]["volumes"] == [
        {"hostPath": "/scratch/" + first, "containerPath": "/data", "mode": "RW"}]
    assert on_site[first]["container"]["parameters"] == [{"key": "privileged", "value": "true"}]
    assert on_site[first]["ownerName"] == "paas:%s:stage1#0" % request.uuid
    assert on_site[first]["disabled"] is False  # created disabled, enabled with its child there
    counters = server.emulator.counters
    assert (counters["POST /iso8601"], counters["POST /dependency"]) == (2, 1)
    # the same deployment again: nothing posted, nothing run again
    assert engine.present(request)["changed"] is False
    assert (counters["POST /iso8601"], counters["POST /dependency"]) == (2, 1)
    # delete: every job of ours goes, children first, a job of someone else stays
    server.emulator.add_scheduled({"name": "theirs", "command": "true", "schedule": "R0//PT1M"})
    engine.absent(request.uuid, sites=[chronos_site("chronos", server)], timeout=30)
    assert store.get_deployment(request.uuid) is None
    assert set(jobs_on(server)) == {"theirs"}
    assert counters["DELETE /job/{jobName}"] == 2


def test_a_chronos_site_of_a_sites_file_is_ranked_and_used(store, server, tmp_path):
    """The catalog's way: INDIGO's prefilter keeps Chronos services for a Chronos template,
    the sites file's settings (credentials) reach the driver."""
    sites_file = tmp_path / "sites.yml"
    sites_file.write_text(yaml.safe_dump({"sites": [
        {"name": "cnaf-chronos", "type": "chronos", "endpoint": server.url,
         "iam_enabled": False,
         "settings": {"username": CREDENTIALS[0], "password": CREDENTIALS[1]}},
        {"name": "cnaf-openstack", "type": "openstack", "endpoint": "http://127.0.0.1:1/v3"}]}))
    (tmp_path / "results").mkdir()
    request = Request(template=WORKFLOW, name="ranked", timeout=60,
                      parameters={"results": str(tmp_path / "results")},
                      placement=Placement({"sites_file": str(sites_file)}),
                      tosca_options=tosca_options())
    deployment = Engine(store).present(request)["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    assert deployment["cloudProviderName"] == "cnaf-chronos"
    assert [entry["site"] for entry in deployment["placement"]["ranked"]] == ["cnaf-chronos"]
    assert (tmp_path / "results" / "stage2.txt").read_text() == "42\n"


def test_a_job_failing_for_good_fails_the_deployment_without_failover(store, server, tmp_path):
    with EmulatorServer(credentials=":".join(CREDENTIALS)) as other:
        sites = [chronos_site("chronos", server), chronos_site("other", other)]
        _engine, _request, deployment = deploy(store, tmp_path, sites, fail_first=99, retries=1)
        assert other.emulator.counters == {}  # never tried
    assert deployment["status"] == "CREATE_FAILED"
    rows = {row["toscaNodeName"]: row for row in deployment["resources"]}
    first = rows["stage1"]["uuid"]
    assert "Chronos job %s (node stage1) failed to execute" % first in deployment["statusReason"]
    assert [attempt["site"] for attempt in deployment["attempts"]] == ["chronos"]
    # one invocation, its retry included, counted once as an error; the child never ran
    assert [run["rc"] for run in runs_of(server, first)] == [3, 3]
    job = jobs_on(server)[first]
    assert (job["errorCount"], job["successCount"]) == (1, 0)
    assert runs_of(server, rows["stage2"]["uuid"]) == []
    assert rows["stage1"]["metadata"]["attributes"]["state"] == "FAILURE"


def test_a_schedule_chronos_refuses_fails_the_deployment(store, server, tmp_path):
    template = WORKFLOW.replace("description: first stage", "description: first stage\n"
                                "        schedule: R0/2015-12-25T17:22:00Z/PT1M")
    template = template.replace("        - parent_job: stage1\n", "")
    _engine, _request, deployment = deploy(store, tmp_path, [chronos_site("chronos", server)],
                                           template=template)
    assert deployment["status"] == "CREATE_FAILED"
    assert "Failed to launch job" in deployment["statusReason"]
    assert "is more than 1 year in the past" in deployment["statusReason"]
    assert len(deployment["attempts"]) == 1


@pytest.mark.parametrize("act_on_error", [False, True])
def test_intermittent_server_errors_still_complete_and_run_each_job_once(
        store, tmp_path, act_on_error):
    with EmulatorServer(credentials=":".join(CREDENTIALS), error_rate=0.3, seed=7,
                        act_on_error=act_on_error) as server:
        _engine, _request, deployment = deploy(store, tmp_path, [chronos_site("chronos", server)],
                                               fail_first=0)
        assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
        for row in deployment["resources"]:
            if row["toscaNodeName"].startswith("stage"):
                assert [run["rc"] for run in runs_of(server, row["uuid"])] == [0]
        assert (tmp_path / "results" / "stage2.txt").read_text() == "42\n"
        assert len(jobs_on(server)) == 2
        assert server.emulator.counters["faults"] >= 3


def test_broken_connections_through_the_fault_proxy_still_complete(store, server, tmp_path):
    """Dropped and reset connections, the requests carried out upstream or not."""
    with FaultProxy(server.url, seed=13, rate=0.3, kinds=["drop", "reset"],
                    forward_faulted=True) as proxy:
        site = dict(chronos_site("chronos", server), endpoint=proxy.url)
        _engine, _request, deployment = deploy(store, tmp_path, [site], fail_first=0)
        assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
        assert sum(proxy.counters()["faults"].values()) >= 3, proxy.counters()
    for row in deployment["resources"]:
        if row["toscaNodeName"].startswith("stage"):
            assert [run["rc"] for run in runs_of(server, row["uuid"])] == [0]
    assert (tmp_path / "results" / "stage2.txt").read_text() == "42\n"


def test_an_unreachable_site_fails_over_to_the_next(store, server, tmp_path):
    down = dict(chronos_site("down", server), endpoint="http://127.0.0.1:%d" % free_port(),
                http_retries=1)
    _engine, _request, deployment = deploy(store, tmp_path,
                                           [down, chronos_site("chronos", server)])
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    assert deployment["cloudProviderName"] == "chronos"
    first, second = deployment["attempts"]
    assert first["site"] == "down" and "is unreachable" in first["error"]
    assert second["error"] is None


@pytest.mark.parametrize("site_auth", [
    {"password": "wrong-password"},
    {"iam_enabled": True, "token": "wrong-token"},
])
def test_refused_credentials_are_a_provider_error_that_shows_none(
        store, server, tmp_path, site_auth):
    site = dict(chronos_site("chronos", server), **site_auth)
    _engine, _request, deployment = deploy(store, tmp_path, [site])
    assert deployment["status"] == "CREATE_FAILED"
    assert "refused the credentials (HTTP 401)" in deployment["statusReason"]
    assert "wrong" not in deployment["statusReason"]
    assert jobs_on(server) == {}


def test_a_bearer_token_when_the_site_is_iam_enabled(store, tmp_path):
    with EmulatorServer(token="iam-access-token") as server:
        site = {"name": "chronos", "type": "chronos", "endpoint": server.url,
                "token": "iam-access-token"}
        _engine, _request, deployment = deploy(store, tmp_path, [site], fail_first=0)
        assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    without = ChronosDriver({"name": "chronos", "type": "chronos", "endpoint": server.url})
    with pytest.raises(SiteConfigError, match="iam_enabled: it needs a token"):
        without.delete("any")


def test_a_rerun_enables_a_root_job_a_killed_run_left_disabled(store, server, tmp_path):
    """A run killed after posting the root job (disabled) and before enabling it: the rerun
    posts what is missing and enables the root; nothing is created twice."""
    site = chronos_site("chronos", server)
    results = tmp_path / "results"
    results.mkdir()
    topology = load(WORKFLOW, {"results": str(results), "fail_first": 0}, **tosca_options())
    plan = planning.build(topology)
    driver = ChronosDriver(site)
    items = [{"key": resource.key, "uuid": "uuid-%s" % resource.node, "node": resource.node,
              "kind": resource.kind,
              "spec": driver.spec(plan, resource, "dep-1", jobs.job_spec(plan, resource)[0])}
             for resource in plan.resources if resource.kind == "job"]
    killed = named(items[0]["spec"], "uuid-stage1", [], driver.host_base_path)
    server.emulator.add_scheduled(dict(killed, disabled=True, ownerName="paas:dep-1:stage1#0"))
    assert ChronosDriver(site).submit("dep-1", items, {}) == {
        "stage1#0": "uuid-stage1", "stage2#0": "uuid-stage2"}
    assert server.emulator.counters["POST /dependency"] == 1
    assert jobs_on(server)["uuid-stage1"]["disabled"] is False
    assert poll_until_started(ChronosDriver(site), "dep-1", ["stage1#0", "stage2#0"])
    assert (results / "stage2.txt").read_text() == "42\n"
    assert ChronosDriver(site).delete("dep-1") is True
    assert jobs_on(server) == {}


def test_the_emulator_speaks_chronos_json(server):
    auth = requests.auth.HTTPBasicAuth(*CREDENTIALS)
    assert requests.get(server.url + "/v1/scheduler/jobs", timeout=5).status_code == 401
    bad = requests.post(server.url + "/v1/scheduler/iso8601", auth=auth, timeout=5,
                        json={"name": "a b/c", "command": "true", "schedule": "R1//PT1M"})
    assert bad.status_code == 400 and "the job's name is invalid" in bad.json()["message"]
    unparsable = requests.post(server.url + "/v1/scheduler/iso8601", auth=auth, timeout=5,
                               json={"name": "j", "command": "true", "schedule": "tomorrow"})
    assert unparsable.json() == {"message": "Cannot parse schedule 'tomorrow' (wtf bro)",
                                 "status": "Bad Request"}
    assert requests.post(server.url + "/v1/scheduler/iso8601", auth=auth, timeout=5, json={
        "name": "j", "command": "true", "schedule": "R1//PT1M",
        "constraints": [["hostname", "CLUSTER"], ["rack", "EQUALS", "r1"]]}).status_code == 204
    found = requests.get(server.url + "/v1/scheduler/jobs/search", params={"name": "J"},
                         auth=auth, timeout=5).json()
    assert [job["name"] for job in found] == ["j"]
    # Chronos's defaults, and a constraint with an unknown operator dropped, as Chronos does
    assert (found[0]["retries"], found[0]["epsilon"], found[0]["cpus"]) == (2, "PT60S", 0.1)
    assert found[0]["constraints"] == [["rack", "EQUALS", "r1"]]
    gone = requests.delete(server.url + "/v1/scheduler/job/nope", auth=auth, timeout=5)
    assert (gone.status_code, gone.text) == (400, "requirement failed: Job 'nope' not found")


def test_the_emulator_runs_again_a_job_its_killed_process_was_running(tmp_path):
    """With a state directory, a run in flight when the emulator stopped is run again (a task
    Chronos lost) by the next emulator on that state."""
    command = "if [ -f marker ]; then echo done > out; else touch marker; sleep 60; fi"
    with EmulatorServer(state_dir=str(tmp_path)) as first:
        first.emulator.add_scheduled({"name": "long", "command": command,
                                      "schedule": "R0//PT1H"})
        marker = os.path.join(first.emulator.sandbox("long"), "marker")
        deadline = time.monotonic() + 10
        while not os.path.exists(marker):
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.05)
    with EmulatorServer(state_dir=str(tmp_path)) as second:
        deadline = time.monotonic() + 10
        while second.emulator.list_jobs()[0]["successCount"] == 0:
            assert time.monotonic() < deadline, "the lost run was not run again"
            time.sleep(0.05)
        with open(os.path.join(second.emulator.sandbox("long"), "out")) as handle:
            assert handle.read() == "done\n"
