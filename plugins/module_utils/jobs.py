# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Job nodes -> job specs, the same for every batch backend (local, SLURM, Chronos).

Both our ``tosca.nodes.paas.Job`` and INDIGO's Chronos job type are read: command,
environment_variables, uris (fetched into the job directory), retries, parent_job; resources
from the job or, for Chronos, from the Docker runtime that hosts it. Credentials for staging are
returned apart from the spec: specs are written to disk, credentials never are.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

from ansible_collections.paas.orchestrator.plugins.module_utils import staging
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.functions import is_deferred

_UNITS = {"B": 1, "KB": 1000, "KIB": 1024, "MB": 1000 ** 2, "MIB": 1024 ** 2,
          "GB": 1000 ** 3, "GIB": 1024 ** 3, "TB": 1000 ** 4, "TIB": 1024 ** 4}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]+)\s*$")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


def megabytes(size):
    """A scalar-unit.size ('512 MB', '1 GiB') or a number of MB -> MB (int)."""
    if size is None:
        return None
    if isinstance(size, (int, float)):
        return int(size)
    number, _space, unit = str(size).strip().partition(" ")
    return int(float(number) * _UNITS[unit.strip().upper() or "MB"] / 1000 ** 2)


def size_megabytes(text):
    """A scalar-unit.size written with its unit, spaced or not as TOSCA allows ('2GB',
    '512 MiB') -> MB (int); None when ``text`` is no such size."""
    match = _SIZE.match(str(text))
    if match is None or match.group(2).upper() not in _UNITS:
        return None
    return megabytes("%s %s" % match.groups())


def seconds(duration):
    if duration is None or isinstance(duration, (int, float)):
        return duration
    number, _space, unit = str(duration).strip().partition(" ")
    return float(number) * _SECONDS[unit.strip() or "s"]


def _check_url(node, name, url):
    """Refuse at plan time what staging would refuse at run time, before anything is created."""
    if staging.scheme_of(url) not in staging.SCHEMES:
        raise ToscaError("%s URL '%s' of job '%s' is not supported; use %s URLs"
                         % (name, staging.redact(url), node.name, ", ".join(staging.SCHEMES)),
                         node=node.name, prop=name)


def _staged(node, name, entries):
    files = []
    for entry in entries or []:
        if not isinstance(entry, dict) or not entry.get("url") or not entry.get("path"):
            raise ToscaError("Each of %s needs a url and a path" % name, node=node.name, prop=name)
        _check_url(node, name, entry["url"])
        path = posixpath.normpath(str(entry["path"]))
        if path.startswith("/") or path.startswith(".."):
            raise ToscaError("%s path '%s' must stay inside the job directory" % (name, path),
                             node=node.name, prop=name)
        files.append({"url": str(entry["url"]), "path": path})
    return files


def _uri_files(node, uris):
    files = []
    for uri in uris or []:
        _check_url(node, "uris", uri)
        name = posixpath.basename(urlsplit(str(uri)).path) or "index.html"
        files.append({"url": str(uri), "path": name})
    return files


def host_resources(topology, node):
    for req in node.requirements:
        if req.name == "host" and req.node:
            return topology.nodes[req.node].capabilities.get("host") or {}
    return {}


def job_spec(plan, resource):
    """(spec, credentials) for one job resource of ``plan``."""
    topology = plan.topology
    node = topology.nodes[resource.node]
    props = node.properties
    for name in ("command", "environment_variables", "input_files", "output_files", "uris"):
        if is_deferred(props.get(name)):
            raise ToscaError("Property '%s' of job '%s' uses get_attribute, which a job cannot "
                             "wait for" % (name, node.name), node=node.name, prop=name)
    command = props.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ToscaError("Job '%s' has no command" % node.name, node=node.name, prop="command")
    env = {str(k): "" if v is None else str(v)
           for k, v in (props.get("environment_variables") or {}).items()}
    env.update({str(k): str(v) for k, v in resource.parameters.items()})
    host = host_resources(topology, node)
    image = (node.artifacts.get("image") or {}).get("file")
    spec = {
        "key": resource.key,
        "node": resource.node,
        "index": resource.index,
        "command": command,
        "env": env,
        "inputs": (_uri_files(node, props.get("uris"))
                   + _staged(node, "input_files", props.get("input_files"))),
        "outputs": _staged(node, "output_files", props.get("output_files")),
        "retries": int(props.get("retries") or 0),
        # parents are the job instances it waits for, not its host runtime
        "parents": [key for key in plan.parents(resource) if plan.by_key[key].kind == kinds.JOB],
        "group": resource.node,
        "group_limit": resource.group_limit,
        "cpus": props.get("num_cpus", host.get("num_cpus")),
        "mem_mb": megabytes(props.get("mem_size", host.get("mem_size"))),
        "timeout": seconds(props.get("timeout")),
        "image": image,
    }
    credentials = props.get("credentials") or {}
    if not isinstance(credentials, dict):
        raise ToscaError("credentials of job '%s' must map URL prefixes to credentials"
                         % node.name, node=node.name, prop="credentials")
    return spec, credentials
