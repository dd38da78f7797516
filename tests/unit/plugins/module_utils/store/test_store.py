# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store's API on both backends: deployments, resources, attempts, events, transactions."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import datetime

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.store import (
    ConflictError,
    NotFound,
    StoreError,
    indigo_time,
)

INDIGO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d\+0000$")
OWNER = {"issuer": "https://iam.example.org/", "subject": "abc-123"}


def _deployment(**fields):
    fields.setdefault("uuid", str(uuid.uuid4()))
    fields.setdefault("template", "tosca_definitions_version: tosca_simple_yaml_1_0\n")
    return fields


def _count(store, table):
    return store._rows("SELECT COUNT(*) FROM %s" % table)[0][0]


# Deployments

def test_create_sets_defaults_version_and_times(store):
    created = store.create_deployment(_deployment(uuid="d-1"))
    assert created["uuid"] == "d-1"
    assert created["version"] == 1
    assert created["status"] == "CREATE_IN_PROGRESS"
    assert created["task"] == "NONE"
    assert created["parameters"] == {} and created["outputs"] == {} and created["metadata"] == {}
    assert created["sites"] == [] and created["keepLastAttempt"] is False
    assert created["statusReason"] is None and created["createdBy"] is None
    assert INDIGO_TIME.match(created["creationTime"]) and created["updateTime"] == created[
        "creationTime"]
    assert store.get_deployment("d-1") == created


def test_create_keeps_every_field(store):
    fields = _deployment(
        status="CREATE_COMPLETE", statusReason=None, task="DEPLOYER",
        parameters={"n": 2, "nested": {"list": [1, "é", None, True]}},
        outputs={"url": "http://x"}, cloudProviderName="provider-RECAS-BARI",
        cloudProviderEndpoint={"cpEndpoint": "https://keystone:5000/v3",
                               "deploymentType": "OPENSTACK"},
        endpoint="https://im/infrastructures/1", createdBy=OWNER, userGroup="group-a",
        callback="https://cb.example.org/", timeoutMins=60, providerTimeoutMins=30,
        maxProvidersRetry=2, keepLastAttempt=True, sites=["site-a", "site-b"],
        metadata={"wait": True})
    created = store.create_deployment(fields)
    assert {key: created[key] for key in fields} == fields


def test_create_refuses_duplicate_uuid_without_changing_the_first(store):
    store.create_deployment(_deployment(uuid="d-1", userGroup="first"))
    with pytest.raises(ConflictError, match="d-1 already exists"):
        store.create_deployment(_deployment(uuid="d-1", userGroup="second"))
    assert store.get_deployment("d-1")["userGroup"] == "first"


@pytest.mark.parametrize("fields, message", [
    ({"template": "x"}, "uuid is required"),
    ({"uuid": "d", "colour": 1, "shape": 2}, "Unknown Deployment field.*colour, shape"),
    ({"uuid": "d", "version": 7}, "version cannot be given"),
    ({"uuid": "d", "creationTime": "2023-10-27T13:24+0000"}, "creationTime cannot be given"),
    ({"uuid": "d", "status": "RUNNING"}, "Invalid Deployment status 'RUNNING'"),
    ({"uuid": "d", "status": None}, "status is required"),
    ({"uuid": "d", "task": "BUSY"}, "Invalid Deployment task 'BUSY'"),
    ({"uuid": "d", "parameters": ["a"]}, "parameters must be a mapping, not list"),
    ({"uuid": "d", "timeoutMins": True}, "timeoutMins must be an integer, not bool"),
    ({"uuid": "d", "timeoutMins": "60"}, "timeoutMins must be an integer, not str"),
    ({"uuid": "d", "keepLastAttempt": 1}, "keepLastAttempt must be a boolean"),
    ({"uuid": "d", "createdBy": {"subject": "s"}}, "createdBy must be a string or"),
    ({"uuid": "d", "outputs": {"when": datetime(2023, 1, 1)}}, "outputs is not JSON"),
])
def test_create_validates_fields(store, fields, message):
    with pytest.raises(StoreError, match=message):
        store.create_deployment(fields)
    assert store.list_deployments() == []


def test_get_missing_is_none(store):
    assert store.get_deployment("nope") is None


