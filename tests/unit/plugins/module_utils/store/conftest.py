# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Store tests run on both backends: ``store_url`` is a fresh SQLite file or a fresh PostgreSQL
schema (of the server that tests/tooling/services.sh started) for each test."""

from __future__ import annotations

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.store import open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return "sqlite://" + str(tmp_path / "store.db")
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def store(store_url):
    with open_store(store_url) as opened:
        yield opened
