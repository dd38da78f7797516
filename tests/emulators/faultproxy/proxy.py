# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fault-injecting HTTP reverse proxy for tests; see README.md beside this file."""

from __future__ import annotations

import dataclasses
import http.client
import io
import ipaddress
import json
import logging
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..serving import ThreadedServer

ADMIN_PATH = "/__faults__"
KINDS = ("error", "throttle", "drop", "reset")
CHUNK = 64 * 1024
# RFC 9110 7.6.1, plus the framing headers the proxy sets itself and Expect, which
# BaseHTTPRequestHandler has already answered with "100 Continue".
HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade", "content-length", "expect", "host",
))
TEXTUAL = re.compile(r"json|text/|xml|javascript", re.IGNORECASE)
# Codes botocore reads as retryable (it looks at the code, not only at the status).
EC2_CODES = {429: "RequestLimitExceeded", 500: "InternalError", 502: "InternalError",
             503: "Unavailable"}

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Faults:
    """The runtime knobs; every field can be changed by FaultProxy.configure or the admin path.

    rate: fraction of matching requests that get a fault, whose kind is drawn from kinds
    (names from KINDS with weights; a list means equal weights). statuses: the 5xx an "error"
    answers with. retry_after: seconds in a "throttle" 429's Retry-After. latency + a uniform
    draw in [0, jitter]: seconds added to every matching request. path: regex searched in the
    request target (path and query); methods: only these methods match. budget: faults left
    to inject (None: no limit). forward_faulted: "error" and "drop" forward the request first,
    so the upstream acts but the client never sees its answer. seed: reseeds the draws.
    """

    rate: float = 0.0
    kinds: dict = dataclasses.field(default_factory=lambda: dict.fromkeys(KINDS, 1))
    statuses: tuple = (500, 502, 503)
    retry_after: int = 1
    latency: float = 0.0
    jitter: float = 0.0
    path: str | None = None
    methods: tuple | None = None
    budget: int | None = None
    forward_faulted: bool = False
    seed: int | None = None

    def __post_init__(self):
        # Normalise JSON-ish input (lists, strings) so that the admin path and the CLI can pass
        # what they parsed; frozen, hence object.__setattr__.
        def put(name, value):
            object.__setattr__(self, name, value)

        put("rate", float(self.rate))
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        kinds = self.kinds
        if isinstance(kinds, str):
            kinds = kinds.split(",")
        if not isinstance(kinds, dict):
            kinds = dict.fromkeys(kinds, 1)
        kinds = {str(name): float(weight) for name, weight in kinds.items()}
        unknown = set(kinds) - set(KINDS)
        if unknown or any(weight < 0 for weight in kinds.values()) or not sum(kinds.values()):
            raise ValueError(f"kinds: weights >= 0, not all 0, for names among {KINDS}")
        put("kinds", kinds)
        put("statuses", tuple(int(status) for status in self.statuses))
        if not self.statuses or any(not 500 <= status <= 599 for status in self.statuses):
            raise ValueError("statuses must be a non-empty list of 5xx codes")
        put("retry_after", int(self.retry_after))
        put("latency", float(self.latency))
        put("jitter", float(self.jitter))
        if min(self.retry_after, self.latency, self.jitter) < 0:
            raise ValueError("retry_after, latency and jitter must be >= 0")
        try:
            put("_path_re", re.compile(self.path) if self.path else None)
        except re.error as exc:
            raise ValueError(f"path: {exc}") from None
        if self.methods is not None:
            methods = self.methods.split(",") if isinstance(self.methods, str) else self.methods
            put("methods", tuple(method.strip().upper() for method in methods))
        if self.budget is not None:
            put("budget", int(self.budget))
            if self.budget < 0:
                raise ValueError("budget must be >= 0 or None")
        put("forward_faulted", bool(self.forward_faulted))
        if self.seed is not None:
            put("seed", int(self.seed))

    def matches(self, method: str, target: str) -> bool:
        return ((self.methods is None or method in self.methods)
                and (self._path_re is None or self._path_re.search(target) is not None))

    def to_json(self) -> dict:
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in dataclasses.asdict(self).items()}


