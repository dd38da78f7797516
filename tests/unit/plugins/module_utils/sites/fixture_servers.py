# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""INDIGO's placement services as real HTTP servers on 127.0.0.1, built from the INDIGO fixtures
in ../shared/corpus/indigo-fixtures. Reusable by any test:

    from ...tests.unit.plugins.module_utils.sites.fixture_servers import indigo_servers

    with indigo_servers() as servers:
        catalog = collect(servers.sources(), customer="deep-hdc", organisation="egi",
                          token=servers.iam_token, spaces=["indigo-data"])

``servers`` maps ``cmdb``, ``slam``, ``monitoring`` and ``onezone`` to their base URLs (the
values ``sources[...]["url"]`` takes) and records every request in ``servers.requests``.

What each serves, with INDIGO's exact paths and wrappers:

- CMDB v1 (``/cmdb/v1``): orchestrator/cmdb.db, plus one storage service ``RECAS_ONEPROVIDER``
  (a oneprovider of RECAS-BARI) so that OneData spaces map to a cloud provider. Lists answer
  ``{"rows": [{"id", "key", "value", "doc": {"_id", "_rev", "type", "data"}}]}`` and leave
  ``doc`` out without ``?include_docs=true``, as CouchDB does.
- SLAM (``/rest/slam``): orchestrator/slam.db (customer ``deep-hdc``) and
  preferences-indigo-demo.json (customer ``indigo-demo``); 401 without ``Bearer <iam_token>``,
  404 for another customer.
- Monitoring (Zabbix wrapper): provider ``provider-RECAS-BARI`` serves the ``monitoring`` of
  cloudproviderranker/cpr-request.json turned back into the wrapper's groups (each machine's
  metrics split over two wrapper services), so ``collect`` must give that list back unchanged.
  ``RECAS-BARI`` serves its cmdb.db services (Mesos, Marathon, Chronos, OpenStack) with the
  metrics of the cpr-request machine of the same type (OpenStack gets the Marathon probe's,
  which has the same metric names). ``EMPTY_PROVIDER`` answers no group, ``FAILING_PROVIDER``
  answers 500, any other provider 404.
- Onezone (``/api/v3/onezone``): spaces ``indigo-data`` (supported by ``op-recas``, the CMDB's
  oneprovider, and ``op-elsewhere``, which no CMDB service describes) and ``other-space``;
  ``X-Auth-Token: <onedata_token>`` is required, and ``/user/client_tokens`` gives that token for
  ``X-Auth-Token: <organisation>:<iam_token>``.
"""

from __future__ import annotations

import contextlib
import copy
import http.server
import json
import os
import threading
import zlib
from urllib.parse import parse_qs, unquote, urlsplit

from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca.corpus import (
    corpus_dir,
)

IAM_TOKEN = "iam-access-token-7f3a9c2e"
ONEDATA_TOKEN = "onedata-token-b81d44e0"
ORGANISATION = "egi"
RECAS_ONEPROVIDER = "RECAS-BARI_oneprovider-0d2c"
EMPTY_PROVIDER = "EMPTY-PROVIDER"
FAILING_PROVIDER = "FAILING-PROVIDER"
MONITORING_PATH = "/monitoring/adapters/zabbix/zones/indigo/types/infrastructure/groups/"
ONEZONE_BASE = "/api/v3/onezone"


def fixtures_dir():
    corpus = corpus_dir()
    if corpus is None:
        raise RuntimeError("the INDIGO fixtures (../shared/corpus/indigo-fixtures) are missing")
    return os.path.join(corpus, "indigo-fixtures")


def fixture(*parts):
    with open(os.path.join(fixtures_dir(), *parts)) as handle:
        return json.load(handle)


def cmdb_data():
    """cmdb.db plus RECAS-BARI's oneprovider storage service (endpoint = OneData provider id)."""
    data = fixture("orchestrator", "cmdb.db")
    recas = next(provider for provider in data["providers"] if provider["id"] == "RECAS-BARI")
    recas["services"][RECAS_ONEPROVIDER] = {
        "id": RECAS_ONEPROVIDER, "provider_id": "RECAS-BARI", "endpoint": "op-recas",
        "hostname": "oneprovider.recas.ba.infn.it", "iam_enabled": True,
        "is_public_service": False, "type": "storage",
        "service_type": "eu.egi.cloud.storage-management.oneprovider",
    }
    return data


def slam_data():
    data = fixture("orchestrator", "slam.db")
    data["indigo-demo"] = fixture("orchestrator", "preferences-indigo-demo.json")
    return data


def _group(provider_id, services, split=True):
    """Ranker-shaped ``services`` as the Zabbix wrapper's group for ``provider_id``."""
    machines = []
    for service in services:
        metrics = service["metrics"]
        half = len(metrics) // 2 if split else len(metrics)
        parts = [metrics[:half], metrics[half:]] if split else [metrics]
        machines.append({
            "machineName": service["service_id"], "ip": "172.20.0.38",
            "serviceCategory": service["type"], "serviceId": service["service_id"],
            "services": [{"serviceName": "", "paasMetrics": part} for part in parts],
        })
    return {"groupName": provider_id, "paasMachines": machines}


