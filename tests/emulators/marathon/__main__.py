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

import sys

from .. import serving
from .cluster import MarathonEmulator
from .server import EmulatorServer

OPTIONS = (
    ("--start-seconds", float, "TASK_STAGING to TASK_RUNNING"),
    ("--restart-seconds", float, "a dead task is replaced after"),
)

if __name__ == "__main__":
    sys.exit(serving.main(None, "marathon-emulator", __doc__.splitlines()[0], MarathonEmulator,
                          EmulatorServer, OPTIONS))
