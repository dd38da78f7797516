# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulated cloud: objects, the VM life cycle, leases, quotas, fault knobs, counters.

Objects are plain dicts (JSON for the state file). VM life-cycle steps are timed: an action
writes a timeline of (time, STATE, LCM_STATE) steps and every call first applies the steps
that are due, so no thread ticks and a boot of 0 s is RUNNING on the next call. Messages are
those oned builds (src/rm, src/dm, src/vnm, src/image) so that a driver sees what it would.
"""

from __future__ import annotations

import copy
import fnmatch
import ipaddress
import json
import os
import random
import re
import threading
import time

from . import template as tmpl
from .inventory import PRIVATE, SHARED, default_inventory

# Request::ErrorCode (the failures emulated)
AUTHENTICATION, AUTHORIZATION, NO_EXISTS = 0x0100, 0x0200, 0x0400
ACTION, XML_RPC_API, INTERNAL = 0x0800, 0x1000, 0x2000

VM_STATES = ["INIT", "PENDING", "HOLD", "ACTIVE", "STOPPED", "SUSPENDED", "DONE", "FAILED",
             "POWEROFF", "UNDEPLOYED", "CLONING", "CLONING_FAILURE"]
PENDING, HOLD, ACTIVE, STOPPED, SUSPENDED, DONE, POWEROFF, UNDEPLOYED = 1, 2, 3, 4, 5, 6, 8, 9
LCM_STATES = {0: "LCM_INIT", 1: "PROLOG", 2: "BOOT", 3: "RUNNING", 5: "SAVE_STOP",
              6: "SAVE_SUSPEND", 10: "EPILOG_STOP", 11: "EPILOG", 12: "SHUTDOWN",
              18: "SHUTDOWN_POWEROFF", 20: "BOOT_POWEROFF", 21: "BOOT_SUSPENDED",
              29: "SHUTDOWN_UNDEPLOY", 30: "EPILOG_UNDEPLOY", 36: "BOOT_FAILURE"}
LCM_INIT, PROLOG, BOOT, RUNNING, SAVE_STOP, SAVE_SUSPEND = 0, 1, 2, 3, 5, 6
EPILOG_STOP, EPILOG, SHUTDOWN, SHUTDOWN_POWEROFF, BOOT_POWEROFF, BOOT_SUSPENDED = (
    10, 11, 12, 18, 20, 21)
SHUTDOWN_UNDEPLOY, EPILOG_UNDEPLOY, BOOT_FAILURE = 29, 30, 36

# VMActions::Action, as HISTORY/ACTION shows it
HISTORY_ACTIONS = {"undeploy": 5, "undeploy-hard": 6, "hold": 7, "release": 8, "stop": 9,
                   "suspend": 10, "resume": 11, "reboot": 15, "reboot-hard": 16,
                   "poweroff": 19, "poweroff-hard": 20, "disk-attach": 21, "disk-detach": 22,
                   "terminate": 27, "terminate-hard": 28}

# Request::object_name and PoolObjectSQL::type_to_str
OBJECT_NAMES = {"vm": "virtual machine", "net": "virtual network", "image": "image",
                "template": "virtual machine template", "datastore": "datastore",
                "user": "user"}
AUTH_NAMES = {"vm": "VM", "net": "NET", "image": "IMAGE", "template": "TEMPLATE",
              "datastore": "DATASTORE", "user": "USER"}

# attributes VirtualMachine::insert moves from the user template to the VM template
VM_ATTRIBUTES = {"CONTEXT", "CPU_MODEL", "DISK", "EMULATOR", "FEATURES", "GRAPHICS", "INPUT",
                 "MEMORY_MAX", "NIC", "NIC_ALIAS", "NIC_DEFAULT", "NUMA_NODE", "OS", "PCI",
                 "RAW", "SECURITY_GROUP_RULE", "TOPOLOGY", "VCPU_MAX", "VIDEO"}

DEFAULT_KNOBS = {
    "boot_seconds": 0.0,        # PENDING to RUNNING (thirds: PENDING, PROLOG, BOOT)
    "shutdown_seconds": 0.0,    # terminate/poweroff/suspend/stop/undeploy to their end state
    "fail_pattern": None,       # regex on the VM NAME: ends in BOOT_FAILURE, not RUNNING
    "fail_rate": 0.0,           # or this fraction of new VMs
    "slow_pattern": None,       # regex on the VM NAME: boots in slow_boot_seconds
    "slow_rate": 0.0,
    "slow_boot_seconds": 30.0,
    "pending_pattern": None,    # regex on the VM NAME: no host fits, stays PENDING
    "error_rate": 0.0,          # fraction of one.* calls answered with a failure
    "error_methods": None,      # fnmatch patterns the error rate applies to (None: all)
    "error_code": INTERNAL,
    "error_message": "Internal error",
    "max_vms": None,            # VMS quota of every user but oneadmin
    "seed": 0,                  # of the random draws behind the *_rate knobs
}

STATE_FILE = "opennebula.json"
_INT = re.compile(r"\s*[+-]?\d+\Z")
_FLOAT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")
_VARIABLE = re.compile(r"\$(\w+)(?:\[(\w+)\])?")
_NAME_CHARS = "&|:\\\";/'#{}$<>"


class OneError(Exception):
    """A failed request: the code and what oned keeps in att.resp_msg/resp_obj/resp_id."""

    def __init__(self, code, msg="", obj=None, resp_id=-1):
        super().__init__(msg)
        self.code, self.msg, self.obj, self.resp_id = code, msg, obj, resp_id


def log_time(at):
    """one_util::log_time, as in ERROR and SCHED_MESSAGE."""
    return time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(at))


def state_str(vm):
    """VirtualMachine::state_str: the LCM state while ACTIVE."""
    if vm["state"] == ACTIVE:
        return LCM_STATES[vm["lcm_state"]]
    return VM_STATES[vm["state"]]


def _number(text, pattern, cast):
    return cast(text) if isinstance(text, str) and pattern.match(text) else None


class OpenNebulaEmulator:
    """The cloud behind the XML-RPC front: thread-safe, every public method under ``lock``."""

    VERSION = "6.8.0"

    def __init__(self, inventory=None, state_dir=None, clock=time.time, **knobs):
        self.lock = threading.RLock()
        self.clock = clock
        self.path = os.path.join(state_dir, STATE_FILE) if state_dir else None
        self.knobs = dict(DEFAULT_KNOBS)
        self.counters = {}
        if self.path and os.path.exists(self.path):
            self._load()
        else:
            self._seed(inventory or default_inventory())
        self.configure(**knobs)
        self.rng = random.Random(self.knobs["seed"])

    # -- set-up, knobs, counters, persistence ----------------------------------------------

    def _seed(self, inventory):
        now = int(self.clock())
        groups = {group["id"]: group["name"] for group in inventory["groups"]}
        self.users = {}
        for user in inventory["users"]:
            self.users[user["id"]] = dict(user, gname=groups[user["gid"]],
                                          template=user.get("template", []))
        owner = {"uid": 0, "gid": 1, "uname": "oneadmin", "gname": groups[1],
                 "perms": SHARED}
        self.datastores = {}
        for ds in inventory["datastores"]:
            self.datastores[ds["id"]] = dict(owner, **ds, base_path="/var/lib/one//datastores/%d"
                                             % ds["id"], images=[])
        self.images = {}
        for image in inventory["images"]:
            ds = self.datastores[image["datastore_id"]]
            ds["images"].append(image["id"])
            self.images[image["id"]] = dict(
                owner, **image, datastore=ds["name"], state=1, vms=[], regtime=now,
                source="%s/%032x" % (ds["base_path"], image["id"] + 0x5eed))
        self.networks = {}
        for net in inventory["networks"]:
            ars = [dict(ar, ar_id=index, next=0, leases={})
                   for index, ar in enumerate(net["ars"])]
            self.networks[net["id"]] = dict(owner, **dict(net, ars=ars))
        self.templates = {}
        for vmt in inventory["templates"]:
            self.templates[vmt["id"]] = dict(owner, **vmt, regtime=now)
        self.vms = {}

    @property
    def _pools(self):
        return {"vm": self.vms, "net": self.networks, "image": self.images,
                "template": self.templates, "datastore": self.datastores, "user": self.users}

    def configure(self, **knobs):
        """Change knobs at run time; returns them all."""
        with self.lock:
            unknown = set(knobs) - set(DEFAULT_KNOBS)
            if unknown:
                raise ValueError("unknown knobs: %s" % ", ".join(sorted(unknown)))
            for name in ("fail_pattern", "slow_pattern", "pending_pattern"):
                if knobs.get(name):
                    re.compile(knobs[name])
            self.knobs.update(knobs)
            if "seed" in knobs:
                self.rng = random.Random(knobs["seed"])
            self.save()
            return dict(self.knobs)

    def count(self, method):
        with self.lock:
            self.counters[method] = self.counters.get(method, 0) + 1

    def reset_counters(self):
        with self.lock:
            self.counters = {}
            self.save()

    def snapshot(self):
        """Everything the state file holds (JSON types)."""
        with self.lock:
            pools = {kind: {str(oid): obj for oid, obj in pool.items()}
                     for kind, pool in self._pools.items()}
            return copy.deepcopy({"knobs": self.knobs, "counters": self.counters,
                                  "pools": pools})

    def save(self):
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.snapshot(), handle)
        os.replace(tmp, self.path)

    def _load(self):
        with open(self.path, encoding="utf-8") as handle:
            state = json.load(handle)
        self.knobs.update(state["knobs"])
        self.counters = state["counters"]
        for kind, pool in state["pools"].items():
            objects = {int(oid): obj for oid, obj in pool.items()}
            setattr(self, {"vm": "vms", "net": "networks", "image": "images",
                           "template": "templates", "datastore": "datastores",
                           "user": "users"}[kind], objects)

    def inject_error(self, method):
        """Whether this call draws an injected failure (the error_rate knob)."""
        patterns = self.knobs["error_methods"]
        if patterns is not None and not any(fnmatch.fnmatchcase(method, p) for p in patterns):
            return False
        return self.knobs["error_rate"] > 0 and self.rng.random() < self.knobs["error_rate"]

    # -- users and permissions --------------------------------------------------------------

    def authenticate(self, session):
        """The user of a ``user:password`` session, or None (core auth driver)."""
        name, password = session.split(":", 1) if ":" in session else (session, None)
        for user in self.users.values():
            if user["name"] == name and user["password"] == password:
                return user
        return None

    @staticmethod
    def is_admin(user):
        return user["id"] == 0 or 0 in user["groups"]

    def allowed(self, user, obj, op):
        """AuthManager's permission bits check for USE, MANAGE or ADMIN."""
        if self.is_admin(user):
            return True
        bit = ("USE", "MANAGE", "ADMIN").index(op)
        perms = obj["perms"]
        return bool((obj["uid"] == user["id"] and perms[bit])
                    or (obj["gid"] in user["groups"] and perms[3 + bit]) or perms[6 + bit])

    def get(self, user, kind, oid, op="USE"):
        """An object the user may act on, or the NO_EXISTS / AUTHORIZATION failure."""
        obj = self._pools[kind].get(oid)
        if obj is None:
            raise OneError(NO_EXISTS, obj=kind, resp_id=oid)
        if not self.allowed(user, obj, op):
            raise OneError(AUTHORIZATION, "Not authorized to perform %s %s [%d]"
                           % (op, AUTH_NAMES[kind], oid))
        return obj

    def pool(self, user, kind, flag, start, end, keep=None):
        """RequestManagerPoolInfoFilter::dump: ownership filter, ID range or page, DESC."""
        if flag < -4:
            raise OneError(XML_RPC_API, "Incorrect filter_flag")
        self.advance()
        mine = {-3: lambda o: o["uid"] == user["id"],
                -1: lambda o: o["uid"] == user["id"] or o["gid"] in user["groups"],
                -4: lambda o: o["gid"] == user["gid"],
                -2: lambda o: True}.get(flag, lambda o: o["uid"] == flag)
        objects = [obj for oid, obj in sorted(self._pools[kind].items(), reverse=True)
                   if mine(obj) and self.allowed(user, obj, "USE")
                   and (keep is None or keep(obj))
                   and (end < -1 or start == -1 or (oid >= start and (end == -1 or oid <= end)))]
        if end < -1:
            objects = objects[max(start, 0):max(start, 0) - end]
        return objects

    def vm_usage(self, user):
        return sum(1 for vm in self.vms.values() if vm["uid"] == user["id"]
                   and vm["state"] != DONE)

    # -- VM life cycle ----------------------------------------------------------------------

    def advance(self):
        now = self.clock()
        for vm in self.vms.values():
            self._advance(vm, now)

    def _advance(self, vm, now):
        while vm["timeline"] and vm["timeline"][0][0] <= now:
            at, state, lcm = vm["timeline"].pop(0)
            self._enter(vm, state, lcm, at)

    def _enter(self, vm, state, lcm, at):
        vm["prev_state"], vm["prev_lcm_state"] = vm["state"], vm["lcm_state"]
        vm["state"], vm["lcm_state"] = state, lcm
        history = vm["history"][-1] if vm["history"] else None
        if lcm == PROLOG:
            vm["history"].append({"seq": len(vm["history"]), "stime": int(at),
                                  "pstime": int(at), "petime": 0, "rstime": 0, "retime": 0,
                                  "estime": 0, "eetime": 0, "etime": 0, "action": 0})
        elif lcm in (BOOT, BOOT_POWEROFF, BOOT_SUSPENDED):
            history["petime"] = history["petime"] or int(at)
            history["rstime"] = history["rstime"] or int(at)
            vm["deploy_id"] = "one-%d" % vm["id"]
        elif lcm == RUNNING:
            vm["last_poll"] = int(at)
        elif lcm == BOOT_FAILURE:
            tmpl.remove(vm["user_template"], "ERROR")
            vm["user_template"].append(["ERROR", "%s: Error deploying virtual machine: Could "
                                        "not create domain from /var/lib/one//datastores/0/%d/"
                                        "deployment.0" % (log_time(at), vm["id"])])
        elif lcm in (EPILOG, EPILOG_STOP, EPILOG_UNDEPLOY):
            history["retime"] = history["retime"] or int(at)
            history["estime"] = int(at)
        if state in (DONE, STOPPED, UNDEPLOYED) and history and not history["etime"]:
            history["etime"] = history["eetime"] = int(at)
            history["retime"] = history["retime"] or int(at)
        if state == DONE:
            vm["etime"] = int(at)
            self._release(vm)

    def _plan(self, vm, now, seconds, *steps):
        """Spread (STATE, LCM_STATE) steps over ``seconds``; the first one is due now."""
        count = len(steps) - 1 or 1
        vm["timeline"] = [[now + seconds * index / count, state, lcm]
                          for index, (state, lcm) in enumerate(steps)]
        self._advance(vm, now)

    def _plan_boot(self, vm, now):
        if vm["fate"] == "pending":
            vm["timeline"] = []
            tmpl.remove(vm["user_template"], "SCHED_MESSAGE")
            vm["user_template"].append(["SCHED_MESSAGE", "%s : No host with enough capacity "
                                        "to deploy the VM" % log_time(now)])
            return
        final = BOOT_FAILURE if vm["fate"] == "fail" else RUNNING
        # PENDING lasts the first third, as the scheduler's pass would
        third = vm["boot_seconds"] / 3
        vm["timeline"] = [[now + third, ACTIVE, PROLOG], [now + 2 * third, ACTIVE, BOOT],
                          [now + 3 * third, ACTIVE, final]]
        self._advance(vm, now)

    def _fate(self, name):
        knobs = self.knobs

        def drawn(pattern, rate):
            hit = bool(pattern and re.search(pattern, name))
            # always draw, so that one knob does not shift the others' sequence
            return self.rng.random() < rate or hit

        fail = drawn(knobs["fail_pattern"], knobs["fail_rate"])
        slow = drawn(knobs["slow_pattern"], knobs["slow_rate"])
        pending = bool(knobs["pending_pattern"] and re.search(knobs["pending_pattern"], name))
        seconds = knobs["slow_boot_seconds"] if slow else knobs["boot_seconds"]
        return ("pending" if pending else "fail" if fail else "run"), float(seconds)

    def vm_action(self, user, action, vid):
        """VirtualMachineAction + DispatchManager: the state checks and their messages."""
        vm = self.get(user, "vm", vid, "MANAGE")
        now = self.clock()
        self._advance(vm, now)
        state, lcm = vm["state"], vm["lcm_state"]
        running = state == ACTIVE and lcm == RUNNING
        wait = self.knobs["shutdown_seconds"]
        if action not in HISTORY_ACTIONS or action.startswith("disk-"):
            raise OneError(ACTION, 'Action "%s" is not supported' % action)
        if action in ("terminate", "terminate-hard"):
            if state in (PENDING, HOLD) or (state == ACTIVE and lcm == BOOT_FAILURE):
                vm["timeline"] = []
                self._enter(vm, DONE, LCM_INIT, now)
            elif state in (SUSPENDED, POWEROFF, STOPPED, UNDEPLOYED):
                self._plan(vm, now, wait, (ACTIVE, EPILOG), (DONE, LCM_INIT))
            elif running or (state == ACTIVE and lcm == SHUTDOWN and action.endswith("hard")):
                self._plan(vm, now, wait, (ACTIVE, SHUTDOWN), (ACTIVE, EPILOG),
                           (DONE, LCM_INIT))
            elif state != DONE:
                self._wrong(action, "Could not terminate VM %d, wrong state %s."
                            % (vid, state_str(vm)))
        elif action in ("poweroff", "poweroff-hard"):
            if not (running or (action.endswith("hard") and lcm == SHUTDOWN_POWEROFF)):
                self._wrong(action, vm)
            self._plan(vm, now, wait, (ACTIVE, SHUTDOWN_POWEROFF), (POWEROFF, LCM_INIT))
        elif action == "suspend":
            if not running:
                self._wrong(action, vm)
            self._plan(vm, now, wait, (ACTIVE, SAVE_SUSPEND), (SUSPENDED, LCM_INIT))
        elif action == "stop":
            if not (running or state == SUSPENDED):
                self._wrong(action, vm)
            self._plan(vm, now, wait, (ACTIVE, SAVE_STOP), (ACTIVE, EPILOG_STOP),
                       (STOPPED, LCM_INIT))
        elif action in ("undeploy", "undeploy-hard"):
            if not (running or state == POWEROFF):
                self._wrong(action, vm)
            self._plan(vm, now, wait, (ACTIVE, SHUTDOWN_UNDEPLOY), (ACTIVE, EPILOG_UNDEPLOY),
                       (UNDEPLOYED, LCM_INIT))
        elif action == "resume":
            boot = self.knobs["boot_seconds"]
            if state in (STOPPED, UNDEPLOYED):
                vm["fate"] = "run"
                self._enter(vm, PENDING, LCM_INIT, now)
                self._plan_boot(vm, now)
            elif state in (POWEROFF, SUSPENDED):
                self._plan(vm, now, boot, (ACTIVE, BOOT_POWEROFF if state == POWEROFF
                                           else BOOT_SUSPENDED), (ACTIVE, RUNNING))
            else:
                self._wrong(action, vm)
        elif action in ("reboot", "reboot-hard"):
            if not running:
                self._wrong(action, vm)
        elif action == "hold":
            if state != PENDING:
                self._wrong(action, vm)
            vm["timeline"] = []
            self._enter(vm, HOLD, LCM_INIT, now)
        else:   # release
            if state != HOLD:
                self._wrong(action, vm)
            self._enter(vm, PENDING, LCM_INIT, now)
            self._plan_boot(vm, now)
        if vm["history"] and action not in ("hold", "release"):
            vm["history"][-1]["action"] = HISTORY_ACTIONS[action]
        return vid

    @staticmethod
    def _wrong(action, vm_or_msg):
        msg = vm_or_msg if isinstance(vm_or_msg, str) else (
            "This action is not available for state %s" % state_str(vm_or_msg))
        raise OneError(ACTION, 'Error performing action "%s": %s' % (action, msg))

    # -- VM creation ------------------------------------------------------------------------

    def allocate_vm(self, user, attrs, hold=False):
        """VirtualMachineAllocate: quota, then VirtualMachine::insert; returns the new ID."""
        attrs = copy.deepcopy(attrs)
        max_vms = self.knobs["max_vms"]
        if user["id"] != 0 and max_vms is not None and self.vm_usage(user) + 1 > max_vms:
            raise OneError(AUTHORIZATION, "user [%d] limit of %d reached for VMS quota in VM"
                           % (user["id"], int(max_vms)))
        now = self.clock()
        vid = max(self.vms, default=-1) + 1
        vm = {"id": vid, "uid": user["id"], "gid": user["gid"], "uname": user["name"],
              "gname": user["gname"], "perms": PRIVATE, "state": HOLD if hold else PENDING,
              "lcm_state": LCM_INIT, "prev_state": 0, "prev_lcm_state": 0, "stime": int(now),
              "etime": 0, "deploy_id": "", "last_poll": 0, "history": [], "timeline": [],
              "template": [["VMID", str(vid)]], "user_template": attrs}
        vm_tmpl, user_tmpl = vm["template"], vm["user_template"]
        tmpl.remove(user_tmpl, "VMID")
        vm_tmpl.extend(["TEMPLATE_ID", value] for value in tmpl.remove(user_tmpl, "TEMPLATE_ID"))
        names = tmpl.remove(user_tmpl, "NAME")
        prefix = (tmpl.remove(user_tmpl, "TEMPLATE_NAME") or ["one"])[0]
        vm["name"] = names[0] if names and names[0] else "%s-%d" % (prefix, vid)
        bad = [char for char in vm["name"] if char in _NAME_CHARS]
        if bad:
            raise OneError(INTERNAL, "Invalid NAME, char '%s' is not allowed." % bad[0])
        for name in sorted({pair[0] for pair in user_tmpl} & VM_ATTRIBUTES):
            vm_tmpl.extend([name, value] for value in tmpl.remove(user_tmpl, name))
        memory = _number(tmpl.get(user_tmpl, "MEMORY"), _INT, int)
        if memory is None or memory <= 0:
            raise OneError(INTERNAL, "MEMORY attribute must be a positive integer value.")
        cpu = _number(tmpl.get(user_tmpl, "CPU"), _FLOAT, float)
        if cpu is None or cpu <= 0:
            raise OneError(INTERNAL, "CPU attribute must be a positive float or integer value.")
        vcpu = tmpl.get(user_tmpl, "VCPU")
        if vcpu is not None and (_number(vcpu, _INT, int) or 0) <= 0:
            raise OneError(INTERNAL, "VCPU attribute must be a positive integer value.")
        for name, value in (("MEMORY", str(memory)), ("CPU", "%g" % cpu),
                            ("VCPU", vcpu and str(int(vcpu)))):
            tmpl.remove(user_tmpl, name)
            if value:
                vm_tmpl.append([name, value])
        self._resolve_devices(user, vm)
        vm["fate"], vm["boot_seconds"] = self._fate(vm["name"])
        self.vms[vid] = vm
        if not hold:
            self._plan_boot(vm, now)
        return vid

    def _resolve_devices(self, user, vm):
        """NICs (leases), DISKs (images), CONTEXT, requirements; rolled back on an error."""
        vm_tmpl = vm["template"]
        nics, disks = tmpl.remove(vm_tmpl, "NIC"), tmpl.remove(vm_tmpl, "DISK")
        leased, used = [], []
        try:
            for nic_id, nic in enumerate(nics):
                self._lease(user, vm, nic, nic_id)
                leased.append(nic)
            targets = {"hda"}   # the context CD-ROM's
            for disk_id, disk in enumerate(disks):
                self._disk(user, vm, disk, disk_id, targets)
                used.append(disk)
        except OneError:
            self._release_nics(leased, vm["id"])
            self._release_disks(used, vm["id"])
            raise
        vm_tmpl.extend(["NIC", nic] for nic in nics)
        vm_tmpl.extend(["DISK", disk] for disk in disks)
        context = tmpl.remove(vm_tmpl, "CONTEXT")
        if context:
            vm_tmpl.append(["CONTEXT", self._context(user, vm, context[0], nics, len(disks))])
        vm_tmpl.append(["AUTOMATIC_DS_REQUIREMENTS", '("CLUSTERS/ID" @> 0)'])
        if nics:
            vm_tmpl.append(["AUTOMATIC_NIC_REQUIREMENTS", '("CLUSTERS/ID" @> 0)'])
        vm_tmpl.append(["AUTOMATIC_REQUIREMENTS",
                        "(CLUSTER_ID = 0) & !(PUBLIC_CLOUD = YES) & !(PIN_POLICY = PINNED)"])

    def _owner_uid(self, user, attrs, kind):
        """The owner a by-name NETWORK/IMAGE reference names (its _UID/_UNAME or the VM's)."""
        if attrs.get(kind + "_UID"):
            return _number(attrs[kind + "_UID"], _INT, int)
        uname = attrs.get(kind + "_UNAME")
        if uname:
            owners = [uid for uid, other in self.users.items() if other["name"] == uname]
            if not owners:
                raise OneError(INTERNAL, "User set in %s_UNAME does not exist" % kind)
            return owners[0]
        return user["id"]

    def _lease(self, user, vm, nic, nic_id):
        """VirtualNetworkPool::nic_attribute: find the network, take an address."""
        if "NETWORK_ID" in nic:
            net = self.networks.get(_number(nic["NETWORK_ID"], _INT, int))
            if net is None:
                raise OneError(INTERNAL, "Virtual network with ID: %s does not exist"
                               % nic["NETWORK_ID"])
        elif "NETWORK" in nic:
            uid = self._owner_uid(user, nic, "NETWORK")
            found = [n for n in self.networks.values()
                     if n["name"] == nic["NETWORK"] and n["uid"] == uid]
            if not found:
                raise OneError(INTERNAL, "User %s does not own a network with name: %s . Set "
                               "NETWORK_UNAME or NETWORK_UID of owner in NIC."
                               % (uid, nic["NETWORK"]))
            net = found[0]
        else:
            nic.update(NIC_ID=str(nic_id), NAME="NIC%d" % nic_id)
            return
        if not self.allowed(user, net, "USE"):
            raise OneError(AUTHORIZATION, "Not authorized to perform USE NET [%d]" % net["id"])
        address = self._take_address(net, vm["id"], nic.get("IP"))
        if address is None:
            raise OneError(INTERNAL, "Cannot get IP/MAC lease from virtual network %d."
                           % net["id"])
        ar_id, ip, mac = address
        nic.update(AR_ID=str(ar_id), BRIDGE=net["bridge"], BRIDGE_TYPE="linux",
                   CLUSTER_ID="0", IP=ip, MAC=mac, NAME="NIC%d" % nic_id,
                   NETWORK=net["name"], NETWORK_ID=str(net["id"]), NETWORK_UNAME=net["uname"],
                   NIC_ID=str(nic_id), SECURITY_GROUPS="0",
                   TARGET="one-%d-%d" % (vm["id"], nic_id), VN_MAD=net["vn_mad"])

    @staticmethod
    def ar_address(ar, index):
        """IP and MAC of an address range's index (MAC from 02:00 and the IP, as oned)."""
        ip = ipaddress.IPv4Address(ar["ip"]) + index
        mac = "02:00:" + ":".join("%02x" % byte for byte in ip.packed)
        return str(ip), mac

    def _take_address(self, net, vid, wanted=None):
        """AddressRange::allocate_addr: the next free index after the last one taken."""
        for ar in net["ars"]:
            if wanted:
                try:
                    index = int(ipaddress.IPv4Address(wanted)) - int(
                        ipaddress.IPv4Address(ar["ip"]))
                except ipaddress.AddressValueError:
                    return None
                candidates = [index] if 0 <= index < ar["size"] else []
            else:
                candidates = [(ar["next"] + step) % ar["size"] for step in range(ar["size"])]
            for index in candidates:
                if str(index) not in ar["leases"]:
                    ar["leases"][str(index)] = vid
                    ar["next"] = index + 1
                    return (ar["ar_id"],) + self.ar_address(ar, index)
        return None

    def _disk(self, user, vm, disk, disk_id, targets):
        """VirtualMachineDisk::get_image: the image's attributes, or a volatile disk."""
        if "IMAGE_ID" in disk:
            image = self.images.get(_number(disk["IMAGE_ID"], _INT, int))
            if image is None:
                raise OneError(INTERNAL, "Image with ID: %s does not exist" % disk["IMAGE_ID"])
        elif "IMAGE" in disk:
            uid = self._owner_uid(user, disk, "IMAGE")
            found = [i for i in self.images.values()
                     if i["name"] == disk["IMAGE"] and i["uid"] == uid]
            if not found:
                raise OneError(INTERNAL, "User %s does not own an image with name: %s . Set "
                               "IMAGE_UNAME or IMAGE_UID of owner in DISK." % (uid, disk["IMAGE"]))
            image = found[0]
        else:
            kind = disk.get("TYPE", "").upper()
            if kind not in ("SWAP", "FS"):
                raise OneError(INTERNAL, "Unknown disk type " + kind)
            if (_number(disk.get("SIZE"), _INT, int) or 0) <= 0:
                raise OneError(INTERNAL, "Size attribute for volatile disk must be a positive "
                               "integer.")
            prefix = disk.get("DEV_PREFIX", "vd")
            disk.update(DISK_ID=str(disk_id), DISK_TYPE="FILE", TYPE=kind.lower(),
                        TARGET=disk.get("TARGET") or self._target(prefix, targets))
            return
        if not self.allowed(user, image, "USE"):
            raise OneError(AUTHORIZATION, "Not authorized to perform USE IMAGE [%d]"
                           % image["id"])
        prefix = disk.get("DEV_PREFIX") or tmpl.get(image["template"], "DEV_PREFIX", "vd")
        ds = self.datastores[image["datastore_id"]]
        disk.update({"CLONE": "YES", "CLONE_TARGET": "SYSTEM", "CLUSTER_ID": "0",
                     "DATASTORE": ds["name"], "DATASTORE_ID": str(ds["id"]),
                     "DEV_PREFIX": prefix, "DISK_ID": str(disk_id),
                     "DISK_SNAPSHOT_TOTAL_SIZE": "0", "DISK_TYPE": "FILE",
                     "DRIVER": tmpl.get(image["template"], "DRIVER", "raw"), "IMAGE":
                     image["name"], "IMAGE_ID": str(image["id"]), "IMAGE_STATE": "2",
                     "IMAGE_UNAME": image["uname"], "LN_TARGET": "NONE",
                     "ORIGINAL_SIZE": str(image["size"]), "READONLY": "NO", "SAVE": "NO",
                     "SIZE": disk.get("SIZE") or str(image["size"]),
                     "SOURCE": image["source"], "TM_MAD": ds["tm_mad"], "TYPE": "FILE",
                     "TARGET": disk.get("TARGET") or self._target(prefix, targets)})
        image["vms"].append(vm["id"])
        image["state"] = 2   # USED

    @staticmethod
    def _target(prefix, taken):
        """The first free device name for a prefix: vda, vdb..."""
        target = next(prefix + letter for letter in "abcdefghijklmnopqrstuvwxyz"
                      if prefix + letter not in taken)
        taken.add(target)
        return target

    def _context(self, user, vm, context, nics, disk_id):
        """VirtualMachine::parse_context: variables, ETHn_* for NETWORK=YES, its disk."""
        single = {key: value for key, value in vm["template"] + vm["user_template"]
                  if isinstance(value, str)}
        single.update(NAME=vm["name"], VMID=str(vm["id"]), UID=str(user["id"]),
                      UNAME=user["name"], GID=str(user["gid"]), GNAME=user["gname"])

        def resolve(match):
            if match.group(2):
                if match.group(1) == "USER":
                    return tmpl.get(user["template"], match.group(2), "")
                return ""
            return single.get(match.group(1), "")

        context = {key: _VARIABLE.sub(resolve, value) for key, value in context.items()}
        if context.get("NETWORK", "").upper() == "YES":
            for index, nic in enumerate(n for n in nics if "IP" in n):
                net = self.networks[int(nic["NETWORK_ID"])]
                eth = "ETH%d_" % index
                context.update({eth + "IP": nic["IP"], eth + "MAC": nic["MAC"]})
                for key, attr in (("DNS", "DNS"), ("GATEWAY", "GATEWAY"),
                                  ("MASK", "NETWORK_MASK"), ("NETWORK", "NETWORK_ADDRESS")):
                    context[eth + key] = tmpl.get(net["template"], attr, "")
        context.update(DISK_ID=str(disk_id), TARGET="hda")
        return context

    def _release_nics(self, nics, vid):
        for nic in nics:
            if "AR_ID" not in nic:
                continue
            net = self.networks[int(nic["NETWORK_ID"])]
            ar = net["ars"][int(nic["AR_ID"])]
            for index, owner in list(ar["leases"].items()):
                if owner == vid and self.ar_address(ar, int(index))[0] == nic["IP"]:
                    del ar["leases"][index]

    def _release_disks(self, disks, vid):
        for disk in disks:
            image = self.images.get(int(disk.get("IMAGE_ID", -1)))
            if image and vid in image["vms"]:
                image["vms"].remove(vid)
                image["state"] = 2 if image["vms"] else 1

    def _release(self, vm):
        """DispatchManager::free_vm_resources: leases and images go back."""
        self._release_nics(tmpl.get_all(vm["template"], "NIC"), vm["id"])
        self._release_disks(tmpl.get_all(vm["template"], "DISK"), vm["id"])

    # -- other VM calls ---------------------------------------------------------------------

    def vm_update(self, user, vid, attrs, append):
        """VirtualMachine::replace_template / append_template on USER_TEMPLATE."""
        vm = self.get(user, "vm", vid, "MANAGE")
        if append:
            tmpl.merge(vm["user_template"], attrs)
        else:
            vm["user_template"] = copy.deepcopy(attrs)
        return vid

    def vm_attach(self, user, vid, attrs):
        """VirtualMachineAttach of one DISK: hot-plugged at once (no HOTPLUG pause)."""
        vm = self.get(user, "vm", vid, "MANAGE")
        self._advance(vm, self.clock())
        if not ((vm["state"] == ACTIVE and vm["lcm_state"] == RUNNING)
                or vm["state"] == POWEROFF):
            raise OneError(ACTION, "Could not attach a new disk to VM %d, wrong state %s."
                           % (vid, state_str(vm)))
        disk = tmpl.get(attrs, "DISK")
        if not isinstance(disk, dict):
            raise OneError(INTERNAL, "Internal error: No DISK in template for Virtual Machine "
                           "%d." % vid)
        disks = tmpl.get_all(vm["template"], "DISK")
        context = tmpl.get(vm["template"], "CONTEXT") or {}
        ids = [int(d["DISK_ID"]) for d in disks] + [int(context.get("DISK_ID", -1))]
        targets = {d.get("TARGET") for d in disks} | {context.get("TARGET")}
        disk = dict(disk)
        self._disk(user, vm, disk, max(ids) + 1, targets)
        vm["template"].append(["DISK", disk])
        if vm["history"]:
            vm["history"][-1]["action"] = HISTORY_ACTIONS["disk-attach"]
        return vid

    def vm_detach(self, user, vid, disk_id):
        vm = self.get(user, "vm", vid, "MANAGE")
        self._advance(vm, self.clock())
        if not ((vm["state"] == ACTIVE and vm["lcm_state"] == RUNNING)
                or vm["state"] == POWEROFF):
            raise OneError(ACTION, "Could not detach disk from VM %d, wrong state %s."
                           % (vid, state_str(vm)))
        for pair in vm["template"]:
            if pair[0] == "DISK" and pair[1].get("DISK_ID") == str(disk_id):
                vm["template"].remove(pair)
                self._release_disks([pair[1]], vid)
                if vm["history"]:
                    vm["history"][-1]["action"] = HISTORY_ACTIONS["disk-detach"]
                return vid
        raise OneError(ACTION, "VM disk does not exist or cannot be detached")

    # -- templates --------------------------------------------------------------------------

    def template_allocate(self, user, attrs):
        name = tmpl.get(attrs, "NAME", "")
        if not name:
            raise OneError(INTERNAL, "Invalid NAME, it cannot be empty.")
        for other in self.templates.values():
            if other["name"] == name and other["uid"] == user["id"]:
                raise OneError(INTERNAL, "NAME is already taken by TEMPLATE %d." % other["id"])
        tid = max(self.templates, default=-1) + 1
        tmpl.remove(attrs, "NAME")
        self.templates[tid] = {"id": tid, "name": name, "uid": user["id"], "gid": user["gid"],
                               "uname": user["name"], "gname": user["gname"],
                               "perms": PRIVATE, "regtime": int(self.clock()),
                               "template": copy.deepcopy(attrs)}
        return tid

    def template_instantiate(self, user, tid, name, hold, extra):
        """VMTemplateInstantiate: the template merged with the extra attributes, named."""
        vmt = self.get(user, "template", tid, "USE")
        attrs = copy.deepcopy(vmt["template"])
        tmpl.merge(attrs, extra)
        tmpl.remove(attrs, "NAME")
        attrs.append(["NAME", name] if name else ["TEMPLATE_NAME", vmt["name"]])
        attrs.append(["TEMPLATE_ID", str(tid)])
        return self.allocate_vm(user, attrs, hold)
