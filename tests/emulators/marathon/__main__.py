# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the Marathon emulator as a process; prints its URL on the first line of stdout.

  python -m ansible_collections.paas.orchestrator.tests.emulators.marathon \\
      --port 0 --state-dir /tmp/marathon --start-seconds 1 --knobs '{"error_rate": 0.2}'

With --state-dir the state is kept in STATE_DIR/marathon.json after every change and loaded
again on start, so that a killed run can be resumed or inspected.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .cluster import MarathonEmulator
from .server import EmulatorServer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="marathon-emulator",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state-dir", help="keep (and resume) the state there")
    parser.add_argument("--start-seconds", type=float, help="TASK_STAGING to TASK_RUNNING")
    parser.add_argument("--restart-seconds", type=float, help="a dead task is replaced after")
    parser.add_argument("--seed", type=int, help="of the error_rate draws")
    parser.add_argument("--knobs", type=json.loads, default={},
                        help="a JSON object of any knobs (README.md lists them)")
    args = parser.parse_args(argv)
    knobs = dict(args.knobs)
    for name in ("start_seconds", "restart_seconds", "seed"):
        if getattr(args, name) is not None:
            knobs[name] = getattr(args, name)
    if args.state_dir:
        os.makedirs(args.state_dir, exist_ok=True)
    try:
        cluster = MarathonEmulator(state_dir=args.state_dir, **knobs)
    except ValueError as exc:
        parser.error(str(exc))
    server = EmulatorServer(cluster, host=args.host, port=args.port)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    with server:
        print(server.url, flush=True)
        stopping.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
