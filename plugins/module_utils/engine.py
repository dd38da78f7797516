# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconciler: each call reads a deployment's desired state (template + parameters) and its
recorded state (the store), does the next safe steps on the sites, records them, and returns.

Statuses, resource states and the failure rules are INDIGO's (spec §2): only a ProviderError
moves the deployment to the next site; a job that fails for good fails the deployment; when
every site failed, statusReason lists each with its error. Nothing here keeps state between
calls: a run killed at any point is resumed by the next call.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid as uuidlib
from datetime import datetime

from ansible_collections.paas.orchestrator.plugins.module_utils import jobs
from ansible_collections.paas.orchestrator.plugins.module_utils import plan as planning
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    DeploymentError,
    ProviderError,
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.registry import (
    driver_for,
    validate_sites,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.placement import (
    catalog_sites,
    place,
    sites_of,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.placement import (
    summary as placement_summary,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.redaction import (
    is_secret_name,
    public,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.store.enums import (
    NodeStates,
    Status,
    Task,
    resource_state_after,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.store.errors import ConflictError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.functions import Evaluator
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.roles import configuration
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.topology import hosted_software
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load

# A fixed namespace: the same deployment name gives the same uuid in every store.
_NAMESPACE = uuidlib.UUID("6f1d8d0e-5d1b-4f7e-9a55-3b8d2c6f0a11")
IN_PROGRESS = (Status.CREATE_IN_PROGRESS, Status.UPDATE_IN_PROGRESS, Status.DELETE_IN_PROGRESS)
FAILED = (Status.CREATE_FAILED, Status.UPDATE_FAILED, Status.DELETE_FAILED)
# INDIGO refuses updates of these kinds (spec §1.2); so do we, for jobs. MARATHON deployments
# are updated (INDIGO refuses): scaled by count, their apps redefined.
NOT_UPDATABLE = ("CHRONOS", "QCG", "JOB")
# Kinds a driver reconciles as a whole service (a Marathon app and its runtime): on update their
# kept rows go back to INITIAL, so the driver is handed them again with the new template.
REAPPLIED = (kinds.CONTAINER, kinds.RUNTIME)
UPDATABLE = (Status.CREATE_COMPLETE, Status.UPDATE_COMPLETE, Status.UPDATE_FAILED)
DRIVEN = (Status.CREATE_IN_PROGRESS, Status.UPDATE_IN_PROGRESS)  # what _drive steps on
EXHAUSTED = "Retries on cloud providers exhausted. Error list is:"
NO_PROVIDER = "No cloud provider meets the deployment requirements"
SEPARATOR = "\n" + "-" * 64 + "\n"
POLL_MIN, POLL_MAX = 0.05, 2.0
CLEANED = "site_cleaned"  # event: a failed site holds nothing of the deployment any more


class EngineError(Exception):
    """A request that cannot be carried out; nothing was changed."""


def uuid_for(name):
    return str(uuidlib.uuid5(_NAMESPACE, name))


def _digest(topology):
    """What the deployment is made of, however it was spelled: the parsed template and the input
    values after conversion (so `seeds: "2"`, `seeds: 2` and an explicit default are the same).
    Secret inputs are left out: a change of password is not a new deployment."""
    data = json.dumps([topology.template, public(topology.input_values)], sort_keys=True,
                      default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


class Request:
    """What a module asks for. Secrets (parameters with secret-looking names, credentials in
    site definitions) stay in this object: they are never written to the store."""

    def __init__(self, template=None, parameters=None, sites=None, uuid=None, name=None,
                 wait=True, timeout=3600, provider_timeout=None, max_providers_retry=None,
                 keep_last_attempt=False, callback=None, created_by=None, user_group=None,
                 tosca_options=None, placement=None):
        if not uuid and not name:
            raise EngineError("A deployment needs a name or a uuid")
        self.uuid = uuid or uuid_for(name)
        self.name = name
        self.template = template
        self.parameters = parameters or {}
        self.sites = sites
        self.wait = wait
        self.timeout = timeout
        self.provider_timeout = provider_timeout
        if provider_timeout and timeout and provider_timeout > timeout:
            raise EngineError("ProviderTimeout must be <= Timeout")
        self.max_providers_retry = max_providers_retry
        self.keep_last_attempt = keep_last_attempt
        self.callback = callback
        self.created_by = created_by
        self.user_group = user_group
        self.tosca_options = tosca_options or {}
        self.placement = placement  # a placement.Placement, used when no sites are given


class Engine:
    def __init__(self, store, clock=time.time, sleep=time.sleep, notify=None):
        self.store = store
        self.clock = clock
        self.sleep = sleep
        self.notify = notify  # callback POST, given by the module (fire and forget)

    # -- entry points -----------------------------------------------------------------------
    def present(self, request, check_mode=False):
        """Create (or resume) the deployment; returns {changed, deployment, planned}."""
        topology = load(request.template, request.parameters, **request.tosca_options)
        current = self.store.get_deployment(request.uuid)
        rows = self.store.list_resources(request.uuid) if current is not None else []
        updating = current is not None and self._update_wanted(current, topology)
        plan = planning.build(topology, _scaled_indexes(topology, rows, current) if updating
                              else _recorded_indexes(rows))
        # job specs now: a bad staging URL or path is refused before anything is written
        specs = {resource.key: jobs.job_spec(plan, resource)
                 for resource in plan.resources if resource.kind == kinds.JOB}
        planned = [resource.to_dict() for resource in plan.resources]
        if current is not None and not updating:
            if current["status"] in FAILED or check_mode or current["status"] not in IN_PROGRESS:
                return {"changed": False, "planned": planned, "warnings": [],
                        "deployment": self.describe(request.uuid)}
        elif current is None and request.name is None:
            # uuids are ours to give: a new deployment is made by name
            raise EngineError("The deployment %s doesn't exist" % request.uuid)
        sites, ranking, warnings = self._candidates(request, topology)
        for site in sites:
            driver_for(site)  # a bad site definition fails here, before anything is written
        done = {"changed": False, "planned": planned, "warnings": warnings}
        if current is None:
            self._check_some_site_fits(sites, plan)
            if check_mode:
                return dict(done, changed=True, deployment=None)
            self._create(request, topology, plan, sites, _template_text(request.template),
                         _digest(topology), ranking)
            changed = True
        else:
            sites = _in_recorded_order(current, sites)
            changed = False
            if updating:
                if check_mode:
                    return dict(done, changed=True, deployment=self.describe(request.uuid))
                self._start_update(current, request, topology, plan, rows)
                changed = True
        context = _Context(topology, plan, sites, specs)
        changed = self._drive(request.uuid, context, request.wait) or changed
        return dict(done, changed=changed, deployment=self.describe(request.uuid))

    def _candidates(self, request, topology):
        """(sites to try in order, the ranking that chose them or None, source warnings)."""
        if request.sites is not None:
            return validate_sites(request.sites), None, []
        if request.placement is None:
            raise EngineError("Give the sites to deploy on ('sites') or where to find them "
                              "('sources')")
        ranking, warnings = place(topology, request.placement)
        if not ranking["ranked"]:
            raise EngineError("%s: %s" % (NO_PROVIDER, "; ".join(
                "%s: %s" % (entry["service_id"], ", ".join(entry["reasons"]))
                for entry in ranking["discarded"]) or "no site in the sources"))
        return validate_sites(sites_of(ranking)), placement_summary(ranking), warnings

    def absent(self, uuid, sites=None, wait=True, timeout=600, check_mode=False,
               placement=None):
        current = self.store.get_deployment(uuid)
        if current is None:
            return {"changed": False, "deployment": None}
        if check_mode:
            return {"changed": True, "deployment": self.describe(uuid)}
        if current["status"] != Status.DELETE_IN_PROGRESS:
            self._set_status(current, Status.DELETE_IN_PROGRESS, None)
        deadline = self.clock() + timeout
        known = {site["name"]: site for site in current.get("sites") or []}
        if placement is not None:
            known.update((name, dict(known.get(name, {}), **site))
                         for name, site in catalog_sites(placement).items())
        known.update({site["name"]: site for site in sites or []})
        delay = POLL_MIN
        while True:
            used = _sites_holding(self.store, uuid)
            try:
                done = all(driver_for(known[name]).delete(uuid) for name in sorted(used)
                           if name in known)
            except (ProviderError, OSError) as exc:
                self._set_status(self.store.get_deployment(uuid), Status.DELETE_FAILED,
                                 "Error deleting; %s" % exc)
                return {"changed": True, "deployment": self.describe(uuid)}
            missing = sorted(used - set(known))
            if missing:
                self._set_status(self.store.get_deployment(uuid), Status.DELETE_FAILED,
                                 "Site(s) %s are not defined: give them in 'sites' to delete "
                                 "what they hold" % ", ".join(missing))
                return {"changed": True, "deployment": self.describe(uuid)}
            if done:
                # INDIGO deletes the row once everything is gone (spec §2.5).
                self.store.delete_deployment(uuid)
                return {"changed": True, "deployment": None}
            if not wait or self.clock() > deadline:
                return {"changed": True, "deployment": self.describe(uuid)}
            self.sleep(delay)
            delay = min(delay * 2, POLL_MAX)

    def describe(self, uuid):
        """The deployment as INDIGO shows it, with its resources and attempts; None if absent."""
        deployment = self.store.get_deployment(uuid)
        if deployment is None:
            return None
        shown = {key: value for key, value in deployment.items()
                 if key not in ("template", "version", "metadata", "sites")}
        shown["resources"] = [_public_resource(row) for row in self.store.list_resources(uuid)]
        shown["attempts"] = self.store.list_attempts(uuid)
        metadata = deployment.get("metadata") or {}
        shown["name"] = metadata.get("name")
        shown["deploymentKind"] = metadata.get("deployment_kind")
        if metadata.get("placement"):
            shown["placement"] = metadata["placement"]
        return shown

    # -- creation ---------------------------------------------------------------------------
    def _check_some_site_fits(self, sites, plan):
        reasons = []
        for site in sites:
            try:
                driver_for(site).check(plan)
                return
            except SiteConfigError as exc:
                reasons.append(str(exc))
        raise EngineError("%s: %s" % (NO_PROVIDER, "; ".join(reasons)))

    def _update_wanted(self, current, topology):
        """True when the template or inputs changed and INDIGO's rules allow an update."""
        if (current.get("metadata") or {}).get("digest") == _digest(topology):
            return False
        if current["status"] in IN_PROGRESS:
            raise EngineError("Cannot update a deployment in %s state" % current["status"])
        if topology.deployment_kind in NOT_UPDATABLE:
            raise EngineError("%s deployments cannot be updated." % topology.deployment_kind)
        if current["status"] not in UPDATABLE:
            raise EngineError("Cannot update a deployment in %s state" % current["status"])
        return True

    def _start_update(self, current, request, topology, plan, rows):
        """INDIGO's update (spec §2.6): rows of nodes gone from the template, of changed types,
        in a removal_list or over the new count become DELETING; new instances are INITIAL."""
        wanted = {resource.key: resource for resource in plan.resources}
        with self.store.transaction():
            parameters = dict(current.get("parameters") or {}, **public(request.parameters))
            metadata = dict(current.get("metadata") or {}, digest=_digest(topology),
                            updated=self.clock(), next_index=_next_indexes(plan, current))
            self._set_status(current, Status.UPDATE_IN_PROGRESS, None,
                             template=_template_text(request.template), parameters=parameters,
                             metadata=metadata)
            for row in rows:
                key = row["idempotency_key"]
                planned = wanted.pop(key, None)
                if planned is None or planned.node_type != row["toscaNodeType"]:
                    self.store.update_resource(row["uuid"], state=NodeStates.DELETING)
                elif planned.kind in REAPPLIED and row["state"] != NodeStates.DELETING:
                    self.store.update_resource(row["uuid"], state=NodeStates.INITIAL)
                elif planned.kind == kinds.VM:
                    # a kept VM gets the roles and variables of its software as now written
                    fresh = _resource_metadata(topology, planned)
                    self.store.update_resource(row["uuid"], metadata=dict(
                        row.get("metadata") or {}, roles=fresh["roles"],
                        role_vars=fresh["role_vars"]))
            # after the status change, which would move INITIAL rows to CONFIGURING
            for resource in wanted.values():
                self.store.add_resource(request.uuid, {
                    "toscaNodeName": resource.node, "toscaNodeType": resource.node_type,
                    "state": NodeStates.INITIAL, "idempotency_key": resource.key,
                    "metadata": _resource_metadata(topology, resource)})

    def _create(self, request, topology, plan, sites, template_text, digest, ranking):
        now = self.clock()
        row = {
            "uuid": request.uuid,
            "status": Status.CREATE_IN_PROGRESS,
            "task": Task.NONE,
            "template": template_text,
            "parameters": public(request.parameters),
            "outputs": {},
            "createdBy": request.created_by,
            "userGroup": request.user_group,
            "callback": request.callback,
            "timeoutMins": _minutes(request.timeout),
            "providerTimeoutMins": _minutes(request.provider_timeout),
            "maxProvidersRetry": request.max_providers_retry,
            "keepLastAttempt": request.keep_last_attempt,
            "sites": [public(site) for site in sites],
            "metadata": {"name": request.name, "digest": digest, "created": now,
                         "timeout": request.timeout, "provider_timeout": request.provider_timeout,
                         "deployment_kind": topology.deployment_kind, "placement": ranking,
                         "next_index": _next_indexes(plan)},
        }
        with self.store.transaction():
            deployment = self.store.create_deployment(row)
            rows = {}
            for resource in plan.resources:
                rows[resource.key] = self.store.add_resource(request.uuid, {
                    "toscaNodeName": resource.node,
                    "toscaNodeType": resource.node_type,
                    "state": NodeStates.INITIAL,
                    "idempotency_key": resource.key,
                    "metadata": _resource_metadata(topology, resource),
                })
            for resource in plan.resources:
                dependants = [rows[key]["uuid"] for key in _dependants(plan, resource)]
                if dependants:
                    self.store.update_resource(rows[resource.key]["uuid"], requiredBy=dependants)
        self._notify(request.uuid)
        return deployment

    # -- the loop ---------------------------------------------------------------------------
    def _drive(self, uuid, context, wait):
        """Step until the deployment is complete, failed or out of time (or once, no wait)."""
        changed = False
        delay = POLL_MIN
        while True:
            deployment = self.store.get_deployment(uuid)
            if deployment is None or deployment["status"] not in DRIVEN:
                return changed
            try:
                progressed = self._step(deployment, context)
            except ConflictError:
                progressed = True  # another caller moved it: read it again
            changed = changed or progressed
            if not wait:
                return changed
            delay = POLL_MIN if progressed else min(delay * 2, POLL_MAX)
            self.sleep(delay)

    def _step(self, deployment, context):
        """One reconcile pass. Returns True when something changed."""
        uuid = deployment["uuid"]
        now = self.clock()
        metadata = deployment.get("metadata") or {}
        started = metadata.get("updated") if deployment["status"] == Status.UPDATE_IN_PROGRESS \
            else metadata.get("created")
        if metadata.get("timeout") and now > started + metadata["timeout"]:
            self._fail(deployment, "Timeout: Maximum execution time exceeded.")
            return True
        if deployment["status"] == Status.UPDATE_IN_PROGRESS:
            return self._update_step(deployment, context)
        attempt = self._current_attempt(uuid)
        if attempt is None:
            attempt = self._next_attempt(deployment, context)
            if attempt is None:
                return True
        driver = context.driver(attempt["site"])
        # Read once per call; _submit and _observe keep these rows current as they write.
        if context.resources is None:
            context.resources = self.store.list_resources(uuid)
        resources = context.resources
        try:
            limit = metadata.get("provider_timeout")
            if limit and now > _epoch(attempt["start"]) + limit:
                raise ProviderError("%s provider timeout during deployment" % attempt["site"])
            progressed = self._submit(driver, deployment, resources, context)
            driver.resume(uuid, context.secrets)
            progressed = self._observe(driver, deployment, resources) or progressed
        except ProviderError as exc:
            self._abandon(deployment, attempt, driver, context, str(exc))
            return True
        except DeploymentError as exc:
            self._fail(deployment, str(exc))
            return True
        failed = [row for row in resources if row["state"] == NodeStates.ERROR]
        if failed:
            errors = [(row.get("metadata") or {}).get("error") or row["toscaNodeName"]
                      for row in failed]
            more = " (and %d more)" % (len(errors) - 10) if len(errors) > 10 else ""
            self._fail(deployment, "Error deploying: %s%s" % ("; ".join(errors[:10]), more))
            return True
        if all(row["state"] == NodeStates.STARTED for row in resources):
            outputs = self._outputs(context, resources)
            self.store.finish_attempt(attempt["id"])
            self._set_status(deployment, Status.CREATE_COMPLETE, None, outputs=outputs)
            self._notify(uuid)
            return True
        return progressed

    def _update_step(self, deployment, context):
        """An update stays on the deployment's site: its errors fail it (UPDATE_FAILED), with no
        failover, as in INDIGO."""
        uuid = deployment["uuid"]
        driver = context.driver(deployment["cloudProviderName"])
        if context.resources is None:
            context.resources = self.store.list_resources(uuid)
        resources = context.resources
        try:
            leaving = [row for row in resources if row["state"] == NodeStates.DELETING]
            progressed = False
            if leaving and driver.remove(uuid, [row["idempotency_key"] for row in leaving]):
                with self.store.transaction():
                    for row in leaving:
                        self.store.delete_resource(row["uuid"])
                        resources.remove(row)
                progressed = True
            progressed = self._submit(driver, deployment, resources, context) or progressed
            progressed = self._observe(driver, deployment, resources) or progressed
        except (ProviderError, DeploymentError) as exc:
            self._fail(deployment, "Error updating; %s" % exc)
            return True
        failed = [row for row in resources if row["state"] == NodeStates.ERROR]
        if failed:
            self._fail(deployment, "Error updating: %s" % "; ".join(
                (row.get("metadata") or {}).get("error") or row["toscaNodeName"]
                for row in failed))
            return True
        if all(row["state"] == NodeStates.STARTED for row in resources):
            self._set_status(deployment, Status.UPDATE_COMPLETE, None,
                             outputs=self._outputs(context, resources))
            self._notify(uuid)
            return True
        return progressed

    def _current_attempt(self, uuid):
        attempts = self.store.list_attempts(uuid)
        if attempts and attempts[-1]["end"] is None:
            return attempts[-1]
        return None

    def _next_attempt(self, deployment, context):
        """Open an attempt on the next untried site, or fail the deployment (INDIGO's words)."""
        attempts = self.store.list_attempts(deployment["uuid"])
        tried = {attempt["site"] for attempt in attempts}
        candidates = context.candidates(deployment.get("maxProvidersRetry"))
        for site in candidates:
            if site["name"] in tried:
                continue
            try:
                driver_for(site).check(context.plan)
            except SiteConfigError as exc:
                self.store.add_event(deployment["uuid"], "site_skipped", str(exc))
                continue
            attempt = self.store.add_attempt(deployment["uuid"], site["name"])
            self._update(deployment, cloudProviderName=site["name"], task=Task.DEPLOYER,
                         cloudProviderEndpoint={"deploymentType": site["type"].upper()})
            return attempt
        if attempts:
            reason = EXHAUSTED + "\n" + SEPARATOR.join(
                "Cloud Provider %s\n\n%s" % (attempt["site"], attempt["error"])
                for attempt in attempts)
        else:
            reason = NO_PROVIDER
        self._fail(deployment, reason)
        return None

    def _submit(self, driver, deployment, resources, context):
        """Hand the driver every resource still INITIAL (their rows exist: intent first)."""
        items = []
        passive = []
        for row in resources:
            if row["state"] != NodeStates.INITIAL:
                continue
            planned = context.plan.by_key.get(row["idempotency_key"])
            if planned is None:
                continue
            if planned.kind in driver.passive_kinds:
                passive.append(row)
                continue
            job_spec = None
            if planned.kind == kinds.JOB:
                job_spec, credentials = context.specs[planned.key]
                context.secrets.update(credentials)
            items.append({"key": planned.key, "uuid": row["uuid"], "node": planned.node,
                          "kind": planned.kind, "created_by": deployment.get("createdBy"),
                          "spec": driver.spec(context.plan, planned, deployment["uuid"],
                                              job_spec)})
        with self.store.transaction():
            for row in passive:
                row.update(self.store.update_resource(row["uuid"], state=NodeStates.STARTED,
                                                      site=driver.name))
        if not items:
            return bool(passive)
        physical = driver.submit(deployment["uuid"], items, context.secrets)
        by_key = {row["idempotency_key"]: row for row in resources}
        with self.store.transaction():
            for key, physical_id in physical.items():
                row = by_key[key]
                metadata = row.get("metadata") or {}
                image = (context.specs.get(key) or ({}, {}))[0].get("image")
                if image:  # recorded for the user; the local site runs jobs natively
                    metadata = dict(metadata, image=image)
                row.update(self.store.update_resource(row["uuid"], state=NodeStates.CREATED,
                                                      physicalId=physical_id, site=driver.name,
                                                      metadata=metadata))
        return True

    def _observe(self, driver, deployment, resources):
        watched = {row["idempotency_key"]: row for row in resources
                   if row["state"] not in (NodeStates.INITIAL, NodeStates.STARTED,
                                           NodeStates.DELETING)
                   and row.get("site") == driver.name}
        if not watched:
            return False
        observed = driver.poll(deployment["uuid"], list(watched))
        changed = False
        with self.store.transaction():
            for key, seen in observed.items():
                row = watched[key]
                metadata = dict(row.get("metadata") or {}, attributes=seen.attributes)
                if seen.error:
                    metadata["error"] = seen.error
                if seen.state != row["state"] or metadata != row.get("metadata"):
                    changed = changed or seen.state != row["state"]
                    row.update(self.store.update_resource(row["uuid"], state=seen.state,
                                                          metadata=metadata))
        return changed

    def _abandon(self, deployment, attempt, driver, context, error):
        """A provider failed: clean it up (unless INDIGO's keepLastAttempt says not to) and
        send the resources back to INITIAL for the next site."""
        uuid = deployment["uuid"]
        last = attempt["site"] == context.candidates(deployment.get("maxProvidersRetry"))[-1]["name"]
        cleaned = False
        if not (last and deployment.get("keepLastAttempt")):
            try:
                cleaned = driver.delete(uuid)
            except (ProviderError, OSError) as exc:
                error += " (cleanup failed: %s)" % exc
        self.store.finish_attempt(attempt["id"], error=error)
        if cleaned:
            # nothing of ours is left there: deleting the deployment need not reach it again
            self.store.add_event(uuid, CLEANED, "Nothing left on %s" % attempt["site"],
                                 {"site": attempt["site"]})
        with self.store.transaction():
            for row in self.store.list_resources(uuid):
                self.store.update_resource(row["uuid"], state=NodeStates.INITIAL,
                                           physicalId=None, site=None)
        context.resources = None
        self.store.add_event(uuid, "provider_error", error, {"site": attempt["site"]})

    def _outputs(self, context, resources):
        attributes = {}
        for row in resources:
            values = (row.get("metadata") or {}).get("attributes") or {}
            attributes.setdefault(row["toscaNodeName"], []).append(values)

        def attribute(args, node_name):
            target = node_name if args[0] == "SELF" else args[0]
            instances = attributes.get(target, [])
            values = [instance.get(args[1]) for instance in instances]
            value = values[0] if len(values) == 1 else values
            for step in args[2:]:
                try:
                    value = value[step] if isinstance(value, (list, dict)) else None
                except (IndexError, KeyError):  # a node scaled to no instance, say
                    value = None
            return value

        topology = context.topology
        evaluator = Evaluator(topology.input_values, set(topology.inputs), topology.nodes,
                              attribute=attribute)
        return {name: public_output(name, evaluator.evaluate(spec["value"]))
                for name, spec in topology.outputs.items()}

    # -- status changes (spec §2.8) ---------------------------------------------------------
    def _update(self, deployment, **fields):
        updated = self.store.update_deployment(deployment["uuid"], deployment["version"],
                                               **fields)
        deployment.update(updated)
        return updated

    def _set_status(self, deployment, status, reason, **fields):
        with self.store.transaction():
            self._update(deployment, status=status, statusReason=reason, task=Task.NONE,
                         **fields)
            for row in self.store.list_resources(deployment["uuid"]):
                state = resource_state_after(status, row["state"])
                if state is None:
                    self.store.delete_resource(row["uuid"])
                elif state != row["state"]:
                    self.store.update_resource(row["uuid"], state=state)

    def _fail(self, deployment, reason):
        status = {Status.CREATE_IN_PROGRESS: Status.CREATE_FAILED,
                  Status.CREATE_COMPLETE: Status.CREATE_FAILED,
                  Status.UPDATE_IN_PROGRESS: Status.UPDATE_FAILED,
                  Status.DELETE_IN_PROGRESS: Status.DELETE_FAILED}.get(deployment["status"],
                                                                       deployment["status"])
        current = self._current_attempt(deployment["uuid"])
        if current is not None:
            self.store.finish_attempt(current["id"], error=reason)
        self._set_status(deployment, status, reason)
        self._notify(deployment["uuid"])

    def _notify(self, uuid):
        if self.notify is not None:
            deployment = self.store.get_deployment(uuid)
            if deployment and deployment.get("callback"):
                self.notify(deployment["callback"], self.describe(uuid))


class _Context:
    """What one call knows and the store does not: the topology, the plan, the full site
    definitions and the secrets."""

    def __init__(self, topology, plan, sites, specs):
        self.topology = topology
        self.plan = plan
        self.sites = sites
        self.specs = specs  # key -> (job spec, credentials)
        self.secrets = {}
        self.resources = None  # the deployment's resource rows, kept current during the call
        self._drivers = {}

    def driver(self, name):
        """One driver per site per call, so that it may keep what it read (a journal offset)."""
        if name not in self._drivers:
            self._drivers[name] = driver_for(self.site(name))
        return self._drivers[name]

    def site(self, name):
        for site in self.sites:
            if site["name"] == name:
                return site
        raise SiteConfigError("Site '%s' of this deployment is not in 'sites'" % name)

    def candidates(self, limit):
        return self.sites[:limit] if limit else self.sites


def _sites_holding(store, uuid):
    """The sites that may hold something of the deployment: every site tried (each at most
    once), except those a failover cleaned up completely."""
    cleaned = {event["data"]["site"] for event in store.list_events(uuid)
               if event["kind"] == CLEANED}
    return {attempt["site"] for attempt in store.list_attempts(uuid)} - cleaned


def _resource_metadata(topology, resource):
    """What a resource row records besides INDIGO's fields; a VM also names the roles that
    configure the software it hosts and their variables (the inventory gives them to
    playbooks/deploy.yml)."""
    metadata = {"key": resource.key, "kind": resource.kind, "parameters": resource.parameters}
    if resource.kind == kinds.VM:
        metadata["roles"], metadata["role_vars"] = configuration(
            hosted_software(topology, resource.node))
    return metadata


def _recorded_indexes(rows):
    """node -> the instance indexes its rows hold (those not leaving)."""
    indexes = {}
    for row in rows:
        if row["state"] != NodeStates.DELETING:
            indexes.setdefault(row["toscaNodeName"], []).append(
                planning.index_of(row["idempotency_key"]))
    return {node: sorted(values) for node, values in indexes.items()}


def _scaled_indexes(topology, rows, deployment):
    """The instance indexes after an update, INDIGO's way: the instances named in the node's
    removal_list go, then, over the new count, those with nothing created first and the
    newest; under it, new indexes after every index the node ever used."""
    indexes = {}
    for name, node in topology.nodes.items():
        mine = [row for row in rows if row["toscaNodeName"] == name
                and row["state"] != NodeStates.DELETING and row["toscaNodeType"] == node.type]
        removal = set(node.scalable["removal_list"])
        keep = [row for row in mine if row["uuid"] not in removal]
        count = node.scalable["count"]
        if isinstance(count, int) and len(keep) > count:
            keep.sort(key=lambda row: (row.get("physicalId") is None,
                                       planning.index_of(row["idempotency_key"])))
            keep = keep[:count]
        chosen = sorted(planning.index_of(row["idempotency_key"]) for row in keep)
        # an index is never given twice: a VM being deleted may still carry it
        used = [planning.index_of(row["idempotency_key"]) for row in rows
                if row["toscaNodeName"] == name]
        following = max(used + [_next_index(deployment, name) - 1], default=-1) + 1
        while isinstance(count, int) and len(chosen) < count:
            chosen.append(following)
            following += 1
        indexes[name] = chosen
    return indexes


def _next_index(deployment, node):
    return ((deployment.get("metadata") or {}).get("next_index") or {}).get(node, 0)


def _next_indexes(plan, deployment=None):
    """node -> the index after the highest one the deployment ever used."""
    marks = dict(((deployment or {}).get("metadata") or {}).get("next_index") or {})
    for resource in plan.resources:
        marks[resource.node] = max(marks.get(resource.node, 0), resource.index + 1)
    return marks


def _in_recorded_order(deployment, sites):
    """A resumed deployment keeps the order its sites had at creation (a ranking may differ
    now); the sites given now bring back the settings the store does not keep (secrets)."""
    given = {site["name"]: site for site in sites}
    return [dict(site, **given.get(site["name"], {})) for site in deployment.get("sites") or []]


def _dependants(plan, resource):
    node = plan.topology.nodes[resource.node]
    return [r.key for name in node.required_by for r in plan.of_node(name)]


def _public_resource(row):
    shown = {key: value for key, value in row.items() if key not in ("deployment_uuid",)}
    metadata = dict(row.get("metadata") or {})
    shown["metadata"] = metadata
    return shown


def public_output(name, value):
    return None if is_secret_name(name) else value


def _template_text(template):
    if isinstance(template, dict):
        return json.dumps(template, sort_keys=True)
    if "\n" not in template and not template.lstrip().startswith("{"):
        with open(template, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    return template


def _minutes(seconds):
    return None if not seconds else max(1, -(-int(seconds) // 60))


def _epoch(value):
    return value if isinstance(value, (int, float)) else datetime.fromisoformat(value).timestamp()
