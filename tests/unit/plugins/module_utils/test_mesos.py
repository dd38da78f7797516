# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Mesos task and Marathon app builder against INDIGO's golden pair (marathon_app.yaml ->
marathon_app.json) and INDIGO's refusals."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils import mesos
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

ROOT = corpus.corpus_dir()
pytestmark = pytest.mark.skipif(ROOT is None, reason="corpus absent: INDIGO's types needed")
FIXTURES = "templates/orchestrator/src/test/resources/tosca/"

HEAD = """tosca_definitions_version: tosca_simple_yaml_1_0
imports:
  - indigo_custom_types: https://raw.githubusercontent.com/indigo-dc/tosca-types/master/custom_types.yaml
"""


def app_template(app_props="", host_props="num_cpus: 0.5\n            mem_size: 512 MiB",
                 name="web", artifact_type="tosca.artifacts.Deployment.Image.Container.Docker",
                 types="", app_type="tosca.nodes.indigo.Container.Application.Docker.Marathon"):
    return HEAD + types + """topology_template:
  node_templates:
    %s:
      type: %s
      properties:
        %s
      artifacts:
        image:
          file: nginx:1.25
          type: %s
      requirements:
        - host: runtime
    runtime:
      type: tosca.nodes.indigo.Container.Runtime.Docker
      capabilities:
        host:
          properties:
            %s
""" % (name, app_type, app_props or "enable_https: false", artifact_type, host_props)


def topology(text, parameters=None):
    return load(text, parameters or {}, cache_dir="", mirror=corpus.mirror(ROOT))


def test_the_golden_marathon_app():
    """INDIGO's MarathonServiceTest#testCreateGroup: the group its createGroup builds."""
    topo = topology(os.path.join(ROOT, FIXTURES, "marathon_app.yaml"))
    with open(os.path.join(ROOT, FIXTURES, "marathon_app.json")) as handle:
        expected = json.load(handle)
    group = mesos.marathon_group(topo, {"marathon": 1},
                                 created_by="0123456789-subject@https://iam-test.com",
                                 origin="http://localhost:8080")
    assert group == expected
    # doDeploy then places the volumes on the site
    placed = mesos.place_volumes(group["apps"][0], "8a2f", "/data/mesos/")
    assert placed["container"]["volumes"] == [
        {"external": {"name": "8a2f-marathon", "provider": "dvdi",
                      "options": {"dvdi/driver": "rexray"}},
         "containerPath": "/data", "mode": "RW"},
        {"containerPath": "/data", "mode": "RW", "hostPath": "/data/mesos/8a2f"}]
    assert group["apps"][0]["container"]["volumes"][0]["external"]["name"] == "marathon"


def test_the_task_both_frameworks_read():
    topo = topology(app_template(
        app_props="""command: "  python3 -m http.server 8080  "
        uris: [https://example.org/app.tgz]
        environment_variables: {MODE: fast, LEVEL: "3"}
        constraints: [[hostname, UNIQUE]]
        labels: {team: astro}
        privileged: true""",
        host_props="""num_cpus: 2.0
            mem_size: 2 GiB
            volumes: ['/scratch:ro']
            publish_ports:
              - {protocol: udp, source: 53, target: 10053}"""))
    task = mesos.build_task(topo, "web")
    assert task == {
        "node": "web", "cmd": "python3 -m http.server 8080",
        "uris": ["https://example.org/app.tgz"], "env": {"MODE": "fast", "LEVEL": "3"},
        "constraints": [["hostname", "UNIQUE"]], "labels": {"team": "astro"}, "secrets": {},
        "enable_https": False, "user": None, "cpus": 2.0, "mem": 2147.0, "gpus": None,
        "container": {"type": "DOCKER", "image": "nginx:1.25", "privileged": True,
                      "force_pull_image": True, "volumes": ["/scratch:ro"],
                      "port_mappings": [{"container_port": 53, "service_port": 10053,
                                         "protocol": "udp"}]}}
    app = mesos.marathon_app(topo, "web", 3, created_by="alice@iam", origin="https://paas")
    assert app["instances"] == 3 and app["cmd"] == "python3 -m http.server 8080"
    assert app["labels"] == {"team": "astro", "created_by": "alice@iam",
                             "origin": "https://paas", "HAPROXY_GROUP": "external"}
    assert app["container"]["docker"]["portMappings"] == [
        {"containerPort": 53, "servicePort": 10053, "protocol": "udp", "labels": {}}]
    assert app["container"]["docker"]["privileged"] is True
    assert "gpus" not in app and "networks" not in app


