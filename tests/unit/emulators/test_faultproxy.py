# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault-injecting proxy, in front of a local upstream server (and moto's EC2)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from ansible_collections.paas.orchestrator.tests.emulators.faultproxy import FaultProxy, Faults

MB = 1024 * 1024
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 6))
SERVICES_JSON = os.path.join(os.path.expanduser("~"), ".paas-orchestrator-test", "services.json")


def pattern(size):
    """size deterministic bytes, not all alike (so that truncation or reordering shows)."""
    block = bytes(range(256)) * 256
    return (block * (size // len(block) + 1))[:size]


class Upstream(BaseHTTPRequestHandler):
    """A small API: /echo (any method), /big and /chunked (?size=), /status/N, /redirect,
    /catalog (absolute URLs of itself), /gzip-catalog. Records every request it gets."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while size := int(self.rfile.readline().split(b";")[0], 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return bytes(data)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status, body=b"", headers=(), content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        body = self._body()
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.server.seen.append((self.command, self.path, len(body)))
        base = f"http://127.0.0.1:{self.server.server_port}"
        if url.path == "/echo":
            self._send(200, json.dumps({
                "method": self.command, "path": self.path, "headers": dict(self.headers),
                "size": len(body), "sha256": hashlib.sha256(body).hexdigest(),
            }).encode())
        elif url.path == "/big":
            self._send(200, pattern(int(query["size"])), content_type="application/octet-stream")
        elif url.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            data = pattern(int(query["size"]))
            for start in range(0, len(data), 100_000):
                piece = data[start:start + 100_000]
                self.wfile.write(b"%X\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif url.path.startswith("/status/"):
            self._send(int(url.path.rsplit("/", 1)[1]), b'{"teapot": true}',
                       [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Custom", "kept")])
        elif url.path == "/redirect":
            self._send(302, headers=[("Location", base + "/v2.1/servers/1")])
        elif url.path in ("/catalog", "/gzip-catalog"):
            body = json.dumps({"catalog": [
                {"type": "identity", "url": base + "/v3"},
                {"type": "compute", "url": "http://127.0.0.1:8774/v2.1"},
                {"type": "other-port", "url": base + "1/v3"},
            ]}).encode().replace(b"/v3\"", b"\\/v3\"", 1)
            if url.path == "/gzip-catalog" and "gzip" in self.headers.get("Accept-Encoding", ""):
                self._send(200, gzip.compress(body), [("Content-Encoding", "gzip")])
            else:
                self._send(200, body)
        else:
            self._send(404, b"{}")

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class UpstreamServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # The proxy's "reset" hangs up on the upstream too, as a vanishing client would.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def upstream():
    server = UpstreamServer(("127.0.0.1", 0), Upstream)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def target(upstream):
    upstream.seen.clear()
    return f"http://127.0.0.1:{upstream.server_port}"


@pytest.fixture
def proxy(target):
    with FaultProxy(target, seed=1) as running:
        yield running


@pytest.fixture
def http():
    with requests.Session() as session:
        session.trust_env = False  # no HTTP_PROXY & co between the test and the proxy
        yield session


# --- pass-through ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_methods_paths_headers_and_bodies_pass_through(proxy, http, upstream, method):
    body = b'{"name": "vm-1"}'
    answer = http.request(method, proxy.url + "/echo?a=1&b=%2F", data=body,
                          headers={"X-Auth-Token": "tok", "Content-Type": "application/json"})
    assert answer.status_code == 200
    echoed = answer.json()
    assert echoed["method"] == method
    assert echoed["path"] == "/echo?a=1&b=%2F"
    assert echoed["headers"]["X-Auth-Token"] == "tok"
    # Host names the upstream, as if the client had called it directly.
    assert echoed["headers"]["Host"] == f"127.0.0.1:{upstream.server_port}"
    assert echoed["size"] == len(body)
    assert echoed["sha256"] == hashlib.sha256(body).hexdigest()


def test_head_keeps_content_length_without_body(proxy, http):
    answer = http.head(proxy.url + "/big?size=12345")
    assert answer.status_code == 200
    assert answer.headers["Content-Length"] == "12345"
    assert answer.content == b""
    # The connection is still usable after a body-less answer.
    assert http.get(proxy.url + "/big?size=10").content == pattern(10)


def test_status_reason_and_repeated_headers_pass_through(proxy):
    # http.client, unlike requests, shows repeated headers one by one.
    conn = socket.create_connection(("127.0.0.1", int(proxy.url.rsplit(":", 1)[1])))
    conn.sendall(b"GET /status/418 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    raw = b""
    while data := conn.recv(65536):
        raw += data
    conn.close()
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 418 I'm a Teapot"
    assert "Set-Cookie: a=1" in lines and "Set-Cookie: b=2" in lines
    assert "X-Custom: kept" in lines
    assert body == b'{"teapot": true}'


def test_large_bodies_stream_both_ways(proxy, http):
    size = 24 * MB + 7
    answer = http.get(proxy.url + "/big?size=%d" % size)
    assert answer.headers["Content-Length"] == str(size)
    assert answer.content == pattern(size)
    # A generator body makes requests send it chunked; the proxy re-chunks it upstream.
    data = pattern(size)
    sent = http.post(proxy.url + "/echo", data=(data[i:i + MB] for i in range(0, size, MB)))
    assert sent.json()["size"] == size
    assert sent.json()["sha256"] == hashlib.sha256(data).hexdigest()
    sent = http.put(proxy.url + "/echo", data=data)
    assert sent.json()["headers"]["Content-Length"] == str(size)
    assert sent.json()["sha256"] == hashlib.sha256(data).hexdigest()


def test_chunked_answer_stays_chunked(proxy, http):
    answer = http.get(proxy.url + "/chunked?size=%d" % (3 * MB + 1), stream=True)
    assert answer.headers["Transfer-Encoding"] == "chunked"
    assert answer.raw.read() == pattern(3 * MB + 1)


def test_http10_client_gets_a_close_delimited_body(proxy):
    conn = socket.create_connection(("127.0.0.1", int(proxy.url.rsplit(":", 1)[1])))
    conn.sendall(b"GET /chunked?size=300000 HTTP/1.0\r\n\r\n")
    raw = b""
    while data := conn.recv(65536):
        raw += data
    conn.close()
    head, body = raw.split(b"\r\n\r\n", 1)
    assert b"chunked" not in head.lower()
    assert body == pattern(300000)


def test_unreachable_upstream_is_a_502(http):
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    with FaultProxy(f"http://127.0.0.1:{port}") as proxy:
        answer = http.get(proxy.url + "/x")
        assert answer.status_code == 502
        assert answer.headers["X-Faultproxy"] == "upstream-error"
        assert proxy.counters()["upstream_errors"] == 1


def test_target_base_path_is_prefixed(upstream, http):
    with FaultProxy(f"http://127.0.0.1:{upstream.server_port}/status") as proxy:
        assert http.get(proxy.url + "/404").status_code == 404
        assert http.get(proxy.url + "/409").status_code == 409


# --- faults -------------------------------------------------------------------------------

def test_error_answers_5xx_without_calling_upstream(proxy, http, upstream):
    proxy.configure(rate=1.0, kinds=["error"])
    statuses = {http.post(proxy.url + "/echo", data=b"x" * 1000).status_code for dummy in range(30)}
    assert statuses == {500, 502, 503}
    assert upstream.seen == []
    answer = http.get(proxy.url + "/echo")
    assert answer.headers["X-Faultproxy"] == "error"
    assert answer.json()["error"]["code"] == answer.status_code
    assert proxy.counters()["faults"] == {"error": 31, "throttle": 0, "drop": 0, "reset": 0}


def test_error_statuses_are_a_knob(proxy, http):
    proxy.configure(rate=1.0, kinds=["error"], statuses=[504])
    assert http.get(proxy.url + "/echo").status_code == 504


def test_throttle_answers_429_with_retry_after(proxy, http, upstream):
    proxy.configure(rate=1.0, kinds=["throttle"], retry_after=7)
    answer = http.get(proxy.url + "/echo")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert upstream.seen == []


def test_drop_closes_without_answer(proxy, http, upstream):
    proxy.configure(rate=1.0, kinds=["drop"])
    with pytest.raises(requests.ConnectionError):
        http.post(proxy.url + "/echo", data=b"x")
    assert upstream.seen == []
    assert proxy.counters()["faults"]["drop"] == 1


def test_reset_cuts_the_answer_midway(proxy, http, upstream):
    proxy.configure(rate=1.0, kinds=["reset"])
    for path in ("/big?size=1000000", "/chunked?size=1000000"):
        with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
            http.get(proxy.url + path)
    assert [seen[1] for seen in upstream.seen] == ["/big?size=1000000", "/chunked?size=1000000"]
    # Over a raw socket: the status line and half of the body arrive, then the reset.
    conn = socket.create_connection(("127.0.0.1", int(proxy.url.rsplit(":", 1)[1])))
    conn.sendall(b"GET /big?size=1000000 HTTP/1.1\r\nHost: x\r\n\r\n")
    raw = b""
    with pytest.raises(ConnectionResetError):
        while data := conn.recv(65536):
            raw += data
            time.sleep(0.01)  # let the RST arrive while data is still queued
    conn.close()
    if raw:  # Linux may drop queued data on RST; when it arrived, it is the first half
        assert raw.startswith(b"HTTP/1.1 200 ")
        assert len(raw.split(b"\r\n\r\n", 1)[1]) <= 500000


@pytest.mark.parametrize("kind", ["error", "drop"])
def test_forward_faulted_lets_upstream_act_first(proxy, http, upstream, kind):
    proxy.configure(rate=1.0, kinds=[kind], forward_faulted=True)
    try:
        answer = http.post(proxy.url + "/echo", data=b"create-me")
        assert answer.status_code >= 500
    except requests.ConnectionError:
        assert kind == "drop"
    assert upstream.seen == [("POST", "/echo", 9)]


def test_rate_zero_never_faults(proxy, http):
    proxy.configure(rate=0.0)
    assert all(http.get(proxy.url + "/echo").status_code == 200 for dummy in range(200))
    counters = proxy.counters()
    assert counters["requests"] == counters["matched"] == 200
    assert sum(counters["faults"].values()) == 0


def run_statuses(proxy, http, count):
    statuses = []
    for dummy in range(count):
        try:
            statuses.append(http.get(proxy.url + "/echo").status_code)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            statuses.append("dropped")
    return statuses


def test_rate_is_met_and_seeded(proxy, http):
    proxy.configure(rate=0.3, kinds={"error": 1, "throttle": 1}, seed=42)
    first = run_statuses(proxy, http, 400)
    faulted = sum(status != 200 for status in first)
    # Binomial(400, 0.3): sd 9.2; 4 sd either side.
    assert 84 <= faulted <= 156
    counters = proxy.counters()
    assert sum(counters["faults"].values()) == faulted
    assert counters["faults"]["throttle"] == first.count(429)
    assert 0.3 < counters["faults"]["error"] / faulted < 0.7
    proxy.configure(seed=42)
    assert run_statuses(proxy, http, 400) == first


def test_kind_weights(proxy, http):
    proxy.configure(rate=1.0, kinds={"throttle": 3, "error": 1, "drop": 0})
    statuses = run_statuses(proxy, http, 200)
    assert "dropped" not in statuses
    assert 120 <= statuses.count(429) <= 180


def test_path_and_method_filters(proxy, http):
    proxy.configure(rate=1.0, kinds=["error"], path=r"^/status/\d+$|/servers")
    assert http.get(proxy.url + "/status/200").status_code >= 500
    assert http.get(proxy.url + "/echo?x=/servers").status_code >= 500
    assert http.get(proxy.url + "/echo").status_code == 200
    assert http.get(proxy.url + "/status/200?q").status_code == 200
    proxy.configure(path="/echo", methods=["post", "DELETE"])
    assert http.get(proxy.url + "/echo").status_code == 200
    assert http.post(proxy.url + "/echo").status_code >= 500
    assert http.delete(proxy.url + "/echo").status_code >= 500
    counters = proxy.counters()
    assert (counters["requests"], counters["matched"]) == (7, 4)


def test_budget_limits_faults(proxy, http):
    proxy.configure(rate=1.0, kinds=["error"], budget=2)
    assert [http.get(proxy.url + "/echo").status_code >= 500 for dummy in range(4)] == [
        True, True, False, False]
    assert proxy.faults.budget == 0


def test_latency_and_jitter(proxy, http):
    proxy.configure(latency=0.2)
    started = time.monotonic()
    assert http.get(proxy.url + "/echo").status_code == 200
    assert time.monotonic() - started >= 0.2
    proxy.configure(latency=0.0, jitter=0.3, path="/slow")
    started = time.monotonic()
    http.get(proxy.url + "/echo")
    assert time.monotonic() - started < 0.2  # not matched: no delay
    delays = []
    for dummy in range(6):
        started = time.monotonic()
        http.get(proxy.url + "/slow")
        delays.append(time.monotonic() - started)
    assert max(delays) < 0.6 and max(delays) - min(delays) > 0.01


# --- admin ----------------------------------------------------------------------------------

def test_admin_path_changes_knobs_at_runtime(proxy, http):
    admin = proxy.url + "/__faults__"
    state = http.get(admin).json()
    assert state["faults"]["rate"] == 0.0 and state["target"] == proxy.target
    changed = http.post(admin, json={"rate": 1, "kinds": ["throttle"], "retry_after": 0,
                                     "path": "/echo"})
    assert changed.status_code == 200
    assert changed.json()["faults"]["kinds"] == {"throttle": 1.0}
    assert http.get(proxy.url + "/echo").status_code == 429
    assert http.get(proxy.url + "/big?size=1").status_code == 200
    # Admin requests are neither faulted nor counted.
    assert http.get(admin).json()["counters"]["requests"] == 2
    assert http.delete(admin + "/counters").json()["counters"]["requests"] == 0
    assert http.get(admin).json()["faults"]["rate"] == 1.0
    for bad in ({"rate": 2}, {"speed": 1}, {"path": "("}, {"kinds": ["melt"]},
                {"statuses": [404]}, [1]):
        answer = http.post(admin, json=bad)
        assert answer.status_code == 400, bad
    assert http.put(admin, data=b"{not json").status_code == 400
    assert http.post(admin + "/nope").status_code == 404
    reset = http.delete(admin).json()
    assert reset["faults"] == Faults(seed=1).to_json()
    assert http.get(proxy.url + "/echo").status_code == 200


def test_reset_restores_construction_knobs(target, http):
    with FaultProxy(target, rate=1.0, kinds="error", seed=3) as proxy:
        first = run_statuses(proxy, http, 5)
        proxy.configure(rate=0.0)
        assert http.get(proxy.url + "/echo").status_code == 200
        proxy.reset()
        assert run_statuses(proxy, http, 5) == first
        assert proxy.counters()["requests"] == 5


def test_construction_checks():
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy("http://127.0.0.1:1", host="0.0.0.0")
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy("http://127.0.0.1:1", host="example.org")
    with pytest.raises(ValueError, match="http://"):
        FaultProxy("https://127.0.0.1:1")
    with pytest.raises(ValueError, match="rate"):
        FaultProxy("http://127.0.0.1:1", rate=-0.1)


# --- URL rewriting ----------------------------------------------------------------------

def test_rewrites_target_urls_in_bodies_and_location(target, http):
    with FaultProxy(target, rewrite_target=True,
                    rewrites={"http://127.0.0.1:8774": "http://127.0.0.1:9999"}) as proxy:
        answer = http.get(proxy.url + "/catalog")
        assert int(answer.headers["Content-Length"]) == len(answer.content)
        urls = [entry["url"] for entry in answer.json()["catalog"]]
        # The JSON-escaped one too; the target with a longer port is another server.
        assert urls == [proxy.url + "/v3", "http://127.0.0.1:9999/v2.1", target + "1/v3"]
        # The client asked for gzip; the proxy asked the upstream for an identity body.
        answer = http.get(proxy.url + "/gzip-catalog", headers={"Accept-Encoding": "gzip"})
        assert answer.json()["catalog"][0]["url"] == proxy.url + "/v3"
        answer = http.get(proxy.url + "/redirect", allow_redirects=False)
        assert answer.headers["Location"] == proxy.url + "/v2.1/servers/1"
        # Binary bodies are left alone and still streamed.
        assert http.get(proxy.url + "/big?size=100000").content == pattern(100000)


def test_no_rewrite_by_default(proxy, http, target):
    assert http.get(proxy.url + "/catalog").json()["catalog"][0]["url"] == target + "/v3"
    assert http.get(proxy.url + "/redirect", allow_redirects=False).headers["Location"] == (
        target + "/v2.1/servers/1")


# --- clients that retry -------------------------------------------------------------------

def get_with_retries(http, url, attempts=10):
    """What a careful client does: retry on 5xx, 429 (after Retry-After) and broken
    connections."""
    for attempt in range(attempts):
        try:
            answer = http.get(url, timeout=10)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            continue
        if answer.status_code == 429:
            time.sleep(float(answer.headers.get("Retry-After", 0)))
        elif answer.status_code < 500:
            return answer, attempt
    raise AssertionError(f"{url}: no answer in {attempts} attempts")


def test_requests_with_retries_gets_through_20_percent_faults(target, http):
    with FaultProxy(target, rate=0.2, retry_after=0, seed=7) as proxy:
        retries = 0
        for index in range(150):
            answer, attempts = get_with_retries(http, proxy.url + f"/big?size={index * 1000}")
            assert answer.content == pattern(index * 1000)
            retries += attempts
        faults = proxy.counters()["faults"]
        assert sum(faults.values()) == retries
        assert all(faults.values()), faults  # every kind was met
        assert 0.1 < retries / (150 + retries) < 0.3


def test_standalone_process(target, http):
    process = subprocess.Popen(
        [sys.executable, "-m", "ansible_collections.paas.orchestrator.tests.emulators.faultproxy",
         "--target", target, "--port", "0", "--rate", "1", "--kinds", "throttle",
         "--retry-after", "3", "--seed", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT))
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        answer = http.get(url + "/echo")
        assert (answer.status_code, answer.headers["Retry-After"]) == (429, "3")
        http.post(url + "/__faults__", json={"rate": 0})
        assert http.get(url + "/echo").status_code == 200
    finally:
        process.terminate()
        stderr = process.communicate(timeout=10)[1]
    assert process.returncode == 0, stderr
    assert "GET /echo: throttle" in stderr


# --- moto's EC2 through the proxy ---------------------------------------------------------

def test_boto3_ec2_on_moto_through_20_percent_faults():
    """What the EC2 driver does, on moto's EC2, with botocore's own retries (standard mode)
    riding through faults. moto: tests/tooling/services.sh start moto (part of "all")."""
    boto3 = pytest.importorskip("boto3")
    botocore_config = pytest.importorskip("botocore.config")
    moto = None
    try:
        with open(SERVICES_JSON) as handle:
            moto = json.load(handle)["moto"]
    except (OSError, ValueError, KeyError):
        pass
    if moto is None:
        pytest.fail(f"no moto in {SERVICES_JSON}: start it with tests/tooling/services.sh "
                    "start moto")
    with FaultProxy(moto["endpoint_url"], rate=0.2, kinds=["error", "throttle", "drop"],
                    retry_after=0, seed=5) as proxy:
        ec2 = boto3.client(
            "ec2", endpoint_url=proxy.url, region_name=moto["region"],
            aws_access_key_id=moto["access_key"], aws_secret_access_key=moto["secret_key"],
            config=botocore_config.Config(retries={"mode": "standard", "max_attempts": 10}))
        name = "faultproxy-%d-%d" % (os.getpid(), time.time_ns())  # moto keeps earlier runs'
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ec2.create_key_pair(KeyName=name)
        group = ec2.create_security_group(GroupName=name, Description="test")["GroupId"]
        run = ec2.run_instances(
            ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.micro", KeyName=name,
            SecurityGroupIds=[group], TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "deployment", "Value": name}]}])
        ids = sorted(instance["InstanceId"] for instance in run["Instances"])
        ec2.create_tags(Resources=ids[:1], Tags=[{"Key": "role", "Value": "db"}])
        found = ec2.describe_instances(Filters=[{"Name": "tag:deployment", "Values": [name]},
                                                {"Name": "tag:role", "Values": ["db"]}])
        assert [instance["InstanceId"] for reservation in found["Reservations"]
                for instance in reservation["Instances"]] == ids[:1]
        address = ec2.allocate_address(Domain="vpc")
        ec2.associate_address(AllocationId=address["AllocationId"], InstanceId=ids[0])
        zone = run["Instances"][0]["Placement"]["AvailabilityZone"]
        volume = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
        ec2.attach_volume(VolumeId=volume, InstanceId=ids[0], Device="/dev/sdf")
        assert ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["State"] == "in-use"
        ec2.terminate_instances(InstanceIds=ids)
        ec2.release_address(AllocationId=address["AllocationId"])
        ec2.delete_volume(VolumeId=volume)
        ec2.delete_key_pair(KeyName=name)
        counters = proxy.counters()
        assert counters["requests"] > 15 and sum(counters["faults"].values()) > 0, counters
