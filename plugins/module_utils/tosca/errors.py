# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error type of the TOSCA intake: it names the file, node and property at fault."""

from __future__ import annotations


class ToscaError(Exception):
    """A template, an import or a parameter is wrong.

    ``source`` is the file or URL being read, ``node`` the node template and ``prop`` the
    property or input at fault, where known; ``details`` holds every fault found when there is
    more than one (tosca-parser reports them all at once).
    """

    def __init__(self, message, source=None, node=None, prop=None, details=None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.node = node
        self.prop = prop
        self.details = list(details or [])

    def __str__(self):
        where = ", ".join(
            "%s %s" % (label, value)
            for label, value in (("in", self.source), ("node", self.node), ("property", self.prop))
            if value
        )
        text = "%s (%s)" % (self.message, where) if where else self.message
        if len(self.details) > 1:
            text += "".join("\n  - %s" % detail for detail in self.details)
        return text

    def to_dict(self):
        return {
            "source": self.source,
            "node": self.node,
            "property": self.prop,
            "details": self.details,
        }
