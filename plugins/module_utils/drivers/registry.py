# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Site type -> driver class, and the validation of site definitions."""

from __future__ import annotations

from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.base import (
    SiteConfigError,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.chronos import (
    ChronosDriver,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.ec2 import Ec2Driver
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.local import LocalDriver
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.marathon import (
    MarathonDriver,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.opennebula import (
    OpenNebulaDriver,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.openstack import (
    OpenStackDriver,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.drivers.slurm import SlurmDriver

_DRIVERS = {driver.site_type: driver for driver in (
    OpenStackDriver, OpenNebulaDriver, Ec2Driver, MarathonDriver, ChronosDriver, SlurmDriver,
    LocalDriver)}
SITE_TYPES = tuple(_DRIVERS)


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
    return sites


def available():
    """The site types that have a driver today."""
    return tuple(_DRIVERS)


def driver_for(site):
    return _DRIVERS[site["type"]](site)
