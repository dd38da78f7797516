# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator through pyone, real XML-RPC over loopback: what a driver would see."""

from __future__ import annotations

import ipaddress
import time
import xml.etree.ElementTree as ET
import xmlrpc.client

import pyone
import pytest
from pyone import bindings

from ansible_collections.paas.orchestrator.tests.emulators.opennebula import (
    EmulatorServer, OpenNebulaEmulator, default_inventory)

from .conftest import ADMIN_SESSION, USER_SESSION, wait_lcm

ACTIVE, DONE, POWEROFF, PENDING, HOLD = 3, 6, 8, 1, 2
RUNNING, BOOT_FAILURE = 3, 36

WEB = """NAME = "web-1"
CPU = 0.5
VCPU = 2
MEMORY = 2048
DISK = [ IMAGE_ID = 0, SIZE = 20480 ]
NIC = [ NETWORK_ID = 0 ]
NIC = [ NETWORK = "private", NETWORK_UNAME = "oneadmin" ]
CONTEXT = [
  NETWORK = "YES",
  SSH_PUBLIC_KEY = "ssh-ed25519 AAAAC3Nza paas@ci",
  USER_DATA = "#cloud-config\\nruncmd:\\n  - echo \\"ok\\"" ]
LABELS = "paas/dep-42"
PAAS_DEPLOYMENT = "dep-42"
PAAS_NODE = "web"
"""


def small(name, extra=""):
    return 'NAME="%s"\nCPU=1\nMEMORY=512\nNIC=[NETWORK_ID=1]\n%s' % (name, extra)


def test_allocate_realistic_template_then_running_with_ips_and_tags(one):
    vid = one.vm.allocate(WEB)
    vm = wait_lcm(one, vid, RUNNING)
    assert (vm.ID, vm.NAME, vm.STATE, vm.LCM_STATE) == (vid, "web-1", ACTIVE, RUNNING)
    assert (vm.UNAME, vm.GNAME, vm.DEPLOY_ID) == ("paas", "users", "one-%d" % vid)
    public, private = vm.TEMPLATE["NIC"]
    assert ipaddress.ip_address(public["IP"]) in ipaddress.ip_network("198.51.100.0/24")
    assert ipaddress.ip_address(private["IP"]) in ipaddress.ip_network("10.10.0.0/24")
    assert (public["NETWORK"], private["NETWORK_ID"], private["NIC_ID"]) == ("public", "1", "1")
    assert private["MAC"] == "02:00:0a:0a:00:02"
    disk = vm.TEMPLATE["DISK"]
    assert (disk["IMAGE"], disk["SIZE"], disk["TARGET"], disk["ORIGINAL_SIZE"]) == (
        "ubuntu-22.04", "20480", "vda", "2252")
    context = vm.TEMPLATE["CONTEXT"]
    assert context["ETH0_IP"] == public["IP"] and context["ETH1_IP"] == private["IP"]
    assert context["SSH_PUBLIC_KEY"] == "ssh-ed25519 AAAAC3Nza paas@ci"
    assert context["USER_DATA"] == '#cloud-config\\nruncmd:\\n  - echo "ok"'
    assert (vm.TEMPLATE["CPU"], vm.TEMPLATE["VCPU"], vm.TEMPLATE["MEMORY"]) == ("0.5", "2", "2048")
    # what is not a VM attribute stays in USER_TEMPLATE: the tags a driver sets
    assert dict(vm.USER_TEMPLATE) == {"LABELS": "paas/dep-42", "PAAS_DEPLOYMENT": "dep-42",
                                      "PAAS_NODE": "web"}
    history = vm.HISTORY_RECORDS.HISTORY[0]
    assert history.HOSTNAME and history.RSTIME >= history.STIME > 0
    assert one.image.info(0).RUNNING_VMS == 1


def test_pyone_dict_templates_are_accepted(one):
    """pyone sends a nested dict as XML and a flat one as KEY="value" lines."""
    vid = one.vm.allocate({"TEMPLATE": {"NAME": "xml-vm", "CPU": 1, "MEMORY": 256,
                                        "NIC": [{"NETWORK_ID": 0}, {"NETWORK_ID": 1}],
                                        "TAG": "<&>"}})
    vm = one.vm.info(vid)
    assert (vm.NAME, len(vm.TEMPLATE["NIC"]), vm.USER_TEMPLATE["TAG"]) == ("xml-vm", 2, "<&>")
    one.vm.update(vid, {"OWNER": "team-a", "TAG": "x"}, 1)
    assert dict(one.vm.info(vid).USER_TEMPLATE) == {"OWNER": "team-a", "TAG": "x"}


