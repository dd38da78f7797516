# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Placement: which sites can take a deployment, best first, and why the others cannot.

``rank(topology, catalog, ...)`` is INDIGO's RankCloudProviders after the data is fetched:
PrefilterCloudProviders (``prefilter``), the CloudProviderRanker request and its algorithm
(``cpr``), then what INDIGO lacks: a data-locality bonus for batch jobs and per-user/group rules
(``rules``). Pure: the catalog (CMDB, SLAM, monitoring, OneData, our sites file) is read by the
caller. See docs/ranking.md for every rule, with examples.

With SLAM data the ranking is INDIGO's to the digit. Without it INDIGO would rank nothing; here
every compute service that passes the prefilter is ranked as if under an SLA with no targets
(weight 0, SLA score 0): by its metrics, and in the catalog's order when it has none.
"""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import (
    cpr,
    prefilter,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import rules as _rules
from ansible_collections.paas.orchestrator.plugins.module_utils.ranking.errors import (
    RankingError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.ranking.rules import RuleSet

__all__ = ["DATA_LOCALITY_BONUS", "RankingError", "RuleSet", "load_rules", "rank"]

# Added to the score of a batch site whose provider holds the job's input data: more than any
# metrics score (a few units) so that locality wins among equal SLA weights; rules can undo it.
DATA_LOCALITY_BONUS = 100.0
BATCH_KINDS = ("JOB", "CHRONOS")

load_rules = _rules.load


def _policy_services(policy, slas):
    """Service ids of the SLA the placement policy names (INDIGO's discardOnPlacementPolicies)."""
    if policy is None:
        return None
    for sla in slas:
        if sla.get("id") == policy.sla_id:
            return {service.get("service_id") for service in sla.get("services") or []}
    raise RankingError("No SLA with id %s available" % policy.sla_id, policy=policy.name)


def _monitoring(catalog, services, providers):
    """The catalog's monitoring of the providers left, with CMDB parent ids filled in (INDIGO's
    GetProvidersRank takes service_parent_id from the CMDB, not from monitoring)."""
    kept = []
    for entry in catalog.get("monitoring") or []:
        if entry.get("provider") not in providers:
            continue
        machines = []
        for machine in entry.get("services") or []:
            parent = (services.get(machine.get("service_id")) or {}).get("service_parent_id")
            if parent and machine.get("service_parent_id") is None:
                machine = dict(machine, service_parent_id=parent)
            machines.append(machine)
        kept.append({"provider": entry.get("provider"), "services": machines})
    return kept


def _preferences(slam, dropped_services, dropped_slas):
    """SLAM preferences flattened, without the priorities of discarded services (INDIGO's
    discardProvidersAndServices), and without any left pointing at an SLA removed with its
    provider. As in INDIGO, once something is removed, entries left empty go too."""
    flattened = []
    removed = False
    for customer in slam.get("preferences") or []:
        for preference in customer.get("preferences") or []:
            priority = [p for p in preference.get("priority") or []
                        if p.get("service_id") not in dropped_services
                        and p.get("sla_id") not in dropped_slas]
            removed = removed or len(priority) != len(preference.get("priority") or [])
            flattened.append({"service_type": preference.get("service_type"),
                              "priority": priority})
    if removed:
        flattened = [preference for preference in flattened if preference["priority"]]
    return flattened


def _request(catalog, services, survivors, discarded_ids, with_slam):
    """The CloudProviderRanker request INDIGO would send after this prefilter."""
    providers = {services[service_id].get("provider") for service_id in survivors}
    monitoring = _monitoring(catalog, services, providers)
    if not with_slam:
        return {"preferences": [], "sla": [], "monitoring": monitoring}
    slam = catalog.get("slam") or {}
    slas, dropped_slas = [], set()
    for sla in slam.get("sla") or []:
        if sla.get("provider") in providers:
            slas.append(sla)
        else:
            dropped_slas.add(sla.get("id"))
    dropped_services = set(discarded_ids)
    dropped_services.update(service_id for service_id, service in services.items()
                            if service.get("provider") not in providers)
    return {"preferences": _preferences(slam, dropped_services, dropped_slas), "sla": slas,
            "monitoring": monitoring}


def _entries(request, services, survivors, with_slam):
    if with_slam:
        try:
            return cpr.build_entries(request)
        except LookupError as exc:
            raise RankingError("SLAM data contradicts itself: %s" % exc) from None
    # No SLAM: each survivor stands as if under an SLA with no targets (weight 0, SLA score
    # 0), so that CPR ranks it on its metrics; the catalog's order breaks ties.
    entries = {}
    for service_id in survivors:
        service = services[service_id]
        entries[service_id] = {"service_id": service_id, "provider": service.get("provider"),
                               "serviceType": service.get("service_type"), "targets": [],
                               "slaWeight": 0.0,
                               "serviceParentId": service.get("service_parent_id")}
    return cpr.merge_monitoring(entries, request["monitoring"])


def _score_reasons(item, entry, with_slam):
    reasons = []
    if with_slam:
        reasons.append("sla weight %s (SLA %s)" % (cpr.short(item.sla_weight), entry.get("slaId")))
        reasons.append("sla score %s" % cpr.short(item.sla_score))
    else:
        reasons.append("no SLA data: sla weight 0, sla score 0")
    if item.metrics_score is not None:
        reasons.append("metrics score %s" % cpr.short(item.metrics_score))
    if item.parent_score is not None:
        reasons.append("parent %s score %s" % (item.parent_id, cpr.short(item.parent_score)))
    reasons.append("total score %s" % cpr.short(item.total_score))
    return reasons


def _unranked_reason(item):
    if item is None or item.sla_score is None:
        return ("no SLAM preference of the user's group lists it, so the CloudProviderRanker "
                "does not rank it")
    return "the CloudProviderRanker did not rank it: its total score is 0"


def _template_context(topology, context):
    data = dict(context or {})
    data["template"] = {"deployment_kind": topology.deployment_kind,
                        "node_types": list(dict.fromkeys(node.type
                                                         for node in topology.nodes.values()))}
    return data


def _prefilter(needs, catalog, issuer, creating, policy_services, spaces, with_slam):
    """(survivors {service id: (images, flavors, volume types)}, discarded entries)."""
    services = catalog.get("services") or {}
    slas = (catalog.get("slam") or {}).get("sla") or []
    covered = ({service.get("service_id") for sla in slas for service in sla.get("services") or []}
               if with_slam else None)
    by_provider = prefilter.provider_reasons(needs, catalog, spaces)
    survivors, discarded = {}, []
    for service_id, service in services.items():
        if service.get("type") != "compute":
            continue
        reasons = []
        if covered is not None and service_id not in covered:
            reasons.append("no SLA of the user's group covers it (with SLAM data only services "
                           "under an SLA are ranked, as in INDIGO)")
        reasons.extend(by_provider.get(service.get("provider"), ()))
        found, images, flavors, volumes = prefilter.check(
            needs, service_id, service, issuer, creating, policy_services)
        if reasons or found:
            discarded.append({"service_id": service_id, "provider": service.get("provider"),
                              "reasons": reasons + found})
        else:
            survivors[service_id] = (images, flavors, volumes)
    return survivors, discarded


def _candidate(item, service, entry, matched, with_slam, where, spaces):
    """A ranked entry (no rank yet) for CPR's ``item``, with the data-locality bonus."""
    images, flavors, volumes = matched
    total = cpr.short(item.total_score)
    reasons = _score_reasons(item, entry, with_slam)
    score = total
    if where:
        score += DATA_LOCALITY_BONUS
        reasons.append("data locality: %s at this provider: %+g"
                       % (", ".join(where), DATA_LOCALITY_BONUS))
    provider = service.get("provider")
    return {"service_id": item.service_id, "provider": provider, "site": service.get("site"),
            "total_score": total, "sla_weight": cpr.short(item.sla_weight), "score": score,
            "reasons": reasons, "images": images, "flavors": flavors, "volume_types": volumes,
            "onedata": {space.node: space.selected(provider) for space in spaces}}


def _apply_rules(active, candidate, service, metrics):
    """Run the active rules on one candidate: the rule that discarded it, or None."""
    view = {"service_id": candidate["service_id"], "provider": candidate["provider"],
            "site": candidate["site"], "service_type": service.get("service_type"),
            "properties": service.get("properties") or {}, "metrics": metrics or {},
            "total_score": candidate["total_score"], "sla_weight": candidate["sla_weight"],
            "region": service.get("region"), "score": candidate["score"]}
    rule, notes = _rules.apply(active, view)
    candidate["score"] = view["score"]
    candidate["reasons"].extend(notes)
    return rule


def rank(topology, catalog, rules=None, context=None, issuer=None, creating=True):
    """Rank the catalog's compute services for ``topology``; see the module docstring.

    ``rules``: a rules file path, a list or ``{"rules": [...]}`` of rules, or a RuleSet from
    ``load_rules``. ``context``: ``{user, group, use_case}`` for their ``when``. ``issuer``: the
    user's token issuer (None: no IAM check). ``creating``: False on update (INDIGO skips the
    public IP check then).

    Returns ``{"ranked": [...best first...], "discarded": [...], "request": <CPR request>}``.
    Raises RankingError only for bad input (placement policies, OneData requests, SLAM data,
    rules).
    """
    ruleset = _rules.load(rules)
    active = ruleset.active(_template_context(topology, context)) if ruleset else []
    needs = prefilter.read_needs(topology)
    services = catalog.get("services") or {}
    slam = catalog.get("slam") or {}
    with_slam = bool(slam.get("sla") or slam.get("preferences"))
    policy_services = _policy_services(needs.policy, slam.get("sla") or [])
    spaces = prefilter.resolve_spaces(needs, catalog)
    survivors, discarded = _prefilter(needs, catalog, issuer, creating, policy_services, spaces,
                                      with_slam)

    request = _request(catalog, services, survivors,
                       [entry["service_id"] for entry in discarded], with_slam)
    entries = _entries(request, services, survivors, with_slam)
    results = cpr.run(entries, rank_all=not with_slam)
    by_id = {item.service_id: item for item in results}
    for service_id in survivors:
        item = by_id.get(service_id)
        if item is None or not item.ranked:
            discarded.append({"service_id": service_id,
                              "provider": services[service_id].get("provider"),
                              "reasons": [_unranked_reason(item)]})

    locations = (prefilter.data_locations(needs, catalog, spaces) if needs.kind in BATCH_KINDS
                 else {})
    ranked = []
    for position, item in enumerate(reversed(results)):
        if not item.ranked or item.service_id not in survivors:
            continue
        service = services[item.service_id]
        entry = entries[item.service_id]
        candidate = _candidate(item, service, entry, survivors[item.service_id], with_slam,
                               locations.get(service.get("provider")), spaces)
        if active:
            rule = _apply_rules(active, candidate, service, entry.get("metrics"))
            if rule is not None:
                discarded.append({"service_id": item.service_id,
                                  "provider": candidate["provider"],
                                  "reasons": ["rule %s: discarded" % rule]})
                continue
        ranked.append((-(candidate["sla_weight"] or 0.0), -candidate["score"], position,
                       candidate))
    # CPR's order is lexicographic on (weight, score); the bonus and rules move sites within
    # a weight, never across weights. Equal ones keep CPR's order.
    ranked.sort(key=lambda row: row[:3])
    best_first = []
    for number, row in enumerate(ranked, 1):
        candidate = row[3]
        candidate["score"] = round(candidate["score"], 6)
        best_first.append(dict(rank=number, **candidate))
    return {"ranked": best_first, "discarded": discarded, "request": request}
