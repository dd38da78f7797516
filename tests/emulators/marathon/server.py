# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP endpoint (``http://127.0.0.1:PORT``), in a thread of the caller."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..serving import ThreadedServer
from .api import JSON, Api
from .cluster import MarathonEmulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api = None  # set per server

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        status, headers, payload = self.api.handle(self.command, self.path, self.headers, body)
        text = payload if isinstance(payload, str) else json.dumps(payload)
        data = text.encode("utf-8")
        self.send_response(status)
        headers = dict({"Content-Type": JSON}, **headers)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815 (http.server's names)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass   # test output stays quiet


class EmulatorServer(ThreadedServer):
    """Serves a MarathonEmulator; a context manager. ``url`` is what MarathonClient takes.

    ``EmulatorServer(start_seconds=1)`` makes its own emulator with those knobs;
    ``EmulatorServer(emulator=cluster)`` serves an existing one.
    """

    thread_name = "marathon-emulator"

    def __init__(self, emulator=None, host="127.0.0.1", port=0, **kwargs):
        self.emulator = emulator or MarathonEmulator(**kwargs)
        handler = type("Handler", (_Handler,), {"api": Api(self.emulator)})
        self.serve(ThreadingHTTPServer((host, port), handler))  # its handler threads are daemons

    def stopped(self):
        self.emulator.save()
