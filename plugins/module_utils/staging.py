# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# Apache License 2.0 (see LICENSE)
"""Data staging: copy a job's input files in and its results out.

``stage_in(url, dest_path)`` downloads, ``stage_out(src_path, url)`` uploads; the URL scheme picks
the store: http(s), s3 (boto3), swift (its REST API through requests) or file. Both stream in
chunks, retry transient failures with jittered exponential backoff and raise StagingError.

Messages are built only from fixed phrases, HTTP status codes, local paths and ``redact(url)``:
never from a library's exception text or a server's reply, which can echo a URL's query string or
a header. That is how no credential reaches an error, a log line or a return value.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import secrets
import socket
import time
from http import HTTPStatus
from urllib.parse import quote, unquote, urlsplit, urlunsplit

DEFAULT_TIMEOUT = 30
DEFAULT_RETRIES = 3
CHUNK = 1024 * 1024
BACKOFF_BASE = 0.5
BACKOFF_MAX = 30.0
# S3 multipart: the parts go up CONCURRENCY at a time, each read from the file as it is sent
# (see _S3.write_from), so memory does not grow with the part size.
S3_PART_SIZE = 8 * 1024 * 1024
S3_CONCURRENCY = 4

LOG = logging.getLogger(__name__)
# A library's logger: without this, a process that configured no logging would get the retry
# warnings on stderr through logging.lastResort.
LOG.addHandler(logging.NullHandler())


class StagingError(Exception):
    """A transfer that failed; ``str()`` names the redacted URL and the reason.

    ``transient`` is true when the last failure was of a kind that a later try may get past
    (5xx, 429, a refused or broken connection, a timeout) and the retries ran out.
    """

    def __init__(self, message, url=None, reason=None, status=None, transient=False,
                 attempts=0):
        super().__init__(message)
        self.url = url
        self.reason = reason
        self.status = status
        self.transient = transient
        self.attempts = attempts


class _Failure(Exception):
    """One failed attempt, before the retry loop decides; never leaves this module."""

    def __init__(self, reason, status=None, transient=False, unreached=False,
                 retry_after=None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.transient = transient
        # Nothing reached a server (refused, unresolved, connect timeout): a restarting
        # server is worth a few tries, a missing one is not, so these retries stop once
        # `timeout` seconds have gone by.
        self.unreached = unreached
        self.retry_after = retry_after


def redact(url):
    """``url`` without userinfo, fragment or query values, safe for messages and logs."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "<invalid URL>"
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(
        name + "=***" if sep else "***"
        for name, sep, _value in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def stage_in(url, dest_path, credentials=None, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES):
    """Download ``url`` to the file ``dest_path``; return the number of bytes written.

    Parent directories are created. The data goes to a temporary file beside ``dest_path``
    that is renamed over it only when complete, so a failed or partial download leaves
    ``dest_path`` as it was.
    """
    _check_limits(timeout, retries)
    dest = os.path.abspath(os.fspath(dest_path))
    what = "stage in %s to %s" % (redact(url), dest)
    store = _store(url, credentials, timeout, what)
    if os.path.isdir(dest):
        raise _error(what, url, _Failure("the destination is a directory"))
    try:
        with _PartFile(dest) as part:
            size = _retrying(lambda: store.read_into(part.fresh()), url, what, timeout, retries)
            part.commit()
    except OSError as exc:
        raise _error(what, url, _Failure(_local_reason(exc, dest))) from None
    LOG.debug("staged in %s to %s (%d bytes)", redact(url), dest, size)
    return size


def stage_out(src_path, url, credentials=None, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES):
    """Upload the file ``src_path`` to ``url``; return the number of bytes sent."""
    _check_limits(timeout, retries)
    src = os.path.abspath(os.fspath(src_path))
    what = "stage out %s to %s" % (src, redact(url))
    store = _store(url, credentials, timeout, what)
    if not os.path.isfile(src):
        reason = "not a regular file" if os.path.exists(src) else "no such file"
        raise _error(what, url, _Failure(reason))
    size = _retrying(lambda: store.write_from(src), url, what, timeout, retries)
    LOG.debug("staged out %s to %s (%d bytes)", src, redact(url), size)
    return size


def _check_limits(timeout, retries):
    if not timeout or timeout <= 0:
        raise ValueError("timeout must be a positive number of seconds")
    if retries < 0:
        raise ValueError("retries must be 0 or more")


def _error(what, url, failure, attempts=1):
    message = "Cannot %s: %s" % (what, failure.reason)
    if attempts > 1:
        message += " (after %d attempts)" % attempts
    return StagingError(message, redact(url), failure.reason, failure.status,
                        failure.transient, attempts)


def _backoff(retry, retry_after=None):
    """Seconds to wait before retry number ``retry`` (1, 2, ...): "equal jitter"."""
    ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (retry - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after:
        delay = max(delay, min(retry_after, BACKOFF_MAX))
    return delay


def _retrying(attempt, url, what, timeout, retries):
    started = time.monotonic()
    tries = 0
    while True:
        tries += 1
        tried = time.monotonic()
        try:
            return attempt()
        except _Failure as failure:
            if not failure.transient or tries > retries:
                raise _error(what, url, failure, tries) from None
            delay = _backoff(tries, failure.retry_after)
            now = time.monotonic()
            # Would the next try, if it lasts as long as this one, end past the timeout?
            if failure.unreached and now - started + delay + (now - tried) > timeout:
                raise _error(what, url, failure, tries) from None
            LOG.warning("%s: %s; retry %d of %d in %.1f s", what, failure.reason, tries, retries,
                        delay)
            time.sleep(delay)


SCHEMES = ("http", "https", "s3", "swift", "file")


def scheme_of(url):
    return str(url).partition("://")[0].lower() if "://" in str(url) else ""


def _store(url, credentials, timeout, what):
    scheme = scheme_of(url)
    stores = {"http": _Http, "https": _Http, "s3": _S3, "swift": _Swift, "file": _File}
    if scheme not in stores:
        reason = "unsupported scheme %r" % scheme if scheme else "not a URL"
        if scheme == "onedata":
            reason += " (OneData is not supported yet)"
        raise _error(what, url, _Failure(reason + "; use http, https, s3, swift or file"))
    try:
        return stores[scheme](str(url), dict(credentials or {}), timeout)
    except _Failure as failure:
        raise _error(what, url, failure) from None
    except ValueError:  # urlsplit of a malformed URL
        raise _error(what, url, _Failure("invalid URL")) from None


def _credential_shape(credentials, scheme, shapes, optional=()):
    """The shape (a tuple of key names) that ``credentials`` matches, else a _Failure."""
    given = {name for name, value in credentials.items() if value is not None}
    for shape in shapes:
        if given - set(optional) == set(shape):
            return shape
    wanted = " or ".join("{%s}" % ", ".join(shape) if shape else "none" for shape in shapes)
    if optional:
        wanted += ", optionally with %s" % ", ".join(optional)
    # Key names only: the values are secrets.
    raise _Failure("credentials for %s:// must be %s, not {%s}"
                   % (scheme, wanted, ", ".join(sorted(given))))


def _object_path(url, scheme):
    """``container/object`` of an s3:// or swift:// URL, taken literally (no %-decoding)."""
    rest = url.split("://", 1)[1]
    container, _sep, name = rest.partition("/")
    if not container or not name or name.endswith("/"):
        raise _Failure("a %s:// URL must name a %s and an object: %s://%s/OBJECT"
                       % (scheme, "bucket" if scheme == "s3" else "container", scheme,
                          "BUCKET" if scheme == "s3" else "CONTAINER"))
    return container, name


class _PartFile:
    """A temporary file beside ``dest``, renamed over it by commit() and removed otherwise."""

    def __init__(self, dest):
        self.dest = dest
        self.handle = None
        self.path = None

    def __enter__(self):
        folder, name = os.path.split(self.dest)
        os.makedirs(folder, exist_ok=True)
        while True:
            self.path = os.path.join(folder, ".%s.%s.part" % (name, secrets.token_hex(4)))
            try:
                # 0o666 and not mkstemp's 0o600: the file gets the mode the umask gives.
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            self.handle = os.fdopen(fd, "wb")
            return self

    def fresh(self):
        """The handle, emptied: each attempt starts again from byte 0."""
        self.handle.seek(0)
        self.handle.truncate()
        return self.handle

    def commit(self):
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.path, self.dest)
        self.path = None

    def __exit__(self, *exc_info):
        if not self.handle.closed:
            self.handle.close()
        if self.path:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


def _local_reason(exc, path):
    known = {errno.ENOENT: "no such file", errno.EISDIR: "is a directory",
             errno.EACCES: "permission denied", errno.ENOSPC: "no space left"}
    return "cannot use %s: %s" % (exc.filename or path,
                                  known.get(exc.errno) or exc.strerror or type(exc).__name__)


def _copy(chunks, handle):
    size = 0
    for chunk in chunks:
        handle.write(chunk)
        size += len(chunk)
    return size


# ---- file://


class _File:
    def __init__(self, url, credentials, timeout):
        _credential_shape(credentials, "file", [()])
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise _Failure("a file:// URL must name an absolute local path: file:///PATH")
        self.path = unquote(parts.path)

    def read_into(self, handle):
        try:
            source = open(self.path, "rb")
        except OSError as exc:
            raise _Failure(_local_reason(exc, self.path)) from None
        with source:
            return _copy(iter(lambda: source.read(CHUNK), b""), handle)

    def write_from(self, src):
        try:
            with _PartFile(self.path) as part, open(src, "rb") as source:
                size = _copy(iter(lambda: source.read(CHUNK), b""), part.fresh())
                part.commit()
        except OSError as exc:
            raise _Failure(_local_reason(exc, self.path)) from None
        return size


# ---- http(s), and the HTTP plumbing that swift:// shares


# Statuses that call for a fix on the caller's side; others get the standard phrase.
_STATUS_REASONS = {401: "authentication failed", 403: "access denied", 404: "not found",
                   413: "too large for the server"}


def _status_failure(response, not_found=None):
    status = response.status_code
    if status == 404 and not_found:
        reason = not_found
    else:
        try:
            reason = _STATUS_REASONS.get(status) or HTTPStatus(status).phrase
        except ValueError:
            reason = "unexpected reply"
    retry_after = response.headers.get("Retry-After", "")
    return _Failure(
        "%s (HTTP %d)" % (reason, status), status=status,
        transient=status == 429 or status >= 500,
        retry_after=int(retry_after) if retry_after.isdigit() else None,
    )


def _causes(exc):
    """``exc`` and what it wraps: requests, urllib3 and botocore each nest differently."""
    seen, pending = [], [exc]
    while pending and len(seen) < 20:
        current = pending.pop()
        if not isinstance(current, BaseException) or any(current is known for known in seen):
            continue
        seen.append(current)
        pending.extend(current.args)
        pending.extend((getattr(current, "reason", None), current.__cause__, current.__context__))
        kwargs = getattr(current, "kwargs", None)  # botocore keeps the urllib3 error there
        if isinstance(kwargs, dict):
            pending.append(kwargs.get("error"))
    return seen


def _connection_failure(exc, connect_errors):
    """A _Failure for a socket-level error; ``connect_errors``: the types that mean no
    connection was made (as opposed to one broken later)."""
    causes = _causes(exc)

    def has(*types):
        return any(isinstance(cause, types) for cause in causes)

    if has(ConnectionRefusedError):
        return _Failure("connection refused", transient=True, unreached=True)
    if has(socket.gaierror):
        return _Failure("host name not resolved", transient=True, unreached=True)
    if has(*connect_errors):
        return _Failure("cannot connect", transient=True, unreached=True)
    if has(socket.timeout):
        return _Failure("timed out during the transfer", transient=True)
    return _Failure("connection broken during the transfer", transient=True)


def _requests_failure(exc):
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.exceptions.SSLError):
        return _Failure("TLS error (certificate not trusted, or handshake failed)")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return _Failure("connection timed out", transient=True, unreached=True)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return _Failure("timed out waiting for the server", transient=True)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return _connection_failure(exc, (NewConnectionError,))
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return _Failure("connection broken during the transfer", transient=True)
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader)):
        return _Failure("invalid URL or header")
    return _Failure("request failed (%s)" % type(exc).__name__)


