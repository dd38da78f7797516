# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Our sites file: providers, sites, SLAs, preferences, metrics and data locations in one YAML
document, for users with no INDIGO services (or to add to and override a CMDB). The format is
documented in docs/sites.md.

``read`` checks everything the file can check alone; what it says about services it does not
declare (a CMDB service id in an SLA, a metric or an override) is checked by the caller against
the catalog.
"""

from __future__ import annotations

import copy
import datetime
import numbers

from ansible_collections.paas.orchestrator.plugins.module_utils.sites import model
from ansible_collections.paas.orchestrator.plugins.module_utils.sites.errors import SourceError

try:
    import yaml
except ImportError:  # reported when a sites file is read
    yaml = None
    _Loader = object
else:
    _Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 16 * 1024 * 1024
TOP_KEYS = ("providers", "sites", "slas", "preferences", "metrics", "data")
PROVIDER_KEYS = ("id", "name")
STRING_KEYS = ("name", "id", "provider", "type", "service_type", "category", "endpoint",
               "region", "hostname", "microversion", "idp_protocol", "service_parent_id",
               "rucio_rse")
BOOL_KEYS = ("iam_enabled", "public_ip_assignable", "is_public_service")
LIST_KEYS = ("supported_idps", "volume_types", "images", "flavors")
DICT_KEYS = ("properties", "tenant", "settings")
SITE_KEYS = STRING_KEYS + BOOL_KEYS + LIST_KEYS + DICT_KEYS
SITE_TYPE_NAMES = tuple(model.DEFAULT_SERVICE_TYPES)
FLAVOR_NUMBERS = ("num_vcpus", "ram", "disk", "num_gpus")
SLA_KEYS = ("id", "customer", "provider", "start_date", "end_date", "services")
SLA_SERVICE_KEYS = ("service_id", "type", "targets")
TARGET_KEYS = ("type", "unit", "restrictions")
RESTRICTIONS = ("total_guaranteed", "total_limit", "user_guaranteed", "user_limit",
                "instance_guaranteed", "instance_limit")
PREFERENCE_KEYS = ("service_type", "priority")
PRIORITY_KEYS = ("sla_id", "service_id", "weight")
METRIC_KEYS = ("value", "unit")
SPACE_KEYS = ("providers", "oneproviders")
ONEPROVIDER_KEYS = ("id", "domain", "provider", "service_id")


class _UniqueKeyLoader(_Loader):
    """PyYAML keeps the last of two equal keys; in a sites file that hides a mistake."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, "duplicate key %r" % (key,), key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


if yaml is not None:
    _UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                     _UniqueKeyLoader.construct_mapping)


class SitesFile:
    """What a sites file says, checked; references to its own sites by name are already ids."""

    def __init__(self, path):
        self.path = path
        self.providers = {}     # declared providers: id -> {"id", "name"}
        self.sites = []         # checked site entries (only the keys the file gives)
        self.slas = None        # SLAM "sla" objects, None when the file has no "slas" key
        self.preferences = []   # SLAM preferences[].preferences entries
        self.metrics = {}       # service id -> {metricName: {"value", "unit"}}
        self.onedata = {}       # space name -> {"providers", "oneproviders"}
        self.dynafed = None     # file URL -> provider ids, None when the file has no dynafed

    def fail(self, where, message):
        return SourceError("sites file %s: %s: %s" % (self.path, where, message),
                           source="sites_file", url=self.path)


def _plain(value):
    # YAML turns 2030-11-10 into a date; the catalog must stay JSON-able.
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _keys(sites, where, mapping, allowed):
    if not isinstance(mapping, dict):
        raise sites.fail(where, "must be a mapping")
    unknown = sorted(str(key) for key in mapping if key not in allowed)
    if unknown:
        raise sites.fail(where, "unknown key%s %s (known: %s)"
                         % ("s" if len(unknown) > 1 else "",
                            ", ".join(repr(key) for key in unknown), ", ".join(allowed)))


def _list(sites, where, value):
    if not isinstance(value, list):
        raise sites.fail(where, "must be a list")
    return value


