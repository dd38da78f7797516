# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``collect``: one catalog from the placement sources, in the order of INDIGO's
RankCloudProviders (GetSlam -> GetCmdbDataDeploy -> GetOneDataData, GetMonitoringData)."""

from __future__ import annotations

import copy
import logging

from ansible_collections.paas.orchestrator.plugins.module_utils.sites import (
    cmdb,
    model,
    monitoring,
    onedata,
    sitesfile,
    slam,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.sites.errors import (
    SourceError,
    SourceUnreachable,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.sites.http import (
    DEFAULT_TIMEOUT,
    RestSource,
    requests,
)

LOG = logging.getLogger(__name__)
LOG.addHandler(logging.NullHandler())

POLICIES = ("error", "warn", "skip")
REST_KEYS = ("url", "timeout", "verify", "token")
SOURCE_KEYS = {
    "cmdb": REST_KEYS + ("file",),
    "slam": REST_KEYS + ("file",),
    "monitoring": REST_KEYS,
    "onezone": REST_KEYS,
}
LABELS = {"cmdb": "CMDB", "slam": "SLAM", "monitoring": "monitoring", "onezone": "Onezone"}
SITES_FILE_PREFERENCES_ID = "sites-file"
# Sites-file fields copied over a service as they are (the rest need shaping).
OVERLAY_FIELDS = model.PLAIN_FIELDS + tuple(model.DEFAULTS) + ("service_type", "provider",
                                                               "images", "flavors")


def _check_sources(sources, on_unreachable, spaces):
    if not isinstance(sources, dict):
        raise SourceError("sources must be a mapping of source name -> settings")
    known = ("sites_file",) + tuple(SOURCE_KEYS)
    for name, config in sources.items():
        if name not in known:
            raise SourceError("unknown source %r (known: %s)" % (name, ", ".join(known)))
        if name == "sites_file":
            if not isinstance(config, str) or not config:
                raise SourceError("sources.sites_file must be a file path", source=name)
            continue
        label = "sources.%s" % name
        if not isinstance(config, dict):
            raise SourceError("%s must be a mapping" % label, source=name)
        unknown = sorted(str(key) for key in config if key not in SOURCE_KEYS[name])
        if unknown:
            raise SourceError("%s: unknown key%s %s (known: %s)"
                              % (label, "s" if len(unknown) > 1 else "", ", ".join(unknown),
                                 ", ".join(SOURCE_KEYS[name])), source=name)
        if ("url" in config) == ("file" in config):
            raise SourceError("%s needs %s" % (label, "either url or file"
                                               if "file" in SOURCE_KEYS[name] else "url"),
                              source=name)
        timeout = config.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise SourceError("%s.timeout must be a positive number of seconds" % label,
                              source=name)
        if not isinstance(config.get("verify", True), (bool, str)):
            raise SourceError("%s.verify must be true, false or a CA bundle path" % label,
                              source=name)
    if on_unreachable not in POLICIES:
        raise SourceError("on_unreachable must be one of %s, not %r"
                          % (", ".join(POLICIES), on_unreachable))
    if isinstance(spaces, str) or not all(isinstance(space, str) and space for space in spaces):
        raise SourceError("spaces must be a list of OneData space names")


class _Collector:
    """The REST clients (one shared session) and the on_unreachable policy of one collect()."""

    def __init__(self, sources, token, on_unreachable):
        self.sources = sources
        self.token = token
        self.policy = on_unreachable
        self.errors = []
        self.session = None

    def rest(self, name, headers=None):
        config = self.sources[name]
        if headers is None:
            token = config.get("token") or self.token
            headers = {"Authorization": "Bearer %s" % token} if token else {}
        if self.session is None and requests is not None:
            self.session = requests.Session()
        return RestSource(name, LABELS[name], config["url"], headers,
                          timeout=config.get("timeout", DEFAULT_TIMEOUT),
                          verify=config.get("verify", True), session=self.session)

    def guarded(self, name, call):
        """``call()``, or None when its source is unreachable and the policy goes on."""
        try:
            return call()
        except SourceUnreachable as exc:
            if self.policy == "error":
                raise
            entry = {"source": name, "url": exc.url}
            if self.policy == "warn":
                entry["error"] = str(exc)
                LOG.warning("%s; going on without it", exc)
            else:
                entry["skipped"] = True
            self.errors.append(entry)
            return None

    def close(self):
        if self.session is not None:
            self.session.close()


def _slam_view(answer, sites, customer):
    """The SLAM response with the sites file's SLAs and preferences added (the file wins on an
    SLA id both have); None when there is neither."""
    file_slas = sites.slas if sites else None
    file_preferences = sites.preferences if sites else []
    if answer is None and file_slas is None and not file_preferences:
        return None
    preferences = copy.deepcopy(answer["preferences"]) if answer else []
    slas = copy.deepcopy(answer["sla"]) if answer else []
    position = {sla.get("id"): index for index, sla in enumerate(slas)
                if isinstance(sla, dict)}
    for sla in copy.deepcopy(file_slas or []):
        if sla["customer"] is None:
            sla["customer"] = customer
        if sla["id"] in position:
            slas[position[sla["id"]]] = sla
        else:
            slas.append(sla)
    if file_preferences:
        preferences.append({"customer": customer, "preferences": copy.deepcopy(file_preferences),
                            "id": SITES_FILE_PREFERENCES_ID})
    return {"preferences": preferences, "sla": slas}


def _sla_scope(view):
    """INDIGO §2.3 step 2: the SLA providers (in order) and the services the SLAs name."""
    providers = []
    services = set()
    for sla in view["sla"]:
        if not isinstance(sla, dict):
            continue
        if sla.get("provider") is not None and sla["provider"] not in providers:
            providers.append(sla["provider"])
        for service in sla.get("services") or ():
            if isinstance(service, dict) and service.get("service_id") is not None:
                services.add(service["service_id"])
    return providers, services


def _overlay(base, entry):
    """``base`` (a CMDB service, or a blank one) with the sites-file ``entry`` on top."""
    merged = copy.deepcopy(base)
    for field in OVERLAY_FIELDS:
        if field in entry:
            merged[field] = copy.deepcopy(entry[field])
    if "category" in entry:
        merged["type"] = entry["category"]
    if "supported_idps" in entry:
        merged["supported_idps"] = model.supported_idps(entry["supported_idps"])
    if "volume_types" in entry:
        merged["volume_types"] = model.volume_types(entry["volume_types"])
    # Mappings are merged key by key; lists (images, flavors, idps...) are replaced.
    if "properties" in entry:
        merged["properties"] = dict(merged["properties"], **copy.deepcopy(entry["properties"]))
    if "tenant" in entry:
        merged["tenant"] = model.tenant(dict(merged["tenant"] or {}, **entry["tenant"]))
    return merged


def _add_sites(sites, providers, services, cmdb_missing):
    """Merge the sites file's providers and sites into the catalog (the file wins)."""
    for provider_id, provider in sites.providers.items():
        providers[provider_id] = dict(provider)
    cmdb_ids = set(services)
    for position, entry in enumerate(sites.sites, 1):
        where = "sites[%d] (%s)" % (position, entry["name"])
        base = services.get(entry["id"])
        if base is None:
            if "type" not in entry and "service_type" not in entry:
                if cmdb_missing:
                    continue  # overrides a CMDB service we could not read: already reported
                raise sites.fail(where, "has no type or service_type, and no CMDB service has "
                                        "the id %r" % entry["id"])
            service_type = entry.get("service_type") or model.DEFAULT_SERVICE_TYPES[entry["type"]]
            base = model.service(entry["id"], entry.get("provider") or entry["name"],
                                 {"service_type": service_type})
        merged = _overlay(base, entry)
        if entry["name"] in cmdb_ids and entry["name"] != entry["id"]:
            raise sites.fail(where, "the site name %r is the id of another CMDB service"
                             % entry["name"])
        merged["site"] = model.site(merged, entry["name"], entry.get("type"),
                                    entry.get("settings"))
        services[entry["id"]] = merged
        providers.setdefault(merged["provider"], {"id": merged["provider"],
                                                  "name": merged["provider"]})


