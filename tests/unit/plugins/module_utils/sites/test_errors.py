# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""on_unreachable, timeouts, retries, redaction and the checks of the sources argument."""

from __future__ import annotations

import json
import logging
import os
import socket
import time

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.sites import (
    SourceError,
    SourceUnreachable,
    collect,
)
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.sites import (
    fixture_servers as fx,
)

SECRET = "s3cr3t-token-do-not-show"
PACKAGE = "ansible_collections.paas.orchestrator.plugins.module_utils.sites"
LABELS = {"cmdb": "CMDB", "slam": "SLAM", "monitoring": "monitoring", "onezone": "Onezone"}
FIRST_PATH = {
    "cmdb": "GET /provider/list?include_docs=true",
    "slam": "GET /preferences/deep-hdc",
    "monitoring": "GET " + fx.MONITORING_PATH + "p1",
    "onezone": "GET /api/v3/onezone/user/spaces",
}


@pytest.fixture
def one_provider(sites_file):
    return sites_file("providers: [{id: p1}]\n")


def attempt(name, url, policy, sites_path):
    sources = {"sites_file": sites_path, name: {"url": url, "token": SECRET}}
    return collect(sources, customer="deep-hdc", token=SECRET, on_unreachable=policy,
                   spaces=["indigo-data"])


@pytest.mark.parametrize("name", list(LABELS))
def test_closed_port_fails_fast_naming_the_source_and_url(name, closed_url, one_provider):
    started = time.monotonic()
    with pytest.raises(SourceUnreachable) as caught:
        attempt(name, closed_url, "error", one_provider)
    assert time.monotonic() - started < 1.0
    assert str(caught.value) == "%s at %s: %s: connection refused" % (
        LABELS[name], closed_url, FIRST_PATH[name])
    assert (caught.value.source, caught.value.url) == (name, closed_url)


@pytest.mark.parametrize("name", list(LABELS))
def test_warn_goes_on_and_records_why(name, closed_url, one_provider, caplog):
    caplog.set_level(logging.WARNING)
    catalog = attempt(name, closed_url, "warn", one_provider)
    assert catalog["errors"] == [{
        "source": name, "url": closed_url,
        "error": "%s at %s: %s: connection refused" % (LABELS[name], closed_url,
                                                       FIRST_PATH[name])}]
    assert catalog["providers"] == {"p1": {"id": "p1", "name": "p1"}}
    assert [record.getMessage() for record in caplog.records] == [
        "%s; going on without it" % catalog["errors"][0]["error"]]
    assert SECRET not in json.dumps(catalog) + caplog.text


@pytest.mark.parametrize("name", list(LABELS))
def test_skip_goes_on_silently(name, closed_url, one_provider, caplog):
    caplog.set_level(logging.DEBUG, logger=PACKAGE)
    catalog = attempt(name, closed_url, "skip", one_provider)
    assert catalog["errors"] == [{"source": name, "url": closed_url, "skipped": True}]
    assert [record for record in caplog.records if record.name.startswith(PACKAGE)] == []


def test_without_slam_the_cmdb_is_not_scoped(indigo, closed_url):
    catalog = collect({"cmdb": {"url": indigo["cmdb"]}, "slam": {"url": closed_url}},
                      customer="deep-hdc", organisation="egi", on_unreachable="warn")
    assert len(catalog["services"]) == 6
    assert catalog["slam"] == {}
    assert [error["source"] for error in catalog["errors"]] == ["slam"]


def test_without_the_cmdb_an_override_is_dropped_and_references_unchecked(closed_url, sites_file):
    path = sites_file("""
        sites:
          - {name: recas-openstack, id: RECAS-BARI_c8ea}
          - {name: laptop, type: local}
        metrics: {RECAS-BARI_c8ea: {create_result: 1}}
    """)
    catalog = collect({"cmdb": {"url": closed_url}, "sites_file": path}, on_unreachable="skip")
    assert list(catalog["services"]) == ["laptop"]
    assert catalog["monitoring"] == []


def test_tokens_and_url_credentials_never_shown(indigo, closed_url):
    port = closed_url.rsplit(":", 1)[1]
    url = "http://admin:%s@127.0.0.1:%s/cmdb/v1?apikey=%s" % (SECRET, port, SECRET)
    with pytest.raises(SourceError) as caught:
        collect({"cmdb": {"url": url, "token": SECRET}}, token=SECRET)
    assert SECRET not in str(caught.value) and "admin" not in str(caught.value)
    assert str(caught.value).startswith("CMDB at http://127.0.0.1:%s/cmdb/v1?apikey=***: "
                                        % port)
    catalog = collect(indigo.sources(cmdb={"url": indigo["cmdb"], "token": SECRET}),
                      customer="deep-hdc", organisation="egi", token=indigo.iam_token,
                      spaces=["indigo-data"])
    sent = [entry for entry in indigo.requests if entry["server"] == "cmdb"]
    assert {entry["headers"]["Authorization"] for entry in sent} == {"Bearer " + SECRET}
    text = json.dumps(catalog)
    assert SECRET not in text and indigo.iam_token not in text


@pytest.fixture
def flaky():
    """A server answering 503 to everything, counting the requests."""
    log = []
    server = fx.serve("flaky", lambda *request: (503, {"error": "unavailable"}), log)
    yield server.url, log
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("policy", ["error", "warn"])
def test_503_is_retried_then_unreachable(flaky, policy):
    url, log = flaky
    if policy == "error":
        with pytest.raises(SourceUnreachable, match="answered 503 Service Unavailable"):
            collect({"slam": {"url": url}}, customer="c", on_unreachable=policy)
    else:
        catalog = collect({"slam": {"url": url}}, customer="c", on_unreachable=policy)
        assert catalog["errors"][0]["source"] == "slam"
    assert len(log) == 3


