# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OneData: where a space's data is (INDIGO's OneDataServiceImpl, Onezone REST API v3).

Each space is mapped to the oneproviders that support it, and each oneprovider to the CMDB
storage service of type ``eu.egi.cloud.storage-management.oneprovider`` whose ``endpoint`` is
the oneprovider's id, which gives the cloud provider it sits at.
"""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.sites import model
from ansible_collections.paas.orchestrator.plugins.module_utils.sites.http import segment

BASE = "/api/v3/onezone"
HEADER = "X-Auth-Token"


def user_token(client, organisation, iam_token):
    """The user's OneData token got with the IAM token, as INDIGO does: the first of
    ``GET /user/client_tokens``, else a new one from ``POST`` to the same path."""
    path = BASE + "/user/client_tokens"
    iam = client.with_headers({HEADER: "%s:%s" % (organisation, iam_token)})
    answer = iam.get(path)
    tokens = answer.get("tokens") if isinstance(answer, dict) else None
    if isinstance(tokens, list) and tokens and isinstance(tokens[0], str):
        return tokens[0]
    created = iam.request("POST", path)
    token = created.get("token") if isinstance(created, dict) else None
    if not isinstance(token, str) or not token:
        raise client.error("POST %s: the answer holds no token" % path)
    return token


def _mapping(answer, client, path, field):
    if not isinstance(answer, dict) or field not in answer:
        raise client.error("GET %s: the answer has no '%s'" % (path, field))
    return answer


def resolve(client, names, services):
    """``{space name: {"providers": [...], "oneproviders": [...]}}`` for the space ``names``.

    ``oneproviders`` lists every oneprovider supporting the space, in Onezone's order, as
    ``{id, domain, provider, service_id}`` (``provider`` and ``service_id`` are None for one that
    no CMDB storage service describes); ``providers`` the distinct cloud providers among them.
    Which of them a deployment may use (smartScheduling, requested oneproviders) is the
    ranker's business: the template says it.
    """
    by_endpoint = {}
    for entry in services.values():
        if entry["service_type"] == model.ONEPROVIDER and entry["endpoint"] is not None:
            by_endpoint.setdefault(entry["endpoint"], entry)
    path = BASE + "/user/spaces"
    listed = _mapping(client.get(path), client, path, "spaces")["spaces"]
    if not isinstance(listed, list):
        raise client.error("GET %s: 'spaces' is not a list" % path)
    details = {}
    domains = {}
    found = {}
    for name in names:
        space = None
        for space_id in listed:
            if space_id not in details:
                space_path = "%s/user/spaces/%s" % (BASE, segment(space_id))
                details[space_id] = _mapping(client.get(space_path), client, space_path,
                                             "providers")
            if details[space_id].get("name") == name:
                space = details[space_id]
                break
        if space is None:
            raise client.error("no OneData space named '%s' among the user's %d spaces"
                               % (name, len(listed)))
        oneproviders = []
        for provider_id in space["providers"] or {}:
            if provider_id not in domains:
                provider_path = "%s/providers/%s" % (BASE, segment(provider_id))
                domains[provider_id] = _mapping(client.get(provider_path), client,
                                                provider_path, "domain")["domain"]
            storage = by_endpoint.get(provider_id)
            oneproviders.append({
                "id": provider_id,
                "domain": domains[provider_id],
                "provider": storage["provider"] if storage else None,
                "service_id": storage["id"] if storage else None,
            })
        providers = []
        for oneprovider in oneproviders:
            if oneprovider["provider"] is not None and oneprovider["provider"] not in providers:
                providers.append(oneprovider["provider"])
        found[name] = {"providers": providers, "oneproviders": oneproviders}
    return found
