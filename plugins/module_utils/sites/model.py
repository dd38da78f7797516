# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalog's service shape: INDIGO's CMDB service, tenant and site type, normalised."""

from __future__ import annotations

import copy

# CMDB service_type -> our site type (driver name). Other service types are listed in the
# catalog with ``site: None``: they are known but cannot be deployed on.
SITE_TYPES = {
    "org.openstack.nova": "openstack",
    "eu.egi.cloud.vm-management.opennebula": "opennebula",
    "eu.indigo-datacloud.im-tosca.opennebula": "opennebula",
    "com.amazonaws.ec2": "ec2",
    "eu.indigo-datacloud.marathon": "marathon",
    "eu.indigo-datacloud.chronos": "chronos",
    # Ours: INDIGO has no Slurm or local service type.
    "paas.orchestrator.slurm": "slurm",
    "paas.orchestrator.local": "local",
}
# Site type -> the service_type a sites-file site gets when it names none.
DEFAULT_SERVICE_TYPES = {
    "openstack": "org.openstack.nova",
    "opennebula": "eu.egi.cloud.vm-management.opennebula",
    "ec2": "com.amazonaws.ec2",
    "marathon": "eu.indigo-datacloud.marathon",
    "chronos": "eu.indigo-datacloud.chronos",
    "slurm": "paas.orchestrator.slurm",
    "local": "paas.orchestrator.local",
}
# INDIGO's dto/cmdb/CloudService.java, used when a service does not say its ``type``.
COMPUTE_SERVICE_TYPES = frozenset((
    "org.openstack.nova", "eu.egi.cloud.vm-management.opennebula",
    "eu.egi.cloud.vm-management.occi", "com.amazonaws.ec2", "com.microsoft.azure",
    "eu.otc.compute", "eu.indigo-datacloud.im-tosca.opennebula", "eu.indigo-datacloud.marathon",
    "eu.indigo-datacloud.chronos", "eu.deep.qcg", "eu.deep.kubernetes",
    "eu.indigo-datacloud.mesos", "paas.orchestrator.slurm", "paas.orchestrator.local",
))
ONEPROVIDER = "eu.egi.cloud.storage-management.oneprovider"
STORAGE_SERVICE_TYPES = frozenset(("eu.egi.cloud.storage-management.cdmi", ONEPROVIDER))
CATEGORIES = ("compute", "storage", "unknown")

TENANT_FIELDS = (
    "tenant_id", "tenant_name", "iam_organisation", "public_network_name",
    "private_network_name", "private_network_cidr", "private_network_proxy_host",
    "private_network_proxy_user",
)
# Service fields taken as they are (None when absent).
PLAIN_FIELDS = ("endpoint", "region", "hostname", "service_parent_id", "microversion",
                "rucio_rse")
# Service fields with INDIGO's defaults (CMDB v1 ``CloudService``).
DEFAULTS = {"iam_enabled": True, "idp_protocol": "oidc", "public_ip_assignable": False,
            "is_public_service": False}
# What INDIGO's CloudProviderEndpoint carries from the service to the engine: copied into
# the site so a driver gets it with the site.
SITE_FIELDS = ("endpoint", "region", "microversion", "iam_enabled", "idp_protocol")


def category(service_type, declared=None):
    """compute | storage | unknown: the CMDB ``type``, else derived from ``service_type``."""
    if declared in ("compute", "storage"):
        return declared
    if declared is None:
        if service_type in COMPUTE_SERVICE_TYPES:
            return "compute"
        if service_type in STORAGE_SERVICE_TYPES:
            return "storage"
    return "unknown"


def supported_idps(values):
    """``[{name, issuer}]``; some CMDB records list bare issuer URLs (cmdb.db's Kubernetes
    service does)."""
    return [{"name": value.get("name"), "issuer": value.get("issuer")}
            if isinstance(value, dict) else {"name": None, "issuer": value}
            for value in values or ()]


def volume_types(values):
    """``[{name, qos}]``; a bare string is a name."""
    return [{"name": value.get("name"), "qos": value.get("qos")}
            if isinstance(value, dict) else {"name": value, "qos": None}
            for value in values or ()]


def tenant(raw):
    """The catalog's tenant: INDIGO's tenant fields, None where the CMDB has none."""
    return {field: raw.get(field) for field in TENANT_FIELDS}


def service(service_id, provider_id, data):
    """A CMDB service ``data`` (with INDIGO's field names) as a catalog service, no site yet."""
    service_type = data.get("service_type")
    entry = {
        "id": service_id,
        "provider": provider_id,
        "service_type": service_type,
        "type": category(service_type, data.get("type")),
    }
    for field in PLAIN_FIELDS:
        entry[field] = data.get(field)
    for field, default in DEFAULTS.items():
        value = data.get(field)
        entry[field] = default if value is None else value
    entry["supported_idps"] = supported_idps(data.get("supported_idps"))
    entry["volume_types"] = volume_types(data.get("volume_types"))
    entry["properties"] = copy.deepcopy(data.get("properties") or {})
    entry["tenant"] = None
    entry["images"] = []
    entry["flavors"] = []
    entry["site"] = None
    return entry


def site(entry, name, site_type=None, settings=None):
    """The site of a catalog service, or None when its type has no driver.

    It holds what INDIGO's CloudProviderEndpoint gives the deployment engine (endpoint,
    region, tenant, microversion, IAM settings), then the sites file's ``settings`` on top.
    """
    site_type = site_type or SITE_TYPES.get(entry["service_type"])
    if site_type is None:
        return None
    built = {"name": name, "type": site_type, "provider": entry["provider"],
             "service_id": entry["id"]}
    for field in SITE_FIELDS:
        if entry[field] is not None:
            built[field] = entry[field]
    if entry["tenant"] and entry["tenant"].get("tenant_name"):
        built["tenant_name"] = entry["tenant"]["tenant_name"]
    built.update(copy.deepcopy(settings or {}))
    return built
