# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the emulator tests: an OpenNebula emulator on loopback and pyone clients."""

from __future__ import annotations

import time

import pyone
import pytest

from ansible_collections.paas.orchestrator.tests.emulators.opennebula import EmulatorServer

USER_SESSION = "paas:paas-secret"
ADMIN_SESSION = "oneadmin:opennebula"


@pytest.fixture
def one_server():
    """A fresh emulator (boot 0 s, no faults) serving on 127.0.0.1 in this process."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def one(one_server):
    """pyone as the regular user ``paas`` (uid 2, group users)."""
    return pyone.OneServer(one_server.url, session=USER_SESSION)


@pytest.fixture
def one_admin(one_server):
    return pyone.OneServer(one_server.url, session=ADMIN_SESSION)


def wait_lcm(one, vid, lcm_state, timeout=10.0):
    """Poll one.vm.info as a driver would until LCM_STATE, returns the VM."""
    deadline = time.monotonic() + timeout
    while True:
        vm = one.vm.info(vid)
        if vm.LCM_STATE == lcm_state or time.monotonic() > deadline:
            return vm
        time.sleep(0.02)
