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

import sys

from .. import serving
from .scheduler import ChronosEmulator
from .server import EmulatorServer

OPTIONS = (
    ("--credentials", str, "user:password required by HTTP Basic"),
    ("--error-rate", float, "fraction of API requests given a 5xx"),
)

if __name__ == "__main__":
    sys.exit(serving.main(None, "chronos-emulator", __doc__.splitlines()[0], ChronosEmulator,
                          EmulatorServer, OPTIONS))
