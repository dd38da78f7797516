# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compiled JMESPath gives what the jmespath package's interpreter gives, on every input."""

from __future__ import annotations

import jmespath
import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import jmes

DATA = [
    {"service_id": "svc-1", "provider": "RECAS-BARI", "region": "region-a", "score": 12.5,
     "total_score": 0, "sla_weight": 0.5, "site": None,
     "site_full": {"name": "bari", "type": "openstack"},
     "properties": {"gpu_support": True, "tags": ["hpc", "green"], "capacity": 10,
                    "nested": {"list": [1, 2, [3, 4]], "empty": {}}},
     "metrics": {"create_result": 1.0, "create_responseTime": 250.0, "zero": 0}},
    {"service_id": "svc-2", "provider": None, "region": "", "score": -1, "sla_weight": True,
     "properties": {"tags": [], "capacity": "many"}, "metrics": {}},
    {"list": [{"a": 1, "b": "x"}, {"a": 2}, {"a": None}, "text", 3]},
    [1, 2, 3, {"a": 1}],
    "just text",
    0,
    None,
    {},
    [],
]

EXPRESSIONS = [
    "service_id", "provider == 'RECAS-BARI'", "provider != 'RECAS-BARI'", "region == ''",
    "site == null", "site_full.type", "site.type", "properties.tags", "properties.nested.list",
    "metrics.create_responseTime > `100`", "metrics.create_responseTime <= `250`",
    "score < `0`", "score >= sla_weight", "region < 'region-b'", "properties.capacity > `5`",
    "provider < service_id",
    "total_score == `0`", "total_score == `false`", "sla_weight == `1`", "sla_weight == `true`",
    "metrics.zero", "!metrics.zero", "!properties.tags", "!site", "!`0`", "!`[]`",
    "properties.gpu_support && provider", "region || provider || 'none'", "site && site.type",
    "contains(properties.tags || `[]`, 'hpc')", "length(properties.tags || `[]`) > `1`",
    "starts_with(service_id || '', 'svc-1')", "to_number(properties.capacity)",
    "properties.tags[0]", "properties.tags[-1]", "properties.tags[5]", "properties.tags[0:1]",
    "properties.nested.list[]", "properties.nested.list[2][1]", "list[*].a", "list[?a > `1`].a",
    "list[?b].b", "list[].a", "properties.*", "metrics.* | length(@)", "@",
    "[service_id, region]",
    "{id: service_id, p: provider}", "[service_id, region][0]", "`{\"k\": [1, 2]}`.k[1]",
    "keys(metrics || `{}`)", "max(`[1, 5, 3]`)", "abs(score || `0`)", "type(@)",
    "not_null(site, provider, 'x')", "@[?@ > `1`]", "[*].a", "*.a", "list[?a == `null`]",
    "properties.nested.empty || 'empty is false'",
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_compiled_expression_equals_the_interpreter(expression):
    compiled = jmes.compile_expression(expression)
    reference = jmespath.compile(expression)
    for data in DATA:
        try:
            expected = ("value", reference.search(data))
        except jmespath.exceptions.JMESPathError as exc:
            expected = ("error", type(exc))
        except TypeError:  # the interpreter's str-vs-number ordering: null by the spec
            expected = ("value", None)
        try:
            got = ("value", compiled(data))
        except jmespath.exceptions.JMESPathError as exc:
            got = ("error", type(exc))
        assert got == expected, (expression, data)
        if got[0] == "value":
            assert type(got[1]) is type(expected[1]), (expression, data)


def test_expression_references_are_left_to_the_interpreter():
    compiled = jmes.compile_expression("sort_by(list, &a)[0].a")
    assert compiled({"list": [{"a": 3}, {"a": 1}]}) == 1


def test_a_bad_expression_raises_the_packages_parse_error():
    with pytest.raises(jmespath.exceptions.ParseError):
        jmes.compile_expression("provider ==")


@pytest.mark.parametrize("value, false", [(None, True), (False, True), ("", True), ([], True),
                                          ({}, True), (0, False), (0.0, False), ("0", False),
                                          ([0], False), (True, False)])
def test_jmespath_falsiness(value, false):
    assert jmes.is_false(value) is false
