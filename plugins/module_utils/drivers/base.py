# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The driver interface: what the engine asks of every backend.

Drivers hold no state between calls (ARCHITECTURE invariant 3): everything they need to find
their work again is in the site's backend, keyed by the deployment uuid and each resource's
key. The engine writes each resource row before ``submit`` is called for it.
"""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils import vms
from ansible_collections.paas.orchestrator.plugins.module_utils.tosca import kinds


class ProviderError(Exception):
    """The site failed (unreachable, out of quota, timed out): the engine tries the next site.
    INDIGO's CloudProviderError."""


class DeploymentError(Exception):
    """The deployment itself failed on a healthy site (a job failed for good): no failover."""


class SiteConfigError(Exception):
    """A site definition is wrong; raised before anything is created."""


class Observed:
    """What a backend says of one resource.

    ``state`` is an INDIGO NodeStates name; ``attributes`` feed get_attribute; ``error`` says
    why a resource is in ERROR.
    """

    __slots__ = ("state", "attributes", "error")

    def __init__(self, state, attributes=None, error=None):
        self.state = state
        self.attributes = attributes or {}
        self.error = error


class Driver:
    """One site of one type. Subclasses set ``site_type`` and ``supported_kinds``."""

    site_type = None
    # Kinds the site has nothing to create for: their resources are done as soon as planned.
    passive_kinds = ()
    supported_kinds = ()

    def __init__(self, site):
        self.site = site
        self.name = site["name"]

    def check(self, plan):
        """Raise SiteConfigError naming the node when the site cannot run part of ``plan``."""
        for resource in plan.resources:
            if resource.kind not in self.supported_kinds + self.passive_kinds:
                raise SiteConfigError(
                    "site '%s' (%s) cannot run node '%s' of kind %s"
                    % (self.name, self.site_type, resource.node, resource.kind))

    def spec(self, plan, resource, deployment_uuid, job_spec):
        """What ``submit`` receives for one planned resource: the backend-neutral job spec
        (jobs.job_spec) for a job, nothing for other kinds. Drivers whose backend speaks its own
        format (a VM on this site's images and flavors, a Chronos job) build it here."""
        return job_spec

    def submit(self, deployment_uuid, items, secrets):
        """Start creating ``items`` (dicts: key, uuid of its resource row, node, kind, spec,
        created_by: the deployment's creator, for labels). Idempotent per key.
        Returns {key: physicalId}."""
        raise NotImplementedError

    def resume(self, deployment_uuid, secrets):
        """Restart whatever must run on the site for the deployment to progress (a driver whose
        backend keeps going by itself has nothing to do)."""

    def poll(self, deployment_uuid, keys):
        """{key: Observed} for the given resource keys."""
        raise NotImplementedError

    def remove(self, deployment_uuid, keys):
        """Remove these resources of the deployment (scaling in); True when they are gone."""
        raise NotImplementedError

    def delete(self, deployment_uuid):
        """Remove everything of the deployment on this site; True when nothing is left."""
        raise NotImplementedError


class VmDriver(Driver):
    """An IaaS site: it creates VMs; software is configured on them later by roles, and volumes
    and networks are created with their VM, so those resources are done at once."""

    supported_kinds = (kinds.VM,)
    passive_kinds = (kinds.SOFTWARE, kinds.STORAGE, kinds.NETWORK, kinds.RUNTIME, kinds.DATA,
                     kinds.ABSTRACT)

    def spec(self, plan, resource, deployment_uuid, job_spec):
        # a VM's spec depends on the site: the image and flavor matched there
        return vms.vm_spec(plan, resource, self.site, deployment_uuid)
