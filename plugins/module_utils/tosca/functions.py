# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TOSCA intrinsic functions.

``get_input``, ``get_property``, ``concat`` and ``token`` are evaluated as soon as their
arguments are known; ``get_attribute`` (and anything built on it) needs live resources, so it
stays an expression until deploy time, when the engine passes an ``attribute`` callback.
"""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError

GET_INPUT = "get_input"
GET_PROPERTY = "get_property"
GET_ATTRIBUTE = "get_attribute"
CONCAT = "concat"
TOKEN = "token"
# Known functions whose value only exists at run time: kept as expressions.
_RUNTIME_ONLY = ("get_operation_output", "get_artifact", "get_nodes_of_type")
FUNCTIONS = (GET_INPUT, GET_PROPERTY, GET_ATTRIBUTE, CONCAT, TOKEN) + _RUNTIME_ONLY

SELF = "SELF"
HOST = "HOST"


def function_of(value):
    """The function name when ``value`` is a function call, else None."""
    if isinstance(value, dict) and len(value) == 1:
        (name,) = value
        if name in FUNCTIONS:
            return name
    return None


def is_deferred(value):
    """True when ``value`` still holds a function (it waits for deploy time)."""
    if function_of(value):
        return True
    if isinstance(value, dict):
        return any(is_deferred(item) for item in value.values())
    if isinstance(value, list):
        return any(is_deferred(item) for item in value)
    return False


def _index(value, path, where):
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            raise ToscaError("%s: no element %r in %r" % (where, step, value)) from None
    return value


class Evaluator:
    """Evaluates property values of one topology.

    ``nodes`` maps node name -> an object with ``properties``, ``capabilities`` (name -> props),
    ``requirements`` (list of objects with ``name`` and ``node``) holding raw values; values are
    evaluated on demand and memoised, and a property that refers back to itself is an error.
    """

    def __init__(self, inputs, input_names, nodes, attribute=None):
        self.inputs = inputs
        self.input_names = input_names
        self.nodes = nodes
        self.attribute = attribute
        self._memo = {}
        self._active = []
        self._lenient = False
        self.unknown_inputs = set()

    # -- public -------------------------------------------------------------------------
    def property(self, node_name, prop, capability=None):
        key = (node_name, capability, prop)
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            loop = " -> ".join(".".join(p for p in k if p) for k in self._active + [key])
            raise ToscaError("get_property loop: %s" % loop, node=node_name, prop=prop)
        node = self.nodes[node_name]
        source = node.capabilities.get(capability, {}) if capability else node.properties
        self._active.append(key)
        try:
            value = self.evaluate(source.get(prop), node_name, prop)
        finally:
            self._active.pop()
        self._memo[key] = value
        return value

    def evaluate(self, value, node_name=None, prop=None, lenient=False):
        """``lenient``: a get_input of an undeclared input gives None (recorded in
        ``unknown_inputs``) instead of an error."""
        if lenient:
            self._lenient = True
            try:
                return self.evaluate(value, node_name, prop)
            finally:
                self._lenient = False
        name = function_of(value)
        if name:
            try:
                return getattr(self, "_" + name)(value[name], node_name, prop)
            except ToscaError as exc:
                exc.node = exc.node or node_name
                exc.prop = exc.prop or prop
                raise
        if isinstance(value, dict):
            return {key: self.evaluate(item, node_name, prop) for key, item in value.items()}
        if isinstance(value, list):
            return [self.evaluate(item, node_name, prop) for item in value]
        return value

    # -- functions ----------------------------------------------------------------------
    def _get_input(self, args, node_name, prop):
        path = args if isinstance(args, list) else [args]
        if not path or not isinstance(path[0], str):
            raise ToscaError("get_input needs an input name, not %r" % (args,))
        if path[0] not in self.input_names:
            if self._lenient:
                self.unknown_inputs.add(path[0])
                return None
            raise ToscaError("get_input refers to '%s', which is not an input of the template"
                             % path[0])
        return _index(self.inputs.get(path[0]), path[1:], "get_input %s" % path[0])

    def _entity(self, name, node_name):
        if name == SELF:
            if node_name is None:
                raise ToscaError("get_property SELF is only valid inside a node template")
            return node_name
        if name == HOST:
            host = self._host_of(node_name)
            if host is None:
                raise ToscaError("get_property HOST: node '%s' has no host" % node_name)
            return host
        if name not in self.nodes:
            raise ToscaError("get_property refers to node '%s', which is not in the template"
                             % name)
        return name

    def _host_of(self, node_name):
        for req in self.nodes[node_name].requirements if node_name else ():
            if req.name == "host" and req.node:
                return req.node
        return None

    def _get_property(self, args, node_name, prop):
        if not isinstance(args, list) or len(args) < 2:
            raise ToscaError("get_property needs [entity, (capability or requirement,) "
                             "property, ...], not %r" % (args,))
        entity = self._entity(args[0], node_name)
        rest = args[1:]
        # HOST in TOSCA means the first node up the host chain that has the property.
        while True:
            found = self._lookup(entity, rest)
            if found is not _MISSING or args[0] != HOST:
                break
            entity = self._host_of(entity)
            if entity is None:
                break
        if found is _MISSING:
            raise ToscaError("get_property %s: node '%s' has no property %s"
                             % (args, entity or args[0], ".".join(map(str, rest))))
        return found

    def _lookup(self, entity, rest):
        node = self.nodes[entity]
        head = rest[0]
        if head in node.properties:
            return _index(self.property(entity, head), rest[1:], "get_property %s" % head)
        if head in node.capabilities and len(rest) > 1 and rest[1] in node.capabilities[head]:
            value = self.property(entity, rest[1], capability=head)
            return _index(value, rest[2:], "get_property %s.%s" % (head, rest[1]))
        for req in node.requirements:
            if req.name == head and req.node and len(rest) > 1:
                return self._lookup(req.node, rest[1:])
        return _MISSING

    def _get_attribute(self, args, node_name, prop):
        args = self.evaluate(args, node_name, prop)
        if self.attribute is not None:
            return self.attribute(args, node_name)
        return {GET_ATTRIBUTE: args}

    def _concat(self, args, node_name, prop):
        if not isinstance(args, list):
            raise ToscaError("concat needs a list, not %r" % (args,))
        parts = [self.evaluate(part, node_name, prop) for part in args]
        if any(is_deferred(part) for part in parts):
            return {CONCAT: parts}
        return "".join(_text(part) for part in parts)

    def _token(self, args, node_name, prop):
        if not isinstance(args, list) or len(args) != 3:
            raise ToscaError("token needs [string, separator, index], not %r" % (args,))
        text, separator, index = (self.evaluate(arg, node_name, prop) for arg in args)
        if is_deferred(text):
            return {TOKEN: [text, separator, index]}
        if not isinstance(separator, str) or not separator or not isinstance(index, int):
            raise ToscaError("token needs a separator string and an integer index, not %r"
                             % (args,))
        pieces = _text(text).split(separator)
        if not -len(pieces) <= index < len(pieces):
            raise ToscaError("token: '%s' split by '%s' has no element %d"
                             % (text, separator, index))
        return pieces[index]

    def _runtime(self, args, node_name, prop, name):
        return {name: self.evaluate(args, node_name, prop)}

    def _get_operation_output(self, args, node_name, prop):
        return self._runtime(args, node_name, prop, "get_operation_output")

    def _get_artifact(self, args, node_name, prop):
        return self._runtime(args, node_name, prop, "get_artifact")

    def _get_nodes_of_type(self, args, node_name, prop):
        return self._runtime(args, node_name, prop, "get_nodes_of_type")


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


_MISSING = object()
