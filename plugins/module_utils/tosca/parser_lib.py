# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place tosca-parser is imported, so that a host without it gets a clear message
(PaasModule reports IMPORT_ERROR through missing_required_lib) instead of a traceback."""

from __future__ import annotations

import traceback

try:
    from toscaparser.common.exception import ExceptionCollector, ValidationError
    from toscaparser.dataentity import DataEntity
    from toscaparser.elements.constraints import Constraint
    from toscaparser.elements.entity_type import EntityType
    from toscaparser.elements.nodetype import NodeType
    from toscaparser.functions import is_function
    from toscaparser.properties import Property
    from toscaparser.tosca_template import ToscaTemplate
except ImportError:
    IMPORT_ERROR = traceback.format_exc()
    ToscaTemplate = object  # a base class for loader._Parser that is never instantiated
    ExceptionCollector = ValidationError = DataEntity = Constraint = None
    EntityType = NodeType = is_function = Property = None
else:
    IMPORT_ERROR = None

__all__ = ["IMPORT_ERROR", "Constraint", "DataEntity", "EntityType", "ExceptionCollector",
           "NodeType", "Property", "ToscaTemplate", "ValidationError", "is_function"]
