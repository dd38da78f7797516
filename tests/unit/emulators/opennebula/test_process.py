# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator as a standalone process with a state directory: killed, resumed, inspected."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import xmlrpc.client

import pyone

from ansible_collections.paas.orchestrator.tests.emulators.opennebula import OpenNebulaEmulator

from .conftest import USER_SESSION

COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 7))
MODULE = "ansible_collections.paas.orchestrator.tests.emulators.opennebula"


def start(state_dir, *args):
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT)
    process = subprocess.Popen(
        [sys.executable, "-m", MODULE, "--port", "0", "--state-dir", str(state_dir), *args],
        stdout=subprocess.PIPE, env=env, text=True)
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    return process, url


def test_killed_process_resumes_from_its_state_dir(tmp_path):
    process, url = start(tmp_path, "--max-vms", "5", "--knobs", '{"fail_pattern": "^bad"}')
    try:
        one = pyone.OneServer(url, session=USER_SESSION)
        vid = one.vm.allocate('NAME=web\nCPU=1\nMEMORY=64\nNIC=[NETWORK_ID=1]\nROLE=frontend')
        bad = one.vm.allocate('NAME=bad-1\nCPU=1\nMEMORY=64')
        admin = xmlrpc.client.ServerProxy(url, allow_none=True)
        assert admin.emulator.configure({"boot_seconds": 0.0})["max_vms"] == 5
        ip = one.vm.info(vid).TEMPLATE["NIC"]["IP"]
    finally:
        process.kill()          # no chance to save on the way out
        process.wait()
    state = json.loads((tmp_path / "opennebula.json").read_text())
    assert state["counters"]["one.vm.allocate"] == 2
    assert state["pools"]["vm"][str(vid)]["name"] == "web"

    process, url = start(tmp_path)
    try:
        one = pyone.OneServer(url, session=USER_SESSION)
        vm = one.vm.info(vid)
        assert (vm.LCM_STATE, vm.TEMPLATE["NIC"]["IP"], vm.USER_TEMPLATE["ROLE"]) == (
            3, ip, "frontend")
        assert one.vm.info(bad).LCM_STATE == 36
        assert one.user.info(-1).VM_QUOTA.VM[0].VMS == "5"            # knobs came back too
        assert one.vm.allocate("NAME=next\nCPU=1\nMEMORY=64") == bad + 1
        state = json.loads(xmlrpc.client.ServerProxy(url).emulator.state())
        assert state["counters"]["one.vm.allocate"] == 3
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_in_process_state_dir_round_trip(tmp_path):
    cloud = OpenNebulaEmulator(state_dir=str(tmp_path), boot_seconds=0.0)
    user = cloud.users[2]
    with cloud.lock:
        vid = cloud.allocate_vm(user, [["NAME", "kept"], ["CPU", "1"], ["MEMORY", "64"]])
        cloud.save()
    again = OpenNebulaEmulator(state_dir=str(tmp_path))
    assert again.vms[vid]["name"] == "kept" and again.knobs == cloud.knobs
