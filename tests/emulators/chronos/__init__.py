# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Chronos REST emulator that runs each job's command on this host; see README.md beside it."""

from __future__ import annotations

from .scheduler import DEFAULT_KNOBS, ChronosEmulator, ChronosError
from .server import EmulatorServer

__all__ = ["DEFAULT_KNOBS", "ChronosEmulator", "ChronosError", "EmulatorServer"]
