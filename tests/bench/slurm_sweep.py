# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A 100-task sweep through the engine on a SLURM site, against the same array submitted with
plain ``sbatch --array`` and waited for (squeue every 0.25 s), in one run, on the cluster of
``tests/tooling/services.sh start slurm``. Prints both and, last, ``ratio <engine/sbatch>``.
Target <= 1.3.

The engine's time is the whole deployment: template load, plan, store rows, the job specs
written to the site, sbatch, SLURM running each task through the driver's runner (its job
directory, its record), the polling, and the final status. Both sides run the same command,
each task in a directory of its own.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from ansible_collections.paas.orchestrator.tests.bench._sweeps import (
    COMMAND,
    template,
    timed_deployment,
)

TASKS = int(os.environ.get("BENCH_TASKS", "100"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SERVICES_JSON = os.path.join(os.path.expanduser("~"), ".paas-orchestrator-test", "services.json")


def with_sbatch(workdir, cluster):
    name = "bench-%s" % uuid.uuid4().hex[:12]
    script = 'mkdir -p "%s/$SLURM_ARRAY_TASK_ID" && cd "%s/$SLURM_ARRAY_TASK_ID" && ' \
             'I=$SLURM_ARRAY_TASK_ID && %s' % (workdir, workdir, COMMAND)
    start = time.perf_counter()
    subprocess.run(["sbatch", "--parsable", "--job-name=" + name, "--array=0-%d" % (TASKS - 1),
                    "--partition=" + cluster["partition"], "--output=/dev/null",
                    "--wrap=" + script], check=True, stdout=subprocess.DEVNULL)
    while True:
        listing = subprocess.run(["squeue", "--noheader", "--array", "--name=" + name,
                                  "--states=all", "--format=%T"], check=True,
                                 capture_output=True, text=True).stdout.split()
        if listing and all(state in ("COMPLETED", "FAILED", "CANCELLED") for state in listing):
            break
        time.sleep(0.25)
    elapsed = time.perf_counter() - start
    if set(listing) != {"COMPLETED"} or len(os.listdir(workdir)) != TASKS:
        raise SystemExit("plain sbatch run ended with %s" % sorted(set(listing)))
    return elapsed


def with_engine(workdir, cluster):
    site = {"name": "hpc", "type": "slurm", "workdir": os.path.join(workdir, "site"),
            "python": cluster["python"], "partition": cluster["partition"]}
    return timed_deployment(workdir, template(0, TASKS - 1), site,
                            name="bench-%s" % uuid.uuid4().hex[:12], timeout=900)


def _listed(times):
    return " ".join("%.2f" % value for value in times)


def main():
    with open(SERVICES_JSON) as handle:
        cluster = json.load(handle)["slurm"]
    baselines, engines = [], []
    for _round in range(ROUNDS):  # interleaved, so that a noisy moment hits both
        with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
            baselines.append(with_sbatch(first, cluster))
            engines.append(with_engine(second, cluster))
    baseline, ours = statistics.median(baselines), statistics.median(engines)
    print("medians of %d rounds; tasks %d" % (ROUNDS, TASKS))
    print("plain sbatch --array, waited for: %s -> %.2f s" % (_listed(baselines), baseline))
    print("engine (slurm site): %s -> %.2f s" % (_listed(engines), ours))
    print("ratio %.2f" % (ours / baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
