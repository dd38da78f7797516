# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the sites tests: the four INDIGO servers (one set per test module), a closed
port and sites files written to tmp_path."""

from __future__ import annotations

import socket
import textwrap

import pytest

from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.sites import (
    fixture_servers,
)


@pytest.fixture(scope="module")
def indigo_module():
    with fixture_servers.indigo_servers() as servers:
        yield servers


@pytest.fixture
def indigo(indigo_module):
    """The INDIGO servers, with an empty request log."""
    del indigo_module.requests[:]
    return indigo_module


@pytest.fixture
def closed_url():
    """An http URL on a loopback port nothing listens on (connections are refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return "http://127.0.0.1:%d" % port


@pytest.fixture
def sites_file(tmp_path):
    """Write a sites file (dedented YAML text) and return its path."""
    def write(text, name="sites.yml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return str(path)
    return write