def _raw(url, method, *params):
    """The XML body exactly as sent, before pyone's bindings."""
    response = getattr(xmlrpc.client.ServerProxy(url), method)(ADMIN_SESSION, *params)
    assert response[0] is True, response
    return response[1]


# infoextended sends vm.info's bodies, which the VM_POOL schema does not list in full
UNBOUND = {"one.vmpool.infoextended": {"PERMISSIONS", "PREV_STATE", "PREV_LCM_STATE",
                                       "BACKUPS"}}


@pytest.mark.parametrize("method, params", [
    ("one.vm.info", (0,)), ("one.vmpool.info", (-2, -1, -1, -2)),
    ("one.vmpool.infoextended", (-2, -1, -1, -2)), ("one.vn.info", (1,)),
    ("one.vnpool.info", (-2, -1, -1)), ("one.image.info", (0,)),
    ("one.imagepool.info", (-2, -1, -1)), ("one.template.info", (0,)),
    ("one.templatepool.info", (-2, -1, -1)), ("one.datastore.info", (1,)),
    ("one.datastorepool.info", ()), ("one.user.info", (2,))])
def test_every_element_sent_is_one_pyone_binds(one_server, one, method, params):
    """Each child element of each object lands in an attribute of pyone's object: no
    misspelt or misplaced element hides behind the bindings' leniency."""
    one.vm.allocate(WEB)
    body = _raw(one_server.url, method, *params)
    root = ET.fromstring(body)
    parsed = bindings.parseString(body.encode())
    pairs = [(root, parsed)]
    if root.tag.endswith("_POOL"):
        pairs = list(zip(root, getattr(parsed, root[0].tag)))
        assert pairs
    for element, obj in pairs:
        for child in element:
            if child.tag in UNBOUND.get(method, ()):
                continue
            value = getattr(obj, child.tag)
            assert value is not None or not (child.text or len(child)), child.tag


def test_pool_filters(one, one_admin):
    mine = [one.vm.allocate(small("mine-%d" % n)) for n in range(3)]
    theirs = one_admin.vm.allocate(small("admin-vm"))
    one.vm.action("terminate", mine[0])

    def ids(client, *args):
        return [vm.ID for vm in client.vmpool.info(*args).VM]

    assert ids(one, -2, -1, -1, -1) == [mine[2], mine[1]]          # newest first, no DONE
    assert ids(one, -2, -1, -1, -2) == [mine[2], mine[1], mine[0]]  # DONE too
    assert ids(one, -2, -1, -1, DONE) == [mine[0]]
    assert ids(one_admin, -2, -1, -1, -1) == [theirs, mine[2], mine[1]]
    assert ids(one_admin, -3, -1, -1, -1) == [theirs]
    assert ids(one_admin, 2, -1, -1, -2) == mine[::-1]              # by owner UID
    assert ids(one_admin, -2, mine[1], mine[2], -2) == [mine[2], mine[1]]  # ID range
    assert ids(one_admin, -2, 1, -2, -2) == [mine[2], mine[1]]      # offset 1, page of 2
    assert ids(one_admin, -2, 0, -2, -2) == [theirs, mine[2]]
    assert ids(one, -2, -1, -1, -1, "mine-2") == [mine[2]]          # the search string
    with pytest.raises(pyone.OneApiException, match=r"^\[one.vmpool.info\] Incorrect "):
        one.vmpool.info(-5, -1, -1, -1)
    with pytest.raises(pyone.OneApiException, match="Incorrect filter_flag, state"):
        one.vmpool.info(-2, -1, -1, 42)


def test_pool_body_is_short_and_tags_need_infoextended(one):
    vid = one.vm.allocate(WEB)
    short = one.vmpool.info(-3, -1, -1, -1).VM[0]
    assert dict(short.USER_TEMPLATE) == {"LABELS": "paas/dep-42"}
    assert [nic["IP"] for nic in short.TEMPLATE["NIC"]] == [
        nic["IP"] for nic in one.vm.info(vid).TEMPLATE["NIC"]]
    assert "CONTEXT" not in short.TEMPLATE
    full = one.vmpool.infoextended(-3, -1, -1, -1).VM[0]
    assert full.USER_TEMPLATE["PAAS_DEPLOYMENT"] == "dep-42"


