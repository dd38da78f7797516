# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Placement sources: where a deployment may go and what is known about each place.

``collect(sources, ...)`` reads our sites file and INDIGO's services (CMDB v1, SLAM, the Zabbix
monitoring wrapper, Onezone) and returns one JSON-able catalog: providers, services (each with
its site when a driver can deploy on it), the SLAM preferences and SLAs, the ranker's monitoring
list and the OneData space locations. See docs/sites.md.
"""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.sites.catalog import collect
from ansible_collections.paas.orchestrator.plugins.module_utils.sites.errors import (
    SourceError,
    SourceUnreachable,
)

__all__ = ["collect", "SourceError", "SourceUnreachable"]
