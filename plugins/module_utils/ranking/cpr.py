# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CloudProviderRanker (indigo-dc/CloudProviderRanker ≥ 2019, spec §4.4), in-process.

``rank_request(request)`` answers a CPR ``POST /rank`` body with CPR's response;
``build_entries`` is its RankController (request -> services by id) and ``run`` its RankService
with the SlaScore/MetricsScore Drools rules. The Java code computes in ``float`` (32 bits) and
Jackson prints those floats in their shortest form: both are reproduced, so the scores match
CPR's own to the last digit (``227.16348``, where doubles would give ``227.16347``).

One thing is not reproduced: Java sorts services that tie on (weight, score) in ``HashMap``
order, which is effectively arbitrary. Here the service given first wins the tie.
"""

from __future__ import annotations

import math
import struct

OPENSTACK = "org.openstack.nova"
MARATHON = "eu.indigo-datacloud.marathon"
CHRONOS = "eu.indigo-datacloud.chronos"
MESOS = "eu.indigo-datacloud.mesos"
_PROBED = (OPENSTACK, MARATHON, CHRONOS)  # services scored on the create/run/delete probes

_F32 = struct.Struct("<f")
_RESTRICTIONS = ("total_guaranteed", "total_limit", "user_guaranteed", "user_limit",
                 "instance_guaranteed", "instance_limit")
_PROBES = (("create_result", "create_responseTime", 100),
           ("run_result", "run_responseTime", 100),
           ("delete_result", "delete_responseTime", 10))
_MESOS = (("master.cpu_total", "master.cpu_used", 1),
          ("master.gpu_total", "master.gpu_used", 1),
          ("master.mem_total", "master.mem_used", 1024))


def f32(value):
    """``value`` rounded to a Java float (what every CPR score is)."""
    try:
        return _F32.unpack(_F32.pack(value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


_NF = {"computing_time": f32(0.0166), "public_ip": 1.0}


def short(value):
    """A float32 printed as Java/Jackson print it: the fewest digits that read back the same."""
    if value is None or not math.isfinite(value):
        return value
    # A float32 needs at most 9 significant digits; "%.6g" already gives any shorter form
    # (its trailing zeros dropped), since 6 digits are far coarser than a float32's precision.
    for digits in (6, 7, 8, 9):
        shortest = float("%.*g" % (digits, value))
        if f32(shortest) == value:
            return shortest
    return value


def sla_score(targets):
    """SlaScoreRule: Σ nf(type) × the six restrictions; nf sticks from the previous target for
    any type but computing_time (0.0166) and public_ip (1.0). A malformed target stops the sum,
    keeping what was added so far (the rule catches its own NullPointerException)."""
    score = 0.0
    factor = 1.0
    for target in targets:
        kind = target.get("type")
        restrictions = target.get("restrictions")
        if kind is None or restrictions is None:
            return score
        factor = _NF.get(kind, factor)
        total = 0.0
        for key in _RESTRICTIONS:
            value = restrictions.get(key, 0.0)
            if value is None:
                return score
            total = f32(total + f32(value))
        score = f32(score + f32(factor * total))
    return score


def metrics_score(service_type, metrics):
    """MetricsScoreRule, or None for a type it has no rule for."""
    if service_type in _PROBED:
        score = 0.0
        for result_key, time_key, factor in _PROBES:
            result = metrics.get(result_key)
            if result is None:
                return score  # a missing metric ends the sum (NullPointerException in the rule)
            if f32(result) == 1:
                response_time = metrics.get(time_key)
                if response_time is None:
                    return score
                response_time = f32(response_time)
                if response_time != 0:
                    score = f32(score + 1.0 / response_time * factor)
        return score
    if service_type == MESOS:
        score = 0.0
        for total_key, used_key, divisor in _MESOS:
            total, used = metrics.get(total_key), metrics.get(used_key)
            if total is not None and used is not None:
                free = f32(f32(total) - f32(used))
                score = f32(score + f32(free / divisor))
        return score
    return None


def merge_monitoring(entries, monitoring):
    """RankController's second loop: each monitored service gets its metrics, type and parent;
    one not in ``entries`` yet is added with no SLA (and so can never be ranked)."""
    for provider in monitoring:
        for service in provider.get("services") or []:
            service_id = service.get("service_id")
            metrics = {metric.get("metricName"): metric.get("metricValue")
                       for metric in service.get("metrics") or []
                       if metric.get("metricValue") is not None}
            entry = entries.get(service_id)
            if entry is None:
                entries[service_id] = {"service_id": service_id,
                                       "provider": provider.get("provider"),
                                       "serviceType": service.get("type"),
                                       "serviceParentId": service.get("service_parent_id"),
                                       "metrics": metrics}
            else:
                entry["provider"] = provider.get("provider")
                entry["metrics"] = metrics
                entry["serviceType"] = service.get("type")
                entry["serviceParentId"] = service.get("service_parent_id")
    return entries


def build_entries(request):
    """RankController: service id -> entry (the shape of CPR's ``rs-input.json``).

    A priority naming an SLA or a service the request does not hold is an error, as in CPR
    (where it is a NullPointerException): ``LookupError`` naming the ids.
    """
    slas = {}
    for sla in request.get("sla") or []:
        slas.setdefault(sla.get("id"), sla)
    entries = {}
    for preference in request.get("preferences") or []:
        for priority in preference.get("priority") or []:
            sla_id, service_id = priority.get("sla_id"), priority.get("service_id")
            sla = slas.get(sla_id)
            if sla is None:
                raise LookupError("a preference names SLA %s, which is not in the request"
                                  % sla_id)
            service = next((s for s in sla.get("services") or []
                            if s.get("service_id") == service_id), None)
            if service is None:
                raise LookupError("SLA %s does not cover service %s, which a preference names"
                                  % (sla_id, service_id))
            weight = priority.get("weight")
            entries[service_id] = {"service_id": service_id, "slaId": sla_id,
                                   "serviceType": preference.get("service_type"),
                                   "provider": sla.get("provider"),
                                   "targets": service.get("targets") or [],
                                   "slaWeight": None if weight is None else f32(weight)}
    return merge_monitoring(entries, request.get("monitoring") or [])


class Ranked:
    """One service as RankService leaves it: its scores, and its rank (-1: not ranked)."""

    __slots__ = ("service_id", "provider", "sla_weight", "sla_score", "metrics_score",
                 "parent_id", "parent_score", "total_score", "rank", "ranked")

    def to_response(self):
        """The CPR response item, numbers as CPR prints them."""
        return {"provider": self.provider, "rank": self.rank, "ranked": self.ranked,
                "service_id": self.service_id, "sla_weight": short(self.sla_weight),
                "total_score": short(self.total_score)}


def run(entries, rank_all=False):
    """RankService: score every entry and rank them; the result in CPR's order (ascending, the
    best service last, with rank 1).

    ``ranked`` is CPR's ``total_score != 0 and slaScore is not None``; with ``rank_all`` a
    zero total is ranked too (see ranking's no-SLAM mode).
    """
    services = []
    for entry in entries.values():
        item = Ranked()
        item.service_id = entry.get("service_id")
        item.provider = entry.get("provider")
        weight = entry.get("slaWeight")
        item.sla_weight = None if weight is None else f32(weight)
        targets = entry.get("targets")
        item.sla_score = None if targets is None else sla_score(targets)
        metrics = entry.get("metrics")
        item.metrics_score = (None if metrics is None
                              else metrics_score(entry.get("serviceType"), metrics))
        item.parent_id = entry.get("serviceParentId")
        services.append(item)
    by_id = {item.service_id: item for item in services}
    not_ranked = 0
    for item in services:
        total = f32((item.sla_score or 0.0) + (item.metrics_score or 0.0))
        parent = by_id.get(item.parent_id) if item.parent_id is not None else None
        item.parent_score = None
        if parent is not None:
            # a Mesos master's free capacity counts for its Marathon/Chronos frameworks
            item.parent_score = f32((parent.sla_score or 0.0) + (parent.metrics_score or 0.0))
            total = f32(total + item.parent_score)
        item.total_score = total
        item.ranked = item.sla_score is not None and (rank_all or total != 0)
        not_ranked += not item.ranked
    # Java's sort is stable over HashMap order; here, of two ranked services that tie, the one
    # given first gets the better rank, and unranked ones keep the order given.
    order = sorted(range(len(services)),
                   key=lambda i: (services[i].sla_weight or 0.0, services[i].total_score,
                                  -i if services[i].ranked else i))
    rank = len(services) - not_ranked
    result = []
    for index in order:
        item = services[index]
        if item.ranked:
            item.rank = rank
            rank -= 1
        else:
            item.rank = -1
        result.append(item)
    return result


def rank_request(request):
    """CPR's ``POST /rank``: request body -> response body."""
    return [item.to_response() for item in run(build_entries(request))]
