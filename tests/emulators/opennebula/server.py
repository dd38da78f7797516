# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The XML-RPC endpoint (``http://127.0.0.1:PORT/RPC2``), in a thread of the caller.

Besides the one.* methods it answers a few ``emulator.*`` ones for tests that drive it from
another process (no session argument; oned has no such methods):

- ``emulator.configure(struct)``: set knobs, returns them all
- ``emulator.counters()`` / ``emulator.reset_counters()``: calls per one.* method
- ``emulator.state()``: the JSON of the state file, for inspection
"""

from __future__ import annotations

import json
from socketserver import ThreadingMixIn
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

from ..serving import ThreadedServer
from .api import dispatch
from .cloud import OpenNebulaEmulator


class _Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/", "/RPC2")

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass   # test output stays quiet


class _Server(ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True


class _Dispatcher:
    def __init__(self, cloud):
        self.cloud = cloud

    def _dispatch(self, method, params):
        if method == "emulator.configure":
            return self.cloud.configure(**params[0])
        if method == "emulator.counters":
            with self.cloud.lock:
                return dict(self.cloud.counters)
        if method == "emulator.reset_counters":
            self.cloud.reset_counters()
            return True
        if method == "emulator.state":
            return json.dumps(self.cloud.snapshot())
        return dispatch(self.cloud, method, params)


class EmulatorServer(ThreadedServer):
    """Serves an OpenNebulaEmulator; a context manager. ``url`` is what pyone connects to.

    ``EmulatorServer(boot_seconds=2)`` makes its own emulator with those knobs;
    ``EmulatorServer(emulator=cloud)`` serves an existing one.
    """

    thread_name = "opennebula-emulator"

    def __init__(self, emulator=None, host="127.0.0.1", port=0, **kwargs):
        self.emulator = emulator or OpenNebulaEmulator(**kwargs)
        server = _Server((host, port), requestHandler=_Handler, logRequests=False,
                         allow_none=True)
        server.register_instance(_Dispatcher(self.emulator))
        self.serve(server, "/RPC2")

    def stopped(self):
        self.emulator.save()
