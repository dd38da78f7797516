# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenStack sites, through openstacksdk (Keystone, Nova, Neutron, Cinder).

Each VM is a Nova server with a port per network (in its Port nodes' order, on their
``ip_address`` when given), its volumes and, when its spec asks for a public IP, a floating IP
on its first port; the deployment has one security group, and a Neutron network with a subnet
per isolated Network node (on its ``cidr``, else a free 192.168.N.0/24). Everything carries
the deployment: servers the tags ``paas_deployment=<uuid>`` and ``paas_key=<key>`` (set at
create, compute microversion 2.52), Neutron resources the description ``paas:<uuid>`` (set at
create: this Neutron takes no tags in a POST) and the same tags (set just after), volumes the
metadata ``paas_deployment``, ``paas_key`` and ``paas_vm``. A rerun finds what a killed run
created by them, so nothing is created twice, and delete finds everything by them. One server
list per poll serves every VM of the deployment.

The VMs of a submit are created ``parallel`` at a time (a site setting, default 8), as are the
deletions: a cloud takes seconds per port or server. The session retries a call ``retries``
times (default 5) on a 5xx, a 429 or a broken connection, except creates: their answer may be
lost after the cloud acted, so the driver retries them itself once it has not found what they
would have made.

Site settings: ``auth`` (openstacksdk's auth arguments; else ``endpoint`` and the tenant's
``tenant_name``) and ``auth_type``, or ``cloud`` (a clouds.yaml cloud) with ``clouds_yaml``;
``region``; ``public_network`` and ``private_network`` (default: the tenant's network names);
``key_name``; ``timeout`` (s, per call); ``retries``; ``parallel``; ``delete_wait`` (s one
delete call waits for what it deleted to go); and openstacksdk's ``<service>_endpoint_override``
and ``<service>_api_version`` (``compute``, ``network``, ``block_storage``, ``image``): a service
reached elsewhere than the catalog says (a proxy, a private endpoint). An override is the
versioned URL the service answers on (``https://nova.example/v2.1``,
``https://cinder.example/v3/<project id>``); with the API version too, openstacksdk uses it as
it is, without a version discovery that would fail at the first 5xx.
"""

from __future__ import annotations

import base64
import copy
import random
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

try:
    import openstack
    from openstack import exceptions as os_exceptions
    from openstack.compute.v2 import server as os_server
except ImportError:
    openstack = None
    OPENSTACK_ERROR = traceback.format_exc()
else:
    OPENSTACK_ERROR = None

try:
    from keystoneauth1 import exceptions as ksa_exceptions
except ImportError:
    ksa_exceptions = None

from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    VmDriver,
    Observed,
    ProviderError,
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils import vms

DEPLOYMENT_TAG, KEY_TAG, VM_TAG = "paas_deployment", "paas_key", "paas_vm"
TAGS_MICROVERSION = "2.52"  # tags in POST /servers
RETRIED_STATUS = [429, 500, 502, 503, 504]
SDK_SETTINGS = ("_endpoint_override", "_api_version")  # site settings given to openstacksdk
# Nova statuses of a server that will never run
_DEAD = ("DELETED", "SOFT_DELETED", "SHELVED_OFFLOADED")
_VOLUME_FAILED = ("error", "error_deleting", "error_extending")
_VOLUME_DELETABLE = ("available", "error", "error_extending", "error_restoring")
_METADATA_MAX = 255


def _tag(name, value):
    return "%s=%s" % (name, value)


def _description(deployment_uuid):
    return "paas:%s" % deployment_uuid


def _tags_of(resource):
    """{name: value} from a resource's 'name=value' tags."""
    tags = {}
    for tag in getattr(resource, "tags", None) or ():
        name, sep, value = str(tag).partition("=")
        if sep:
            tags[name] = value
    return tags


def _server_tag(server, name):
    """A server's tag ``name``, else its metadata item (set in the same POST)."""
    return _tags_of(server).get(name) or (server.metadata or {}).get(name)


def _port_position(port, vm_name):
    """A port's position among its VM's ('<vm name>', then '<vm name>-1', ...); others last."""
    name = port.name or ""
    suffix = name[len(vm_name) + 1:] if name.startswith(vm_name + "-") else ""
    return 0 if name == vm_name else int(suffix) if suffix.isdigit() else float("inf")


def _key_name(deployment_uuid, key):
    """The resource name of VM key 'node#index' (what vms.vm_spec names it)."""
    node, _sep, index = key.rpartition("#")
    return vms.resource_name(deployment_uuid, node, int(index)) if index.isdigit() else None


class OpenStackDriver(VmDriver):
    site_type = "openstack"

    def __init__(self, site):
        super().__init__(site)
        self.endpoint = site.get("endpoint")
        self.region = site.get("region") or site.get("region_name")
        tenant = site.get("tenant") or {}
        self.public_network = site.get("public_network") or tenant.get("public_network_name")
        self.private_network = site.get("private_network") or tenant.get(
            "private_network_name")
        self.cloud = site.get("cloud")
        auth = site.get("auth")
        if auth is not None and not isinstance(auth, dict):
            raise SiteConfigError("site '%s' (openstack): settings.auth must be a mapping"
                                  % self.name)
        self.auth = dict(auth or {})
        if not self.cloud:
            self.auth.setdefault("auth_url", self.endpoint)
            if not self.auth.get("auth_url"):
                raise SiteConfigError("site '%s' (openstack) needs an endpoint (Keystone) or "
                                      "settings.auth.auth_url, or a clouds.yaml cloud name "
                                      "(settings.cloud)" % self.name)
            if not self.auth.get("project_name") and not self.auth.get("project_id") \
                    and tenant.get("tenant_name") and "application_credential_id" not in self.auth:
                self.auth["project_name"] = tenant["tenant_name"]
        self.timeout = site.get("timeout", 30)
        self.retries = site.get("retries", 5)
        # how long one delete call waits for what it deleted to be gone
        self.delete_wait = site.get("delete_wait", 60)
        self.key_name = site.get("key_name")
        # creations and deletions at a time
        self.parallel = site.get("parallel", 8)
        self._connection = None
        self._unretried = {}

    def spec(self, plan, resource, deployment_uuid, job_spec):
        spec = super().spec(plan, resource, deployment_uuid, job_spec)
        # an isolated network is made with its first VM: it needs its node's cidr
        for entry in spec.get("networks") or ():
            network = plan.by_key.get("%s#0" % entry.get("node"))
            if entry.get("network_type") == "isolated" and network is not None:
                network = vms.network_spec(plan, network, self.site, deployment_uuid)
                entry.update(cidr=network["cidr"], ip_version=network["ip_version"])
        return spec

    # -- the connection and its errors --------------------------------------------------------
    def _conn(self):
        if OPENSTACK_ERROR:
            raise SiteConfigError("the openstack driver needs openstacksdk: %s"
                                  % OPENSTACK_ERROR.strip().splitlines()[-1])
        if self._connection is None:
            options = {"api_timeout": self.timeout, "status_code_retries": self.retries,
                       "connect_retries": self.retries,
                       "retriable_status_codes": RETRIED_STATUS}
            # openstacksdk's own <service>_endpoint_override and <service>_api_version: a
            # service reached elsewhere than the catalog says (a proxy, a private endpoint)
            options.update((name, value) for name, value in self.site.items()
                           if name.endswith(SDK_SETTINGS) and value)
            if self.region:
                options["region_name"] = self.region
            if self.cloud:
                if self.site.get("clouds_yaml"):
                    config = openstack.config.OpenStackConfig(
                        config_files=[self.site["clouds_yaml"]]).get_one(
                            cloud=self.cloud, **options)
                    connect = self._call("connecting", openstack.connection.Connection,
                                         config=config)
                else:
                    connect = self._call("connecting", openstack.connect, cloud=self.cloud,
                                         **options)
            else:
                if not (self.auth.get("application_credential_id")
                        or self.auth.get("username") or self.auth.get("user_id")):
                    raise SiteConfigError("site '%s' (openstack) needs credentials: "
                                          "settings.auth (username and password, or an "
                                          "application credential) or settings.cloud"
                                          % self.name)
                auth_type = self.site.get("auth_type") or (
                    "v3applicationcredential" if self.auth.get("application_credential_id")
                    else "password")
                connect = self._call("connecting", openstack.connect, auth=self.auth,
                                     auth_type=auth_type, **options)
            # authenticate now, so that a refusal is an error of ours and not of a proxy
            self._call("authenticating", connect.authorize)
            self._connection = connect
        return self._connection

    def _api(self, service, retried=True):
        """A service proxy. Its first use discovers the API version, through GETs keystoneauth
        does not retry and whose failure openstacksdk reports as "no endpoint data": retried
        here as the session retries its calls. ``retried=False``: the same proxy without the
        session's retries, for the creates _create_once retries itself."""
        what = "reaching the %s API" % service.replace("_", " ")
        connection = self._conn()
        for attempt in range(self.retries + 1):
            try:
                proxy = getattr(connection, service)
                break
            except os_exceptions.ServiceDiscoveryException as exc:
                if attempt == self.retries:
                    raise self._error(what, exc) from None
            except Exception as exc:  # pylint: disable=broad-except
                raise self._error(what, exc) from None
            time.sleep(min(0.5 * 2 ** attempt, 8))
        if retried:
            return proxy
        if service not in self._unretried:
            # a keystoneauth Adapter: its retries are attributes the session's calls default to
            unretried = copy.copy(proxy)
            unretried.connect_retries = unretried.status_code_retries = 0
            self._unretried[service] = unretried
        return self._unretried[service]

    def _create_once(self, what, create, find):
        """``create()`` (through an unretried proxy) retried here on transient failures, but
        only after ``find()`` has not found what it would have made: a timeout or a 5xx may
        hide a creation the cloud did (a session's retry would make it twice). After a timeout
        the cloud may still be at it, as it is when a retry meets a conflict (Nova: the port is
        in use): ``find()`` again for up to ``timeout`` seconds."""
        attempt = 0
        while True:
            try:
                return create()
            except Exception as exc:  # pylint: disable=broad-except
                if self._timed_out(exc) or (
                        attempt and isinstance(exc, os_exceptions.ConflictException)):
                    found = self._found_within(find, self.timeout)
                    if found is not None:
                        return found
                if attempt == self.retries or not self._transient(exc):
                    raise self._error(what, exc) from None
            time.sleep(min(0.5 * 2 ** attempt, 8) * random.uniform(0.5, 1.5))
            attempt += 1
            found = find()
            if found is not None:
                return found

    @staticmethod
    def _found_within(find, seconds):
        deadline = time.monotonic() + seconds
        while True:
            found = find()
            if found is not None or time.monotonic() > deadline:
                return found
            time.sleep(1)

    def _timed_out(self, exc):
        return ksa_exceptions is not None and any(
            isinstance(inner, ksa_exceptions.ConnectTimeout) for inner in self._chain(exc))

    def _transient(self, exc):
        """A failure a retry may cure: a retried status (5xx, 429) or a broken connection."""
        for inner in self._chain(exc):
            status = getattr(inner, "status_code", None) or getattr(inner, "http_status", None)
            if status in RETRIED_STATUS:
                return True
            if ksa_exceptions is not None and isinstance(
                    inner, (ksa_exceptions.RetriableConnectionFailure,
                            ksa_exceptions.UnknownConnectionError)):
                return True
        return False

    def _call(self, what, func, *args, **kwargs):
        """An openstacksdk call; refusals, failures and unreachable endpoints are provider
        errors. Messages are the cloud's own, which never hold the credentials."""
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # pylint: disable=broad-except
            raise self._error(what, exc) from None

    @staticmethod
    def _chain(exc):
        """The exception and those it wraps (Connection.authorize re-raises keystoneauth's)."""
        seen = []
        while exc is not None and len(seen) < 5:
            seen.append(exc)
            exc = exc.__cause__ or exc.__context__
        return seen

    def _error(self, what, exc):
        chain = self._chain(exc)
        for inner in chain:
            status = getattr(inner, "status_code", None) or getattr(inner, "http_status", None)
            if status == 401 or (ksa_exceptions is not None
                                 and isinstance(inner, ksa_exceptions.Unauthorized)):
                return ProviderError("site '%s': OpenStack refused the credentials (%s)"
                                     % (self.name, what))
        if isinstance(exc, (ProviderError, SiteConfigError)):
            return exc
        # HttpException is an OSError too (requests'): the cloud's answers first
        if os_exceptions is not None and isinstance(exc, os_exceptions.HttpException) \
                and getattr(exc, "status_code", None):
            details = getattr(exc, "details", None)
            message = details if isinstance(details, str) and details else str(exc)
            return ProviderError("site '%s': %s failed (HTTP %s): %s"
                                 % (self.name, what, exc.status_code, message))
        for inner in chain:
            if ksa_exceptions is not None and isinstance(inner, ksa_exceptions.RequestTimeout):
                return ProviderError("site '%s': OpenStack did not answer within %s s (%s)"
                                     % (self.name, self.timeout, what))
            if (ksa_exceptions is not None
                    and isinstance(inner, ksa_exceptions.ConnectionError)) \
                    or (isinstance(inner, OSError) and not getattr(inner, "status_code", None)):
                return ProviderError("site '%s': OpenStack at %s is unreachable (%s)"
                                     % (self.name, self.auth.get("auth_url") or self.cloud,
                                        type(inner).__name__))
        known = [os_exceptions.SDKException] if os_exceptions is not None else []
        if ksa_exceptions is not None:
            known.append(ksa_exceptions.ClientException)
        if isinstance(exc, tuple(known)):
            return ProviderError("site '%s': %s failed: %s" % (self.name, what, exc))
        return ProviderError("site '%s': %s failed: %s" % (self.name, what,
                                                           type(exc).__name__))

    # -- what is ours -------------------------------------------------------------------------
    def _all_servers(self, deployment_uuid, keys=None):
        """Every server of the deployment, live ones first: one list call, by tag. Nova lists a
        server that is leaving its build request for a cell without its tags for a moment, so
        when one of ``keys`` (all when None) is missing, a second list by name finds it by its
        metadata. What a list gives is checked: a cloud that ignored the filter lists others'."""
        compute = self._api("compute")
        servers = [server for server in self._call("listing servers", lambda: list(
            compute.servers(details=True, tags=_tag(DEPLOYMENT_TAG, deployment_uuid))))
            if _server_tag(server, DEPLOYMENT_TAG) == deployment_uuid
            and _server_tag(server, KEY_TAG)]
        seen = {_server_tag(server, KEY_TAG) for server in servers}
        if keys is None or any(key not in seen for key in keys):
            ids = {server.id for server in servers}
            servers.extend(server for server in self._call("listing servers", lambda: list(
                compute.servers(details=True, name="^%s-" % str(deployment_uuid)[:8].lower())))
                if (server.metadata or {}).get(DEPLOYMENT_TAG) == deployment_uuid
                and (server.metadata or {}).get(KEY_TAG) and server.id not in ids)
        return sorted(servers, key=lambda server: server.status in _DEAD + ("ERROR",))

    def _servers(self, deployment_uuid, keys=None):
        """key -> server of the deployment (a live one when a retried create made two)."""
        found = {}
        for server in self._all_servers(deployment_uuid, keys):
            found.setdefault(_server_tag(server, KEY_TAG), server)
        return found

    def _neutron(self, what, deployment_uuid):
        """Our ports, floating IPs or security groups (by the description set at create)."""
        lister = getattr(self._api("network"), what)
        return self._call("listing %s" % what.replace("_", " "), lambda: list(
            lister(description=_description(deployment_uuid))))

    def _volumes(self, deployment_uuid):
        volumes = self._call("listing volumes", lambda: list(
            self._api("block_storage").volumes(details=True)))
        return [volume for volume in volumes
                if (volume.metadata or {}).get(DEPLOYMENT_TAG) == deployment_uuid]

    def _tag(self, resource, tags):
        self._call("tagging %s" % resource.id, self._api("network").set_tags, resource,
                   sorted(tags))

    def _find(self, what, finder, name_or_id):
        found = self._call("looking up %s %s" % (what, name_or_id), finder, name_or_id,
                           ignore_missing=True)
        if found is None:
            raise ProviderError("site '%s' has no %s '%s'" % (self.name, what, name_or_id))
        return found

    # -- creating -----------------------------------------------------------------------------
    def _security_group(self, deployment_uuid, rules):
        """The deployment's security group, with ``rules`` (ingress) added if missing."""
        network = self._api("network")
        groups = self._neutron("security_groups", deployment_uuid)
        if groups:
            group = groups[0]
        else:
            group = self._create_once(
                "creating the security group",
                lambda: self._api("network", retried=False).create_security_group(
                    name="paas-%s" % deployment_uuid[:8],
                    description=_description(deployment_uuid)),
                lambda: next(iter(self._neutron("security_groups", deployment_uuid)), None))
            self._tag(group, [_tag(DEPLOYMENT_TAG, deployment_uuid)])
        have = {(rule.get("protocol"), rule.get("port_range_min"), rule.get("port_range_max"),
                 rule.get("remote_ip_prefix"))
                for rule in group.security_group_rules or () if rule.get("direction") == "ingress"}
        for rule in rules:
            port = rule.get("port")
            low, high = (port if isinstance(port, list) else (port, port))
            cidr = rule.get("remote_cidr") or "0.0.0.0/0"
            wanted = (rule.get("protocol") or "tcp", low, high, cidr)
            if wanted in have:
                continue
            try:
                network.create_security_group_rule(
                    security_group_id=group.id, direction="ingress",
                    ethertype="IPv6" if ":" in cidr else "IPv4", protocol=wanted[0],
                    port_range_min=low, port_range_max=high, remote_ip_prefix=cidr)
            except os_exceptions.ConflictException:
                pass  # the same rule exists (made by a run killed before it could read it)
            except Exception as exc:  # pylint: disable=broad-except
                raise self._error("creating a security group rule", exc) from None
            have.add(wanted)
        return group

    def _networks(self, spec):
        """(the VM's private and isolated networks in order, each ``{network_name,
        ip_address}``, the public network's name or None)."""
        private = [entry for entry in spec.get("networks") or ()
                   if entry.get("network_type") != "public" and entry.get("network_name")]
        public = next((entry["network_name"] for entry in spec.get("networks") or ()
                       if entry.get("network_type") == "public" and entry.get("network_name")),
                      self.public_network)
        if not private and self.private_network:
            private = [{"network_name": self.private_network}]
        if not private:
            raise ProviderError("site '%s' has no private network for VM %s (tenant "
                                "private_network_name)" % (self.name, spec["key"]))
        if spec.get("public_ip") and not public:
            raise ProviderError("site '%s' has no public network for the public IP of VM %s "
                                "(tenant public_network_name)" % (self.name, spec["key"]))
        return private, public if spec.get("public_ip") else None

    def _resolve(self, spec, found):
        """The ids a VM's creation needs (networks, image, flavor), each name looked up once
        per submit: ``found`` keeps what was."""
        image_ref = str((spec.get("image") or {}).get("image_id") or "")
        if not image_ref:
            raise ProviderError("site '%s' has no image for VM %s" % (self.name, spec["key"]))
        flavor_spec = spec.get("flavor") or {}
        flavor_ref = flavor_spec.get("flavor_id") or flavor_spec.get("flavor_name")
        if not flavor_ref:
            raise ProviderError("site '%s' has no flavor for VM %s" % (self.name, spec["key"]))

        def find(what, service, finder, name):
            if (what, name) not in found:
                found[what, name] = self._find(what, getattr(self._api(service), finder),
                                               name).id
            return found[what, name]

        private, public = self._networks(spec)
        return {"private": [(find("network", "network", "find_network", entry["network_name"]),
                             entry.get("ip_address")) for entry in private],
                "public": public and find("network", "network", "find_network", public),
                # an IM URI (ost://host/<id>) names the image by its last part
                "image": find("image", "image", "find_image", image_ref.rsplit("/", 1)[-1]),
                "flavor": find("flavor", "compute", "find_flavor", str(flavor_ref))}

    def _isolated(self, deployment_uuid, specs, found):
        """The isolated networks of the VMs of ``specs``: a Neutron network of the deployment
        each, with a subnet, made if missing; their ids go into ``found``."""
        wanted = {}
        for spec in specs:
            for entry in spec.get("networks") or ():
                if entry.get("network_type") == "isolated":
                    wanted.setdefault(entry["network_name"], entry)
        if not wanted:
            return
        have = {network.name: network for network in self._neutron("networks", deployment_uuid)}
        for name, entry in sorted(wanted.items()):
            network = have.get(name) or self._create_network(deployment_uuid, name)
            if not network.subnet_ids:
                self._create_subnet(deployment_uuid, network, entry)
            found["network", name] = network.id

    def _create_network(self, deployment_uuid, name):
        network = self._create_once(
            "creating network %s" % name,
            lambda: self._api("network", retried=False).create_network(
                name=name, description=_description(deployment_uuid)),
            lambda: next((network for network in self._neutron("networks", deployment_uuid)
                          if network.name == name), None))
        self._tag(network, [_tag(DEPLOYMENT_TAG, deployment_uuid)])
        return network

    def _create_subnet(self, deployment_uuid, network, entry):
        """The network's subnet, on the Network node's ``cidr``, else (as the IM) on the first
        192.168.N.0/24 no subnet the project sees uses."""
        cidr = entry.get("cidr")
        if not cidr:
            used = {subnet.cidr for subnet in self._call("listing subnets", lambda: list(
                self._api("network").subnets()))}
            cidr = next(("192.168.%d.0/24" % third for third in range(256)
                         if "192.168.%d.0/24" % third not in used), None)
            if cidr is None:
                raise ProviderError("site '%s': no free 192.168.N.0/24 for network %s (give "
                                    "its cidr)" % (self.name, network.name))
        subnet = self._create_once(
            "creating the subnet of network %s" % network.name,
            lambda: self._api("network", retried=False).create_subnet(
                network_id=network.id, name=network.name, cidr=cidr,
                ip_version=entry.get("ip_version") or 4,
                description=_description(deployment_uuid)),
            lambda: next((subnet for subnet in self._neutron("subnets", deployment_uuid)
                          if subnet.network_id == network.id), None))
        self._tag(subnet, [_tag(DEPLOYMENT_TAG, deployment_uuid)])

    def _create_vm(self, deployment_uuid, spec, ids, group, have):
        """A VM's ports, floating IP, volumes and server, each unless ``have`` (the ports,
        floating IPs and volumes of the deployment) holds it already."""
        ports = self._ports(deployment_uuid, spec, ids["private"], group, have["ports"])
        self._floating_ip(deployment_uuid, spec, ids["public"], ports[0], have["ips"])
        self._create_volumes(deployment_uuid, spec, have["volumes"])
        return self._create_server(deployment_uuid, spec, ids, ports)

    def _ports(self, deployment_uuid, spec, networks, group, ports):
        """The VM's ports, one per (network id, fixed IP or None) of ``networks``, created if
        missing."""
        names = [spec["name"] if position == 0 else "%s-%d" % (spec["name"], position)
                 for position in range(len(networks))]
        have = {port.name: port for port in ports}
        return [have.get(name) or self._create_port(deployment_uuid, spec["key"], name,
                                                    network, group)
                for name, network in zip(names, networks)]

    def _create_port(self, deployment_uuid, key, name, network, group):
        network_id, ip_address = network
        options = {"network_id": network_id, "name": name,
                   "description": _description(deployment_uuid),
                   "security_group_ids": [group.id]}
        if ip_address:  # a Port node's ip_address
            options["fixed_ips"] = [{"ip_address": ip_address}]
        port = self._create_once(
            "creating a port for VM %s" % key,
            lambda: self._api("network", retried=False).create_port(**options),
            lambda: next((port for port in self._neutron("ports", deployment_uuid)
                          if port.name == name), None))
        self._tag(port, [_tag(DEPLOYMENT_TAG, deployment_uuid), _tag(KEY_TAG, key)])
        return port

    def _floating_ip(self, deployment_uuid, spec, network_id, port, ips):
        if not network_id:
            return
        if any(ip.port_id == port.id or _tags_of(ip).get(KEY_TAG) == spec["key"] for ip in ips):
            return
        ip = self._create_once(
            "creating a floating IP for VM %s" % spec["key"],
            lambda: self._api("network", retried=False).create_ip(
                floating_network_id=network_id, port_id=port.id,
                description=_description(deployment_uuid)),
            lambda: next((ip for ip in self._neutron("ips", deployment_uuid)
                          if ip.port_id == port.id), None))
        self._tag(ip, [_tag(DEPLOYMENT_TAG, deployment_uuid), _tag(KEY_TAG, spec["key"])])

    def _create_volumes(self, deployment_uuid, spec, volumes):
        have = {(volume.metadata or {}).get(KEY_TAG) for volume in volumes}
        for volume in spec.get("volumes") or ():
            if volume["key"] not in have:
                self._create_volume(deployment_uuid, spec["key"], volume)

    def _create_volume(self, deployment_uuid, vm_key, volume):
        options = {"size": volume["size_gb"], "name": volume["name"],
                   "metadata": {DEPLOYMENT_TAG: deployment_uuid, KEY_TAG: volume["key"],
                                VM_TAG: vm_key}}
        if volume.get("type"):
            options["volume_type"] = volume["type"]
        self._create_once(
            "creating volume %s" % volume["key"],
            lambda: self._api("block_storage", retried=False).create_volume(**options),
            lambda: next((found for found in self._volumes(deployment_uuid)
                          if (found.metadata or {}).get(KEY_TAG) == volume["key"]), None))

    def _create_server(self, deployment_uuid, spec, ids, ports):
        metadata = {str(name)[:_METADATA_MAX]: str(value)[:_METADATA_MAX]
                    for name, value in (spec.get("tags") or {}).items()}
        metadata.update({DEPLOYMENT_TAG: deployment_uuid, KEY_TAG: spec["key"]})
        options = {"name": spec["name"], "image_id": ids["image"], "flavor_id": ids["flavor"],
                   "networks": [{"port": port.id} for port in ports], "metadata": metadata,
                   "tags": [_tag(DEPLOYMENT_TAG, deployment_uuid), _tag(KEY_TAG, spec["key"])]}
        if spec.get("user_data"):
            options["user_data"] = base64.b64encode(spec["user_data"].encode()).decode()
        if self.key_name:
            options["key_name"] = self.key_name
        return self._create_once(
            "creating VM %s" % spec["key"], lambda: self._create(options),
            lambda: self._servers(deployment_uuid, [spec["key"]]).get(spec["key"]))

    def _create(self, options):
        compute = self._api("compute", retried=False)
        # the microversion of this call only: other threads use the proxy meanwhile
        microversion = max(compute.default_microversion or TAGS_MICROVERSION, TAGS_MICROVERSION,
                           key=lambda version: tuple(int(part) for part in version.split(".")))
        return os_server.Server.new(connection=self._conn(), **options).create(
            compute, microversion=microversion)

    def _each(self, func, things):
        """func(thing) for each thing, ``parallel`` at a time (OpenStack takes seconds per
        create or delete); their results in order. Every call ends before the first error is
        raised, so that nothing is left half made behind the caller's back."""
        things = list(things)
        if len(things) < 2 or self.parallel < 2:
            return [func(thing) for thing in things]
        with ThreadPoolExecutor(max_workers=min(self.parallel, len(things))) as pool:
            futures = [pool.submit(func, thing) for thing in things]
        errors = [future.exception() for future in futures if future.exception()]
        if errors:
            raise errors[0]
        return [future.result() for future in futures]

    # -- the driver interface -------------------------------------------------------------
    def submit(self, deployment_uuid, items, secrets):
        existing = self._servers(deployment_uuid, [item["key"] for item in items])
        missing = [item["spec"] for item in items if item["key"] not in existing]
        if missing:
            rules = []
            for spec in missing:
                rules.extend(rule for rule in spec.get("security_rules") or ()
                             if rule not in rules)
            group = self._security_group(deployment_uuid, rules)
            have = {"ports": self._neutron("ports", deployment_uuid),
                    "ips": self._neutron("ips", deployment_uuid),
                    "volumes": self._volumes(deployment_uuid)}
            found = {}
            self._isolated(deployment_uuid, missing, found)
            resolved = [(spec, self._resolve(spec, found)) for spec in missing]
            created = self._each(lambda pair: self._create_vm(deployment_uuid, pair[0], pair[1],
                                                              group, have), resolved)
            existing.update((spec["key"], server) for spec, server in zip(missing, created))
        return {item["key"]: "openstack:%s" % existing[item["key"]].id for item in items}

    def poll(self, deployment_uuid, keys):
        servers = self._servers(deployment_uuid, keys)
        for key in keys:
            server = servers.get(key)
            if server is None or server.status in _DEAD:
                raise ProviderError("site '%s': VM %s is gone" % (self.name, key))
            if server.status == "ERROR":
                fault = (server.fault or {}).get("message") or (self._call(
                    "reading VM %s" % key, self._api("compute").get_server, server.id).fault
                    or {}).get("message") or "status ERROR"
                # INDIGO: a VM that fails on the site is a provider error (try the next site)
                raise ProviderError("site '%s': VM %s failed: %s" % (self.name, key, fault))
        # addresses and volumes matter once a server runs: until then, one call a poll
        ports = ips = volumes = ()
        if any(servers[key].status == "ACTIVE" for key in keys):
            ports = self._neutron("ports", deployment_uuid)
            ips = self._neutron("ips", deployment_uuid)
            volumes = self._volumes(deployment_uuid)
        observed = {}
        for key in keys:
            server = servers[key]
            mine = [volume for volume in volumes if (volume.metadata or {}).get(VM_TAG) == key]
            started = server.status == "ACTIVE" and self._volumes_attached(server, key, mine)
            observed[key] = Observed("STARTED" if started else "CREATING",
                                     self._attributes(key, server, ports, ips, mine))
        return observed

    def _volumes_attached(self, server, key, volumes):
        """True when every volume of the VM is attached to it; attaches those available."""
        done = True
        for volume in volumes:
            vkey = (volume.metadata or {}).get(KEY_TAG)
            if volume.status in _VOLUME_FAILED:
                raise ProviderError("site '%s': volume %s of VM %s failed (%s)"
                                    % (self.name, vkey, key, volume.status))
            attached = any(attachment.get("server_id") == server.id
                           for attachment in volume.attachments or ())
            if volume.status == "in-use" and attached:
                continue
            done = False
            if volume.status == "available":
                self._attach(server, key, volume, vkey)
        return done

    def _attach(self, server, key, volume, vkey):
        """Attach the volume; an attachment whose answer was lost shows as a volume no longer
        available (Nova refuses a second one)."""
        def attaching():
            status = self._call("reading volume %s" % vkey,
                                self._api("block_storage").get_volume, volume.id).status
            return status if status != "available" else None

        self._create_once("attaching volume %s to VM %s" % (vkey, key),
                          lambda: self._api("compute", retried=False).create_volume_attachment(
                              server, volume_id=volume.id), attaching)

    @staticmethod
    def _attributes(key, server, ports, ips, volumes):
        # the VM's ports by their tag (set when created, before the server), else by binding
        mine = sorted((port for port in ports
                       if _tags_of(port).get(KEY_TAG) == key or port.device_id == server.id),
                      key=lambda port: _port_position(port, server.name))
        private = [fixed["ip_address"] for port in mine for fixed in port.fixed_ips or ()]
        port_ids = {port.id for port in mine}
        public = [ip.floating_ip_address for ip in ips if ip.port_id in port_ids]
        return {"id": server.id, "public_address": public, "private_address": private,
                "state": server.status,
                "volumes": [{"volume_id": volume.id, "key": volume.metadata.get(KEY_TAG),
                             "size_gb": volume.size, "device": next(
                                 (attachment.get("device") for attachment in
                                  volume.attachments or ()
                                  if attachment.get("server_id") == server.id), None)}
                            for volume in volumes]}

    def delete(self, deployment_uuid):
        return self._clean(deployment_uuid, None)

    def remove(self, deployment_uuid, keys):
        """Scale in: delete the VMs ``keys`` with their ports, floating IPs and volumes (the
        security group stays); True when nothing of them is left."""
        return self._clean(deployment_uuid, set(keys))

    def _clean(self, deployment_uuid, keys):
        """Delete pass after pass, until nothing is left or ``delete_wait`` has passed."""
        deadline = time.monotonic() + self.delete_wait
        while True:
            if not self._clean_pass(deployment_uuid, keys):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)

    def _clean_pass(self, deployment_uuid, keys):
        """One pass: delete what can go now; the number of things still there."""
        servers = [server for server in self._all_servers(deployment_uuid)
                   if keys is None or _server_tag(server, KEY_TAG) in keys]
        names = {_key_name(deployment_uuid, key) for key in keys or ()}

        def ours(resource, port_ids=()):
            if keys is None:
                return True
            key = _tags_of(resource).get(KEY_TAG) or (getattr(resource, "metadata", None)
                                                      or {}).get(VM_TAG)
            if key is not None:
                return key in keys
            name = getattr(resource, "name", None) or ""
            return getattr(resource, "port_id", None) in port_ids or any(
                name == prefix or name.startswith(prefix + "-") for prefix in names if prefix)

        ports = [port for port in self._neutron("ports", deployment_uuid) if ours(port)]
        ips = [ip for ip in self._neutron("ips", deployment_uuid)
               if ours(ip, {port.id for port in ports})]
        volumes = [volume for volume in self._volumes(deployment_uuid) if ours(volume)]
        groups = self._neutron("security_groups", deployment_uuid) if keys is None else []
        networks = self._neutron("networks", deployment_uuid) if keys is None else []
        compute, network = self._api("compute"), self._api("network")
        self._each(lambda server: self._call("deleting VM %s" % server.name,
                                             compute.delete_server, server, ignore_missing=True),
                   [server for server in servers if server.status != "DELETED"
                    and (server.task_state or "") != "deleting"])
        self._each(lambda ip: self._call("deleting floating IP %s" % ip.floating_ip_address,
                                         network.delete_ip, ip, ignore_missing=True), ips)
        if not servers:  # their volumes are detached; a port given at boot outlives its server
            self._each(lambda volume: self._call(
                "deleting volume %s" % volume.name, self._api("block_storage").delete_volume,
                volume, ignore_missing=True),
                [volume for volume in volumes if volume.status in _VOLUME_DELETABLE])
            self._each(lambda port: self._call("deleting port %s" % port.name,
                                               network.delete_port, port, ignore_missing=True),
                       ports)
            if not ports:
                for what, delete, resource in (
                        [("the security group", network.delete_security_group, group)
                         for group in groups]
                        + [("network %s" % net.name, network.delete_network, net)
                           for net in networks]):
                    try:
                        delete(resource, ignore_missing=True)
                    except os_exceptions.ConflictException:
                        pass  # still in use by a port going away: the next pass
                    except Exception as exc:  # pylint: disable=broad-except
                        raise self._error("deleting %s" % what, exc) from None
        return (len(servers) + len(ports) + len(ips) + len(volumes) + len(groups)
                + len(networks))
