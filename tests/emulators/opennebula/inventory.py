# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a fresh emulated OpenNebula holds: users, datastores, images, networks, templates.

Shaped like a small real install: oneadmin (uid 0) and one regular user; the three default
datastores; two OS images; a public and a private network; one VM template. The resources
belong to oneadmin in group ``users`` with GROUP_U set, as an operator shares them, so the
regular user sees them. Addresses are documentation/private ranges: only strings here.
"""

from __future__ import annotations

import copy

# OWNER_U, OWNER_M, OWNER_A, GROUP_U, GROUP_M, GROUP_A, OTHER_U, OTHER_M, OTHER_A
SHARED = [1, 1, 0, 1, 0, 0, 0, 0, 0]
PRIVATE = [1, 1, 0, 0, 0, 0, 0, 0, 0]   # oned's default umask 177

_INVENTORY = {
    "groups": [{"id": 0, "name": "oneadmin"}, {"id": 1, "name": "users"}],
    "users": [
        {"id": 0, "name": "oneadmin", "password": "opennebula", "gid": 0, "groups": [0]},
        {"id": 2, "name": "paas", "password": "paas-secret", "gid": 1, "groups": [1]},
    ],
    "datastores": [
        {"id": 0, "name": "system", "type": 1, "ds_mad": "-", "tm_mad": "ssh",
         "total_mb": 512000, "template": [["SHARED", "NO"], ["TYPE", "SYSTEM_DS"]]},
        {"id": 1, "name": "default", "type": 0, "ds_mad": "fs", "tm_mad": "ssh",
         "total_mb": 512000, "template": [["DRIVER", "qcow2"], ["TYPE", "IMAGE_DS"]]},
        {"id": 2, "name": "files", "type": 2, "ds_mad": "fs", "tm_mad": "ssh",
         "total_mb": 512000, "template": [["TYPE", "FILE_DS"]]},
    ],
    "images": [
        {"id": 0, "name": "ubuntu-22.04", "size": 2252, "datastore_id": 1,
         "template": [["DEV_PREFIX", "vd"], ["DRIVER", "qcow2"]]},
        {"id": 1, "name": "alma-9", "size": 10240, "datastore_id": 1,
         "template": [["DEV_PREFIX", "vd"], ["DRIVER", "qcow2"]]},
    ],
    "networks": [
        {"id": 0, "name": "public", "bridge": "br-public", "vn_mad": "bridge",
         "ars": [{"ip": "198.51.100.10", "size": 100}],
         "template": [["DNS", "198.51.100.1"], ["GATEWAY", "198.51.100.1"],
                      ["NETWORK_ADDRESS", "198.51.100.0"], ["NETWORK_MASK", "255.255.255.0"]]},
        {"id": 1, "name": "private", "bridge": "br-private", "vn_mad": "bridge",
         "ars": [{"ip": "10.10.0.2", "size": 250}],
         "template": [["DNS", "10.10.0.1"], ["GATEWAY", "10.10.0.1"],
                      ["NETWORK_ADDRESS", "10.10.0.0"], ["NETWORK_MASK", "255.255.255.0"]]},
    ],
    "templates": [
        {"id": 0, "name": "ubuntu-small",
         "template": [["CPU", "1"], ["MEMORY", "1024"], ["VCPU", "1"],
                      ["DISK", {"IMAGE_ID": "0"}], ["NIC", {"NETWORK_ID": "1"}],
                      ["CONTEXT", {"NETWORK": "YES",
                                   "SSH_PUBLIC_KEY": "$USER[SSH_PUBLIC_KEY]"}],
                      ["GRAPHICS", {"LISTEN": "0.0.0.0", "TYPE": "VNC"}]]},
    ],
}


def default_inventory():
    """A copy to change before handing it to the emulator (e.g. a 2-address network)."""
    return copy.deepcopy(_INVENTORY)