def _string(sites, where, value):
    if not isinstance(value, str) or not value:
        raise sites.fail(where, "must be a non-empty string")
    return value


def _read_yaml(path):
    if yaml is None:
        raise SourceError("sites file %s: the Python library 'PyYAML' is not installed" % path,
                          source="sites_file", url=path)
    try:
        with open(path, "rb") as handle:
            text = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SourceError("sites file %s cannot be read: %s" % (path, exc.strerror),
                          source="sites_file", url=path) from None
    if len(text) > MAX_BYTES:
        raise SourceError("sites file %s is over %d bytes" % (path, MAX_BYTES),
                          source="sites_file", url=path)
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " at line %d, column %d" % (mark.line + 1, mark.column + 1) if mark else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise SourceError("sites file %s is not valid YAML%s: %s" % (path, where, problem),
                          source="sites_file", url=path) from None


def _site(sites, where, entry):
    _keys(sites, where, entry, SITE_KEYS)
    checked = {}
    for key, value in entry.items():
        at = "%s.%s" % (where, key)
        if key in STRING_KEYS:
            checked[key] = _string(sites, at, value)
        elif key in BOOL_KEYS:
            if not isinstance(value, bool):
                raise sites.fail(at, "must be true or false")
            checked[key] = value
        elif key in DICT_KEYS:
            if not isinstance(value, dict):
                raise sites.fail(at, "must be a mapping")
            checked[key] = copy.deepcopy(value)
        else:
            checked[key] = copy.deepcopy(_list(sites, at, value))
    if "name" not in checked:
        raise sites.fail(where, "has no name")
    site_type = checked.get("type")
    if site_type is not None and site_type not in SITE_TYPE_NAMES:
        raise sites.fail(where + ".type", "unknown site type %r (known: %s)"
                         % (site_type, ", ".join(SITE_TYPE_NAMES)))
    service_type = checked.get("service_type")
    if site_type is not None and service_type is not None \
            and model.SITE_TYPES.get(service_type) != site_type:
        raise sites.fail(where + ".service_type", "%r is not a service of site type %r"
                         % (service_type, site_type))
    if checked.get("category", "compute") not in model.CATEGORIES:
        raise sites.fail(where + ".category", "must be one of %s" % ", ".join(model.CATEGORIES))
    tenant = checked.get("tenant")
    if tenant is not None:
        _keys(sites, where + ".tenant", tenant, model.TENANT_FIELDS)
    for key in ("name", "type"):
        if key in checked.get("settings", {}):
            raise sites.fail(where + ".settings", "'%s' belongs to the site entry itself" % key)
    for position, item in enumerate(checked.get("supported_idps", ()), 1):
        if isinstance(item, dict):
            _keys(sites, "%s.supported_idps[%d]" % (where, position), item, ("name", "issuer"))
        elif not isinstance(item, str):
            raise sites.fail("%s.supported_idps[%d]" % (where, position),
                             "must be an issuer URL or {name, issuer}")
    for position, item in enumerate(checked.get("volume_types", ()), 1):
        if isinstance(item, dict):
            _keys(sites, "%s.volume_types[%d]" % (where, position), item, ("name", "qos"))
        elif not isinstance(item, str):
            raise sites.fail("%s.volume_types[%d]" % (where, position),
                             "must be a name or {name, qos}")
    for position, image in enumerate(checked.get("images", ()), 1):
        if not isinstance(image, dict) or not (image.get("image_id") or image.get("image_name")):
            raise sites.fail("%s.images[%d]" % (where, position),
                             "must be a mapping with image_id or image_name")
    for position, flavor in enumerate(checked.get("flavors", ()), 1):
        at = "%s.flavors[%d]" % (where, position)
        if not isinstance(flavor, dict) or not (flavor.get("flavor_id")
                                                or flavor.get("flavor_name")):
            raise sites.fail(at, "must be a mapping with flavor_id or flavor_name")
        for key in FLAVOR_NUMBERS:
            if key in flavor and not _is_number(flavor[key]):
                raise sites.fail("%s.%s" % (at, key), "must be a number")
    return checked