def test_terminate_releases_the_leases_and_images(one):
    vid = one.vm.allocate(WEB)
    ips = [nic["IP"] for nic in wait_lcm(one, vid, RUNNING).TEMPLATE["NIC"]]
    leases = one.vn.info(1).AR_POOL.AR[0].LEASES.LEASE
    assert [(lease.IP, lease.VM) for lease in leases] == [(ips[1], vid)]
    assert one.image.info(0).STATE == 2                               # USED
    assert one.vm.action("terminate", vid) == vid
    vm = one.vm.info(vid)
    assert (vm.STATE, vm.LCM_STATE) == (DONE, 0) and vm.ETIME > 0
    assert vm.HISTORY_RECORDS.HISTORY[0].ACTION == 27                 # terminate
    assert one.vn.info(0).USED_LEASES == one.vn.info(1).USED_LEASES == 0
    assert one.vn.info(1).AR_POOL.AR[0].LEASES is None
    image = one.image.info(0)
    assert (image.STATE, image.RUNNING_VMS) == (1, 0)
    assert vid not in [v.ID for v in one.vmpool.info(-2, -1, -1, -1).VM]
    # as in AddressRange, the next lease is the next address, not the released one
    again = one.vm.allocate(small("again"))
    assert one.vm.info(again).TEMPLATE["NIC"]["IP"] == "10.10.0.3"


def test_bad_session_raises_what_opennebula_answers(one_server):
    for session in ("paas:wrong", "nobody:x", "no-colon"):
        client = pyone.OneServer(one_server.url, session=session)
        with pytest.raises(pyone.OneAuthenticationException) as exc:
            client.vmpool.info(-2, -1, -1, -1)
        assert str(exc.value) == ("[one.vmpool.info] User couldn't be authenticated, "
                                  "aborting call.")
    response = xmlrpc.client.ServerProxy(one_server.url).one.vm.info("paas:wrong", 0)
    assert response == [False, "[one.vm.info] User couldn't be authenticated, aborting call.",
                        0x100, -1, -1]


def test_quota_exceeded(one_server, one, one_admin):
    one_server.emulator.configure(max_vms=2)
    first = one.vm.allocate(small("q-0"))
    one.vm.allocate(small("q-1"))
    with pytest.raises(pyone.OneAuthorizationException) as exc:
        one.vm.allocate(small("q-2"))
    assert str(exc.value) == ("[one.vm.allocate] User [2] : user [2] limit of 2 reached for "
                              "VMS quota in VM.")
    with pytest.raises(pyone.OneAuthorizationException):
        one.template.instantiate(0, "from-template")
    quota = one.user.info(-1).VM_QUOTA.VM[0]
    assert (quota.VMS, quota.VMS_USED) == ("2", "2")
    one_admin.vm.allocate(small("admin-is-not-limited"))
    one.vm.action("terminate", first)
    one.vm.allocate(small("q-2"))


def test_injected_errors_answer_the_failure_tuple(one_server, one):
    cloud = one_server.emulator
    cloud.configure(error_rate=1.0, error_methods=["one.vm.allocate"])
    with pytest.raises(pyone.OneInternalException, match=r"^\[one.vm.allocate\] Internal error$"):
        one.vm.allocate(small("never"))
    assert one.vmpool.info(-2, -1, -1, -2).VM == []                   # nothing was created
    cloud.configure(error_rate=0.5, error_methods=None, seed=7, error_code=0x0800,
                    error_message="Cannot dispatch")

    def answered(client):
        try:
            client.system.version()
            return True
        except pyone.OneActionException as exc:
            assert str(exc) == "[one.system.version] Cannot dispatch"
            return False

    outcomes = [answered(one) for attempt in range(200)]
    assert 70 < outcomes.count(False) < 130
    cloud.configure(seed=7)
    replay = [answered(one) for attempt in range(200)]
    assert replay == outcomes                                         # seeded: reproducible