def test_list_is_newest_first_and_filters(store):
    a = store.create_deployment(_deployment(createdBy=OWNER, userGroup="g1"))
    b = store.create_deployment(_deployment(createdBy=OWNER, userGroup="g2",
                                            status="CREATE_COMPLETE"))
    c = store.create_deployment(_deployment(createdBy="other@issuer", userGroup="g1",
                                            status="CREATE_FAILED"))

    def uuids(**filters):
        return [d["uuid"] for d in store.list_deployments(**filters)]

    assert uuids() == [c["uuid"], b["uuid"], a["uuid"]]
    assert uuids(created_by=OWNER) == [b["uuid"], a["uuid"]]
    # INDIGO's createdBy query form, <subject>@<issuer>, finds the same owner.
    assert uuids(created_by="abc-123@https://iam.example.org/") == [b["uuid"], a["uuid"]]
    assert uuids(created_by="other@issuer") == [c["uuid"]]
    assert uuids(user_group="g1") == [c["uuid"], a["uuid"]]
    assert uuids(status="CREATE_COMPLETE") == [b["uuid"]]
    assert uuids(status=["CREATE_FAILED", "CREATE_IN_PROGRESS"]) == [c["uuid"], a["uuid"]]
    assert uuids(created_by=OWNER, user_group="g1", status="CREATE_IN_PROGRESS") == [a["uuid"]]
    assert uuids(user_group="nobody") == []
    with pytest.raises(StoreError, match="'DONE'"):
        store.list_deployments(status="DONE")


def test_update_changes_fields_and_bumps_version(store):
    created = store.create_deployment(_deployment(parameters={"a": 1}, userGroup="g"))
    updated = store.update_deployment(created["uuid"], 1, status="CREATE_COMPLETE",
                                      outputs={"ip": "10.0.0.1"}, statusReason=None,
                                      createdBy=OWNER)
    assert updated["version"] == 2
    assert updated["status"] == "CREATE_COMPLETE" and updated["outputs"] == {"ip": "10.0.0.1"}
    assert updated["parameters"] == {"a": 1} and updated["userGroup"] == "g"
    assert updated["creationTime"] == created["creationTime"]
    assert store.get_deployment(created["uuid"]) == updated
    # The owner filter follows a changed createdBy.
    assert [d["uuid"] for d in store.list_deployments(created_by=OWNER)] == [created["uuid"]]
    assert store.update_deployment(created["uuid"], 2)["version"] == 3  # a bare touch bumps too


def test_update_with_stale_version_conflicts_and_changes_nothing(store):
    created = store.create_deployment(_deployment())
    store.update_deployment(created["uuid"], 1, status="CREATE_COMPLETE")
    with pytest.raises(ConflictError, match="at version 2, not 1"):
        store.update_deployment(created["uuid"], 1, status="CREATE_FAILED", statusReason="x")
    current = store.get_deployment(created["uuid"])
    assert (current["version"], current["status"], current["statusReason"]) == (
        2, "CREATE_COMPLETE", None)


@pytest.mark.parametrize("fields, message", [
    ({"uuid": "other"}, "uuid cannot be changed"),
    ({"version": 9}, "version cannot be changed"),
    ({"updateTime": "x"}, "updateTime cannot be changed"),
    ({"status": "FINISHED"}, "Invalid Deployment status 'FINISHED'"),
    ({"bogus": 1}, "Unknown Deployment field.*bogus"),
    ({"sites": "site-a"}, "sites must be a list"),
])
def test_update_validates_fields(store, fields, message):
    created = store.create_deployment(_deployment())
    with pytest.raises(StoreError, match=message):
        store.update_deployment(created["uuid"], 1, **fields)
    assert store.get_deployment(created["uuid"]) == created


def test_update_missing_is_not_found(store):
    with pytest.raises(NotFound, match="nope does not exist"):
        store.update_deployment("nope", 1, status="UNKNOWN")


def test_delete_cascades_to_its_own_rows_only(store):
    doomed = store.create_deployment(_deployment())["uuid"]
    kept = store.create_deployment(_deployment())["uuid"]
    for owner in (doomed, kept):
        store.add_resource(owner, {"toscaNodeName": "vm"})
        store.add_attempt(owner, "site-a")
        store.add_event(owner, "info", "hello")
    resource = store.list_resources(doomed)[0]["uuid"]
    store.delete_deployment(doomed)
    assert store.get_deployment(doomed) is None and store.get_resource(resource) is None
    for table in ("deployments", "resources", "attempts", "events"):
        assert _count(store, table) == 1, table
    assert len(store.list_resources(kept)) == 1
    with pytest.raises(NotFound):
        store.delete_deployment(doomed)


