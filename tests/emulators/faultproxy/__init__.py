# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fault-injecting HTTP reverse proxy for tests; see README.md beside this file."""

from __future__ import annotations

from .proxy import ADMIN_PATH, KINDS, FaultProxy, Faults

__all__ = ["ADMIN_PATH", "KINDS", "FaultProxy", "Faults"]
