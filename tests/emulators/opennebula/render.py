# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The XML bodies of the info calls, element for element as oned 6.x prints them.

``vm_xml`` is VirtualMachine::to_xml_extended (one.vm.info, one.vmpool.infoextended) and
``vm_short_xml`` to_xml_short (one.vmpool.info: CPU, MEMORY, DISK/NIC summaries and only a
few USER_TEMPLATE attributes, so tags need vm.info or infoextended, as on a real cloud).
"""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape

from . import template as tmpl
from .cloud import ACTIVE, DONE, HOLD, PENDING

_PERMS = ("OWNER_U", "OWNER_M", "OWNER_A", "GROUP_U", "GROUP_M", "GROUP_A",
          "OTHER_U", "OTHER_M", "OTHER_A")
_SHORT_DISK = ("DISK_ID", "DATASTORE", "DATASTORE_ID", "IMAGE", "IMAGE_ID", "SIZE", "TYPE",
               "CLONE", "CLONE_TARGET", "LN_TARGET", "DISK_SNAPSHOT_TOTAL_SIZE")
_SHORT_USER = ("LABELS", "ERROR", "SCHED_MESSAGE", "SCHED_RANK", "SCHED_DS_RANK",
               "SCHED_REQUIREMENTS", "SCHED_DS_REQUIREMENTS", "USER_PRIORITY")


def _el(name, value):
    return "<%s>%s</%s>" % (name, escape(str(value)), name)


def _ids(name, ids):
    return "<%s>%s</%s>" % (name, "".join(_el("ID", oid) for oid in ids), name)


def _owner(obj, with_perms=True):
    out = [_el(key, obj[attr]) for key, attr in
           (("ID", "id"), ("UID", "uid"), ("GID", "gid"), ("UNAME", "uname"),
            ("GNAME", "gname"), ("NAME", "name"))]
    if with_perms:
        out.append("<PERMISSIONS>%s</PERMISSIONS>"
                   % "".join(_el(key, bit) for key, bit in zip(_PERMS, obj["perms"])))
    return "".join(out)


def pool_xml(root, bodies):
    return "<%s>%s</%s>" % (root, "".join(bodies), root)


# -- virtual machines ------------------------------------------------------------------------

def _monitoring(vm, short=False):
    if not vm["last_poll"] or vm["state"] == DONE:
        return "<MONITORING/>"
    memory = int(tmpl.get(vm["template"], "MEMORY")) * 1024
    values = [("CPU", "1.0"), ("MEMORY", memory)] if short else [
        ("CPU", "1.0"), ("DISKRDBYTES", 0), ("DISKRDIOPS", 0), ("DISKWRBYTES", 0),
        ("DISKWRIOPS", 0), ("ID", vm["id"]), ("MEMORY", memory), ("NETRX", 0),
        ("NETTX", 0), ("TIMESTAMP", vm["last_poll"])]
    return "<MONITORING>%s</MONITORING>" % "".join(_el(k, v) for k, v in values)


def _history(vm, record, short=False):
    fields = [("OID", vm["id"]), ("SEQ", record["seq"]), ("HOSTNAME", "emulated-host-0"),
              ("HID", 0), ("CID", 0)]
    if short:
        fields += [("DS_ID", 0), ("ACTION", record["action"])]
    else:
        fields += [("STIME", record["stime"]), ("ETIME", record["etime"]), ("VM_MAD", "kvm"),
                   ("TM_MAD", "ssh"), ("DS_ID", 0)] + [
            (key.upper(), record[key]) for key in
            ("pstime", "petime", "rstime", "retime", "estime", "eetime", "action")] + [
            ("UID", -1), ("GID", -1), ("REQUEST_ID", -1)]
    return "<HISTORY>%s</HISTORY>" % "".join(_el(k, v) for k, v in fields)


def _vm_head(vm, extended):
    keys = ["LAST_POLL", "STATE", "LCM_STATE"] + (
        ["PREV_STATE", "PREV_LCM_STATE"] if extended else []) + [
        "RESCHED", "STIME", "ETIME", "DEPLOY_ID"]
    values = dict(vm, resched=0)
    return _owner(vm, extended) + "".join(_el(key, values[key.lower()]) for key in keys)


def vm_xml(vm):
    """one.vm.info: everything, history records included."""
    history = "".join(_history(vm, record) for record in vm["history"])
    return "".join([
        "<VM>", _vm_head(vm, True), _monitoring(vm),
        tmpl.to_xml("TEMPLATE", vm["template"]),
        tmpl.to_xml("USER_TEMPLATE", vm["user_template"]),
        "<HISTORY_RECORDS>%s</HISTORY_RECORDS>" % history if history else "<HISTORY_RECORDS/>",
        "<BACKUPS><BACKUP_CONFIG/><BACKUP_IDS/></BACKUPS>", "</VM>"])


def vm_short_xml(vm):
    """one.vmpool.info's body of a VM."""
    vm_tmpl, user_tmpl = vm["template"], vm["user_template"]
    out = ["<VM>", _vm_head(vm, False), "<TEMPLATE>",
           _el("CPU", tmpl.get(vm_tmpl, "CPU")), _el("MEMORY", tmpl.get(vm_tmpl, "MEMORY"))]
    for disk in tmpl.get_all(vm_tmpl, "DISK"):
        out.append("<DISK>%s</DISK>" % "".join(_el(k, disk.get(k, "")) for k in _SHORT_DISK))
    for nic in tmpl.get_all(vm_tmpl, "NIC"):
        optional = "".join(_el(k, nic[k]) for k in ("IP", "IP6", "NETWORK_MODE") if nic.get(k))
        out.append("<NIC>%s%s</NIC>" % (optional, "".join(
            _el(k, nic.get(k, "")) for k in
            ("MAC", "NETWORK", "NETWORK_ID", "NIC_ID", "SECURITY_GROUPS"))))
    graphics = tmpl.get(vm_tmpl, "GRAPHICS")
    if graphics:
        out.append(tmpl.attribute_xml("GRAPHICS", graphics))
    out += ["</TEMPLATE>", _monitoring(vm, short=True)]
    kept = [_el(k, tmpl.get(user_tmpl, k)) for k in _SHORT_USER if tmpl.get(user_tmpl, k)]
    out.append("<USER_TEMPLATE>%s</USER_TEMPLATE>" % "".join(kept) if user_tmpl
               else "<USER_TEMPLATE/>")
    out.append("<HISTORY_RECORDS>%s</HISTORY_RECORDS>" % _history(vm, vm["history"][-1], True)
               if vm["history"] else "<HISTORY_RECORDS/>")
    out.append("</VM>")
    return "".join(out)


