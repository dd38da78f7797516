# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a deployment goes when the user does not pin its sites: collect the catalog from the
sources, rank it, and turn the ranking into the ordered site list the engine tries."""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.registry import available
from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import rank
from ansible_collections.paas.orchestrator.plugins.module_utils.sites import collect

SERVICE_SPACE = "INDIGO Service Space"


class Placement:
    """What the user said about placement: the sources, rules and who is asking."""

    def __init__(self, sources, rules=None, user=None, group=None, use_case=None, issuer=None,
                 organisation=None, token=None, on_unreachable="error"):
        self.sources = sources or {}
        self.rules = rules
        self.context = {"user": user, "group": group, "use_case": use_case}
        self.issuer = issuer
        self.customer = group
        self.organisation = organisation
        self.token = token
        self.on_unreachable = on_unreachable


def catalog_sites(placement):
    """Every site the sources describe, by name (for deleting what a deployment left on them:
    the store keeps no secrets, the sources still have them)."""
    catalog = collect(placement.sources, customer=placement.customer,
                      organisation=placement.organisation, token=placement.token,
                      on_unreachable=placement.on_unreachable)
    return {service["site"]["name"]: dict(service["site"], tenant=service.get("tenant"))
            for service in catalog["services"].values() if service.get("site")}


def spaces_of(topology):
    """The OneData space names the template reads, whose location the catalog must know."""
    names = []
    for node in topology.nodes.values():
        if node.is_a("tosca.nodes.indigo.OnedataServiceSpace"):
            names.append(SERVICE_SPACE)
        elif node.is_a("tosca.nodes.indigo.OnedataSpace") and node.properties.get("space"):
            names.append(node.properties["space"])
    return tuple(dict.fromkeys(names))


def place(topology, placement, creating=True):
    """Rank the sites for ``topology``. Returns ``(ranking, warnings)``: ``ranking`` has
    ``ranked`` (best first; each with the ``site`` to deploy on) and ``discarded`` (each with
    its reasons); a ranked service no driver can deploy on yet is moved to ``discarded``."""
    catalog = collect(placement.sources, customer=placement.customer,
                      organisation=placement.organisation, token=placement.token,
                      on_unreachable=placement.on_unreachable, spaces=spaces_of(topology))
    warnings = ["%s (%s): %s" % (error.get("source"), error.get("url") or error.get("provider"),
                                 error["error"])
                for error in catalog.get("errors") or () if error.get("error")]
    result = rank(topology, catalog, rules=placement.rules, context=placement.context,
                  issuer=placement.issuer, creating=creating)
    ranked, discarded = [], list(result["discarded"])
    for entry in result["ranked"]:
        site = entry.get("site")
        if site is None or site.get("type") not in available():
            discarded.append({"service_id": entry["service_id"], "provider": entry["provider"],
                              "reasons": ["no driver deploys on %s services yet"
                                          % ((site or {}).get("type") or "these")]})
            continue
        # the VM specs need the tenant's network names, which the site itself leaves out
        tenant = (catalog["services"].get(entry["service_id"]) or {}).get("tenant")
        ranked.append(dict(entry, rank=len(ranked) + 1, site=dict(site, tenant=tenant)))
    return {"ranked": ranked, "discarded": discarded}, warnings


def sites_of(ranking):
    """The site definitions to try, best first, with what the ranker matched for each node
    (images, flavors, volume types) for the drivers that create VMs."""
    return [dict(entry["site"], placement={key: entry.get(key) or {} for key in
                                           ("images", "flavors", "volume_types", "onedata")})
            for entry in ranking["ranked"]]


def summary(ranking):
    """The ranking as deployment_info and the site_rank lookup show it."""
    return {
        "ranked": [{"rank": entry["rank"], "site": entry["site"]["name"],
                    "service_id": entry["service_id"], "provider": entry["provider"],
                    "score": entry.get("score"), "sla_weight": entry.get("sla_weight"),
                    "reasons": entry.get("reasons") or []} for entry in ranking["ranked"]],
        "discarded": [{"service_id": entry["service_id"], "provider": entry.get("provider"),
                       "reasons": entry["reasons"]} for entry in ranking["discarded"]],
    }
