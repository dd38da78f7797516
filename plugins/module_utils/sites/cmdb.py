# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CMDB v1: the REST service (INDIGO's CmdbServiceV1Impl) or its local JSON file (cmdb.db).

Both backends answer the same questions; ``load`` asks them in the order of INDIGO's
``AbstractCmdbServiceImpl.fillCloudProviderInfo`` (GetCmdbDataDeploy).
"""

from __future__ import annotations

import copy

from ansible_collections.paas.orchestrator.plugins.module_utils.sites import model
from ansible_collections.paas.orchestrator.plugins.module_utils.sites.errors import (
    SourceError,
    read_json_file,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.sites.http import segment

DOCS = "?include_docs=true"
# INDIGO's CmdbProperties paths. /provider/list is the one INDIGO never calls: it is what
# "every service of every provider" (no SLAM source) needs.
PROVIDER = "/provider/id/{}" + DOCS
PROVIDER_LIST = "/provider/list" + DOCS
SERVICES_OF_PROVIDER = "/provider/id/{}/has_many/services" + DOCS
TENANTS_OF_SERVICE = "/service/id/{}/has_many/tenants" + DOCS
TENANT_LIST = "/tenant/list" + DOCS
IMAGES_OF_TENANT = "/tenant/id/{}/has_many/images" + DOCS
FLAVORS_OF_TENANT = "/tenant/id/{}/has_many/flavors" + DOCS


class CmdbRest:
    """CMDB v1 over REST: ``{"_id", "data"}`` documents and ``{"rows": [{"id", "doc"}]}`` lists."""

    def __init__(self, client):
        self.client = client
        self.where = client.shown_url
        self._tenant_list = None

    def _unwrap(self, document, path):
        # INDIGO's CmdbDataWrapper: the document's _id becomes the object's id.
        if not isinstance(document, dict) or not isinstance(document.get("data"), dict) \
                or "_id" not in document:
            raise self.client.error("GET %s: the answer is not a CMDB document" % path)
        data = copy.deepcopy(document["data"])
        data["id"] = document["_id"]
        return data

    def _one(self, template, key):
        path = template.format(segment(key))
        return self._unwrap(self.client.get(path), path)

    def _all(self, template, key=None):
        path = template.format(segment(key)) if key is not None else template
        answer = self.client.get(path)
        rows = answer.get("rows") if isinstance(answer, dict) else None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise self.client.error("GET %s: the answer is not a CMDB list" % path)
        return [self._unwrap(row.get("doc"), path) for row in rows]

    def provider(self, provider_id):
        try:
            data = self._one(PROVIDER, provider_id)
        except SourceError as exc:
            if exc.status == 404:
                return None
            raise
        return {"id": data["id"], "name": data.get("name") or data["id"]}

    def provider_ids(self):
        return [data["id"] for data in self._all(PROVIDER_LIST)]

    def services(self, provider_id):
        return self._all(SERVICES_OF_PROVIDER, provider_id)

    def tenants_of_service(self, service_id):
        return self._all(TENANTS_OF_SERVICE, service_id)

    def tenants_of_organisation(self, organisation):
        # INDIGO lists every tenant and filters here: organisation names may hold a slash
        # (kube/users), which the by-organisation path cannot carry.
        if self._tenant_list is None:
            self._tenant_list = self._all(TENANT_LIST)
        return [tenant for tenant in self._tenant_list
                if tenant.get("iam_organisation") == organisation]

    def images(self, tenant_id):
        return self._all(IMAGES_OF_TENANT, tenant_id)

    def flavors(self, tenant_id):
        return self._all(FLAVORS_OF_TENANT, tenant_id)


class CmdbFile:
    """INDIGO's local CMDB (``cmdb.service-version=local``): one JSON document,
    ``{"providers": [{id, name, services: {id: service}}], "tenants": {id: {tenant, images,
    flavors}}}``."""

    def __init__(self, path):
        self.where = "file %s" % path
        data = read_json_file(path, "cmdb", "CMDB")
        if not isinstance(data, dict) or not isinstance(data.get("providers", []), list) \
                or not isinstance(data.get("tenants", {}), dict):
            raise SourceError("CMDB file %s is not in INDIGO's local CMDB format "
                              "({providers: [...], tenants: {...}})" % path,
                              source="cmdb", url=path)
        self.path = path
        self._providers = {}
        for position, provider in enumerate(data.get("providers", []), 1):
            if not isinstance(provider, dict) or not provider.get("id") \
                    or not isinstance(provider.get("services", {}), dict):
                raise SourceError("CMDB file %s: providers[%d] has no id or a bad services map"
                                  % (path, position), source="cmdb", url=path)
            self._providers[provider["id"]] = provider
        self._tenants = []
        for tenant_id, holder in data.get("tenants", {}).items():
            if not isinstance(holder, dict) or not isinstance(holder.get("tenant"), dict):
                raise SourceError("CMDB file %s: tenant '%s' has no tenant record"
                                  % (path, tenant_id), source="cmdb", url=path)
            tenant = dict(holder["tenant"], id=tenant_id)
            self._tenants.append((tenant, holder.get("images") or [], holder.get("flavors") or []))

    def provider(self, provider_id):
        provider = self._providers.get(provider_id)
        if provider is None:
            return None
        return {"id": provider["id"], "name": provider.get("name") or provider["id"]}

    def provider_ids(self):
        return list(self._providers)

    def services(self, provider_id):
        found = []
        for service_id, data in self._providers[provider_id].get("services", {}).items():
            if not isinstance(data, dict):
                raise SourceError("CMDB file %s: service '%s' is not a mapping"
                                  % (self.path, service_id), source="cmdb", url=self.path)
            found.append(dict(copy.deepcopy(data), id=data.get("id") or service_id))
        return found

    def tenants_of_service(self, service_id):
        return [tenant for tenant, _images, _flavors in self._tenants
                if tenant.get("service") == service_id]

    def tenants_of_organisation(self, organisation):
        return [tenant for tenant, _images, _flavors in self._tenants
                if tenant.get("iam_organisation") == organisation]

    def _of_tenant(self, tenant_id, which):
        for tenant, images, flavors in self._tenants:
            if tenant["id"] == tenant_id:
                return copy.deepcopy(images if which == "images" else flavors)
        return []

    def images(self, tenant_id):
        return self._of_tenant(tenant_id, "images")

    def flavors(self, tenant_id):
        return self._of_tenant(tenant_id, "flavors")


def _pick_tenant(backend, service_id, organisation):
    """INDIGO §2.3 step 2: the service's tenants that are also the organisation's, first one.

    Without an organisation there is nothing to intersect with: the service's first tenant.
    """
    tenants = backend.tenants_of_service(service_id)
    if organisation is not None:
        allowed = {tenant["id"] for tenant in backend.tenants_of_organisation(organisation)}
        tenants = [tenant for tenant in tenants if tenant["id"] in allowed]
    return tenants[0] if tenants else None


def load(backend, organisation=None, provider_ids=None, sla_services=None, optional=()):
    """The providers and services of the CMDB, as catalog entries (sites not set yet).

    ``provider_ids`` None means every provider; otherwise those (the SLA providers), keeping of
    each only the services in ``sla_services`` and all its storage services. A provider the CMDB
    does not know is an error, as in INDIGO, unless it is in ``optional`` (the sites file
    declares it).
    """
    providers = {}
    services = {}
    for provider_id in backend.provider_ids() if provider_ids is None else provider_ids:
        provider = backend.provider(provider_id)
        if provider is None:
            if provider_id in optional:
                continue
            raise SourceError("CMDB at %s has no provider '%s' (named by an SLA)"
                              % (backend.where, provider_id), source="cmdb")
        providers[provider_id] = provider
        for data in backend.services(provider_id):
            entry = model.service(data["id"], data.get("provider_id") or provider_id, data)
            if sla_services is not None and entry["id"] not in sla_services \
                    and entry["type"] != "storage":
                continue
            if entry["type"] == "compute":
                chosen = _pick_tenant(backend, entry["id"], organisation)
                if chosen is not None:
                    entry["tenant"] = model.tenant(chosen)
                    entry["images"] = backend.images(chosen["id"])
                    entry["flavors"] = backend.flavors(chosen["id"])
            services[entry["id"]] = entry
    return providers, services
