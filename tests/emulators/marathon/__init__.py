# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Marathon 1.6 REST emulator for tests of the Marathon driver; see README.md beside it."""

from __future__ import annotations

from .cluster import DEFAULT_KNOBS, MarathonEmulator, MarathonError
from .server import EmulatorServer

__all__ = ["DEFAULT_KNOBS", "EmulatorServer", "MarathonEmulator", "MarathonError"]
