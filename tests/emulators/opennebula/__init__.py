# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An OpenNebula 6.x XML-RPC emulator for tests of pyone clients; see README.md beside it."""

from __future__ import annotations

from .cloud import DEFAULT_KNOBS, OneError, OpenNebulaEmulator
from .inventory import default_inventory
from .server import EmulatorServer

__all__ = ["DEFAULT_KNOBS", "EmulatorServer", "OneError", "OpenNebulaEmulator",
           "default_inventory"]