def monitoring_data():
    """{provider id: wrapper group}."""
    request = fixture("cloudproviderranker", "cpr-request.json")
    groups = {block["provider"]: _group(block["provider"], block["services"])
              for block in request["monitoring"]}
    machines = request["monitoring"][0]["services"]
    probe = {service["type"]: service["metrics"] for service in reversed(machines)}
    probe["org.openstack.nova"] = probe["eu.indigo-datacloud.marathon"]
    recas = next(provider for provider in cmdb_data()["providers"]
                 if provider["id"] == "RECAS-BARI")
    services = []
    for service_id, service in recas["services"].items():
        metrics = probe.get(service["service_type"])
        if metrics is None:
            continue
        renamed = []
        for metric in metrics:
            metric = dict(metric)
            metric["metricKey"] = "RECAS-BARI.%s.%s" % (service_id, metric["metricName"])
            renamed.append(metric)
        services.append({"service_id": service_id, "type": service["service_type"],
                         "metrics": renamed})
    groups["RECAS-BARI"] = _group("RECAS-BARI", services, split=False)
    return groups


def onezone_data():
    return {
        "spaces": {
            "sp-1f0c": {"spaceId": "sp-1f0c", "name": "other-space",
                        "providers": {"op-recas": 1073741824}},
            "sp-9a77": {"spaceId": "sp-9a77", "name": "indigo-data",
                        "providers": {"op-recas": 10995116277760, "op-elsewhere": 536870912000}},
        },
        "providers": {
            "op-recas": {"providerId": "op-recas", "name": "RECAS oneprovider",
                         "domain": "oneprovider.recas.ba.infn.it", "online": True,
                         "latitude": 41.1, "longitude": 16.9},
            "op-elsewhere": {"providerId": "op-elsewhere", "name": "Elsewhere",
                             "domain": "op.elsewhere.example.org", "online": True,
                             "latitude": 0.0, "longitude": 0.0},
        },
    }


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, delayed ACKs add ~40 ms per request.
    disable_nagle_algorithm = True

    def log_message(self, *args):  # the test output stays quiet
        pass

    def _answer(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.log.append({"server": self.server.name, "method": self.command,
                                "path": self.path, "headers": dict(self.headers)})
        status, body = self.server.app(self.command, parts.path, parse_qs(parts.query),
                                       self.headers)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _answer
    do_POST = _answer


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def _doc(doc_id, kind, data):
    return {"_id": doc_id, "_rev": "1-%08x" % zlib.crc32(doc_id.encode()), "type": kind,
            "data": data}


def _without_id(record):
    return {key: value for key, value in record.items() if key != "id"}


def cmdb_app(data):
    """CMDB v1 as served by indigo-dc/cmdb over CouchDB."""
    providers = {provider["id"]: provider for provider in data["providers"]}
    tenants = data.get("tenants", {})
    not_found = (404, {"error": "not_found", "reason": "missing"})

    def rows(key, docs, query):
        listed = []
        for doc in docs:
            row = {"id": doc["_id"], "key": key, "value": {"_id": doc["_id"]}}
            if query.get("include_docs") == ["true"]:
                row["doc"] = doc
            listed.append(row)
        return 200, {"total_rows": len(listed), "offset": 0, "rows": listed}

    def tenant_doc(tenant_id):
        return _doc(tenant_id, "tenant", _without_id(tenants[tenant_id]["tenant"]))

    def app(method, path, query, headers):
        if method != "GET" or not path.startswith("/cmdb/v1/"):
            return not_found
        parts = [unquote(part) for part in path[len("/cmdb/v1/"):].split("/")]
        if parts == ["provider", "list"]:
            return rows(None, [_doc(pid, "provider", {"name": provider.get("name")})
                               for pid, provider in providers.items()], query)
        if parts == ["tenant", "list"]:
            return rows(None, [tenant_doc(tid) for tid in tenants], query)
        if len(parts) == 3 and parts[:2] == ["provider", "id"]:
            provider = providers.get(parts[2])
            if provider is None:
                return not_found
            return 200, _doc(provider["id"], "provider", {"name": provider.get("name")})
        if len(parts) != 5 or parts[1] != "id" or parts[3] != "has_many":
            return not_found
        kind, key, many = parts[0], parts[2], parts[4]
        if (kind, many) == ("provider", "services"):
            if key not in providers:
                return not_found
            services = providers[key].get("services", {})
            return rows(key, [_doc(sid, "service", _without_id(service))
                              for sid, service in services.items()], query)
        if (kind, many) == ("service", "tenants"):
            return rows(key, [tenant_doc(tid) for tid, holder in tenants.items()
                              if holder["tenant"].get("service") == key], query)
        if kind == "tenant" and many in ("images", "flavors"):
            records = tenants.get(key, {}).get(many, [])
            return rows(key, [_doc(record["id"], many[:-1], _without_id(record))
                              for record in records], query)
        return not_found

    return app


def slam_app(data, token):
    def app(method, path, query, headers):
        prefix = "/rest/slam/preferences/"
        if method != "GET" or not path.startswith(prefix):
            return 404, {"error": "Not Found"}
        if headers.get("Authorization") != "Bearer %s" % token:
            return 401, {"error": "unauthorized",
                         "error_description": "Full authentication is required"}
        customer = unquote(path[len(prefix):])
        if customer not in data:
            return 404, {"error": "Not Found", "message": "No preferences for " + customer}
        return 200, data[customer]

    return app


def monitoring_app(groups):
    def app(method, path, query, headers):
        if method != "GET" or not path.startswith(MONITORING_PATH):
            return 404, {"meta": {"status": 404}}
        provider_id = unquote(path[len(MONITORING_PATH):])
        if provider_id == FAILING_PROVIDER:
            return 500, {"meta": {"status": 500, "additionalProperties": {
                "errorMessage": "Zabbix is not answering"}}, "result": {}}
        if provider_id == EMPTY_PROVIDER:
            return 200, {"meta": {"status": 200}, "result": {"groups": []}}
        if provider_id not in groups:
            return 404, {"meta": {"status": 404, "additionalProperties": {
                "errorMessage": "Group not found"}}, "result": {}}
        return 200, {"meta": {"status": 200}, "result": {"groups": [groups[provider_id]]}}

    return app


def onezone_app(data, onedata_token, organisation, iam_token):
    def app(method, path, query, headers):
        if not path.startswith(ONEZONE_BASE + "/"):
            return 404, {"error": "not_found"}
        rest = path[len(ONEZONE_BASE):]
        if rest == "/user/client_tokens":
            if headers.get("X-Auth-Token") != "%s:%s" % (organisation, iam_token):
                return 401, {"error": "unauthorized"}
            if method == "POST":
                return 201, {"token": onedata_token}
            return 200, {"tokens": [onedata_token]}
        if method != "GET" or headers.get("X-Auth-Token") != onedata_token:
            return 401, {"error": "unauthorized"}
        if rest == "/user/spaces":
            return 200, {"spaces": list(data["spaces"]), "default": None}
        if rest.startswith("/user/spaces/"):
            space = data["spaces"].get(unquote(rest[len("/user/spaces/"):]))
            return (200, space) if space else (404, {"error": "not_found"})
        if rest.startswith("/providers/"):
            provider = data["providers"].get(unquote(rest[len("/providers/"):]))
            return (200, provider) if provider else (404, {"error": "not_found"})
        return 404, {"error": "not_found"}

    return app


def serve(name, app, log):
    """Start ``app`` on a free loopback port in a thread; return the server (``.url``)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.name = name
    server.app = app
    server.log = log
    server.url = "http://127.0.0.1:%d" % server.server_address[1]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     name="fixture-%s" % name, daemon=True).start()
    return server


class IndigoServers(dict):
    """Base URLs by service (``cmdb``, ``slam``, ``monitoring``, ``onezone``), the request log
    and the tokens the servers accept."""

    iam_token = IAM_TOKEN
    onedata_token = ONEDATA_TOKEN
    organisation = ORGANISATION

    def __init__(self, urls, log):
        super().__init__(urls)
        self.requests = log

    def sources(self, **extra):
        """A ``sources`` dict for collect() using the four services (``extra`` adds or
        replaces entries)."""
        sources = {"cmdb": {"url": self["cmdb"]}, "slam": {"url": self["slam"]},
                   "monitoring": {"url": self["monitoring"]},
                   "onezone": {"url": self["onezone"]}}
        sources.update(extra)
        return sources

    def paths(self, server):
        return [entry["path"] for entry in self.requests if entry["server"] == server]


@contextlib.contextmanager
def indigo_servers(cmdb=None, slam=None, monitoring=None, onezone=None):
    """The four INDIGO services on loopback; each ``*`` argument replaces that server's data
    (same shape as ``cmdb_data()``, ``slam_data()``, ``monitoring_data()``,
    ``onezone_data()``)."""
    log = []
    servers = [
        serve("cmdb", cmdb_app(copy.deepcopy(cmdb) if cmdb else cmdb_data()), log),
        serve("slam", slam_app(slam or slam_data(), IAM_TOKEN), log),
        serve("monitoring", monitoring_app(monitoring or monitoring_data()), log),
        serve("onezone", onezone_app(onezone or onezone_data(), ONEDATA_TOKEN, ORGANISATION,
                                     IAM_TOKEN), log),
    ]
    try:
        yield IndigoServers({
            "cmdb": servers[0].url + "/cmdb/v1",
            "slam": servers[1].url + "/rest/slam",
            "monitoring": servers[2].url,
            "onezone": servers[3].url,
        }, log)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