def _requests():
    try:
        import requests
    except ImportError:
        raise _Failure("the Python library 'requests' is not installed") from None
    return requests


def _call(method, url, timeout, not_found=None, **kwargs):
    """One HTTP request; a 2xx response (to be closed by the caller) or a _Failure."""
    requests = _requests()
    try:
        response = requests.request(method, url, timeout=(timeout, timeout), **kwargs)
    except requests.exceptions.RequestException as exc:
        raise _requests_failure(exc) from None
    if response.status_code >= 300:
        response.close()
        raise _status_failure(response, not_found)
    return response


def _download(url, handle, timeout, not_found=None, **kwargs):
    requests = _requests()
    with _call("GET", url, timeout, not_found, stream=True, **kwargs) as response:
        try:
            return _copy(response.iter_content(CHUNK), handle)
        except requests.exceptions.RequestException as exc:
            raise _requests_failure(exc) from None


def _upload(url, src, timeout, not_found=None, headers=None, **kwargs):
    headers = dict(headers or {}, **{"Content-Type": "application/octet-stream"})
    size = os.path.getsize(src)
    with open(src, "rb") as body:
        # A file object is streamed with Content-Length from fstat; requests would send an
        # empty one chunked, which not every server takes.
        _call("PUT", url, timeout, not_found, data=body if size else b"", headers=headers,
              **kwargs).close()
    return size


