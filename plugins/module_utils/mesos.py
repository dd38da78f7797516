# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container nodes -> Mesos tasks and Marathon apps, as INDIGO builds them (spec §5).

INDIGO reads a Chronos job and a Marathon app the same way (AbstractMesosDeploymentService
#buildTask), then each framework turns that task into its own JSON. Both halves are here, so that
the Marathon and Chronos drivers share one reading of the template. Pure: no I/O.

Stable functions (the Chronos driver imports them; keep their names and shapes):

- ``build_task(topology, name)``: the Mesos task of node ``name`` (buildTask), a dict with
  ``node``, ``cmd`` (None or a non-empty string), ``uris``, ``env`` ({str: str}),
  ``constraints`` ([[str]]), ``labels``, ``secrets`` ({str: str}, the node's ``secrets``),
  ``enable_https``, ``cpus`` (float or None), ``mem`` (MB, float or None), ``gpus`` (int or
  None), ``user`` (None unless the node's type has a ``user`` property, as INFN's types do) and
  ``container``: ``type`` ("DOCKER"), ``image``, ``privileged``, ``force_pull_image``,
  ``volumes`` (the runtime's strings, as written) and ``port_mappings`` (``container_port``,
  ``service_port`` or None, ``protocol``).
- ``host_node(topology, node)``: the Docker runtime a task node is hosted on.
- ``local_volumes_host_path(base, ident)``: INDIGO's host path of local volumes (base + id).
- ``megabytes(name, prop, size)``: a scalar-unit.size in MB, as Mesos wants it.

Marathon (MarathonServiceImpl): ``marathon_app(topology, name, instances, created_by, origin)``
builds one app, ``marathon_group(topology, instances, created_by, origin)`` the ``{"apps"}`` of
createGroup (the golden pair marathon_app.yaml -> marathon_app.json), and
``place_volumes(app, group_id, host_base_path)`` the site-dependent part doDeploy adds (volume
names and host paths).

Secrets are refused (``marathon_app``): INDIGO writes them to Vault, which we do not have, and
putting them in the app definition would show them to every reader of the Marathon API.
"""

from __future__ import annotations

import copy
import re

from ansible_collections.paas.orchestrator.plugins.module_utils.jobs import size_megabytes
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.functions import is_deferred

DOCKER_IMAGE = "tosca.artifacts.Deployment.Image.Container.Docker"
# INDIGO's MesosPortMapping.Protocol; Marathon itself takes tcp and udp only.
PROTOCOLS = ("tcp", "udp", "igmp")
MARATHON_PROTOCOLS = ("tcp", "udp")
# MarathonServiceImpl.APP_NAME_VALIDATOR (Marathon's own path-segment rule), matched in full.
APP_NAME = re.compile(r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*"
                      r"([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$")
# "cpath:mode" (local) or "name:cpath:mode:provider:driver" (external), as generateVolume.
_VOLUME = re.compile(r"([^:]+):([^:]+)(?::([^:]+):([^:]+):([^:]+))?")
MAX_EXTERNAL_VOLUME_NAME = 255  # an OpenStack Cinder volume name, where external volumes live
HTTPS_BACKEND_HEAD = ("\nbackend {backend}\n  balance {balance}\n  mode http\n"
                      "  http-request add-header X-Forwarded-Proto https\n")
SSL_CERT = "/etc/ssl/cert.pem"


def _known(node, prop, value):
    if is_deferred(value):
        raise ToscaError("Property '%s' of '%s' uses get_attribute, which is not known before "
                         "the container starts" % (prop, node.name), node=node.name, prop=prop)
    return value


def _strings(node, prop, mapping):
    """A map of strings (TOSCA map of string) with its values as strings."""
    mapping = _known(node, prop, mapping) or {}
    if not isinstance(mapping, dict):
        raise ToscaError("Property '%s' of '%s' must be a map" % (prop, node.name),
                         node=node.name, prop=prop)
    return {str(key): "" if value is None else str(value) for key, value in mapping.items()}


def megabytes(name, prop, size):
    """A scalar-unit.size ('1 GB', '512MiB') or a number of MB -> MB as a float; ``name`` is
    the node's, for the error."""
    if size is None or isinstance(size, (int, float)) and not isinstance(size, bool):
        return None if size is None else float(size)
    mb = size_megabytes(size)
    if mb is None:
        raise ToscaError("%s '%s' of '%s' is not a size such as '512 MB'" % (prop, size, name),
                         node=name, prop=prop)
    return float(mb)


def host_node(topology, node):
    """The node hosting ``node`` (its ``host`` requirement): one, as INDIGO insists."""
    hosts = [req.node for req in node.requirements if req.name == "host" and req.node]
    if len(hosts) != 1:
        raise ToscaError("No hosting node provided for node <%s>" % node.name
                         if not hosts else "Node <%s> has more than one host" % node.name,
                         node=node.name, prop="host")
    return topology.nodes[hosts[0]]


def _port_mapping(node, entry):
    if not isinstance(entry, dict) or entry.get("source") is None:
        raise ToscaError("source port in 'publish_ports' property must be provided",
                         node=node.name, prop="publish_ports")
    protocol = str(entry.get("protocol") or "tcp").lower()
    if protocol not in PROTOCOLS:
        raise ToscaError("publish_ports protocol '%s' of '%s' is not one of %s"
                         % (protocol, node.name, ", ".join(PROTOCOLS)),
                         node=node.name, prop="publish_ports")
    try:
        source = int(entry["source"])
        target = None if entry.get("target") is None else int(entry["target"])
    except (TypeError, ValueError):
        raise ToscaError("publish_ports of '%s' must give whole port numbers" % node.name,
                         node=node.name, prop="publish_ports") from None
    return {"container_port": source, "service_port": target, "protocol": protocol}


def _image(node):
    image = node.artifacts.get("image")
    if not isinstance(image, dict):
        raise ToscaError("<image> artifact not found in node <%s> of type <%s>"
                         % (node.name, node.type), node=node.name, prop="image")
    if image.get("type") != DOCKER_IMAGE:
        raise ToscaError("Unsupported artifact type for <image> artifact in node <%s> of type "
                         "<%s>. Given <%s>, supported <%s>"
                         % (node.name, node.type, image.get("type"), DOCKER_IMAGE),
                         node=node.name, prop="image")
    if not image.get("file"):
        raise ToscaError("<file> field for <image> artifact in node <%s> must be provided"
                         % node.name, node=node.name, prop="image")
    return str(_known(node, "image", image["file"]))


def build_task(topology, name):
    """The Mesos task of container or job node ``name`` (INDIGO's buildTask)."""
    node = topology.nodes[name]
    props = node.properties
    cmd = _known(node, "command", props.get("command"))
    if cmd is not None:
        cmd = str(cmd).strip()
        if not cmd:  # it must be either absent or not empty
            raise ToscaError("<command> property of node <%s> must not be an empty string"
                             % name, node=name, prop="command")
    constraints = _known(node, "constraints", props.get("constraints")) or []
    if not all(isinstance(item, list) for item in constraints):
        raise ToscaError("constraints of '%s' must be a list of [field, operator, value] lists"
                         % name, node=name, prop="constraints")
    image = _image(node)  # before the host, as INDIGO reads them
    host = (host_node(topology, node).capabilities.get("host") or {})
    host = {key: _known(node, key, value) for key, value in host.items()}
    gpus = host.get("num_gpus")
    return {
        "node": name,
        "cmd": cmd,
        "uris": [str(uri) for uri in _known(node, "uris", props.get("uris")) or []],
        "env": _strings(node, "environment_variables", props.get("environment_variables")),
        "constraints": [[str(part) for part in item] for item in constraints],
        "labels": _strings(node, "labels", props.get("labels")),
        "secrets": _strings(node, "secrets", props.get("secrets")),
        "enable_https": bool(props.get("enable_https")),
        "user": None if props.get("user") is None else str(props["user"]),
        "cpus": None if host.get("num_cpus") is None else float(host["num_cpus"]),
        "mem": megabytes(name, "mem_size", host.get("mem_size")),
        "gpus": None if gpus is None else int(gpus),
        "container": {
            "type": "DOCKER",
            "image": image,
            "privileged": bool(props.get("privileged")),
            "force_pull_image": bool(props.get("force_pull_image")),
            "volumes": [str(volume) for volume in host.get("volumes") or []],
            "port_mappings": [_port_mapping(node, entry)
                              for entry in host.get("publish_ports") or []],
        },
    }


def local_volumes_host_path(base, ident):
    """Where a deployment's local volumes live on the agents (INDIGO: base path + id)."""
    if not base or not str(base).strip():
        raise ToscaError("Error generating host path: no base host path has been provided",
                         prop="local_volumes_host_base_path")
    return str(base).strip() + ident


# -- Marathon ---------------------------------------------------------------------------------

def _volume(node, mount):
    """One Marathon volume of ``"cpath:mode"`` or ``"name:cpath:mode:provider:driver"``."""
    match = _VOLUME.fullmatch(mount)
    parts = [part for part in (match.groups() if match else ()) if part and part.strip()]
    if len(parts) == 2:
        return {"containerPath": parts[0], "mode": parts[1].upper()}
    if len(parts) == 5:
        name, path, mode, provider, driver = parts
        return {"external": {"name": name, "provider": provider,
                             "options": {"%s/driver" % provider: driver}},
                "containerPath": path, "mode": mode.upper()}
    raise ToscaError("Volume mount <%s> not supported for marathon containers" % mount,
                     node=node, prop="volumes")


def marathon_app(topology, name, instances, created_by=None, origin=None):
    """Marathon app of node ``name`` with ``instances`` instances (INDIGO: the node's resource
    rows), labelled with its owner and this orchestrator, as createGroup does."""
    if not APP_NAME.fullmatch(name):
        raise ToscaError("Illegal name for TOSCA node <%s>: name for nodes of type %s must "
                         "fully match regular expression %s"
                         % (name, topology.nodes[name].type, APP_NAME.pattern),
                         node=name)
    task = build_task(topology, name)
    if task["secrets"]:
        raise ToscaError("Node '%s' has secrets: INDIGO keeps them in Vault, which "
                         "paas.orchestrator has no use of, and putting them in the app would "
                         "show them to every reader of the Marathon API" % name,
                         node=name, prop="secrets")
    labels = dict(task["labels"])
    if created_by:
        labels["created_by"] = created_by
    if origin:
        labels["origin"] = origin
    app = {"id": name, "instances": instances, "uris": task["uris"],
           "constraints": task["constraints"], "env": task["env"], "labels": labels}
    for field, value in (("cmd", task["cmd"]), ("cpus", task["cpus"]), ("mem", task["mem"]),
                         ("user", task["user"])):
        if value is not None:
            app[field] = value
    use_gpu = bool(task["gpus"])
    if use_gpu:
        app["gpus"] = float(task["gpus"])
    mesos = task["container"]
    ports = []
    for mapping in mesos["port_mappings"]:
        if mapping["protocol"] not in MARATHON_PROTOCOLS:
            raise ToscaError("publish_ports protocol '%s' of '%s': Marathon publishes %s ports "
                             "only" % (mapping["protocol"], name, " and ".join(MARATHON_PROTOCOLS)),
                             node=name, prop="publish_ports")
        port = {"containerPort": mapping["container_port"], "protocol": mapping["protocol"],
                "labels": {}}
        if mapping["service_port"] is not None:
            port["servicePort"] = mapping["service_port"]
        ports.append(port)
    docker = {"image": mesos["image"], "forcePullImage": mesos["force_pull_image"],
              "privileged": mesos["privileged"]}
    container = {"docker": docker, "volumes": [_volume(name, mount) for mount in mesos["volumes"]]}
    if use_gpu:
        # GPUs need the Mesos containerizer: host networking and port definitions instead
        container["type"] = "MESOS"
        app["networks"] = [{"mode": "HOST"}]
        app["portDefinitions"] = [{"protocol": port["protocol"],
                                   "port": port.get("servicePort", 0), "labels": {}}
                                  for port in ports]
    else:
        container["type"] = "DOCKER"
        docker["portMappings"] = ports
        docker["network"] = "BRIDGE"
    app["container"] = container
    if ports:
        labels["HAPROXY_GROUP"] = "external"
        if task["enable_https"]:
            for index in range(len(ports)):
                labels["HAPROXY_%d_BACKEND_HEAD" % index] = HTTPS_BACKEND_HEAD
                labels["HAPROXY_%d_SSL_CERT" % index] = SSL_CERT
    return app


def marathon_group(topology, instances, created_by=None, origin=None):
    """createGroup: ``{"apps": [...]}``, one app per container node in topological order;
    ``instances`` maps node name -> instance count (default 1)."""
    return {"apps": [marathon_app(topology, node.name, instances.get(node.name, 1),
                                  created_by, origin)
                     for node in topology.nodes_of_kind(kinds.CONTAINER)]}


def place_volumes(app, group_id, host_base_path):
    """doDeploy's part: external volume names get the group id in front (unique on the
    site), local volumes a host path under the site's base path. A new app is returned."""
    app = copy.deepcopy(app)
    for volume in (app.get("container") or {}).get("volumes") or []:
        external = volume.get("external")
        if external is not None:
            name = "%s-%s" % (group_id, external["name"])
            if len(name) > MAX_EXTERNAL_VOLUME_NAME:
                raise ToscaError("Volume name %s is too long. Only names less than %d chars are "
                                 "allowed" % (external["name"], MAX_EXTERNAL_VOLUME_NAME
                                              - len(group_id) - 1),
                                 node=app["id"], prop="volumes")
            external["name"] = name
        else:
            volume["hostPath"] = local_volumes_host_path(host_base_path, group_id)
    return app
