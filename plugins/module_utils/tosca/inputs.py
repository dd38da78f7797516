# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Template inputs: required ones enforced, strings (as orchent sends them) coerced, constraints
checked. tosca-parser only warns on a missing input and never checks input constraints."""

from __future__ import annotations

import json

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.parser_lib import (
    Constraint,
    DataEntity,
    ExceptionCollector,
)

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


class InputDef:
    """One declared input, as template_info shows it."""

    __slots__ = ("name", "type", "description", "default", "required", "constraints",
                 "entry_schema")

    def __init__(self, name, spec):
        if not isinstance(spec, dict):
            raise ToscaError("Input '%s' must be a mapping" % name, prop=name)
        self.name = name
        self.type = spec.get("type", "string")
        self.description = spec.get("description")
        self.default = spec.get("default")
        self.required = _as_bool(spec.get("required", True), name)
        self.constraints = spec.get("constraints") or []
        if self.type == "string":
            # INDIGO reads YAML scalars as text where a string is declared (`default: false`,
            # `valid_values: [false, true]`): so do we, for defaults and constraints alike.
            self.default = coerce("string", self.default)
            self.constraints = [_as_text(c) for c in self.constraints]
        self.entry_schema = spec.get("entry_schema")

    def to_dict(self):
        return {
            "type": self.type,
            "description": self.description,
            "default": self.default,
            "required": self.required,
            "constraints": self.constraints,
        }


def _as_bool(value, name):
    if isinstance(value, bool):
        return value
    raise ToscaError("'required' of input '%s' must be true or false" % name, prop=name)


def _as_text(constraint):
    if not isinstance(constraint, dict):
        return constraint
    return {
        operator: [coerce("string", item) for item in operand] if isinstance(operand, list)
        else coerce("string", operand)
        for operator, operand in constraint.items()
    }


def coerce(type_name, value):
    """Turn a string parameter into the declared type; other values are left as they are."""
    if type_name == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        return value
    if type_name == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return value
    text = value.strip()
    if type_name == "integer":
        return int(text)
    if type_name in ("float", "number"):
        return float(text) if type_name == "float" or "." in text or "e" in text.lower() else int(text)
    if type_name == "boolean":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError("not a boolean")
    if type_name in ("list", "map", "range"):
        # JSON text is what orchent and web forms send for structured inputs.
        return json.loads(text)
    return value


def _check(input_def, value, data_types):
    """Raise the first fault tosca-parser finds in ``value`` for ``input_def``."""
    ExceptionCollector.start()
    try:
        DataEntity.validate_datatype(
            input_def.type, value, input_def.entry_schema, data_types, input_def.name
        )
        for spec in input_def.constraints:
            Constraint(input_def.name, input_def.type, spec).validate(value)
    except Exception as exc:  # tosca-parser raises ValueError and its own types
        ExceptionCollector.appendException(exc)
    finally:
        ExceptionCollector.stop()
    if ExceptionCollector.exceptionsCaught():
        reasons = ExceptionCollector.getExceptionsReport(full=False)
        raise ToscaError(
            "Input '%s' = %r is not valid: %s" % (input_def.name, value, "; ".join(reasons)),
            prop=input_def.name,
            details=reasons,
        )


def resolve_inputs(specs, parameters, data_types=None):
    """Input values from ``parameters`` and defaults.

    Returns ``(definitions, values, warnings)``; raises ToscaError for a missing required input
    (INDIGO's wording) or a value that does not fit its type or constraints.
    """
    if specs is not None and not isinstance(specs, dict):
        raise ToscaError("'inputs' of topology_template must be a mapping")
    if parameters is not None and not isinstance(parameters, dict):
        raise ToscaError("Parameters must be a mapping of input name to value")
    parameters = parameters or {}
    definitions = {name: InputDef(name, spec) for name, spec in (specs or {}).items()}
    values = {}
    for name, input_def in definitions.items():
        if name in parameters and parameters[name] is not None:
            raw = parameters[name]
            try:
                value = coerce(input_def.type, raw)
            except ValueError:
                raise ToscaError(
                    "Input '%s' = %r is not a valid %s" % (name, raw, input_def.type), prop=name
                ) from None
        elif input_def.default is not None:
            value = input_def.default
        elif input_def.required:
            raise ToscaError(
                "Input <%s> is required and is not present in the user's input list, nor has a "
                "default value" % name,
                prop=name,
            )
        else:
            continue
        _check(input_def, value, data_types)
        values[name] = value
    unknown = sorted(set(parameters) - set(definitions))
    warnings = [
        "Parameter '%s' is not an input of the template; it is ignored" % name for name in unknown
    ]
    return definitions, values, warnings
