# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Opening a store: where it is, its file, bad URLs, schema migrations."""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
import sys
import time
import traceback
from urllib.parse import urlsplit

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.store import (
    StoreError,
    Store,
    open_store,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.store import backends
from ansible_collections.paas.orchestrator.plugins.module_utils.store.backends import connect
from ansible_collections.paas.orchestrator.plugins.module_utils.store.schema import LATEST

PASSWORD = "Sup3r-s3cret%21"  # percent-encoded in the URL: "Sup3r-s3cret!" on the wire


def _fails(url):
    """The StoreError that opening ``url`` raises, the seconds it took, and its full text."""
    start = time.monotonic()
    with pytest.raises(StoreError) as info:
        open_store(url)
    text = "".join(traceback.format_exception(info.type, info.value, info.tb))
    return info.value, time.monotonic() - start, text


# Where

def test_default_path_follows_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.delenv("PAAS_ORCHESTRATOR_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with open_store() as store:
        assert store.url == str(tmp_path / "data" / "paas-orchestrator" / "store.db")
        assert store.backend == "sqlite"
    assert os.path.isfile(tmp_path / "data" / "paas-orchestrator" / "store.db")


def test_default_path_without_xdg_is_under_home(tmp_path, monkeypatch):
    monkeypatch.delenv("PAAS_ORCHESTRATOR_STORE", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with open_store() as store:
        assert store.url == str(tmp_path / ".local/share/paas-orchestrator/store.db")


def test_environment_names_the_store_unless_a_url_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv("PAAS_ORCHESTRATOR_STORE", "sqlite://" + str(tmp_path / "env.db"))
    with open_store() as store:
        assert store.url == str(tmp_path / "env.db")
    with open_store(str(tmp_path / "given.db")) as store:
        assert store.url == str(tmp_path / "given.db")


def test_plain_path_expands_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with open_store("~/stores/s.db") as store:
        assert store.url == str(tmp_path / "stores" / "s.db")
    with open_store(tmp_path / "pathlib.db") as store:
        assert store.url == str(tmp_path / "pathlib.db")


# The SQLite file

def test_sqlite_file_is_private_in_a_created_directory_and_in_wal_mode(tmp_path):
    path = tmp_path / "new" / "dir" / "store.db"
    with open_store(str(path)) as store:
        store.create_deployment({"uuid": "d"})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    with sqlite3.connect(str(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_closed_store_says_so(tmp_path):
    store = open_store(str(tmp_path / "s.db"))
    store.close()
    with pytest.raises(StoreError, match="is closed"):
        store.get_deployment("d")


# Bad URLs

def test_unknown_scheme_is_refused_without_its_password():
    error, _elapsed, text = _fails("mysql://user:%s@db.example.org/paas" % PASSWORD)
    assert "Unsupported store URL scheme 'mysql'" in str(error)
    assert "postgresql://" in str(error)  # says what would do
    assert "s3cret" not in text


@pytest.mark.parametrize("url", ["sqlite://host/db", "sqlite://", "sqlite:///x.db?mode=ro"])
def test_malformed_sqlite_url(url):
    error = _fails(url)[0]
    assert "sqlite:///absolute/path" in str(error)


def test_unwritable_sqlite_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    error = _fails(str(blocker / "store.db"))[0]
    assert "Cannot create the SQLite store %s" % (blocker / "store.db") in str(error)
    assert "%s is not a directory" % blocker in str(error)
    error = _fails(str(blocker))[0]  # a file that is not a database is no better
    assert "not a database" in str(error)
    error = _fails(str(tmp_path))[0]  # nor a directory
    assert "Is a directory" in str(error)


def test_postgresql_refused_connection_fails_fast(postgres_url):
    parts = urlsplit(postgres_url)
    with socket.socket() as sock:  # a port that surely has no server: bound, not listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        url = "postgresql://paas:%s@127.0.0.1:%d%s" % (PASSWORD, port, parts.path)
        error, elapsed, text = _fails(url)
    assert "Cannot connect to the PostgreSQL store postgresql://paas:***@127.0.0.1" in str(error)
    assert "refused" in str(error) and elapsed < 5
    assert "s3cret" not in text


def test_postgresql_silent_server_times_out(monkeypatch):
    monkeypatch.setattr(backends, "CONNECT_TIMEOUT", 1)
    with socket.socket() as sock:  # accepts TCP (the kernel does), never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        url = "postgresql://paas:%s@127.0.0.1:%d/paas" % (PASSWORD, sock.getsockname()[1])
        error, elapsed, text = _fails(url)
    assert "timeout" in str(error) and 0.9 < elapsed < 4
    assert "s3cret" not in text


def test_postgresql_wrong_password_is_not_shown(postgres_url):
    parts = urlsplit(postgres_url)
    where = "%s:%d%s" % (parts.hostname, parts.port, parts.path)
    for url in ("postgresql://paas:%s@%s" % (PASSWORD, where),
                "postgresql://paas@%s?password=%s" % (where, PASSWORD)):
        error, _elapsed, text = _fails(url)
        assert "password authentication failed" in str(error)
        assert "s3cret" not in text and "***" in str(error)


def test_postgresql_missing_database(postgres_url):
    error = _fails(postgres_url.rsplit("/", 1)[0] + "/no_such_db")[0]
    assert 'database "no_such_db" does not exist' in str(error)


def test_postgresql_without_driver_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg -> ImportError
    error = _fails("postgresql://paas@127.0.0.1:5432/paas")[0]
    assert "needs the Python package psycopg" in str(error)
    assert "pip install 'psycopg[binary]'" in str(error)


# Migrations

def test_empty_database_gets_every_migration(store_url):
    with open_store(store_url) as store:
        assert store.schema_version() == LATEST
        rows = store._rows("SELECT version FROM schema_version ORDER BY version")
        assert [row[0] for row in rows] == list(range(1, LATEST + 1))
        store.create_deployment({"uuid": "d"})
    with open_store(store_url) as store:  # reopening changes nothing
        assert store.schema_version() == LATEST and store.get_deployment("d")["version"] == 1
        assert store._rows("SELECT COUNT(*) FROM schema_version")[0][0] == LATEST


def test_version_1_database_is_upgraded_keeping_its_rows(store_url):
    # A store as version 1 of the schema wrote it.
    old = Store(connect(store_url))
    old.migrate(1)
    old._write(
        "INSERT INTO deployments (uuid, version, status, task, template, parameters, outputs, "
        "cloud_provider_endpoint, created_by, owner, keep_last_attempt, creation_time, "
        "update_time) VALUES ('d-1', 3, 'CREATE_COMPLETE', 'NONE', 'tpl', '{\"n\":2}', '{}', "
        "'{}', '\"s@i\"', 's@i', ?, '2023-10-27T13:24:05.000001+00:00', "
        "'2023-10-27T14:00:00.000000+00:00')", (True,))
    old._write(
        "INSERT INTO resources (uuid, deployment_uuid, tosca_node_name, state, metadata, "
        "required_by, idempotency_key, creation_time, update_time) VALUES ('r-1', 'd-1', 'vm', "
        "'STARTED', '{}', '[]', 'k', '2023-10-27T13:24:05.000001+00:00', "
        "'2023-10-27T13:24:05.000001+00:00')")
    assert old.schema_version() == 1
    old.close()

    with open_store(store_url) as store:
        assert store.schema_version() == LATEST
        deployment = store.get_deployment("d-1")
        assert deployment["status"] == "CREATE_COMPLETE" and deployment["version"] == 3
        assert deployment["parameters"] == {"n": 2} and deployment["keepLastAttempt"] is True
        assert deployment["creationTime"] == "2023-10-27T13:24+0000"
        assert deployment["sites"] == [] and deployment["metadata"] == {}  # added by version 2
        assert store.find_resource("d-1", "k")["uuid"] == "r-1"
        assert store.update_deployment("d-1", 3, sites=["a"])["sites"] == ["a"]
        assert store.add_attempt("d-1", "a")["site"] == "a"


def test_newer_database_is_refused(store_url):
    with open_store(store_url) as store:
        store._write("INSERT INTO schema_version (version, applied) VALUES (?, ?)",
                     (LATEST + 5, "2099-01-01T00:00:00.000000+00:00"))
    error = _fails(store_url)[0]
    assert "schema version %d, newer than this paas.orchestrator knows (%d)" % (
        LATEST + 5, LATEST) in str(error)
    assert "upgrade the collection" in str(error)
