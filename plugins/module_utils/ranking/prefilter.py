# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""INDIGO's PrefilterCloudProviders (spec §2.3 step 4): which compute services can take the
deployment at all, and why each other one cannot.

``read_needs(topology)`` reads once what the template asks of a site; ``check(...)`` then
holds one service against it and returns every reason it fails (INDIGO stops at the first and
logs it; a user wants them all), with the images, flavors and volume types it matched. Rules
that concern a whole provider (OneData smartScheduling, Dynafed) come from
``provider_reasons``; data locality (our addition for batch deployments) from
``data_locations``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.paas.orchestrator.plugins.module_utils.ranking import matching
from ansible_collections.paas.orchestrator.plugins.module_utils.ranking.errors import (
    RankingError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds

_I = "tosca.nodes.indigo."
DOCKER_RUNTIME = _I + "Container.Runtime.Docker"
MARATHON_NODE = _I + "Container.Application.Docker.Marathon"
ELASTIC_CLUSTER = _I + "ElasticCluster"
BLOCK_STORAGE = _I + "BlockStorage"
ONEDATA_SPACE = _I + "OnedataSpace"
ONEDATA_SERVICE_SPACE = _I + "OnedataServiceSpace"
DYNAFED = _I + "Dynafed"
NETWORK = "tosca.nodes.network.Network"
PLACEMENT_POLICY = "tosca.policies.Placement"
SLA_PLACEMENT_POLICY = "tosca.policies.indigo.SlaPlacement"
# INDIGO's default name of the orchestrator's own OneData space (onedata.service-space.name):
# the catalog lists it under this name.
SERVICE_SPACE = "INDIGO Service Space"

# What a compute service is, by our site type or else by its CMDB service_type.
IAAS, MARATHON, CHRONOS, QCG, KUBERNETES, BATCH = (
    "iaas", "marathon", "chronos", "qcg", "kubernetes", "batch")
IAAS_SERVICE_TYPES = frozenset((
    "org.openstack.nova", "eu.egi.cloud.vm-management.opennebula",
    "eu.egi.cloud.vm-management.occi", "com.amazonaws.ec2", "com.microsoft.azure",
    "eu.otc.compute", "eu.indigo-datacloud.im-tosca.opennebula"))
_SERVICE_PLATFORMS = dict.fromkeys(IAAS_SERVICE_TYPES, IAAS)
_SERVICE_PLATFORMS.update({"eu.indigo-datacloud.marathon": MARATHON,
                           "eu.indigo-datacloud.chronos": CHRONOS,
                           "eu.deep.qcg": QCG, "eu.deep.kubernetes": KUBERNETES})
_SITE_PLATFORMS = {"openstack": IAAS, "opennebula": IAAS, "ec2": IAAS, "marathon": MARATHON,
                   "chronos": CHRONOS, "slurm": BATCH, "local": BATCH}
# INDIGO's isCredentialsRequired: the user's own cloud account, given in the placement policy.
# A site whose settings say ``credentials_required: false`` (one of our sites file that holds
# its own account) is exempt.
CREDENTIALS_SERVICE_TYPES = {"com.amazonaws.ec2": "AWS", "com.microsoft.azure": "Azure",
                             "eu.otc.compute": "OTC"}
# deployment kind -> (platforms that can run it, in words)
KIND_PLATFORMS = {
    "TOSCA": (frozenset((IAAS,)), "an IaaS compute service (OpenStack, OpenNebula, EC2, ...)"),
    "MARATHON": (frozenset((MARATHON,)), "a Marathon service"),
    # our slurm and local sites run INDIGO's Chronos jobs natively
    "CHRONOS": (frozenset((CHRONOS, BATCH)), "a Chronos service or a slurm or local site"),
    "JOB": (frozenset((CHRONOS, BATCH)), "a batch site (Chronos, slurm or local)"),
    "QCG": (frozenset((QCG,)), "a QCG service"),
    "KUBERNETES_HELM_CHART": (frozenset((KUBERNETES,)), "a Kubernetes service"),
}
# A TOSCA template with job nodes and no VM (INDIGO's Batch.Job, say): our batch sites too.
_BATCH_TOSCA = (frozenset((IAAS, BATCH)),
                "an IaaS compute service or, with no VM node, a slurm or local site")


def platform(service):
    site = service.get("site")
    if site:
        return _SITE_PLATFORMS.get(site.get("type"))
    return _SERVICE_PLATFORMS.get(service.get("service_type"))


def what(service):
    """The service in words, for a reason: 'a site of type slurm'."""
    site = service.get("site")
    if site:
        return "a site of type %s" % site.get("type")
    return "a service of type %s" % (service.get("service_type") or "unknown")


class Needs:
    """What a topology asks of a site, read once per ranking."""

    def __init__(self):
        self.kind = None
        self.platforms = None
        self.platforms_text = None
        self.vms = []            # (node, image requirement, flavor requirement)
        self.volumes = []        # (node, volume type)
        self.gpu_nodes = []      # Docker runtimes asking for GPUs
        self.secret_nodes = []   # Marathon apps using secrets
        self.elastic_cluster = None
        self.network = None      # (node, "private" | "isolated") or None
        self.onedata = []        # (node, space, smartScheduling, requested oneprovider hosts)
        self.dynafed = []        # (node, [file URL])
        self.job_urls = []       # (node, input URL) of job nodes
        self.policy = None       # the SlaPlacement policy, if any


def _placement_policy(topology):
    policies = [policy for policy in topology.policies if PLACEMENT_POLICY in policy.ancestry]
    if len(policies) > 1:
        raise RankingError("Only a single placement policy is supported; the template has %s"
                           % ", ".join("'%s'" % policy.name for policy in policies),
                           policy=policies[1].name)
    if not policies:
        return None
    policy = policies[0]
    if SLA_PLACEMENT_POLICY not in policy.ancestry:
        raise RankingError("Only SLA placement policies are supported; policy '%s' is a %s"
                           % (policy.name, policy.type), policy=policy.name)
    if not isinstance(policy.sla_id, str) or not policy.sla_id:
        raise RankingError("Placement policy '%s' has no sla_id" % policy.name,
                           policy=policy.name)
    return policy


def _strings(value):
    """The strings of a list property (of anything else, e.g. a function left for later: none)."""
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def read_needs(topology):
    """The topology's requirements on a site. Raises RankingError for placement policies
    INDIGO refuses (two of them, a non-SLA one, one with no sla_id)."""
    needs = Needs()
    needs.kind = topology.deployment_kind
    needs.policy = _placement_policy(topology)
    has_vm = has_job = False
    for name in topology.nodes:
        node = topology.nodes[name]
        ancestry = node.ancestry
        if node.kind == kinds.VM:
            has_vm = True
            needs.vms.append((name, matching.image_requirement(node),
                              matching.flavor_requirement(node)))
        elif node.kind == kinds.JOB:
            has_job = True
            staged = node.properties.get("input_files")
            urls = _strings(node.properties.get("uris")) + _strings(
                [entry.get("url") for entry in staged if isinstance(entry, dict)]
                if isinstance(staged, list) else None)
            needs.job_urls.extend((name, url) for url in urls)
        if BLOCK_STORAGE in ancestry:
            volume_type = node.properties.get("type")
            if isinstance(volume_type, str) and volume_type:
                needs.volumes.append((name, volume_type))
        if DOCKER_RUNTIME in ancestry:
            gpus = (node.capabilities.get("host") or {}).get("num_gpus")
            if isinstance(gpus, (int, float)) and not isinstance(gpus, bool) and gpus > 0:
                needs.gpu_nodes.append(name)
        if MARATHON_NODE in ancestry and node.properties.get("secrets") is not None:
            needs.secret_nodes.append(name)
        if ELASTIC_CLUSTER in ancestry and needs.elastic_cluster is None:
            needs.elastic_cluster = name
        if NETWORK in ancestry and needs.network is None:
            network_type = node.properties.get("network_type")
            if network_type in ("private", "isolated"):
                needs.network = (name, network_type)
        if ONEDATA_SPACE in ancestry or ONEDATA_SERVICE_SPACE in ancestry:
            space = node.properties.get("space")
            if ONEDATA_SERVICE_SPACE in ancestry and not isinstance(space, str):
                space = SERVICE_SPACE
            needs.onedata.append((name, space, node.properties.get("smartScheduling") is True,
                                  _strings(node.properties.get("oneproviders"))))
        if DYNAFED in ancestry:
            needs.dynafed.append((name, _strings(node.properties.get("files"))))
    if needs.kind == "TOSCA" and has_job and not has_vm:
        needs.platforms, needs.platforms_text = _BATCH_TOSCA
    else:
        needs.platforms, needs.platforms_text = KIND_PLATFORMS[needs.kind]
    return needs


def _host(url):
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _storage_hosts(services):
    """Host name -> ids of the providers with a storage service there."""
    hosts = {}
    for service in services.values():
        if service.get("type") != "storage":
            continue
        for host in (_host(service.get("endpoint") or ""), service.get("hostname")):
            if host:
                hosts.setdefault(host.lower(), set()).add(service.get("provider"))
    return hosts


class Space:
    """A OneData node's space as INDIGO resolves it (OneDataServiceImpl, spec §4.5)."""

    __slots__ = ("node", "name", "smart", "oneproviders", "providers")

    def __init__(self, node, name, smart, oneproviders):
        self.node = node
        self.name = name
        self.smart = smart
        self.oneproviders = oneproviders  # the usable ones, in Onezone's order
        self.providers = []               # their cloud providers, in that order
        for oneprovider in oneproviders:
            provider = oneprovider.get("provider")
            if provider is not None and provider not in self.providers:
                self.providers.append(provider)

    def selected(self, provider):
        """INDIGO's selectedOneprovider once ``provider`` is chosen: the co-located one, else
        (no smartScheduling) the first; None when there is none."""
        for oneprovider in self.oneproviders:
            if oneprovider.get("provider") == provider:
                return oneprovider
        if self.smart or not self.oneproviders:
            return None
        return self.oneproviders[0]


def resolve_spaces(needs, catalog):
    """The OneData nodes' spaces from the catalog's ``data.onedata``, with INDIGO's rules: the
    node's requested ``oneproviders`` (host names) are the only ones kept and must all support
    the space; with smartScheduling an unregistered oneprovider (no CMDB storage service) is an
    error when requested and skipped otherwise. Errors are RankingErrors naming the node."""
    known = (catalog.get("data") or {}).get("onedata") or {}
    spaces = []
    for node, name, smart, requested in needs.onedata:
        entry = known.get(name) or {}
        oneproviders = list(entry.get("oneproviders") or ())
        if not oneproviders:
            # a sites file may give only the cloud providers of a space
            oneproviders = [{"provider": provider} for provider in entry.get("providers") or ()]
        elif requested:
            by_domain = {oneprovider.get("domain"): oneprovider for oneprovider in oneproviders}
            missing = [host for host in requested if host not in by_domain]
            if missing:
                raise RankingError("Node '%s': oneprovider %s does not support OneData space "
                                   "'%s'" % (node, ", ".join(missing), name))
            oneproviders = [by_domain[host] for host in requested]
            unregistered = [one.get("domain") for one in oneproviders
                            if one.get("provider") is None]
            if smart and unregistered:
                raise RankingError("Node '%s': oneprovider %s of space '%s' is not registered "
                                   "as a storage service, which smartScheduling needs"
                                   % (node, ", ".join(map(str, unregistered)), name))
        if smart:
            oneproviders = [one for one in oneproviders if one.get("provider") is not None]
        spaces.append(Space(node, name, smart, oneproviders))
    return spaces


def provider_reasons(needs, catalog, spaces):
    """Provider id -> reasons that rule out all its services: a smartScheduling OneData space
    it does not support (one the catalog does not know rules out every provider), a Dynafed
    file it holds no copy of."""
    reasons = {}
    providers = set(catalog.get("providers") or ())
    providers.update(service.get("provider") for service in
                     (catalog.get("services") or {}).values())
    for space in spaces:
        if not space.smart:
            continue
        for provider in providers - set(space.providers):
            reasons.setdefault(provider, []).append(
                "OneData space '%s' of node '%s' needs smartScheduling and no oneprovider of "
                "this provider supports it" % (space.name, space.node))
    if needs.dynafed:
        holders = _dynafed_holders(needs, catalog)
        for node, files in needs.dynafed:
            for url in files:
                for provider in providers - holders.get(url, set()):
                    reasons.setdefault(provider, []).append(
                        "Dynafed node '%s': this provider holds no copy of %s" % (node, url))
    return reasons


def _dynafed_holders(needs, catalog):
    """File URL -> providers holding it: the catalog's ``data.dynafed`` when it has one (the
    Dynafed resources INDIGO asks Dynafed for), else the storage service at the URL's host."""
    known = (catalog.get("data") or {}).get("dynafed") or {}
    hosts = _storage_hosts(catalog.get("services") or {})
    holders = {}
    for _node, files in needs.dynafed:
        for url in files:
            if url in known:
                holders[url] = set(known[url])
            else:
                holders[url] = hosts.get((_host(url) or "").lower(), set())
    return holders


def data_locations(needs, catalog, spaces):
    """Provider id -> where the job's input data lives there, in words (OneData spaces it
    supports, input URLs served by its storage services). Only batch deployments use it."""
    found = {}
    for space in spaces:
        for provider in space.providers:
            found.setdefault(provider, []).append("OneData space '%s' (node '%s')"
                                                  % (space.name, space.node))
    if needs.job_urls:
        hosts = _storage_hosts(catalog.get("services") or {})
        for node, url in needs.job_urls:
            host = (_host(url) or "").lower()
            for provider in hosts.get(host, ()):
                found.setdefault(provider, []).append("input %s (node '%s')" % (host, node))
    return found


def issuers(service):
    """The token issuers an IAM-enabled service accepts (CMDB lists issuers or {name, issuer})."""
    return [idp.get("issuer") if isinstance(idp, dict) else idp
            for idp in service.get("supported_idps") or []]


def check(needs, service_id, service, issuer=None, creating=True, policy_services=None):
    """Every reason ``service`` cannot take the deployment (empty: it can), and what it
    matched: ({node: image}, {node: flavor}, {node: volume type name}).

    ``policy_services``: the service ids of the SLA a placement policy names, or None.
    """
    reasons = []
    service_type = service.get("service_type")
    # CMDB's intended default is true (spec §4.2): only an explicit false skips the check
    if issuer is not None and service.get("iam_enabled") is not False:
        accepted = issuers(service)
        if issuer not in accepted:
            reasons.append("it does not accept tokens from %s (it accepts %s)"
                           % (issuer, ", ".join(map(str, accepted)) or "no issuer"))
    if needs.policy is not None and service_id not in policy_services:
        reasons.append("placement policy '%s' asks for SLA %s, which does not cover it"
                       % (needs.policy.name, needs.policy.sla_id))
    elif service_type in CREDENTIALS_SERVICE_TYPES and needs.policy is None \
            and (service.get("site") or {}).get("credentials_required") is not False:
        reasons.append("%s services need the user's own credentials, so INDIGO uses them only "
                       "through a placement policy that names their SLA"
                       % CREDENTIALS_SERVICE_TYPES[service_type])
    kind = platform(service)
    if kind not in needs.platforms:
        reasons.append("a %s deployment needs %s; this is %s"
                       % (needs.kind, needs.platforms_text, what(service)))
    properties = service.get("properties") or {}
    if needs.gpu_nodes and kind in (MARATHON, CHRONOS, BATCH) \
            and properties.get("gpu_support") is not True:
        reasons.append("node '%s' asks for GPUs and it has no GPU support"
                       % needs.gpu_nodes[0])
    if needs.secret_nodes and kind == MARATHON and properties.get("secrets_support") is not True:
        reasons.append("node '%s' uses secrets and it has no secrets support"
                       % needs.secret_nodes[0])
    images, flavors, volumes = {}, {}, {}
    if kind == IAAS:
        if needs.elastic_cluster is not None and needs.kind == "TOSCA":
            _elastic_cluster_reasons(needs, service, creating, reasons)
        offered = service.get("volume_types") or []
        for node, wanted in needs.volumes:
            name = matching.match_volume_type(wanted, offered)
            if name is None:
                reasons.append("no volume type '%s' for node '%s' (it offers %s)"
                               % (wanted, node, ", ".join(
                                   str(v.get("name")) for v in offered) or "none"))
            else:
                volumes[node] = name
        if needs.vms:
            service_images = service.get("images") or []
            service_flavors = matching.sort_flavors(service.get("flavors") or [])
            for node, wanted_image, wanted_flavor in needs.vms:
                image = matching.match_image(wanted_image, service_images)
                if image is None:
                    reasons.append("no image matches node '%s' (%s)"
                                   % (node, matching.describe(wanted_image)))
                else:
                    images[node] = image
                flavor = matching.match_flavor(wanted_flavor, service_flavors)
                if flavor is None:
                    reasons.append("no flavor fits node '%s' (%s)"
                                   % (node, matching.describe(wanted_flavor)))
                else:
                    flavors[node] = flavor
    return reasons, images, flavors, volumes


def _elastic_cluster_reasons(needs, service, creating, reasons):
    tenant = service.get("tenant") or {}
    if creating and not service.get("public_ip_assignable"):
        reasons.append("ElasticCluster '%s' needs a public IP and it cannot assign one"
                       % needs.elastic_cluster)
    if needs.network is None:
        reasons.append("ElasticCluster '%s' has no private or isolated network node, which "
                       "INDIGO requires" % needs.elastic_cluster)
    elif needs.network[1] == "private" and not tenant.get("private_network_name"):
        reasons.append("network '%s' is private and its tenant has no private network name"
                       % needs.network[0])
    elif needs.network[1] == "isolated" and not tenant.get("private_network_cidr"):
        reasons.append("network '%s' is isolated and its tenant has no private network CIDR"
                       % needs.network[0])
