# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PostgreSQL test service, for every test that needs it (tests/unit/conftest.py loads
these fixtures as a plugin)."""

from __future__ import annotations

import json
import os
import uuid

import pytest

SERVICES_FILE = os.path.join(os.path.expanduser("~"), ".paas-orchestrator-test", "services.json")
HINT = "run tests/tooling/services.sh start postgres"


@pytest.fixture(scope="session")
def postgres_url():
    """The test server's URL; a missing server fails the PostgreSQL tests, never skips them."""
    try:
        with open(SERVICES_FILE) as handle:
            url = json.load(handle)["postgres"]["url"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        pytest.fail("No PostgreSQL test service recorded in %s (%s): %s"
                    % (SERVICES_FILE, exc, HINT), pytrace=False)
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=5).close()
    except Exception as exc:  # ImportError or any connection error: same remedy
        pytest.fail("PostgreSQL test service unusable (%s: %s): %s"
                    % (type(exc).__name__, " ".join(str(exc).split()), HINT), pytrace=False)
    return url


@pytest.fixture
def postgres_schema_url(postgres_url):
    """A URL whose search_path is a new, empty schema, dropped after the test."""
    import psycopg

    schema = "test_" + uuid.uuid4().hex
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA %s" % schema)
    yield postgres_url + "?options=-csearch_path%%3D%s" % schema
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA %s CASCADE" % schema)
