# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Topology -> Plan: the resources a deployment is made of, one per node instance.

A node gives ``scalable.count`` instances (INDIGO's rule, default 1); a job targeted by a
ParameterSweep policy gives one instance per combination of the sweep's values instead.
Pure: no I/O, so it is unit-tested without any backend.
"""

from __future__ import annotations

import itertools

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.functions import is_deferred

SWEEP_POLICY = "tosca.policies.paas.ParameterSweep"
MAX_SWEEP_SIZE = 100_000


class PlannedResource:
    """One node instance. ``key`` is unique in the deployment and stable across runs (it is
    the idempotency key's suffix); ``parameters`` are the sweep values of this instance."""

    __slots__ = ("key", "node", "node_type", "kind", "index", "parameters", "group_limit")

    def __init__(self, node, index, parameters=None, group_limit=None):
        self.key = "%s#%d" % (node.name, index)
        self.node = node.name
        self.node_type = node.type
        self.kind = node.kind
        self.index = index
        self.parameters = parameters or {}
        self.group_limit = group_limit

    def to_dict(self):
        data = {"key": self.key, "toscaNodeName": self.node, "toscaNodeType": self.node_type,
                "kind": self.kind}
        if self.parameters:
            data["parameters"] = self.parameters
        return data


class Plan:
    def __init__(self, topology, resources):
        self.topology = topology
        self.resources = resources  # in creation order
        self.by_key = {resource.key: resource for resource in resources}

    def of_node(self, name):
        return [resource for resource in self.resources if resource.node == name]

    def parents(self, resource):
        """Keys of every instance of every node this resource's node requires."""
        node = self.topology.nodes[resource.node]
        return [r.key for target in dict.fromkeys(node.depends_on) for r in self.of_node(target)]


def _values(policy, name, spec):
    where = "ParameterSweep '%s' parameter '%s'" % (policy.name, name)
    if is_deferred(spec):
        raise ToscaError("%s must be known before deployment (it uses get_attribute)" % where,
                         node=policy.name, prop=name)
    if isinstance(spec, list):
        values = spec
    elif isinstance(spec, dict) and "start" in spec and "stop" in spec:
        start, stop, step = spec["start"], spec["stop"], spec.get("step", 1)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, stop, step)) \
                or step == 0:
            raise ToscaError("%s: a range needs integer start, stop and a non-zero step" % where,
                             node=policy.name, prop=name)
        # inclusive of stop, as users write "seeds 1 to 5"
        values = list(range(start, stop + (1 if step > 0 else -1), step))
    else:
        values = [spec]
    if not values:
        raise ToscaError("%s has no values" % where, node=policy.name, prop=name)
    return values


def _sweeps(topology):
    """node name -> (policy, list of parameter dicts)."""
    sweeps = {}
    for policy in topology.policies:
        if SWEEP_POLICY not in policy.ancestry:
            continue
        parameters = policy.properties.get("parameters")
        if not isinstance(parameters, dict) or not parameters:
            raise ToscaError("ParameterSweep '%s' needs parameters: {name: values}" % policy.name,
                             node=policy.name, prop="parameters")
        names = list(parameters)
        axes = [_values(policy, name, parameters[name]) for name in names]
        size = 1
        for axis in axes:
            size *= len(axis)
        if size > MAX_SWEEP_SIZE:
            raise ToscaError("ParameterSweep '%s' expands to %d jobs, over the limit of %d"
                             % (policy.name, size, MAX_SWEEP_SIZE), node=policy.name)
        combos = [dict(zip(names, combo)) for combo in itertools.product(*axes)]
        for target in policy.targets:
            node = topology.nodes.get(target)
            if node is None or node.kind != kinds.JOB:
                raise ToscaError("ParameterSweep '%s' targets '%s', which is not a job node"
                                 % (policy.name, target), node=policy.name)
            if target in sweeps:
                raise ToscaError("Node '%s' is the target of two ParameterSweep policies"
                                 % target, node=target)
            sweeps[target] = (policy, combos)
    return sweeps


def build(topology, indexes=None):
    """The plan of ``topology``; ``indexes`` (node -> instance indexes) replaces
    ``range(count)`` for a deployment whose instances were scaled (removal_list leaves gaps)."""
    sweeps = _sweeps(topology)
    resources = []
    for name in topology.order:
        node = topology.nodes[name]
        if name in sweeps:
            policy, combos = sweeps[name]
            limit = policy.properties.get("max_parallel")
            resources.extend(PlannedResource(node, index, combo, limit)
                             for index, combo in enumerate(combos))
            continue
        count = node.scalable["count"]
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ToscaError("Node '%s': scalable count must be a whole number, not %r"
                             % (name, count), node=name, prop="scalable.count")
        chosen = (indexes or {}).get(name)
        resources.extend(PlannedResource(node, index)
                         for index in (range(count) if chosen is None else chosen))
    return Plan(topology, resources)


def index_of(key):
    return int(key.rpartition("#")[2])
