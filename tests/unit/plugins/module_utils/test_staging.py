# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# Apache License 2.0 (see LICENSE)
"""staging against real servers: a local HTTP(S) server, and Swift SAIO with s3api
(tests/tooling/swift.sh) for swift:// and s3://. Nothing is mocked."""

from __future__ import annotations

import filecmp
import logging
import os
import threading
import time
import tracemalloc

import pytest
import requests

from ansible_collections.paas.orchestrator.plugins.module_utils.staging import (
    StagingError,
    redact,
    stage_in,
    stage_out,
)
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.staging_fixtures import (
    BIG,
    StoreServer,
    load_swift_service,
)

SECRET = "Zq8-distinctive-SECRET-7Kp"
# The retry loop stops when the next try would end past the timeout, guessing that try lasts as
# long as the last one; on a busy machine (pytest -n auto) it may run a little longer.
SLACK = 0.3


def _leftovers(folder):
    return [name for name in os.listdir(folder) if name.endswith(".part")]


def _peak_memory(call):
    """(result, peak bytes allocated by Python objects while ``call`` ran)."""
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _round_trip(tmp_path, url, big_file, credentials=None):
    """stage_out then stage_in of BIG bytes: equal, and streamed.

    Streamed means the peak memory of a BIG transfer stays well under BIG above that of a
    1 kB one; the fixed cost (boto3 loads ~12 MB of service model per client) cancels out.
    S3 uploads measure 3-5 MB more (4 parts in flight, each hashed in 1 MB blocks), the others
    about 2 MB.
    """
    small = tmp_path / "small.bin"
    small.write_bytes(os.urandom(1000))
    back = tmp_path / "back" / "file.bin"
    peaks = {}
    for source in (str(small), str(small), big_file):  # the first run warms up imports
        up, peaks[source, "out"] = _peak_memory(lambda: stage_out(source, url, credentials))
        down, peaks[source, "in"] = _peak_memory(lambda: stage_in(url, str(back), credentials))
        assert up == down == os.path.getsize(source)
        assert filecmp.cmp(source, str(back), shallow=False)
    for direction in ("out", "in"):
        assert peaks[big_file, direction] - peaks[str(small), direction] < BIG / 2, direction
    assert not _leftovers(str(back.parent))


def _assert_secret_kept(excinfo, caplog):
    assert SECRET not in str(excinfo.value)
    assert SECRET not in repr(excinfo.value.__dict__)
    assert SECRET not in caplog.text


# ---- redact, URL and argument checks


@pytest.mark.parametrize("url, expected", [
    ("https://user:pw@example.org/a/b?X-Amz-Signature=abc&token=t#frag",
     "https://example.org/a/b?X-Amz-Signature=***&token=***"),
    ("http://example.org:8080/plain", "http://example.org:8080/plain"),
    ("http://example.org/x?bare", "http://example.org/x?***"),
    ("s3://bucket/key", "s3://bucket/key"),
    ("swift://u:p@c/o", "swift://c/o"),
    ("/local/path", "/local/path"),
])
def test_redact(url, expected):
    assert redact(url) == expected


@pytest.mark.parametrize("url, reason", [
    ("onedata://space/file", "unsupported scheme 'onedata' (OneData is not supported yet)"),
    ("ftp://example.org/file", "unsupported scheme 'ftp'"),
    ("relative/path", "not a URL"),
    ("s3://bucket-only", "must name a bucket and an object"),
    ("swift://container/", "must name a container and an object"),
    ("file://host/abs", "absolute local path"),
])
def test_bad_urls_fail_before_any_transfer(tmp_path, url, reason):
    with pytest.raises(StagingError) as excinfo:
        stage_in(url, str(tmp_path / "x"))
    assert reason in str(excinfo.value)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("url, credentials", [
    ("http://127.0.0.1:9/x", {"username": "u"}),
    ("http://127.0.0.1:9/x", {"token": SECRET, "password": SECRET}),
    ("swift://c/o", {"auth_url": "http://127.0.0.1:9/auth/v1.0", "token": SECRET}),
    ("swift://c/o", None),
    ("s3://b/k", {"secret_key": SECRET}),
    ("file:///tmp/x", {"token": SECRET}),
])
def test_credential_shape_is_checked_and_values_never_shown(tmp_path, url, credentials):
    with pytest.raises(StagingError, match="credentials for") as excinfo:
        stage_in(url, str(tmp_path / "x"), credentials)
    assert SECRET not in str(excinfo.value)
    assert excinfo.value.attempts == 1


def test_limits_are_checked(tmp_path):
    with pytest.raises(ValueError):
        stage_in("file:///etc/hostname", str(tmp_path / "x"), timeout=0)
    with pytest.raises(ValueError):
        stage_in("file:///etc/hostname", str(tmp_path / "x"), retries=-1)


