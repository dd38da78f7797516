# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulated Marathon 1.6: groups, apps, tasks and deployments, in memory.

Timed, not ticked: every call first applies what is due (tasks launched, running, killed,
restarted; deployments finished). Every answer is a plain JSON value shaped as Marathon's.
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import threading
import time
import uuid
from datetime import datetime, timezone

DEFAULT_KNOBS = {
    "start_seconds": 0.0,      # a launched task: TASK_STAGING to TASK_RUNNING
    "kill_seconds": 0.0,       # a task being killed (scale in, delete) is gone after this
    "restart_seconds": 1.0,    # a task that died is replaced after this (the launch backoff)
    "health_seconds": 0.0,     # a running task of an app with health checks: healthy after this
    "fail_pattern": None,      # apps whose id matches (regex search): their tasks fail
    "error_rate": 0.0,         # this fraction of the /v2 calls answers error_status
    "error_status": 503,
    "error_paths": None,       # fnmatch patterns of "METHOD /path" the errors hit (None: all)
    "username": None,          # with a password: HTTP Basic is required
    "password": None,
    "tokens": None,            # a list: "Authorization: Bearer <one of them>" is accepted too
    "seed": 0,
    "agents": 3,               # emulated agents tasks are spread over
}

APP_ID = re.compile(r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*"
                    r"([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$")
SERVICE_PORTS = (10000, 20000)   # Marathon's local_port_min/max
HOST_PORTS = (31000, 32000)      # the agents' offered port range
PROTOCOLS = ("tcp", "udp", "udp,tcp")
NETWORKS = {"BRIDGE": "container/bridge", "HOST": "host", "USER": "container"}


class MarathonError(Exception):
    """An answer other than 2xx: ``status`` and Marathon's JSON body."""

    def __init__(self, status, message, **extra):
        super().__init__(message)
        self.status = status
        self.body = dict({"message": message}, **extra)


