# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SLAM: a customer's preferences and SLAs (INDIGO's GetSlam, SlamServiceV1Impl and the local
slam.db)."""

from __future__ import annotations


from ansible_collections.paas.orchestrator.plugins.module_utils.sites.errors import (
    SourceError,
    read_json_file,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.sites.http import segment

PREFERENCES = "/preferences/{}"


def _checked(answer, where):
    # Both lists are required: another service's JSON at a wrong URL must not pass for a
    # customer without SLAs (which would leave no candidate provider at all).
    if not isinstance(answer, dict) or not isinstance(answer.get("preferences"), list) \
            or not isinstance(answer.get("sla"), list):
        raise SourceError("%s: the answer is not a SLAM preferences response "
                          "({preferences: [...], sla: [...]})" % where, source="slam")
    return {"preferences": answer["preferences"], "sla": answer["sla"]}


def fetch(client, customer):
    """``GET {url}/preferences/{customer}`` with the bearer token: INDIGO's only SLAM call."""
    path = PREFERENCES.format(segment(customer))
    try:
        answer = client.get(path)
    except SourceError as exc:
        # INDIGO fails the deployment on both; it refreshes the token once on 401 first, which
        # a caller of collect() does by calling again with a fresh token.
        if exc.status == 404:
            raise client.error("no preferences for customer '%s' (GET %s answered 404)"
                               % (customer, path), status=404) from None
        if exc.status in (401, 403):
            raise client.error("the token was refused for customer '%s' (GET %s answered %d)"
                               % (customer, path, exc.status), status=exc.status) from None
        raise
    return _checked(answer, "SLAM at %s: GET %s" % (client.shown_url, path))


def read(path, customer):
    """The customer's entry of a local slam.db (``{customer: <preferences response>}``)."""
    data = read_json_file(path, "slam", "SLAM")
    if not isinstance(data, dict):
        raise SourceError("SLAM file %s is not a {customer: preferences} map" % path,
                          source="slam", url=path)
    if customer not in data:
        raise SourceError("SLAM file %s has no preferences for customer '%s'" % (path, customer),
                          source="slam", url=path)
    return _checked(data[customer], "SLAM file %s, customer '%s'" % (path, customer))
