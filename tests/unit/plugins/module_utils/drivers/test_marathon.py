# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Marathon driver through the engine, against the Marathon emulator (the marathon client
over HTTP on loopback): one group per deployment, INDIGO's readiness, a killed task seen
recovering, scaling by count, faults, failover and delete."""

from __future__ import annotations

import socket
import time

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils import plan as planning
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    ProviderError,
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.marathon import (
    MarathonDriver,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.engine import (
    Engine,
    EngineError,
    Request,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load
from ansible_collections.paas.orchestrator.tests.emulators.marathon import (
    EmulatorServer,
    MarathonError,
)
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

ROOT = corpus.corpus_dir()
pytestmark = pytest.mark.skipif(ROOT is None, reason="corpus absent: INDIGO's types needed")
PASSWORD = "marathon-s3cret"

HEAD = """tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml
"""
SERVICE = """topology_template:
  inputs:
    replicas: {type: integer, default: 1}
    mode: {type: string, default: fast}
  node_templates:
    web:
      type: tosca.nodes.indigo.Container.Application.Docker.Marathon
      properties:
        command: python3 -m http.server 8080
        environment_variables: {MODE: {get_input: mode}}
      %s
      artifacts:
        image:
          file: python:3.12-slim
          type: tosca.artifacts.Deployment.Image.Container.Docker
      requirements:
        - host: runtime
    runtime:
      type: tosca.nodes.indigo.Container.Runtime.Docker
      capabilities:
        host:
          properties:
            num_cpus: 0.5
            mem_size: 256 MB
            publish_ports:
              - {protocol: tcp, source: 8080}
  outputs:
    endpoint:
      value: {concat: [{get_attribute: [web, load_balancer_ips, 0]}, ":",
                       {get_attribute: [runtime, host, publish_ports, 0, target]}]}