def test_no_answer_within_the_timeout():
    # Listening but never accepting: the connection opens (kernel backlog), no answer comes.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    url = "http://127.0.0.1:%d" % sock.getsockname()[1]
    try:
        started = time.monotonic()
        with pytest.raises(SourceUnreachable, match=r"SLAM at .*: GET /preferences/c: no answer "
                                                    r"within 0.3s"):
            collect({"slam": {"url": url, "timeout": 0.3}}, customer="c")
        assert time.monotonic() - started < 2.0
    finally:
        sock.close()


@pytest.fixture
def odd_server():
    """A server answering a non-CMDB document, or a redirect on /moved."""
    def app(method, path, query, headers):
        if path.startswith("/moved"):
            return 302, {}
        return 200, {"hello": "world"}
    log = []
    server = fx.serve("odd", app, log)
    yield server.url
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("policy", ["error", "warn", "skip"])
def test_wrong_answers_are_errors_whatever_the_policy(odd_server, policy):
    with pytest.raises(SourceError) as caught:
        collect({"cmdb": {"url": odd_server}}, on_unreachable=policy)
    assert not isinstance(caught.value, SourceUnreachable)
    assert str(caught.value) == ("CMDB at %s: GET /provider/list?include_docs=true: the answer "
                                 "is not a CMDB list" % odd_server)
    with pytest.raises(SourceError, match=r"answered 302 Found \(redirects are not followed\)"):
        collect({"slam": {"url": odd_server + "/moved"}}, customer="c", on_unreachable=policy)
    with pytest.raises(SourceError, match="the answer is not a SLAM preferences response"):
        collect({"slam": {"url": "%s/x" % odd_server}}, customer="c", on_unreachable=policy)


@pytest.mark.parametrize("sources, kwargs, message", [
    ([], {}, "sources must be a mapping"),
    ({"cmbd": {}}, {}, "unknown source 'cmbd' (known: sites_file, cmdb, slam, monitoring, "
                       "onezone)"),
    ({"cmdb": {}}, {}, "sources.cmdb needs either url or file"),
    ({"monitoring": {"file": "/x"}}, {}, "sources.monitoring: unknown key file"),
    ({"slam": {"url": "http://x", "file": "/y"}}, {}, "sources.slam needs either url or file"),
    ({"cmdb": {"url": "http://x", "timeout": 0}}, {}, "sources.cmdb.timeout must be a positive"),
    ({"cmdb": {"url": "ftp://x"}}, {}, "CMDB: the URL must be http(s)://..., got ftp://x"),
    ({"sites_file": 3}, {}, "sources.sites_file must be a file path"),
    ({}, {"on_unreachable": "ignore"}, "on_unreachable must be one of error, warn, skip"),
    ({}, {"spaces": "indigo-data"}, "spaces must be a list of OneData space names"),
])
def test_bad_sources_argument(sources, kwargs, message):
    with pytest.raises(SourceError) as caught:
        collect(sources, **kwargs)
    assert message in str(caught.value)


def test_cmdb_and_slam_files(tmp_path):
    missing = str(tmp_path / "cmdb.db")
    with pytest.raises(SourceError, match="CMDB file .*cmdb.db cannot be read: No such file"):
        collect({"cmdb": {"file": missing}}, on_unreachable="skip")
    (tmp_path / "bad.db").write_text("{not json")
    with pytest.raises(SourceError, match="SLAM file .*bad.db is not JSON"):
        collect({"slam": {"file": str(tmp_path / "bad.db")}}, customer="c")
    (tmp_path / "list.db").write_text("[]")
    with pytest.raises(SourceError, match="is not in INDIGO's local CMDB format"):
        collect({"cmdb": {"file": str(tmp_path / "list.db")}})


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
def test_tls_verification(https_store):
    """``verify``: the system CAs by default, a CA bundle path, or off."""
    answer = {"preferences": [], "sla": [{"id": "s", "provider": "p", "services": []}]}
    root = https_store.root
    os.mkdir(os.path.join(root, "preferences"))
    with open(os.path.join(root, "preferences", "c"), "w") as handle:
        json.dump(answer, handle)
    url = https_store.url("")
    with pytest.raises(SourceUnreachable, match="SLAM at .*: GET /preferences/c: the TLS "
                                                "handshake failed"):
        collect({"slam": {"url": url}}, customer="c")
    for verify in (https_store.ca_file, False):
        catalog = collect({"slam": {"url": url, "verify": verify}}, customer="c")
        assert catalog["slam"] == answer


def test_pure_indigo_local_files():
    """INDIGO's own cmdb.db and slam.db, as they are."""
    folder = os.path.join(fx.fixtures_dir(), "orchestrator")
    catalog = collect({"cmdb": {"file": os.path.join(folder, "cmdb.db")},
                       "slam": {"file": os.path.join(folder, "slam.db")}},
                      customer="deep-hdc", organisation="egi")
    assert list(catalog["services"]) == ["RECAS-BARI_6ffb1b5a-3275-4877-891a-0c2f63d99f64",
                                         "RECAS-BARI_c8eacd25-30ea-4c42-97b7-14255eff65a9"]
    assert catalog["slam"] == fx.fixture("orchestrator", "slam.db")["deep-hdc"]
