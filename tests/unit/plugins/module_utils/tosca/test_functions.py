# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.functions import (
    Evaluator,
    is_deferred,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.topology import (
    Node,
    Requirement,
)


def node(name, properties=None, capabilities=None, requirements=()):
    result = Node(name, "t", ["t"], "software", None)
    result.properties = properties or {}
    result.capabilities = capabilities or {}
    result.requirements = [Requirement(req, target) for req, target in requirements]
    return result


@pytest.fixture
def evaluator():
    app_properties = {
        "port": 8080,
        "url": {"concat": ["http://", {"get_property": ["SELF", "host", "name"]}, ":",
                           {"get_property": ["SELF", "port"]}]},
        "cpus": {"get_property": ["HOST", "host", "num_cpus"]},
        "ip": {"get_attribute": ["vm", "public_address"]},
        "where": {"concat": ["at ", {"get_attribute": ["vm", "ip"]}]},
        "loop": {"get_property": ["SELF", "loop2"]},
        "loop2": {"get_property": ["SELF", "loop"]},
    }
    nodes = {
        "vm": node("vm", {"name": "vm1"},
                   {"host": {"num_cpus": 4}, "os": {"distribution": "ubuntu"}}),
        "app": node("app", app_properties, requirements=[("host", "vm")]),
    }
    return Evaluator({"word": "a,b,c"}, {"word"}, nodes)


def test_get_property_through_requirement_and_concat(evaluator):
    assert evaluator.property("app", "url") == "http://vm1:8080"


def test_get_property_host_capability(evaluator):
    assert evaluator.property("app", "cpus") == 4


def test_get_attribute_is_deferred_and_so_is_what_uses_it(evaluator):
    assert evaluator.property("app", "ip") == {"get_attribute": ["vm", "public_address"]}
    where = evaluator.property("app", "where")
    assert where == {"concat": ["at ", {"get_attribute": ["vm", "ip"]}]}
    assert is_deferred(where)


def test_attribute_callback_resolves_at_deploy_time():
    nodes = {"vm": node("vm", {"ip": {"concat": ["ip=", {"get_attribute": ["SELF", "addr"]}]}})}
    live = Evaluator({}, set(), nodes, attribute=lambda args, _node: "10.0.0.%d" % len(args))
    assert live.property("vm", "ip") == "ip=10.0.0.2"


def test_token_and_get_input_index(evaluator):
    assert evaluator.evaluate({"token": [{"get_input": "word"}, ",", 2]}) == "c"
    with pytest.raises(ToscaError, match="no element 5"):
        evaluator.evaluate({"token": ["a,b", ",", 5]})


def test_loops_are_named(evaluator):
    with pytest.raises(ToscaError, match="get_property loop: app.loop -> app.loop2 -> app.loop"):
        evaluator.property("app", "loop")


@pytest.mark.parametrize("expr, words", [
    ({"get_property": ["ghost", "x"]}, "node 'ghost'"),
    ({"get_property": ["vm", "nothing"]}, "has no property nothing"),
    ({"get_property": "vm"}, "get_property needs"),
    ({"get_input": "missing"}, "'missing', which is not an input"),
    ({"concat": "x"}, "concat needs a list"),
    ({"get_property": ["SELF", "x"]}, "only valid inside a node"),
])
def test_errors_name_what_is_wrong(evaluator, expr, words):
    with pytest.raises(ToscaError, match=words):
        evaluator.evaluate(expr)


def test_lenient_evaluation_records_unknown_inputs(evaluator):
    assert evaluator.evaluate({"u": {"get_input": "username"}}, lenient=True) == {"u": None}
    assert evaluator.unknown_inputs == {"username"}