def test_gpus_take_the_mesos_containerizer_with_port_definitions():
    topo = topology(app_template(host_props="""num_gpus: 1
            publish_ports: [{protocol: tcp, source: 8888}, {source: 6006, target: 10006}]"""))
    app = mesos.marathon_app(topo, "web", 1)
    assert app["gpus"] == 1.0
    assert app["container"]["type"] == "MESOS"
    assert "portMappings" not in app["container"]["docker"]
    assert app["networks"] == [{"mode": "HOST"}]
    assert app["portDefinitions"] == [{"protocol": "tcp", "port": 0, "labels": {}},
                                      {"protocol": "tcp", "port": 10006, "labels": {}}]
    assert "created_by" not in app["labels"]


def test_https_labels_per_published_port():
    topo = topology(app_template(app_props="enable_https: true", host_props="""publish_ports:
              - {source: 80}
              - {source: 443}"""))
    labels = mesos.marathon_app(topo, "web", 1)["labels"]
    assert sorted(labels) == ["HAPROXY_0_BACKEND_HEAD", "HAPROXY_0_SSL_CERT",
                              "HAPROXY_1_BACKEND_HEAD", "HAPROXY_1_SSL_CERT", "HAPROXY_GROUP"]
    assert "X-Forwarded-Proto https" in labels["HAPROXY_1_BACKEND_HEAD"]


def test_a_user_from_a_type_that_has_one():
    """INFN's types give the app a ``user`` (runAsUser); INDIGO's master types do not."""
    types = """node_types:
  example.MarathonAsUser:
    derived_from: tosca.nodes.indigo.Container.Application.Docker.Marathon
    properties:
      user: {type: string, required: false}
"""
    topo = topology(app_template(app_props="user: nobody", types=types,
                                 app_type="example.MarathonAsUser"))
    assert mesos.marathon_app(topo, "web", 1)["user"] == "nobody"


@pytest.mark.parametrize("kwargs,parameters,message", [
    ({"name": "Web_App"}, None, r"Illegal name for TOSCA node <Web_App>"),
    ({"app_props": "secrets: {DB_PASSWORD: hush}"}, None, r"Node 'web' has secrets"),
    ({"artifact_type": "tosca.artifacts.Deployment.Image.VM"}, None,
     r"Unsupported artifact type for <image> artifact in node <web>"),
    ({"app_props": "command: '   '"}, None,
     r"<command> property of node <web> must not be an empty string"),
    ({"host_props": "volumes: ['/a:/b:rw']"}, None,
     r"Volume mount </a:/b:rw> not supported for marathon containers"),
    ({"host_props": "publish_ports: [{protocol: igmp, source: 1}]"}, None,
     r"Marathon publishes tcp and udp ports only"),
    ({"host_props": "publish_ports: [{protocol: tcp}]"}, None,
     r"source port in 'publish_ports' property must be provided"),
])
def test_refusals_name_the_node(kwargs, parameters, message):
    topo = topology(app_template(**kwargs), parameters)
    with pytest.raises(ToscaError, match=message) as caught:
        mesos.marathon_app(topo, kwargs.get("name", "web"), 1)
    assert caught.value.node == kwargs.get("name", "web")
    assert "hush" not in str(caught.value)


def test_an_app_without_image_or_host():
    text = HEAD + """topology_template:
  node_templates:
    lonely:
      type: tosca.nodes.indigo.Container.Application.Docker.Marathon
"""
    topo = topology(text)
    with pytest.raises(ToscaError, match=r"<file> field for <image> artifact in node <lonely> "
                                         r"must be provided"):
        mesos.build_task(topo, "lonely")
    hosted = topology(app_template().replace("      requirements:\n        - host: runtime\n", ""))
    with pytest.raises(ToscaError, match=r"No hosting node provided for node <web>"):
        mesos.build_task(hosted, "web")


def test_volume_placement_limits():
    topo = topology(app_template(host_props="volumes: ['%s:/d:rw:dvdi:rexray']" % ("v" * 220)))
    app = mesos.marathon_app(topo, "web", 1)
    with pytest.raises(ToscaError, match=r"Only names less than 218 chars are allowed"):
        mesos.place_volumes(app, "0" * 36, "/base/")
    local = mesos.marathon_app(topology(app_template(host_props="volumes: ['/d:rw']")), "web", 1)
    with pytest.raises(ToscaError, match=r"no base host path has been provided"):
        mesos.place_volumes(local, "0" * 36, "  ")


def test_sizes_in_megabytes():
    assert mesos.megabytes("n", "mem_size", "1 GB") == 1000.0
    assert mesos.megabytes("n", "mem_size", "1GiB") == 1073.0
    assert mesos.megabytes("n", "mem_size", 256) == 256.0
    with pytest.raises(ToscaError, match=r"mem_size 'lots' of 'n' is not a size"):
        mesos.megabytes("n", "mem_size", "lots")
