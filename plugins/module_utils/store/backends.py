# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dialect layer: a store URL becomes a connection that speaks one SQL, with driver errors
turned into StoreError (and ConflictError for lock contention and constraint violations).

The store's SQL uses ``?`` placeholders and ``{serial}`` for an auto-numbered primary key; each
backend translates those, and knows how to read a new row's id, find a table and lock schema
changes. Connections are in autocommit mode: the store sends BEGIN/COMMIT itself.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from ansible_collections.paas.orchestrator.plugins.module_utils.store.errors import (
    ConflictError,
    StoreError,
)

BUSY_TIMEOUT = 30  # seconds a SQLite writer waits for another's transaction
CONNECT_TIMEOUT = 5  # seconds to reach PostgreSQL
# pg_advisory_xact_lock key serialising schema migrations ("paas" in ASCII).
MIGRATION_LOCK = 0x70616173
URL_HELP = "use a file path, sqlite:///absolute/path or postgresql://user:password@host:port/db"


def connect(url):
    """The Backend for ``url``: a plain path, ``sqlite:///abs/path`` or ``postgresql://...``."""
    url = os.fspath(url)
    if "://" not in url:
        return SQLite(os.path.expanduser(url))
    try:
        parts = urlsplit(url)
    except ValueError:
        raise StoreError("Invalid store URL: %s" % URL_HELP) from None
    if parts.scheme == "sqlite":
        if parts.netloc or not parts.path or parts.query:
            raise StoreError("Invalid SQLite store URL %s: write sqlite:///absolute/path" % url)
        return SQLite(unquote(parts.path))
    if parts.scheme in ("postgresql", "postgres"):
        return PostgreSQL(url)
    raise StoreError("Unsupported store URL scheme '%s' in %s: %s"
                     % (parts.scheme, redact_url(url), URL_HELP))


def redact_url(url):
    """``url`` with its password (in the user info or the query) replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = "%s:***@%s" % (userinfo.split(":", 1)[0], host)
    query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class Backend:
    name = None
    begin_sql = "BEGIN"
    serial = None  # DDL of an auto-numbered integer primary key
    errors = ()  # the driver's exception classes
    url = None  # where the store is, safe to show

    def __init__(self):
        self.conn = None

    def sql(self, text):
        return text

    def execute(self, sql, params=()):
        if self.conn is None:
            raise StoreError("The store %s is closed" % self.url)
        try:
            cursor = self.conn.cursor()
            cursor.execute(self.sql(sql), tuple(params))
            return cursor
        except self.errors as exc:
            raise self.translate(exc) from None

    def rollback(self):
        try:
            self.execute("ROLLBACK")
        except StoreError:
            pass  # the connection is gone: the caller's own error says more

    def insert_id(self, sql, params):
        raise NotImplementedError

    def table_exists(self, name):
        raise NotImplementedError

    def lock_schema(self):
        """Serialise schema migrations among concurrent openers (inside a transaction)."""

    def translate(self, exc):
        raise NotImplementedError

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class SQLite(Backend):
    name = "sqlite"
    # Take the write lock at BEGIN, so that two writers queue on the busy timeout instead of
    # one failing at its first write after both have read.
    begin_sql = "BEGIN IMMEDIATE"
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT"
    errors = (sqlite3.Error,)

    def __init__(self, path):
        super().__init__()
        self.url = path = os.path.abspath(path)
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            # Create the file ourselves so that it is born 0600 (the WAL and shm files that
            # SQLite adds take the database file's mode).
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        except OSError as exc:
            # makedirs says "File exists" of a file where a directory should be.
            reason = ("%s is not a directory" % exc.filename if isinstance(exc, FileExistsError)
                      else exc.strerror or exc)
            raise StoreError("Cannot create the SQLite store %s: %s" % (path, reason)) from None
        try:
            self.conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None,
                                        check_same_thread=False)
        except sqlite3.Error as exc:
            raise self.translate(exc) from None
        try:
            self._use_wal()
            self.execute("PRAGMA synchronous=NORMAL")
            self.execute("PRAGMA foreign_keys=ON")
        except StoreError:
            self.close()
            raise

    def _use_wal(self):
        """WAL: readers block neither the writer nor each other; NORMAL sync is safe with it (a
        power cut may lose the last commits, never corrupt the file). Switching a new file to
        WAL while others do the same fails at once with "locked", busy timeout or not: retry."""
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                self.execute("PRAGMA journal_mode=WAL")
                return
            except ConflictError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.02)

    def insert_id(self, sql, params):
        return self.execute(sql, params).lastrowid

    def table_exists(self, name):
        return self.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                            (name,)).fetchone() is not None

    def translate(self, exc):
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
            return ConflictError("The SQLite store %s is locked by another writer (waited up to "
                                 "%d s): retry" % (self.url, BUSY_TIMEOUT))
        if isinstance(exc, sqlite3.IntegrityError):
            return ConflictError("The SQLite store %s refused a change: %s" % (self.url, text))
        return StoreError("SQLite store %s: %s" % (self.url, text))


class PostgreSQL(Backend):
    name = "postgresql"
    serial = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

    def __init__(self, url):
        super().__init__()
        self.url = redact_url(url)
        parts = urlsplit(url)
        secrets = [parts.password] + [v for k, v in parse_qsl(parts.query) if k == "password"]
        self._secrets = {text for raw in secrets if raw for text in (raw, unquote(raw))}
        try:
            import psycopg  # only a PostgreSQL store needs the driver
        except ImportError:
            raise StoreError("A PostgreSQL store needs the Python package psycopg (version 3) "
                             "where the module runs: pip install 'psycopg[binary]'") from None
        self._psycopg = psycopg
        self.errors = (psycopg.Error,)
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                        application_name="paas-orchestrator")
        except psycopg.Error as exc:
            raise StoreError(self._redact("Cannot connect to the PostgreSQL store %s: %s"
                                          % (self.url, exc))) from None

    def _redact(self, text):
        text = " ".join(text.split())  # libpq's messages span lines
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def sql(self, text):
        return text.replace("?", "%s")

    def insert_id(self, sql, params):
        return self.execute(sql + " RETURNING id", params).fetchone()[0]

    def table_exists(self, name):
        # A plain query, not to_regclass(): after waiting on the advisory lock, that may answer
        # from a catalog cache taken before the other opener's CREATE TABLE committed.
        # current_schema() is where CREATE TABLE puts a table (first of search_path).
        return self.execute("SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = "
                            "current_schema() AND tablename = ?", (name,)).fetchone() is not None

    def lock_schema(self):
        self.execute("SELECT pg_advisory_xact_lock(%d)" % MIGRATION_LOCK)

    def translate(self, exc):
        errors = self._psycopg.errors
        text = self._redact(str(exc))
        if isinstance(exc, (errors.SerializationFailure, errors.DeadlockDetected,
                            errors.LockNotAvailable, self._psycopg.IntegrityError)):
            return ConflictError("The PostgreSQL store %s refused a concurrent change: %s"
                                 % (self.url, text))
        return StoreError("PostgreSQL store %s: %s" % (self.url, text))
