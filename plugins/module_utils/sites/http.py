# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON over HTTP for the REST sources (CMDB, SLAM, monitoring, Onezone).

Messages are built from fixed phrases, the source's label, its redacted base URL, the request
path and the HTTP status: never from a library's exception text, a server's reply or the request
headers, so a token cannot reach an error or a log line.
"""

from __future__ import annotations

import random
import socket
import ssl
import time
from http import HTTPStatus
from urllib.parse import quote

from ansible_collections.paas.orchestrator.plugins.module_utils.sites.errors import (
    SourceError,
    SourceUnreachable,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.staging import redact

try:
    import requests
except ImportError:  # reported when a REST source is used
    requests = None

DEFAULT_TIMEOUT = 10
# A service behind a proxy that is restarting or overloaded: worth a few quick tries.
TRANSIENT_STATUS = (429, 502, 503, 504)
RETRIES = 2
BACKOFF_BASE = 0.2
BACKOFF_MAX = 2.0
# Still a down service after the retries: the on_unreachable policy applies.
UNREACHABLE_STATUS = (502, 503, 504)


def segment(value):
    """``value`` as one URL path segment (an id with a slash stays one segment)."""
    return quote(str(value), safe="")


def _status_text(status):
    try:
        return "%d %s" % (status, HTTPStatus(status).phrase)
    except ValueError:
        return str(status)


def _connect_reason(exc, timeout):
    """A fixed phrase for a request that got no HTTP answer."""
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "no connection within %ss" % timeout
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer within %ss" % timeout
    seen = set()
    cause = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(cause, ssl.SSLError):
            return "the TLS handshake failed"
        cause = cause.__cause__ or cause.__context__
    return "the connection failed"


class RestSource:
    """One REST service: a base URL, its credential header, a timeout and TLS verification.

    ``source`` is the ``sources`` key (for errors), ``label`` the service's name in messages.
    ``headers`` hold the credential; they are sent and never shown.
    """

    def __init__(self, source, label, url, headers=None, timeout=DEFAULT_TIMEOUT, verify=True,
                 session=None):
        if requests is None:
            raise SourceError("%s: the Python library 'requests' is not installed" % label,
                              source=source)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            shown = redact(url) if isinstance(url, str) else type(url).__name__
            raise SourceError("%s: the URL must be http(s)://..., got %s" % (label, shown),
                              source=source)
        self.source = source
        self.label = label
        self.url = url.rstrip("/")
        self.shown_url = redact(self.url)
        self._headers = dict(headers or {})
        self.timeout = timeout
        self.verify = verify
        self._session = session or requests.Session()

    def with_headers(self, headers):
        """The same service with another credential (Onezone: the OneData token)."""
        return RestSource(self.source, self.label, self.url, headers, self.timeout, self.verify,
                          self._session)

    def error(self, message, status=None, unreachable=False):
        kind = SourceUnreachable if unreachable else SourceError
        return kind("%s at %s: %s" % (self.label, self.shown_url, message),
                    source=self.source, url=self.shown_url, status=status)

    def get(self, path):
        return self.request("GET", path)

    def request(self, method, path):
        """The decoded JSON answer to ``method path``; raise SourceError naming the call.

        An HTTP error answer raises a SourceError with ``status`` (so a caller can tell 404 from
        500); no usable answer at all raises SourceUnreachable.
        """
        what = "%s %s" % (method, path)
        attempt = 0
        while True:
            try:
                response = self._session.request(
                    method, self.url + path, headers=self._headers,
                    timeout=(self.timeout, self.timeout), verify=self.verify,
                    allow_redirects=False)
            except requests.exceptions.ConnectionError as exc:
                reason = _connect_reason(exc, self.timeout)
                # A connection that never opened (refused, unresolved, TLS, connect timeout) is
                # final at once, so a closed port fails fast; one dropped mid-answer is retried.
                if reason != "the connection failed" or attempt >= RETRIES:
                    raise self.error("%s: %s" % (what, reason), unreachable=True) from None
            except requests.exceptions.Timeout:
                raise self.error("%s: no answer within %ss" % (what, self.timeout),
                                 unreachable=True) from None
            except requests.exceptions.RequestException:
                raise self.error("%s: the request could not be sent" % what) from None
            else:
                status = response.status_code
                if status not in TRANSIENT_STATUS or attempt >= RETRIES:
                    break
                response.close()
            delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** attempt)
            attempt += 1
            time.sleep(delay * random.uniform(0.5, 1.0))
        if status >= 400 or status < 200:
            raise self.error("%s: answered %s" % (what, _status_text(status)), status=status,
                             unreachable=status in UNREACHABLE_STATUS)
        if status >= 300:
            raise self.error("%s: answered %s (redirects are not followed)"
                             % (what, _status_text(status)), status=status)
        try:
            return response.json()
        except ValueError:
            raise self.error("%s: the answer is not JSON" % what) from None
