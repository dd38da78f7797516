# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JMESPath expressions compiled once into plain Python closures.

A placement rule is evaluated against every candidate site: with 10,000 sites and 20 rules that
is 200,000 evaluations, and the ``jmespath`` package's tree interpreter costs a few microseconds
each (a method lookup per AST node). ``compile_expression`` parses with ``jmespath`` itself (so
the grammar and its errors are the package's) and turns the AST into nested closures with the
interpreter's exact semantics (``visitor.TreeInterpreter``): truthiness, ``==`` between numbers
and booleans, ordering comparisons only between numbers or strings, null-propagating field
access. Functions are called through the package's own table, so their type checks and errors
are unchanged. An expression that uses an expression reference (``&field``, as in ``sort_by``)
is left to the package's interpreter. One difference: ordering a string against a number
(``capacity > `5``` where a site says "many") is null, as the JMESPath specification says,
where the interpreter raises a TypeError.
"""

from __future__ import annotations

import operator
import traceback

try:
    import jmespath
    from jmespath import functions as _functions
    from jmespath.visitor import _equals, _is_actual_number, _is_comparable
except ImportError:
    jmespath = None
    IMPORT_ERROR = traceback.format_exc()
else:
    IMPORT_ERROR = None
    _FUNCTIONS = _functions.Functions()

_ORDERING = {"lt": operator.lt, "gt": operator.gt, "lte": operator.le, "gte": operator.ge}


class _Unsupported(Exception):
    """An AST node left to the package's interpreter."""


def is_false(value):
    """JMESPath falsiness: null, false, '', [] and {} (0 is true)."""
    return value is None or value is False or value == "" or value == [] or value == {}


def compile_expression(text):
    """``text`` -> a function of one argument (the data), equal to ``jmespath.search``.

    Raises the package's ``jmespath.exceptions.ParseError`` (or LexerError) for a bad expression.
    """
    parsed = jmespath.compile(text)
    try:
        return _build(parsed.parsed)
    except _Unsupported:
        return parsed.search


def _field(name):
    def field(value):
        try:
            return value.get(name)
        except AttributeError:
            return None
    return field


def _path(names):
    def path(value):
        for name in names:
            try:
                value = value.get(name)
            except AttributeError:
                return None
        return value
    return path


def _chain(steps):
    def chain(value):
        for step in steps:
            value = step(value)
        return value
    return chain


def _literal(constant):
    return lambda value: constant


def _comparator(op, left, right):
    if op == "eq":
        return lambda value: _equals(left(value), right(value))
    if op == "ne":
        return lambda value: not _equals(left(value), right(value))
    compare = _ORDERING[op]

    def ordering(value):
        a, b = left(value), right(value)
        if not (_is_comparable(a) and _is_comparable(b)):
            return None
        if isinstance(a, str) != isinstance(b, str):
            return None  # the interpreter raises TypeError here; the spec says null
        return compare(a, b)
    return ordering


def _and(left, right):
    def both(value):
        first = left(value)
        return first if is_false(first) else right(value)
    return both


def _or(left, right):
    def either(value):
        first = left(value)
        return right(value) if is_false(first) else first
    return either


def _not(child):
    def negation(value):
        result = child(value)
        if _is_actual_number(result) and result == 0:
            return False  # !0 is false: 0 is not a false value in JMESPath
        return not result
    return negation


def _index(position):
    def index(value):
        if not isinstance(value, list):
            return None
        try:
            return value[position]
        except IndexError:
            return None
    return index


def _slice(bounds):
    def cut(value):
        return value[slice(*bounds)] if isinstance(value, list) else None
    return cut


def _function(name, args):
    def call(value):
        return _FUNCTIONS.call_function(name, [arg(value) for arg in args])
    return call


def _project(items, each, condition=None):
    """JMESPath's projection: ``each`` of every item (that meets ``condition``), nulls left out."""
    collected = []
    for item in items:
        if condition is None or not is_false(condition(item)):
            current = each(item)
            if current is not None:
                collected.append(current)
    return collected


def _projection(base, each):
    def project(value):
        items = base(value)
        return _project(items, each) if isinstance(items, list) else None
    return project


def _value_projection(base, each):
    def project(value):
        try:
            items = base(value).values()
        except AttributeError:
            return None
        return _project(items, each)
    return project


def _filter_projection(base, each, condition):
    def project(value):
        items = base(value)
        return _project(items, each, condition) if isinstance(items, list) else None
    return project


def _flatten(base):
    def flatten(value):
        items = base(value)
        if not isinstance(items, list):
            return None
        merged = []
        for item in items:
            if isinstance(item, list):
                merged.extend(item)
            else:
                merged.append(item)
        return merged
    return flatten


def _multi_list(children):
    def select(value):
        if value is None:
            return None
        return [child(value) for child in children]
    return select


def _multi_dict(pairs):
    def select(value):
        if value is None:
            return None
        return {key: child(value) for key, child in pairs}
    return select


def _build(node):
    kind = node["type"]
    children = node.get("children") or []
    if kind == "field":
        return _field(node["value"])
    if kind in ("subexpression", "index_expression", "pipe"):
        if kind == "subexpression" and all(child["type"] == "field" for child in children):
            return _path([child["value"] for child in children])
        return _chain([_build(child) for child in children])
    if kind in ("current", "identity"):
        return lambda value: value
    if kind == "literal":
        return _literal(node["value"])
    if kind == "comparator":
        return _comparator(node["value"], _build(children[0]), _build(children[1]))
    if kind == "and_expression":
        return _and(_build(children[0]), _build(children[1]))
    if kind == "or_expression":
        return _or(_build(children[0]), _build(children[1]))
    if kind == "not_expression":
        return _not(_build(children[0]))
    if kind == "index":
        return _index(node["value"])
    if kind == "slice":
        return _slice(children)
    if kind == "function_expression":
        return _function(node["value"], [_build(child) for child in children])
    if kind == "projection":
        return _projection(_build(children[0]), _build(children[1]))
    if kind == "value_projection":
        return _value_projection(_build(children[0]), _build(children[1]))
    if kind == "filter_projection":
        return _filter_projection(_build(children[0]), _build(children[1]),
                                  _build(children[2]))
    if kind == "flatten":
        return _flatten(_build(children[0]))
    if kind == "multi_select_list":
        return _multi_list([_build(child) for child in children])
    if kind == "multi_select_dict":
        return _multi_dict([(child["value"], _build(child["children"][0]))
                            for child in children])
    raise _Unsupported(kind)  # expref, and any node type a later jmespath adds