"""
PLAIN = HEAD + SERVICE % ""
# INDIGO's own type, scaled: the loader declares the scalable capability INDIGO reads
SCALED = HEAD + SERVICE % """capabilities:
        scalable:
          properties:
            count: {get_input: replicas}"""


def site(server, name="m", **extra):
    return dict({"name": name, "type": "marathon", "endpoint": server.url,
                 "iam_enabled": False, "username": "paas", "password": PASSWORD, "retries": 3,
                 "origin": "https://paas.example.org",
                 "properties": {"load_balancer_ips": ["lb.example.org"]}}, **extra)


@pytest.fixture
def store(tmp_path):
    with open_store(str(tmp_path / "store.db")) as opened:
        yield opened


@pytest.fixture
def server():
    with EmulatorServer(start_seconds=0.2, restart_seconds=0.3, username="paas",
                        password=PASSWORD) as running:
        yield running


def request(template, sites, **kwargs):
    return Request(template=template, name=kwargs.pop("name", "service"), sites=sites,
                   tosca_options={"cache_dir": "", "mirror": corpus.mirror(ROOT)},
                   timeout=kwargs.pop("timeout", 60), created_by="alice@iam.example.org",
                   **kwargs)


def app_of(server, uuid, node="web"):
    return server.emulator.app("/%s/%s" % (uuid, node))


def tasks_of(server, uuid):
    return [task for task in server.emulator.all_tasks() if task["appId"].startswith("/%s/" % uuid)]


def wait_until(predicate, timeout=10):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def test_a_service_deployed_as_one_group_then_deleted(store, server):
    engine = Engine(store)
    req = request(PLAIN, [site(server)])
    deployment = engine.present(req)["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    assert deployment["deploymentKind"] == "MARATHON"
    uuid = req.uuid
    group = server.emulator.group("/" + uuid)
    assert [app["id"] for app in group["apps"]] == ["/%s/web" % uuid]
    app = app_of(server, uuid)
    assert app["instances"] == 1 and app["tasksRunning"] == 1 and app["deployments"] == []
    assert app["cmd"] == "python3 -m http.server 8080" and app["env"] == {"MODE": "fast"}
    labels = app["labels"]
    assert labels["created_by"] == "alice@iam.example.org"
    assert labels["origin"] == "https://paas.example.org"
    assert labels["PAAS_DEPLOYMENT"] == uuid and labels["PAAS_RUNTIME"] == "runtime"
    assert labels["HAPROXY_GROUP"] == "external"
    service_port = app["container"]["portMappings"][0]["servicePort"]
    assert service_port >= 10000
    # INDIGO's outputs: the CMDB load balancer and the service port Marathon gave
    assert deployment["outputs"]["endpoint"] == "lb.example.org:%d" % service_port
    web = next(r for r in deployment["resources"] if r["toscaNodeName"] == "web")
    assert web["physicalId"] == "/%s/web" % uuid
    assert web["metadata"]["attributes"]["tasks"][0]["host"].startswith("10.20.0.")
    assert server.emulator.counters["POST /v2/groups"] == 1
    # the same deployment again: nothing is sent
    assert engine.present(req)["changed"] is False
    assert server.emulator.counters["POST /v2/groups"] == 1
    assert "PUT /v2/apps/{id}" not in server.emulator.counters
    engine.absent(uuid, sites=[site(server)], timeout=30)
    assert store.get_deployment(uuid) is None
    assert "/" + uuid not in server.emulator.groups
    assert tasks_of(server, uuid) == []


def test_readiness_waits_for_the_tasks_then_a_killed_task_is_seen_recovering(store, server):
    server.emulator.configure(start_seconds=1.0, restart_seconds=0.5)
    engine = Engine(store)
    req = request(PLAIN, [site(server)])
    deployment = engine.present(req)["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    # it took the tasks' start: INDIGO's isDeployed waited for them
    app = app_of(server, req.uuid)
    started = app["tasks"][0]["startedAt"]
    driver = MarathonDriver(site(server))
    killed = server.emulator.crash_task("/%s/web" % req.uuid)
    seen = driver.poll(req.uuid, ["web#0", "runtime#0"])
    assert seen["web#0"].state == "CREATING"
    assert seen["web#0"].attributes["tasks_running"] == 0
    assert seen["web#0"].attributes["last_task_failure"] == "Container exited with status 137"
    assert seen["runtime#0"].state == "CREATING"
    wait_until(lambda: driver.poll(req.uuid, ["web#0"])["web#0"].state == "STARTED")
    app = app_of(server, req.uuid)
    assert [task["id"] for task in app["tasks"]] != [killed]
    assert app["tasks"][0]["startedAt"] > started
    assert driver.poll(req.uuid, ["runtime#0"])["runtime#0"].attributes == {
        "host": {"publish_ports": [{"source": 8080, "protocol": "tcp",
                                    "target": app["container"]["portMappings"][0][
                                        "servicePort"]}]}}


def test_health_checks_make_readiness_wait_for_healthy_tasks(server):
    """INDIGO honours health checks an app already has: tasksHealthy must reach instances."""
    server.emulator.configure(health_seconds=0.6)
    server.emulator.create_group({"id": "/hc", "apps": [{
        "id": "web", "cmd": "sleep 1000", "instances": 2,
        "healthChecks": [{"protocol": "COMMAND", "command": {"value": "true"}}]}]})
    driver = MarathonDriver(site(server))
    wait_until(lambda: app_of(server, "hc")["tasksRunning"] == 2)
    assert driver.poll("hc", ["web#0"])["web#0"].state == "CREATING"
    wait_until(lambda: driver.poll("hc", ["web#0"])["web#0"].state == "STARTED")
    assert app_of(server, "hc")["tasksHealthy"] == 2


def test_scale_out_and_in_through_the_engine(store, server):
    engine = Engine(store)
    req = request(SCALED, [site(server)], parameters={"replicas": 1})
    deployment = engine.present(req)["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    assert deployment["deploymentKind"] == "MARATHON"
    first = [task["id"] for task in app_of(server, req.uuid)["tasks"]]

    def web_keys(deployment):
        return sorted(r["metadata"]["key"] for r in deployment["resources"]
                      if r["toscaNodeName"] == "web")

    req.parameters = {"replicas": 3}
    result = engine.present(req)
    deployment = result["deployment"]
    assert result["changed"] and deployment["status"] == "UPDATE_COMPLETE", \
        deployment.get("statusReason")
    assert web_keys(deployment) == ["web#0", "web#1", "web#2"]
    app = app_of(server, req.uuid)
    assert app["instances"] == 3 and app["tasksRunning"] == 3 and app["deployments"] == []
    # a scale is not a new configuration: the first task kept running
    assert set(first) <= {task["id"] for task in app["tasks"]}
    assert app["versionInfo"]["lastConfigChangeAt"] != app["versionInfo"]["lastScalingAt"]
    assert all(r["state"] == "STARTED" for r in deployment["resources"])

    req.parameters = {"replicas": 2}
    deployment = engine.present(req)["deployment"]
    assert deployment["status"] == "UPDATE_COMPLETE", deployment.get("statusReason")
    assert web_keys(deployment) == ["web#0", "web#1"]
    app = app_of(server, req.uuid)
    assert app["instances"] == 2 and len(app["tasks"]) == 2
    assert len(tasks_of(server, req.uuid)) == 2
    assert server.emulator.counters["POST /v2/groups"] == 1

    # a changed definition is rolled out to the kept instances
    req.parameters = {"replicas": 2, "mode": "slow"}
    deployment = engine.present(req)["deployment"]
    assert deployment["status"] == "UPDATE_COMPLETE", deployment.get("statusReason")
    app = app_of(server, req.uuid)
    assert app["env"] == {"MODE": "slow"} and app["tasksRunning"] == 2
    assert not set(first) & {task["id"] for task in app["tasks"]}

    # no instance left: the app goes, the deployment stays
    req.parameters = {"replicas": 0, "mode": "slow"}
    deployment = engine.present(req)["deployment"]
    assert deployment["status"] == "UPDATE_COMPLETE", deployment.get("statusReason")
    assert web_keys(deployment) == []
    assert server.emulator.group("/" + req.uuid)["apps"] == []
    assert tasks_of(server, req.uuid) == []
    engine.absent(req.uuid, sites=[site(server)], timeout=30)
    assert "/" + req.uuid not in server.emulator.groups


def test_intermittent_server_errors_are_retried(store, server):
    server.emulator.configure(error_rate=0.3, seed=7)
    engine = Engine(store)
    req = request(SCALED, [site(server, retries=6)], parameters={"replicas": 2})
    deployment = engine.present(req)["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    assert server.emulator.counters["injected 503"] >= 1
    assert len(deployment["attempts"]) == 1
    engine.absent(req.uuid, sites=[site(server, retries=6)], timeout=30)
    assert store.get_deployment(req.uuid) is None
    assert "/" + req.uuid not in server.emulator.groups


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_marathon_moves_the_deployment_to_the_next_site(store, server):
    down = dict(site(server, name="down"), endpoint="http://paas:%s@127.0.0.1:%d"
                % (PASSWORD, closed_port()), retries=1)
    req = request(PLAIN, [down, site(server, name="up")])
    deployment = Engine(store).present(req)["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    assert deployment["cloudProviderName"] == "up"
    first, second = deployment["attempts"]
    assert first["site"] == "down" and "unreachable" in first["error"]
    assert PASSWORD not in first["error"] and second["error"] is None


def test_refused_credentials_fail_without_showing_them(store, server):
    req = request(PLAIN, [site(server, password="wrong-password")])
    deployment = Engine(store).present(req)["deployment"]
    assert deployment["status"] == "CREATE_FAILED"
    assert "refused the credentials (HTTP 401)" in deployment["statusReason"]
    assert "wrong-password" not in deployment["statusReason"]


def test_bearer_token_when_iam_enabled(store, server):
    server.emulator.configure(username=None, password=None, tokens=["iam-access-token"])
    sites = [site(server, iam_enabled=True, username=None, password=None,
                  token="iam-access-token")]
    deployment = Engine(store).present(request(PLAIN, sites))["deployment"]
    assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
    with pytest.raises(SiteConfigError, match=r"iam_enabled: it needs a token"):
        MarathonDriver(site(server, iam_enabled=True))


def test_a_rerun_after_a_kill_finds_the_group(server):
    """A run killed after POST /v2/groups and before the store recorded it: the next submit
    finds the apps as they should be and sends nothing."""
    topology = load(SCALED, {"replicas": 2}, cache_dir="", mirror=corpus.mirror(ROOT))
    plan = planning.build(topology)
    driver = MarathonDriver(site(server))
    items = [{"key": r.key, "node": r.node, "kind": r.kind, "created_by": "bob",
              "spec": driver.spec(plan, r, "0fab", None)} for r in plan.resources]
    first = driver.submit("0fab", items, {})
    again = MarathonDriver(site(server)).submit("0fab", items, {})
    assert first == again == {"runtime#0": "/0fab", "web#0": "/0fab/web", "web#1": "/0fab/web"}
    assert server.emulator.counters["POST /v2/groups"] == 1
    assert "PUT /v2/apps/{id}" not in server.emulator.counters
    assert app_of(server, "0fab")["instances"] == 2
    # the group deleted behind our back: a provider error
    server.emulator.delete_group("/0fab", force=True)
    with pytest.raises(ProviderError, match=r"the Marathon group /0fab is gone"):
        driver.poll("0fab", ["web#0"])


@pytest.mark.parametrize("change,message", [
    ("environment_variables: {MODE: {get_input: mode}}\n        secrets: {TOKEN: hush}",
     r"site 'm' \(marathon\) cannot run node 'web': Node 'web' has secrets"),
    ("environment_variables: {MODE: {get_input: mode}}",
     r"site 'm' \(marathon\) cannot run node 'web': Error generating host path: no base host "
     r"path has been provided \(property local_volumes_host_base_path\)"),
])
def test_refusals_change_nothing(store, server, change, message):
    template = PLAIN.replace("environment_variables: {MODE: {get_input: mode}}", change)
    if "secrets" not in change:
        template = template.replace(
            "mem_size: 256 MB", "mem_size: 256 MB\n            volumes: ['/data:rw']")
    with pytest.raises(EngineError, match=message) as caught:
        Engine(store).present(request(template, [site(server)]))
    assert "hush" not in str(caught.value)
    assert store.list_deployments() == []
    assert list(server.emulator.groups) == ["/"]


def test_an_app_that_never_runs_times_out_to_the_next_site(store, server):
    """INDIGO: a Marathon deployment that does not become ready within the provider timeout
    is a CloudProviderError: cleaned up, then the next site."""
    with EmulatorServer(fail_pattern="/web$", restart_seconds=0.2) as failing:
        req = request(PLAIN, [site(failing, name="failing"), site(server, name="good")],
                      provider_timeout=3)
        deployment = Engine(store).present(req)["deployment"]
        assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
        assert [a["site"] for a in deployment["attempts"]] == ["failing", "good"]
        assert "provider timeout" in deployment["attempts"][0]["error"]
        # the failed site was cleaned up
        assert list(failing.emulator.groups) == ["/"] and failing.emulator.tasks == {}


def test_delete_waits_until_the_tasks_are_gone(server):
    server.emulator.configure(kill_seconds=0.6)
    server.emulator.create_group({"id": "/d1", "apps": [{"id": "web", "cmd": "sleep 1000"}]})
    driver = MarathonDriver(site(server))
    wait_until(lambda: app_of(server, "d1")["tasksRunning"] == 1)
    assert driver.delete("d1") is False       # the group is gone, its task is being killed
    assert "/d1" not in server.emulator.groups
    wait_until(lambda: driver.delete("d1"))
    assert tasks_of(server, "d1") == []


def test_a_scale_does_not_wait_for_a_deployment_in_progress(server):
    """Marathon locks an app while a deployment works on it (409): the driver forces."""
    server.emulator.configure(start_seconds=30)
    topology = load(SCALED, {"replicas": 1}, cache_dir="", mirror=corpus.mirror(ROOT))
    driver = MarathonDriver(site(server))

    def submit(replicas):
        plan = planning.build(load(SCALED, {"replicas": replicas}, cache_dir="",
                                   mirror=corpus.mirror(ROOT)))
        items = [{"key": r.key, "node": r.node, "kind": r.kind,
                  "spec": driver.spec(plan, r, "0fab", None)} for r in plan.resources]
        return driver.submit("0fab", items, {})

    assert topology.deployment_kind == "MARATHON"
    submit(1)
    assert app_of(server, "0fab")["deployments"]  # still starting
    with pytest.raises(MarathonError, match=r"App is locked by one or more deployments"):
        server.emulator.put_app("/0fab/web", {"instances": 2})
    submit(3)
    app = app_of(server, "0fab")
    assert app["instances"] == 3 and len(app["tasks"]) == 3
    assert driver.poll("0fab", ["web#2"])["web#2"].state == "CREATING"
