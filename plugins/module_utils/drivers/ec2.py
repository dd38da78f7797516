# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Amazon EC2 sites (and EC2 APIs such as moto's), through boto3.

Everything made for a deployment carries the tag ``paas_deployment`` (its uuid): instances and
their root volumes also ``paas_key`` (the VM's key, with the spec's tags), the data volumes
and Elastic IPs ``paas_vm`` (the key of their VM; volumes also ``paas_key``, their own key, and
``paas_device``), the security groups ``paas_node`` (one group per VM node, with that node's
rules) or ``paas_internal`` (one per deployment: its VMs reach each other). A rerun finds
what a killed run created by these tags, so nothing is made twice; ``run_instances`` and
``create_volume`` also carry a ClientToken derived from (deployment, key, and the instance's
security groups or the volume's instance), so a create that botocore retries after a lost
answer makes one instance on EC2. Delete finds everything by the tags. One
describe_instances call per poll serves every VM of the deployment; volumes are attached and
Elastic IPs associated by the poll that first sees their VM running, and the VM is STARTED
once they are.

Site settings: ``region`` (required), ``endpoint_url`` (another EC2 API), ``access_key`` and
``secret_key`` (else boto3's own chain: environment, ~/.aws, instance profile), ``subnet_id``
(where instances start, without an automatic public IP; default: the default VPC's first
default subnet), ``vpc_id`` (where the security groups go; default: the subnet's VPC),
``key_name`` (an EC2 key pair), ``instance_type`` (when the VM has no flavor; default
t3.micro), ``max_attempts`` (in all, with botocore's standard retries and backoff; default 8),
``connect_timeout`` and ``read_timeout`` (seconds, default 10 and 60).
"""

from __future__ import annotations

import hashlib
import json
import traceback

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError as BotoConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )
except ImportError:
    boto3 = None
    BOTO3_ERROR = traceback.format_exc()
else:
    BOTO3_ERROR = None

from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    VmDriver,
    Observed,
    ProviderError,
    SiteConfigError,
)

DEPLOYMENT_TAG, KEY_TAG, VM_TAG, NODE_TAG, DEVICE_TAG, INTERNAL_TAG = (
    "paas_deployment", "paas_key", "paas_vm", "paas_node", "paas_device", "paas_internal")
DEFAULT_INSTANCE_TYPE = "t3.micro"
EBS_TYPES = ("standard", "gp2", "gp3", "io1", "io2", "sc1", "st1")
# every state but terminated: what a deployment still has
_LIVE = ("pending", "running", "shutting-down", "stopping", "stopped")
_GONE_OR_GOING = ("shutting-down", "terminated")
# the data volumes' devices, in order, when the template names none (sda is the root's)
_DEVICES = "fghijklmnop"
_NOT_FOUND = ("InvalidAllocationID.NotFound", "InvalidAddress.NotFound", "InvalidVolume.NotFound",
              "InvalidGroup.NotFound", "InvalidInstanceID.NotFound")
_MAX_TAGS, _MAX_KEY, _MAX_VALUE = 50, 128, 256


def _token(*parts):
    """A ClientToken (at most 64 ASCII characters) that is the same for the same create."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:64]


def _aws_tags(tags):
    """A tag dict -> EC2's [{Key, Value}]: values as strings, no reserved 'aws:' key, within
    EC2's limits (ours are last in the dict, so they are the ones kept)."""
    pairs = []
    for name, value in (tags or {}).items():
        name = str(name)
        if not name or name.lower().startswith("aws:") or len(name) > _MAX_KEY:
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        pairs.append({"Key": name, "Value": text[:_MAX_VALUE]})
    return pairs[-_MAX_TAGS:]


def _tag(resource, name):
    for pair in resource.get("Tags") or ():
        if pair["Key"] == name:
            return pair["Value"]
    return None


def _device(volume, position):
    """'vdb', 'xvdc', '/dev/sdd' -> '/dev/sdb', '/dev/sdc', '/dev/sdd' (EC2 names); else the
    next free one from /dev/sdf."""
    given = str(volume.get("device") or "").strip()
    if given and given[-1].isalpha() and given[-1] not in "a":
        return "/dev/sd" + given[-1].lower()
    return "/dev/sd" + _DEVICES[position % len(_DEVICES)]


def _permissions(rules):
    """The spec's security rules -> EC2 IpPermissions, one per (protocol, ports, CIDR)."""
    permissions = []
    for rule in rules or ():
        protocol = str(rule.get("protocol") or "tcp").lower()
        port = rule.get("port")
        if protocol in ("tcp", "udp") and port is not None:
            first, last = (port, port) if isinstance(port, int) else (port[0], port[1])
        else:
            first, last = -1, -1
        permission = {"IpProtocol": "2" if protocol == "igmp" else protocol,
                      "FromPort": first, "ToPort": last,
                      "IpRanges": [{"CidrIp": rule.get("remote_cidr") or "0.0.0.0/0"}]}
        if permission not in permissions:
            permissions.append(permission)
    return permissions


def _has_permission(group, permission):
    cidr = permission["IpRanges"][0]["CidrIp"]
    for existing in group.get("IpPermissions") or ():
        protocol = existing.get("IpProtocol")
        ranges = existing.get("IpRanges") or ()
        if protocol == "-1" and any(r.get("CidrIp") == cidr for r in ranges):
            return True
        if protocol != permission["IpProtocol"]:
            continue
        if permission["FromPort"] != -1 and (existing.get("FromPort"), existing.get("ToPort")) \
                != (permission["FromPort"], permission["ToPort"]):
            continue
        if any(r.get("CidrIp") == cidr for r in ranges):
            return True
    return False


class Ec2Driver(VmDriver):
    """Networks are the site's subnet (Network and Port nodes are not read)."""

    site_type = "ec2"

    def __init__(self, site):
        super().__init__(site)
        self.region = site.get("region")
        if not self.region:
            raise SiteConfigError("site '%s' (ec2) needs a region" % self.name)
        self.endpoint_url = site.get("endpoint_url") or None
        if bool(site.get("access_key")) != bool(site.get("secret_key")):
            raise SiteConfigError("site '%s' (ec2) needs both access_key and secret_key, or "
                                  "neither (boto3's own credentials)" % self.name)
        self.subnet_id = site.get("subnet_id") or None
        self.vpc_id = site.get("vpc_id") or None
        self.key_name = site.get("key_name") or None
        self.instance_type = site.get("instance_type") or DEFAULT_INSTANCE_TYPE
        try:
            self.max_attempts = int(site.get("max_attempts", 8))
            self.connect_timeout = float(site.get("connect_timeout", 10))
            self.read_timeout = float(site.get("read_timeout", 60))
        except (TypeError, ValueError):
            raise SiteConfigError("site '%s' (ec2): max_attempts, connect_timeout and "
                                  "read_timeout are numbers" % self.name) from None
        if not 1 <= self.max_attempts <= 20:
            raise SiteConfigError("site '%s' (ec2): max_attempts is from 1 to 20" % self.name)
        self._client = None
        self._network = None

    def _ec2(self):
        if BOTO3_ERROR:
            raise SiteConfigError("the ec2 driver needs boto3: %s"
                                  % BOTO3_ERROR.strip().splitlines()[-1])
        if self._client is None:
            session = boto3.session.Session(
                aws_access_key_id=self.site.get("access_key") or None,
                aws_secret_access_key=self.site.get("secret_key") or None,
                region_name=self.region)
            # standard mode: throttling, 5xx and dropped connections retried with backoff
            config = Config(retries={"mode": "standard", "total_max_attempts": self.max_attempts},
                            connect_timeout=self.connect_timeout,
                            read_timeout=self.read_timeout)
            self._client = session.client("ec2", endpoint_url=self.endpoint_url, config=config)
        return self._client

    def _quiet(self, text):
        """``text`` without the site's credentials (AWS messages may quote the key id)."""
        for secret in (self.site.get("secret_key"), self.site.get("access_key")):
            if secret:
                text = text.replace(str(secret), "***")
        return text

    def _call(self, what, operation, ignore=(), **kwargs):
        """An EC2 call; refusals and unreachable endpoints are provider errors. An error code
        in ``ignore`` gives ``{"Ignored": code}``."""
        try:
            return getattr(self._ec2(), operation)(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error") or {}
            code = error.get("Code") or "unknown"
            if code in ignore:
                return {"Ignored": code}
            attempts = ((exc.response.get("ResponseMetadata") or {}).get("RetryAttempts")
                        or 0) + 1
            message = self._quiet(str(error.get("Message") or ""))[:300]
            if code in ("AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch",
                        "UnrecognizedClientException"):
                raise ProviderError("site '%s': EC2 refused the credentials (%s: %s)"
                                    % (self.name, what, code)) from None
            raise ProviderError("site '%s': %s failed: %s%s%s"
                                % (self.name, what, code,
                                   " after %d attempts" % attempts if attempts > 1 else "",
                                   ": %s" % message if message else "")) from None
        except (NoCredentialsError, PartialCredentialsError):
            raise ProviderError("site '%s': no AWS credentials for %s (give access_key and "
                                "secret_key, or configure boto3)" % (self.name, what)) from None
        except BotoConnectionError as exc:
            raise ProviderError("site '%s': EC2 at %s is unreachable (%s, %s)"
                                % (self.name, self.endpoint_url or self.region, what,
                                   type(exc).__name__)) from None
        except BotoCoreError as exc:
            raise ProviderError("site '%s': %s failed: %s"
                                % (self.name, what, self._quiet(str(exc)))) from None

    def _pages(self, what, operation, field, **kwargs):
        """Every item of a paginated describe call."""
        items, token = [], None
        while True:
            if token:
                kwargs["NextToken"] = token
            page = self._call(what, operation, **kwargs)
            if field == "Instances":
                items.extend(instance for reservation in page.get("Reservations") or ()
                             for instance in reservation.get("Instances") or ())
            else:
                items.extend(page.get(field) or ())
            token = page.get("NextToken")
            if not token:
                return items

    @staticmethod
    def _ours(deployment_uuid, *more):
        return [{"Name": "tag:%s" % DEPLOYMENT_TAG, "Values": [deployment_uuid]}] + list(more)

    def _listed(self, deployment_uuid, live_only=True):
        """Every instance of the deployment (not terminated ones when ``live_only``)."""
        filters = self._ours(deployment_uuid)
        if live_only:
            filters.append({"Name": "instance-state-name", "Values": list(_LIVE)})
        return self._pages("listing instances", "describe_instances", "Instances",
                           Filters=filters)

    def _instances(self, deployment_uuid, live_only=True):
        """key -> instance of the deployment: a live one when there is one, else (unless
        ``live_only``) the last terminated."""
        found = {}
        for instance in self._listed(deployment_uuid, live_only):
            key = _tag(instance, KEY_TAG)
            if not key:
                continue
            known = found.get(key)
            if known is None or known["State"]["Name"] == "terminated":
                found[key] = instance
        return found

    def _volumes(self, deployment_uuid):
        return self._pages("listing volumes", "describe_volumes", "Volumes",
                           Filters=self._ours(deployment_uuid))

    def _addresses(self, deployment_uuid):
        page = self._call("listing addresses", "describe_addresses",
                          Filters=self._ours(deployment_uuid))
        return page.get("Addresses") or []

    def _groups(self, deployment_uuid):
        return self._pages("listing security groups", "describe_security_groups",
                           "SecurityGroups", Filters=self._ours(deployment_uuid))

    # -- creation -------------------------------------------------------------------------
    def _subnet(self):
        """(subnet id, VPC id): the site's subnet, else the default VPC's first default
        subnet; (None, vpc_id) when there is neither."""
        if self._network is None:
            filters = ([{"Name": "subnet-id", "Values": [self.subnet_id]}] if self.subnet_id
                       else [{"Name": "default-for-az", "Values": ["true"]}])
            subnets = self._pages("finding the subnet", "describe_subnets", "Subnets",
                                  Filters=filters)
            if self.subnet_id and not subnets:
                raise ProviderError("site '%s': subnet %s does not exist"
                                    % (self.name, self.subnet_id))
            subnets.sort(key=lambda subnet: (subnet.get("AvailabilityZone") or "",
                                             subnet["SubnetId"]))
            self._network = ((subnets[0]["SubnetId"], self.vpc_id or subnets[0]["VpcId"])
                             if subnets else (None, self.vpc_id))
        return self._network

    def _made_group(self, deployment_uuid, groups, name, what, tags):
        """The group of ``groups`` with ``tags``, else a new one named ``name``."""
        for group in groups:
            if all(_tag(group, tag) == value for tag, value in tags.items()):
                return group
        tags = dict(tags, Name=name)
        tags[DEPLOYMENT_TAG] = deployment_uuid
        kwargs = {"GroupName": name[:255], "Description": "paas deployment %s" % what,
                  "TagSpecifications": [{"ResourceType": "security-group",
                                         "Tags": _aws_tags(tags)}]}
        filters = [{"Name": "group-name", "Values": [kwargs["GroupName"]]}]
        vpc = self._subnet()[1]
        if vpc:
            kwargs["VpcId"] = vpc
            filters.append({"Name": "vpc-id", "Values": [vpc]})
        made = self._call("creating security group for %s" % what, "create_security_group",
                          ignore=("InvalidGroup.Duplicate",), **kwargs)
        if "GroupId" in made:
            filters = [{"Name": "group-id", "Values": [made["GroupId"]]}]
        group = self._call("reading security group of %s" % what, "describe_security_groups",
                           Filters=filters)["SecurityGroups"][0]
        groups.append(group)
        return group

    def _authorize(self, group, what, permissions):
        if permissions:
            self._call("opening ports for %s" % what, "authorize_security_group_ingress",
                       ignore=("InvalidPermission.Duplicate",), GroupId=group["GroupId"],
                       IpPermissions=permissions)
            group.setdefault("IpPermissions", []).extend(permissions)

    def _groups_for(self, deployment_uuid, spec, groups):
        """[the deployment's internal group, the node's group], made when missing: the
        first lets every VM of the deployment reach the others (as the IM's groups do), the
        second has the node's rules."""
        internal = self._made_group(deployment_uuid, groups, "paas-%s" % deployment_uuid,
                                    deployment_uuid, {INTERNAL_TAG: "true"})
        group_id = internal["GroupId"]
        if not any(pair.get("GroupId") == group_id
                   for permission in internal.get("IpPermissions") or ()
                   for pair in permission.get("UserIdGroupPairs") or ()):
            self._authorize(internal, "the deployment", [
                {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group_id}]}])
        node = spec["node"]
        group = self._made_group(deployment_uuid, groups, "paas-%s-%s" % (deployment_uuid, node),
                                 "%s, node %s" % (deployment_uuid, node), {NODE_TAG: node})
        self._authorize(group, node, [permission for permission in
                                      _permissions(spec.get("security_rules"))
                                      if not _has_permission(group, permission)])
        return [group_id, group["GroupId"]]

    def _run(self, deployment_uuid, spec, group_ids):
        image = str((spec.get("image") or {}).get("image_id") or "")
        if not image:
            raise ProviderError("site '%s' has no image for VM %s" % (self.name, spec["key"]))
        # an IM URI (aws://region/ami-...) names the AMI last
        image = image.rsplit("/", 1)[-1]
        tags = dict(spec.get("tags") or {})
        tags.update({"Name": spec["name"], DEPLOYMENT_TAG: deployment_uuid, KEY_TAG: spec["key"]})
        kwargs = {
            "ImageId": image,
            "InstanceType": (spec.get("flavor") or {}).get("flavor_name") or self.instance_type,
            "MinCount": 1, "MaxCount": 1,
            # the same for a retried create; not the same once the deployment was deleted and
            # made again under its name (EC2 keeps tokens for a day): its group is a new one
            "ClientToken": _token(deployment_uuid, spec["key"], *group_ids),
            "TagSpecifications": [{"ResourceType": kind, "Tags": _aws_tags(tags)}
                                  for kind in ("instance", "volume")],
        }
        if spec.get("user_data"):
            kwargs["UserData"] = spec["user_data"]  # boto3 encodes it in base64
        if self.key_name:
            kwargs["KeyName"] = self.key_name
        subnet = self._subnet()[0]
        if subnet:
            # no automatic public IP: the VM's public address, if any, is its Elastic IP
            kwargs["NetworkInterfaces"] = [{"DeviceIndex": 0, "SubnetId": subnet,
                                            "Groups": group_ids, "DeleteOnTermination": True,
                                            "AssociatePublicIpAddress": False}]
        else:
            kwargs["SecurityGroupIds"] = group_ids
        answer = self._call("creating VM %s" % spec["key"], "run_instances", **kwargs)
        return answer["Instances"][0]

    def _make_volumes(self, deployment_uuid, spec, instance, volumes):
        """Create the VM's volumes that do not exist yet, in its availability zone."""
        zone = (instance.get("Placement") or {}).get("AvailabilityZone")
        for position, volume in enumerate(spec.get("volumes") or ()):
            if any(_tag(v, KEY_TAG) == volume["key"] and _tag(v, VM_TAG) == spec["key"]
                   for v in volumes):
                continue
            tags = {name: value for name, value in (spec.get("tags") or {}).items()
                    if name not in (KEY_TAG, NODE_TAG)}
            tags.update({"Name": volume["name"], DEPLOYMENT_TAG: deployment_uuid,
                         KEY_TAG: volume["key"], VM_TAG: spec["key"],
                         DEVICE_TAG: _device(volume, position)})
            kwargs = {"AvailabilityZone": zone, "Size": int(volume["size_gb"]),
                      "ClientToken": _token(deployment_uuid, volume["key"],
                                            instance["InstanceId"]),
                      "TagSpecifications": [{"ResourceType": "volume",
                                             "Tags": _aws_tags(tags)}]}
            if volume.get("type") in EBS_TYPES:
                kwargs["VolumeType"] = volume["type"]
            made = self._call("creating volume %s" % volume["key"], "create_volume", **kwargs)
            volumes.append(made)

    def _make_address(self, deployment_uuid, spec, addresses):
        if any(_tag(a, VM_TAG) == spec["key"] for a in addresses):
            return
        tags = {"Name": spec["name"], DEPLOYMENT_TAG: deployment_uuid, VM_TAG: spec["key"]}
        made = self._call("allocating a public IP for %s" % spec["key"], "allocate_address",
                          Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip",
                                                            "Tags": _aws_tags(tags)}])
        addresses.append(dict(made, Tags=_aws_tags(tags)))

    # -- the driver interface -------------------------------------------------------------
    def submit(self, deployment_uuid, items, secrets):
        existing = self._instances(deployment_uuid)
        groups = volumes = addresses = None
        physical = {}
        for item in items:
            spec = item["spec"]
            instance = existing.get(item["key"])
            if instance is None:
                if groups is None:
                    groups = self._groups(deployment_uuid)
                instance = self._run(deployment_uuid, spec,
                                     self._groups_for(deployment_uuid, spec, groups))
            # what a killed run may have left undone
            if spec.get("volumes"):
                if volumes is None:
                    volumes = self._volumes(deployment_uuid)
                self._make_volumes(deployment_uuid, spec, instance, volumes)
            if spec.get("public_ip"):
                if addresses is None:
                    addresses = self._addresses(deployment_uuid)
                self._make_address(deployment_uuid, spec, addresses)
            physical[item["key"]] = "ec2:%s" % instance["InstanceId"]
        return physical

    def poll(self, deployment_uuid, keys):
        instances = self._instances(deployment_uuid, live_only=False)
        running = [instances[key] for key in keys
                   if key in instances and instances[key]["State"]["Name"] == "running"]
        volumes = self._volumes(deployment_uuid) if running else []
        addresses = self._addresses(deployment_uuid) if running else []
        observed = {}
        for key in keys:
            instance = instances.get(key)
            if instance is None:
                raise ProviderError("site '%s': VM %s is gone" % (self.name, key))
            state = instance["State"]["Name"]
            reason = instance.get("StateReason") or {}
            failing = state != "running" and str(reason.get("Code") or "").startswith("Server.")
            if state in ("shutting-down", "terminated", "stopping", "stopped") or failing:
                # INDIGO: a VM that fails on the site is a provider error (try the next site)
                raise ProviderError("site '%s': VM %s failed: %s" % (
                    self.name, key, reason.get("Message") or reason.get("Code")
                    or "it is %s" % state))
            ready = state == "running" and self._finish(key, instance, volumes, addresses)
            observed[key] = Observed("STARTED" if ready else "CREATING",
                                     self._attributes(key, instance, volumes, addresses))
        return observed

    def _finish(self, key, instance, volumes, addresses):
        """Attach the running VM's volumes and associate its address: True once done."""
        ready = True
        instance_id = instance["InstanceId"]
        for volume in volumes:
            if _tag(volume, VM_TAG) != key:
                continue
            attached = [a for a in volume.get("Attachments") or ()
                        if a.get("InstanceId") == instance_id]
            if attached:
                ready = ready and attached[0].get("State") == "attached"
            elif volume.get("State") == "error":
                raise ProviderError("site '%s': volume %s of VM %s failed"
                                    % (self.name, _tag(volume, KEY_TAG), key))
            elif volume.get("State") == "available":
                self._call("attaching volume %s" % _tag(volume, KEY_TAG), "attach_volume",
                           VolumeId=volume["VolumeId"], InstanceId=instance_id,
                           Device=_tag(volume, DEVICE_TAG) or "/dev/sdf")
                ready = False
            else:
                ready = False  # creating, or attached elsewhere (a replaced instance)
        for address in addresses:
            if _tag(address, VM_TAG) != key:
                continue
            if address.get("InstanceId") != instance_id:
                self._call("giving %s its public IP" % key, "associate_address",
                           AllocationId=address["AllocationId"], InstanceId=instance_id,
                           AllowReassociation=True)
                address["InstanceId"] = instance_id
            break
        return ready

    @staticmethod
    def _attributes(key, instance, volumes, addresses):
        public = next((a["PublicIp"] for a in addresses
                       if a.get("InstanceId") == instance["InstanceId"]),
                      instance.get("PublicIpAddress"))
        private = instance.get("PrivateIpAddress")
        return {"id": instance["InstanceId"], "public_address": [public] if public else [],
                "private_address": [private] if private else [],
                "state": instance["State"]["Name"],
                "instance_type": instance.get("InstanceType"),
                "availability_zone": (instance.get("Placement") or {}).get("AvailabilityZone"),
                "volumes": [{"volume_id": volume["VolumeId"], "key": _tag(volume, KEY_TAG),
                             "size_gb": volume.get("Size"), "device": _tag(volume, DEVICE_TAG)}
                            for volume in volumes if _tag(volume, VM_TAG) == key]}

    def delete(self, deployment_uuid):
        return self._remove(deployment_uuid, None)

    def remove(self, deployment_uuid, keys):
        """Scale in: terminate the VMs of ``keys`` and free their address and volumes; True
        once they are gone. The node's security group stays (other instances use it)."""
        return self._remove(deployment_uuid, set(keys))

    def _remove(self, deployment_uuid, keys):
        """Terminate the instances (of ``keys``, else all) and release their addresses at
        once (an engine that moves to another site calls this only once); delete the volumes
        and, for a whole deployment, the security groups once the instances are terminated.
        True when nothing is left."""
        def wanted(resource, *tags):
            return keys is None or any(_tag(resource, tag) in keys for tag in tags)

        # every one, even a second instance of a key (a create retried where EC2's ClientToken
        # is not honoured, as on moto)
        live = [instance for instance in self._listed(deployment_uuid)
                if wanted(instance, KEY_TAG)]
        going = [i["InstanceId"] for i in live if i["State"]["Name"] not in _GONE_OR_GOING]
        if going:
            self._call("deleting VMs", "terminate_instances", ignore=_NOT_FOUND,
                       InstanceIds=going)
        done = not live
        for address in self._addresses(deployment_uuid):
            if not wanted(address, VM_TAG):
                continue
            if address.get("AssociationId"):
                self._call("freeing a public IP", "disassociate_address", ignore=_NOT_FOUND +
                           ("InvalidAssociationID.NotFound",),
                           AssociationId=address["AssociationId"])
            self._call("releasing a public IP", "release_address", ignore=_NOT_FOUND,
                       AllocationId=address["AllocationId"])
        for volume in self._volumes(deployment_uuid):
            if not wanted(volume, VM_TAG, KEY_TAG):
                continue
            if volume.get("Attachments") or volume.get("State") == "in-use":
                done = False
                if not live:  # EC2 detaches them as their instance goes; moto needs telling
                    self._call("detaching volume %s" % volume["VolumeId"], "detach_volume",
                               ignore=_NOT_FOUND + ("IncorrectState",),
                               VolumeId=volume["VolumeId"], Force=True)
            elif volume.get("State") in ("creating", "deleting"):
                done = False
            else:
                self._call("deleting volume %s" % volume["VolumeId"], "delete_volume",
                           ignore=_NOT_FOUND, VolumeId=volume["VolumeId"])
        if keys is None and not live:
            for group in self._groups(deployment_uuid):
                # DependencyViolation: an interface of a terminated VM is still there
                answer = self._call("deleting security group %s" % group["GroupId"],
                                    "delete_security_group", ignore=_NOT_FOUND +
                                    ("DependencyViolation",), GroupId=group["GroupId"])
                if answer.get("Ignored") == "DependencyViolation":
                    done = False
        return done