def test_failure_knobs_end_in_boot_failure(one_server, one):
    one_server.emulator.configure(fail_pattern="^db-")
    bad, good = one.vm.allocate(small("db-1")), one.vm.allocate(small("web-1"))
    vm = wait_lcm(one, bad, BOOT_FAILURE)
    assert (vm.STATE, vm.LCM_STATE) == (ACTIVE, BOOT_FAILURE)
    assert "Error deploying virtual machine" in vm.USER_TEMPLATE["ERROR"]
    assert one.vmpool.info(-2, -1, -1, -1).VM[1].USER_TEMPLATE["ERROR"]  # in the short body
    assert one.vm.info(good).LCM_STATE == RUNNING
    one.vm.action("terminate", bad)                                   # a failed VM goes at once
    assert one.vm.info(bad).STATE == DONE and one.vn.info(1).USED_LEASES == 1
    one_server.emulator.configure(fail_pattern=None, fail_rate=1.0)
    assert wait_lcm(one, one.vm.allocate(small("any")), BOOT_FAILURE).LCM_STATE == BOOT_FAILURE


def test_pending_pattern_never_schedules(one_server, one):
    one_server.emulator.configure(pending_pattern="huge")
    vm = one.vm.info(one.vm.allocate(small("huge-1")))
    assert (vm.STATE, vm.LCM_STATE) == (PENDING, 0)
    assert "No host with enough capacity" in vm.USER_TEMPLATE["SCHED_MESSAGE"]


def test_boot_time_and_slow_boots():
    """Real time: each phase lasts a third of boot_seconds; slow VMs take slow_boot_seconds."""
    with EmulatorServer(boot_seconds=0.9, slow_pattern="^slow", slow_boot_seconds=1.8) as server:
        one = pyone.OneServer(server.url, session=USER_SESSION)
        start = time.monotonic()
        fast, slow = one.vm.allocate(small("fast")), one.vm.allocate(small("slow"))
        seen = set()
        while True:
            vm = one.vm.info(fast)
            if vm.LCM_STATE == RUNNING:
                break
            seen.add((vm.STATE, vm.LCM_STATE))
            time.sleep(0.02)
        assert 0.9 <= time.monotonic() - start < 1.6
        assert seen == {(PENDING, 0), (ACTIVE, 1), (ACTIVE, 2)}       # PENDING, PROLOG, BOOT
        assert one.vm.info(slow).LCM_STATE != RUNNING
        assert wait_lcm(one, slow, RUNNING).LCM_STATE == RUNNING
        assert 1.8 <= time.monotonic() - start < 3.0


def test_counters_give_calls_per_vm(one_server, one):
    cloud = one_server.emulator
    cloud.reset_counters()
    vid = one.vm.allocate(small("counted"))
    wait_lcm(one, vid, RUNNING)
    one.vm.action("terminate", vid)
    with pytest.raises(pyone.OneAuthenticationException):
        pyone.OneServer(one_server.url, session="paas:x").vm.info(vid)
    assert cloud.counters == {"one.vm.allocate": 1, "one.vm.info": 2, "one.vm.action": 1}
    admin = xmlrpc.client.ServerProxy(one_server.url, allow_none=True)
    assert admin.emulator.counters() == cloud.counters
    assert admin.emulator.reset_counters() is True and cloud.counters == {}
    assert admin.emulator.configure({"max_vms": None, "boot_seconds": 1})["boot_seconds"] == 1


def test_actions_walk_the_life_cycle(one_server, one):
    vid = one.vm.allocate(small("cycle"))
    wait_lcm(one, vid, RUNNING)
    steps = [("poweroff", (POWEROFF, 0)), ("resume", (ACTIVE, RUNNING)),
             ("suspend", (5, 0)), ("resume", (ACTIVE, RUNNING)), ("stop", (4, 0)),
             ("resume", (ACTIVE, RUNNING)), ("undeploy-hard", (9, 0)),
             ("resume", (ACTIVE, RUNNING)), ("reboot", (ACTIVE, RUNNING)),
             ("poweroff-hard", (POWEROFF, 0)), ("terminate-hard", (DONE, 0))]
    for action, state in steps:
        assert one.vm.action(action, vid) == vid
        vm = one.vm.info(vid)
        assert (action, vm.STATE, vm.LCM_STATE) == (action,) + state
    assert one.vn.info(1).USED_LEASES == 0
    held = one.vm.allocate(small("held"), True)
    assert one.vm.info(held).STATE == HOLD
    with pytest.raises(pyone.OneActionException) as exc:
        one.vm.action("poweroff", held)
    assert str(exc.value) == ('[one.vm.action] Error performing action "poweroff": This '
                              'action is not available for state HOLD')
    one.vm.action("release", held)
    assert one.vm.info(held).LCM_STATE == RUNNING
    with pytest.raises(pyone.OneActionException, match=r'Action "migrate" is not supported$'):
        one.vm.action("migrate", held)
    with pytest.raises(pyone.OneNoExistsException, match=r"virtual machine \[99\]\.$"):
        one.vm.action("terminate", 99)


