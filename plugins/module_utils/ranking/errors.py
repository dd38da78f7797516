# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error of placement: the input itself is wrong (never "no site fits")."""

from __future__ import annotations


class RankingError(Exception):
    """Bad input to ``rank()``: a placement policy INDIGO refuses, an SLA id SLAM does not know,
    SLAM data that contradicts itself, or a rules file that does not parse.

    ``rule`` names the placement rule at fault and ``policy`` the TOSCA policy, where known.
    """

    def __init__(self, message, rule=None, policy=None):
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.policy = policy