def test_missing_services_json_fails_with_the_fix(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="tests/tooling/swift.sh"):
        load_swift_service(str(tmp_path / "missing.json"))


# ---- file://


def test_file_round_trip_creates_parents(tmp_path, big_file):
    out = tmp_path / "results" / "deep" / "out.bin"
    _round_trip(tmp_path, "file://" + str(out), big_file)
    assert not _leftovers(str(out.parent))


def test_file_errors(tmp_path):
    with pytest.raises(StagingError, match="no such file"):
        stage_in("file://" + str(tmp_path / "absent"), str(tmp_path / "x"))
    assert not os.path.exists(tmp_path / "x")
    with pytest.raises(StagingError, match="no such file"):
        stage_out(str(tmp_path / "absent"), "file://" + str(tmp_path / "y"))
    with pytest.raises(StagingError, match="destination is a directory"):
        stage_in("file:///etc/hostname", str(tmp_path))


def test_empty_file(tmp_path, http_store):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert stage_out(str(empty), http_store.url("e")) == 0
    assert stage_in(http_store.url("e"), str(tmp_path / "back")) == 0
    assert (tmp_path / "back").read_bytes() == b""


# ---- http(s)


def test_http_round_trip_streams(tmp_path, http_store, big_file):
    _round_trip(tmp_path, http_store.url("jobs/1/input.bin"), big_file)
    assert http_store.seen[:2] == [("PUT", "/jobs/1/input.bin"), ("GET", "/jobs/1/input.bin")]


def test_https_needs_a_trusted_certificate(tmp_path, https_store, monkeypatch):
    (tmp_path / "served" / "f").write_bytes(b"over tls")
    started = time.monotonic()
    with pytest.raises(StagingError, match="TLS error") as excinfo:
        stage_in(https_store.url("f"), str(tmp_path / "out"))
    assert excinfo.value.attempts == 1 and time.monotonic() - started < 5
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", https_store.ca_file)
    assert stage_in(https_store.url("f"), str(tmp_path / "out")) == 8
    assert (tmp_path / "out").read_bytes() == b"over tls"


def test_http_basic_auth(tmp_path, http_store, caplog):
    caplog.set_level(logging.DEBUG)
    http_store.require_basic("alice", SECRET)
    (tmp_path / "served" / "f").write_bytes(b"data")
    assert stage_in(http_store.url("f"), str(tmp_path / "ok"),
                    {"username": "alice", "password": SECRET}) == 4
    with pytest.raises(StagingError) as excinfo:
        stage_in(http_store.url("f"), str(tmp_path / "no"),
                 {"username": "alice", "password": SECRET + "-wrong"})
    assert "authentication failed (HTTP 401)" in str(excinfo.value)
    assert excinfo.value.status == 401 and excinfo.value.attempts == 1
    assert not os.path.exists(tmp_path / "no")
    _assert_secret_kept(excinfo, caplog)


def test_http_credentials_in_the_url_are_redacted(tmp_path, http_store, caplog):
    caplog.set_level(logging.DEBUG)
    http_store.require_basic("alice", SECRET)
    (tmp_path / "served" / "f").write_bytes(b"data")
    url = http_store.url("f").replace("://", "://alice:%s@" % SECRET)
    assert stage_in(url, str(tmp_path / "ok")) == 4
    with pytest.raises(StagingError, match="authentication failed") as excinfo:
        stage_in(url.replace(SECRET, SECRET + "x"), str(tmp_path / "no"))
    _assert_secret_kept(excinfo, caplog)


def test_http_bearer_token_and_query_secret(tmp_path, http_store, caplog):
    caplog.set_level(logging.DEBUG, logger="ansible_collections")
    http_store.require_bearer(SECRET)
    (tmp_path / "served" / "f").write_bytes(b"data")
    assert stage_out(str(tmp_path / "served" / "f"), http_store.url("g"), {"token": SECRET}) == 4
    with pytest.raises(StagingError, match="not found") as excinfo:
        stage_in(http_store.url("missing?sig=" + SECRET), str(tmp_path / "no"),
                 {"token": SECRET})
    assert excinfo.value.url == http_store.url("missing?sig=***")
    _assert_secret_kept(excinfo, caplog)


def test_http_503_is_retried_with_backoff(tmp_path, http_store, caplog):
    (tmp_path / "served" / "f").write_bytes(b"data")
    http_store.faults["/f"] = {"status": 503, "times": 2}
    started = time.monotonic()
    assert stage_in(http_store.url("f"), str(tmp_path / "out"), retries=3) == 4
    # Two waits of 0.25-0.5 s and 0.5-1 s ("equal jitter").
    assert 0.75 <= time.monotonic() - started < 3
    assert len(http_store.seen) == 3
    assert caplog.text.count("HTTP 503") == 2