def iso(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def absolute(path, base="/"):
    """Marathon's PathId: relative ids are resolved against ``base``; no trailing slash."""
    path = path.strip() if isinstance(path, str) else ""
    if not path.startswith("/"):
        path = base.rstrip("/") + "/" + path
    parts = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def _invalid(path, error):
    return MarathonError(422, "Object is not valid", details=[{"path": path, "errors": [error]}])


class MarathonEmulator:
    """The cluster state behind the REST API; every public method takes the lock."""

    def __init__(self, state_dir=None, clock=time.time, **knobs):
        unknown = set(knobs) - set(DEFAULT_KNOBS)
        if unknown:
            raise ValueError("unknown knobs: %s" % ", ".join(sorted(unknown)))
        self.lock = threading.RLock()
        self.clock = clock
        self.path = os.path.join(state_dir, "marathon.json") if state_dir else None
        self.knobs = dict(DEFAULT_KNOBS)
        self.groups = {"/": {"id": "/", "version": iso(clock()), "dependencies": []}}
        self.apps = {}         # id -> {"definition", "launch_at", "last_task_failure"}
        self.tasks = {}        # task id -> task record
        self.deployments = {}  # id -> deployment record
        self.counters = {}
        self._next_service_port = SERVICE_PORTS[0]
        self._next_host_port = HOST_PORTS[0]
        if self.path and os.path.exists(self.path):
            self._load()
        self.knobs.update(knobs)
        self.random = random.Random(self.knobs["seed"])

    # -- persistence, knobs, counters ---------------------------------------------------------
    def snapshot(self):
        with self.lock:
            return copy.deepcopy({
                "knobs": self.knobs, "groups": self.groups, "apps": self.apps,
                "tasks": self.tasks, "deployments": self.deployments, "counters": self.counters,
                "next_service_port": self._next_service_port,
                "next_host_port": self._next_host_port})

    def _load(self):
        with open(self.path) as handle:
            state = json.load(handle)
        self.knobs.update(state["knobs"])
        self.groups, self.apps = state["groups"], state["apps"]
        self.tasks, self.deployments = state["tasks"], state["deployments"]
        self.counters = state["counters"]
        self._next_service_port = state["next_service_port"]
        self._next_host_port = state["next_host_port"]

    def save(self):
        if not self.path:
            return
        data = json.dumps(self.snapshot())
        temporary = self.path + ".tmp"
        with open(temporary, "w") as handle:
            handle.write(data)
        os.replace(temporary, self.path)

    def configure(self, **knobs):
        with self.lock:
            unknown = set(knobs) - set(DEFAULT_KNOBS)
            if unknown:
                raise ValueError("unknown knobs: %s" % ", ".join(sorted(unknown)))
            self.knobs.update(knobs)
            if "seed" in knobs:
                self.random = random.Random(knobs["seed"])
            self.save()
            return dict(self.knobs)

    def count(self, name):
        with self.lock:
            self.counters[name] = self.counters.get(name, 0) + 1

    def reset_counters(self):
        with self.lock:
            self.counters.clear()

    def inject_error(self):
        """True when this call is one of the error_rate's (drawn from the seeded sequence)."""
        with self.lock:
            return self.knobs["error_rate"] > 0 and self.random.random() < self.knobs["error_rate"]

    # -- time ---------------------------------------------------------------------------------
    def advance(self):
        """Apply everything due by now."""
        with self.lock:
            now = self.clock()
            for app_id, app in self.apps.items():
                self._advance_app(app_id, app, now)
            for task_id in [tid for tid, task in self.tasks.items()
                            if task["kill_at"] is not None
                            and now >= task["kill_at"] + self.knobs["kill_seconds"]]:
                del self.tasks[task_id]
            for deployment_id in [did for did, dep in self.deployments.items()
                                  if all(self._settled(app_id) for app_id in dep["apps"])]:
                del self.deployments[deployment_id]

    def _advance_app(self, app_id, app, now):
        """Launch what is missing, start what is staged, and replace tasks of an old config
        once enough of the new one run (upgradeStrategy minimumHealthCapacity 1)."""
        wanted = app["definition"]["instances"]
        if len(self._current(app_id, app)) < wanted and app["launch_at"] is not None \
                and now >= app["launch_at"]:
            for _missing in range(wanted - len(self._current(app_id, app))):
                self._launch(app_id, app, app["launch_at"])
            app["launch_at"] = None
        failing = self.knobs["fail_pattern"] and re.search(self.knobs["fail_pattern"], app_id)
        for task in self._alive(app_id):
            if task["state"] == "TASK_STAGING" \
                    and now >= task["staged_at"] + self.knobs["start_seconds"]:
                if failing:
                    self._died(app_id, app, task, task["staged_at"] + self.knobs["start_seconds"],
                               "TASK_FAILED", "Container exited with status 1")
                else:
                    task["state"] = "TASK_RUNNING"
                    task["started_at"] = task["staged_at"] + self.knobs["start_seconds"]
        current = self._current(app_id, app)
        if len(self._ready(app, current, now)) >= wanted:
            for task in self._alive(app_id):
                if task not in current:
                    task["kill_at"] = now
        if len(current) > wanted:  # YOUNGEST_FIRST, Marathon's default killSelection
            current.sort(key=lambda task: task["staged_at"])
            for task in current[wanted:]:
                task["kill_at"] = now
        elif len(current) < wanted and app["launch_at"] is None:
            app["launch_at"] = now

    def _current(self, app_id, app):
        """The app's live tasks of its current configuration."""
        config = app["definition"]["versionInfo"]["lastConfigChangeAt"]
        return [task for task in self._alive(app_id) if task["config"] == config]

    def _ready(self, app, tasks, now):
        return [task for task in tasks if task["state"] == "TASK_RUNNING"
                and (not app["definition"]["healthChecks"] or self._healthy(app, task, now))]

    def _alive(self, app_id):
        return [task for task in self.tasks.values()
                if task["app"] == app_id and task["kill_at"] is None]

    def _healthy(self, app, task, now):
        return bool(app["definition"]["healthChecks"]) and task["state"] == "TASK_RUNNING" \
            and now >= task["started_at"] + self.knobs["health_seconds"]

    def _settled(self, app_id):
        """A deployment step on the app is over: its instances all run (or all are gone)."""
        app = self.apps.get(app_id)
        tasks = [task for task in self.tasks.values() if task["app"] == app_id]
        if app is None:
            return not tasks
        wanted = app["definition"]["instances"]
        ready = self._ready(app, self._current(app_id, app), self.clock())
        return len(ready) == wanted and len(tasks) == wanted

    def _launch(self, app_id, app, at):
        agent = self.random.randrange(self.knobs["agents"])
        definition = app["definition"]
        mappings = (definition.get("container") or {}).get("portMappings") or []
        count = len(mappings) or len(definition.get("portDefinitions") or [])
        ports = []
        while len(ports) < count:
            ports.append(self._next_host_port)
            self._next_host_port += 1
            if self._next_host_port > HOST_PORTS[1]:
                self._next_host_port = HOST_PORTS[0]
        task_id = "%s.%s" % (app_id.strip("/").replace("/", "_"), uuid.uuid4())
        self.tasks[task_id] = {
            "id": task_id, "app": app_id, "state": "TASK_STAGING", "staged_at": at,
            "started_at": None, "kill_at": None, "agent": agent,
            "host": "10.20.0.%d" % (11 + agent), "ports": ports,
            "version": definition["version"],
            "config": definition["versionInfo"]["lastConfigChangeAt"]}

    def _died(self, app_id, app, task, at, state, message):
        del self.tasks[task["id"]]
        app["last_task_failure"] = {
            "appId": app_id, "host": task["host"], "message": message, "state": state,
            "taskId": task["id"], "timestamp": iso(at), "version": task["version"],
            "slaveId": self._agent_id(task["agent"])}
        app["launch_at"] = at + self.knobs["restart_seconds"]

    @staticmethod
    def _agent_id(agent):
        return "5e3a0f3c-1b8e-4c55-9d9b-2f6c5f0f1a2b-S%d" % agent

    # -- reads ----------------------------------------------------------------------------------
    @staticmethod
    def _known(objects, what, ident):
        """The absolute id of an app or group that exists, else Marathon's 404."""
        ident = absolute(ident)
        if ident not in objects:
            raise MarathonError(404, "%s '%s' does not exist" % (what, ident))
        return ident

    def group(self, group_id, embed=()):
        self.advance()
        with self.lock:
            group_id = self._known(self.groups, "Group", group_id)
            return self._group_json(group_id, embed)

    def _group_json(self, group_id, embed):
        prefix = group_id.rstrip("/") + "/"
        children = sorted(gid for gid in self.groups if gid != group_id
                          and gid.startswith(prefix) and "/" not in gid[len(prefix):])
        apps = [self._app_json(app_id, embed) if embed else
                copy.deepcopy(self.apps[app_id]["definition"])
                for app_id in self.apps if app_id.startswith(prefix)
                and "/" not in app_id[len(prefix):]]
        group = self.groups[group_id]
        return {"id": group_id, "apps": apps, "groups": [self._group_json(gid, embed)
                                                         for gid in children],
                "pods": [], "dependencies": list(group["dependencies"]),
                "version": group["version"]}

    def app(self, app_id, embed=None):
        """GET /v2/apps/{id}: tasks, counts, deployments and the last failure are embedded."""
        self.advance()
        with self.lock:
            app_id = self._known(self.apps, "App", app_id)
            embed = set(embed or ()) | {"tasks", "counts", "deployments", "lastTaskFailure"}
            return self._app_json(app_id, embed)

    def list_apps(self, id_filter=None, embed=()):
        """GET /v2/apps: counts and deployments always, the rest on request."""
        self.advance()
        with self.lock:
            embed = set(embed) | {"counts", "deployments"}
            return [self._app_json(app_id, embed) for app_id in self.apps
                    if not id_filter or id_filter in app_id]

    def _app_json(self, app_id, embed):
        app = self.apps[app_id]
        out = copy.deepcopy(app["definition"])
        now = self.clock()
        tasks = [task for task in self.tasks.values() if task["app"] == app_id]
        if "counts" in embed:
            running = [task for task in tasks if task["state"] == "TASK_RUNNING"]
            healthy = [task for task in running if self._healthy(app, task, now)]
            out["tasksStaged"] = len(tasks) - len(running)
            out["tasksRunning"] = len(running)
            out["tasksHealthy"] = len(healthy)
            out["tasksUnhealthy"] = len(running) - len(healthy) \
                if app["definition"]["healthChecks"] else 0
        if "deployments" in embed:
            out["deployments"] = [{"id": did} for did, dep in self.deployments.items()
                                  if app_id in dep["apps"]]
        if "tasks" in embed:
            out["tasks"] = [self._task_json(task, now) for task in tasks]
        if "lastTaskFailure" in embed and app["last_task_failure"]:
            out["lastTaskFailure"] = copy.deepcopy(app["last_task_failure"])
        return out

    def _task_json(self, task, now):
        app = self.apps.get(task["app"])
        definition = app["definition"] if app else {}
        mappings = (definition.get("container") or {}).get("portMappings") \
            or definition.get("portDefinitions") or []
        out = {
            "appId": task["app"], "id": task["id"], "host": task["host"],
            "ipAddresses": [{"ipAddress": "172.17.0.%d" % (2 + int(task["id"][-2:], 16) % 250),
                             "protocol": "IPv4"}],
            "ports": list(task["ports"]),
            "servicePorts": [mapping.get("servicePort", mapping.get("port"))
                             for mapping in mappings],
            "slaveId": self._agent_id(task["agent"]),
            "state": "TASK_KILLING" if task["kill_at"] is not None else task["state"],
            "stagedAt": iso(task["staged_at"]), "version": task["version"],
            "localVolumes": [], "healthCheckResults": []}
        if task["started_at"] is not None:
            out["startedAt"] = iso(task["started_at"])
        if app and self._healthy(app, task, now):
            since = iso(task["started_at"] + self.knobs["health_seconds"])
            out["healthCheckResults"] = [{"alive": True, "consecutiveFailures": 0,
                                          "firstSuccess": since, "lastFailure": None,
                                          "lastSuccess": iso(now), "lastFailureCause": None,
                                          "instanceId": task["id"]}]
        return out

    def app_tasks(self, app_id):
        self.advance()
        with self.lock:
            app_id = self._known(self.apps, "App", app_id)
            now = self.clock()
            return [self._task_json(task, now) for task in self.tasks.values()
                    if task["app"] == app_id]

    def all_tasks(self):
        self.advance()
        with self.lock:
            now = self.clock()
            return [self._task_json(task, now) for task in self.tasks.values()]

    def list_deployments(self):
        self.advance()
        with self.lock:
            return [self._deployment_json(dep) for dep in self.deployments.values()]

    @staticmethod
    def _deployment_json(dep):
        actions = [{"action": action, "app": app_id, "readinessCheckResults": []}
                   for app_id, action in zip(dep["apps"], dep["actions"])]
        return {"id": dep["id"], "version": dep["version"], "affectedApps": list(dep["apps"]),
                "affectedPods": [], "steps": [{"actions": [{"action": a["action"],
                                                            "app": a["app"]} for a in actions]}],
                "currentActions": actions, "currentStep": 1, "totalSteps": 1}

    # -- writes ---------------------------------------------------------------------------------
    def _check_locks(self, app_ids, force):
        """Marathon refuses to change an app a deployment is working on, unless forced; forced,
        the old deployment is cancelled."""
        busy = {did for did, dep in self.deployments.items()
                if set(dep["apps"]) & set(app_ids)}
        if busy and not force:
            raise MarathonError(
                409, "App is locked by one or more deployments. Override with the option "
                "'?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.",
                deployments=[{"id": did} for did in sorted(busy)])
        for did in busy:
            del self.deployments[did]

    def _deploy(self, changes):
        """A deployment for ``changes`` ([(app id, action)]): {"version", "deploymentId"}."""
        version = iso(self.clock())
        deployment_id = str(uuid.uuid4())
        self.deployments[deployment_id] = {
            "id": deployment_id, "version": version,
            "apps": [app_id for app_id, _action in changes],
            "actions": [action for _app_id, action in changes]}
        self.advance()  # instant steps (start_seconds 0) finish at once, as on a fast cluster
        self.save()
        return {"version": version, "deploymentId": deployment_id}

    def _ensure_groups(self, group_id, version):
        path = ""
        for part in group_id.strip("/").split("/"):
            if not part:
                continue
            path += "/" + part
            self.groups.setdefault(path, {"id": path, "version": version, "dependencies": []})

    def create_group(self, body):
        self.advance()
        with self.lock:
            if not isinstance(body, dict):
                raise _invalid("/", "error.expected.jsobject")
            group_id = absolute(body.get("id") or "/")
            if group_id in self.groups and group_id != "/":
                raise MarathonError(409, "Group %s is already created. Use PUT to change this "
                                    "group." % group_id)
            apps = []
            self._collect(body, group_id, apps, "")
            for app_id, _definition in apps:
                if app_id in self.apps:
                    raise MarathonError(409, "An app with id [%s] already exists." % app_id)
            version = iso(self.clock())
            self._ensure_groups(group_id, version)
            for app_id, definition in apps:
                self._ensure_groups(app_id.rsplit("/", 1)[0] or "/", version)
                self._store_app(app_id, definition, version)
            return self._deploy([(app_id, "StartApplication") for app_id, _d in apps])

    def _collect(self, body, group_id, apps, where):
        for index, app in enumerate(body.get("apps") or []):
            if not isinstance(app, dict):
                raise _invalid("%s/apps(%d)" % (where, index), "error.expected.jsobject")
            app_id = absolute(app.get("id") or "", group_id)
            apps.append((app_id, self._validated(app, "%s/apps(%d)" % (where, index), app_id)))
        for index, group in enumerate(body.get("groups") or []):
            self._collect(group, absolute(group.get("id") or "", group_id), apps,
                          "%s/groups(%d)" % (where, index))

    def put_app(self, app_id, body, force=False):
        """PUT /v2/apps/{id}: replaces the definition (creating the app if need be); the
        fields left out keep their values, as Marathon's partial update does."""
        self.advance()
        with self.lock:
            app_id = absolute(app_id)
            if not isinstance(body, dict):
                raise _invalid("/", "error.expected.jsobject")
            exists = app_id in self.apps
            merged = dict(self._raw(app_id), **body) if exists else dict(body)
            merged["id"] = app_id
            definition = self._validated(merged, "", app_id)
            if exists:
                self._check_locks([app_id], force)
            version = iso(self.clock())
            self._ensure_groups(app_id.rsplit("/", 1)[0] or "/", version)
            scaled = exists and self.apps[app_id]["definition"]["instances"] \
                != definition["instances"]
            self._store_app(app_id, definition, version)
            action = "StartApplication" if not exists else (
                "ScaleApplication" if scaled else "RestartApplication")
            result = self._deploy([(app_id, action)])
            return (200 if exists else 201), result

    def create_app(self, body):
        self.advance()
        with self.lock:
            if not isinstance(body, dict) or not body.get("id"):
                raise _invalid("/id", "error.path.missing")
            app_id = absolute(body["id"])
            if app_id in self.apps:
                raise MarathonError(409, "An app with id [%s] already exists." % app_id)
            _status, _result = self.put_app(app_id, body)
            return self._app_json(app_id, {"counts", "deployments"})

    def _raw(self, app_id):
        """What was written for the app (for a partial update), without what Marathon adds."""
        return copy.deepcopy(self.apps[app_id]["raw"])

    def _store_app(self, app_id, definition, version):
        """A new version of the app; a new configuration (anything but instances) replaces
        its tasks, as Marathon's rolling restart does."""
        old = self.apps.get(app_id)
        raw = definition.pop("_raw")
        config = ("instances", "version", "versionInfo")
        changed = old is None or {k: v for k, v in definition.items() if k not in config} \
            != {k: v for k, v in old["definition"].items() if k not in config}
        definition["version"] = version
        definition["versionInfo"] = {
            "lastScalingAt": version,
            "lastConfigChangeAt": version if changed
            else old["definition"]["versionInfo"]["lastConfigChangeAt"]}
        self.apps[app_id] = {"definition": definition, "raw": raw, "launch_at": self.clock(),
                             "last_task_failure": old and old["last_task_failure"]}

    def delete_app(self, app_id, force=False):
        self.advance()
        with self.lock:
            app_id = self._known(self.apps, "App", app_id)
            self._check_locks([app_id], force)
            self._remove_app(app_id)
            return self._deploy([(app_id, "StopApplication")])

    def _remove_app(self, app_id):
        del self.apps[app_id]
        for task in self.tasks.values():
            if task["app"] == app_id and task["kill_at"] is None:
                task["kill_at"] = self.clock()

    def delete_group(self, group_id, force=False):
        self.advance()
        with self.lock:
            group_id = self._known(self.groups, "Group", group_id)
            prefix = group_id.rstrip("/") + "/"
            apps = [app_id for app_id in self.apps if app_id.startswith(prefix)]
            self._check_locks(apps, force)
            for app_id in apps:
                self._remove_app(app_id)
            for gid in [gid for gid in self.groups if gid.startswith(prefix) or gid == group_id]:
                if gid != "/":
                    del self.groups[gid]
            return self._deploy([(app_id, "StopApplication") for app_id in apps])

    def kill_task(self, app_id, task_id, scale=False):
        """DELETE /v2/apps/{id}/tasks/{task}: the task is killed; Marathon starts another
        unless ``scale`` (then the app has one instance less)."""
        self.advance()
        with self.lock:
            app_id = self._known(self.apps, "App", app_id)
            task = self.tasks.get(task_id)
            if task is None or task["app"] != app_id:
                raise MarathonError(404, "Task '%s' does not exist" % task_id)
            shown = self._task_json(task, self.clock())
            if scale:
                app = self.apps[app_id]
                task["kill_at"] = self.clock()
                app["definition"]["instances"] -= 1
                return self._deploy([(app_id, "ScaleApplication")])
            del self.tasks[task_id]
            self.apps[app_id]["launch_at"] = self.clock() + self.knobs["restart_seconds"]
            self.save()
            return {"task": dict(shown, state="TASK_KILLED")}

    def crash_task(self, app_id, task_id=None, message="Container exited with status 137"):
        """Fault injection: a running task of the app dies (TASK_FAILED, recorded as its
        lastTaskFailure); Marathon restarts it after ``restart_seconds``. Returns its id."""
        self.advance()
        with self.lock:
            app_id = absolute(app_id)
            alive = sorted((task for task in self._alive(app_id)
                            if task_id in (None, task["id"])), key=lambda t: t["staged_at"])
            if not alive:
                raise MarathonError(404, "No running task of '%s' to kill" % app_id)
            self._died(app_id, self.apps[app_id], alive[0], self.clock(), "TASK_FAILED", message)
            self.save()
            return alive[0]["id"]

    # -- validation and normalisation (what Marathon 1.6 stores and shows) -------------------
    def _validated(self, app, where, app_id):
        for part in app_id.strip("/").split("/"):
            if not APP_ID.fullmatch(part):
                raise _invalid(where + "/id", "must fully match regular expression '%s'"
                               % APP_ID.pattern)
        definition = {"id": app_id, "_raw": copy.deepcopy(app)}
        for field, default, kind in (("cpus", 1.0, (int, float)), ("mem", 128.0, (int, float)),
                                     ("disk", 0.0, (int, float)), ("gpus", 0, (int, float)),
                                     ("instances", 1, int)):
            value = app.get(field, default)
            if not isinstance(value, kind) or isinstance(value, bool) or value < 0:
                raise _invalid("%s/%s" % (where, field), "got %r, expected 0 or more" % (value,))
            definition[field] = value
        container = app.get("container")
        if not app.get("cmd") and not app.get("args") and not container:
            raise _invalid(where, "AppDefinition must either contain one of 'cmd' or 'args', "
                                  "and/or a 'container'.")
        for field in ("cmd", "args", "user"):
            if app.get(field) is not None:
                definition[field] = app[field]
        definition["constraints"] = [list(c) for c in app.get("constraints") or []]
        definition["env"] = dict(app.get("env") or {})
        definition["labels"] = {str(k): str(v) for k, v in (app.get("labels") or {}).items()}
        definition["fetch"] = list(app.get("fetch") or []) + [
            {"uri": uri, "extract": True, "executable": False, "cache": False}
            for uri in app.get("uris") or []]
        definition["healthChecks"] = list(app.get("healthChecks") or [])
        definition["secrets"] = dict(app.get("secrets") or {})
        definition.update({
            "backoffFactor": 1.15, "backoffSeconds": 1, "maxLaunchDelaySeconds": 3600,
            "executor": "", "dependencies": [], "requirePorts": False,
            "killSelection": "YOUNGEST_FIRST",
            "upgradeStrategy": {"minimumHealthCapacity": 1, "maximumOverCapacity": 1},
            "unreachableStrategy": {"inactiveAfterSeconds": 300, "expungeAfterSeconds": 600}})
        networks = app.get("networks")
        if container:
            definition["container"], legacy = self._container(container, where, app_id)
            networks = networks or legacy
        definition["networks"] = networks or [{"mode": "host"}]
        if not (container or {}).get("portMappings") and not \
                ((container or {}).get("docker") or {}).get("portMappings"):
            kept = self._service_ports(app_id)
            definition["portDefinitions"] = [
                self._service_port(dict(pd, labels=dict(pd.get("labels") or {})), "port", kept,
                                   index)
                for index, pd in enumerate(app.get("portDefinitions") or [])]
        else:
            definition["portDefinitions"] = []
        return definition

    def _container(self, container, where, app_id):
        """Marathon 1.5+'s container: docker.network and docker.portMappings (the legacy form
        INDIGO sends) become ``networks`` and container.portMappings."""
        kind = container.get("type", "DOCKER")
        if kind not in ("DOCKER", "MESOS"):
            raise _invalid(where + "/container/type", "error.unknown.enum.literal")
        docker = dict(container.get("docker") or {})
        if kind == "DOCKER" and not docker.get("image"):
            raise _invalid(where + "/container/docker/image", "must not be empty")
        network = docker.pop("network", None)
        if network is not None and network not in NETWORKS and network != "NONE":
            raise _invalid(where + "/container/docker/network", "error.unknown.enum.literal")
        mappings = container.get("portMappings") or docker.pop("portMappings", None) or []
        docker.pop("portMappings", None)
        out = {"type": kind, "volumes": [], "portMappings": []}
        kept = self._service_ports(app_id)
        for index, volume in enumerate(container.get("volumes") or []):
            mode = volume.get("mode")
            if mode not in ("RO", "RW") or not volume.get("containerPath"):
                raise _invalid("%s/container/volumes(%d)" % (where, index),
                               "containerPath and a mode of RO or RW are needed")
            out["volumes"].append(copy.deepcopy(volume))
        for index, mapping in enumerate(mappings):
            if mapping.get("protocol", "tcp") not in PROTOCOLS:
                raise _invalid("%s/container/portMappings(%d)/protocol" % (where, index),
                               "error.unknown.enum.literal")
            port = {"containerPort": mapping.get("containerPort", 0),
                    "hostPort": mapping.get("hostPort", 0),
                    "servicePort": mapping.get("servicePort", 0),
                    "protocol": mapping.get("protocol", "tcp"),
                    "labels": dict(mapping.get("labels") or {})}
            if mapping.get("name"):
                port["name"] = mapping["name"]
            out["portMappings"].append(self._service_port(port, "servicePort", kept, index))
        if docker:
            docker.setdefault("forcePullImage", False)
            docker.setdefault("privileged", False)
            docker.setdefault("parameters", [])
            out["docker"] = docker
        legacy = [{"mode": NETWORKS[network]}] if network in NETWORKS else None
        if mappings and legacy is None and kind == "DOCKER":
            legacy = [{"mode": "container/bridge"}]
        return out, legacy

    def _service_ports(self, app_id):
        """The service ports the app has now, in order: kept when it is updated."""
        old = self.apps.get(app_id)
        if old is None:
            return []
        definition = old["definition"]
        return [mapping.get("servicePort", mapping.get("port")) for mapping in
                (definition.get("container") or {}).get("portMappings")
                or definition.get("portDefinitions") or []]

    def _service_port(self, port, field, kept, index):
        """A service port of 0 is the app's old one, else the next of Marathon's range."""
        if not port.get(field):
            if index < len(kept) and kept[index]:
                port[field] = kept[index]
            else:
                port[field] = self._next_service_port
                self._next_service_port += 1
        port.setdefault("protocol", "tcp")
        return port