# -- networks, images, templates, datastores, users ------------------------------------------

def _ar(cloud, ar, extended):
    first_ip, first_mac = cloud.ar_address(ar, 0)
    if not extended:
        # the stored vector attribute; ALLOCATED pairs an index with its owner (VM bit 32)
        allocated = "".join(" %s %d" % (index, 1 << 32 | vid)
                            for index, vid in sorted(ar["leases"].items(),
                                                     key=lambda pair: int(pair[0])))
        return tmpl.attribute_xml("AR", {"ALLOCATED": allocated, "AR_ID": str(ar["ar_id"]),
                                         "IP": first_ip, "MAC": first_mac,
                                         "SIZE": str(ar["size"]), "TYPE": "IP4"})
    last_ip, last_mac = cloud.ar_address(ar, ar["size"] - 1)
    out = ["<AR>", _el("AR_ID", ar["ar_id"]), _el("IP", first_ip), _el("MAC", first_mac),
           _el("SIZE", ar["size"]), _el("TYPE", "IP4"), _el("MAC_END", last_mac),
           _el("IP_END", last_ip), _el("USED_LEASES", len(ar["leases"]))]
    if ar["leases"]:
        out.append("<LEASES>")
        for index, vid in sorted(ar["leases"].items(), key=lambda pair: int(pair[0])):
            ip, mac = cloud.ar_address(ar, int(index))
            out.append("<LEASE>%s%s%s</LEASE>" % (_el("IP", ip), _el("MAC", mac),
                                                  _el("VM", vid)))
        out.append("</LEASES>")
    out.append("</AR>")
    return "".join(out)


def vnet_xml(cloud, net, extended=True):
    """one.vn.info (leases listed) and one.vnpool.info (extended=False, no LEASES)."""
    used = sum(len(ar["leases"]) for ar in net["ars"])
    attrs = net["template"] + [["BRIDGE", net["bridge"]], ["BRIDGE_TYPE", "linux"],
                               ["SECURITY_GROUPS", "0"], ["VN_MAD", net["vn_mad"]]]
    return "".join([
        "<VNET>", _owner(net), _ids("CLUSTERS", [0]), _el("BRIDGE", net["bridge"]),
        _el("BRIDGE_TYPE", "linux"), _el("STATE", 1), _el("PREV_STATE", 1),
        "<PARENT_NETWORK_ID/>", _el("VN_MAD", net["vn_mad"]), "<PHYDEV/><VLAN_ID/>",
        "<OUTER_VLAN_ID/>", _el("VLAN_ID_AUTOMATIC", 0), _el("OUTER_VLAN_ID_AUTOMATIC", 0),
        _el("USED_LEASES", used), "<VROUTERS/><UPDATED_VMS/><OUTDATED_VMS/><UPDATING_VMS/>",
        "<ERROR_VMS/>", tmpl.to_xml("TEMPLATE", attrs),
        "<AR_POOL>%s</AR_POOL>" % "".join(_ar(cloud, ar, extended) for ar in net["ars"]),
        "</VNET>"])


