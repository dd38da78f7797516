# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the OpenNebula emulator as a process; prints its URL on the first line of stdout.

  python -m ansible_collections.paas.orchestrator.tests.emulators.opennebula \\
      --port 2633 --state-dir /tmp/one --boot-seconds 2 --knobs '{"max_vms": 3}'

With --state-dir the state is kept in STATE_DIR/opennebula.json after every call and loaded
again on start, so that a killed run can be resumed or inspected.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .cloud import OpenNebulaEmulator
from .server import EmulatorServer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="opennebula-emulator",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state-dir", help="keep (and resume) the state there")
    parser.add_argument("--boot-seconds", type=float, help="PENDING to RUNNING")
    parser.add_argument("--max-vms", type=int, help="VMS quota of the non-oneadmin users")
    parser.add_argument("--seed", type=int, help="of the *_rate knobs' draws")
    parser.add_argument("--knobs", type=json.loads, default={},
                        help="a JSON object of any knobs (README.md lists them)")
    args = parser.parse_args(argv)
    knobs = dict(args.knobs)
    for name in ("boot_seconds", "max_vms", "seed"):
        if getattr(args, name) is not None:
            knobs[name] = getattr(args, name)
    if args.state_dir:
        os.makedirs(args.state_dir, exist_ok=True)
    try:
        cloud = OpenNebulaEmulator(state_dir=args.state_dir, **knobs)
    except ValueError as exc:
        parser.error(str(exc))
    server = EmulatorServer(cloud, host=args.host, port=args.port)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    with server:
        print(server.url, flush=True)
        stopping.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
