# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Store: deployments, resources, attempts and events as plain dicts, on one connection.

Every write runs in a transaction (the caller's, when inside ``with store.transaction()``).
Deployments carry an optimistic ``version``: an update names the version it read, and loses
with ConflictError when another writer got there first. Expected refusals (stale version,
duplicate key, missing row) are found without a failing SQL statement, so the caller may catch
them and go on inside its transaction on PostgreSQL too.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid as uuidlib
from datetime import datetime, timezone

from ansible_collections.paas.orchestrator.plugins.module_utils.store.backends import connect
from ansible_collections.paas.orchestrator.plugins.module_utils.store.errors import (
    ConflictError,
    NotFound,
    StoreError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.store.schema import (
    DEPLOYMENT_FIELDS,
    LATEST,
    MIGRATIONS,
    RESOURCE_FIELDS,
)

STORE_ENV = "PAAS_ORCHESTRATOR_STORE"
_TYPES = {"text": str, "int": int, "bool": bool, "dict": dict, "list": list, "owner": (dict, str)}
_TYPE_NAMES = {"text": "a string", "int": "an integer", "bool": "a boolean", "dict": "a mapping",
               "list": "a list", "owner": "a mapping {issuer, subject} or a string"}
_STATUS = next(field for field in DEPLOYMENT_FIELDS if field.name == "status")


def default_store_path():
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "share")
    return os.path.join(base, "paas-orchestrator", "store.db")


def open_store(url=None):
    """Open (creating or upgrading its schema) the store at ``url``, else at the URL in
    $PAAS_ORCHESTRATOR_STORE, else in the default SQLite file."""
    store = Store(connect(url or os.environ.get(STORE_ENV) or default_store_path()))
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


def now():
    """The current time as the store keeps it: ISO-8601 UTC, microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def indigo_time(stored):
    """A stored time as INDIGO shows it: ``yyyy-MM-dd'T'HH:mmZ`` (2023-10-27T13:24+0000)."""
    return datetime.fromisoformat(stored).strftime("%Y-%m-%dT%H:%M%z")


def owner_key(created_by):
    """What list_deployments(created_by=) matches: INDIGO's ``<subject>@<issuer>``."""
    if isinstance(created_by, dict):
        return "%s@%s" % (created_by["subject"], created_by["issuer"])
    return created_by


def _dumps(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _encode(field, value, what):
    if value is None:
        if not field.null:
            raise StoreError("%s field %s is required (cannot be null)" % (what, field.name))
        return None
    if field.choices is not None:
        if value not in field.choices:
            raise StoreError("Invalid %s %s %r: must be one of %s"
                             % (what, field.name, value, ", ".join(field.choices)))
        return value
    if not isinstance(value, _TYPES[field.kind]) or (field.kind == "int"
                                                     and isinstance(value, bool)):
        raise StoreError("%s field %s must be %s, not %s"
                         % (what, field.name, _TYPE_NAMES[field.kind], type(value).__name__))
    if field.kind == "owner" and isinstance(value, dict) and not (
            set(value) == {"issuer", "subject"} and all(isinstance(v, str) for v in value.values())):
        raise StoreError("%s field createdBy must be a string or {issuer, subject} strings, not %r"
                         % (what, value))
    if field.kind in ("dict", "list", "owner"):
        try:
            return _dumps(value)
        except (TypeError, ValueError) as exc:
            raise StoreError("%s field %s is not JSON: %s" % (what, field.name, exc)) from None
    return value


def _decode(field, value):
    if value is None:
        return None
    if field.kind in ("dict", "list", "owner"):
        return json.loads(value)
    if field.kind == "bool":
        return bool(value)
    if field.kind == "time":
        return indigo_time(value)
    return value


def _columns(fields, values, what, creating):
    """Validate the API ``values`` and return them as {column: encoded value}; on create, with
    the defaults of the fields not given."""
    by_name = {field.name: field for field in fields}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise StoreError("Unknown %s field(s): %s" % (what, ", ".join(unknown)))
    refused = sorted(name for name in values
                     if not (by_name[name].create if creating else by_name[name].update))
    if refused:
        raise StoreError("%s field(s) %s cannot be %s" % (
            what, ", ".join(refused), "given: the store sets them" if creating else "changed"))
    chosen = [field for field in fields if field.name in values or (creating and field.create)]
    return {field.column: _encode(field, values.get(field.name, field.default), what)
            for field in chosen}


def _select(fields, table):
    return "SELECT %s FROM %s" % (", ".join(field.column for field in fields), table)


def _row(fields, row):
    return {field.name: _decode(field, value) for field, value in zip(fields, row)}


def _attempt(row):
    return dict(zip(("id", "site", "start", "end", "error"), row))


def _event(row):
    event = dict(zip(("id", "kind", "message", "data", "time"), row))
    event["data"] = None if event["data"] is None else json.loads(event["data"])
    return event


class Store:
    """See the module and docs/store.md. One connection, shared by threads one call at a time."""

    def __init__(self, backend):
        self._db = backend
        self._lock = threading.RLock()
        self._depth = 0
        self.backend = backend.name
        self.url = backend.url

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def transaction(self):
        """Run the block's calls atomically; a nested block joins the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute(self._db.begin_sql)
            self._depth = 1
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                self._db.rollback()
                raise
            finally:
                self._depth = 0

    def _rows(self, sql, params=()):
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _write(self, sql, params=()):
        """Run a statement; the number of rows it changed."""
        with self._lock:
            return self._db.execute(sql, params).rowcount

    # Schema

    def schema_version(self):
        with self._lock:
            if not self._db.table_exists("schema_version"):
                return 0
        return self._rows("SELECT MAX(version) FROM schema_version")[0][0] or 0

    def migrate(self, target=LATEST):
        """Bring the schema up to ``target``; refuse a store written by a newer collection."""
        current = self.schema_version()
        if current == target:
            return
        with self.transaction():
            self._db.lock_schema()
            current = self.schema_version()
            if current > target:
                raise StoreError(
                    "The store %s has schema version %d, newer than this paas.orchestrator "
                    "knows (%d): upgrade the collection" % (self.url, current, target))
            if not current:
                self._write("CREATE TABLE IF NOT EXISTS schema_version ("
                            "version INTEGER PRIMARY KEY, applied TEXT NOT NULL)")
            for version in range(current + 1, target + 1):
                for statement in MIGRATIONS[version - 1]:
                    self._write(statement.replace("{serial}", self._db.serial))
                self._write("INSERT INTO schema_version (version, applied) VALUES (?, ?)",
                            (version, now()))

    # Deployments

    def create_deployment(self, deployment):
        columns = _columns(DEPLOYMENT_FIELDS, deployment, "Deployment", creating=True)
        stamp = now()
        columns.update(owner=owner_key(deployment.get("createdBy")), version=1,
                       creation_time=stamp, update_time=stamp)
        with self.transaction():
            if not self._insert("deployments", columns):
                raise ConflictError("Deployment %s already exists" % columns["uuid"])
            return self.get_deployment(columns["uuid"])

    def get_deployment(self, uuid):
        rows = self._rows(_select(DEPLOYMENT_FIELDS, "deployments") + " WHERE uuid = ?", (uuid,))
        return _row(DEPLOYMENT_FIELDS, rows[0]) if rows else None

    def list_deployments(self, created_by=None, user_group=None, status=None):
        """Newest first. ``created_by`` is {issuer, subject} or ``subject@issuer``; ``status``
        one status or a list of them."""
        where, params = [], []
        if created_by is not None:
            where.append("owner = ?")
            params.append(owner_key(created_by))
        if user_group is not None:
            where.append("user_group = ?")
            params.append(user_group)
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            for value in statuses:
                _encode(_STATUS, value, "Deployment")
            where.append("status IN (%s)" % ", ".join("?" * len(statuses)))
            params.extend(statuses)
        sql = _select(DEPLOYMENT_FIELDS, "deployments")
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._rows(sql + " ORDER BY creation_time DESC, uuid DESC", params)
        return [_row(DEPLOYMENT_FIELDS, row) for row in rows]

    def update_deployment(self, uuid, expected_version, /, **fields):
        """Change ``fields`` if the stored version is still ``expected_version``; bump it."""
        columns = _columns(DEPLOYMENT_FIELDS, fields, "Deployment", creating=False)
        if "createdBy" in fields:
            columns["owner"] = owner_key(fields["createdBy"])
        if not isinstance(expected_version, int) or isinstance(expected_version, bool):
            raise StoreError("expected_version must be an integer, not %r" % (expected_version,))
        assignments = ["%s = ?" % column for column in columns]
        assignments += ["version = version + 1", "update_time = ?"]
        with self.transaction():
            changed = self._write(
                "UPDATE deployments SET %s WHERE uuid = ? AND version = ?" % ", ".join(assignments),
                list(columns.values()) + [now(), uuid, expected_version])
            if changed != 1:
                current = self.get_deployment(uuid)
                if current is None:
                    raise NotFound("Deployment %s does not exist" % uuid)
                raise ConflictError(
                    "Deployment %s is at version %d, not %d: it changed meanwhile; read it again"
                    % (uuid, current["version"], expected_version))
            return self.get_deployment(uuid)

    def delete_deployment(self, uuid):
        """Delete the deployment and, by cascade, its resources, attempts and events."""
        with self.transaction():
            if self._write("DELETE FROM deployments WHERE uuid = ?", (uuid,)) != 1:
                raise NotFound("Deployment %s does not exist" % uuid)

    # Resources

    def add_resource(self, deployment_uuid, resource):
        """Record a resource (intent before action); ``uuid`` defaults to a new uuid4."""
        resource = dict(resource)
        if resource.setdefault("deployment_uuid", deployment_uuid) != deployment_uuid:
            raise StoreError("Resource deployment_uuid %s is not %s"
                             % (resource["deployment_uuid"], deployment_uuid))
        if resource.get("uuid") is None:
            resource["uuid"] = str(uuidlib.uuid4())
        columns = _columns(RESOURCE_FIELDS, resource, "Resource", creating=True)
        stamp = now()
        columns.update(creation_time=stamp, update_time=stamp)
        with self.transaction():
            self._require_deployment(deployment_uuid)
            if not self._insert("resources", columns):
                key = columns["idempotency_key"]
                if key is not None and self.find_resource(deployment_uuid, key):
                    raise ConflictError("Deployment %s already has a resource with idempotency "
                                        "key %s" % (deployment_uuid, key))
                raise ConflictError("Resource %s already exists" % columns["uuid"])
            return self.get_resource(columns["uuid"])

    def get_resource(self, uuid):
        return self._resource("uuid = ?", (uuid,))

    def find_resource(self, deployment_uuid, idempotency_key):
        return self._resource("deployment_uuid = ? AND idempotency_key = ?",
                              (deployment_uuid, idempotency_key))

    def update_resource(self, uuid, /, **fields):
        columns = _columns(RESOURCE_FIELDS, fields, "Resource", creating=False)
        assignments = ["%s = ?" % column for column in columns] + ["update_time = ?"]
        with self.transaction():
            changed = self._write("UPDATE resources SET %s WHERE uuid = ?" % ", ".join(assignments),
                                  list(columns.values()) + [now(), uuid])
            if changed != 1:
                raise NotFound("Resource %s does not exist" % uuid)
            return self.get_resource(uuid)

    def list_resources(self, deployment_uuid, node_name=None):
        """In creation order; only those of TOSCA node ``node_name`` when given."""
        sql = _select(RESOURCE_FIELDS, "resources") + " WHERE deployment_uuid = ?"
        params = [deployment_uuid]
        if node_name is not None:
            sql += " AND tosca_node_name = ?"
            params.append(node_name)
        rows = self._rows(sql + " ORDER BY seq", params)
        return [_row(RESOURCE_FIELDS, row) for row in rows]

    def delete_resource(self, uuid):
        with self.transaction():
            if self._write("DELETE FROM resources WHERE uuid = ?", (uuid,)) != 1:
                raise NotFound("Resource %s does not exist" % uuid)

    # Attempts (one per site tried) and events (what happened, for humans and callbacks)

    def add_attempt(self, deployment_uuid, site):
        if not isinstance(site, str) or not site:
            raise StoreError("An attempt's site must be a non-empty string, not %r" % (site,))
        with self.transaction():
            self._require_deployment(deployment_uuid)
            attempt_id = self._insert_id(
                "INSERT INTO attempts (deployment_uuid, site, start_time) VALUES (?, ?, ?)",
                (deployment_uuid, site, now()))
            return self._attempt(attempt_id)

    def finish_attempt(self, attempt_id, error=None):
        """Close the attempt, failed when ``error`` (a message) is given; only once."""
        if error is not None and not isinstance(error, str):
            raise StoreError("An attempt's error must be a string, not %r" % (error,))
        with self.transaction():
            changed = self._write("UPDATE attempts SET end_time = ?, error = ? "
                                  "WHERE id = ? AND end_time IS NULL", (now(), error, attempt_id))
            attempt = self._attempt(attempt_id)
            if attempt is None:
                raise NotFound("Attempt %s does not exist" % attempt_id)
            if changed != 1:
                raise ConflictError("Attempt %s already ended at %s" % (attempt_id, attempt["end"]))
            return attempt

    def list_attempts(self, deployment_uuid):
        rows = self._rows("SELECT id, site, start_time, end_time, error FROM attempts "
                          "WHERE deployment_uuid = ? ORDER BY id", (deployment_uuid,))
        return [_attempt(row) for row in rows]

    def add_event(self, deployment_uuid, kind, message, data=None):
        if not isinstance(kind, str) or not kind or not isinstance(message, str):
            raise StoreError("An event needs a kind (non-empty string) and a message (string), "
                             "not %r and %r" % (kind, message))
        try:
            encoded = None if data is None else _dumps(data)
        except (TypeError, ValueError) as exc:
            raise StoreError("Event data is not JSON: %s" % exc) from None
        with self.transaction():
            self._require_deployment(deployment_uuid)
            event_id = self._insert_id(
                "INSERT INTO events (deployment_uuid, kind, message, data, event_time) "
                "VALUES (?, ?, ?, ?, ?)", (deployment_uuid, kind, message, encoded, now()))
            rows = self._rows("SELECT id, kind, message, data, event_time FROM events WHERE id = ?",
                              (event_id,))
            return _event(rows[0])

    def list_events(self, deployment_uuid):
        rows = self._rows("SELECT id, kind, message, data, event_time FROM events "
                          "WHERE deployment_uuid = ? ORDER BY id", (deployment_uuid,))
        return [_event(row) for row in rows]

    # Helpers

    def _insert(self, table, columns):
        """Insert a row unless it breaks a unique constraint; True when inserted."""
        sql = "INSERT INTO %s (%s) VALUES (%s) ON CONFLICT DO NOTHING" % (
            table, ", ".join(columns), ", ".join("?" * len(columns)))
        return self._write(sql, list(columns.values())) == 1

    def _insert_id(self, sql, params):
        with self._lock:
            return self._db.insert_id(sql, params)

    def _require_deployment(self, uuid):
        if not self._rows("SELECT 1 FROM deployments WHERE uuid = ?", (uuid,)):
            raise NotFound("Deployment %s does not exist" % uuid)

    def _resource(self, where, params):
        rows = self._rows(_select(RESOURCE_FIELDS, "resources") + " WHERE " + where, params)
        return _row(RESOURCE_FIELDS, rows[0]) if rows else None

    def _attempt(self, attempt_id):
        rows = self._rows("SELECT id, site, start_time, end_time, error FROM attempts WHERE id = ?",
                          (attempt_id,))
        return _attempt(rows[0]) if rows else None