class _Http:
    def __init__(self, url, credentials, timeout):
        self.url = url
        self.timeout = timeout
        self.auth = None
        self.headers = {}
        shape = _credential_shape(credentials, "http", [(), ("username", "password"), ("token",)])
        if shape == ("token",):
            self.headers["Authorization"] = "Bearer %s" % credentials["token"]
        elif shape:
            self.auth = (credentials["username"], credentials["password"])

    def read_into(self, handle):
        # identity: the bytes as stored, as curl and wget save them, not decompressed.
        return _download(self.url, handle, self.timeout, auth=self.auth,
                         headers=dict(self.headers, **{"Accept-Encoding": "identity"}))

    def write_from(self, src):
        return _upload(self.url, src, self.timeout, auth=self.auth, headers=self.headers)


# ---- swift://container/object


class _Swift:
    """Swift's REST API: v1 (tempauth/swauth) auth, or a storage URL and token given."""

    def __init__(self, url, credentials, timeout):
        self.timeout = timeout
        self.credentials = credentials
        self.container, self.name = _object_path(url, "swift")
        self.shape = _credential_shape(credentials, "swift",
                                       [("auth_url", "user", "key"), ("storage_url", "token")])

    def _login(self):
        """(container URL, token headers); the v1 auth exchange when given a user and key."""
        if self.shape == ("storage_url", "token"):
            storage, token = self.credentials["storage_url"], self.credentials["token"]
        else:
            reply = _call("GET", self.credentials["auth_url"], self.timeout,
                          headers={"X-Auth-User": self.credentials["user"],
                                   "X-Auth-Key": self.credentials["key"]})
            reply.close()
            storage = reply.headers.get("X-Storage-Url")
            token = reply.headers.get("X-Auth-Token")
            if not storage or not token:
                raise _Failure("authentication failed (no storage URL or token in the reply)")
        return storage.rstrip("/") + "/" + quote(self.container, safe=""), {"X-Auth-Token": token}

    def read_into(self, handle):
        container, headers = self._login()
        return _download(container + "/" + quote(self.name), handle, self.timeout,
                         not_found="no such container or object", headers=headers)

    def write_from(self, src):
        container, headers = self._login()
        try:
            _call("HEAD", container, self.timeout, headers=headers).close()
        except _Failure as failure:
            # 403 and the like: a user may write to a container it may not inspect.
            if failure.status != 404:
                raise
            _call("PUT", container, self.timeout, headers=headers).close()
        return _upload(container + "/" + quote(self.name), src, self.timeout,
                       not_found="no such container", headers=headers)


