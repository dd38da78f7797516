# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VM, volume and network nodes -> specs, the same for every IaaS driver (OpenStack, EC2,
OpenNebula).

What INDIGO has the IM do to a Compute (spec §3.2) is decided here, once: the image and flavor
the ranker matched on the site (an IM image URI is kept as given), the public IP and open ports
of the ``endpoint``, the networks of its Port nodes or else of its endpoint (with the site
tenant's network names), the users of ``os_users`` and ``os.credential`` as cloud-init user
data, the BlockStorage volumes attached to it, and its ``tags`` merged with the deployment's.
A spec holds no secret: specs are written to disk, so a password or private key given as
``os.credential`` is never copied (only public keys are).
"""

from __future__ import annotations

import ipaddress
import json
import math
import re

from ansible_collections.paas.orchestrator.plugins.module_utils.jobs import size_megabytes
from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import matching
from ansible_collections.paas.orchestrator.plugins.module_utils.ranking.errors import (
    RankingError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.functions import is_deferred

BLOCK_STORAGE = "tosca.nodes.BlockStorage"
# BlockStorage subtypes that are file systems mounted by software, not devices a cloud creates.
NOT_VOLUMES = ("tosca.nodes.indigo.OneDataStorage", "tosca.nodes.indigo.GlusterFSVolume")
NETWORK = "tosca.nodes.network.Network"
PORT = "tosca.nodes.network.Port"
ANY_CIDR = "0.0.0.0/0"
# INDIGO's IM always opens SSH: it configures the VM through it.
SSH_RULE = {"protocol": "tcp", "port": 22, "remote_cidr": ANY_CIDR}
# The VM capabilities and properties a spec is built from: all must be known at plan time.
VM_CAPABILITIES = ("os", "host", "endpoint", "scalable")
VM_PROPERTIES = ("os_users", "tags")
SUDO = "ALL=(ALL) NOPASSWD:ALL"

_NOT_DNS = re.compile(r"[^a-z0-9-]+")
_USER_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")


def _label(text):
    return _NOT_DNS.sub("-", str(text).lower()).strip("-")


def resource_name(deployment_uuid, node, index):
    """'<first 8 of the uuid>-<node>-<index>': one DNS label (at most 63 characters of a-z,
    0-9 and '-'), unique in the site. Drivers find resources by the ``paas_key`` tag; the name
    is for people and DNS (two node names that differ only in case or punctuation share it)."""
    prefix = _label(str(deployment_uuid)[:8])
    suffix = "-%d" % index
    middle = _label(node)[:63 - len(prefix) - len(suffix) - 1].strip("-")
    return "-".join(part for part in (prefix, middle) if part) + suffix


def _refuse_deferred(node, what, values):
    for prop, value in values:
        if is_deferred(value):
            raise ToscaError("Property '%s' of %s '%s' uses get_attribute, which is not known "
                             "before the %s is created" % (prop, what, node.name, what),
                             node=node.name, prop=prop)


def _placed(site, section, node):
    return ((site.get("placement") or {}).get(section) or {}).get(node)


def _tags(own, resource, deployment_uuid):
    """The node's tags, then ours, which win: INDIGO merges PAAS_DEP_UUID in the same way."""
    tags = dict(own)
    tags.update({"paas_deployment": deployment_uuid, "paas_key": resource.key,
                 "paas_node": resource.node, "PAAS_DEP_UUID": deployment_uuid})
    return tags


# -- volumes ---------------------------------------------------------------------------------

def is_volume(node):
    """A block device the cloud creates: a BlockStorage that is not a OneData or GlusterFS
    mount (those are set up by software on the VM)."""
    return node.is_a(BLOCK_STORAGE) and not any(node.is_a(name) for name in NOT_VOLUMES)


def _gigabytes(node, prop, value):
    """A scalar-unit.size -> whole GB, rounded up so a volume is never smaller than asked
    (TOSCA units: 1 GB = 1000 MB, 1 GiB = 1073.74 MB)."""
    size = size_megabytes(value) or 0
    if size <= 0:
        raise ToscaError("%s '%s' of '%s' is not a size such as '50 GB'" % (prop, value, node),
                         node=node, prop=prop)
    return math.ceil(size / 1000)


def _volume(node, index, site, deployment_uuid):
    """Instance ``index`` of BlockStorage ``node``: the same in its own spec and its VM's."""
    _refuse_deferred(node, "volume", [(prop, node.properties.get(prop))
                                      for prop in ("size", "type")])
    size = node.properties.get("size")
    if size is None:
        raise ToscaError("Volume '%s' has no size" % node.name, node=node.name, prop="size")
    return {
        "key": "%s#%d" % (node.name, index),
        "name": resource_name(deployment_uuid, node.name, index),
        "size_gb": _gigabytes(node.name, "size", size),
        # INDIGO replaces the template's type with the CMDB volume type the ranker matched
        "type": _placed(site, "volume_types", node.name) or node.properties.get("type"),
    }


def volume_spec(plan, resource, site, deployment_uuid):
    """The spec of one BlockStorage resource (see ``is_volume``)."""
    node = plan.topology.nodes[resource.node]
    if not is_volume(node):
        raise ToscaError("Node '%s' (%s) is not a volume a cloud creates"
                         % (node.name, node.type), node=node.name)
    spec = {"key": resource.key, "node": resource.node, "index": resource.index}
    volume = _volume(node, resource.index, site, deployment_uuid)
    spec.update(name=volume["name"], size_gb=volume["size_gb"], type=volume["type"],
                tags=_tags({}, resource, deployment_uuid))
    return spec


def _attached_volumes(topology, node, index, site, deployment_uuid):
    """The volumes of instance ``index`` of VM ``node``. As in the IM, where a BlockStorage is
    a disk of the VM, each instance of a scaled VM gets its own volume: instance ``index`` of
    the BlockStorage node."""
    volumes = []
    for req in node.requirements:
        target = topology.nodes.get(req.node) if req.node else None
        if target is None or not is_volume(target):
            continue
        attachment = req.relationship_properties
        values = []
        for prop in ("device", "location"):
            value = attachment.get(prop)
            where = "%s.%s" % (req.name, prop)
            _refuse_deferred(node, "VM", [(where, value)])
            if value is not None and not isinstance(value, str):
                raise ToscaError("%s of the attachment of '%s' to VM '%s' must be a string, not "
                                 "%r" % (prop, target.name, node.name, value),
                                 node=node.name, prop=where)
            values.append(value)
        volume = _volume(target, index, site, deployment_uuid)
        volume.update(device=values[0], location=values[1])
        volumes.append(volume)
    return volumes


# -- networks --------------------------------------------------------------------------------

def _network(node, site, deployment_uuid):
    """A Network node on a site: INDIGO's ``network_type`` (the IM treats anything but public
    or isolated as private), its ``network_name`` or else the tenant's (isolated networks are
    created by the deployment and named like its other resources)."""
    props = node.properties
    _refuse_deferred(node, "network", [(prop, props.get(prop)) for prop in
                                       ("network_type", "network_name", "cidr", "ip_version")])
    network_type = str(props.get("network_type") or "private").lower()
    if network_type not in ("public", "isolated"):
        network_type = "private"
    tenant = site.get("tenant") or {}
    name = props.get("network_name")
    if not name:
        name = (resource_name(deployment_uuid, node.name, 0) if network_type == "isolated"
                else tenant.get("%s_network_name" % network_type))
    cidr = props.get("cidr")
    if network_type == "isolated" and not cidr:
        cidr = tenant.get("private_network_cidr")
    return {"network_type": network_type, "network_name": name,
            "create": network_type == "isolated", "cidr": cidr,
            "ip_version": props.get("ip_version") or 4}


def deployment_networks(topology):
    """VM node -> the networks its Port nodes link it to, by ``order``: ``[{"port", "network",
    "order", "ip_address"}]``. VMs without Port nodes are absent: their endpoint decides."""
    links = {}
    for node in topology.nodes.values():
        if not node.is_a(PORT):
            continue
        bound = [req.node for req in node.requirements if req.name == "binding" and req.node]
        linked = [req.node for req in node.requirements if req.name == "link" and req.node]
        if len(bound) != 1 or len(linked) != 1 \
                or topology.nodes[bound[0]].kind != kinds.VM \
                or not topology.nodes[linked[0]].is_a(NETWORK):
            raise ToscaError("Port '%s' must bind one VM and link one network" % node.name,
                             node=node.name)
        _refuse_deferred(node, "port", [(prop, node.properties.get(prop))
                                        for prop in ("order", "ip_address")])
        order = node.properties.get("order") or 0
        entries = links.setdefault(bound[0], [])
        for entry in entries:
            if entry["order"] == order:
                raise ToscaError("Ports '%s' and '%s' of VM '%s' have the same order %d"
                                 % (entry["port"], node.name, bound[0], order),
                                 node=node.name, prop="order")
        entries.append({"port": node.name, "network": linked[0], "order": order,
                        "ip_address": node.properties.get("ip_address")})
    for entries in links.values():
        entries.sort(key=lambda entry: entry["order"])
    return links


def network_spec(plan, resource, site, deployment_uuid):
    """The spec of a Network node (``role: network``) or a Port node (``role: port``: each VM
    instance it binds gets the interface, listed in its VM spec's ``networks``)."""
    topology = plan.topology
    node = topology.nodes[resource.node]
    spec = {"key": resource.key, "node": resource.node, "index": resource.index,
            "name": resource_name(deployment_uuid, resource.node, resource.index)}
    if node.is_a(PORT):
        for vm, entries in deployment_networks(topology).items():
            for entry in entries:
                if entry["port"] == node.name:
                    spec.update(role="port", vm=vm, network=entry["network"],
                                order=entry["order"], ip_address=entry["ip_address"])
    else:
        spec.update(role="network", **_network(node, site, deployment_uuid))
    spec["tags"] = _tags({}, resource, deployment_uuid)
    return spec


def _endpoint_network(endpoint):
    """(public IP?, private network name or None) from the endpoint's ``network_name``, read as
    the IM reads it: PUBLIC, PRIVATE, '<network>.PUBLIC', '<network>.PRIVATE' or '<network>'."""
    name = str(endpoint.get("network_name") or "PRIVATE")
    base, _dot, last = name.rpartition(".")
    if last in ("PUBLIC", "PRIVATE"):
        return last == "PUBLIC", base or None
    return False, name


def _vm_networks(topology, node, site, deployment_uuid):
    """(public IP?, networks): those of the VM's Port nodes when it has any (as in the IM, the
    endpoint's network_name is then not read), else a private network, plus the public one
    when the endpoint asks for a public IP."""
    links = deployment_networks(topology).get(node.name)
    if links:
        networks = []
        for link in links:
            network = _network(topology.nodes[link["network"]], site, deployment_uuid)
            networks.append({"node": link["network"], "port": link["port"],
                             "network_type": network["network_type"],
                             "network_name": network["network_name"], "order": link["order"],
                             "ip_address": link["ip_address"]})
        return any(net["network_type"] == "public" for net in networks), networks
    public_ip, private_name = _endpoint_network(node.capabilities.get("endpoint") or {})
    tenant = site.get("tenant") or {}
    networks = [{"node": None, "port": None, "network_type": "private",
                 "network_name": private_name or tenant.get("private_network_name"),
                 "order": 0, "ip_address": None}]
    if public_ip:
        networks.append({"node": None, "port": None, "network_type": "public",
                         "network_name": tenant.get("public_network_name"), "order": 1,
                         "ip_address": None})
    return public_ip, networks


# -- security rules --------------------------------------------------------------------------

def _port_number(node, where, value):
    if isinstance(value, bool) or not isinstance(value, (int, str)) \
            or not str(value).strip().isdigit() or not 1 <= int(value) <= 65535:
        raise ToscaError("%s of VM '%s': %r is not a port number (1-65535)"
                         % (where, node.name, value), node=node.name, prop=where)
    return int(value)


def _security_rules(node):
    """SSH, then one rule per endpoint port, without repeats: ``port`` is the ``source`` port
    or the ``source_range`` as [first, last] (None for igmp with neither). The loader has
    checked the PortSpec type (protocol tcp, udp or igmp; a range in order); a value from
    get_input is only checked here."""
    rules = [dict(SSH_RULE)]
    for name, port in ((node.capabilities.get("endpoint") or {}).get("ports") or {}).items():
        where = "endpoint.ports.%s" % name
        protocol = port.get("protocol") or "tcp"
        if port.get("source") is not None:
            number = _port_number(node, where, port["source"])
        elif port.get("source_range") is not None:
            first, last = (_port_number(node, where, bound) for bound in port["source_range"])
            number = first if first == last else [first, last]
        elif protocol == "igmp":
            number = None
        else:
            raise ToscaError("%s of VM '%s' has no source or source_range"
                             % (where, node.name), node=node.name, prop=where)
        cidr = str(port.get("remote_cidr") or ANY_CIDR).strip()
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ToscaError("%s of VM '%s': remote_cidr '%s' is not a CIDR such as 10.0.0.0/24"
                             % (where, node.name, cidr), node=node.name, prop=where) from None
        rule = {"protocol": protocol, "port": number, "remote_cidr": cidr}
        if rule not in rules:
            rules.append(rule)
    return rules


# -- users -----------------------------------------------------------------------------------

def _credential(node):
    return (node.capabilities.get("os") or {}).get("credential") or {}


def _add_user(users, node, where, name, keys, sudo, uid):
    """Add a user, merged with one of the same name met before (keys added, sudo if either)."""
    if not isinstance(name, str) or not _USER_NAME.match(name):
        raise ToscaError("%s of VM '%s': %r is not a user name (a-z, 0-9, '_', '.', '-'; at "
                         "most 32)" % (where, node.name, name), node=node.name, prop=where)
    if any(not key.strip() or "\n" in key or "\r" in key for key in keys):
        raise ToscaError("%s of VM '%s': an SSH public key is one line of text"
                         % (where, node.name), node=node.name, prop=where)
    user = users.setdefault(name, {"name": name, "ssh_keys": [], "sudo": False, "uid": None})
    user["ssh_keys"].extend(key.strip() for key in keys if key.strip() not in user["ssh_keys"])
    user["sudo"] = user["sudo"] or sudo
    user["uid"] = user["uid"] if uid is None else uid


def _users(node, image_user):
    """``os_users`` (INDIGO's User: os_user_name, os_user_ssh_public_key, os_user_guid,
    os_user_add_to_sudoers), then the ``os.credential`` user when it carries a public key
    (``token_type: public_key``): the IM logs in as that user to configure the VM, so it gets
    sudo. A password or private key token only says how to log into the image: not copied."""
    users = {}
    for position, entry in enumerate(node.properties.get("os_users") or []):
        key = entry.get("os_user_ssh_public_key")
        _add_user(users, node, "os_users[%d]" % position, entry.get("os_user_name"),
                  [key] if key else [], entry.get("os_user_add_to_sudoers") is True,
                  entry.get("os_user_guid"))
    credential = _credential(node)
    if credential.get("token_type") == "public_key" and credential.get("token"):
        name = credential.get("user") or image_user
        if not name:
            raise ToscaError("os.credential of VM '%s' has a public key but no user, and the "
                             "image names none" % node.name, node=node.name,
                             prop="os.credential")
        _add_user(users, node, "os.credential", name, [credential["token"]], True, None)
    return list(users.values())


def _cloud_config(hostname, users):
    """cloud-init user data: the image's default user kept, then ``users`` with their keys.
    Every value is a JSON string, which YAML reads as it is: no quoting surprises."""
    lines = ["#cloud-config", "hostname: %s" % json.dumps(hostname), "users:", "  - default"]
    for user in users:
        lines.append("  - name: %s" % json.dumps(user["name"]))
        lines.append("    shell: /bin/bash")
        if user["uid"] is not None:
            lines.append("    uid: %d" % user["uid"])
        if user["sudo"]:
            lines.append("    sudo: %s" % json.dumps(SUDO))
        if user["ssh_keys"]:
            lines.append("    ssh_authorized_keys:")
            lines.extend("      - %s" % json.dumps(key) for key in user["ssh_keys"])
    return "\n".join(lines) + "\n"


# -- the VM ----------------------------------------------------------------------------------

def _image(node, site):
    """An IM image URI in ``os.image``, as given (INDIGO keeps it); else the site's image the
    ranker matched. The login user is the CMDB image's, else the credential's."""
    given = (node.capabilities.get("os") or {}).get("image")
    user = _credential(node).get("user") or None
    if matching.is_im_uri(given):
        return {"image_id": given, "image_name": given, "user_name": user}
    image = _placed(site, "images", node.name)
    if not image:
        raise ToscaError("No image for VM '%s' on site '%s': the placement matched none and "
                         "os.image is not an IM image URI (%s)"
                         % (node.name, site.get("name"),
                            ", ".join(scheme + "://" for scheme in matching.IM_URI_SCHEMES)),
                         node=node.name, prop="os.image")
    return {"image_id": image.get("image_id"), "image_name": image.get("image_name"),
            "user_name": image.get("user_name") or user}


def vm_spec(plan, resource, site, deployment_uuid):
    """The spec of one VM resource of ``plan`` on ``site`` (with the ranker's ``placement``
    and the ``tenant`` network names). Sizes are what the template asks, else the flavor's."""
    topology = plan.topology
    node = topology.nodes[resource.node]
    _refuse_deferred(node, "VM", [("%s.%s" % (cap, prop), value)
                                  for cap in VM_CAPABILITIES
                                  for prop, value in (node.capabilities.get(cap) or {}).items()])
    _refuse_deferred(node, "VM", [(prop, node.properties.get(prop)) for prop in VM_PROPERTIES])
    try:
        wanted = matching.flavor_requirement(node)
    except RankingError as exc:
        raise ToscaError(exc.message, node=node.name, prop="host") from None
    image = _image(node, site)
    placed = _placed(site, "flavors", node.name) or {}
    if placed:
        flavor = {field: placed.get(field)
                  for field in ("flavor_id", "flavor_name", "num_vcpus", "ram", "disk")}
    elif wanted.get("instance_type"):
        flavor = {"flavor_id": None, "flavor_name": wanted["instance_type"], "num_vcpus": None,
                  "ram": None, "disk": None}
    else:
        flavor = None
    public_ip, networks = _vm_networks(topology, node, site, deployment_uuid)
    name = resource_name(deployment_uuid, resource.node, resource.index)
    dns_name = (node.capabilities.get("endpoint") or {}).get("dns_name")
    # the IM's convention: '#N#' in a dns_name is the instance number
    hostname = str(dns_name).replace("#N#", str(resource.index)) if dns_name else name
    users = _users(node, image["user_name"])
    return {
        "key": resource.key,
        "node": resource.node,
        "index": resource.index,
        "name": name,
        "image": image,
        "flavor": flavor,
        "num_cpus": wanted.get("num_cpus", placed.get("num_vcpus")),
        "mem_mb": int(wanted["mem_size"]) if "mem_size" in wanted else placed.get("ram"),
        "disk_gb": math.ceil(wanted["disk_size"]) if "disk_size" in wanted else placed.get("disk"),
        "num_gpus": wanted.get("num_gpus", placed.get("num_gpus") or 0),
        "public_ip": public_ip,
        "security_rules": _security_rules(node),
        "networks": networks,
        "users": users,
        "user_data": _cloud_config(hostname, users),
        "volumes": _attached_volumes(topology, node, resource.index, site, deployment_uuid),
        "tags": _tags(node.properties.get("tags") or {}, resource, deployment_uuid),
        "hostname": hostname,
    }
