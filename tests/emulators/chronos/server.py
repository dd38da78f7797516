# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Chronos's REST API over HTTP on loopback, in a thread of the caller (see README.md).

Paths are served under ``/v1/scheduler`` (Chronos 3) and ``/scheduler`` (Chronos 2); the
admin path ``/__emulator__`` (never faulted, never authenticated) reads and sets knobs.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..serving import ThreadedServer
from .scheduler import ChronosEmulator, ChronosError

ADMIN = "/__emulator__"
PREFIX = re.compile(r"^(?:/v1)?/scheduler(/.*)$")
# (method, path pattern, action); counters are named "METHOD /path" with {jobName}
ROUTES = (
    ("POST", "/iso8601", "add_scheduled"),
    ("POST", "/dependency", "add_dependent"),
    ("GET", "/jobs", "list"),
    ("GET", "/jobs/search", "search"),
    ("DELETE", "/job/{jobName}", "delete"),
    ("PUT", "/job/{jobName}", "trigger"),
)
_PATTERNS = {path: re.compile(path.replace("{jobName}", "([^/]+)")) for _m, path, _a in ROUTES}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Jetty(9.3.z-SNAPSHOT)"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass  # test output stays quiet

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")

    # -- answers ------------------------------------------------------------------------------
    def _answer(self, status, body=None, headers=()):
        if body is None or body == "":
            data, kind = b"", None
        elif isinstance(body, str):
            data, kind = body.encode("utf-8"), "text/plain"
        else:
            data, kind = json.dumps(body).encode("utf-8"), "application/json"
        self.send_response(status)
        if kind:
            self.send_header("Content-Type", kind)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise ChronosError(400, "Unable to process JSON") from None

    def _authorised(self, chronos):
        credentials, token = chronos.knobs["credentials"], chronos.knobs["token"]
        if not credentials and not token:
            return True
        given = self.headers.get("Authorization") or ""
        scheme, _space, value = given.partition(" ")
        if scheme.lower() == "basic" and credentials:
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return False
            return hmac.compare_digest(decoded, credentials)
        if scheme.lower() == "bearer" and token:
            return hmac.compare_digest(value.strip(), token)
        return False

    # -- dispatch -----------------------------------------------------------------------------
    def _serve(self, method):
        chronos = self.server.chronos
        parsed = urllib.parse.urlsplit(self.path)
        if parsed.path.rstrip("/") == ADMIN or parsed.path.startswith(ADMIN + "/"):
            return self._admin(method, parsed.path[len(ADMIN):], chronos)
        try:
            body = self._body() if method in ("POST", "PUT") else None
        except ChronosError as exc:
            return self._answer(exc.status, exc.body)
        match = PREFIX.match(parsed.path)
        route = None
        if match:
            for verb, path, action in ROUTES:
                found = _PATTERNS[path].fullmatch(match.group(1).rstrip("/") or "/")
                if found and verb == method:
                    route = (action, found.groups(), path)
                    break
        chronos.count("%s %s" % (method, route[2] if route else "(unknown)"))
        if not self._authorised(chronos):
            return self._answer(401, "Unauthorized",
                                [("WWW-Authenticate", 'Basic realm="Chronos"')])
        if route is None:
            return self._answer(404, "Not Found")
        status = chronos.fault(method, self.path)
        if status is not None:
            chronos.count("faults")
        if status is not None and not chronos.knobs["act_on_error"]:
            return self._answer(status, {"error": "injected fault"})
        try:
            answer = self._act(chronos, route[0], route[1], body,
                               urllib.parse.parse_qs(parsed.query))
        except ChronosError as exc:
            answer = (exc.status, exc.body)
        if status is not None:  # it acted; the answer is lost
            return self._answer(status, {"error": "injected fault"})
        return self._answer(*answer)

    @staticmethod
    def _act(chronos, action, groups, body, query):
        if action == "add_scheduled":
            chronos.add_scheduled(body)
            return 204, None
        if action == "add_dependent":
            chronos.add_dependent(body)
            return 204, None
        if action == "list":
            return 200, chronos.list_jobs()
        if action == "search":
            def first(name, cast=str):
                values = query.get(name)
                return cast(values[0]) if values else None
            try:
                return 200, chronos.search(first("name"), first("command"), first("any"),
                                           first("limit", int), first("offset", int))
            except ValueError:
                raise ChronosError(404, "Not Found") from None
        name = urllib.parse.unquote(groups[0])
        if action == "delete":
            chronos.delete(name)
        else:
            chronos.trigger(name)
        return 204, None

    def _admin(self, method, rest, chronos):
        if method == "GET" and rest in ("", "/"):
            return self._answer(200, {"knobs": chronos.knobs, "counters": chronos.counters})
        if method == "GET" and rest == "/state":
            return self._answer(200, chronos.snapshot())
        if method == "POST" and rest in ("", "/"):
            try:
                knobs = chronos.configure(**(self._body() or {}))
            except (ValueError, TypeError, ChronosError) as exc:
                return self._answer(400, {"error": str(exc)})
            return self._answer(200, {"knobs": knobs, "counters": chronos.counters})
        if method == "DELETE" and rest == "/counters":
            with chronos.lock:
                chronos.counters.clear()
            return self._answer(204)
        return self._answer(404, "Not Found")


class EmulatorServer(ThreadedServer):
    """Serves a ChronosEmulator and runs its scheduler; a context manager. ``url`` is the
    Chronos endpoint (``http://127.0.0.1:PORT``).

    ``EmulatorServer(credentials="u:p")`` makes its own emulator with those knobs;
    ``EmulatorServer(emulator=chronos)`` serves an existing one.
    """

    thread_name = "chronos-emulator"

    def __init__(self, emulator=None, host="127.0.0.1", port=0, state_dir=None, **knobs):
        self.emulator = emulator or ChronosEmulator(state_dir=state_dir, **knobs)
        server = ThreadingHTTPServer((host, port), _Handler)  # its handler threads are daemons
        server.chronos = self.emulator
        self.serve(server)

    def started(self):
        self.emulator.start()

    def stopped(self):
        self.emulator.stop()
