# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Site type -> driver class, and the validation of site definitions."""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.ec2 import Ec2Driver
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.local import LocalDriver
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.opennebula import (
    OpenNebulaDriver,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.openstack import (
    OpenStackDriver,
)

SITE_TYPES = ("openstack", "opennebula", "ec2", "marathon", "chronos", "slurm", "local")
_DRIVERS = {driver.site_type: driver for driver in (
    LocalDriver, OpenNebulaDriver, Ec2Driver, OpenStackDriver)}


def validate_sites(sites):
    """The site list, checked: each a mapping with a unique name and a known type."""
    if not isinstance(sites, list) or not sites:
        raise SiteConfigError("At least one site is needed (option 'sites')")
    seen = set()
    for position, site in enumerate(sites, 1):
        if not isinstance(site, dict) or not site.get("name"):
            raise SiteConfigError("Site #%d has no name" % position)
        name = site["name"]
        if name in seen:
            raise SiteConfigError("Site '%s' is listed twice" % name)
        seen.add(name)
        site_type = site.get("type")
        if site_type not in SITE_TYPES:
            raise SiteConfigError("Site '%s' has unknown type %r; known types: %s"
                                  % (name, site_type, ", ".join(SITE_TYPES)))
        if site_type not in _DRIVERS:
            raise SiteConfigError("Site '%s': type '%s' is not available yet"
                                  % (name, site_type))
    return sites


def available():
    """The site types that have a driver today."""
    return tuple(_DRIVERS)


def driver_for(site):
    return _DRIVERS[site["type"]](site)
