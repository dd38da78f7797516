# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""INDIGO's enum spellings and its status -> resource state rules (spec 1.4, 2.8)."""

from __future__ import annotations

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.store.enums import (
    DeploymentType,
    NodeStates,
    Status,
    Task,
    resource_state_after,
)


def test_spellings_and_order_are_indigo_s():
    assert Status.ALL == (
        "CREATE_IN_PROGRESS", "CREATE_COMPLETE", "CREATE_FAILED", "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE", "UPDATE_FAILED", "DELETE_IN_PROGRESS", "DELETE_COMPLETE",
        "DELETE_FAILED", "UNKNOWN")
    assert NodeStates.ALL == (
        "INITIAL", "CREATING", "CREATED", "CONFIGURING", "CONFIGURED", "STARTING", "STARTED",
        "STOPPING", "STOPPED", "DELETING", "ERROR")
    assert NodeStates.TRANSITIONAL == {"CREATING", "CONFIGURING", "STARTING", "STOPPING",
                                       "DELETING"}
    assert Task.ALL == ("NONE", "MONITORING", "QOS", "BROKERING", "DMS", "DEPLOYER", "UNKNOWN")
    assert DeploymentType.ALL == ("CHRONOS", "MARATHON", "TOSCA", "QCG", "KUBERNETES_HELM_CHART")
    assert Status.CREATE_COMPLETE == "CREATE_COMPLETE" and NodeStates.ERROR == "ERROR"


# (new deployment status, resource state before, after); None: the row is removed.
TRANSITIONS = [
    ("CREATE_IN_PROGRESS", "INITIAL", "CREATING"),
    ("CREATE_COMPLETE", "CONFIGURING", "STARTED"),
    ("UPDATE_IN_PROGRESS", "STOPPED", "CONFIGURING"),
    ("UPDATE_IN_PROGRESS", "ERROR", "CONFIGURING"),
    ("UPDATE_IN_PROGRESS", "CREATING", "CREATING"),
    ("UPDATE_IN_PROGRESS", "DELETING", "DELETING"),
    ("UPDATE_IN_PROGRESS", "STARTED", "STARTED"),
    ("UPDATE_COMPLETE", "DELETING", None),
    ("UPDATE_COMPLETE", "CONFIGURING", "STARTED"),
    ("UPDATE_FAILED", "STARTED", "STARTED"),
    ("UPDATE_FAILED", "CONFIGURING", "ERROR"),
    ("CREATE_FAILED", "STARTED", "ERROR"),
    ("DELETE_FAILED", "DELETING", "ERROR"),
    ("UNKNOWN", "STARTED", "ERROR"),
    ("DELETE_IN_PROGRESS", "STARTED", "DELETING"),
    ("DELETE_COMPLETE", "DELETING", None),
]


@pytest.mark.parametrize("status, before, after", TRANSITIONS)
def test_resource_state_after(status, before, after):
    assert resource_state_after(status, before) == after