def _check_references(sites, providers, services):
    """What the sites file says about services it does not declare must name catalog ones."""
    for position, sla in enumerate(sites.slas or (), 1):
        if sla["provider"] not in providers:
            raise sites.fail("slas[%d]" % position, "provider %r is neither declared nor in "
                                                    "the CMDB" % sla["provider"])
        for service in sla["services"]:
            if service["service_id"] not in services:
                raise sites.fail("slas[%d]" % position, "service %r is neither a site nor a "
                                 "CMDB service" % service["service_id"])
    for service_id in sites.metrics:
        if service_id not in services:
            raise sites.fail("metrics.%s" % service_id, "is neither a site nor a CMDB service")
    for name, space in sites.onedata.items():
        for provider_id in space["providers"]:
            if provider_id not in providers:
                raise sites.fail("data.onedata.%s" % name, "provider %r is neither declared "
                                 "nor in the CMDB" % provider_id)
    for url, holders in (sites.dynafed or {}).items():
        for provider_id in holders:
            if provider_id not in providers:
                raise sites.fail("data.dynafed.%s" % url, "provider %r is neither declared "
                                 "nor in the CMDB" % provider_id)


def _metric(provider_id, service_id, name, metric):
    # A PaaSMetric as the Zabbix wrapper returns it; the file gives no time or history.
    return {"metricName": name, "metricKey": "%s.%s.%s" % (provider_id, service_id, name),
            "metricValue": metric["value"], "metricTime": None, "metricUnit": metric["unit"],
            "paasThresholds": [], "historyClocks": [], "historyValues": []}


