# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenNebula sites, through pyone (XML-RPC).

Every VM carries its deployment and key as attributes of its user template (PAAS_DEPLOYMENT,
PAAS_KEY, with the template's tags): a rerun finds what a killed run created by them, and delete
finds everything by them. One pool call per poll serves every VM of the deployment.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import time
import traceback
import xmlrpc.client
from xml.parsers.expat import ExpatError

try:
    import pyone
except ImportError:
    pyone = None
    PYONE_ERROR = traceback.format_exc()
else:
    PYONE_ERROR = None

from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    VmDriver,
    Observed,
    ProviderError,
    SiteConfigError,
)

# VM STATE / LCM_STATE (OpenNebula 6)
_DONE, _ACTIVE, _FAILED = 6, 3, 7
_RUNNING = 3
_GOING = {11, 12, 23}  # EPILOG, SHUTDOWN, CLEANUP_DELETE: already on its way out
_FAILURE_LCM = {14, 16, 36, 37, 38, 39, 40, 41, 42, 44, 46, 47, 48, 49, 50}
_ANY_STATE_BUT_DONE = -1
_TRANSIENT_HTTP = {429, 500, 502, 503, 504}
RETRIES = 5
_ALL_USERS = -2
DEPLOYMENT_ATTR, KEY_ATTR = "PAAS_DEPLOYMENT", "PAAS_KEY"


def _quote(value):
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


def _vector(pairs):
    return "[ %s ]" % ", ".join("%s = %s" % (name, _quote(value)) for name, value in pairs
                                if value is not None)


