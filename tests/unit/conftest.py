# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared across test folders (the real test services, local HTTP servers)."""

from __future__ import annotations

pytest_plugins = [
    "ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.staging_fixtures",
    "ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.store."
    "postgres_fixtures",
]