# Resources

def test_add_resource_generates_uuid_and_defaults(store):
    deployment = store.create_deployment(_deployment())["uuid"]
    resource = store.add_resource(deployment, {"toscaNodeName": "vm",
                                               "toscaNodeType": "tosca.nodes.indigo.Compute"})
    assert uuid.UUID(resource["uuid"]).version == 4
    assert resource["deployment_uuid"] == deployment
    assert resource["state"] == "INITIAL" and resource["metadata"] == {}
    assert resource["requiredBy"] == [] and resource["idempotency_key"] is None
    assert INDIGO_TIME.match(resource["creationTime"])
    assert store.get_resource(resource["uuid"]) == resource
    given = store.add_resource(deployment, {"uuid": "r-given", "state": "CREATING",
                                            "requiredBy": [resource["uuid"]]})
    assert given["uuid"] == "r-given" and given["requiredBy"] == [resource["uuid"]]


def test_resources_list_in_creation_order_and_by_node(store):
    deployment = store.create_deployment(_deployment())["uuid"]
    names = ["wn", "fe", "wn", "db", "wn"]
    added = [store.add_resource(deployment, {"toscaNodeName": name})["uuid"] for name in names]
    assert [r["uuid"] for r in store.list_resources(deployment)] == added
    assert [r["uuid"] for r in store.list_resources(deployment, node_name="wn")] == [
        added[0], added[2], added[4]]
    assert store.list_resources(deployment, node_name="none") == []


def test_idempotency_key_is_unique_per_deployment(store):
    one = store.create_deployment(_deployment())["uuid"]
    two = store.create_deployment(_deployment())["uuid"]
    first = store.add_resource(one, {"toscaNodeName": "vm", "idempotency_key": "k-vm-0"})
    with pytest.raises(ConflictError, match="idempotency key k-vm-0"):
        store.add_resource(one, {"toscaNodeName": "other", "idempotency_key": "k-vm-0"})
    assert store.find_resource(one, "k-vm-0") == first
    # Another deployment may use the same key; resources without a key never clash.
    assert store.add_resource(two, {"idempotency_key": "k-vm-0"})["deployment_uuid"] == two
    store.add_resource(one, {})
    store.add_resource(one, {})
    assert len(store.list_resources(one)) == 3
    assert store.find_resource(one, "k-missing") is None
    store.add_resource(one, {"uuid": "r-1"})
    with pytest.raises(ConflictError, match="Resource r-1 already exists"):
        store.add_resource(two, {"uuid": "r-1"})


def test_add_resource_checks_its_deployment(store):
    deployment = store.create_deployment(_deployment())["uuid"]
    with pytest.raises(NotFound, match="missing does not exist"):
        store.add_resource("missing", {"toscaNodeName": "vm"})
    with pytest.raises(StoreError, match="deployment_uuid other is not"):
        store.add_resource(deployment, {"deployment_uuid": "other"})
    with pytest.raises(StoreError, match="Invalid Resource state 'RUNNING'"):
        store.add_resource(deployment, {"state": "RUNNING"})
    with pytest.raises(StoreError, match="Unknown Resource field.*physical_id"):
        store.add_resource(deployment, {"physical_id": "vm-1"})
    assert store.list_resources(deployment) == []


def test_update_resource(store):
    deployment = store.create_deployment(_deployment())["uuid"]
    resource = store.add_resource(deployment, {"toscaNodeName": "vm", "idempotency_key": "k"})
    updated = store.update_resource(resource["uuid"], state="CREATED", physicalId="vm-42",
                                    site="site-a", metadata={"flavor": "m1.small"})
    assert (updated["state"], updated["physicalId"], updated["site"]) == (
        "CREATED", "vm-42", "site-a")
    assert updated["metadata"] == {"flavor": "m1.small"} and updated["toscaNodeName"] == "vm"
    assert store.get_resource(resource["uuid"]) == updated
    for fields, message in (({"state": "DONE"}, "'DONE'"),
                            ({"idempotency_key": "k2"}, "idempotency_key cannot be changed"),
                            ({"deployment_uuid": "x"}, "deployment_uuid cannot be changed")):
        with pytest.raises(StoreError, match=message):
            store.update_resource(resource["uuid"], **fields)
    assert store.get_resource(resource["uuid"]) == updated
    with pytest.raises(NotFound):
        store.update_resource("nope", state="ERROR")