def _add_metrics(entries, metrics, services):
    """The sites file's metrics merged into the ranker's monitoring list (the file wins on a
    metric name both have)."""
    for service_id, values in metrics.items():
        service = services.get(service_id)
        if service is None:
            continue
        provider_id = service["provider"]
        block = next((item for item in entries if item["provider"] == provider_id), None)
        if block is None:
            block = {"provider": provider_id, "services": []}
            entries.append(block)
        target = next((item for item in block["services"]
                       if item["service_id"] == service_id), None)
        if target is None:
            target = {"service_id": service_id}
            if service["service_parent_id"] is not None:
                target["service_parent_id"] = service["service_parent_id"]
            target["type"] = service["service_type"]
            target["metrics"] = []
            block["services"].append(target)
        for name, metric in values.items():
            new = _metric(provider_id, service_id, name, metric)
            target["metrics"] = [item for item in target["metrics"]
                                 if item.get("metricName") != name] + [new]
    return entries


def _monitored(providers, services):
    # INDIGO asks no metrics for a public cloud (a provider with an is_public_service compute
    # service): the wrapper has none for it.
    public = {entry["provider"] for entry in services.values()
              if entry["type"] == "compute" and entry["is_public_service"]}
    return [provider_id for provider_id in providers if provider_id not in public]


def collect(sources, customer=None, organisation=None, token=None, on_unreachable="error",
            spaces=()):
    """The catalog the ranker and the engine place deployments with (see docs/sites.md).

    ``sources`` maps ``sites_file``, ``cmdb``, ``slam``, ``monitoring`` and ``onezone`` to their
    settings. ``customer`` is the SLAM customer (INDIGO: the deployment's user group), which
    defaults to ``organisation``, the IAM organisation whose tenants are used. ``token`` is the
    user's IAM access token, sent to the REST sources that have no token of their own.
    ``on_unreachable`` says what a source that cannot be reached does: ``error`` raises,
    ``warn`` and ``skip`` go on without it (``warn`` records why in ``catalog["errors"]``).
    ``spaces`` are the OneData space names whose location is wanted.
    """
    spaces = spaces or ()
    _check_sources(sources, on_unreachable, spaces)
    sites_path = sources.get("sites_file")
    sites = sitesfile.read(sites_path) if sites_path else None
    who = customer or organisation
    run = _Collector(sources, token, on_unreachable)
    try:
        answer = None
        if "slam" in sources:
            if who is None:
                raise SourceError("SLAM needs a customer (or an organisation) to ask about",
                                  source="slam")
            if "file" in sources["slam"]:
                answer = slam.read(sources["slam"]["file"], who)
            else:
                answer = run.guarded("slam", lambda: slam.fetch(run.rest("slam"), who))
        view = _slam_view(answer, sites, who)
        scoped = answer is not None or (sites is not None and sites.slas is not None)
        provider_ids, sla_services = _sla_scope(view) if scoped else (None, None)

        providers = {}
        services = {}
        cmdb_missing = False
        if "cmdb" in sources:
            optional = set()
            if sites is not None:
                optional = set(sites.providers) | {entry.get("provider") or entry["name"]
                                                   for entry in sites.sites}

            def load_cmdb():
                backend = cmdb.CmdbFile(sources["cmdb"]["file"]) if "file" in sources["cmdb"] \
                    else cmdb.CmdbRest(run.rest("cmdb"))
                return cmdb.load(backend, organisation, provider_ids, sla_services, optional)

            loaded = run.guarded("cmdb", load_cmdb)
            if loaded is None:
                cmdb_missing = True
            else:
                providers, services = loaded
        for entry in services.values():
            entry["site"] = model.site(entry, entry["id"])
        if sites is not None:
            _add_sites(sites, providers, services, cmdb_missing)
            if not cmdb_missing:
                _check_references(sites, providers, services)

        entries = []
        if "monitoring" in sources:
            fetched = run.guarded("monitoring", lambda: monitoring.fetch(
                run.rest("monitoring"), _monitored(providers, services), services, run.errors))
            entries = fetched or []
        if sites is not None:
            _add_metrics(entries, sites.metrics, services)

        spaces_found = {}
        wanted = [name for name in dict.fromkeys(spaces)
                  if sites is None or name not in sites.onedata]
        if wanted and "onezone" in sources:
            def locate():
                client = run.rest("onezone", headers={})
                onedata_token = sources["onezone"].get("token")
                if not onedata_token:
                    if not (token and organisation):
                        raise SourceError("Onezone at %s: a OneData token is needed "
                                          "(sources.onezone.token), or an IAM token and an "
                                          "organisation to get one with" % client.shown_url,
                                          source="onezone", url=client.shown_url)
                    onedata_token = onedata.user_token(client, organisation, token)
                client = client.with_headers({onedata.HEADER: onedata_token})
                return onedata.resolve(client, wanted, services)

            spaces_found = run.guarded("onezone", locate) or {}
        if sites is not None:
            spaces_found.update(copy.deepcopy(sites.onedata))
    finally:
        run.close()
    data = {"onedata": spaces_found}
    if sites is not None and sites.dynafed is not None:
        data["dynafed"] = copy.deepcopy(sites.dynafed)
    return {
        "providers": providers,
        "services": services,
        "slam": view or {},
        "monitoring": entries,
        "data": data,
        "errors": run.errors,
    }
