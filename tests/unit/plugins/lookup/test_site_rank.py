# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader

from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.\
    test_engine_placement import JOBS, VM, sites_file


def site_rank(template, **options):
    options.setdefault("import_cache", "")
    return lookup_loader.get("paas.orchestrator.site_rank").run([template], {}, **options)


def test_ranked_best_first_with_reasons(tmp_path):
    ranked = site_rank(JOBS, sources={"sites_file": sites_file(tmp_path)})
    assert [(entry["rank"], entry["site"]) for entry in ranked] == [
        (1, "fast"), (2, "medium"), (3, "slow")]
    assert all(entry["reasons"] for entry in ranked)
    assert ranked[0]["sla_weight"] == 0.9


def test_rules_and_group(tmp_path):
    rules = [{"name": "no-fast-for-students", "when": "group == 'students'",
              "discard": "site.name == 'fast'"}]
    sources = {"sites_file": sites_file(tmp_path)}
    assert site_rank(JOBS, sources=sources, rules=rules, group="staff")[0]["site"] == "fast"
    ranked = site_rank(JOBS, sources=sources, rules=rules, group="students",
                       include_discarded=True)
    assert [(entry["rank"], entry["site"]) for entry in ranked] == [
        (1, "medium"), (2, "slow"), (None, "fast")]
    assert "rule no-fast-for-students: discarded" in ranked[-1]["reasons"]


def test_nothing_fits(tmp_path):
    sources = {"sites_file": sites_file(tmp_path)}
    assert site_rank(VM, sources=sources) == []
    discarded = site_rank(VM, sources=sources, include_discarded=True)
    assert {entry["site"] for entry in discarded} == {"fast", "medium", "slow"}
    assert all(entry["rank"] is None and entry["reasons"] for entry in discarded)


def test_unreachable_source_policy(tmp_path, free_port):
    sources = {"sites_file": sites_file(tmp_path),
               "monitoring": {"url": "http://127.0.0.1:%d" % free_port, "timeout": 2}}
    with pytest.raises(AnsibleLookupError, match="127.0.0.1:%d" % free_port):
        site_rank(JOBS, sources=sources)
    for policy in ("warn", "skip"):
        ranked = site_rank(JOBS, sources=sources, on_unreachable=policy)
        assert [entry["site"] for entry in ranked] == ["fast", "medium", "slow"]


def test_bad_input_is_named(tmp_path):
    with pytest.raises(AnsibleLookupError, match="needs 'sources'"):
        site_rank(JOBS)
    with pytest.raises(AnsibleLookupError, match="absent.yml cannot be read"):
        site_rank(JOBS, sources={"sites_file": str(tmp_path / "absent.yml")})
    with pytest.raises(AnsibleLookupError, match="Rule 'r'"):
        site_rank(JOBS, sources={"sites_file": sites_file(tmp_path)},
                  rules=[{"name": "r", "discard": "site.name =="}])
