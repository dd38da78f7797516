# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""1,000 trivial jobs through the engine on the local site, against ``xargs -P<slots>`` running
the same commands, in one run. Prints both and, last, ``ratio <engine/xargs>``. Target <= 2.5.

The engine's time is the whole deployment: template load, plan, store rows, submission, the
detached agent running every job in its own directory, polling, and the final status.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

from ansible_collections.paas.orchestrator.tests.bench._sweeps import (
    COMMAND,
    template,
    timed_deployment,
)

JOBS = int(os.environ.get("BENCH_JOBS", "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SLOTS = int(os.environ.get("BENCH_SLOTS", str(os.cpu_count() or 2)))


def with_xargs(workdir, job_dirs=True):
    """xargs running the command, each in a directory of its own as the engine's jobs are
    (``job_dirs``), or all in one directory writing to /dev/null (a floor, for reference)."""
    if job_dirs:
        script = 'mkdir -p "$0" && cd "$0" && I="$0" && %s' % COMMAND
    else:
        script = 'I="$0" && %s' % COMMAND.replace("out.txt", "/dev/null")
    numbers = "\n".join(os.path.join(workdir, str(n)) for n in range(1, JOBS + 1))
    start = time.perf_counter()
    subprocess.run(["xargs", "-P", str(SLOTS), "-n", "1", "sh", "-c", script],
                   input=numbers.encode(), check=True)
    return time.perf_counter() - start


def with_engine(workdir):
    return timed_deployment(workdir, template(1, JOBS), {
        "name": "here", "type": "local", "slots": SLOTS, "workdir": os.path.join(workdir, "site")})


def main():
    floors, baselines, engines = [], [], []
    for _round in range(ROUNDS):  # interleaved, so that a noisy moment hits all three
        with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
            floors.append(with_xargs(first, job_dirs=False))
            baselines.append(with_xargs(first))
            engines.append(with_engine(second))
    floor, baseline, ours = (statistics.median(times) for times in (floors, baselines, engines))
    print("medians of %d rounds" % ROUNDS)
    print("jobs %d, slots %d" % (JOBS, SLOTS))
    print("xargs -P%d, no job directories (floor): %.2f s" % (SLOTS, floor))
    print("xargs -P%d, a directory per job: %.2f s" % (SLOTS, baseline))
    print("engine (local site): %.2f s" % ours)
    print("ratio to the floor %.2f" % (ours / floor))
    print("ratio %.2f" % (ours / baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