class OpenNebulaDriver(VmDriver):
    site_type = "opennebula"

    def __init__(self, site):
        super().__init__(site)
        self.endpoint = site.get("endpoint")
        if not self.endpoint:
            raise SiteConfigError("site '%s' (opennebula) needs an endpoint (the XML-RPC URL)"
                                  % self.name)
        tenant = site.get("tenant") or {}
        self.public_network = site.get("public_network") or tenant.get("public_network_name")
        self.private_network = site.get("private_network") or tenant.get(
            "private_network_name")
        self.network_owner = site.get("network_owner", "oneadmin")
        self.timeout = site.get("timeout", 30)
        self._client = None

    def _one(self):
        if PYONE_ERROR:
            raise SiteConfigError("the opennebula driver needs pyone: %s"
                                  % PYONE_ERROR.strip().splitlines()[-1])
        if self._client is None:
            username, password = self.site.get("username"), self.site.get("password")
            if not username or password is None:
                raise SiteConfigError("site '%s' (opennebula) needs username and password"
                                      % self.name)
            self._client = pyone.OneServer(self.endpoint, session="%s:%s" % (username, password),
                                           timeout=self.timeout)
        return self._client

    def _call(self, what, func, *args):
        """A pyone call, retried with jittered backoff on transient faults (5xx, 429, broken
        connections); OpenNebula's refusals and a site that stays unreachable are provider
        errors."""
        for attempt in range(RETRIES + 1):
            try:
                return func(*args)
            except pyone.OneException as exc:
                raise self._refused(what, exc) from None
            except (xmlrpc.client.ProtocolError, http.client.HTTPException, ExpatError,
                    OSError) as exc:
                status = getattr(exc, "errcode", None)
                if status is not None and status not in _TRANSIENT_HTTP or attempt == RETRIES:
                    raise ProviderError("site '%s': OpenNebula at %s is unreachable (%s: %s)"
                                        % (self.name, self.endpoint, type(exc).__name__,
                                           status or exc)) from None
                time.sleep(min(8.0, 0.25 * 2 ** attempt) * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable")  # the loop returns or raises

    def _refused(self, what, exc):
        """OpenNebula's refusal as a provider error (credentials named, never shown)."""
        if isinstance(exc, pyone.OneAuthenticationException):
            return ProviderError("site '%s': OpenNebula refused the credentials (%s)"
                                 % (self.name, what))
        return ProviderError("site '%s': %s failed: %s" % (self.name, what, exc))

    def _ours(self, deployment_uuid):
        """key -> VM of the deployment, for every VM not DONE."""
        pool = self._call("listing VMs", self._one().vmpool.infoextended, _ALL_USERS, -1, -1,
                          _ANY_STATE_BUT_DONE)
        found = {}
        for vm in pool.VM:
            attributes = vm.USER_TEMPLATE or {}
            if attributes.get(DEPLOYMENT_ATTR) == deployment_uuid and attributes.get(KEY_ATTR):
                found[attributes[KEY_ATTR]] = vm
        return found

    def _template(self, deployment_uuid, spec):
        image = str((spec.get("image") or {}).get("image_id") or "")
        if not image:
            raise ProviderError("site '%s' has no image for VM %s" % (self.name, spec["key"]))
        lines = [
            "NAME = %s" % _quote(spec["name"]),
            "CPU = %s" % _quote(spec.get("num_cpus") or 1),
            "VCPU = %s" % _quote(int(spec.get("num_cpus") or 1)),
            "MEMORY = %s" % _quote(spec.get("mem_mb") or 1024),
            "DISK = %s" % _vector([("IMAGE_ID", image.rsplit("/", 1)[-1])]),
        ]
        # attached BlockStorage: volatile disks, created and destroyed with the VM
        lines.extend("DISK = %s" % _vector([("TYPE", "fs"), ("FORMAT", "raw"),
                                            ("SIZE", int(volume["size_gb"]) * 1024),
                                            ("PAAS_KEY", volume["key"])])
                     for volume in spec.get("volumes") or ())
        networks = [self.private_network] + ([self.public_network] if spec.get("public_ip")
                                             else [])
        for network in networks:
            if network:
                lines.append("NIC = %s" % _vector([("NETWORK", network),
                                                   ("NETWORK_UNAME", self.network_owner)]))
        keys = "\n".join(key for user in spec.get("users") or () for key in user["ssh_keys"])
        lines.append("CONTEXT = %s" % _vector([
            ("NETWORK", "YES"), ("SET_HOSTNAME", spec.get("hostname")),
            ("SSH_PUBLIC_KEY", keys or None),
            ("USER_DATA", base64.b64encode(spec["user_data"].encode()).decode()
             if spec.get("user_data") else None),
            ("USER_DATA_ENCODING", "base64" if spec.get("user_data") else None)]))
        # attribute names are upper case in OpenNebula: one per tag, ours last (they identify)
        tags = {name.upper(): value for name, value in (spec.get("tags") or {}).items()
                if name.replace("_", "").isalnum()}
        tags.update({DEPLOYMENT_ATTR: deployment_uuid, KEY_ATTR: spec["key"]})
        lines.extend("%s = %s" % (name, _quote(value if isinstance(value, str)
                                               else json.dumps(value)))
                     for name, value in tags.items())
        return "\n".join(lines)

    # -- the driver interface -------------------------------------------------------------
    def submit(self, deployment_uuid, items, secrets):
        existing = self._ours(deployment_uuid)
        physical = {}
        for item in items:
            vm = existing.get(item["key"])
            if vm is None:
                vm_id = self._allocate(deployment_uuid, item)
            else:
                vm_id = vm.ID  # a killed run created it already
            physical[item["key"]] = "one:%s" % vm_id
        return physical

    def _allocate(self, deployment_uuid, item):
        """One VM for the item, even when a broken connection hid whether an allocate call
        went through: before trying again, look for the VM by its key."""
        template = self._template(deployment_uuid, item["spec"])
        for attempt in range(RETRIES + 1):
            try:
                return self._one().vm.allocate(template, False)
            except (xmlrpc.client.ProtocolError, http.client.HTTPException, ExpatError,
                    OSError):
                if attempt == RETRIES:
                    raise ProviderError("site '%s': OpenNebula at %s is unreachable while "
                                        "creating VM %s" % (self.name, self.endpoint,
                                                            item["key"])) from None
                time.sleep(min(8.0, 0.25 * 2 ** attempt) * random.uniform(0.5, 1.0))
                vm = self._ours(deployment_uuid).get(item["key"])
                if vm is not None:
                    return vm.ID
            except pyone.OneException as exc:
                raise self._refused("creating VM %s" % item["key"], exc) from None
        raise AssertionError("unreachable")

    def poll(self, deployment_uuid, keys):
        vms = self._ours(deployment_uuid)
        observed = {}
        for key in keys:
            vm = vms.get(key)
            if vm is None:
                raise ProviderError("site '%s': VM %s is gone" % (self.name, key))
            if vm.STATE == _FAILED or vm.LCM_STATE in _FAILURE_LCM:
                error = (vm.USER_TEMPLATE or {}).get("ERROR") or "state %s/%s" % (
                    vm.STATE, vm.LCM_STATE)
                # INDIGO: a VM that fails on the site is a provider error (try the next site)
                raise ProviderError("site '%s': VM %s failed: %s" % (self.name, key, error))
            running = vm.STATE == _ACTIVE and vm.LCM_STATE == _RUNNING
            observed[key] = Observed("STARTED" if running else "CREATING",
                                     self._attributes(vm))
        return observed

    def _attributes(self, vm):
        public, private = [], []
        nics = (vm.TEMPLATE or {}).get("NIC") or []
        for nic in nics if isinstance(nics, list) else [nics]:
            target = public if nic.get("NETWORK") == self.public_network else private
            if nic.get("IP"):
                target.append(nic["IP"])
        disks = (vm.TEMPLATE or {}).get("DISK") or []
        volumes = [disk for disk in (disks if isinstance(disks, list) else [disks])
                   if disk.get("TYPE") == "fs"]
        return {"id": vm.ID, "public_address": public, "private_address": private,
                "state": vm.STATE, "lcm_state": vm.LCM_STATE,
                "volumes": [{"disk_id": disk.get("DISK_ID"), "size_mb": disk.get("SIZE")}
                            for disk in volumes]}

    def remove(self, deployment_uuid, keys):
        return self._terminate(self._ours(deployment_uuid), set(keys))

    def delete(self, deployment_uuid):
        vms = self._ours(deployment_uuid)
        return self._terminate(vms, set(vms))

    def _terminate(self, vms, keys):
        """Terminate the VMs of ``keys`` not already on their way out; True when none is left."""
        vms = {key: vm for key, vm in vms.items() if key in keys}
        for key, vm in vms.items():
            if vm.STATE != _DONE and vm.LCM_STATE not in _GOING:
                self._call("deleting VM %s" % key, self._one().vm.action, "terminate-hard",
                           vm.ID)
        return not vms
