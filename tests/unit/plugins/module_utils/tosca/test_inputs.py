# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.inputs import resolve_inputs

SPECS = {
    "count": {"type": "integer", "constraints": [{"in_range": [1, 10]}]},
    "ratio": {"type": "float", "default": 0.5},
    "enabled": {"type": "boolean", "default": False},
    "names": {"type": "list", "entry_schema": {"type": "string"}, "required": False},
    "size": {"type": "scalar-unit.size", "default": "1 GB"},
    "flavor": {"type": "string", "default": "small",
               "constraints": [{"valid_values": ["small", "large"]}]},
}


def test_strings_are_coerced_to_the_declared_type():
    _defs, values, warnings = resolve_inputs(SPECS, {
        "count": "4", "ratio": "2", "enabled": "yes", "names": '["a", "b"]'})
    assert values == {"count": 4, "ratio": 2.0, "enabled": True, "names": ["a", "b"],
                      "size": "1 GB", "flavor": "small"}
    assert warnings == []


def test_missing_required_input_uses_indigo_wording():
    with pytest.raises(ToscaError) as info:
        resolve_inputs(SPECS, {})
    assert str(info.value).startswith(
        "Input <count> is required and is not present in the user's input list, nor has a "
        "default value")
    assert info.value.prop == "count"


def test_optional_input_without_value_is_left_out():
    _defs, values, _warnings = resolve_inputs(SPECS, {"count": 1})
    assert "names" not in values


@pytest.mark.parametrize("params, words", [
    ({"count": "four"}, "'four' is not a valid integer"),
    ({"count": 11}, "count"),
    ({"count": 1, "flavor": "huge"}, "huge"),
    ({"count": 1, "enabled": "maybe"}, "not a valid boolean"),
    ({"count": 1, "size": "lots"}, "size"),
    ({"count": 1, "names": "[1,"}, "not a valid list"),
])
def test_bad_values_are_rejected_naming_the_input(params, words):
    with pytest.raises(ToscaError) as info:
        resolve_inputs(SPECS, params)
    assert words in str(info.value)
    assert info.value.prop in params


def test_unknown_parameters_are_a_warning():
    _defs, _values, warnings = resolve_inputs(SPECS, {"count": 1, "cuont": 2})
    assert warnings == ["Parameter 'cuont' is not an input of the template; it is ignored"]


def test_scalar_default_of_a_string_input_is_text_as_in_indigo():
    specs = {"privileged": {"type": "string", "default": False,
                            "constraints": [{"valid_values": [False, True]}]}}
    _defs, values, _warnings = resolve_inputs(specs, {})
    assert values == {"privileged": "false"}
    _defs, values, _warnings = resolve_inputs(specs, {"privileged": True})
    assert values == {"privileged": "true"}


def test_int_default_for_a_float_input_stays_a_template_fault():
    with pytest.raises(ToscaError, match="not a float"):
        resolve_inputs({"cpus": {"type": "float", "default": 1}}, {})
