# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Placement rules: per user, group or use case, discard sites or change their scores.

A rules file (YAML or JSON, or the same data given directly) is a list of rules, or a mapping
with a ``rules`` list. Each rule::

    name: prefer-bari                    # required, unique
    when: "group == 'cms'"               # JMESPath over the context (optional: always)
    match: "provider == 'RECAS-BARI'"    # JMESPath over a candidate (optional: every one)
    score: 10                            # added; or a JMESPath giving the number to add
    # or   multiply: 1.5                 # the score multiplied (a number or a JMESPath)
    # or   discard: "site.type == 'ec2'" # JMESPath over a candidate: true -> left out

``when`` sees ``{user, group, use_case, template: {deployment_kind, node_types}}``; ``match``,
``discard`` and expression values see a candidate ``{service_id, provider, site,
service_type, properties, metrics, total_score, sla_weight, region, score}``. Rules apply in
file order, each to the score the previous ones left; a discarded site meets no further rule.
Every expression is compiled once, when the rules are loaded (see ``jmes``).
"""

from __future__ import annotations

import json
import os

from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import jmes
from ansible_collections.paas.orchestrator.plugins.module_utils.ranking.errors import (
    RankingError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.yamlsafe import load_yaml

ACTIONS = ("discard", "score", "multiply")
KEYS = frozenset(ACTIONS + ("name", "when", "match", "description"))
MAX_RULES_BYTES = 1024 * 1024


class Rule:
    __slots__ = ("name", "when", "match", "action", "value", "expression")

    def __init__(self, name, when, match, action, value, expression):
        self.name = name
        self.when = when              # compiled JMESPath or None
        self.match = match            # compiled JMESPath or None
        self.action = action          # "discard" | "score" | "multiply"
        self.value = value            # the number, or the compiled JMESPath
        self.expression = expression  # True when value is an expression


class RuleSet:
    """Compiled rules: build once (``load``), apply to many rankings."""

    def __init__(self, rules=()):
        self.rules = tuple(rules)

    def __len__(self):
        return len(self.rules)

    def active(self, context):
        """The rules whose ``when`` holds in ``context``."""
        chosen = []
        for rule in self.rules:
            if rule.when is None:
                chosen.append(rule)
            elif not jmes.is_false(_evaluate(rule, "when", rule.when, context)):
                chosen.append(rule)
        return chosen


def _evaluate(rule, field, function, data):
    try:
        return function(data)
    except (jmes.jmespath.exceptions.JMESPathError, TypeError) as exc:
        # a function given the wrong type (contains(null, 'x')), or the interpreter's own
        # TypeError on an expression it runs itself (one with &field)
        raise RankingError("Rule '%s': '%s' failed: %s" % (rule.name, field, exc),
                           rule=rule.name) from None


def _compile(name, field, text):
    if not isinstance(text, str) or not text.strip():
        raise RankingError("Rule '%s': '%s' must be a JMESPath expression (a string)"
                           % (name, field), rule=name)
    try:
        return jmes.compile_expression(text)
    except jmes.jmespath.exceptions.JMESPathError as exc:
        raise RankingError("Rule '%s': '%s' is not valid JMESPath: %s" % (name, field, exc),
                           rule=name) from None


def _read(path):
    try:
        with open(path, "rb") as handle:
            text = handle.read(MAX_RULES_BYTES + 1)
    except OSError as exc:
        raise RankingError("Cannot read rules file %s: %s" % (path, exc.strerror)) from None
    if len(text) > MAX_RULES_BYTES:
        raise RankingError("Rules file %s is over %d bytes" % (path, MAX_RULES_BYTES))
    if not text.strip():
        return None  # an empty file: no rules
    if path.endswith(".json"):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise RankingError("Rules file %s is not valid JSON: %s" % (path, exc)) from None
    try:  # YAML is also how a JSON file without the .json suffix reads
        return load_yaml(text, path, max_bytes=MAX_RULES_BYTES + 1)
    except ToscaError as exc:
        raise RankingError("Rules file %s: %s" % (path, exc.message)) from None


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _rule(position, spec, seen):
    if not isinstance(spec, dict):
        raise RankingError("Rule #%d must be a mapping, not %s" % (position, type(spec).__name__))
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise RankingError("Rule #%d has no name" % position)
    if name in seen:
        raise RankingError("Rule '%s' is defined twice" % name, rule=name)
    seen.add(name)
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise RankingError("Rule '%s' has unknown keys: %s (known: %s)"
                           % (name, ", ".join(map(str, unknown)), ", ".join(sorted(KEYS))),
                           rule=name)
    actions = [action for action in ACTIONS if action in spec]
    if len(actions) != 1:
        raise RankingError("Rule '%s' needs exactly one of discard, score or multiply"
                           % name, rule=name)
    action = actions[0]
    when = _compile(name, "when", spec["when"]) if spec.get("when") is not None else None
    if action == "discard":
        if "match" in spec:
            raise RankingError("Rule '%s': a discard rule takes no 'match' (its discard "
                               "expression is the condition)" % name, rule=name)
        return Rule(name, when, None, action, _compile(name, action, spec[action]), True)
    match = _compile(name, "match", spec["match"]) if spec.get("match") is not None else None
    value = spec[action]
    if _number(value):
        return Rule(name, when, match, action, value, False)
    return Rule(name, when, match, action, _compile(name, action, value), True)


def load(rules):
    """A RuleSet from a path (YAML or JSON), a list of rules, ``{"rules": [...]}``, or None.

    A RuleSet is returned as it is. Anything malformed is a RankingError naming the rule.
    """
    if rules is None or isinstance(rules, RuleSet):
        return rules or RuleSet()
    if isinstance(rules, (str, os.PathLike)):
        rules = _read(os.fspath(rules))
    if isinstance(rules, dict):
        if set(rules) - {"rules"}:
            raise RankingError("A rules mapping holds only 'rules' (a list); it has %s"
                               % ", ".join(sorted(map(str, rules))))
        rules = rules.get("rules")
    if rules is None:
        return RuleSet()
    if not isinstance(rules, list):
        raise RankingError("Rules must be a list, not %s" % type(rules).__name__)
    if rules and jmes.jmespath is None:
        raise RankingError("Placement rules need the jmespath Python package: "
                           + jmes.IMPORT_ERROR.strip().splitlines()[-1])
    seen = set()
    return RuleSet(_rule(position, spec, seen) for position, spec in enumerate(rules, 1))


def _amount(rule, candidate):
    if not rule.expression:
        return rule.value
    amount = _evaluate(rule, rule.action, rule.value, candidate)
    if amount is not None and not _number(amount):
        raise RankingError("Rule '%s': %s gave %r for service %s, not a number"
                           % (rule.name, rule.action, amount, candidate["service_id"]),
                           rule=rule.name)
    return amount


def apply(rules, candidate):
    """Apply the active ``rules`` to one candidate view, in order.

    Updates ``candidate["score"]``; returns (discarded by rule name or None, reasons).
    """
    reasons = []
    for rule in rules:
        if rule.action == "discard":
            if not jmes.is_false(_evaluate(rule, "discard", rule.value, candidate)):
                return rule.name, reasons
            continue
        if rule.match is not None:
            if jmes.is_false(_evaluate(rule, "match", rule.match, candidate)):
                continue
        amount = _amount(rule, candidate)
        if amount is None:
            continue
        if rule.action == "score":
            candidate["score"] += amount
            reasons.append("rule %s: %+g" % (rule.name, amount))
        else:
            candidate["score"] *= amount
            reasons.append("rule %s: x%g" % (rule.name, amount))
    return None, reasons