def test_timed_shutdown_and_wrong_state_terminate():
    now = [1000.0]
    cloud = OpenNebulaEmulator(clock=lambda: now[0], boot_seconds=3, shutdown_seconds=2)
    with EmulatorServer(cloud) as server:
        one = pyone.OneServer(server.url, session=USER_SESSION)
        vid = one.vm.allocate(small("slow-stop"))
        now[0] += 1.5
        assert one.vm.info(vid).LCM_STATE == 1                        # PROLOG
        with pytest.raises(pyone.OneActionException) as exc:
            one.vm.action("terminate", vid)
        assert str(exc.value) == ('[one.vm.action] Error performing action "terminate": '
                                  'Could not terminate VM %d, wrong state PROLOG.' % vid)
        now[0] += 1.5
        assert one.vm.info(vid).LCM_STATE == RUNNING
        one.vm.action("terminate", vid)
        assert one.vm.info(vid).LCM_STATE == 12                       # SHUTDOWN
        now[0] += 1
        assert one.vm.info(vid).LCM_STATE == 11                       # EPILOG
        assert one.vn.info(1).USED_LEASES == 1
        now[0] += 1
        vm = one.vm.info(vid)
        assert (vm.STATE, vm.ETIME) == (DONE, 1005) and one.vn.info(1).USED_LEASES == 0
        history = vm.HISTORY_RECORDS.HISTORY[0]
        assert (history.PSTIME, history.RSTIME, history.RETIME, history.ESTIME,
                history.ETIME) == (1001, 1002, 1004, 1004, 1005)


def test_update_replaces_or_merges_the_user_template(one):
    vid = one.vm.allocate(WEB)
    one.vm.update(vid, 'PAAS_NODE = "db"\nEXTRA = 1', 1)
    assert dict(one.vm.info(vid).USER_TEMPLATE) == {
        "LABELS": "paas/dep-42", "PAAS_DEPLOYMENT": "dep-42", "PAAS_NODE": "db", "EXTRA": "1"}
    one.vm.update(vid, 'ONLY = "this"', 0)
    assert dict(one.vm.info(vid).USER_TEMPLATE) == {"ONLY": "this"}
    with pytest.raises(pyone.OneApiException, match="Wrong update type"):
        one.vm.update(vid, "A=1", 2)
    with pytest.raises(pyone.OneInternalException, match=r"\] Parse error: syntax error"):
        one.vm.update(vid, "A", 1)


def test_attach_and_detach_disks(one):
    vid = one.vm.allocate(WEB)
    wait_lcm(one, vid, RUNNING)
    assert one.vm.attach(vid, "DISK = [ IMAGE = alma-9, IMAGE_UNAME = oneadmin ]") == vid
    assert one.vm.attach(vid, 'DISK = [ TYPE = fs, SIZE = 1024, FORMAT = "ext4" ]') == vid
    disks = one.vm.info(vid).TEMPLATE["DISK"]
    # DISK_ID 1 is the context CD-ROM's
    assert [(d["DISK_ID"], d["TARGET"]) for d in disks] == [("0", "vda"), ("2", "vdb"),
                                                            ("3", "vdc")]
    assert one.image.info(1).RUNNING_VMS == 1
    one.vm.detach(vid, 2)
    assert [d["DISK_ID"] for d in [one.vm.info(vid).TEMPLATE["DISK"]][0]] == ["0", "3"]
    assert one.image.info(1).RUNNING_VMS == 0
    with pytest.raises(pyone.OneActionException):
        one.vm.detach(vid, 7)


