# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load every corpus template with our loader and with plain tosca-parser, in one run.

Plain tosca-parser gets the same template with its imports rewritten to the local mirror files
(it has no mirror of its own and this machine has no network), and the same parameters.
Prints the median per-template load time of each and, last, `ratio <ours/tosca-parser>`.
Target: ratio <= 0.15.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time

import yaml
from toscaparser.tosca_template import ToscaTemplate

from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.errors import ToscaError
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca.loader import load
from ansible_collections.paas.orchestrator.tests.unit.plugins.module_utils.tosca import corpus

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
logging.disable(logging.CRITICAL)


def localised(text, mirror):
    """The template with its imports pointed at the mirror's local files."""
    data = yaml.safe_load(text)
    repos = data.get("repositories") or {}
    imports = []
    for entry in data.get("imports") or []:
        name, ref = next(iter(entry.items())) if isinstance(entry, dict) else (None, entry)
        if isinstance(ref, dict):
            url = repos[ref["repository"]]["url"].rstrip("/") + "/" + ref["file"]
            ref = url
        ref = mirror.get(ref, ref)
        imports.append({name: ref} if name else ref)
    data["imports"] = imports
    data.pop("repositories", None)
    return data


def plain(data, params):
    try:
        ToscaTemplate(yaml_dict_tpl=yaml.safe_load(yaml.safe_dump(data)), parsed_params=params)
    except Exception:  # rejected templates count too: the time is what is measured
        pass


def ours(path, params, mirror_path, cache_dir):
    try:
        load(path, params, mirror=mirror_path, cache_dir=cache_dir)
    except ToscaError:
        pass


def timed(func, *args):
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


def main():
    root = corpus.corpus_dir()
    if root is None:
        print("corpus absent: ../shared/corpus not found; nothing to measure")
        return 1
    mirror_path = corpus.mirror(root)
    with open(mirror_path) as handle:
        mirror = {url: os.path.join(root, rel) for url, rel in yaml.safe_load(handle).items()}
    cases = []
    for entry in corpus.index(root):
        path = os.path.join(root, entry["file"])
        with open(path) as handle:
            text = handle.read()
        try:
            data = localised(text, mirror)
        except yaml.YAMLError:
            data = None
        cases.append((path, corpus.parameters(path), data))

    with tempfile.TemporaryDirectory() as cache_dir:
        cold = timed(ours, cases[0][0], cases[0][1], mirror_path, cache_dir)
        ours_times, plain_times = [], []
        for path, params, data in cases:
            ours(path, params, mirror_path, cache_dir)  # warm the in-process cache
            ours_times.append(statistics.median(
                timed(ours, path, params, mirror_path, cache_dir) for _round in range(ROUNDS)))
            if data is not None:
                plain_times.append(statistics.median(
                    timed(plain, data, params) for _round in range(ROUNDS)))
    ours_median = statistics.median(ours_times)
    plain_median = statistics.median(plain_times)
    print("templates %d, rounds %d" % (len(cases), ROUNDS))
    print("first load in a new process (types parsed, disk cache empty): %.1f ms" % (cold * 1e3))
    print("tosca-parser median %.2f ms" % (plain_median * 1e3))
    print("ours median %.2f ms" % (ours_median * 1e3))
    print("ratio %.3f" % (ours_median / plain_median))
    return 0


if __name__ == "__main__":
    sys.exit(main())