# ---- s3://bucket/key


_S3_REASONS = {
    "NoSuchBucket": "no such bucket",
    "NoSuchKey": "no such key",
    "InvalidAccessKeyId": "authentication failed",
    "SignatureDoesNotMatch": "authentication failed",
    "InvalidToken": "authentication failed",
    "ExpiredToken": "authentication failed",
    "AccessDenied": "access denied",
    "EntityTooLarge": "too large for the server",
}
_S3_TRANSIENT = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout",
                 "InternalError", "ServiceUnavailable"}


def _botocore_failure(exc):
    from botocore import exceptions as bce

    if isinstance(exc, bce.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        reason = _S3_REASONS.get(code) or ("no such key" if status == 404 else None)
        reason = "%s (%s, HTTP %d)" % (reason or "S3 error", code or "no code", status)
        return _Failure(reason, status=status,
                        transient=code in _S3_TRANSIENT or status == 429 or status >= 500)
    if isinstance(exc, (bce.NoCredentialsError, bce.PartialCredentialsError)):
        return _Failure("no S3 credentials (give access_key and secret_key)")
    if isinstance(exc, bce.SSLError):
        return _Failure("TLS error (certificate not trusted, or handshake failed)")
    if isinstance(exc, bce.ConnectTimeoutError):
        return _Failure("connection timed out", transient=True, unreached=True)
    if isinstance(exc, bce.ReadTimeoutError):
        return _Failure("timed out waiting for the server", transient=True)
    if isinstance(exc, (bce.ConnectionError, bce.HTTPClientError, bce.IncompleteReadError,
                        bce.ResponseStreamingError)):
        return _connection_failure(exc, (bce.EndpointConnectionError, bce.ProxyConnectionError))
    if isinstance(exc, bce.ParamValidationError):
        return _Failure("invalid bucket or key name")
    return _Failure("S3 client error (%s)" % type(exc).__name__)


class _S3:
    def __init__(self, url, credentials, timeout):
        self.bucket, self.key = _object_path(url, "s3")
        # No keys: boto3's own chain (environment, ~/.aws, instance role).
        _credential_shape(credentials, "s3",
                          [(), ("access_key", "secret_key"),
                           ("access_key", "secret_key", "session_token")],
                          optional=("endpoint_url", "region"))
        try:
            import boto3
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError
            from s3transfer.manager import TransferConfig
        except ImportError:
            raise _Failure("the Python library 'boto3' is not installed") from None
        endpoint = credentials.get("endpoint_url")
        config = Config(
            connect_timeout=timeout, read_timeout=timeout,
            # One attempt per call: _retrying owns retries, so that every scheme counts and
            # bounds them the same way.
            retries={"total_max_attempts": 1, "mode": "standard"},
            # Non-AWS endpoints (Swift s3api, Ceph, MinIO) rarely do virtual-host buckets.
            s3={"addressing_style": "path"} if endpoint else {},
        )
        self.transfer = TransferConfig(multipart_threshold=S3_PART_SIZE,
                                       multipart_chunksize=S3_PART_SIZE,
                                       max_request_concurrency=S3_CONCURRENCY)
        try:
            self.client = boto3.session.Session().client(
                "s3", endpoint_url=endpoint,
                region_name=credentials.get("region") or ("us-east-1" if endpoint else None),
                aws_access_key_id=credentials.get("access_key"),
                aws_secret_access_key=credentials.get("secret_key"),
                aws_session_token=credentials.get("session_token"), config=config)
        except (BotoCoreError, ValueError) as exc:
            raise _Failure("cannot make an S3 client (%s): check endpoint_url and region"
                           % type(exc).__name__) from None

    def read_into(self, handle):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key)["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise _botocore_failure(exc) from None
        try:
            return _copy(body.iter_chunks(CHUNK), handle)
        except (BotoCoreError, ClientError) as exc:
            raise _botocore_failure(exc) from None
        finally:
            body.close()

    def write_from(self, src):
        from botocore.exceptions import BotoCoreError, ClientError
        from s3transfer.manager import TransferManager

        try:
            # A file name, not a file object: s3transfer then reads each part from the file
            # as it is sent instead of loading it into memory. Parts of a failed multipart
            # upload are aborted by s3transfer.
            with TransferManager(self.client, self.transfer) as manager:
                manager.upload(src, self.bucket, self.key).result()
        except (BotoCoreError, ClientError) as exc:
            raise _botocore_failure(exc) from None
        return os.path.getsize(src)