def test_http_retries_run_out(tmp_path, http_store):
    http_store.faults["/up"] = {"status": 429, "times": 10}
    (tmp_path / "f").write_bytes(b"data")
    with pytest.raises(StagingError) as excinfo:
        stage_out(str(tmp_path / "f"), http_store.url("up"), retries=2)
    error = excinfo.value
    assert "Too Many Requests (HTTP 429) (after 3 attempts)" in str(error)
    assert error.transient and error.status == 429 and len(http_store.seen) == 3


def test_http_retry_after_is_honoured(tmp_path, http_store):
    (tmp_path / "served" / "f").write_bytes(b"data")
    http_store.faults["/f"] = {"status": 503, "times": 1, "headers": {"Retry-After": "1"}}
    started = time.monotonic()
    stage_in(http_store.url("f"), str(tmp_path / "out"))
    # Without Retry-After the first wait would be 0.25-0.5 s.
    assert time.monotonic() - started >= 1


def test_http_404_fails_at_once_and_keeps_the_old_file(tmp_path, http_store):
    dest = tmp_path / "out"
    dest.write_bytes(b"previous")
    with pytest.raises(StagingError, match=r"not found \(HTTP 404\)") as excinfo:
        stage_in(http_store.url("absent"), str(dest))
    assert not excinfo.value.transient and len(http_store.seen) == 1
    assert dest.read_bytes() == b"previous" and not _leftovers(str(tmp_path))


def test_partial_download_leaves_no_file(tmp_path, http_store, big_file):
    os.link(big_file, str(tmp_path / "served" / "big"))
    http_store.cut.add("/big")
    dest = tmp_path / "in" / "big"
    with pytest.raises(StagingError, match="connection broken during the transfer") as excinfo:
        stage_in(http_store.url("big"), str(dest), retries=1)
    assert excinfo.value.transient and excinfo.value.attempts == 2
    assert not os.path.exists(dest) and not _leftovers(str(tmp_path / "in"))
    http_store.cut.clear()
    assert stage_in(http_store.url("big"), str(dest)) == BIG


def test_broken_upload_is_retried(http_store, big_file):
    http_store.cut.add("/big")
    with pytest.raises(StagingError, match="connection broken during the transfer") as excinfo:
        stage_out(big_file, http_store.url("big"), retries=1)
    assert excinfo.value.transient and excinfo.value.attempts == 2
    assert http_store.seen == [("PUT", "/big")] * 2
    assert not os.path.exists(os.path.join(http_store.root, "big"))


def test_slow_server_times_out(tmp_path, http_store):
    (tmp_path / "served" / "f").write_bytes(b"data")
    http_store.delay = 3
    started = time.monotonic()
    with pytest.raises(StagingError, match="timed out waiting for the server"):
        stage_in(http_store.url("f"), str(tmp_path / "out"), timeout=0.5, retries=0)
    assert time.monotonic() - started < 1.5
    assert not os.path.exists(tmp_path / "out")


def test_closed_port_fails_within_the_timeout(tmp_path, free_port):
    (tmp_path / "f").write_bytes(b"data")
    for call in (
        lambda: stage_in("http://127.0.0.1:%d/f" % free_port, str(tmp_path / "out"), timeout=2),
        lambda: stage_out(str(tmp_path / "f"), "http://127.0.0.1:%d/f" % free_port, timeout=2),
    ):
        started = time.monotonic()
        with pytest.raises(StagingError, match="connection refused") as excinfo:
            call()
        assert time.monotonic() - started < 2 + SLACK
        assert excinfo.value.transient and excinfo.value.attempts > 1


def test_refused_then_up_is_retried(tmp_path, free_port):
    """A server that is restarting refuses for a moment; the retries get through."""
    root = tmp_path / "served"
    root.mkdir()
    (root / "f").write_bytes(b"data")
    servers = []
    timer = threading.Timer(0.6, lambda: servers.append(StoreServer(root, free_port).start()))
    timer.start()
    try:
        assert stage_in("http://127.0.0.1:%d/f" % free_port, str(tmp_path / "out"),
                        timeout=10, retries=5) == 4
    finally:
        timer.join()
        for server in servers:
            server.stop()


# ---- swift:// and s3:// on Swift SAIO


def test_swift_round_trip_creates_the_container(tmp_path, swift_admin, swift_credentials,
                                                big_file):
    url = "swift://%s/runs/1/out.bin" % swift_admin.new_container()
    _round_trip(tmp_path, url, big_file, swift_credentials)


