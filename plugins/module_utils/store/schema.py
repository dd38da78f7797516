# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The logical schema: the migrations that build it, and how API fields map to columns.

MIGRATIONS is append-only: version N is ``MIGRATIONS[N - 1]``; a released entry is never edited,
a change is a new entry. Dicts and lists are JSON text and times ISO-8601 UTC text with
microseconds (fixed width, so they sort as text), so both backends hold the same schema.
"""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.store.enums import (
    NodeStates,
    Status,
    Task,
)

MIGRATIONS = (
    # 1: INDIGO's deployments and resources.
    (
        """CREATE TABLE deployments (
            uuid TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            status TEXT NOT NULL,
            status_reason TEXT,
            task TEXT NOT NULL,
            template TEXT,
            parameters TEXT NOT NULL,
            outputs TEXT NOT NULL,
            cloud_provider_name TEXT,
            cloud_provider_endpoint TEXT NOT NULL,
            endpoint TEXT,
            created_by TEXT,
            owner TEXT,
            user_group TEXT,
            callback TEXT,
            timeout_mins INTEGER,
            provider_timeout_mins INTEGER,
            max_providers_retry INTEGER,
            keep_last_attempt BOOLEAN NOT NULL,
            creation_time TEXT NOT NULL,
            update_time TEXT NOT NULL)""",
        "CREATE INDEX deployments_creation ON deployments (creation_time)",
        "CREATE INDEX deployments_owner ON deployments (owner)",
        "CREATE INDEX deployments_user_group ON deployments (user_group)",
        """CREATE TABLE resources (
            seq {serial},
            uuid TEXT NOT NULL UNIQUE,
            deployment_uuid TEXT NOT NULL REFERENCES deployments (uuid) ON DELETE CASCADE,
            tosca_node_name TEXT,
            tosca_node_type TEXT,
            state TEXT NOT NULL,
            physical_id TEXT,
            site TEXT,
            metadata TEXT NOT NULL,
            required_by TEXT NOT NULL,
            idempotency_key TEXT,
            creation_time TEXT NOT NULL,
            update_time TEXT NOT NULL,
            UNIQUE (deployment_uuid, idempotency_key))""",
    ),
    # 2: ours: the sites of a deployment and free metadata; the attempt and event logs.
    (
        "ALTER TABLE deployments ADD COLUMN sites TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE deployments ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}'",
        """CREATE TABLE attempts (
            id {serial},
            deployment_uuid TEXT NOT NULL REFERENCES deployments (uuid) ON DELETE CASCADE,
            site TEXT NOT NULL,
            start_time TEXT NOT NULL,
            end_time TEXT,
            error TEXT)""",
        "CREATE INDEX attempts_deployment ON attempts (deployment_uuid)",
        """CREATE TABLE events (
            id {serial},
            deployment_uuid TEXT NOT NULL REFERENCES deployments (uuid) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            message TEXT NOT NULL,
            data TEXT,
            event_time TEXT NOT NULL)""",
        "CREATE INDEX events_deployment ON events (deployment_uuid)",
    ),
)
LATEST = len(MIGRATIONS)


class Field:
    """An API field: its column, kind (text, int, bool, dict, list, owner, time), whether it
    may be null, its default on create, its allowed values, and whether callers may write it
    on create (``create``) and on update (``update``)."""

    def __init__(self, name, column, kind="text", null=True, default=None, choices=None,
                 create=True, update=True):
        self.name = name
        self.column = column
        self.kind = kind
        self.null = null and choices is None and kind not in ("bool", "dict", "list")
        self.default = default
        self.choices = choices
        self.create = create
        self.update = update


def _managed(name, column, kind):
    return Field(name, column, kind, create=False, update=False)


DEPLOYMENT_FIELDS = (
    Field("uuid", "uuid", null=False, update=False),
    Field("status", "status", default=Status.CREATE_IN_PROGRESS, choices=Status.ALL),
    Field("statusReason", "status_reason"),
    Field("task", "task", default=Task.NONE, choices=Task.ALL),
    Field("template", "template"),
    Field("parameters", "parameters", "dict", default={}),
    Field("outputs", "outputs", "dict", default={}),
    Field("cloudProviderName", "cloud_provider_name"),
    Field("cloudProviderEndpoint", "cloud_provider_endpoint", "dict", default={}),
    Field("endpoint", "endpoint"),
    Field("createdBy", "created_by", "owner"),
    Field("userGroup", "user_group"),
    Field("callback", "callback"),
    Field("timeoutMins", "timeout_mins", "int"),
    Field("providerTimeoutMins", "provider_timeout_mins", "int"),
    Field("maxProvidersRetry", "max_providers_retry", "int"),
    Field("keepLastAttempt", "keep_last_attempt", "bool", default=False),
    Field("sites", "sites", "list", default=[]),
    Field("metadata", "metadata", "dict", default={}),
    _managed("creationTime", "creation_time", "time"),
    _managed("updateTime", "update_time", "time"),
    _managed("version", "version", "int"),
)

RESOURCE_FIELDS = (
    Field("uuid", "uuid", null=False, update=False),
    Field("deployment_uuid", "deployment_uuid", null=False, update=False),
    Field("toscaNodeName", "tosca_node_name"),
    Field("toscaNodeType", "tosca_node_type"),
    Field("state", "state", default=NodeStates.INITIAL, choices=NodeStates.ALL),
    Field("physicalId", "physical_id"),
    Field("site", "site"),
    Field("metadata", "metadata", "dict", default={}),
    Field("requiredBy", "required_by", "list", default=[]),
    # The identity of the real-world object (invariant 1): set once, before it exists.
    Field("idempotency_key", "idempotency_key", update=False),
    _managed("creationTime", "creation_time", "time"),
    _managed("updateTime", "update_time", "time"),
)