def image_xml(image):
    fields = [("TYPE", 0), ("DISK_TYPE", 0), ("PERSISTENT", 0), ("REGTIME", image["regtime"]),
              ("SOURCE", image["source"]), ("PATH", ""), ("FORMAT", "qcow2"), ("FS", ""),
              ("SIZE", image["size"]), ("STATE", image["state"]), ("PREV_STATE", 1),
              ("RUNNING_VMS", len(image["vms"])), ("CLONING_OPS", 0), ("CLONING_ID", -1),
              ("TARGET_SNAPSHOT", -1), ("DATASTORE_ID", image["datastore_id"]),
              ("DATASTORE", image["datastore"])]
    return "".join([
        "<IMAGE>", _owner(image), "".join(_el(k, v) for k, v in fields),
        _ids("VMS", image["vms"]), "<CLONES/><APP_CLONES/>",
        tmpl.to_xml("TEMPLATE", image["template"]),
        "<SNAPSHOTS><ALLOW_ORPHANS>NO</ALLOW_ORPHANS><CURRENT_BASE>-1</CURRENT_BASE>"
        "<NEXT_SNAPSHOT>0</NEXT_SNAPSHOT></SNAPSHOTS>",
        "<BACKUP_INCREMENTS/><BACKUP_DISK_IDS/>", "</IMAGE>"])


def template_xml(vmt):
    return "".join(["<VMTEMPLATE>", _owner(vmt), _el("REGTIME", vmt["regtime"]),
                    tmpl.to_xml("TEMPLATE", vmt["template"]), "</VMTEMPLATE>"])


def datastore_xml(cloud, ds):
    used = sum(cloud.images[iid]["size"] for iid in ds["images"])
    fields = [("DS_MAD", ds["ds_mad"]), ("TM_MAD", ds["tm_mad"]),
              ("BASE_PATH", ds["base_path"]), ("TYPE", ds["type"]), ("DISK_TYPE", 0),
              ("STATE", 0)]
    sizes = [("TOTAL_MB", ds["total_mb"]), ("FREE_MB", ds["total_mb"] - used),
             ("USED_MB", used)]
    attrs = ds["template"] + [["DS_MAD", ds["ds_mad"]], ["TM_MAD", ds["tm_mad"]]]
    return "".join(["<DATASTORE>", _owner(ds), "".join(_el(k, v) for k, v in fields),
                    _ids("CLUSTERS", [0]), "".join(_el(k, v) for k, v in sizes),
                    _ids("IMAGES", ds["images"]), tmpl.to_xml("TEMPLATE", attrs),
                    "</DATASTORE>"])


def user_xml(cloud, user):
    """one.user.info: the VM quota shows the max_vms knob and the usage it is checked on."""
    vms = [vm for vm in cloud.vms.values() if vm["uid"] == user["id"] and vm["state"] != DONE]
    running = [vm for vm in vms if vm["state"] in (PENDING, HOLD, ACTIVE)]
    cpu = sum(float(tmpl.get(vm["template"], "CPU")) for vm in vms)
    memory = sum(int(tmpl.get(vm["template"], "MEMORY")) for vm in vms)
    limit = cloud.knobs["max_vms"]
    quota = [("CPU", -1), ("CPU_USED", "%g" % cpu), ("MEMORY", -1), ("MEMORY_USED", memory),
             ("RUNNING_CPU", -1), ("RUNNING_CPU_USED",
                                   "%g" % sum(float(tmpl.get(vm["template"], "CPU"))
                                              for vm in running)),
             ("RUNNING_MEMORY", -1), ("RUNNING_MEMORY_USED",
                                      sum(int(tmpl.get(vm["template"], "MEMORY"))
                                          for vm in running)),
             ("RUNNING_VMS", -1), ("RUNNING_VMS_USED", len(running)),
             ("SYSTEM_DISK_SIZE", -1), ("SYSTEM_DISK_SIZE_USED", 0),
             ("VMS", -1 if limit is None else limit), ("VMS_USED", len(vms))]
    vm_quota = ("<VM_QUOTA><VM>%s</VM></VM_QUOTA>" % "".join(_el(k, v) for k, v in quota)
                if user["id"] != 0 else "<VM_QUOTA/>")
    return "".join([
        "<USER>", _el("ID", user["id"]), _el("GID", user["gid"]),
        _ids("GROUPS", user["groups"]), _el("GNAME", user["gname"]), _el("NAME", user["name"]),
        _el("PASSWORD", hashlib.sha256(user["password"].encode()).hexdigest()),
        _el("AUTH_DRIVER", "core"), _el("ENABLED", 1), "<LOGIN_TOKEN/>",
        tmpl.to_xml("TEMPLATE", user["template"]),
        "<DATASTORE_QUOTA/><NETWORK_QUOTA/>", vm_quota, "<IMAGE_QUOTA/>",
        "<DEFAULT_USER_QUOTAS><DATASTORE_QUOTA/><NETWORK_QUOTA/><VM_QUOTA/><IMAGE_QUOTA/>"
        "</DEFAULT_USER_QUOTAS>", "</USER>"])
