# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Chronos sites: each job node instance is one Chronos job, as INDIGO's ChronosServiceImpl
creates it (spec §3.4, §5), through Chronos's REST API with requests.

The job is INDIGO's: its ``name`` is the orchestrator's resource uuid, its parents are named
the same way, the rest is the Mesos task every Mesos framework reads from the node
(``mesos.build_task``) in Chronos's words. Chronos has no labels, so the driver writes one
more field, ``ownerName = "paas:<deployment uuid>:<resource key>"``: a rerun finds the jobs a
killed run created, poll finds a key's job, delete finds every job of a deployment, all with
no state kept here.

A job with parents waits for them to succeed *after* it exists, so a root job that has children
is created disabled and enabled once its children are all on the site: a root that ran before
its child existed would leave that child waiting for ever.
"""

from __future__ import annotations

import random
import time
import traceback

try:
    import requests
except ImportError:
    requests = None
    REQUESTS_ERROR = traceback.format_exc()
else:
    REQUESTS_ERROR = None

from ansible_collections.paas.orchestrator.plugins.module_utils import jobs, mesos
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    DeploymentError,
    Driver,
    Observed,
    ProviderError,
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.staging import redact
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError

API = "/v1/scheduler"
MARKER = "paas"
DEFAULT_HOST_BASE_PATH = "/tmp/"  # INDIGO's default local_volumes_host_base_path
_TRANSIENT = {429, 500, 502, 503, 504}


def _marker(deployment_uuid, key):
    return "%s:%s:%s" % (MARKER, deployment_uuid, key)


def _owner(job):
    """(deployment uuid, key) of one of our jobs, else (None, None)."""
    prefix, _sep, rest = str(job.get("ownerName") or "").partition(":")
    deployment, _sep, key = rest.partition(":")
    return (deployment, key) if prefix == MARKER and key else (None, None)


def _volume(node, mount):
    """``"cpath:mode"``, the only volume form INDIGO accepts for a Chronos container."""
    parts = [part for part in str(mount).split(":") if part.strip()]
    if len(parts) != 2:
        raise ToscaError("Volume mount <%s> not supported for chronos containers" % mount,
                         node=node, prop="volumes")
    return {"containerPath": parts[0], "mode": parts[1].upper()}


def chronos_job(plan, resource, job_spec):
    """The Chronos job of one job resource, all but its identity: ``{"key", "node", "parents"
    (keys of the parent jobs), "job"}``; ``named`` gives it its name (ChronosServiceImpl
    #buildTask and #generateExternalTaskRepresentation)."""
    node = plan.topology.nodes[resource.node]
    task = mesos.build_task(plan.topology, resource.node)
    if task["cmd"] is None:  # command is required in Chronos
        raise ToscaError("<command> property of node <%s> must be provided" % node.name,
                         node=node.name, prop="command")
    props = node.properties
    schedule = props.get("schedule")
    if schedule is not None and job_spec["parents"]:
        raise ToscaError("Error creating Job <%s>: 'schedule' parameter and job depencency are "
                         "both specified" % node.name, node=node.name, prop="schedule")
    job = {}
    if props.get("description") is not None:
        job["description"] = str(props["description"])
    job["command"] = task["cmd"]
    if props.get("epsilon") is not None:
        job["epsilon"] = str(props["epsilon"])
    if props.get("retries") is not None:  # no TOSCA default: Chronos's own applies
        job["retries"] = int(props["retries"])
    if task["cpus"] is not None:
        job["cpus"] = task["cpus"]
    if task["mem"] is not None:
        job["mem"] = task["mem"]
    if task["user"] is not None:
        job["runAsUser"] = task["user"]
    job["uris"] = task["uris"]
    if schedule is not None:
        job["schedule"] = str(schedule)
    mesos_container = task["container"]
    container = {"type": "DOCKER", "image": mesos_container["image"],
                 "forcePullImage": mesos_container["force_pull_image"],
                 "volumes": [_volume(node.name, mount) for mount in mesos_container["volumes"]]}
    if mesos_container["privileged"]:
        container["parameters"] = [{"key": "privileged", "value": "true"}]
    if task["gpus"]:
        job["gpus"] = task["gpus"]
        container["type"] = "MESOS"
    job["container"] = container
    # the job spec's environment: the node's variables and this instance's sweep values
    job["environmentVariables"] = [{"name": name, "value": value}
                                   for name, value in job_spec["env"].items()]
    job["constraints"] = task["constraints"]
    return {"key": resource.key, "node": resource.node, "parents": job_spec["parents"],
            "job": job}


def named(spec, name, parent_names, host_base_path):
    """The job of ``spec`` as Chronos receives it: named, its parents named, its local volumes
    under ``host_base_path`` + its name (INDIGO's generateLocalVolumesHostPath)."""
    job = {"name": name}
    job.update(spec["job"])
    if parent_names:
        job["parents"] = list(parent_names)
    job["container"] = dict(job["container"], volumes=[
        dict(volume, hostPath=mesos.local_volumes_host_path(host_base_path, name))
        for volume in job["container"]["volumes"]])
    return job


class ChronosDriver(Driver):
    site_type = "chronos"
    supported_kinds = (kinds.JOB,)
    passive_kinds = (kinds.RUNTIME, kinds.DATA, kinds.ABSTRACT)

    def __init__(self, site):
        super().__init__(site)
        self.endpoint = str(site.get("endpoint") or "").rstrip("/")
        if not self.endpoint:
            raise SiteConfigError("site '%s' (chronos) needs an endpoint (the Chronos URL)"
                                  % self.name)
        self.where = redact(self.endpoint)
        self.host_base_path = site.get("local_volumes_host_base_path") or DEFAULT_HOST_BASE_PATH
        self.timeout = site.get("timeout", 30)
        self.http_retries = site.get("http_retries", 5)
        self._session = None
        self._names = {}  # deployment uuid -> {key: job name}, for this call only

    # -- building -------------------------------------------------------------------------
    def check(self, plan):
        super().check(plan)
        for resource in plan.resources:
            if resource.kind == kinds.JOB:
                try:
                    chronos_job(plan, resource, jobs.job_spec(plan, resource)[0])
                except ToscaError as exc:
                    raise SiteConfigError("site '%s' (chronos) cannot run node '%s': %s"
                                          % (self.name, resource.node, exc)) from None

    def spec(self, plan, resource, deployment_uuid, job_spec):
        return chronos_job(plan, resource, job_spec)

    # -- HTTP -----------------------------------------------------------------------------
    def _client(self):
        """A session with the site's credentials: a Bearer token when the site is
        iam_enabled (INDIGO's rule; the default, as in the CMDB), else HTTP Basic."""
        if REQUESTS_ERROR:
            raise SiteConfigError("the chronos driver needs requests: %s"
                                  % REQUESTS_ERROR.strip().splitlines()[-1])
        if self._session is None:
            session = requests.Session()
            if self.site.get("iam_enabled", True):
                token = self.site.get("token")
                if not token:
                    raise SiteConfigError(
                        "site '%s' (chronos) is iam_enabled: it needs a token (settings: "
                        "token), or iam_enabled: false with username and password" % self.name)
                session.headers["Authorization"] = "Bearer %s" % token
            elif self.site.get("username"):
                session.auth = (str(self.site["username"]), str(self.site.get("password") or ""))
            session.headers["Accept"] = "application/json"
            self._session = session
        return self._session

    def _call(self, method, path, what, found=None, **kwargs):
        """One API call, retried with jittered backoff on transient faults (5xx, 429, broken
        connections). ``found()``, when given, tells whether a create whose answer was lost
        went through, before trying again. Refused credentials and a site that stays
        unreachable are provider errors; other answers are returned."""
        session = self._client()
        for attempt in range(self.http_retries + 1):
            last = attempt == self.http_retries
            try:
                answer = session.request(method, self.endpoint + API + path,
                                         timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                if last:
                    raise ProviderError("site '%s': Chronos at %s is unreachable while %s (%s)"
                                        % (self.name, self.where, what,
                                           type(exc).__name__)) from None
            else:
                if answer.status_code in (401, 403):
                    raise ProviderError("site '%s': Chronos at %s refused the credentials "
                                        "(HTTP %d) while %s" % (self.name, self.where,
                                                                answer.status_code, what))
                if answer.status_code not in _TRANSIENT:
                    return answer
                if last:
                    raise ProviderError("site '%s': Chronos at %s answered HTTP %d while %s, "
                                        "%d times" % (self.name, self.where, answer.status_code,
                                                      what, attempt + 1))
            time.sleep(min(8.0, 0.25 * 2 ** attempt) * random.uniform(0.5, 1.0))
            if found is not None and found():
                return None
        raise AssertionError("unreachable")  # the loop returns or raises

    def _json(self, answer, what):
        if answer.status_code != 200:
            raise ProviderError("site '%s': Chronos at %s answered HTTP %d while %s"
                                % (self.name, self.where, answer.status_code, what))
        try:
            return answer.json()
        except ValueError:
            raise ProviderError("site '%s': Chronos at %s answered no JSON while %s"
                                % (self.name, self.where, what)) from None

    def _ours(self, deployment_uuid):
        """key -> job of the deployment, from the list of every job on the site."""
        listing = self._json(self._call("GET", "/jobs", "listing jobs"), "listing jobs")
        found = {}
        for job in listing:
            owner, key = _owner(job)
            if owner == deployment_uuid:
                found[key] = job
        self._names[deployment_uuid] = {key: job["name"] for key, job in found.items()}
        return found

    def _search(self, name):
        """The job of that name (GET jobs/search, a substring match), or None."""
        what = "reading job %s" % name
        answer = self._call("GET", "/jobs/search", what, params={"name": name})
        return next((job for job in self._json(answer, what) if job.get("name") == name), None)

    def _post(self, job, node):
        """Create (or replace) one job: iso8601 without parents, dependency with them."""
        path = "/dependency" if job.get("parents") else "/iso8601"
        what = "creating job %s of node %s" % (job["name"], node)

        def found():  # a create whose answer was lost: the job is there as it was sent
            there = self._search(job["name"])
            return there is not None and bool(there.get("disabled")) == bool(job.get("disabled"))

        answer = self._call("POST", path, what, json=job, found=found)
        if answer is not None and answer.status_code >= 300:
            # INDIGO: a job Chronos refuses fails the deployment, with no failover
            raise DeploymentError("Failed to launch job <%s> of node <%s> on Chronos (site '%s'):"
                                  " HTTP %d %s" % (job["name"], node, self.name,
                                                   answer.status_code, answer.text[:500]))

    def _delete(self, name):
        answer = self._call("DELETE", "/job/%s" % name, "deleting job %s" % name)
        # a job that is already gone answers 400 (or 404 behind some proxies): done
        if answer.status_code >= 300 and answer.status_code not in (400, 404):
            raise ProviderError("site '%s': Chronos at %s answered HTTP %d while deleting job %s"
                                % (self.name, self.where, answer.status_code, name))

    # -- the driver interface -------------------------------------------------------------
    def submit(self, deployment_uuid, items, secrets):
        existing = self._ours(deployment_uuid)
        names = self._names[deployment_uuid]
        for item in items:
            job = existing.get(item["key"])
            if job is not None and job["name"] != item["uuid"]:
                # left by an earlier life of this resource: not the job we would create
                self._delete(job["name"])
                del existing[item["key"]]
            names[item["key"]] = item["uuid"]
        with_children = {parent for item in items for parent in item["spec"]["parents"]}
        held = []
        for item in items:
            spec = item["spec"]
            missing = [key for key in spec["parents"] if key not in names]
            if missing:
                raise DeploymentError("job %s of node %s: its parent %s is not on site '%s'"
                                      % (item["key"], item["node"], ", ".join(missing),
                                         self.name))
            job = named(spec, item["uuid"], [names[key] for key in spec["parents"]],
                        self.host_base_path)
            job["ownerName"] = _marker(deployment_uuid, item["key"])
            found = existing.get(item["key"])
            if found is None and not spec["parents"] and item["key"] in with_children:
                job["disabled"] = True  # until its children exist (see the module's docstring)
            if found is None:
                self._post(job, item["node"])
            if job.get("disabled") or found is not None and found.get("disabled"):
                held.append((job, item["node"]))
        for job, node in held:
            job.pop("disabled", None)
            self._post(job, node)
        return {item["key"]: item["uuid"] for item in items}

    def poll(self, deployment_uuid, keys):
        """INDIGO's walk: jobs in order, the next one only once this one has succeeded."""
        names = self._names.get(deployment_uuid)
        if names is None or any(key not in names for key in keys):
            self._ours(deployment_uuid)
            names = self._names[deployment_uuid]
        observed = {}
        for key in keys:
            node = key.rpartition("#")[0]
            name = names.get(key)
            job = self._search(name) if name else None
            if job is None:
                observed[key] = Observed("ERROR", error="Chronos job of %s (node %s) doesn't "
                                         "exist on site '%s'" % (key, node, self.name))
                break
            successes, errors = int(job.get("successCount") or 0), int(
                job.get("errorCount") or 0)
            attributes = {"job_name": name, "success_count": successes, "error_count": errors,
                          "last_success": job.get("lastSuccess") or None,
                          "last_error": job.get("lastError") or None}
            if successes > 0:
                observed[key] = Observed("STARTED", dict(attributes, state="SUCCESS"))
                continue
            if errors > 0:
                observed[key] = Observed("ERROR", dict(attributes, state="FAILURE"), error=(
                    "Chronos job %s (node %s) failed to execute on site '%s' (last error %s, "
                    "after its retries)" % (name, node, self.name, job.get("lastError"))))
            else:
                observed[key] = Observed("CONFIGURING", dict(attributes, state="FRESH"))
            break
        return observed

    def delete(self, deployment_uuid):
        """Delete every job of the deployment, children first: Chronos gives the children of
        a deleted job its parents or its schedule, which could start them."""
        jobs_left = {job["name"]: job for job in self._ours(deployment_uuid).values()}
        while jobs_left:
            parents = {parent for job in jobs_left.values() for parent in job.get("parents") or ()}
            leaves = [name for name in jobs_left if name not in parents] or list(jobs_left)
            for name in leaves:
                self._delete(name)
                del jobs_left[name]
        return not self._ours(deployment_uuid)
