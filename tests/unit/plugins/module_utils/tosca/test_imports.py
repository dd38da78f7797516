# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import imports
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca.conftest import (
    TYPES,
    template,
)

URL = "https://types.example.org/repo/master/types.yaml"


@pytest.fixture
def mirror(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "types.yaml").write_text(TYPES)
    (tmp_path / "tree" / "v1").mkdir(parents=True)
    (tmp_path / "tree" / "v1" / "types.yaml").write_text(TYPES)
    map_path = tmp_path / "imports.json"
    map_path.write_text(json.dumps({
        URL: "files/types.yaml",
        "https://types.example.org/tree/": "tree/",
    }))
    return str(map_path)


def _threads(topology):
    return topology.nodes["worker"].properties["threads"]


def test_mirror_entry_resolves_relative_to_the_map(mirror, tmp_path):
    topology = load(template("imports:\n  - types: %s\n" % URL), mirror=mirror,
                    cache_dir=str(tmp_path / "cache"))
    assert _threads(topology) == 2
    assert topology.imports == [{"location": URL, "origin": "mirror"}]


def test_mirror_prefix_entry(mirror, tmp_path):
    url = "https://types.example.org/tree/v1/types.yaml"
    topology = load(template("imports:\n  - %s\n" % url), mirror=mirror, cache_dir="")
    assert _threads(topology) == 2


def test_mirror_from_the_environment(mirror, monkeypatch):
    monkeypatch.setenv(imports.MIRROR_ENV, mirror)
    assert _threads(load(template("imports:\n  - %s\n" % URL), cache_dir="")) == 2


def test_repositories_style_import(mirror):
    text = template(
        "imports:\n  - types:\n      file: types.yaml\n      repository: repo\n",
        extra="repositories:\n  repo:\n    url: https://types.example.org/repo/master/\n")
    assert _threads(load(text, mirror=mirror, cache_dir="")) == 2


def test_undefined_repository_is_named():
    text = template("imports:\n  - types:\n      file: types.yaml\n      repository: nope\n")
    with pytest.raises(ToscaError, match="repository 'nope', which is not defined"):
        load(text, cache_dir="")


def test_network_then_cache(http_types, tmp_path):
    base, hits = http_types
    url = base + "/repo/types.yaml"
    cache = str(tmp_path / "cache")
    first = load(template("imports:\n  - %s\n" % url), cache_dir=cache)
    assert first.imports == [{"location": url, "origin": "network"}]
    imports._PARSED.clear()
    second = load(template("imports:\n  - %s\n" % url), cache_dir=cache)
    assert second.imports == [{"location": url, "origin": "cache"}]
    assert hits == ["/repo/types.yaml"]
    # the parsed type file was kept on disk, as JSON
    assert any(name.endswith(".json") for name in os.listdir(os.path.join(cache, "types")))


def test_http_error_is_named(http_types):
    base, _hits = http_types
    with pytest.raises(ToscaError, match="unreachable: HTTP 404"):
        load(template("imports:\n  - %s/missing.yaml\n" % base), cache_dir="")


def test_unreachable_import_fails_fast():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    start = time.perf_counter()
    with pytest.raises(ToscaError) as info:
        load(template("imports:\n  - http://127.0.0.1:%d/t.yaml\n" % port), cache_dir="",
             timeout=2)
    assert "is unreachable" in str(info.value)
    assert "mirror" in str(info.value)
    assert time.perf_counter() - start < 3


@pytest.mark.parametrize("ref", ["file:///etc/passwd", "/etc/passwd"])
def test_local_files_outside_the_mirror_are_refused(ref, mirror):
    with pytest.raises(ToscaError, match="outside the template's directory and the import "
                                         "mirror: refused"):
        load(template("imports:\n  - %s\n" % ref), mirror=mirror, cache_dir="")


def test_relative_import_cannot_climb_out_of_the_template_directory(tmp_path):
    (tmp_path / "secret.yaml").write_text(TYPES)
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "types.yaml").write_text(TYPES)
    good = folder / "good.yaml"
    good.write_text(template("imports:\n  - types.yaml\n"))
    assert _threads(load(str(good), cache_dir="")) == 2
    bad = folder / "bad.yaml"
    bad.write_text(template("imports:\n  - ../secret.yaml\n"))
    with pytest.raises(ToscaError, match="refused"):
        load(str(bad), cache_dir="")


def test_relative_import_of_template_text_needs_a_url():
    with pytest.raises(ToscaError, match="given as text"):
        load(template("imports:\n  - types.yaml\n"), cache_dir="")


def test_unsupported_scheme():
    with pytest.raises(ToscaError, match="unsupported scheme 'ftp'"):
        load(template("imports:\n  - ftp://example.org/t.yaml\n"), cache_dir="")


def test_bad_mirror_map(tmp_path):
    bad = tmp_path / "map.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ToscaError, match="mapping of URL to local path"):
        load(template(), mirror=str(bad), cache_dir="")
    with pytest.raises(ToscaError, match="Cannot read the import mirror map"):
        load(template(), mirror=str(tmp_path / "absent.json"), cache_dir="")


def test_import_cycle_is_harmless(tmp_path):
    (tmp_path / "a.yaml").write_text("tosca_definitions_version: tosca_simple_yaml_1_0\n"
                                     "imports: [b.yaml]\n")
    (tmp_path / "b.yaml").write_text(TYPES + "imports: [a.yaml]\n")
    main = tmp_path / "main.yaml"
    main.write_text(template("imports: [a.yaml]\n"))
    assert _threads(load(str(main), cache_dir="")) == 2


def test_imported_file_with_unknown_version(tmp_path):
    (tmp_path / "t.yaml").write_text("tosca_definitions_version: tosca_simple_yaml_9\n")
    main = tmp_path / "main.yaml"
    main.write_text(template("imports: [t.yaml]\n"))
    with pytest.raises(ToscaError) as info:
        load(str(main), cache_dir="")
    assert "tosca_simple_yaml_9" in str(info.value)
    assert info.value.source.endswith("t.yaml")
