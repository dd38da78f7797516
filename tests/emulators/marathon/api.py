# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Marathon's REST routes (the part the marathon client and INDIGO use) over the emulator:
authentication, injected faults, then the call. ``/_emulator/*`` are the test's own routes."""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
from urllib.parse import parse_qs, unquote, urlsplit

from .cluster import MarathonError

JSON = "application/json; charset=utf-8"
_APPS, _GROUPS, _TASKS = "/v2/apps", "/v2/groups", "/tasks"


def _flag(query, name):
    return (query.get(name) or ["false"])[-1].lower() == "true"


def _embeds(query, prefixes):
    """The ``embed`` values under any of ``prefixes`` ("app.tasks" -> "tasks")."""
    found = set()
    for value in query.get("embed") or []:
        for prefix in prefixes:
            if value.startswith(prefix):
                found.add(value[len(prefix):])
    return found


class Api:
    """``handle(method, target, headers, body) -> (status, headers, payload)``; payload is a
    JSON value (or text for /ping)."""

    def __init__(self, cluster):
        self.cluster = cluster

    def handle(self, method, target, headers, body):
        split = urlsplit(target)
        path, query = unquote(split.path), parse_qs(split.query)
        if path.startswith("/_emulator/"):
            return self._admin(method, path, body)
        route, call = self._route(method, path, query)
        self.cluster.count(route)
        if not self._authorized(headers):
            return 401, {"WWW-Authenticate": 'Basic realm="Mesosphere Marathon"'}, {
                "message": "Invalid username or password."}
        if self._faulty(route):
            status = self.cluster.knobs["error_status"]
            self.cluster.count("injected %d" % status)
            return status, {}, {"message": "Injected fault: HTTP %d" % status}
        if call is None:
            return 404, {}, {"message": "HTTP 404 Not Found"}
        try:
            data = json.loads(body) if body else None
        except ValueError as exc:
            return 400, {}, {"message": "Invalid JSON", "details": [{"path": "/",
                                                                     "errors": [str(exc)]}]}
        try:
            return call(data)
        except MarathonError as exc:
            return exc.status, {}, exc.body

    def _authorized(self, headers):
        knobs = self.cluster.knobs
        basic = knobs["username"] is not None and knobs["password"] is not None
        if not basic and not knobs["tokens"]:
            return True
        scheme, _space, value = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer":
            return value in (knobs["tokens"] or ())
        if scheme.lower() == "basic" and basic:
            try:
                user, _colon, password = base64.b64decode(value).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return (user, password) == (knobs["username"], knobs["password"])
        return False

    def _faulty(self, route):
        patterns = self.cluster.knobs["error_paths"]
        if patterns and not any(fnmatch.fnmatch(route, pattern) for pattern in patterns):
            return False
        return self.cluster.inject_error()

    def _route(self, method, path, query):
        """(counter name, handler of the parsed body or None)."""
        cluster = self.cluster
        force = _flag(query, "force")
        if path == "/ping":
            return "GET /ping", lambda _data: (200, {"Content-Type": "text/plain"}, "pong")
        if path == "/v2/info" and method == "GET":
            return "GET /v2/info", lambda _data: (200, {}, {
                "name": "marathon", "version": "1.6.322", "leader": "127.0.0.1",
                "frameworkId": "5e3a0f3c-1b8e-4c55-9d9b-2f6c5f0f1a2b-0000",
                "elected": True})
        if path == "/v2/tasks" and method == "GET":
            return "GET /v2/tasks", lambda _data: (200, {}, {"tasks": cluster.all_tasks()})
        if path == "/v2/deployments" and method == "GET":
            return "GET /v2/deployments", lambda _data: (200, {}, cluster.list_deployments())
        if path == _GROUPS or path.startswith(_GROUPS + "/"):
            group_id = path[len(_GROUPS):] or "/"
            embed = _embeds(query, ("group.apps.",))
            return "%s /v2/groups%s" % (method, "" if group_id == "/" else "/{id}"), {
                "GET": lambda _data: (200, {}, cluster.group(group_id, embed)),
                "POST": self._created_group,
                "DELETE": lambda _data: (200, {}, cluster.delete_group(group_id, force)),
            }.get(method)
        if path == _APPS and method in ("GET", "POST"):
            if method == "POST":
                return "POST /v2/apps", lambda data: (201, {}, cluster.create_app(data))
            embed = _embeds(query, ("apps.", "app."))
            id_filter = (query.get("id") or [None])[-1]
            return "GET /v2/apps", lambda _data: (
                200, {}, {"apps": cluster.list_apps(id_filter, embed)})
        if path.startswith(_APPS + "/"):
            return self._app_route(method, path[len(_APPS):], query, force)
        return "%s %s" % (method, path), None

    def _app_route(self, method, rest, query, force):
        cluster = self.cluster
        app_id, marker, task_id = rest.partition(_TASKS + "/")
        if marker and method == "DELETE":
            scale = _flag(query, "scale")
            return "DELETE /v2/apps/{id}/tasks/{task}", lambda _data: (
                200, {}, cluster.kill_task(app_id, task_id, scale))
        if rest.endswith(_TASKS) and method == "GET":
            return "GET /v2/apps/{id}/tasks", lambda _data: (
                200, {}, {"tasks": cluster.app_tasks(rest[:-len(_TASKS)])})
        embed = _embeds(query, ("app.",))
        return "%s /v2/apps/{id}" % method, {
            "GET": lambda _data: (200, {}, {"app": cluster.app(rest, embed)}),
            "PUT": lambda data: self._put_app(rest, data, force),
            "DELETE": lambda _data: (200, {}, cluster.delete_app(rest, force)),
        }.get(method)

    def _created_group(self, data):
        result = self.cluster.create_group(data)
        group_id = (data or {}).get("id") or "/"
        return 201, {"Location": "/v2/groups/" + group_id.strip("/")}, result

    def _put_app(self, app_id, data, force):
        status, result = self.cluster.put_app(app_id, data, force)
        return status, {}, result

    def _admin(self, method, path, body):
        """The test's own routes: knobs, counters, a task crash, the whole state."""
        cluster = self.cluster
        data = json.loads(body) if body else {}
        try:
            if path == "/_emulator/knobs":
                return 200, {}, (cluster.configure(**data) if method == "POST"
                                 else dict(cluster.knobs))
            if path == "/_emulator/counters":
                with cluster.lock:
                    return 200, {}, dict(cluster.counters)
            if path == "/_emulator/reset_counters" and method == "POST":
                cluster.reset_counters()
                return 200, {}, {}
            if path == "/_emulator/crash" and method == "POST":
                return 200, {}, {"task": cluster.crash_task(data["app"], data.get("task"),
                                                            **({"message": data["message"]}
                                                               if data.get("message") else {}))}
            if path == "/_emulator/state":
                cluster.advance()
                return 200, {}, cluster.snapshot()
        except (TypeError, ValueError, KeyError) as exc:
            return 400, {}, {"message": "bad emulator request: %s" % exc}
        except MarathonError as exc:
            return exc.status, {}, exc.body
        return 404, {}, {"message": "no emulator route %s %s" % (method, path)}
