# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Topology: what a validated template asks for, in the shapes the rest of the engine uses."""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError

# INDIGO's deployment-type inference (spec §3.1): the first node whose type is exactly one of
# these decides; anything else is TOSCA (IaaS). No inheritance check, as in INDIGO.
INDIGO_DEPLOYMENT_KINDS = {
    "tosca.nodes.indigo.Container.Application.Docker.Chronos": "CHRONOS",
    "tosca.nodes.indigo.Container.Application.Docker.Marathon": "MARATHON",
    "tosca.nodes.indigo.Qcg.Job": "QCG",
    "tosca.nodes.indigo.Kubernetes.HelmChart": "KUBERNETES_HELM_CHART",
}
# Our extension: jobs of the collection's own type run on a batch site (local, slurm, chronos).
PAAS_DEPLOYMENT_KINDS = {"tosca.nodes.paas.Job": "JOB"}
DEFAULT_DEPLOYMENT_KIND = "TOSCA"


class Requirement:
    __slots__ = ("name", "node", "capability", "relationship", "relationship_properties")

    def __init__(self, name, node, capability=None, relationship=None,
                 relationship_properties=None):
        self.name = name
        self.node = node
        self.capability = capability
        self.relationship = relationship
        self.relationship_properties = relationship_properties or {}

    def to_dict(self):
        return {
            "name": self.name,
            "node": self.node,
            "capability": self.capability,
            "relationship": self.relationship,
            "relationship_properties": self.relationship_properties,
        }


class Node:
    """One node template. ``properties``/``capabilities`` are raw until the topology evaluates
    them; after that they hold values, with ``get_attribute`` kept as expressions."""

    def __init__(self, name, type_name, ancestry, kind, role):
        self.name = name
        self.type = type_name
        self.ancestry = ancestry
        self.kind = kind
        self.role = role
        self.properties = {}
        self.capabilities = {}
        self.requirements = []
        self.artifacts = {}
        self.interfaces = {}
        self.required_by = []

    def is_a(self, type_name):
        return type_name in self.ancestry

    @property
    def depends_on(self):
        return [req.node for req in self.requirements if req.node]

    @property
    def scalable(self):
        """INDIGO's scalable capability: count (default 1), bounds and removal_list."""
        scalable = self.capabilities.get("scalable") or {}
        count = scalable.get("count")
        return {
            "count": 1 if count is None else count,
            "min_instances": scalable.get("min_instances"),
            "max_instances": scalable.get("max_instances"),
            "default_instances": scalable.get("default_instances"),
            "removal_list": list(scalable.get("removal_list") or []),
        }

    def to_dict(self):
        return {
            "name": self.name,
            "type": self.type,
            "ancestry": self.ancestry,
            "kind": self.kind,
            "role": self.role,
            "properties": self.properties,
            "capabilities": self.capabilities,
            "requirements": [req.to_dict() for req in self.requirements],
            "artifacts": self.artifacts,
            "interfaces": self.interfaces,
            "scalable": self.scalable,
            "requiredBy": self.required_by,
        }


class Policy:
    __slots__ = ("name", "type", "ancestry", "targets", "properties")

    def __init__(self, name, type_name, ancestry, targets, properties):
        self.name = name
        self.type = type_name
        self.ancestry = ancestry
        self.targets = targets
        self.properties = properties

    @property
    def sla_id(self):
        if "tosca.policies.indigo.SlaPlacement" in self.ancestry:
            return self.properties.get("sla_id")
        return None

    def to_dict(self):
        data = {"name": self.name, "type": self.type, "targets": self.targets,
                "properties": self.properties}
        if self.sla_id is not None:
            data["sla_id"] = self.sla_id
        return data


