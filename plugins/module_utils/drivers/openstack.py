# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenStack sites, through openstacksdk (Keystone, Nova, Neutron, Cinder).

Each VM is a Nova server on a port of its own, with its volumes and, when its spec asks for a
public IP, a floating IP on that port; the deployment has one security group. Everything carries
the deployment: servers the tags ``paas_deployment=<uuid>`` and ``paas_key=<key>`` (set at
create, compute microversion 2.52), Neutron resources the description ``paas:<uuid>`` (set at
create: this Neutron takes no tags in a POST) and the same tags (set just after), volumes the
metadata ``paas_deployment``, ``paas_key`` and ``paas_vm``. A rerun finds what a killed run
created by them, so nothing is created twice, and delete finds everything by them. One server
list per poll serves every VM of the deployment.
"""

from __future__ import annotations

import base64
import time
import traceback

try:
    import openstack
    from openstack import exceptions as os_exceptions
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
from ansible_collections.paas.orchestrator.plugins.module_utils.vms import resource_name

DEPLOYMENT_TAG, KEY_TAG, VM_TAG = "paas_deployment", "paas_key", "paas_vm"
TAGS_MICROVERSION = "2.52"  # tags in POST /servers
RETRIED_STATUS = [429, 500, 502, 503, 504]
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


def _key_name(deployment_uuid, key):
    """The resource name of VM key 'node#index' (what vms.vm_spec names it)."""
    node, _sep, index = key.rpartition("#")
    return resource_name(deployment_uuid, node, int(index)) if index.isdigit() else None


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
        self.retries = site.get("retries", 3)
        # how long one delete call waits for what it deleted to be gone
        self.delete_wait = site.get("delete_wait", 60)
        self.key_name = site.get("key_name")
        self._connection = None

    # -- the connection and its errors --------------------------------------------------------
    def _conn(self):
        if OPENSTACK_ERROR:
            raise SiteConfigError("the openstack driver needs openstacksdk: %s"
                                  % OPENSTACK_ERROR.strip().splitlines()[-1])
        if self._connection is None:
            options = {"api_timeout": self.timeout, "status_code_retries": self.retries,
                       "connect_retries": self.retries,
                       "retriable_status_codes": RETRIED_STATUS}
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

    def _api(self, service):
        """A service proxy (its first use discovers the API version)."""
        return self._call("reaching the %s API" % service.replace("_", " "), getattr,
                          self._conn(), service)

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
    def _servers(self, deployment_uuid, keys=None):
        """key -> server of the deployment: one list call, by tag. Nova lists a server that is
        leaving its build request for a cell without its tags for a moment, so when one of
        ``keys`` (all when None) is missing, a second list by name finds it by its metadata."""
        compute = self._api("compute")
        servers = self._call("listing servers", lambda: list(compute.servers(
            details=True, tags=_tag(DEPLOYMENT_TAG, deployment_uuid))))
        found = {}
        for server in servers:
            key = _tags_of(server).get(KEY_TAG) or (server.metadata or {}).get(KEY_TAG)
            if key:
                found[key] = server
        if keys is None or any(key not in found for key in keys):
            named = self._call("listing servers", lambda: list(compute.servers(
                details=True, name="^%s-" % str(deployment_uuid)[:8].lower())))
            for server in named:
                metadata = server.metadata or {}
                if metadata.get(DEPLOYMENT_TAG) == deployment_uuid and metadata.get(KEY_TAG):
                    found.setdefault(metadata[KEY_TAG], server)
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
            group = self._call("creating the security group", network.create_security_group,
                               name="paas-%s" % deployment_uuid[:8],
                               description=_description(deployment_uuid))
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
        """(private network names in order, public network name or None)."""
        private = [entry["network_name"] for entry in spec.get("networks") or ()
                   if entry.get("network_type") != "public" and entry.get("network_name")]
        public = next((entry["network_name"] for entry in spec.get("networks") or ()
                       if entry.get("network_type") == "public" and entry.get("network_name")),
                      self.public_network)
        if not private and self.private_network:
            private = [self.private_network]
        if not private:
            raise ProviderError("site '%s' has no private network for VM %s (tenant "
                                "private_network_name)" % (self.name, spec["key"]))
        if spec.get("public_ip") and not public:
            raise ProviderError("site '%s' has no public network for the public IP of VM %s "
                                "(tenant public_network_name)" % (self.name, spec["key"]))
        return private, public if spec.get("public_ip") else None

    def _ports(self, deployment_uuid, spec, group, ports):
        """The VM's ports, one per private network, created if missing."""
        private, _public = self._networks(spec)
        mine = []
        for position, network_name in enumerate(private):
            name = spec["name"] if position == 0 else "%s-%d" % (spec["name"], position)
            port = next((port for port in ports if port.name == name), None)
            if port is None:
                network = self._find("network", self._api("network").find_network, network_name)
                port = self._call("creating a port for VM %s" % spec["key"],
                                  self._api("network").create_port, network_id=network.id,
                                  name=name, description=_description(deployment_uuid),
                                  security_group_ids=[group.id])
                self._tag(port, [_tag(DEPLOYMENT_TAG, deployment_uuid),
                                 _tag(KEY_TAG, spec["key"])])
            mine.append(port)
        return mine

    def _floating_ip(self, deployment_uuid, spec, port, ips):
        _private, public = self._networks(spec)
        if not public:
            return
        if any(ip.port_id == port.id or _tags_of(ip).get(KEY_TAG) == spec["key"] for ip in ips):
            return
        network = self._find("network", self._api("network").find_network, public)
        ip = self._call("creating a floating IP for VM %s" % spec["key"],
                        self._api("network").create_ip, floating_network_id=network.id,
                        port_id=port.id, description=_description(deployment_uuid))
        self._tag(ip, [_tag(DEPLOYMENT_TAG, deployment_uuid), _tag(KEY_TAG, spec["key"])])

    def _create_volumes(self, deployment_uuid, spec, volumes):
        have = {(volume.metadata or {}).get(KEY_TAG) for volume in volumes}
        for volume in spec.get("volumes") or ():
            if volume["key"] in have:
                continue
            options = {"size": volume["size_gb"], "name": volume["name"],
                       "metadata": {DEPLOYMENT_TAG: deployment_uuid, KEY_TAG: volume["key"],
                                    VM_TAG: spec["key"]}}
            if volume.get("type"):
                options["volume_type"] = volume["type"]
            self._call("creating volume %s" % volume["key"],
                       self._api("block_storage").create_volume, **options)

    def _create_server(self, deployment_uuid, spec, ports):
        image_ref = str((spec.get("image") or {}).get("image_id") or "")
        if not image_ref:
            raise ProviderError("site '%s' has no image for VM %s" % (self.name, spec["key"]))
        flavor_spec = spec.get("flavor") or {}
        flavor_ref = flavor_spec.get("flavor_id") or flavor_spec.get("flavor_name")
        if not flavor_ref:
            raise ProviderError("site '%s' has no flavor for VM %s" % (self.name, spec["key"]))
        compute = self._api("compute")
        # an IM URI (ost://host/<id>) names the image by its last part
        image = self._find("image", self._api("image").find_image, image_ref.rsplit("/", 1)[-1])
        flavor = self._find("flavor", compute.find_flavor, str(flavor_ref))
        metadata = {str(name)[:_METADATA_MAX]: str(value)[:_METADATA_MAX]
                    for name, value in (spec.get("tags") or {}).items()}
        metadata.update({DEPLOYMENT_TAG: deployment_uuid, KEY_TAG: spec["key"]})
        options = {"name": spec["name"], "image_id": image.id, "flavor_id": flavor.id,
                   "networks": [{"port": port.id} for port in ports], "metadata": metadata,
                   "tags": [_tag(DEPLOYMENT_TAG, deployment_uuid), _tag(KEY_TAG, spec["key"])]}
        if spec.get("user_data"):
            options["user_data"] = base64.b64encode(spec["user_data"].encode()).decode()
        if self.key_name:
            options["key_name"] = self.key_name
        return self._call("creating VM %s" % spec["key"], self._create, options)

    def _create(self, options):
        compute = self._api("compute")
        previous = compute.default_microversion
        compute.default_microversion = max(previous or TAGS_MICROVERSION, TAGS_MICROVERSION,
                                           key=lambda version: tuple(
                                               int(part) for part in version.split(".")))
        try:
            return compute.create_server(**options)
        finally:
            compute.default_microversion = previous

    # -- the driver interface -------------------------------------------------------------
    def submit(self, deployment_uuid, items, secrets):
        existing = self._servers(deployment_uuid, [item["key"] for item in items])
        physical = {}
        missing = [item for item in items if item["key"] not in existing]
        if missing:
            rules = []
            for item in missing:
                rules.extend(rule for rule in item["spec"].get("security_rules") or ()
                             if rule not in rules)
            group = self._security_group(deployment_uuid, rules)
            ports = self._neutron("ports", deployment_uuid)
            ips = self._neutron("ips", deployment_uuid)
            volumes = self._volumes(deployment_uuid)
        for item in items:
            server = existing.get(item["key"])
            if server is None:
                spec = item["spec"]
                mine = self._ports(deployment_uuid, spec, group, ports)
                self._floating_ip(deployment_uuid, spec, mine[0], ips)
                self._create_volumes(deployment_uuid, spec, volumes)
                server = self._create_server(deployment_uuid, spec, mine)
            physical[item["key"]] = "openstack:%s" % server.id
        return physical

    def poll(self, deployment_uuid, keys):
        servers = self._servers(deployment_uuid, keys)
        ports = ips = volumes = None
        observed = {}
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
            if ports is None:
                ports = self._neutron("ports", deployment_uuid)
                ips = self._neutron("ips", deployment_uuid)
                volumes = self._volumes(deployment_uuid)
            started = server.status == "ACTIVE" and self._volumes_attached(
                server, key, [volume for volume in volumes
                              if (volume.metadata or {}).get(VM_TAG) == key])
            observed[key] = Observed("STARTED" if started else "CREATING",
                                     self._attributes(key, server, ports, ips))
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
                self._call("attaching volume %s to VM %s" % (vkey, key),
                           self._api("compute").create_volume_attachment, server,
                           volume_id=volume.id)
        return done

    @staticmethod
    def _attributes(key, server, ports, ips):
        # the VM's ports by their tag (set when created, before the server), else by binding
        mine = [port for port in ports
                if _tags_of(port).get(KEY_TAG) == key or port.device_id == server.id]
        private = [fixed["ip_address"] for port in mine for fixed in port.fixed_ips or ()]
        port_ids = {port.id for port in mine}
        public = [ip.floating_ip_address for ip in ips if ip.port_id in port_ids]
        return {"id": server.id, "public_address": public, "private_address": private,
                "state": server.status}

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
        servers = [server for key, server in self._servers(deployment_uuid).items()
                   if keys is None or key in keys]
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
        for server in servers:
            if server.status != "DELETED" and (server.task_state or "") != "deleting":
                self._call("deleting VM %s" % server.name, self._api("compute").delete_server, server,
                           ignore_missing=True)
        for ip in ips:
            self._call("deleting floating IP %s" % ip.floating_ip_address,
                       self._api("network").delete_ip, ip, ignore_missing=True)
        for volume in volumes:
            if volume.status in _VOLUME_DELETABLE and not servers:
                self._call("deleting volume %s" % volume.name,
                           self._api("block_storage").delete_volume, volume, ignore_missing=True)
        if not servers:  # a port given at boot outlives its server
            for port in ports:
                self._call("deleting port %s" % port.name, self._api("network").delete_port, port,
                           ignore_missing=True)
            if not ports:
                for group in groups:
                    try:
                        self._api("network").delete_security_group(group, ignore_missing=True)
                    except os_exceptions.ConflictException:
                        pass  # still in use by a port going away: the next pass
                    except Exception as exc:  # pylint: disable=broad-except
                        raise self._error("deleting the security group", exc) from None
        return len(servers) + len(ports) + len(ips) + len(volumes) + len(groups)