@pytest.mark.parametrize("template, message", [
    ('NAME="x"\nCPU=1', "MEMORY attribute must be a positive integer value."),
    ('NAME="x"\nCPU=0\nMEMORY=64', "CPU attribute must be a positive float or integer value."),
    ('NAME="x"\nCPU=1\nMEMORY=64\nVCPU=1.5', "VCPU attribute must be a positive integer value."),
    ('NAME="x"\nCPU=1\nMEMORY=64\nNIC=[NETWORK_ID=9]',
     "Virtual network with ID: 9 does not exist"),
    ('NAME="x"\nCPU=1\nMEMORY=64\nNIC=[NETWORK="private"]',
     "User 2 does not own a network with name: private . Set NETWORK_UNAME or NETWORK_UID of "
     "owner in NIC."),
    ('NAME="x"\nCPU=1\nMEMORY=64\nDISK=[IMAGE_ID=5]', "Image with ID: 5 does not exist"),
    ('NAME="x"\nCPU=1\nMEMORY=64\nDISK=[TYPE=block]', "Unknown disk type BLOCK"),
    ('NAME="x/y"\nCPU=1\nMEMORY=64', "Invalid NAME, char '/' is not allowed."),
    # flex's columns count from the start of the text, not of the line
    ('NAME="x"\nCPU=1\nMEMORY', "Parse error: syntax error, unexpected $end, expecting EQUAL "
                                "or EQUAL_EMPTY at line 3, columns 21:21"),
])
def test_allocate_errors_are_internal_failures(one, template, message):
    with pytest.raises(pyone.OneInternalException) as exc:
        one.vm.allocate(template)
    assert str(exc.value) == "[one.vm.allocate] " + message


def test_lease_exhaustion_rolls_back_the_other_leases():
    inventory = default_inventory()
    inventory["networks"][1]["ars"] = [{"ip": "10.10.0.2", "size": 1}]
    with EmulatorServer(OpenNebulaEmulator(inventory)) as server:
        one = pyone.OneServer(server.url, session=USER_SESSION)
        one.vm.allocate(small("takes-the-only-one"))
        with pytest.raises(pyone.OneInternalException) as exc:
            one.vm.allocate('NAME=b\nCPU=1\nMEMORY=64\nNIC=[NETWORK_ID=0]\nNIC=[NETWORK_ID=1]')
        assert str(exc.value) == ("[one.vm.allocate] Cannot get IP/MAC lease from virtual "
                                  "network 1.")
        assert one.vn.info(0).USED_LEASES == 0
        assert len(one.vmpool.info(-2, -1, -1, -2).VM) == 1


def test_templates(one):
    vid = one.template.instantiate(0, "", False, "MEMORY = 4096\nROLE = worker")
    vm = wait_lcm(one, vid, RUNNING)
    assert vm.NAME == "ubuntu-small-%d" % vid
    assert (vm.TEMPLATE["MEMORY"], vm.TEMPLATE["TEMPLATE_ID"]) == ("4096", "0")
    assert vm.USER_TEMPLATE["ROLE"] == "worker"
    assert one.vm.info(one.template.instantiate(0, "named")).NAME == "named"
    tid = one.template.allocate('NAME = "mine"\nCPU = 2\nMEMORY = 128')
    assert one.template.info(tid).TEMPLATE == {"CPU": "2", "MEMORY": "128"}
    assert [t.NAME for t in one.templatepool.info(-3, -1, -1).VMTEMPLATE] == ["mine"]
    with pytest.raises(pyone.OneInternalException,
                       match=r"NAME is already taken by TEMPLATE %d\.$" % tid):
        one.template.allocate('NAME = "mine"\nCPU = 1')
    with pytest.raises(pyone.OneNoExistsException,
                       match=r"^\[one.template.info\] Error getting virtual machine template "
                             r"\[9\]\.$"):
        one.template.info(9)


def test_other_users_vms_are_not_authorized(one, one_admin):
    theirs = one_admin.vm.allocate(small("admin-only"))
    with pytest.raises(pyone.OneAuthorizationException) as exc:
        one.vm.info(theirs)
    assert str(exc.value) == ("[one.vm.info] User [2] : Not authorized to perform USE VM [%d]."
                              % theirs)
    with pytest.raises(pyone.OneAuthorizationException):
        one.vm.action("terminate", theirs)
    with pytest.raises(pyone.OneAuthorizationException):
        one.user.info(0)
    assert one_admin.vm.info(one.vm.allocate(small("seen-by-admin"))).UNAME == "paas"


def test_wrong_parameter_types_are_xmlrpc_faults(one):
    with pytest.raises(pyone.OneException, match="-501.*supposed to be integer"):
        one.vm.info("0")
    with pytest.raises(pyone.OneException, match="-501.*Not enough parameters"):
        one.vm.action("terminate")
    with pytest.raises(pyone.OneException, match="-506"):
        one.vm.nosuchcall(0)
