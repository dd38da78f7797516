# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the Chronos emulator as a process; prints its URL on the first line of stdout.

  python -m ansible_collections.paas.orchestrator.tests.emulators.chronos \\
      --port 0 --state-dir /tmp/chronos --credentials paas:secret --knobs '{"error_rate": 0.2}'

With --state-dir the jobs, their counts, the runs and the knobs are kept in
STATE_DIR/chronos.json and loaded again on start; job sandboxes are STATE_DIR/sandbox/<job>.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .scheduler import ChronosEmulator
from .server import EmulatorServer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="chronos-emulator",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state-dir", help="keep (and resume) the state and sandboxes there")
    parser.add_argument("--credentials", help="user:password required by HTTP Basic")
    parser.add_argument("--error-rate", type=float, help="fraction of API requests given a 5xx")
    parser.add_argument("--seed", type=int, help="of the error_rate draws")
    parser.add_argument("--knobs", type=json.loads, default={},
                        help="a JSON object of any knobs (README.md lists them)")
    args = parser.parse_args(argv)
    knobs = dict(args.knobs)
    for name in ("credentials", "error_rate", "seed"):
        if getattr(args, name) is not None:
            knobs[name] = getattr(args, name)
    if args.state_dir:
        os.makedirs(args.state_dir, exist_ok=True)
    try:
        chronos = ChronosEmulator(state_dir=args.state_dir, **knobs)
    except ValueError as exc:
        parser.error(str(exc))
    server = EmulatorServer(chronos, host=args.host, port=args.port)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    with server:
        print(server.url, flush=True)
        stopping.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
