# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The persistent store: deployments, resources, attempts and events (docs/store.md).

    from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store
    with open_store(url) as store:
        store.create_deployment({"uuid": ..., "template": ...})
"""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.store.core import (
    STORE_ENV,
    Store,
    default_store_path,
    indigo_time,
    open_store,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.store.enums import (
    DeploymentType,
    NodeStates,
    Status,
    Task,
    resource_state_after,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.store.errors import (
    ConflictError,
    NotFound,
    StoreError,
)

__all__ = [
    "STORE_ENV", "ConflictError", "DeploymentType", "NodeStates", "NotFound", "Status", "Store",
    "StoreError", "Task", "default_store_path", "indigo_time", "open_store",
    "resource_state_after",
]
