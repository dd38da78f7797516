# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image, flavor and volume-type matching of a VM node against a site's CMDB data.

INDIGO's rules (``ToscaServiceImpl#contextualizeImages/Flavors/VolumeTypes``, spec §4.6), step
for step: an IM image URI is used as it is; otherwise an image is looked up by name with
Docker-style tags, then by the metadata filters in INDIGO's order; the flavor is the named one,
else the smallest that fits in INDIGO's sort order. Sizes follow TOSCA: 1 GB = 1000 MB.

Where INDIGO would stop the whole placement with a NullPointerException (a CMDB flavor with no
``num_vcpus`` compared with a requirement), the flavor simply does not fit.
"""

from __future__ import annotations

import re

from ansible_collections.paas.orchestrator.plugins.module_utils.jobs import (
    megabytes,
    size_megabytes,
)
from ansible_collections.paas.orchestrator.plugins.module_utils.ranking.errors import (
    RankingError,
)

IM_URI_SCHEMES = ("ost", "one", "aws", "azr")
_URI_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# tosca-parser's own reading of a scalar-unit ("2 GB", "2GB", "2048  MB").

# os capability property -> (CMDB image field, kind of comparison), in INDIGO's filter order.
IMAGE_FILTERS = (
    ("type", "type", "text"),
    ("architecture", "architecture", "text"),
    ("distribution", "distribution", "text"),
    ("version", "version", "text"),
    ("gpu_driver", "gpu_driver", "flag"),
    ("gpu_driver_version", "gpu_driver_version", "text"),
    ("cuda_support", "cuda_support", "flag"),
    ("cuda_min_version", "cuda_version", "text"),
    ("cuDNN_version", "cuDNN_version", "text"),
)
_IMAGE_PROPS = frozenset(["image"] + [prop for prop, _field, _kind in IMAGE_FILTERS])
_IMAGE_FLAGS = ("gpu_driver", "cuda_support")
# host capability property -> CMDB flavor field, for the "at least" filters, in INDIGO's order.
FLAVOR_MINIMUMS = (
    ("num_cpus", "num_vcpus"),
    ("mem_size", "ram"),
    ("disk_size", "disk"),
    ("num_gpus", "num_gpus"),
)
_UNITS = {"mem_size": "MB", "disk_size": "GB"}


def _is_scalar(value):
    return value is not None and not isinstance(value, (dict, list))


def _flag(value):
    """Java's Boolean.parseBoolean, also for a YAML/JSON boolean."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _same_text(wanted, offered):
    """Java's String.equalsIgnoreCase; CMDB numbers (version 22.04) compare as text."""
    return offered is not None and str(wanted).lower() == str(offered).lower()


def _number(node, prop, value):
    if isinstance(value, bool):
        raise RankingError("Node '%s': %s must be a number, not %r" % (node, prop, value))
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except ValueError:
        raise RankingError("Node '%s': %s must be a number, not %r" % (node, prop, value)) from None


def _size(node, prop, value):
    """A scalar-unit.size -> MB (mem_size) or GB (disk_size), TOSCA units (1 GB = 1000 MB)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        mb = megabytes(value)  # a bare number is MB
    else:
        mb = size_megabytes(value)
    if mb is None:
        raise RankingError("Node '%s': %s '%s' is not a size such as '2 GB'"
                           % (node, prop, value))
    return mb / 1000 if prop == "disk_size" else mb


def image_requirement(node):
    """What the node's ``os`` capability asks of an image: the properties it sets."""
    wanted = {}
    for prop, value in (node.capabilities.get("os") or {}).items():
        if prop in _IMAGE_PROPS and _is_scalar(value):
            wanted[prop] = _flag(value) if prop in _IMAGE_FLAGS else value
    return wanted


def flavor_requirement(node):
    """What the node's ``host`` capability asks of a flavor (mem_size in MB, disk_size in GB)."""
    host = node.capabilities.get("host") or {}
    wanted = {}
    for prop in ("instance_type", "gpu_vendor", "gpu_model"):
        if _is_scalar(host.get(prop)):
            wanted[prop] = str(host[prop])
    for prop in ("num_cpus", "num_gpus"):
        if _is_scalar(host.get(prop)):
            wanted[prop] = _number(node.name, prop, host[prop])
    for prop in ("mem_size", "disk_size"):
        if _is_scalar(host.get(prop)):
            wanted[prop] = _size(node.name, prop, host[prop])
    if _is_scalar(host.get("infiniband_support")):
        wanted["infiniband_support"] = _flag(host["infiniband_support"])
    return wanted