def _sla(sites, where, entry, ids):
    _keys(sites, where, entry, SLA_KEYS)
    for key in ("id", "provider"):
        if key not in entry:
            raise sites.fail(where, "has no %s" % key)
        _string(sites, "%s.%s" % (where, key), entry[key])
    sla = {"customer": entry.get("customer"), "provider": entry["provider"],
           "start_date": entry.get("start_date"), "end_date": entry.get("end_date"),
           "services": [], "id": entry["id"]}
    for position, item in enumerate(_list(sites, where + ".services", entry.get("services", [])),
                                    1):
        at = "%s.services[%d]" % (where, position)
        if isinstance(item, str):
            item = {"service_id": item}
        _keys(sites, at, item, SLA_SERVICE_KEYS)
        if "service_id" not in item:
            raise sites.fail(at, "has no service_id")
        targets = []
        for number, target in enumerate(_list(sites, at + ".targets", item.get("targets", [])),
                                        1):
            target_at = "%s.targets[%d]" % (at, number)
            _keys(sites, target_at, target, TARGET_KEYS)
            _string(sites, target_at + ".type", target.get("type"))
            restrictions = target.get("restrictions", {})
            _keys(sites, target_at + ".restrictions", restrictions, RESTRICTIONS)
            for key, value in restrictions.items():
                if not _is_number(value):
                    raise sites.fail("%s.restrictions.%s" % (target_at, key), "must be a number")
            targets.append({"type": target["type"], "unit": target.get("unit"),
                            "restrictions": dict(restrictions)})
        sla["services"].append({"type": item.get("type", "computing"),
                                "service_id": ids.get(item["service_id"], item["service_id"]),
                                "targets": targets})
    return sla


def _preference(sites, where, entry, slas):
    _keys(sites, where, entry, PREFERENCE_KEYS)
    _string(sites, where + ".service_type", entry.get("service_type"))
    priority = []
    for position, item in enumerate(_list(sites, where + ".priority", entry.get("priority", [])),
                                    1):
        at = "%s.priority[%d]" % (where, position)
        _keys(sites, at, item, PRIORITY_KEYS)
        sla = slas.get(item.get("sla_id"))
        if sla is None:
            raise sites.fail(at, "names SLA %r, which is not in slas" % (item.get("sla_id"),))
        in_sla = [service["service_id"] for service in sla["services"]]
        service_id = item.get("service_id")
        if service_id is None:
            if len(in_sla) != 1:
                raise sites.fail(at, "needs a service_id: SLA %r has %d services"
                                 % (sla["id"], len(in_sla)))
            service_id = in_sla[0]
        elif service_id not in in_sla:
            raise sites.fail(at, "service %r is not in SLA %r" % (service_id, sla["id"]))
        chosen = {"sla_id": sla["id"], "service_id": service_id}
        if "weight" in item:
            if not _is_number(item["weight"]):
                raise sites.fail(at + ".weight", "must be a number")
            chosen["weight"] = item["weight"]
        priority.append(chosen)
    return {"service_type": entry["service_type"], "priority": priority}


def _space(sites, where, value):
    if isinstance(value, list):
        value = {"providers": value}
    _keys(sites, where, value, SPACE_KEYS)
    providers = [_string(sites, "%s.providers[%d]" % (where, position), item)
                 for position, item in enumerate(_list(sites, where + ".providers",
                                                       value.get("providers", [])), 1)]
    oneproviders = []
    for position, item in enumerate(_list(sites, where + ".oneproviders",
                                          value.get("oneproviders", [])), 1):
        at = "%s.oneproviders[%d]" % (where, position)
        _keys(sites, at, item, ONEPROVIDER_KEYS)
        _string(sites, at + ".id", item.get("id"))
        oneproviders.append({key: item.get(key) for key in ONEPROVIDER_KEYS})
        if item.get("provider") and item["provider"] not in providers:
            providers.append(item["provider"])
    return {"providers": providers, "oneproviders": oneproviders}


