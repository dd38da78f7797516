# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import http.server
import threading

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import imports

TYPES = """
tosca_definitions_version: tosca_simple_yaml_1_0
node_types:
  example.nodes.Worker:
    derived_from: tosca.nodes.SoftwareComponent
    properties:
      threads:
        type: integer
        default: 2
"""


def template(imports_block="", nodes=None, extra=""):
    nodes = nodes or """
    worker:
      type: example.nodes.Worker
      requirements:
        - host: vm
    vm:
      type: tosca.nodes.Compute
"""
    return ("tosca_definitions_version: tosca_simple_yaml_1_0\n" + imports_block +
            extra + "topology_template:\n  node_templates:" + nodes)


class _Handler(http.server.BaseHTTPRequestHandler):
    files = {}
    hits = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_types():
    """A local HTTP server serving /types.yaml; yields (base URL, list of requested paths)."""
    _Handler.files = {"/repo/types.yaml": TYPES.encode()}
    _Handler.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_port, _Handler.hits
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def fresh_parse_memo(monkeypatch):
    """Each test sees the parse cache empty, so disk-cache behaviour is observable."""
    monkeypatch.setattr(imports, "_PARSED", {})
    monkeypatch.delenv(imports.MIRROR_ENV, raising=False)