def is_im_uri(name):
    """INDIGO's isImImageUri: the image is already an IM URI (ost://, one://, aws://, azr://)."""
    match = _URI_SCHEME.match(name) if isinstance(name, str) else None
    return match is not None and match.group(1) in IM_URI_SCHEMES


def _split_tag(name):
    """Java's ``name.split(":")``: (base, tag or None); trailing empty parts are dropped."""
    parts = name.split(":")
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return parts[0], (parts[1] if len(parts) > 1 else None)


def _name_matches(wanted, offered):
    if not isinstance(offered, str):
        return False
    wanted_base, wanted_tag = _split_tag(str(wanted))
    offered_base, offered_tag = _split_tag(offered)
    return wanted_base == offered_base and (wanted_tag is None or wanted_tag == offered_tag)


def match_image(wanted, images):
    """The image INDIGO would pick for ``wanted`` among the service's ``images``, or None.

    An IM URI is used as it is: the result is then the requirement itself.
    """
    name = wanted.get("image")
    if is_im_uri(name):
        return dict(wanted, image_name=name)
    if name is not None:
        for image in images:
            if _name_matches(name, image.get("image_name")):
                return image
    survivors = images
    filtered = False
    for prop, field, kind in IMAGE_FILTERS:
        if prop not in wanted:
            continue
        filtered = True
        value = wanted[prop]
        if kind == "flag":
            if value:  # required true -> the image must say true; false asks nothing
                survivors = [image for image in survivors if _flag(image.get(field))]
        else:
            survivors = [image for image in survivors if _same_text(value, image.get(field))]
    if not filtered and name is not None and str(name).strip():
        return None  # a name that matched nothing, and nothing else to go by
    return survivors[0] if survivors else None


def _null_first(value):
    return (value is not None, value if value is not None else 0)


def sort_flavors(flavors):
    """INDIGO's flavor order: (num_gpus, num_vcpus, ram, disk) ascending, missing values first."""
    return sorted(flavors, key=lambda f: (_null_first(f.get("num_gpus")),
                                          _null_first(f.get("num_vcpus")),
                                          _null_first(f.get("ram")),
                                          _null_first(f.get("disk"))))


def _at_least(offered, wanted):
    return isinstance(offered, (int, float)) and not isinstance(offered, bool) \
        and offered >= wanted


def match_flavor(wanted, flavors):
    """The flavor INDIGO would pick for ``wanted`` among ``flavors`` (already in
    ``sort_flavors`` order): the one named by instance_type, else the first (smallest) that has
    at least the requested CPUs, memory, disk and GPUs (and GPU vendor/model, infiniband)."""
    name = wanted.get("instance_type")
    if name is not None:
        for flavor in flavors:
            if flavor.get("flavor_name") == name:
                return flavor
    survivors = flavors
    filtered = False
    for prop, field in FLAVOR_MINIMUMS:
        if prop in wanted:
            filtered = True
            value = wanted[prop]
            survivors = [flavor for flavor in survivors if _at_least(flavor.get(field), value)]
    if "infiniband_support" in wanted:
        filtered = True
        if wanted["infiniband_support"]:
            survivors = [flavor for flavor in survivors
                         if _flag(flavor.get("infiniband_support"))]
    if (wanted.get("num_gpus") or 0) > 0:
        for prop in ("gpu_vendor", "gpu_model"):
            if prop in wanted:
                filtered = True
                if wanted[prop]:
                    survivors = [flavor for flavor in survivors
                                 if _same_text(wanted[prop], flavor.get(prop))]
    if not filtered and name is not None:
        return None
    return survivors[0] if survivors else None


def match_volume_type(wanted, volume_types):
    """The name of the first CMDB volume type whose name or qos is ``wanted``, or None."""
    for volume_type in volume_types:
        if volume_type.get("name") == wanted or volume_type.get("qos") == wanted:
            return volume_type.get("name")
    return None


def describe(wanted):
    """A requirement in words, for a discard reason: 'distribution ubuntu, mem_size 2000 MB'."""
    if not wanted:
        return "no requirements"
    return ", ".join("%s %s%s" % (prop, "%g" % value if isinstance(value, float) else value,
                                  " " + _UNITS[prop] if prop in _UNITS else "")
                     for prop, value in wanted.items())