@dataclasses.dataclass(frozen=True)
class _Decision:
    kind: str | None
    delay: float
    status: int = 0
    retry_after: int = 0
    forward_faulted: bool = False


def _zero_counters() -> dict:
    return {"requests": 0, "matched": 0, "faults": dict.fromkeys(KINDS, 0), "upstream_errors": 0}


class FaultProxy(ThreadedServer):
    """A reverse proxy in front of `target` (an http:// base URL) that injects faults.

    Binds at construction (so .url is known, port 0 picks a free one) and serves between
    start() and stop(), or within a with block (serving.ThreadedServer). rewrites maps base
    URLs to replacements in response bodies and Location headers; rewrite_target adds target
    -> this proxy's URL, so a client that follows absolute URLs (an OpenStack catalog, a
    Location) keeps coming back through the proxy. Other keyword arguments are the initial
    Faults.
    """

    def __init__(self, target: str, host: str = "127.0.0.1", port: int = 0,
                 rewrite_target: bool = False, rewrites: dict | None = None,
                 timeout: float = 60.0, **knobs):
        parsed = urllib.parse.urlsplit(target)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"target must be an http:// URL, not {target!r}")
        host = "127.0.0.1" if host == "localhost" else host
        try:
            loopback = ipaddress.IPv4Address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"the proxy listens on IPv4 loopback addresses only, not {host}")
        self.target = target.rstrip("/")
        self.timeout = timeout
        self._upstream = (parsed.hostname, parsed.port or 80)
        self._upstream_host = parsed.netloc
        self._prefix = parsed.path.rstrip("/")
        self._initial = Faults(**knobs)
        self._faults = self._initial
        self._rng = random.Random(self._initial.seed)
        self._counters = _zero_counters()
        self._lock = threading.Lock()
        server = _Server((host, port), _Handler)
        server.proxy = self
        self.serve(server)
        self.thread_name = f"faultproxy {self.url}"
        mapping = dict(rewrites or {})
        if rewrite_target:
            mapping[self.target] = self.url
        self._rewrites = []
        for base, replacement in mapping.items():
            base, replacement = base.rstrip("/"), replacement.rstrip("/")
            # JSON encoders may escape "/" as "\/"; the lookahead keeps :5000 from matching
            # :50001 or /v2 from matching /v2.1.
            for old, new in ((base, replacement),
                             (base.replace("/", "\\/"), replacement.replace("/", "\\/"))):
                self._rewrites.append((re.compile(re.escape(old.encode()) + rb"(?![\w.:-])"),
                                       new.encode()))

    # --- knobs and counters ---

    @property
    def faults(self) -> Faults:
        return self._faults

    def configure(self, **changes) -> Faults:
        """Change some knobs (the others keep their values); a seed given reseeds the draws."""
        unknown = set(changes) - {field.name for field in dataclasses.fields(Faults)}
        if unknown:
            raise ValueError(f"unknown knobs: {sorted(unknown)}")
        with self._lock:
            self._faults = dataclasses.replace(self._faults, **changes)
            if "seed" in changes:
                self._rng.seed(self._faults.seed)
            return self._faults

    def reset(self) -> Faults:
        """Back to the knobs given at construction, reseeded, counters zeroed."""
        with self._lock:
            self._faults = self._initial
            self._rng.seed(self._initial.seed)
            self._counters = _zero_counters()
            return self._faults

    def reset_counters(self) -> None:
        with self._lock:
            self._counters = _zero_counters()

    def counters(self) -> dict:
        """requests seen, matched by path/methods, faults injected per kind, upstream errors."""
        with self._lock:
            return json.loads(json.dumps(self._counters))

    def state(self) -> dict:
        return {"target": self.target, "url": self.url, "faults": self.faults.to_json(),
                "counters": self.counters()}

    # --- used by the handler ---

    def _decide(self, method: str, target: str) -> _Decision:
        # One lock for counters, budget and draws: with sequential clients the same seed gives
        # the same faults.
        with self._lock:
            self._counters["requests"] += 1
            faults = self._faults
            if not faults.matches(method, target):
                return _Decision(None, 0.0)
            self._counters["matched"] += 1
            delay = faults.latency + (self._rng.uniform(0, faults.jitter) if faults.jitter else 0)
            if not faults.rate or faults.budget == 0 or self._rng.random() >= faults.rate:
                return _Decision(None, delay)
            kind = self._rng.choices(list(faults.kinds), weights=list(faults.kinds.values()))[0]
            self._counters["faults"][kind] += 1
            if faults.budget is not None:
                self._faults = dataclasses.replace(faults, budget=faults.budget - 1)
            status = self._rng.choice(faults.statuses) if kind == "error" else 429
            return _Decision(kind, delay, status, faults.retry_after, faults.forward_faulted)

    def _count_upstream_error(self) -> None:
        with self._lock:
            self._counters["upstream_errors"] += 1

    def _rewrite(self, data: bytes) -> bytes:
        for pattern, replacement in self._rewrites:
            data = pattern.sub(replacement, data)
        return data


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: FaultProxy

    def __init__(self, *args):
        self._clients = set()
        self._clients_lock = threading.Lock()
        super().__init__(*args)

    def process_request(self, request, client_address):
        with self._clients_lock:
            self._clients.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._clients_lock:
            self._clients.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        # Clients that hang up are part of the tests (timeouts, their own resets): no traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("%s: %s", client_address, sys.exc_info()[1])
        else:
            super().handle_error(request, client_address)

    def server_close(self):
        # Idle keep-alive connections would otherwise keep their handler threads reading.
        with self._clients_lock:
            clients, self._clients = self._clients, set()
        for client in clients:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        super().server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultproxy"
    # Headers and body go out in separate writes: with Nagle, the second waits for the
    # client's delayed ACK (40 ms a request on Linux).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        log.debug("%s %s", self.address_string(), format % args)

    def _handle(self):
        proxy = self.server.proxy
        if self.path == ADMIN_PATH or self.path.startswith(ADMIN_PATH + "/"):
            self._admin(proxy)
            return
        decision = proxy._decide(self.command, self.path)
        if decision.kind:
            log.info("%s %s: %s", self.command, self.path, decision.kind)
        if decision.delay:
            time.sleep(decision.delay)
        try:
            self._serve(proxy, decision)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

    def _serve(self, proxy, decision):
        if decision.kind == "throttle" or (decision.kind in ("error", "drop")
                                           and not decision.forward_faulted):
            self._drain()
            if decision.kind == "drop":
                self._drop()
            else:
                self._inject(decision)
            return
        try:
            conn, response = self._forward(proxy)
        except (OSError, http.client.HTTPException) as exc:
            proxy._count_upstream_error()
            self.close_connection = True  # the request body may be half read
            self._answer(502, {"error": f"faultproxy: upstream {proxy.target}: {exc}"},
                         [("X-Faultproxy", "upstream-error")])
            return
        try:
            if decision.kind in ("error", "drop"):
                response.read()
                if decision.kind == "drop":
                    self._drop()
                else:
                    self._inject(decision)
            else:
                self._relay(proxy, response, reset=decision.kind == "reset")
        except (OSError, http.client.HTTPException):
            # Upstream failed mid-body: the status line is out, only closing tells the client.
            proxy._count_upstream_error()
            self.close_connection = True
        finally:
            conn.close()

    # --- request side ---

    def _request_body(self):
        """Yield the client's request body in pieces, de-chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0], 16)
                if not size:
                    break
                yield from self._read_exactly(size)
                self.rfile.readline(1024)
            while self.rfile.readline(1024).strip():  # trailers: dropped
                pass
        else:
            yield from self._read_exactly(int(self.headers.get("Content-Length") or 0))

    def _read_exactly(self, size):
        while size:
            data = self.rfile.read(min(size, CHUNK))
            if not data:
                raise ConnectionResetError("client closed in the middle of its request body")
            size -= len(data)
            yield data

    def _drain(self):
        for dummy in self._request_body():
            pass

    def _forward(self, proxy):
        conn = http.client.HTTPConnection(*proxy._upstream, timeout=proxy.timeout)
        conn.putrequest(self.command, proxy._prefix + self.path, skip_host=True,
                        skip_accept_encoding=True)
        drop = HOP_BY_HOP | _connection_tokens(self.headers.get_all("Connection", []))
        if proxy._rewrites:
            drop |= {"accept-encoding"}  # bodies to rewrite must come uncompressed
        for name, value in self.headers.items():
            if name.lower() not in drop:
                conn.putheader(name, value)
        conn.putheader("Host", proxy._upstream_host)
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        elif self.headers.get("Content-Length") is not None:
            conn.putheader("Content-Length", self.headers["Content-Length"])
        conn.endheaders()
        for data in self._request_body():
            conn.send(b"%X\r\n%s\r\n" % (len(data), data) if chunked else data)
        if chunked:
            conn.send(b"0\r\n\r\n")
        return conn, conn.getresponse()

    # --- response side ---

    def _relay(self, proxy, response, reset):
        drop = HOP_BY_HOP | _connection_tokens(response.msg.get_all("Connection", []))
        headers = []
        for name, value in response.getheaders():
            if name.lower() in ("location", "content-location"):
                value = proxy._rewrite(value.encode("latin-1")).decode("latin-1")
            if name.lower() not in drop:
                headers.append((name, value))
        has_body = self.command != "HEAD" and response.status not in (204, 304)
        length = None
        source = response
        if not has_body:
            # HEAD: the upstream's Content-Length describes the GET body; keep it as is.
            headers += [("Content-Length", value) for value in
                        response.msg.get_all("Content-Length", [])[:1]]
        elif (proxy._rewrites and TEXTUAL.search(response.getheader("Content-Type", ""))
              and response.getheader("Content-Encoding", "identity") == "identity"):
            body = proxy._rewrite(response.read())
            source, length = io.BytesIO(body), len(body)
        else:
            length = response.length
        chunked = has_body and length is None and self.request_version >= "HTTP/1.1"
        if has_body and length is not None:
            headers.append(("Content-Length", str(length)))
        elif chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        elif has_body:
            self.close_connection = True  # HTTP/1.0 client, unknown length: close delimits
        self.log_request(response.status)
        self.send_response_only(response.status, response.reason)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if not has_body:
            if reset:
                self._reset()
            return
        if reset:
            self._write(source.read(length // 2) if length is not None else source.read1(CHUNK),
                        chunked)
            self._reset()
            return
        while data := source.read1(CHUNK):
            self._write(data, chunked)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _write(self, data, chunked):
        if data:
            self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data) if chunked else data)

    def _inject(self, decision):
        headers = [("X-Faultproxy", decision.kind)]
        if decision.kind == "throttle":
            headers.append(("Retry-After", str(decision.retry_after)))
        message = f"injected by faultproxy ({decision.kind})"
        if self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256"):
            # An AWS query API (EC2): botocore retries on the error code in an XML body.
            body = ("<?xml version='1.0' encoding='UTF-8'?>\n<Response><Errors><Error><Code>"
                    f"{EC2_CODES.get(decision.status, 'InternalError')}</Code><Message>"
                    f"{message}</Message></Error></Errors><RequestID>faultproxy</RequestID>"
                    "</Response>").encode()
            self._answer(decision.status, body, headers, "text/xml")
        else:
            self._answer(decision.status, {"error": {"code": decision.status,
                                                     "message": message}}, headers)

    def _answer(self, status, body, headers=(), content_type="application/json"):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drop(self):
        # FIN without a byte of answer: the client sees the server close the connection.
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _reset(self):
        # SO_LINGER 0 turns close() into an RST: the client sees "connection reset by peer".
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    # --- admin ---

    def _admin(self, proxy):
        body = b"".join(self._request_body())
        sub = self.path[len(ADMIN_PATH):].rstrip("/")
        try:
            if sub == "" and self.command == "GET":
                pass
            elif sub == "" and self.command in ("POST", "PUT", "PATCH"):
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("expected a JSON object of knobs")
                proxy.configure(**changes)
            elif sub == "" and self.command == "DELETE":
                proxy.reset()
            elif sub == "/counters" and self.command == "DELETE":
                proxy.reset_counters()
            else:
                self._answer(404, {"error": f"no admin action {self.command} {self.path}"})
                return
        except (ValueError, TypeError) as exc:
            self._answer(400, {"error": str(exc)})
            return
        self._answer(200, proxy.state())


def _connection_tokens(values) -> set:
    return {token.strip().lower() for value in values for token in value.split(",")}
