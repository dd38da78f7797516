# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The OpenStack driver through a flaky cloud: the real OpenStack of tests/tooling/openstack with
the fault proxy (tests/emulators/faultproxy) in front of Nova, Neutron, Cinder and Glance,
reached through openstacksdk's per-service endpoint overrides given as site settings. A fifth of
the calls get a 5xx or a 429, every call some latency: the cluster still comes up, scales and
goes, and nothing of it is left."""

from __future__ import annotations

import contextlib
import urllib.parse
import uuid as uuidlib

from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.openstack import (
    OpenStackDriver,
)
from ansible_collections.paas.orchestrator.tests.emulators.faultproxy import FaultProxy
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.drivers import (
    test_openstack,
)

# the fixtures of test_openstack, and its skip without the corpus
cloud, store, pytestmark = test_openstack.cloud, test_openstack.store, test_openstack.pytestmark

# openstacksdk's service attribute -> its API's major version here
SERVICES = {"compute": "2", "network": "2", "block_storage": "3", "image": "2"}


@contextlib.contextmanager
def proxied(conn, versions=True, **knobs):
    """A fault proxy in front of each service of ``conn``; yields (the site settings that route
    the services through them, {service: proxy}). The overrides are the versioned URLs the
    services answer on; with ``versions``, the API versions too, so that openstacksdk trusts them
    and does no discovery of its own there (on an override it gives up at the first 5xx)."""
    with contextlib.ExitStack() as stack:
        settings, proxies = {}, {}
        for service, version in SERVICES.items():
            endpoint = urllib.parse.urlsplit(getattr(conn, service).get_endpoint())
            proxy = stack.enter_context(FaultProxy(
                "%s://%s" % (endpoint.scheme, endpoint.netloc), **knobs))
            settings["%s_endpoint_override" % service] = proxy.url + endpoint.path.rstrip("/")
            if versions:
                settings["%s_api_version" % service] = version
            proxies[service] = proxy
        yield settings, proxies


def faults(proxies):
    return sum(sum(proxy.counters()["faults"].values()) for proxy in proxies.values())


def requests(proxies):
    return sum(proxy.counters()["requests"] for proxy in proxies.values())


def workers(deployment):
    return sorted(r["metadata"]["key"] for r in deployment["resources"]
                  if r["toscaNodeName"] == "worker")


def test_a_cluster_through_20_percent_faults(store, tmp_path, cloud):
    """5xx and 429 on 20 % of the calls to every service, 10-60 ms more on each; a 5xx comes
    after the service acted on the call (a create whose answer was lost): created with one of
    everything per VM, scaled out and in, deleted; every service was reached through its proxy,
    which did inject faults; nothing is left."""
    conn = test_openstack.connect(cloud)
    with proxied(conn, rate=0.2, kinds={"error": 3, "throttle": 1}, statuses=[500, 502, 503],
                 retry_after=0, latency=0.01, jitter=0.05, forward_faulted=True,
                 seed=5) as (overrides, proxies):
        site = test_openstack.os_site("demo", cloud, flavor="m1.tiny")
        # the overrides only: the auth_url stays Keystone's, whose catalog is not used
        site["settings"].update(overrides)
        engine, request, deployment = test_openstack.deploy(store, tmp_path, [site])
        try:
            assert deployment["status"] == "CREATE_COMPLETE", deployment.get("statusReason")
            assert len(deployment["attempts"]) == 1
            front = next(r for r in deployment["resources"] if r["toscaNodeName"] == "front")
            public = front["metadata"]["attributes"]["public_address"]
            assert public == [ip.floating_ip_address for ip in conn.network.ips(
                description="paas:%s" % request.uuid)]
            volumes = [v for v in conn.block_storage.volumes(details=True)
                       if (v.metadata or {}).get("paas_deployment") == request.uuid]
            assert [(v.status, v.attachments[0]["server_id"]) for v in volumes] == [
                ("in-use", front["metadata"]["attributes"]["id"])]
            # nothing made twice by a create retried after its lost answer
            assert len(list(conn.compute.servers(
                tags="paas_deployment=%s" % request.uuid))) == 3
            assert len(list(conn.network.ports(description="paas:%s" % request.uuid))) == 3
            after_create = faults(proxies)
            assert after_create > 0

            request.parameters = {"workers": 3}
            deployment = engine.present(request)["deployment"]
            assert deployment["status"] == "UPDATE_COMPLETE", deployment.get("statusReason")
            assert workers(deployment) == ["worker#0", "worker#1", "worker#2"]
            request.parameters = {"workers": 1}
            deployment = engine.present(request)["deployment"]
            assert deployment["status"] == "UPDATE_COMPLETE", deployment.get("statusReason")
            assert workers(deployment) == ["worker#0"]
            assert len(list(conn.compute.servers(
                tags="paas_deployment=%s" % request.uuid))) == 2
        finally:
            test_openstack.remove(engine, request)
        assert store.get_deployment(request.uuid) is None
        counted = [proxy.counters() for proxy in proxies.values()]
        # every service was reached through its proxy, and the scaling and delete met faults too
        assert all(counters["requests"] > 0 for counters in counted), counted
        assert faults(proxies) > after_create, counted
        assert sum(c["faults"]["error"] for c in counted) > 0, counted
        assert sum(c["faults"]["throttle"] for c in counted) > 0, counted
        assert faults(proxies) >= 0.1 * requests(proxies), counted
    assert test_openstack.leftovers(conn, request.uuid) == {}


def test_creates_whose_answers_were_lost_make_nothing_twice(cloud):
    """The first POST of a server, a port, a floating IP and a volume reaches the cloud, which
    acts, but its answer is a 502: the driver finds each before trying again."""
    conn = test_openstack.connect(cloud)
    uuid = str(uuidlib.uuid4())
    with proxied(conn, rate=1.0, kinds=["error"], statuses=[502], forward_faulted=True,
                 methods=["POST"], path=r"/(servers|ports|floatingips|volumes)$",
                 budget=1) as (overrides, proxies):
        proxies["network"].configure(budget=2)  # the port's and the floating IP's
        site = test_openstack.os_site("demo", cloud)
        settings = site.pop("settings")
        settings.update(overrides)
        driver = OpenStackDriver(dict(site, **settings))
        try:
            physical = driver.submit(uuid, test_openstack.one_vm(cloud, uuid), {})
            description = "paas:%s" % uuid
            servers = list(conn.compute.servers(tags="paas_deployment=%s" % uuid))
            assert [server.id for server in servers] == [physical["vm#0"].split(":", 1)[1]]
            port, = conn.network.ports(description=description)
            ip, = conn.network.ips(description=description)
            assert ip.port_id == port.id
            assert len([v for v in conn.block_storage.volumes(details=True)
                        if (v.metadata or {}).get("paas_deployment") == uuid]) == 1
            assert {service: proxy.counters()["faults"]["error"]
                    for service, proxy in proxies.items()} == {
                "compute": 1, "network": 2, "block_storage": 1, "image": 0}
        finally:
            assert driver.delete(uuid) is True
    assert test_openstack.leftovers(conn, uuid) == {}


def test_a_failed_version_discovery_is_retried(cloud):
    """On an endpoint override without an API version, openstacksdk discovers the version with
    a GET keystoneauth does not retry; Cinder's answered 503, and openstacksdk reported "no
    endpoint data found" for the service: the driver tries again."""
    conn = test_openstack.connect(cloud)
    with proxied(conn, versions=False, rate=1.0, kinds=["error"], statuses=[503],
                 budget=1) as (overrides, proxies):
        site = test_openstack.os_site("demo", cloud)
        settings = site.pop("settings")
        settings.update(overrides)
        driver = OpenStackDriver(dict(site, **settings))
        # nothing to delete; every service but Glance is reached, each first GET fails
        assert driver.delete(str(uuidlib.uuid4())) is True
        counted = {service: proxy.counters() for service, proxy in proxies.items()}
        assert counted["block_storage"]["faults"]["error"] == 1, counted
        assert counted["block_storage"]["requests"] >= 3, counted
