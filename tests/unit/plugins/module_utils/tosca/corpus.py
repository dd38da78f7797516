# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The INDIGO template corpus (../shared/corpus beside the repository), for tests and benchmarks."""

from __future__ import annotations

import json
import os

import yaml

_SAMPLES = {
    "string": "value", "integer": 1, "float": 1.0, "boolean": True, "list": [], "map": {},
    "scalar-unit.size": "1 GB", "scalar-unit.time": "1 s", "version": "1.0",
    "timestamp": "2020-01-01T00:00:00Z",
}


def corpus_dir():
    """The corpus directory, found above this file (works from ansible-test's copy too)."""
    explicit = os.environ.get("PAAS_ORCHESTRATOR_CORPUS")
    if explicit:
        return explicit if os.path.isdir(explicit) else None
    here = os.path.dirname(os.path.realpath(__file__))
    while True:
        candidate = os.path.join(here, "shared", "corpus")
        if os.path.isfile(os.path.join(candidate, "index.json")):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def index(corpus):
    with open(os.path.join(corpus, "index.json")) as handle:
        return json.load(handle)


def mirror(corpus):
    return os.path.join(corpus, "imports.json")


def _sample(spec):
    for constraint in spec.get("constraints") or []:
        if isinstance(constraint, dict) and "valid_values" in constraint:
            return constraint["valid_values"][0]
    return _SAMPLES.get(spec.get("type", "string"), "value")


def parameters(path):
    """A value of the declared type for every required input that has no default."""
    try:
        with open(path) as handle:
            data = yaml.safe_load(handle)
        inputs = data["topology_template"].get("inputs") or {}
    except (yaml.YAMLError, KeyError, TypeError, AttributeError):
        return {}
    return {
        name: _sample(spec)
        for name, spec in inputs.items()
        if isinstance(spec, dict) and spec.get("default") is None and spec.get("required", True)
    }
