# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Concurrent writers in separate processes, each with its own connection, on both backends.

A barrier lines the workers up so that their calls really overlap. Fork, not spawn: the child
needs no import path (under ansible-test the collection is importable only through the
parent's collection loader) and uses no connection of the parent's.
"""

from __future__ import annotations

import multiprocessing

from ansible_collections.paas.orchestrator.plugins.module_utils.store import (
    ConflictError,
    open_store,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.store.schema import LATEST

WORKERS = 6
_CONTEXT = multiprocessing.get_context("fork")


def _run(target, url, *args):
    """Run ``target(url, barrier, n, *args)`` in WORKERS processes; their results, by worker."""
    barrier = _CONTEXT.Barrier(WORKERS)
    results = _CONTEXT.Queue()

    def main(n):
        try:
            results.put((n, target(url, barrier, n, *args)))
        except BaseException as exc:  # reported to the parent, which fails the test
            results.put((n, "error: %r" % exc))

    processes = [_CONTEXT.Process(target=main, args=(n,)) for n in range(WORKERS)]
    for process in processes:
        process.start()
    collected = dict(results.get(timeout=60) for process in processes)
    for process in processes:
        process.join(10)
    return [collected[n] for n in range(WORKERS)]


def _update_once(url, barrier, n, uuid):
    with open_store(url) as store:
        barrier.wait(10)
        try:
            store.update_deployment(uuid, 1, statusReason="worker %d" % n)
            return "won"
        except ConflictError:
            return "conflict"


def test_same_expected_version_exactly_one_wins(store, store_url):
    store.create_deployment({"uuid": "d"})
    outcomes = _run(_update_once, store_url, "d")
    assert sorted(outcomes) == ["conflict"] * (WORKERS - 1) + ["won"], outcomes
    final = store.get_deployment("d")
    assert final["version"] == 2
    assert final["statusReason"] == "worker %d" % outcomes.index("won")


def _increment(url, barrier, n, uuid, times):
    conflicts = done = 0
    with open_store(url) as store:
        barrier.wait(10)
        while done < times:
            current = store.get_deployment(uuid)
            counter = current["metadata"].get("counter", 0)
            try:
                store.update_deployment(uuid, current["version"], metadata={"counter": counter + 1})
                done += 1
            except ConflictError:
                conflicts += 1
    return conflicts


def test_read_modify_write_with_retries_loses_no_update(store, store_url):
    store.create_deployment({"uuid": "d"})
    conflicts = _run(_increment, store_url, "d", 15)
    assert all(isinstance(count, int) for count in conflicts), conflicts
    final = store.get_deployment("d")
    assert final["metadata"]["counter"] == WORKERS * 15
    assert final["version"] == 1 + WORKERS * 15


def _add_keyed(url, barrier, n, uuid):
    with open_store(url) as store:
        barrier.wait(10)
        try:
            return store.add_resource(uuid, {"idempotency_key": "vm-0", "site": str(n)})["uuid"]
        except ConflictError:
            return "conflict"


def test_same_idempotency_key_exactly_one_row(store, store_url):
    store.create_deployment({"uuid": "d"})
    outcomes = _run(_add_keyed, store_url, "d")
    winners = [outcome for outcome in outcomes if outcome != "conflict"]
    assert len(winners) == 1, outcomes
    assert [r["uuid"] for r in store.list_resources("d")] == winners


def _open_fresh(url, barrier, n):
    barrier.wait(10)
    with open_store(url) as store:
        store.create_deployment({"uuid": "d-%d" % n})
        return store.schema_version()


def test_first_opens_race_to_migrate_once(store_url):
    assert _run(_open_fresh, store_url) == [LATEST] * WORKERS
    with open_store(store_url) as store:
        assert store._rows("SELECT COUNT(*) FROM schema_version")[0][0] == LATEST
        assert len(store.list_deployments()) == WORKERS


def _add_many(url, barrier, n, uuid, count):
    with open_store(url) as store:
        barrier.wait(10)
        for i in range(count):
            store.add_resource(uuid, {"idempotency_key": "%d-%d" % (n, i)})
            store.add_event(uuid, "resource", "worker %d added %d" % (n, i))
    return "done"


def test_writers_of_different_rows_queue_instead_of_failing(store, store_url):
    # Each add is a read (the deployment exists) then a write: a writer that began its
    # transaction as a reader could not take the write lock once another had committed.
    store.create_deployment({"uuid": "d"})
    assert _run(_add_many, store_url, "d", 20) == ["done"] * WORKERS
    assert len(store.list_resources("d")) == WORKERS * 20
    assert len(store.list_events("d")) == WORKERS * 20