def test_swift_with_storage_url_and_token(tmp_path, swift_admin):
    credentials = {"storage_url": swift_admin.storage_url, "token": swift_admin.token}
    url = "swift://%s/o" % swift_admin.new_container()
    (tmp_path / "f").write_bytes(b"token")
    assert stage_out(str(tmp_path / "f"), url, credentials) == 5
    assert stage_in(url, str(tmp_path / "back"), credentials) == 5
    with pytest.raises(StagingError, match=r"authentication failed \(HTTP 401\)"):
        stage_in(url, str(tmp_path / "no"), dict(credentials, token="AUTH_tk" + "0" * 32))


def test_swift_errors_name_the_reason_not_the_key(tmp_path, swift_admin, swift_credentials,
                                                  caplog):
    caplog.set_level(logging.DEBUG)
    container = swift_admin.new_container()
    with pytest.raises(StagingError, match=r"no such container or object \(HTTP 404\)"):
        stage_in("swift://%s/absent" % container, str(tmp_path / "x"), swift_credentials)
    with pytest.raises(StagingError) as excinfo:
        stage_in("swift://%s/absent" % container, str(tmp_path / "x"),
                 dict(swift_credentials, key=SECRET))
    assert "Cannot stage in swift://%s/absent" % container in str(excinfo.value)
    assert "authentication failed (HTTP 401)" in str(excinfo.value)
    assert excinfo.value.attempts == 1
    _assert_secret_kept(excinfo, caplog)
    assert not os.path.exists(tmp_path / "x")


def test_s3_round_trip_multipart(tmp_path, bucket, s3_credentials, big_file):
    _round_trip(tmp_path, "s3://%s/runs/1/out.bin" % bucket, big_file, s3_credentials)


def test_swift_and_s3_see_the_same_objects(tmp_path, bucket, swift_credentials,
                                           s3_credentials):
    (tmp_path / "a").write_bytes(b"written through swift")
    (tmp_path / "b").write_bytes(b"written through s3")
    stage_out(str(tmp_path / "a"), "swift://%s/a" % bucket, swift_credentials)
    stage_out(str(tmp_path / "b"), "s3://%s/b" % bucket, s3_credentials)
    stage_in("s3://%s/a" % bucket, str(tmp_path / "a.back"), s3_credentials)
    stage_in("swift://%s/b" % bucket, str(tmp_path / "b.back"), swift_credentials)
    assert (tmp_path / "a.back").read_bytes() == b"written through swift"
    assert (tmp_path / "b.back").read_bytes() == b"written through s3"


def test_s3_errors(tmp_path, bucket, swift_admin, s3_credentials, caplog):
    caplog.set_level(logging.DEBUG)
    (tmp_path / "f").write_bytes(b"data")
    with pytest.raises(StagingError, match=r"no such bucket \(NoSuchBucket, HTTP 404\)"):
        stage_out(str(tmp_path / "f"), "s3://%s/k" % swift_admin.new_container(), s3_credentials)
    with pytest.raises(StagingError, match=r"no such key \(NoSuchKey, HTTP 404\)") as excinfo:
        stage_in("s3://%s/absent" % bucket, str(tmp_path / "x"), s3_credentials)
    assert excinfo.value.attempts == 1 and not excinfo.value.transient
    with pytest.raises(StagingError, match="authentication failed") as excinfo:
        stage_out(str(tmp_path / "f"), "s3://%s/k" % bucket,
                  dict(s3_credentials, secret_key=SECRET))
    assert excinfo.value.status == 403
    _assert_secret_kept(excinfo, caplog)
    assert not os.path.exists(tmp_path / "x")


def test_s3_closed_port_fails_within_the_timeout(tmp_path, free_port):
    credentials = {"access_key": "a", "secret_key": SECRET,
                   "endpoint_url": "http://127.0.0.1:%d" % free_port}
    started = time.monotonic()
    with pytest.raises(StagingError, match="connection refused") as excinfo:
        stage_in("s3://b/k", str(tmp_path / "x"), credentials, timeout=2)
    assert time.monotonic() - started < 2 + SLACK and SECRET not in str(excinfo.value)


def test_swift_closed_port_fails_within_the_timeout(tmp_path, free_port):
    credentials = {"auth_url": "http://127.0.0.1:%d/auth/v1.0" % free_port,
                   "user": "test:tester", "key": SECRET}
    started = time.monotonic()
    with pytest.raises(StagingError, match="connection refused"):
        stage_in("swift://c/o", str(tmp_path / "x"), credentials, timeout=2)
    assert time.monotonic() - started < 2 + SLACK


def test_services_record_points_at_swift(swift_service):
    assert requests.get(swift_service["s3_endpoint"] + "/healthcheck", timeout=5).text == "OK"
