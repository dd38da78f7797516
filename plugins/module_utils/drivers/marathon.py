# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Marathon sites (INDIGO's MarathonServiceImpl), through the marathon client library.

A deployment is one Marathon group, ``/<deployment uuid>``, created with a single POST
/v2/groups holding one app per container node (the app id is the node's name, spec §5), in
topological order. Each app instance is one resource row (``<node>#<index>``). Everything is
found again from Marathon alone, so a rerun after a kill creates nothing twice:

- the app's ``instances`` is the number of the node's rows in the plan (the spec carries
  their keys), so a scale changes ``instances`` only and Marathon restarts no task (a label
  listing the keys would be a new app configuration at every scale: a rolling restart);
- labels that never change with the scale: ``PAAS_DEPLOYMENT`` (the uuid), ``PAAS_RUNTIME``
  (the Docker runtime node hosting the app, whose rows report the service ports) and
  ``PAAS_DIGEST`` (a digest of the definition sent: a rerun sends nothing, a changed template
  is sent once, which Marathon rolls out).

An app is ready as INDIGO's isDeployed says: no deployment in progress and ``tasksHealthy``
(with health checks) or ``tasksRunning`` at least ``instances``. A scale-in shrinks
``instances`` (the kept rows are submitted again by the engine on update); an app whose rows
all leave is deleted. Delete removes the group (force) and waits until its tasks are gone.

Site settings: ``endpoint`` (Marathon's URL, or a list tried in order), ``iam_enabled`` with
``token`` (``Authorization: Bearer``), else ``username``/``password`` (HTTP Basic) or nothing;
``verify``, ``timeout`` (seconds), ``retries`` (of 5xx and unreachable calls), ``origin`` (the
``origin`` label; INDIGO's orchestrator URL); INDIGO's CMDB properties, as settings or under
``properties``: ``local_volumes_host_base_path``, ``load_balancer_ips``, ``gpu_support``. No
secret is logged or put in an error: the client's own log is silenced.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
import traceback
from urllib.parse import urlsplit, urlunsplit

try:
    import requests
    from marathon import MarathonClient
    from marathon.exceptions import (
        InternalServerError,
        MarathonError,
        MarathonHttpError,
        NoResponseError,
    )
except ImportError:
    MarathonClient = None
    MARATHON_ERROR = traceback.format_exc()
else:
    MARATHON_ERROR = None
    # the client logs every error answer, body included, at ERROR level: ours are raised
    logging.getLogger("marathon").addHandler(logging.NullHandler())

from ansible_collections.paas.orchestrator.plugins.module_utils import mesos
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    Driver,
    Observed,
    ProviderError,
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError

DEPLOYMENT_LABEL, RUNTIME_LABEL, DIGEST_LABEL = "PAAS_DEPLOYMENT", "PAAS_RUNTIME", "PAAS_DIGEST"
DEFAULT_ORIGIN = "paas.orchestrator"
RETRIES = 5
_RAISE = object()


class _Json:
    """A request body for the client's calls, which send ``body.to_json()``: our JSON as built
    (the client's own models drop fields and cannot encode nested ones on Python 3.10+)."""

    def __init__(self, data):
        self.data = data
        self.version = None  # update_app blanks it

    def to_json(self, minimal=True):
        return json.dumps(self.data)


def _digest(app):
    """What the app is, its scale left out: equal digests need no call to Marathon."""
    body = dict(app, labels={k: v for k, v in app["labels"].items() if k != DIGEST_LABEL})
    body.pop("instances", None)
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()[:20]


def _shown(url):
    """The URL without credentials, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += ":%d" % parts.port
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _node(key):
    return key.rpartition("#")[0]


class MarathonDriver(Driver):
    site_type = "marathon"
    supported_kinds = (kinds.CONTAINER, kinds.RUNTIME)
    # volumes come from the runtime's `volumes`; data and storage nodes are the container's
    passive_kinds = (kinds.STORAGE, kinds.DATA, kinds.ABSTRACT)

    def __init__(self, site):
        super().__init__(site)
        endpoint = site.get("endpoint")
        self.servers = endpoint if isinstance(endpoint, list) else [endpoint]
        if not endpoint or not all(isinstance(url, str) and url for url in self.servers):
            raise SiteConfigError("site '%s' (marathon) needs an endpoint (Marathon's URL)"
                                  % self.name)
        self.shown = ", ".join(_shown(url) for url in self.servers)
        properties = site.get("properties") or {}
        # INDIGO's CMDB properties, as site settings or under `properties`
        self.lb_ips, self.host_base_path, self.gpu_support = (
            site.get(name, properties.get(name)) for name in
            ("load_balancer_ips", "local_volumes_host_base_path", "gpu_support"))
        self.origin = site.get("origin", DEFAULT_ORIGIN)
        self.timeout = site.get("timeout", 10)
        self.retries = int(site.get("retries", RETRIES))
        username, password, token = site.get("username"), site.get("password"), site.get("token")
        if site.get("iam_enabled") and not token:
            raise SiteConfigError("site '%s' (marathon) is iam_enabled: it needs a token "
                                  "(sent as Authorization: Bearer)" % self.name)
        if not site.get("iam_enabled") and bool(username) != bool(password):
            raise SiteConfigError("site '%s' (marathon) needs both username and password, or "
                                  "neither" % self.name)
        self._auth = ("bearer", token) if site.get("iam_enabled") else (
            ("basic", (username, password)) if username else (None, None))
        self._client = None

    def _marathon(self):
        if MARATHON_ERROR:
            raise SiteConfigError("the marathon driver needs the marathon library: %s"
                                  % MARATHON_ERROR.strip().splitlines()[-1])
        if self._client is None:
            session = requests.Session()
            kind, value = self._auth
            if kind == "bearer":
                session.headers["Authorization"] = "Bearer %s" % value
            user, password = value if kind == "basic" else (None, None)
            self._client = MarathonClient(self.servers, username=user, password=password,
                                          timeout=self.timeout, session=session,
                                          verify=self.site.get("verify", True))
        return self._client

    def _call(self, what, name, *args, expected=None, **kwargs):
        """``client.<name>(...)``, retried with jittered backoff on 5xx and unreachable
        servers; an expected HTTP status gives its value; anything else is a provider
        error that names the site and the step, never the credentials."""
        client = self._marathon()
        for attempt in range(self.retries + 1):
            try:
                return getattr(client, name)(*args, **kwargs)
            except (InternalServerError, NoResponseError, requests.RequestException) as exc:
                if attempt == self.retries:
                    status = getattr(exc, "status_code", None)
                    raise ProviderError("site '%s': Marathon at %s is unreachable while %s (%s)"
                                        % (self.name, self.shown, what,
                                           "HTTP %s" % status if status else
                                           type(exc).__name__)) from None
            except MarathonHttpError as exc:
                if exc.status_code in (expected or {}):
                    return expected[exc.status_code]
                if exc.status_code in (401, 403):
                    raise ProviderError("site '%s': Marathon refused the credentials (HTTP %d) "
                                        "while %s" % (self.name, exc.status_code, what)) from None
                details = getattr(exc, "error_details", None)
                raise ProviderError("site '%s': Marathon refused %s: HTTP %d %s%s"
                                    % (self.name, what, exc.status_code, exc.error_message,
                                       " %s" % json.dumps(details) if details else "")) from None
            except (MarathonError, ValueError, TypeError, KeyError, AttributeError) as exc:
                raise ProviderError("site '%s': unexpected answer from Marathon while %s: %s"
                                    % (self.name, what, exc)) from None
            time.sleep(min(4.0, 0.2 * 2 ** attempt) * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable")  # the loop returns or raises

    # -- building -----------------------------------------------------------------------------
    def _app(self, topology, node, instances, deployment_uuid):
        app = mesos.marathon_app(topology, node, instances, origin=self.origin)
        app = mesos.place_volumes(app, deployment_uuid, self.host_base_path)
        app["labels"].update({DEPLOYMENT_LABEL: deployment_uuid,
                              RUNTIME_LABEL: mesos.host_node(topology,
                                                             topology.nodes[node]).name})
        return app

    def check(self, plan):
        """INDIGO's refusals before anything is created: every app must build here (name,
        image, volumes, ports; no secrets), GPUs need a site with gpu_support."""
        super().check(plan)
        topology = plan.topology
        for node in topology.nodes_of_kind(kinds.CONTAINER):
            try:
                app = self._app(topology, node.name, 1, "0" * 36)
            except ToscaError as exc:
                raise SiteConfigError("site '%s' (marathon) cannot run node '%s': %s"
                                      % (self.name, node.name, exc)) from None
            if app.get("gpus") and self.gpu_support is False:
                raise SiteConfigError("site '%s' (marathon) has no gpu_support for node '%s'"
                                      % (self.name, node.name))

    def spec(self, plan, resource, deployment_uuid, job_spec):
        """The app of a container node, with the keys of all its instances in the plan; a
        runtime only names itself."""
        if resource.kind == kinds.RUNTIME:
            return {"runtime": resource.node}
        keys = [instance.key for instance in plan.of_node(resource.node)]
        return {"app": self._app(plan.topology, resource.node, len(keys), deployment_uuid),
                "keys": keys}

    # -- the driver interface -----------------------------------------------------------------
    def submit(self, deployment_uuid, items, secrets):
        group_id = "/" + deployment_uuid
        wanted = {}
        physical = {}
        for item in items:
            spec = item["spec"]
            if "runtime" in spec:
                physical[item["key"]] = group_id
                continue
            app = dict(spec["app"], labels=dict(spec["app"]["labels"]))
            if item.get("created_by"):
                app["labels"]["created_by"] = item["created_by"]
            app["labels"][DIGEST_LABEL] = _digest(app)
            wanted[item["node"]] = app
            physical[item["key"]] = "%s/%s" % (group_id, item["node"])
        if not wanted:
            return physical
        group = self._group(deployment_uuid)
        if group is None:
            body = {"id": group_id, "apps": list(wanted.values())}
            if self._call("creating group %s" % group_id, "create_group", _Json(body),
                          expected={409: False}) is not False:
                return physical
            group = self._group(deployment_uuid)  # a lost answer: it is there after all
        current = {app.id.rpartition("/")[2]: app for app in (group.apps if group else [])}
        for node, app in wanted.items():
            have = current.get(node)
            if have is None or (have.labels or {}).get(DIGEST_LABEL) != app["labels"][
                    DIGEST_LABEL] or have.instances != app["instances"]:
                # force: a scale must not wait for a deployment Marathon is still rolling out
                self._call("updating app %s/%s" % (group_id, node), "update_app",
                           "%s/%s" % (deployment_uuid, node),
                           _Json(dict(app, id="%s/%s" % (group_id, node))), force=True)
        return physical

    def _group(self, deployment_uuid):
        return self._call("reading group /%s" % deployment_uuid, "get_group", deployment_uuid,
                          expected={404: None})

    def _apps(self, deployment_uuid):
        """node -> app of the group, with tasks, counts, deployments and the last failure."""
        prefix = "/%s/" % deployment_uuid
        apps = self._call("listing the apps of %s" % prefix, "list_apps", app_id=prefix,
                          embed_tasks=True, embed_counts=True, embed_deployments=True,
                          embed_last_task_failure=True)
        return {app.id[len(prefix):]: app for app in apps
                if app.id.startswith(prefix) and "/" not in app.id[len(prefix):]}

    @staticmethod
    def _ready(app):
        """INDIGO's isAppDeployed."""
        done = app.tasks_healthy if app.health_checks else app.tasks_running
        return not app.deployments and (done or 0) >= (app.instances or 0)

    @staticmethod
    def _ports(app):
        """[(container port or None, service port, protocol)] of the app, as Marathon gave
        the service ports: docker port mappings, or port definitions (MESOS containers)."""
        mappings = getattr(app.container, "port_mappings", None) if app.container else None
        if mappings:
            return [(m.container_port, m.service_port, m.protocol) for m in mappings]
        return [(None, d.port, d.protocol) for d in app.port_definitions or []]

    def _attributes(self, app):
        failure = app.last_task_failure
        return {
            "app_id": app.id, "instances": app.instances, "tasks_running": app.tasks_running,
            "tasks_healthy": app.tasks_healthy,
            "tasks": [{"id": task.id, "host": task.host, "ports": list(task.ports or []),
                       "state": task.state} for task in app.tasks],
            "service_ports": [port for _source, port, _protocol in self._ports(app)],
            "load_balancer_ips": list(self.lb_ips or []),
            "last_task_failure": failure.message if failure else None,
        }

    def poll(self, deployment_uuid, keys):
        apps = self._apps(deployment_uuid)
        if not apps and self._group(deployment_uuid) is None:
            raise ProviderError("site '%s': the Marathon group /%s is gone"
                                % (self.name, deployment_uuid))
        observed = {}
        for key in keys:
            node = _node(key)
            app = apps.get(node)
            if app is not None:
                observed[key] = Observed("STARTED" if self._ready(app) else "CREATING",
                                         self._attributes(app))
                continue
            # not an app: a runtime, which is as ready as the apps it hosts and gives
            # get_attribute [runtime, host, publish_ports, i, target] their service ports
            hosted = sorted((a for a in apps.values() if (a.labels or {}).get(RUNTIME_LABEL)
                             == node), key=lambda a: a.id)
            ports = [{"source": source, "target": target, "protocol": protocol}
                     for source, target, protocol in (self._ports(hosted[0]) if hosted else [])]
            observed[key] = Observed(
                "STARTED" if all(self._ready(a) for a in hosted) else "CREATING",
                {"host": {"publish_ports": ports}} if hosted else {})
        return observed

    def _tasks_left(self, belongs):
        """Ids of the tasks whose app id ``belongs(app id)``."""
        tasks = self._call("listing tasks", "list_tasks")
        return [task.id for task in tasks if belongs(task.app_id or "")]

    def remove(self, deployment_uuid, keys):
        """Scale-in is the kept instances' submit (their count); here the apps whose every
        instance leaves are deleted. True once their tasks are gone."""
        leaving = {}
        for key in keys:
            leaving[_node(key)] = leaving.get(_node(key), 0) + 1
        group = self._group(deployment_uuid)
        kept = set()
        for app in group.apps if group else []:
            node = app.id.rpartition("/")[2]
            if node not in leaving:
                continue
            if leaving[node] >= (app.instances or 0):
                self._call("deleting app %s" % app.id, "delete_app", app.id.lstrip("/"),
                           force=True, expected={404: None})
            else:
                kept.add(node)
        gone = {"/%s/%s" % (deployment_uuid, node) for node in leaving if node not in kept}
        return not self._tasks_left(gone.__contains__)

    def delete(self, deployment_uuid):
        """INDIGO's undeploy: the group goes with force; done when it is 404 and, beyond
        INDIGO, when none of its tasks is left running."""
        if self._group(deployment_uuid) is not None:
            self._call("deleting group /%s" % deployment_uuid, "delete_group", deployment_uuid,
                       force=True, expected={404: None})
            if self._group(deployment_uuid) is not None:
                return False
        prefix = "/%s/" % deployment_uuid
        return not self._tasks_left(lambda app_id: app_id.startswith(prefix))