def test_delete_resource(store):
    deployment = store.create_deployment(_deployment())["uuid"]
    gone = store.add_resource(deployment, {})["uuid"]
    kept = store.add_resource(deployment, {})["uuid"]
    store.delete_resource(gone)
    assert [r["uuid"] for r in store.list_resources(deployment)] == [kept]
    with pytest.raises(NotFound):
        store.delete_resource(gone)


# Attempts and events

def test_attempts(store):
    deployment = store.create_deployment(_deployment())["uuid"]
    first = store.add_attempt(deployment, "site-a")
    assert first == {"id": first["id"], "site": "site-a", "start": first["start"], "end": None,
                     "error": None}
    failed = store.finish_attempt(first["id"], error="IM 500: no quota")
    assert failed["error"] == "IM 500: no quota"
    assert datetime.fromisoformat(failed["end"]) >= datetime.fromisoformat(failed["start"])
    second = store.add_attempt(deployment, "site-b")
    assert store.list_attempts(deployment) == [failed, second]
    done = store.finish_attempt(second["id"])
    assert done["error"] is None and done["end"] is not None
    with pytest.raises(ConflictError, match="already ended"):
        store.finish_attempt(second["id"], error="late")
    assert store.list_attempts(deployment)[1] == done
    with pytest.raises(NotFound):
        store.finish_attempt(987654)
    with pytest.raises(NotFound):
        store.add_attempt("missing", "site-a")
    with pytest.raises(StoreError, match="site"):
        store.add_attempt(deployment, "")


def test_events(store):
    deployment = store.create_deployment(_deployment())["uuid"]
    one = store.add_event(deployment, "status", "CREATE_IN_PROGRESS",
                          data={"sites": ["a", "b"], "n": 1.5})
    two = store.add_event(deployment, "failover", "site a failed")
    assert (one["kind"], one["message"], one["data"]) == (
        "status", "CREATE_IN_PROGRESS", {"sites": ["a", "b"], "n": 1.5})
    assert two["data"] is None and datetime.fromisoformat(two["time"]).tzinfo is not None
    assert store.list_events(deployment) == [one, two]
    with pytest.raises(StoreError, match="not JSON"):
        store.add_event(deployment, "x", "y", data={1, 2})
    with pytest.raises(NotFound):
        store.add_event("missing", "x", "y")
    assert len(store.list_events(deployment)) == 2


# Transactions, times, threads

def test_transaction_rolls_back_everything_on_error(store):
    deployment = store.create_deployment(_deployment())["uuid"]
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.update_deployment(deployment, 1, status="CREATE_COMPLETE")
            store.add_resource(deployment, {"toscaNodeName": "vm"})
            with store.transaction():  # nested: joins, no commit of its own
                store.add_event(deployment, "status", "complete")
            raise RuntimeError("boom")
    assert store.get_deployment(deployment)["version"] == 1
    assert store.list_resources(deployment) == [] and store.list_events(deployment) == []


def test_transaction_goes_on_after_a_caught_conflict(store):
    deployment = store.create_deployment(_deployment())["uuid"]
    with store.transaction():
        first = store.add_resource(deployment, {"idempotency_key": "k"})
        with pytest.raises(ConflictError):
            store.add_resource(deployment, {"idempotency_key": "k"})
        with pytest.raises(ConflictError):
            store.update_deployment(deployment, 5, status="UNKNOWN")
        # On PostgreSQL a failed statement would poison the transaction; none was sent.
        store.update_deployment(deployment, 1, status="CREATE_COMPLETE")
    assert store.find_resource(deployment, "k") == first
    assert store.get_deployment(deployment)["status"] == "CREATE_COMPLETE"


def test_times_are_indigo_format_outside_full_precision_inside(store):
    deployment = store.create_deployment(_deployment())["uuid"]
    stored = store._rows("SELECT creation_time FROM deployments")[0][0]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$", stored)
    assert store.get_deployment(deployment)["creationTime"] == indigo_time(stored)
    assert indigo_time("2023-10-27T13:24:59.999999+00:00") == "2023-10-27T13:24+0000"


def test_one_store_is_safe_across_threads(store):
    deployment = store.create_deployment(_deployment())["uuid"]
    errors = []

    def work(n):
        try:
            for i in range(10):
                with store.transaction():
                    store.add_resource(deployment, {"idempotency_key": "%d-%d" % (n, i)})
                    store.list_resources(deployment)
        except Exception as exc:  # collected, so that the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.list_resources(deployment)) == 60