class Topology:
    def __init__(self, source, version, description, metadata, inputs, input_values, nodes,
                 policies, outputs, imports, warnings, template=None):
        self.source = source
        self.template = template            # the parsed template, as read
        self.version = version
        self.description = description
        self.metadata = metadata
        self.inputs = inputs                # name -> InputDef
        self.input_values = input_values    # name -> value (never returned: it may hold secrets)
        self.nodes = nodes                  # name -> Node, in template order
        self.policies = policies
        self.outputs = outputs              # name -> {"description", "value" (expression)}
        self.imports = imports              # [{"location", "origin"}]
        self.warnings = warnings
        self.order = topological_order(nodes)
        self.deployment_kind = infer_deployment_kind(nodes)

    def nodes_of_kind(self, kind):
        return [self.nodes[name] for name in self.order if self.nodes[name].kind == kind]

    def to_dict(self):
        return {
            "version": self.version,
            "description": self.description,
            "metadata": self.metadata,
            "deployment_kind": self.deployment_kind,
            "inputs": {name: spec.to_dict() for name, spec in self.inputs.items()},
            "outputs": self.outputs,
            "nodes": {name: node.to_dict() for name, node in self.nodes.items()},
            "policies": [policy.to_dict() for policy in self.policies],
            "order": self.order,
            "graph": {name: node.required_by for name, node in self.nodes.items()},
            "imports": self.imports,
        }

    def summary(self):
        """Counts by kind and the creation order: what a plan summary shows a user."""
        kinds = {}
        instances = 0
        for node in self.nodes.values():
            kinds[node.kind] = kinds.get(node.kind, 0) + 1
            count = node.scalable["count"]
            instances += count if isinstance(count, int) else 1
        return {
            "deployment_kind": self.deployment_kind,
            "nodes": len(self.nodes),
            "instances": instances,
            "kinds": kinds,
            "order": self.order,
        }


def hosted_software(topology, vm):
    """The nodes with a role hosted on node ``vm``, directly or through other software (a
    Galaxy on an LRMS front end on the VM), in creation order."""
    hosts = {}
    for node in topology.nodes.values():
        for req in node.requirements:
            if req.name in ("host", "lrms") and req.node:
                hosts.setdefault(node.name, req.node)
    hosted = []
    for name in topology.order:
        current = name
        while current in hosts and current != vm:
            current = hosts[current]
        if current == vm and name != vm and topology.nodes[name].role:
            hosted.append(topology.nodes[name])
    return hosted


def infer_deployment_kind(nodes):
    for node in nodes.values():
        kind = INDIGO_DEPLOYMENT_KINDS.get(node.type) or PAAS_DEPLOYMENT_KINDS.get(node.type)
        if kind:
            return kind
    return DEFAULT_DEPLOYMENT_KIND


def topological_order(nodes):
    """Node names, each after every node it requires; template order breaks ties.

    A cycle is an error naming the nodes in it.
    """
    position = {name: index for index, name in enumerate(nodes)}
    waiting = {name: len(set(node.depends_on)) for name, node in nodes.items()}
    ready = sorted((name for name, count in waiting.items() if count == 0), key=position.get)
    order = []
    while ready:
        name = ready.pop(0)
        order.append(name)
        released = []
        for dependant in nodes[name].required_by:
            waiting[dependant] -= 1
            if waiting[dependant] == 0:
                released.append(dependant)
        if released:
            ready = sorted(ready + released, key=position.get)
    if len(order) < len(nodes):
        cycle = _find_cycle(nodes, set(nodes) - set(order))
        raise ToscaError(
            "Found a node dependency loop: %s" % " -> ".join(cycle), node=cycle[0]
        )
    return order


def _find_cycle(nodes, candidates):
    for start in sorted(candidates):
        path, seen = [start], {start: 0}
        while True:
            following = [n for n in nodes[path[-1]].depends_on if n in candidates]
            if not following:
                break
            nxt = following[0]
            if nxt in seen:
                return path[seen[nxt]:] + [nxt]
            seen[nxt] = len(path)
            path.append(nxt)
    return sorted(candidates)
