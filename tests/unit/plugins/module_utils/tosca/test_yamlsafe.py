# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import time

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.yamlsafe import (
    MAX_TEMPLATE_BYTES,
    load_yaml,
)


def billion_laughs(levels=9):
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        refs = ", ".join(["*a%d" % (level - 1)] * 9)
        lines.append("a%d: &a%d [%s]" % (level, level, refs))
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_quickly():
    start = time.perf_counter()
    with pytest.raises(ToscaError, match="alias bomb"):
        load_yaml(billion_laughs(), "bomb.yaml")
    assert time.perf_counter() - start < 1.0


def test_a_few_aliases_are_fine():
    assert load_yaml("a: &x [1, 2]\nb: *x\n", "t") == {"a": [1, 2], "b": [1, 2]}


def test_ten_megabytes_is_refused_before_parsing():
    text = "description: '" + "x" * (10 * 1024 * 1024) + "'\n"
    start = time.perf_counter()
    with pytest.raises(ToscaError, match="over the limit of %d bytes" % MAX_TEMPLATE_BYTES):
        load_yaml(text, "big.yaml")
    assert time.perf_counter() - start < 1.0


def test_bad_yaml_names_line_and_source():
    with pytest.raises(ToscaError) as info:
        load_yaml("a: [1, 2\nb: 3\n", "broken.yaml")
    assert "Not valid YAML at line" in str(info.value)
    assert info.value.source == "broken.yaml"


def test_empty_document():
    with pytest.raises(ToscaError, match="empty"):
        load_yaml("", "empty.yaml")


def test_python_tags_are_not_constructed():
    with pytest.raises(ToscaError, match="Not valid YAML"):
        load_yaml("a: !!python/object/apply:os.system ['true']\n", "evil.yaml")
