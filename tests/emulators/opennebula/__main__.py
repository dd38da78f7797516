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

import sys

from .. import serving
from .cloud import OpenNebulaEmulator
from .server import EmulatorServer

OPTIONS = (
    ("--boot-seconds", float, "PENDING to RUNNING"),
    ("--max-vms", int, "VMS quota of the non-oneadmin users"),
)

if __name__ == "__main__":
    sys.exit(serving.main(None, "opennebula-emulator", __doc__.splitlines()[0],
                          OpenNebulaEmulator, EmulatorServer, OPTIONS))