def read(path):
    """The checked content of the sites file at ``path``; SourceError names the bad entry."""
    sites = SitesFile(path)
    document = _plain(_read_yaml(path))
    if document is None:
        return sites
    _keys(sites, "top level", document, TOP_KEYS)

    for position, entry in enumerate(_list(sites, "providers", document.get("providers", [])), 1):
        where = "providers[%d]" % position
        _keys(sites, where, entry, PROVIDER_KEYS)
        provider_id = _string(sites, where + ".id", entry.get("id"))
        if provider_id in sites.providers:
            raise sites.fail(where, "provider %r is declared twice" % provider_id)
        name = _string(sites, where + ".name", entry["name"]) if "name" in entry else provider_id
        sites.providers[provider_id] = {"id": provider_id, "name": name}

    names = {}
    ids = {}
    for position, entry in enumerate(_list(sites, "sites", document.get("sites", [])), 1):
        where = "sites[%d]" % position
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            where = "%s (%s)" % (where, entry["name"])
        checked = _site(sites, where, entry)
        service_id = checked.setdefault("id", checked["name"])
        if checked["name"] in names:
            raise sites.fail(where, "the name %r is already used by %s"
                             % (checked["name"], names[checked["name"]]))
        if service_id in ids.values():
            raise sites.fail(where, "the service id %r is already used" % service_id)
        names[checked["name"]] = where
        ids[checked["name"]] = service_id
        sites.sites.append(checked)
    for checked in sites.sites:
        if "service_parent_id" in checked:
            checked["service_parent_id"] = ids.get(checked["service_parent_id"],
                                                   checked["service_parent_id"])

    slas = {}
    if "slas" in document:
        for position, entry in enumerate(_list(sites, "slas", document["slas"]), 1):
            where = "slas[%d]" % position
            sla = _sla(sites, where, entry, ids)
            if sla["id"] in slas:
                raise sites.fail(where, "SLA id %r is used twice" % sla["id"])
            slas[sla["id"]] = sla
        sites.slas = list(slas.values())
    for position, entry in enumerate(_list(sites, "preferences",
                                           document.get("preferences", [])), 1):
        sites.preferences.append(_preference(sites, "preferences[%d]" % position, entry, slas))

    metrics = document.get("metrics", {})
    if not isinstance(metrics, dict):
        raise sites.fail("metrics", "must be a mapping of service -> {metric: value}")
    for ref, values in metrics.items():
        ref = str(ref)
        where = "metrics.%s" % ref
        if not isinstance(values, dict):
            raise sites.fail(where, "must be a mapping of metric name -> value")
        checked = {}
        for metric, value in values.items():
            if isinstance(value, dict):
                _keys(sites, "%s.%s" % (where, metric), value, METRIC_KEYS)
                unit, value = value.get("unit", ""), value.get("value")
            else:
                unit = ""
            if not _is_number(value):
                raise sites.fail("%s.%s" % (where, metric), "must be a number (or {value, unit})")
            checked[str(metric)] = {"value": value, "unit": unit}
        sites.metrics[ids.get(ref, ref)] = checked

    data = document.get("data", {})
    _keys(sites, "data", data, ("onedata", "dynafed"))
    spaces = data.get("onedata", {})
    if not isinstance(spaces, dict):
        raise sites.fail("data.onedata", "must be a mapping of space name -> providers")
    for name, value in spaces.items():
        sites.onedata[str(name)] = _space(sites, "data.onedata.%s" % name, value)
    if "dynafed" in data:
        files = data["dynafed"]
        if not isinstance(files, dict):
            raise sites.fail("data.dynafed", "must be a mapping of file URL -> providers")
        sites.dynafed = {}
        for url, holders in files.items():
            where = "data.dynafed.%s" % url
            sites.dynafed[str(url)] = [
                _string(sites, "%s[%d]" % (where, position), item)
                for position, item in enumerate(_list(sites, where, holders), 1)]
    return sites
