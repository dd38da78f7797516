# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Monitoring: the Zabbix wrapper's metrics per provider (INDIGO's GetMonitoringData), in the
CloudProviderRanker request's ``monitoring`` shape."""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.sites.errors import (
    SourceError,
    SourceUnreachable,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.sites.http import segment

GROUP = "/monitoring/adapters/zabbix/zones/indigo/types/infrastructure/groups/{}"


def ranker_services(group, services):
    """A wrapper group's paasMachines as ranker services: ``service_id`` = machineName,
    ``type`` = serviceCategory, the metrics of all the machine's services, and the CMDB parent
    (``service_parent_id``) when the catalog knows one."""
    entries = []
    for machine in group.get("paasMachines") or ():
        service_id = machine.get("machineName")
        entry = {"service_id": service_id}
        parent = (services.get(service_id) or {}).get("service_parent_id")
        if parent is not None:
            entry["service_parent_id"] = parent
        entry["type"] = machine.get("serviceCategory")
        entry["metrics"] = [metric for part in machine.get("services") or ()
                            for metric in part.get("paasMetrics") or ()]
        entries.append(entry)
    return entries


def _first_group(answer):
    result = answer.get("result") if isinstance(answer, dict) else None
    groups = result.get("groups") if isinstance(result, dict) else None
    return groups[0] if isinstance(groups, list) and groups and isinstance(groups[0], dict) \
        else None


def fetch(client, provider_ids, services, errors):
    """The ranker's ``monitoring`` list for ``provider_ids``.

    As in INDIGO, a provider whose metrics cannot be had (an HTTP error, no group) is skipped:
    it is recorded in ``errors`` and the others are still asked. A monitoring service that
    cannot be reached at all raises SourceUnreachable at once (the caller's on_unreachable
    policy decides), rather than timing out once per provider.
    """
    monitoring = []
    for provider_id in provider_ids:
        path = GROUP.format(segment(provider_id))
        try:
            group = _first_group(client.get(path))
        except SourceUnreachable:
            raise
        except SourceError as exc:
            errors.append({"source": "monitoring", "provider": provider_id, "error": str(exc)})
            continue
        if group is None:
            # INDIGO's MonitoringServiceImpl words it so.
            errors.append({"source": "monitoring", "provider": provider_id,
                           "error": "%s at %s: no metrics available for provider <%s> (GET %s "
                                    "has no group)" % (client.label, client.shown_url,
                                                       provider_id, path)})
            continue
        monitoring.append({"provider": provider_id,
                           "services": ranker_services(group, services)})
    return monitoring
