# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# Apache License 2.0 (see LICENSE)
"""Fixtures of test_staging.py: real servers, no mocks.

- ``http_store`` / ``https_store``: a threaded HTTP(S) file server on 127.0.0.1 with fault knobs.
- ``swift_service``: the Swift SAIO (Swift API + s3api) that tests/tooling/swift.sh starts and
  records in $HOME/.paas-orchestrator-test/services.json. When it is missing the tests fail
  (they are not skipped): CI must start it.
"""

from __future__ import annotations

import base64
import datetime
import http.server
import ipaddress
import json
import os
import shutil
import socket
import ssl
import threading
import time
import uuid
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests

SERVICES_JSON = os.path.join(os.path.expanduser("~"), ".paas-orchestrator-test", "services.json")
BIG = 20 * 1024 * 1024


class _StoreHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # the test output stays quiet
        pass

    def _local(self):
        return os.path.join(self.server.root, unquote(urlsplit(self.path).path).lstrip("/"))

    def _reply(self, status, headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _drain(self):
        # Read a refused upload's body, as real servers do, so the client sees the status
        # rather than a reset.
        left = int(self.headers.get("Content-Length") or 0)
        while left > 0:
            left -= len(self.rfile.read(min(left, 65536)))

    def _admit(self):
        server = self.server
        path = urlsplit(self.path).path
        server.seen.append((self.command, path))
        time.sleep(server.delay)
        fault = server.faults.get(path)
        if fault and fault["times"] > 0:
            fault["times"] -= 1
            self._drain()
            self._reply(fault["status"], fault.get("headers"))
            return False
        if server.authorization and self.headers.get("Authorization") != server.authorization:
            self._drain()
            self._reply(401, {"WWW-Authenticate": 'Basic realm="staging"'})
            return False
        return True

    def do_GET(self):
        if not self._admit():
            return
        local = self._local()
        if not os.path.isfile(local):
            self._reply(404)
            return
        size = os.path.getsize(local)
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        with open(local, "rb") as handle:
            if urlsplit(self.path).path in self.server.cut:
                # Half the promised body, then the connection drops.
                self.wfile.write(handle.read(size // 2))
                self.wfile.flush()
                self.close_connection = True
                return
            shutil.copyfileobj(handle, self.wfile, 65536)

    def do_PUT(self):
        if not self._admit():
            return
        local = self._local()
        os.makedirs(os.path.dirname(local), exist_ok=True)
        left = int(self.headers["Content-Length"])
        if urlsplit(self.path).path in self.server.cut:
            # Half the body is read, then the connection drops with no reply.
            self.rfile.read(left // 2)
            self.close_connection = True
            return
        with open(local + ".upload", "wb") as handle:
            while left > 0:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    return
                handle.write(chunk)
                left -= len(chunk)
        os.replace(local + ".upload", local)
        self._reply(201)


class StoreServer(http.server.ThreadingHTTPServer):
    """Files under ``root`` served at ``url(name)``; the knobs below change its answers."""

    daemon_threads = True

    def __init__(self, root, port=0):
        super().__init__(("127.0.0.1", port), _StoreHandler)
        self.root = str(root)
        self.scheme = "http"
        self.seen = []            # (method, path) of every request
        self.faults = {}          # path -> {"status": 503, "times": 2, "headers": {...}}
        self.cut = set()          # paths whose GET or PUT body stops halfway
        self.delay = 0            # seconds before any answer
        self.authorization = None  # the Authorization header required, if any

    def url(self, name):
        return "%s://127.0.0.1:%d/%s" % (self.scheme, self.server_address[1], name)

    def require_basic(self, user, password):
        token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        self.authorization = "Basic " + token

    def require_bearer(self, token):
        self.authorization = "Bearer " + token

    def start(self):
        # A short poll keeps shutdown() (one per test) from costing half a second.
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()


@pytest.fixture
def http_store(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    server = StoreServer(root).start()
    yield server
    server.stop()


def _self_signed(folder):
    """A certificate for 127.0.0.1 that is its own CA: (certificate path, key path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "staging test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, False, False, False),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def https_store(tmp_path):
    """``http_store`` over TLS; ``server.ca_file`` is the certificate to trust."""
    root = tmp_path / "served"
    root.mkdir()
    cert_path, key_path = _self_signed(str(tmp_path))
    server = StoreServer(root)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.scheme = "https"
    server.ca_file = cert_path
    server.start()
    yield server
    server.stop()


@pytest.fixture
def free_port():
    """A local port with nothing listening (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.bin"
    with open(path, "wb") as handle:
        for _megabyte in range(BIG // (1024 * 1024)):
            handle.write(os.urandom(1024 * 1024))
    return str(path)


def load_swift_service(path=SERVICES_JSON):
    """The "swift" entry of services.json, checked to answer; fails the test otherwise."""
    hint = "start it with tests/tooling/swift.sh (from the collection root, as root)"
    try:
        with open(path) as handle:
            service = json.load(handle)["swift"]
    except (OSError, ValueError, KeyError) as exc:
        pytest.fail("No Swift test service recorded in %s (%s): %s" % (path, exc, hint))
    try:
        requests.get(service["auth_url"], timeout=5,
                     headers={"X-Auth-User": service["user"], "X-Auth-Key": service["key"]}
                     ).raise_for_status()
    except requests.RequestException as exc:
        pytest.fail("The Swift test service at %s does not answer (%s): %s"
                    % (service["auth_url"], type(exc).__name__, hint))
    return service


class SwiftAdmin:
    """Direct Swift REST calls (requests) for setting up and cleaning up the tests."""

    def __init__(self, service):
        reply = requests.get(service["auth_url"], timeout=10,
                             headers={"X-Auth-User": service["user"],
                                      "X-Auth-Key": service["key"]})
        reply.raise_for_status()
        self.storage_url = reply.headers["X-Storage-Url"]
        self.token = reply.headers["X-Auth-Token"]
        self.created = []

    def new_container(self):
        """A fresh name, deleted with its objects when the session ends; not created here."""
        name = "staging-test-%s" % uuid.uuid4().hex[:12]
        self.created.append(name)
        return name

    def _call(self, method, path, **kwargs):
        return requests.request(method, "%s/%s" % (self.storage_url, path), timeout=30,
                                headers={"X-Auth-Token": self.token}, **kwargs)

    def purge(self):
        # S3 multipart uploads keep their parts in "<bucket>+segments".
        for name in self.created + [name + "+segments" for name in self.created]:
            listing = self._call("GET", quote(name, safe="") + "?format=json")
            if listing.status_code == 404:
                continue
            for item in listing.json():
                self._call("DELETE", quote(name, safe="") + "/" + quote(item["name"]))
            self._call("DELETE", quote(name, safe=""))


@pytest.fixture(scope="session")
def swift_service():
    return load_swift_service()


@pytest.fixture(scope="session")
def swift_admin(swift_service):
    admin = SwiftAdmin(swift_service)
    yield admin
    admin.purge()


@pytest.fixture(scope="session")
def swift_credentials(swift_service):
    return {name: swift_service[name] for name in ("auth_url", "user", "key")}


@pytest.fixture(scope="session")
def s3_credentials(swift_service):
    return {"access_key": swift_service["s3_access_key"],
            "secret_key": swift_service["s3_secret_key"],
            "endpoint_url": swift_service["s3_endpoint"]}


@pytest.fixture(scope="session")
def bucket(swift_admin, s3_credentials):
    """A bucket made through the S3 API (real boto3) for the whole session."""
    import boto3

    name = swift_admin.new_container()
    boto3.session.Session().client(
        "s3", endpoint_url=s3_credentials["endpoint_url"], region_name="us-east-1",
        aws_access_key_id=s3_credentials["access_key"],
        aws_secret_access_key=s3_credentials["secret_key"],
    ).create_bucket(Bucket=name)
    return name
